// Aggregate: cells grouped by their labels and a value summarised as mean ± sample standard deviation — the
// numbers every table and plot shows — and their formatting with a fixed number of significant digits.
// Not rendering: the table and plot writers lay these out.
import Foundation

/// Mean, sample standard deviation (n − 1 denominator; 0 for one value) and count of the non-null values.
public struct Stats: Equatable, Sendable {
    public var mean: Double?
    public var std: Double?
    public var n: Int

    public init(_ values: [Double]) {
        n = values.count
        guard !values.isEmpty else {
            mean = nil
            std = nil
            return
        }
        let m = values.reduce(0, +) / Double(values.count)
        mean = m
        std =
            values.count > 1
            ? (values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(values.count - 1)).squareRoot() : 0
    }

    /// "1.234 ± 0.056" (n > 1), "1.234" (n = 1, or the same value for every seed), "—" (no values).
    public func formatted(digits: Int) -> String {
        guard let mean else { return "—" }
        let m = NumberFormat.significant(mean, digits: digits)
        guard n > 1, let std, std >= 1e-12 else { return m }
        return "\(m) ± \(NumberFormat.significant(std, digits: 2))"
    }
}

enum NumberFormat {
    /// `x` to `digits` significant digits without exponent for ordinary magnitudes; integers exactly; very
    /// large or small magnitudes in scientific notation.
    static func significant(_ x: Double, digits: Int) -> String {
        guard x.isFinite else { return x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf") }
        // Below 1e-12 is rounding noise of a quantity that is zero (KL of a distribution to itself).
        if abs(x) < 1e-12 { return "0" }
        let magnitude = abs(x)
        if x == x.rounded(), magnitude < 1e6, magnitude >= pow(10, Double(digits - 1)) { return String(Int64(x)) }
        if magnitude >= 1e6 || magnitude < 1e-4 { return String(format: "%.\(max(0, digits - 1))e", x) }
        let decimals = max(0, digits - 1 - Int(floor(log10(magnitude))))
        return String(format: "%.\(decimals)f", x)
    }

    /// Short form for tick labels: up to 3 significant digits.
    static func tick(_ x: Double) -> String {
        if x == 0 { return "0" }
        let magnitude = abs(x)
        if x == x.rounded(), magnitude < 1e5 { return String(Int64(x)) }
        if magnitude >= 1e5 || magnitude < 1e-3 { return String(format: "%.2g", x) }
        var s = String(format: "%.3g", x)
        if s.contains("e") { s = String(format: "%.3f", x) }
        return s
    }
}

/// One row of results: a cell, or one point of a cell's anytime curve, with a label for every axis.
struct ResultRow {
    let cell: PlannedCell
    /// Aligned with `ResultSet.axes`.
    let labels: [String]
    let record: CellRecord
    /// The curve point this row is, if any.
    let point: CellResult.Point?

    /// A value at the curve point, else at cell level.
    func value(_ name: String) -> Double? {
        if let p = point, let entry = (p.metrics.first { $0.name == name } ?? p.costs.first { $0.name == name }) {
            return entry.value
        }
        return record.result.value(name)
    }
}

/// The rows of an experiment's results with the axes that label them — the grid's axes, the kind's curve
/// axis (labels in order of first appearance) and the seeds — for grouping.
struct ResultSet {
    let experiment: Experiment
    let records: [CellRecord]
    let axes: [GridAxis]
    let rows: [ResultRow]

    /// The label of a cell without a curve on the curve axis.
    static let noPoint = "—"

    /// The outputs the results list: every one of the kind's, except those marked `onlyWhenReported` that no
    /// cell reports.
    var outputs: [OutputDoc] {
        experiment.outputs.filter { doc in !doc.onlyWhenReported || rows.contains { $0.value(doc.name) != nil } }
    }

    init(experiment: Experiment, records: [CellRecord]) {
        self.experiment = experiment
        self.records = records
        guard let curveName = experiment.curveAxis else {
            axes = experiment.axes
            rows = zip(experiment.cells, records).map { ResultRow(cell: $0, labels: $0.labels, record: $1, point: nil) }
            return
        }
        // The curve axis sits just before the seeds, so seeds stay the innermost (averaged) axis.
        var labels: [String] = []
        var rows: [ResultRow] = []
        for (cell, record) in zip(experiment.cells, records) {
            let points: [CellResult.Point?] = record.result.curve.isEmpty ? [nil] : record.result.curve
            for p in points {
                let label = p?.label ?? Self.noPoint
                if !labels.contains(label) { labels.append(label) }
                rows.append(
                    ResultRow(
                        cell: cell, labels: cell.labels.dropLast() + [label, cell.labels.last ?? ""], record: record,
                        point: p))
            }
        }
        var axes = experiment.axes
        axes.insert(
            GridAxis(name: curveName, path: [], labels: labels, values: [], keyMark: nil, isCurve: true),
            at: axes.count - 1)
        self.axes = axes
        self.rows = rows
    }

    func axisIndex(_ name: String) -> Int? { axes.firstIndex { $0.name == name } }

    /// Rows whose labels match every (axis, label) in `fixed`.
    func rows(matching fixed: [String: String]) -> [ResultRow] {
        rows.filter { row in
            fixed.allSatisfy { name, label in axisIndex(name).map { row.labels[$0] == label } ?? false }
        }
    }

    func values(_ output: String, of rows: [ResultRow]) -> [Double] {
        rows.compactMap { $0.value(output) }
    }

    /// The labels of `axis` that occur among rows matching `fixed`, in axis order.
    func labels(of axis: String, matching fixed: [String: String]) -> [String] {
        guard let i = axisIndex(axis) else { return [] }
        let present = Set(rows(matching: fixed).map { $0.labels[i] })
        return axes[i].labels.filter(present.contains)
    }
}
