// DerivedTable: the tables of `type: queries_to_reach` and `type: at_cost` built from finished cells — for each
// row and seed the curve of the cost `x` along the axis the table leaves out, read by CurveReading, then
// summarised over seeds. Not the interpolation itself (CurveReading) nor the plain mean ± std tables.
import Foundation

enum DerivedTable {
    static func build(_ spec: TableSpec, from results: ResultSet) -> BuiltTable {
        let e = results.experiment
        let seeds = e.seeds.map(String.init)
        let rowIndices = spec.rows.compactMap(results.axisIndex)
        var rowKeys: [[String]] = []
        var seen = Set<[String]>()
        for row in results.rows(matching: spec.filter) {
            let key = rowIndices.map { row.labels[$0] }
            if seen.insert(key).inserted { rowKeys.append(key) }
        }
        /// The curve of `metric` against the cost for one row and seed, by increasing cost (stable).
        func curve(_ key: [String], seed: String, metric: String) -> [(cost: Double, value: Double)] {
            var match = spec.filter
            for (axis, label) in zip(spec.rows, key) { match[axis] = label }
            match[GridAxis.seedName] = seed
            let points = results.rows(matching: match).compactMap { row -> (cost: Double, value: Double)? in
                guard let c = row.value(spec.x), let v = row.value(metric), c > 0, c.isFinite, v.isFinite else {
                    return nil
                }
                return (c, v)
            }
            return points.enumerated().sorted { ($0.element.cost, $0.offset) < ($1.element.cost, $1.offset) }.map(
                \.element)
        }
        let fixed =
            spec.filter.isEmpty
            ? ""
            : " Fixed: "
                + spec.filter.sorted { $0.key < $1.key }.map { "\($0.key) = \($0.value)" }.joined(separator: ", ") + "."
        let over = "over seeds \(seeds.joined(separator: ", "))"
        switch spec.type {
        case .queriesToReach:
            var found: [[String]: [[Crossing]]] = [:]
            for key in rowKeys {
                found[key] = spec.levels.map { level in
                    seeds.compactMap { CurveReading.crossing(curve(key, seed: $0, metric: level.metric), level) }
                }
            }
            var rows: [(labels: [String], stats: [Stats])] = []
            var texts: [[String]] = []
            for key in rowKeys {
                var stats: [Stats] = []
                var cells: [String] = []
                for (l, _) in spec.levels.enumerated() {
                    let crossings = found[key]?[l] ?? []
                    let reference = spec.reference.flatMap { found[[$0]]?[l] }
                    let isReference = spec.reference.map { [$0] == key } ?? true
                    let (stat, text) = cell(crossings, reference: isReference ? nil : reference)
                    stats.append(stat)
                    cells.append(text)
                }
                rows.append((key, stats))
                texts.append(cells)
            }
            let ratio =
                spec.reference.map { "; × = ratio of means to `\($0)` (where every seed of both crossed)" } ?? ""
            return BuiltTable(
                title: spec.title,
                note: "Cost (`\(spec.x)`) at which each level is first reached: interpolated between the bracketing "
                    + "points linearly in log(\(spec.x)) (and log(value) for a ≤ level); mean ± sample std \(over)"
                    + "\(ratio). ≤ q: reached at the first point; > q: not reached by the last." + fixed,
                header: spec.rows + spec.levels.map(\.header), labelColumns: spec.rows.count, rows: rows,
                digits: spec.digits, texts: texts)
        case .atCost:
            var rows: [(labels: [String], stats: [Stats])] = []
            var texts: [[String]] = []
            var header = spec.rows
            for value in spec.values {
                for cost in spec.at { header.append("\(value) at \(CurveLevel.short(cost)) \(spec.x)") }
            }
            for key in rowKeys {
                var stats: [Stats] = []
                var cells: [String] = []
                for value in spec.values {
                    let curves = seeds.map { curve(key, seed: $0, metric: value) }
                    for cost in spec.at {
                        let read = curves.map { CurveReading.value(at: cost, on: $0) }
                        if read.contains(where: { $0 == nil }) {
                            stats.append(Stats([]))
                            cells.append("— (outside the curve)")
                        } else {
                            let s = Stats(read.compactMap { $0 })
                            stats.append(s)
                            cells.append(s.formatted(digits: spec.digits))
                        }
                    }
                }
                rows.append((key, stats))
                texts.append(cells)
            }
            return BuiltTable(
                title: spec.title,
                note: "Values at equal cost (`\(spec.x)`): interpolated between the bracketing points linearly in "
                    + "log(\(spec.x)); mean ± sample std \(over); — where a seed's curve does not span the cost."
                    + fixed,
                header: header, labelColumns: spec.rows.count, rows: rows, digits: spec.digits, texts: texts)
        case .mean:
            preconditionFailure("plain tables are TableBuilder's")
        }
    }

    /// One cell of a queries_to_reach table: the crossings of every seed, summarised.
    static func cell(_ found: [Crossing], reference: [Crossing]?) -> (Stats, String) {
        func whole(_ x: Double) -> String { String(format: "%.0f", x) }
        let reached = found.filter { if case .never = $0 { return false } else { return true } }
        let stats = Stats(reached.map(\.cost))
        guard let first = found.first else { return (stats, "—") }
        if reached.isEmpty { return (stats, "> \(whole(first.cost)) (never)") }
        if reached.count < found.count {
            let last = found.map(\.cost).max() ?? first.cost
            return (
                stats,
                "\(reached.count)/\(found.count) seeds (at \(reached.map { whole($0.cost) }.joined(separator: ", "))); "
                    + "the others > \(whole(last))"
            )
        }
        let atFirst = found.filter { if case .first = $0 { return true } else { return false } }
        if atFirst.count == found.count { return (stats, "≤ \(whole(first.cost))") }
        let mean = stats.mean ?? 0
        var text = "\(whole(mean)) ± \(whole(stats.std ?? 0))"
        if !atFirst.isEmpty { text += " (≤ first for some seeds)" }
        if let reference, !reference.isEmpty,
            reference.allSatisfy({ if case .at = $0 { return true } else { return false } })
        {
            let ratio = mean / (reference.map(\.cost).reduce(0, +) / Double(reference.count))
            text += " (\(String(format: "%.1f", ratio))×)"
        }
        return (stats, text)
    }
}
