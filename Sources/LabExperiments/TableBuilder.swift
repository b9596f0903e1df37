// TableBuilder: the tables an experiment file asks for, built from finished cells (rows × columns of mean ± std
// over seeds), and rendered as Markdown (table.md) and HTML; plus the flat per-cell CSV. Not plots (SVGPlot).
import Foundation

/// One table, built: header, rows of label cells then statistic cells.
struct BuiltTable {
    var title: String
    var note: String
    var header: [String]
    /// Leading label columns count.
    var labelColumns: Int
    var rows: [(labels: [String], stats: [Stats])]
    var digits: Int
    /// Derived tables: the text of each statistic cell (row by row), where `stats` alone cannot say it
    /// ("≤ 1000", "> 8000 (never)", a ratio).
    var texts: [[String]]? = nil

    func text(row: Int, column: Int) -> String {
        texts?[row][column] ?? rows[row].stats[column].formatted(digits: digits)
    }

    var markdown: String {
        func escape(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }
        var lines: [String] = []
        if !title.isEmpty { lines += ["## \(title)", ""] }
        lines.append(note)
        lines.append("")
        lines.append("| " + header.map(escape).joined(separator: " | ") + " |")
        lines.append("|" + header.indices.map { $0 < labelColumns ? "---" : "---:" }.joined(separator: "|") + "|")
        for (r, row) in rows.enumerated() {
            let cells = row.stats.indices.map { text(row: r, column: $0) }
            lines.append("| " + (row.labels.map(escape) + cells).joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    var html: String {
        var out =
            "<table>\n<thead><tr>"
            + header.enumerated().map {
                "<th\($0.offset >= labelColumns ? " class=\"num\"" : "")>\(HTML.escape($0.element))</th>"
            }.joined() + "</tr></thead>\n<tbody>\n"
        for (r, row) in rows.enumerated() {
            out += "<tr>" + row.labels.map { "<td>\(HTML.escape($0))</td>" }.joined()
            out +=
                row.stats.indices.map { "<td class=\"num\">\(HTML.escape(text(row: r, column: $0)))</td>" }.joined()
                + "</tr>\n"
        }
        return out + "</tbody>\n</table>\n"
    }

    var json: JSONValue {
        .object([
            ("title", .string(title)),
            ("header", .array(header.map { .string($0) })),
            (
                "rows",
                .array(
                    rows.enumerated().map { r, row in
                        .object([
                            ("labels", .array(row.labels.map { .string($0) })),
                            (
                                "values",
                                .array(
                                    row.stats.enumerated().map { c, s in
                                        var fields: [(String, JSONValue)] = [
                                            ("mean", .number(s.mean)), ("std", .number(s.std)),
                                            ("n", .number(Double(s.n))),
                                        ]
                                        if let texts { fields.append(("text", .string(texts[r][c]))) }
                                        return .object(fields)
                                    })
                            ),
                        ])
                    })
            ),
        ])
    }
}

enum TableBuilder {
    static func build(_ spec: TableSpec, from results: ResultSet) -> BuiltTable {
        if spec.type != .mean { return DerivedTable.build(spec, from: results) }
        let e = results.experiment
        let seeds = e.seeds.count
        let seedNote = seeds > 1 ? "Mean ± sample standard deviation over \(seeds) seeds." : "One seed."
        let fixed =
            spec.filter.isEmpty
            ? ""
            : " Fixed: "
                + spec.filter.sorted { $0.key < $1.key }.map { "\($0.key) = \($0.value)" }.joined(separator: ", ") + "."
        // Row keys: every combination of the rows axes' labels that has cells, in grid order.
        var rowKeys: [[String]] = []
        var seen = Set<[String]>()
        let rowIndices = spec.rows.compactMap(results.axisIndex)
        for row in results.rows(matching: spec.filter) {
            let key = rowIndices.map { row.labels[$0] }
            if seen.insert(key).inserted { rowKeys.append(key) }
        }
        var header = spec.rows
        var rows: [(labels: [String], stats: [Stats])] = []
        if let columns = spec.columns {
            let columnLabels = results.labels(of: columns, matching: spec.filter)
            let value = spec.values[0]
            header += columnLabels
            for key in rowKeys {
                var match = spec.filter
                for (axis, label) in zip(spec.rows, key) { match[axis] = label }
                let stats = columnLabels.map { label -> Stats in
                    var m = match
                    m[columns] = label
                    return Stats(results.values(value, of: results.rows(matching: m)))
                }
                rows.append((key, stats))
            }
            return BuiltTable(
                title: spec.title,
                note: "Value: `\(value)`; rows: `\(spec.rows.joined(separator: "`, `"))`; columns: `\(columns)`. "
                    + seedNote + fixed, header: header, labelColumns: spec.rows.count, rows: rows, digits: spec.digits)
        }
        header += spec.values
        for key in rowKeys {
            var match = spec.filter
            for (axis, label) in zip(spec.rows, key) { match[axis] = label }
            let matching = results.rows(matching: match)
            rows.append((key, spec.values.map { Stats(results.values($0, of: matching)) }))
        }
        return BuiltTable(
            title: spec.title, note: seedNote + fixed, header: header, labelColumns: spec.rows.count, rows: rows,
            digits: spec.digits)
    }

    /// One line per cell (per curve point, for kinds with curves): index, hash, every axis label, every
    /// output (full precision; empty when null).
    static func csv(_ results: ResultSet) -> String {
        func field(_ s: String) -> String {
            s.contains(",") || s.contains("\"") || s.contains("\n")
                ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        let outputs = results.outputs.map(\.name)
        // Notes (words a cell reports) follow the numbers, in order of first appearance; none, no columns.
        var noteNames: [String] = []
        for record in results.records {
            for note in record.result.notes where !noteNames.contains(note.name) { noteNames.append(note.name) }
        }
        var lines = [
            (["index", "hash"] + results.axes.map(\.name) + outputs + noteNames).map(field).joined(separator: ",")
        ]
        for row in results.rows {
            let values = outputs.map { name in row.value(name).map(JSONValue.spell) ?? "" }
            let notes = noteNames.map { name in row.record.result.notes.first { $0.name == name }?.text ?? "" }
            lines.append(
                ([String(row.cell.index), row.cell.hash] + row.labels + values + notes).map(field).joined(
                    separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
