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
public struct TableSpec: Decodable, Encodable, Equatable, Sendable {
    public var title: String
    public var rows: [String]
    public var columns: String?
    public var values: [String]
    /// Fixes axes to one label: `where: {teacher.model.width: "64"}`.
    public var filter: [String: String]
    /// Significant digits of means (std gets two).
    public var digits: Int

    enum Keys: String, CodingKey { case title, rows, columns, values, filter = "where", digits }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        title = try c.decodeIfPresent(String.self, forKey: .title) ?? ""
        rows = try c.decode(OneOrMany.self, forKey: .rows).values
        columns = try c.decodeIfPresent(String.self, forKey: .columns)
        values = try c.decode(OneOrMany.self, forKey: .values).values
        filter = try c.decodeIfPresent([String: String].self, forKey: .filter) ?? [:]
        digits = try c.decodeIfPresent(Int.self, forKey: .digits) ?? 4
        let path = decoder.codingPath.map(\.stringValue)
        if !(1...12).contains(digits) { throw SpecIssue(path + ["digits"], "is \(digits); allowed range 1...12") }
        if rows.isEmpty {
            throw SpecIssue(path + ["rows"], "is empty", fix: "name at least one axis, e.g. `rows: seed`")
        }
        if values.isEmpty { throw SpecIssue(path + ["values"], "is empty", fix: "name a metric or cost of the kind") }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(title, forKey: .title)
        try c.encode(rows, forKey: .rows)
        try c.encodeIfPresent(columns, forKey: .columns)
        try c.encode(values, forKey: .values)
        if !filter.isEmpty {
            try OrderedStrings(keys: filter.keys.sorted(), values: filter).encode(to: c.superEncoder(forKey: .filter))
        }
        try c.encode(digits, forKey: .digits)
    }
}

/// A plot: `y` against `x` (a metric, a cost, or a numeric axis), one series per label of `series`, with
/// error bars of ±1 std over seeds. `type: bar` plots `y` for each label of the axis `x`.
public struct PlotSpec: Decodable, Encodable, Equatable, Sendable {
    public enum Kind: String, Codable, CaseIterable, Sendable { case line, bar }
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
        x = try c.decode(String.self, forKey: .x)
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

    static func check(_ plot: PlotSpec, index: Int, axes: [GridAxis], outputs: [OutputDoc]) throws {
        let path = ["plots", String(index)]
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
        case .line:
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
