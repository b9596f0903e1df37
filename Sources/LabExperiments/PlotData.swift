// PlotData: the points a plot spec asks for, computed from finished cells — per series, one point per
// combination of the other axes, y as mean ± std over seeds — independent of how they are drawn (SVGPlot for
// files, TerminalChart for the demo). Not drawing.
import Foundation

struct PlotPoint: Equatable {
    var x: Double
    var y: Double
    var yStd: Double
    /// For bar plots: the category.
    var category: String
}

struct PlotSeries: Equatable {
    var label: String
    var points: [PlotPoint]
}

struct PlotData {
    var title: String
    var xLabel: String
    var yLabel: String
    var type: PlotSpec.Kind
    var xScale: PlotSpec.Scale
    var yScale: PlotSpec.Scale
    /// Bar plots: the categories in order.
    var categories: [String]
    var series: [PlotSeries]
    /// Whether series come from an axis (and so need a legend).
    var showLegend: Bool
    var note: String

    static func build(_ spec: PlotSpec, index: Int, from results: ResultSet) -> PlotData {
        if spec.type == .roc { return roc(spec, from: results) }
        let e = results.experiment
        let seriesLabels = spec.series.map { results.labels(of: $0, matching: spec.filter) } ?? [""]
        let xAxis = results.axes.first { $0.name == spec.x }
        let categories = xAxis.map { results.labels(of: $0.name, matching: spec.filter) } ?? []
        // Axes that tell points of one series apart: every grid axis but the series, the seeds and the filter.
        let pointAxes = results.axes.filter { !$0.isSeed && $0.name != spec.series && spec.filter[$0.name] == nil }.map(
            \.name)
        var series: [PlotSeries] = []
        for label in seriesLabels {
            var match = spec.filter
            if let s = spec.series { match[s] = label }
            var groups: [[String]] = []
            var members: [[String]: [ResultRow]] = [:]
            let idx = pointAxes.compactMap(results.axisIndex)
            for row in results.rows(matching: match) {
                let key = idx.map { row.labels[$0] }
                if members[key] == nil { groups.append(key) }
                members[key, default: []].append(row)
            }
            var points: [PlotPoint] = []
            for key in groups {
                guard let group = members[key] else { continue }
                let ys = Stats(results.values(spec.y, of: group))
                guard let y = ys.mean else { continue }
                let x: Double?
                var category = ""
                if let xAxis, let i = results.axisIndex(xAxis.name) {
                    category = group[0].labels[i]
                    x = Double(category)
                } else {
                    x = Stats(results.values(spec.x, of: group)).mean
                }
                if spec.type == .bar {
                    points.append(
                        PlotPoint(
                            x: Double(categories.firstIndex(of: category) ?? 0), y: y, yStd: ys.std ?? 0,
                            category: category))
                } else if let x {
                    points.append(PlotPoint(x: x, y: y, yStd: ys.std ?? 0, category: category))
                }
            }
            if spec.type == .line { points.sort { $0.x < $1.x } }
            series.append(
                PlotSeries(
                    label: spec.series == nil ? spec.y : "\(Runner.short(spec.series ?? "")) = \(label)", points: points
                ))
        }
        let title = spec.title.isEmpty ? "\(human(spec.y)) versus \(human(spec.x))" : spec.title
        let seeds = e.seeds.count
        let what = spec.type == .bar ? "Bars are" : "Points are"
        var note =
            seeds > 1 ? "\(what) means over \(seeds) seeds; error bars (±) show one standard deviation." : "One seed."
        if !spec.filter.isEmpty {
            note +=
                " Fixed: "
                + spec.filter.sorted { $0.key < $1.key }.map { "\($0.key) = \($0.value)" }.joined(separator: ", ") + "."
        }
        return PlotData(
            title: title, xLabel: axisLabel(spec.x, e), yLabel: axisLabel(spec.y, e), type: spec.type,
            xScale: spec.xScale, yScale: spec.yScale,
            categories: categories, series: series, showLegend: spec.series != nil, note: note)
    }

    /// A ROC plot: per series, the TPR at each reported FPR, mean ± std over the cells of the series.
    static func roc(_ spec: PlotSpec, from results: ResultSet) -> PlotData {
        let e = results.experiment
        let rates = OutputChecks.rocRates(spec.y, outputs: e.outputs)
        let seriesLabels = spec.series.map { results.labels(of: $0, matching: spec.filter) } ?? [""]
        let series = seriesLabels.map { label -> PlotSeries in
            var match = spec.filter
            if let s = spec.series { match[s] = label }
            let rows = results.rows(matching: match)
            let points = rates.compactMap { rate -> PlotPoint? in
                let s = Stats(results.values(rate.output, of: rows))
                return s.mean.map { PlotPoint(x: rate.fpr, y: $0, yStd: s.std ?? 0, category: "") }
            }
            return PlotSeries(
                label: spec.series == nil ? spec.y : "\(Runner.short(spec.series ?? "")) = \(label)", points: points)
        }
        var note =
            e.seeds.count > 1
            ? "TPR at each FPR, mean over \(e.seeds.count) seeds (vertical averaging); error bars show one standard deviation."
            : "TPR at each FPR, one seed."
        if !spec.filter.isEmpty {
            note +=
                " Fixed: "
                + spec.filter.sorted { $0.key < $1.key }.map { "\($0.key) = \($0.value)" }.joined(separator: ", ") + "."
        }
        return PlotData(
            title: spec.title.isEmpty ? "ROC of \(spec.y)" : spec.title,
            xLabel: "false-positive rate (honest accounts)", yLabel: "true-positive rate (attacker accounts)",
            type: .line, xScale: spec.xScale, yScale: spec.yScale, categories: [], series: series,
            showLegend: spec.series != nil, note: note)
    }

    static func human(_ name: String) -> String { name.replacingOccurrences(of: "_", with: " ") }

    /// "training_flops" → "training flops (cost)"; an axis keeps its path.
    static func axisLabel(_ name: String, _ e: Experiment) -> String {
        if let doc = e.outputs.first(where: { $0.name == name }) {
            return name.replacingOccurrences(of: "_", with: " ") + (doc.role == .cost ? " (cost)" : "")
        }
        return name
    }
}
