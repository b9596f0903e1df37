// OutputSpec: the `tables:` and `plots:` sections — which axes make rows, columns and series, which metric is
// shown, how values over seeds aggregate (mean ± std) — and their checks against the grid and the kind's
// outputs. Not the rendering: Aggregate, MarkdownTable, SVGPlot and HTMLReport draw them.
import Foundation
import LabCore

/// One string or a list of strings (`rows: seed` or `rows: [a, b]`).
struct OneOrMany: Decodable {
    var values: [String]
    init(from decoder: Decoder) throws {
        if let many = try? [String](from: decoder) {
            values = many
            return
        }
        values = [try decoder.singleValueContainer().decode(String.self)]
    }
}

/// A table: one row per combination of the `rows` axes' labels; columns are either the labels of the
/// `columns` axis (showing one value) or the `values` themselves. Every cell is the mean ± std over the
/// cells that share its labels — over seeds, since every other axis must be placed or fixed by `where`.
///
/// A derived table (`type:`) reads, for each row and seed, the curve of a cost `x` (default `queries`) along
/// the one axis the table leaves out (an anytime kind's milestones, or a swept budget) and shows
/// - `queries_to_reach`: for each of `levels` ("agreement>=0.8", "kl_teacher_student<=0.1"), the cost at
///   which the curve first reaches it, interpolated linearly in log(x) between the bracketing points (in
///   log(value) too for a `<=` level: KL-like values span decades); "≤ first" when the first point already
///   reaches it, "> last" when none does; mean ± sample std over seeds and the ratio to the row `reference`;
/// - `at_cost`: each of `values` at each cost in `at`, interpolated linearly in log(x) between the
///   bracketing points: every arm compared at equal cost.
public struct TableSpec: Decodable, Encodable, Equatable, Sendable {
    public enum Kind: String, Codable, CaseIterable, Sendable {
        case mean
        case queriesToReach = "queries_to_reach"
        case atCost = "at_cost"
    }

    public var title: String
    public var type: Kind
    public var rows: [String]
    public var columns: String?
    public var values: [String]
    /// Fixes axes to one label: `where: {teacher.model.width: "64"}`.
    public var filter: [String: String]
    /// Significant digits of means (std gets two).
    public var digits: Int
    /// Derived tables: the cost the curve runs along (an output of the kind).
    public var x: String
    /// `queries_to_reach`: the levels, each "metric>=value" or "metric<=value".
    public var levels: [CurveLevel]
    /// `queries_to_reach`: the label of the rows axis the ratios are taken against.
    public var reference: String?
    /// `at_cost`: the costs at which `values` are read off.
    public var at: [Double]

    enum Keys: String, CodingKey {
        case title, type, rows, columns, values, filter = "where", digits, x, levels, reference, at
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        let path = decoder.codingPath.map(\.stringValue)
        title = try c.decodeIfPresent(String.self, forKey: .title) ?? ""
        if let raw = try c.decodeIfPresent(String.self, forKey: .type) {
            guard let kind = Kind(rawValue: raw) else {
                throw SpecIssue(
                    path + ["type"], "is '\(raw)'",
                    fix: EditDistance.hint(for: raw, among: Kind.allCases.map(\.rawValue)))
            }
            type = kind
        } else {
            type = .mean
        }
        rows = try c.decode(OneOrMany.self, forKey: .rows).values
        columns = try c.decodeIfPresent(String.self, forKey: .columns)
        values = try c.decodeIfPresent(OneOrMany.self, forKey: .values)?.values ?? []
        filter = try c.decodeIfPresent([String: String].self, forKey: .filter) ?? [:]
        digits = try c.decodeIfPresent(Int.self, forKey: .digits) ?? 4
        x = try c.decodeIfPresent(String.self, forKey: .x) ?? "queries"
        let levelTexts = try c.decodeIfPresent(OneOrMany.self, forKey: .levels)?.values ?? []
        levels = try levelTexts.enumerated().map { i, text in
            try CurveLevel(parsing: text, path: path + ["levels"] + (levelTexts.count > 1 ? [String(i)] : []))
        }
        reference = try c.decodeIfPresent(String.self, forKey: .reference)
        at = try c.decodeIfPresent([Double].self, forKey: .at) ?? []
        if !(1...12).contains(digits) { throw SpecIssue(path + ["digits"], "is \(digits); allowed range 1...12") }
        if rows.isEmpty {
            throw SpecIssue(path + ["rows"], "is empty", fix: "name at least one axis, e.g. `rows: seed`")
        }
        func only(_ key: Keys, _ kinds: [Kind], present: Bool) throws {
            guard present, !kinds.contains(type) else { return }
            throw SpecIssue(
                path + [key.rawValue],
                "is read only by tables of type \(kinds.map(\.rawValue).joined(separator: " or ")); this one is \(type.rawValue)",
                fix: "remove it, or set `type: \(kinds[0].rawValue)`", atKey: true)
        }
        try only(.x, [.queriesToReach, .atCost], present: c.contains(.x))
        try only(.levels, [.queriesToReach], present: c.contains(.levels))
        try only(.reference, [.queriesToReach], present: c.contains(.reference))
        try only(.at, [.atCost], present: c.contains(.at))
        try only(.columns, [.mean], present: c.contains(.columns))
        try only(.values, [.mean, .atCost], present: c.contains(.values))
        switch type {
        case .mean, .atCost:
            if values.isEmpty {
                throw SpecIssue(path + ["values"], "is empty", fix: "name a metric or cost of the kind")
            }
        case .queriesToReach:
            if levels.isEmpty {
                throw SpecIssue(
                    path + ["levels"], "is missing or empty",
                    fix: "list levels such as `levels: [\"agreement>=0.8\", \"kl_teacher_student<=0.1\"]`")
            }
        }
        if type == .atCost {
            if at.isEmpty { throw SpecIssue(path + ["at"], "is missing or empty", fix: "e.g. `at: [1000, 3000]`") }
            if let bad = at.firstIndex(where: { !($0 > 0 && $0.isFinite) }) {
                throw SpecIssue(
                    path + ["at", String(bad)], "is \(at[bad]); costs are positive (they are interpolated in log)")
            }
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(title, forKey: .title)
        if type != .mean { try c.encode(type, forKey: .type) }
        try c.encode(rows, forKey: .rows)
        try c.encodeIfPresent(columns, forKey: .columns)
        if !values.isEmpty { try c.encode(values, forKey: .values) }
        if !filter.isEmpty {
            try OrderedStrings(keys: filter.keys.sorted(), values: filter).encode(to: c.superEncoder(forKey: .filter))
        }
        try c.encode(digits, forKey: .digits)
        if type != .mean { try c.encode(x, forKey: .x) }
        if !levels.isEmpty { try c.encode(levels.map(\.description), forKey: .levels) }
        try c.encodeIfPresent(reference, forKey: .reference)
        if !at.isEmpty { try c.encode(at, forKey: .at) }
    }
}

/// A level a curve may reach: "agreement>=0.8" (larger is better) or "kl_teacher_student<=0.1" (smaller).
public struct CurveLevel: Equatable, Sendable, CustomStringConvertible {
    public var metric: String
    /// true for `>=`.
    public var atLeast: Bool
    public var value: Double

    public init(metric: String, atLeast: Bool, value: Double) {
        self.metric = metric
        self.atLeast = atLeast
        self.value = value
    }

    init(parsing text: String, path: [String]) throws {
        for (op, atLeast) in [(">=", true), ("<=", false)] {
            let parts = text.components(separatedBy: op)
            guard parts.count == 2 else { continue }
            let name = parts[0].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, let value = Double(parts[1].trimmingCharacters(in: .whitespaces)), value.isFinite
            else { break }
            if !atLeast && value <= 0 {
                throw SpecIssue(path, "'\(text)': a <= level is interpolated in log(value), so it must be positive")
            }
            self.init(metric: name, atLeast: atLeast, value: value)
            return
        }
        throw SpecIssue(
            path, "'\(text)' is not a level", fix: "write metric>=value or metric<=value, e.g. \"agreement>=0.8\"")
    }

    public func reached(by v: Double) -> Bool { atLeast ? v >= value : v <= value }

    /// "agreement>=0.8".
    public var description: String { "\(metric)\(atLeast ? ">=" : "<=")\(CurveLevel.short(value))" }
    /// "agreement >= 0.8", as a column header.
    var header: String { "\(metric) \(atLeast ? ">=" : "<=") \(CurveLevel.short(value))" }

    /// The shortest form: 0.8, 1000, 1e-05 (C's %g).
    static func short(_ x: Double) -> String { String(format: "%g", x) }
}

/// A plot: `y` against `x` (a metric, a cost, or a numeric axis), one series per label of `series`, with
/// error bars of ±1 std over seeds. `type: bar` plots `y` for each label of the axis `x`. `type: roc` draws
/// a detector's ROC: `y` names the family of metrics `<y>.tpr_at_fpr_<f>` (TPR at FPR f), drawn against f,
/// each point the mean over seeds (vertical averaging); `x` is not read.
public struct PlotSpec: Decodable, Encodable, Equatable, Sendable {
    public enum Kind: String, Codable, CaseIterable, Sendable { case line, bar, roc }
    public enum Scale: String, Codable, CaseIterable, Sendable { case linear, log }

    public var title: String
    public var type: Kind
    public var x: String
    public var y: String
    public var series: String?
    public var filter: [String: String]
    /// Log by default for a line plot: costs span decades.
    public var xScale: Scale
    public var yScale: Scale
    /// File name stem of the SVG (default: plot-<index>).
    public var file: String?

    enum Keys: String, CodingKey {
        case title, type, x, y, series, filter = "where", xScale = "x_scale", yScale = "y_scale", file
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        let path = decoder.codingPath.map(\.stringValue)
        func choice<E: RawRepresentable & CaseIterable>(_ key: Keys, _ def: E) throws -> E where E.RawValue == String {
            guard let raw = try c.decodeIfPresent(String.self, forKey: key) else { return def }
            guard let v = E(rawValue: raw) else {
                throw SpecIssue(
                    path + [key.rawValue], "is '\(raw)'",
                    fix: EditDistance.hint(for: raw, among: E.allCases.map(\.rawValue)))
            }
            return v
        }
        title = try c.decodeIfPresent(String.self, forKey: .title) ?? ""
        type = try choice(.type, Kind.line)
        x =
            type == .roc
            ? try c.decodeIfPresent(String.self, forKey: .x) ?? "fpr" : try c.decode(String.self, forKey: .x)
        y = try c.decode(String.self, forKey: .y)
        series = try c.decodeIfPresent(String.self, forKey: .series)
        filter = try c.decodeIfPresent([String: String].self, forKey: .filter) ?? [:]
        xScale = try choice(.xScale, type == .bar ? Scale.linear : .log)
        yScale = try choice(.yScale, Scale.linear)
        file = try c.decodeIfPresent(String.self, forKey: .file)
        if let f = file,
            f.isEmpty
                || !f.unicodeScalars.allSatisfy({
                    CharacterSet.alphanumerics.contains($0) || "-_".unicodeScalars.contains($0)
                })
        {
            throw SpecIssue(
                path + ["file"], "is '\(f)'; allowed: letters, digits, - and _", fix: "e.g. `file: fidelity-vs-cost`")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(title, forKey: .title)
        try c.encode(type, forKey: .type)
        try c.encode(x, forKey: .x)
        try c.encode(y, forKey: .y)
        try c.encodeIfPresent(series, forKey: .series)
        if !filter.isEmpty {
            try OrderedStrings(keys: filter.keys.sorted(), values: filter).encode(to: c.superEncoder(forKey: .filter))
        }
        try c.encode(xScale, forKey: .xScale)
        try c.encode(yScale, forKey: .yScale)
        try c.encodeIfPresent(file, forKey: .file)
    }
}

/// Checks of tables and plots against the experiment's axes and the kind's outputs.
enum OutputChecks {
    static func axis(_ name: String, _ path: [String], axes: [GridAxis]) throws -> GridAxis {
        guard let axis = axes.first(where: { $0.name == name }) else {
            throw SpecIssue(
                path, "'\(name)' is not an axis of this experiment",
                fix: EditDistance.hint(for: name, among: axes.map(\.name), noun: "axes"))
        }
        return axis
    }

    static func output(_ name: String, _ path: [String], outputs: [OutputDoc]) throws {
        guard outputs.contains(where: { $0.name == name }) else {
            throw SpecIssue(
                path, "'\(name)' is not a metric or cost of this kind",
                fix: EditDistance.hint(for: name, among: outputs.map(\.name), noun: "outputs"))
        }
    }

    static func filter(_ filter: [String: String], _ path: [String], axes: [GridAxis]) throws {
        for (name, label) in filter.sorted(by: { $0.key < $1.key }) {
            let axis = try self.axis(name, path + [name], axes: axes)
            guard axis.isCurve || axis.labels.contains(label) else {
                throw SpecIssue(
                    path + [name], "'\(label)' is not a label of axis \(name)",
                    fix: EditDistance.hint(for: label, among: axis.labels, noun: "labels"))
            }
        }
    }

    /// Axes with several labels that `placed` does not mention: aggregating over them would mix unlike cells.
    static func unplaced(_ placed: Set<String>, axes: [GridAxis]) -> [GridAxis] {
        axes.filter { $0.name != GridAxis.seedName && ($0.labels.count > 1 || $0.isCurve) && !placed.contains($0.name) }
    }

    static func check(_ table: TableSpec, index: Int, axes: [GridAxis], outputs: [OutputDoc]) throws {
        let path = ["tables", String(index)]
        for (i, row) in table.rows.enumerated() {
            _ = try axis(row, path + ["rows"] + (table.rows.count > 1 ? [String(i)] : []), axes: axes)
        }
        if table.type != .mean { return try checkDerived(table, path: path, axes: axes, outputs: outputs) }
        if let columns = table.columns {
            _ = try axis(columns, path + ["columns"], axes: axes)
            if table.values.count != 1 {
                throw SpecIssue(
                    path + ["values"], "names \(table.values.count) values; with `columns:` a table shows exactly one",
                    fix: "keep one value, or drop `columns:` to show each value as a column")
            }
        }
        for (i, v) in table.values.enumerated() {
            try output(v, path + ["values"] + (table.values.count > 1 ? [String(i)] : []), outputs: outputs)
        }
        try filter(table.filter, path + ["where"], axes: axes)
        let missing = unplaced(Set(table.rows + (table.columns.map { [$0] } ?? []) + table.filter.keys), axes: axes)
        if let axis = missing.first {
            throw SpecIssue(
                path,
                "leaves axis '\(axis.name)' (\(axis.isCurve ? "the curve's milestones" : "\(axis.labels.count) values")) out; only seeds are averaged",
                fix:
                    "add it to rows, make it the columns, or fix one value with `where: {\(axis.name): \(axis.labels.first ?? "...")}`"
            )
        }
    }

    /// A derived table: its cost and levels are outputs, its reference a label of its one rows axis, and it
    /// leaves at most one axis (besides seeds) out — the one its curves run along.
    static func checkDerived(_ table: TableSpec, path: [String], axes: [GridAxis], outputs: [OutputDoc]) throws {
        try output(table.x, path + ["x"], outputs: outputs)
        for (i, v) in table.values.enumerated() {
            try output(v, path + ["values"] + (table.values.count > 1 ? [String(i)] : []), outputs: outputs)
        }
        for (i, level) in table.levels.enumerated() {
            try output(level.metric, path + ["levels"] + (table.levels.count > 1 ? [String(i)] : []), outputs: outputs)
        }
        try filter(table.filter, path + ["where"], axes: axes)
        if let reference = table.reference {
            guard table.rows.count == 1, let rowAxis = axes.first(where: { $0.name == table.rows[0] }) else {
                throw SpecIssue(
                    path + ["reference"], "needs exactly one rows axis (its labels are the arms)",
                    fix: "keep one axis in rows, and fix the others with `where:`")
            }
            guard rowAxis.isCurve || rowAxis.labels.contains(reference) else {
                throw SpecIssue(
                    path + ["reference"], "'\(reference)' is not a label of axis \(rowAxis.name)",
                    fix: EditDistance.hint(for: reference, among: rowAxis.labels, noun: "labels"))
            }
        }
        let missing = unplaced(Set(table.rows + table.filter.keys), axes: axes)
        if missing.count > 1 {
            throw SpecIssue(
                path,
                "leaves \(missing.count) axes out (\(missing.map(\.name).joined(separator: ", "))); a \(table.type.rawValue) table reads its curves along one",
                fix: "add all but one of them to rows, or fix them with `where:`")
        }
    }

    /// The false-positive rates of a ROC family: outputs named `<family>.tpr_at_fpr_<f>`, by f.
    static func rocRates(_ family: String, outputs: [OutputDoc]) -> [(fpr: Double, output: String)] {
        let prefix = family + ".tpr_at_fpr_"
        return outputs.compactMap { doc in
            guard doc.name.hasPrefix(prefix), let f = Double(doc.name.dropFirst(prefix.count)), f > 0 else {
                return nil
            }
            return (f, doc.name)
        }.sorted { $0.fpr < $1.fpr }
    }

    static func check(_ plot: PlotSpec, index: Int, axes: [GridAxis], outputs: [OutputDoc]) throws {
        let path = ["plots", String(index)]
        if plot.type == .roc {
            guard rocRates(plot.y, outputs: outputs).count >= 2 else {
                let families = Set(
                    outputs.compactMap { doc in
                        doc.name.range(of: ".tpr_at_fpr_").map { String(doc.name[..<$0.lowerBound]) }
                    })
                throw SpecIssue(
                    path + ["y"], "'\(plot.y)' names no family of <name>.tpr_at_fpr_<f> metrics of this kind",
                    fix: EditDistance.hint(for: plot.y, among: families.sorted(), noun: "families"))
            }
            if let series = plot.series { _ = try axis(series, path + ["series"], axes: axes) }
            try filter(plot.filter, path + ["where"], axes: axes)
            let missing = unplaced(Set((plot.series.map { [$0] } ?? []) + plot.filter.keys), axes: axes)
            if let axis = missing.first {
                throw SpecIssue(
                    path, "leaves axis '\(axis.name)' out, so one curve would mix its cells",
                    fix:
                        "make it the series, or fix one value with `where: {\(axis.name): \(axis.labels.first ?? "...")}`"
                )
            }
            return
        }
        try output(plot.y, path + ["y"], outputs: outputs)
        if let series = plot.series { _ = try axis(series, path + ["series"], axes: axes) }
        try filter(plot.filter, path + ["where"], axes: axes)
        let xAxis = axes.first { $0.name == plot.x }
        switch plot.type {
        case .bar:
            guard xAxis != nil else {
                throw SpecIssue(
                    path + ["x"], "a bar plot's x must be an axis (one bar per label)",
                    fix: EditDistance.hint(for: plot.x, among: axes.map(\.name), noun: "axes"))
            }
        case .line, .roc:
            if let xAxis {
                if let bad = xAxis.labels.first(where: { Double($0) == nil }) {
                    throw SpecIssue(
                        path + ["x"],
                        "axis '\(xAxis.name)' has the label '\(bad)', which is not a number; a line plot needs numbers on x",
                        fix: "use `type: bar`, or plot against a metric or cost")
                }
            } else if !outputs.contains(where: { $0.name == plot.x }) {
                throw SpecIssue(
                    path + ["x"], "'\(plot.x)' is neither a metric, a cost nor an axis",
                    fix: EditDistance.hint(for: plot.x, among: outputs.map(\.name) + axes.map(\.name), noun: "choices"))
            }
        }
        if xAxis != nil {
            let missing = unplaced(Set([plot.x] + (plot.series.map { [$0] } ?? []) + plot.filter.keys), axes: axes)
            if let axis = missing.first {
                throw SpecIssue(
                    path, "leaves axis '\(axis.name)' out, so one x would have several points",
                    fix:
                        "make it the series, or fix one value with `where: {\(axis.name): \(axis.labels.first ?? "...")}`"
                )
            }
        }
        if plot.xScale == .log, let xAxis, let bad = xAxis.labels.first(where: { (Double($0) ?? 0) <= 0 }),
            plot.type == .line
        {
            throw SpecIssue(
                path + ["x_scale"], "is log but axis '\(xAxis.name)' has the value \(bad) ≤ 0",
                fix: "use `x_scale: linear`")
        }
    }
}
