// QuotedNumbers: checks that a number a Markdown file quotes from a committed result is what that result says.
// Each checked number carries an HTML comment naming its source (`<!-- data: … -->` after the number, or one
// `<!-- data-table: … -->` before a table); the syntax is documented in docs/results.md. Reads only; it never
// writes a result, and it checks only the numbers that carry a source (prose arithmetic is the author's).
import Foundation

package enum QuotedNumbers {
    /// A quoted number that disagrees with its source, or a source that cannot be read.
    package struct Finding: CustomStringConvertible, Equatable {
        package var file: String
        package var line: Int
        package var message: String
        package var description: String { "\(file):\(line): \(message)" }
    }

    /// What checking one Markdown text found: how many quoted numbers were compared, and what failed.
    package struct Report {
        package var checked = 0
        package var findings: [Finding] = []
    }

    /// Checks every annotated number of `markdown` against the results under `results` (the directory holding
    /// one folder per experiment). `file` names the text in findings.
    package static func check(markdown: String, file: String, results: URL) -> Report {
        var report = Report()
        var sources = SourceCache(root: results)
        let text = markdown
        var searchStart = text.startIndex
        // Line numbers counted as the scan moves on, not from the top for every comment.
        var line = 1
        var counted = text.startIndex
        while let open = text.range(of: "<!--", range: searchStart..<text.endIndex) {
            guard let close = text.range(of: "-->", range: open.upperBound..<text.endIndex) else { break }
            searchStart = close.upperBound
            let body = text[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
            line += text[counted..<open.lowerBound].reduce(0) { $1 == "\n" ? $0 + 1 : $0 }
            counted = open.lowerBound
            func fail(_ message: String) { report.findings.append(Finding(file: file, line: line, message: message)) }
            do {
                if body.hasPrefix("data-table:") {
                    let spec = String(body.dropFirst("data-table:".count))
                    let tableLines = followingTable(text[close.upperBound...])
                    try checkTable(spec, table: tableLines, sources: &sources, line: line, file: file, into: &report)
                } else if body.hasPrefix("data:") {
                    let spec = String(body.dropFirst("data:".count))
                    let before = text[text.startIndex..<open.lowerBound]
                    let lineStart = before.lastIndex(of: "\n").map { before.index(after: $0) } ?? before.startIndex
                    let quoted = try Quoted.trailing(String(before[lineStart...]))
                    let tokens = try tokenize(spec)
                    guard let experiment = tokens.first, !experiment.contains("=") else {
                        throw Problem("a `data:` comment starts with the experiment's name")
                    }
                    let selection = try Selection(Array(tokens.dropFirst()))
                    try compare(quoted, selection, experiment: experiment, sources: &sources)
                    report.checked += quoted.count
                }
            } catch let problem as Problem {
                fail(problem.message)
            } catch {
                fail("\(error)")
            }
        }
        return report
    }

    // MARK: - Tables

    /// The lines of the first Markdown table after a `data-table:` comment (blank lines before it allowed).
    static func followingTable(_ rest: Substring) -> [String] {
        var lines: [String] = []
        for raw in rest.split(separator: "\n", omittingEmptySubsequences: false).dropFirst() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("|") {
                lines.append(line)
            } else if !lines.isEmpty || !line.isEmpty {
                break
            }
        }
        return lines
    }

    /// Splits a table line into its cells (without the outer pipes).
    static func cells(_ line: String) -> [String] {
        var body = Substring(line)
        if body.hasPrefix("|") { body = body.dropFirst() }
        if body.hasSuffix("|") { body = body.dropLast() }
        return body.split(separator: "|", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
    }

    static func checkTable(
        _ spec: String, table: [String], sources: inout SourceCache, line: Int, file: String, into report: inout Report
    ) throws {
        var specLines = spec.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
            !$0.isEmpty
        }
        guard !specLines.isEmpty else { throw Problem("a `data-table:` comment names the experiment first") }
        let experiment = specLines.removeFirst()
        guard !experiment.contains(" "), !experiment.isEmpty else {
            throw Problem(
                "the first line of a `data-table:` comment is the experiment's name alone; got '\(experiment)'")
        }
        var rows: [[String]?] = []
        var columns: [Int: [[String]]] = [:]
        for specLine in specLines {
            if specLine.hasPrefix("rows:") {
                rows = try specLine.dropFirst("rows:".count).split(separator: "|").map {
                    let part = $0.trimmingCharacters(in: .whitespaces)
                    return part == "-" ? nil : try tokenize(part)
                }
            } else if let colon = specLine.firstIndex(of: ":"), let column = Int(specLine[..<colon]) {
                columns[column] = try specLine[specLine.index(after: colon)...].components(separatedBy: " / ").map {
                    try tokenize($0)
                }
            } else {
                throw Problem(
                    "in a `data-table:` comment, '\(specLine)' is neither `rows: filters | filters | …` nor `N: selection`"
                )
            }
        }
        guard table.count >= 2 else { throw Problem("no Markdown table follows this `data-table:` comment") }
        let body = Array(table.dropFirst(2))
        guard body.count == rows.count else {
            throw Problem("the `rows:` list has \(rows.count) entries; the table below has \(body.count) rows")
        }
        for (r, (rowFilters, rowLine)) in zip(rows, body).enumerated() {
            guard let rowFilters else { continue }
            let cells = Self.cells(rowLine)
            for (column, parts) in columns.sorted(by: { $0.key < $1.key }) {
                guard column >= 1, column <= cells.count else {
                    throw Problem("column \(column) is not in the table (it has \(cells.count) columns)")
                }
                let cell = cells[column - 1]
                if cell == "—" || cell.isEmpty { continue }
                let pieces = try Quoted.all(cell)
                guard pieces.count == parts.count else {
                    throw Problem(
                        "row \(r + 1), column \(column): '\(cell)' holds \(pieces.count) number(s); the comment gives \(parts.count) selection(s) separated by ' / '"
                    )
                }
                // A row's `@TEXT` word stands for itself wherever a column's selection writes `@`.
                let substitute = rowFilters.first { $0.hasPrefix("@") }.map { String($0.dropFirst()) }
                let filters = rowFilters.filter { !$0.hasPrefix("@") }
                for (piece, part) in zip(pieces, parts) {
                    do {
                        let quoted = piece
                        let columnPart = part.map { token in
                            substitute.map { token.replacingOccurrences(of: "@", with: $0) } ?? token
                        }
                        let selection = try Selection(filters + columnPart)
                        try compare(quoted, selection, experiment: experiment, sources: &sources)
                        report.checked += quoted.count
                    } catch let problem as Problem {
                        report.findings.append(
                            Finding(
                                file: file, line: line, message: "row \(r + 1), column \(column): \(problem.message)"))
                    }
                }
            }
        }
    }

    // MARK: - Quoted values

    /// A number as written: its value and the half-unit of its last digit (the rounding it admits).
    struct Quoted: Equatable {
        var value: Double
        var tolerance: Double
        var text: String

        static let pattern = #"[+\-−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][+\-−]?\d+)?"#

        init(_ text: String) throws {
            self.text = text
            var plain = text.replacingOccurrences(of: "−", with: "-").replacingOccurrences(of: ",", with: "")
            if plain.hasPrefix("+") { plain.removeFirst() }
            guard let value = Double(plain) else { throw Problem("'\(text)' is not a number") }
            self.value = value
            let mantissa = plain.split(whereSeparator: { $0 == "e" || $0 == "E" })
            let exponent = mantissa.count > 1 ? Double(mantissa[1]) ?? 0 : 0
            let decimals = mantissa[0].split(separator: ".").dropFirst().first?.count ?? 0
            // A bare 0 claims exactly zero; anything else admits the rounding of its last digit.
            tolerance = value == 0 && decimals == 0 ? 0 : 0.5 * pow(10, -Double(decimals) + exponent)
        }

        /// The number, or "mean ± std", that ends `text` (markup and units after it are skipped).
        static func trailing(_ text: String) throws -> [Quoted] {
            var t = Substring(text)
            while let last = t.last, last.isWhitespace || "*%×`".contains(last) { t = t.dropLast() }
            let regex = try NSRegularExpression(pattern: "(\(pattern))(?:\\s*±\\s*(\(pattern)))?$")
            let s = String(t)
            guard let m = regex.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) else {
                throw Problem("no number right before this `data:` comment (after '\(s.suffix(24))')")
            }
            return try numbers(of: m, in: s)
        }

        /// The number, or "mean ± std", that starts `text` (a table cell; markup before it is skipped).
        static func leading(_ text: String) throws -> [Quoted] {
            var t = Substring(text)
            while let first = t.first, first.isWhitespace || "*`([≈".contains(first) { t = t.dropFirst() }
            let regex = try NSRegularExpression(pattern: "^(\(pattern))(?:\\s*±\\s*(\(pattern)))?")
            let s = String(t)
            guard let m = regex.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) else {
                throw Problem("'\(text)' does not start with a number")
            }
            return try numbers(of: m, in: s)
        }

        /// Every number of a table cell in order, "mean ± std" counted as one (words and brackets skipped).
        static func all(_ text: String) throws -> [[Quoted]] {
            let regex = try NSRegularExpression(pattern: "(?<![\\w.])(\(pattern))(?:\\s*±\\s*(\(pattern)))?")
            return try regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).map {
                try numbers(of: $0, in: text)
            }
        }

        private static func numbers(of m: NSTextCheckingResult, in s: String) throws -> [Quoted] {
            var out: [Quoted] = []
            for group in 1...2 {
                if let r = Range(m.range(at: group), in: s) { out.append(try Quoted(String(s[r]))) }
            }
            return out
        }

        func matches(_ actual: Double) -> Bool {
            abs(actual - value) <= tolerance + 1e-9 * max(abs(value), abs(actual)) + (tolerance == 0 ? 1e-12 : 0)
        }
    }

    // MARK: - Selections

    /// What to compare against: an aggregate of one results.csv column over the rows a filter selects, or a
    /// cell of table.md; optionally the difference or ratio of two such aggregates.
    struct Selection {
        enum Aggregate: String, CaseIterable {
            case mean, std, meanStd = "mean±std", min, max, count, sum, value, ratio
        }
        enum Operation: String { case minus, over, plus }

        var metric: String?
        var aggregate: Aggregate
        var filters: [(key: String, value: String)]
        var table: (title: String, row: String, column: String)?
        var operation: (Operation, metric: String?, aggregate: Aggregate?, filters: [(key: String, value: String)])?
        var scale = 1.0
        /// `experiment=NAME`: another experiment than the comment's (one column of a table from another run).
        var experiment: String?
        /// `file=NAME`: another CSV of the experiment's folder than results.csv (`curve.csv` of a run that
        /// `distill-lab attack` wrote), or another Markdown file than table.md for a table cell (`sweep.md`).
        var file: String?
        /// `by=KEY,KEY`: the rows are grouped by those columns (the cells of a table.md), each group reduced to its
        /// mean, and the aggregate taken over the group means (`max by=adapt,strategy`: the largest cell mean).
        var groupBy: [String] = []

        /// `METRIC AGG key=value … [minus|over [METRIC [AGG]] key=value …] [scale=N]`, or
        /// `table="TITLE" row="ROW" column="COLUMN" AGG`.
        init(_ tokens: [String]) throws {
            var rest = tokens[...]
            var first: [(String, String)] = [], second: [(String, String)] = []
            var words: [String] = [], secondWords: [String] = []
            var op: Operation?
            var tableKeys: [String: String] = [:]
            while let token = rest.popFirst() {
                if let o = Operation(rawValue: token) {
                    guard op == nil else { throw Problem("one `minus`, `over` or `plus` per selection") }
                    op = o
                    continue
                }
                if let eq = token.firstIndex(of: "=") {
                    let key = String(token[..<eq]), value = String(token[token.index(after: eq)...])
                    if key == "scale" {
                        guard let s = Double(value) else { throw Problem("scale=\(value) is not a number") }
                        scale = s
                    } else if key == "experiment" {
                        experiment = value
                    } else if key == "by" {
                        groupBy = value.split(separator: ",").map(String.init)
                    } else if key == "file" {
                        guard value.hasSuffix(".csv") || value.hasSuffix(".md"), !value.contains("/") else {
                            throw Problem("file=\(value): name a .csv or .md file in the experiment's folder")
                        }
                        file = value
                    } else if ["table", "row", "column"].contains(key) {
                        tableKeys[key] = value
                    } else if op == nil {
                        first.append((key, value))
                    } else {
                        second.append((key, value))
                    }
                } else if op == nil {
                    words.append(token)
                } else {
                    secondWords.append(token)
                }
            }
            func parseAggregate(_ word: String) throws -> Aggregate {
                guard let a = Aggregate(rawValue: word) else {
                    throw Problem(
                        "'\(word)' is not an aggregate; use one of \(Aggregate.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                return a
            }
            filters = first
            if !tableKeys.isEmpty {
                guard let t = tableKeys["table"], let r = tableKeys["row"], let c = tableKeys["column"] else {
                    throw Problem("a table.md cell is named by table=\"TITLE\" row=\"ROW\" column=\"COLUMN\"")
                }
                table = (t, r, c)
                guard words.count == 1 else {
                    throw Problem("a table.md cell takes one aggregate: mean, std, mean±std or ratio")
                }
                aggregate = try parseAggregate(words[0])
                return
            }
            guard words.count == 2 else {
                throw Problem("a selection is `METRIC AGGREGATE key=value …`; got '\(tokens.joined(separator: " "))'")
            }
            metric = words[0]
            aggregate = try parseAggregate(words[1])
            if let op {
                guard secondWords.count <= 2 else {
                    throw Problem("after `\(op.rawValue)`: [METRIC [AGGREGATE]] key=value …")
                }
                operation = (
                    op, secondWords.first, try secondWords.dropFirst().first.map(parseAggregate), second
                )
            } else if !secondWords.isEmpty {
                throw Problem("unexpected '\(secondWords.joined(separator: " "))'")
            }
        }
    }

    /// Compares quoted numbers (one, or mean and std) with the selection's value(s).
    static func compare(_ quoted: [Quoted], _ s: Selection, experiment named: String, sources: inout SourceCache) throws
    {
        let experiment = s.experiment ?? named
        var expected: [Double]
        if let t = s.table {
            let cell = try sources.tableCell(
                experiment, file: s.file ?? "table.md", title: t.title, row: t.row, column: t.column)
            let numbers = try Quoted.leading(cell)
            switch s.aggregate {
            case .mean: expected = [numbers[0].value]
            case .std:
                guard numbers.count == 2 else { throw Problem("table.md cell '\(cell)' has no ± std") }
                expected = [numbers[1].value]
            case .meanStd: expected = numbers.map(\.value)
            case .ratio:
                // The "(0.5×)" a queries_to_reach cell gives beside its mean.
                guard let open = cell.range(of: "("),
                    let close = cell.range(of: "×)", range: open.upperBound..<cell.endIndex)
                else { throw Problem("table.md cell '\(cell)' has no (N×) ratio") }
                expected = [try Quoted(String(cell[open.upperBound..<close.lowerBound])).value]
            default: throw Problem("a table.md cell takes mean, std, mean±std or ratio")
            }
        } else {
            // `run-s{0,1,2}` pools the selected rows of several folders (one run per seed).
            let csvs = try expandBraces(experiment).map { try sources.csv($0, file: s.file ?? "results.csv") }
            guard let metric = s.metric else { throw Problem("no metric") }
            func values(_ metric: String, _ filters: [(key: String, value: String)]) throws -> [Double?] {
                try csvs.flatMap { try $0.values(metric, where: filters, experiment: experiment) }
            }
            func reduce(_ vs: [Double?], _ a: Selection.Aggregate) throws -> [Double] {
                let xs = vs.compactMap { $0 }
                if a == .count { return [Double(xs.count)] }
                guard !xs.isEmpty else { throw Problem("the selection has rows but no values") }
                let mean = xs.reduce(0, +) / Double(xs.count)
                let std =
                    xs.count < 2
                    ? 0 : (xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(xs.count - 1)).squareRoot()
                switch a {
                case .mean: return [mean]
                case .std: return [std]
                case .meanStd: return [mean, std]
                case .min: return [xs.min()!]
                case .max: return [xs.max()!]
                case .sum: return [xs.reduce(0, +)]
                case .value:
                    guard xs.count == 1 else {
                        throw Problem("`value` needs exactly one row; the selection has \(xs.count)")
                    }
                    return xs
                case .count: return [Double(xs.count)]
                case .ratio: throw Problem("`ratio` reads the (N×) of a table.md cell; for results.csv use `over`")
                }
            }
            if s.groupBy.isEmpty {
                expected = try reduce(try values(metric, s.filters), s.aggregate)
            } else {
                guard s.operation == nil else { throw Problem("`by=` takes no `minus`, `over` or `plus`") }
                var groups: [[String]: [Double]] = [:]
                for csv in csvs {
                    for (key, value) in try csv.grouped(metric, where: s.filters, by: s.groupBy, experiment: experiment)
                    {
                        groups[key, default: []] += value.compactMap { $0 }
                    }
                }
                let means = groups.values.filter { !$0.isEmpty }.map { $0.reduce(0, +) / Double($0.count) }
                expected = try reduce(means, s.aggregate)
            }
            if let (op, metric2, aggregate2, filters2) = s.operation {
                var merged = s.filters.filter { f in !filters2.contains { $0.key == f.key } }
                merged += filters2
                let other = try reduce(try values(metric2 ?? metric, merged), aggregate2 ?? s.aggregate)
                guard other.count == 1, expected.count == 1 else {
                    throw Problem("`\(op.rawValue)` combines single values (not mean±std)")
                }
                switch op {
                case .minus: expected = [expected[0] - other[0]]
                case .over: expected = [expected[0] / other[0]]
                case .plus: expected = [expected[0] + other[0]]
                }
            }
        }
        expected = expected.map { $0 * s.scale }
        if quoted.count == 2, expected.count == 1 {
            throw Problem("'\(quoted[0].text) ± \(quoted[1].text)' is quoted with ±; use the aggregate mean±std")
        }
        for (q, e) in zip(quoted, expected) where !q.matches(e) {
            throw Problem("quotes \(q.text), but \(experiment) gives \(String(format: "%.6g", e))")
        }
    }

    // MARK: - Sources

    /// results.csv and table.md of each experiment, read once.
    struct SourceCache {
        let root: URL
        var tables: [String: CSVTable] = [:]
        var markdown: [String: String] = [:]

        func file(_ experiment: String, _ name: String) throws -> String {
            let url = root.appendingPathComponent(experiment).appendingPathComponent(name)
            guard let text = try? String(contentsOf: url, encoding: .utf8) else {
                throw Problem("\(url.path) cannot be read (is the experiment's name right, and its results committed?)")
            }
            return text
        }

        mutating func csv(_ experiment: String, file name: String = "results.csv") throws -> CSVTable {
            let key = "\(experiment)/\(name)"
            if let t = tables[key] { return t }
            let t = try CSVTable(try file(experiment, name), name: key)
            tables[key] = t
            return t
        }

        mutating func tableCell(_ experiment: String, file name: String, title: String, row: String, column: String)
            throws -> String
        {
            let key = "\(experiment)/\(name)"
            let text: String
            if let t = markdown[key] {
                text = t
            } else {
                text = try file(experiment, name)
                markdown[key] = text
            }
            // A file without `## ` headings (a sweep's tables) is one section titled by the file's name.
            let sections =
                text.contains("\n## ") ? Array(text.components(separatedBy: "\n## ").dropFirst()) : ["\(name)\n" + text]
            guard let section = sections.first(where: { $0.prefix(while: { $0 != "\n" }).contains(title) }) else {
                throw Problem("\(experiment)/\(name) has no table titled '…\(title)…'")
            }
            // The section's tables (runs of `|` lines); the first whose header has the column is read.
            var tables: [[String]] = [[]]
            for line in section.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("|") {
                    tables[tables.count - 1].append(String(line))
                } else if !(tables.last?.isEmpty ?? true) {
                    tables.append([])
                }
            }
            tables = tables.filter { !$0.isEmpty }
            guard let first = tables.first else { throw Problem("table '\(title)' has no rows") }
            guard let lines = tables.first(where: { cells($0[0]).contains(column) }) else {
                throw Problem(
                    "table '\(title)' has no column '\(column)'; it has \(cells(first[0]).joined(separator: ", "))")
            }
            let c = cells(lines[0]).firstIndex(of: column)!
            // A row is named by its first cell, or by its leading cells joined with " & " where the first cell
            // alone repeats (`row="top_k & adaptive"`).
            let labels = row.components(separatedBy: " & ")
            guard let line = lines.dropFirst(2).map(cells).first(where: { Array($0.prefix(labels.count)) == labels })
            else {
                throw Problem("table '\(title)' has no row '\(row)'")
            }
            return line[c]
        }
    }

    /// A results.csv: its header and rows (RFC 4180 quoting).
    struct CSVTable {
        var header: [String]
        var rows: [[String]]
        var name: String

        init(_ text: String, name: String) throws {
            var records: [[String]] = []
            var field = "", record: [String] = [], quoted = false
            var chars = text.makeIterator()
            var pending: Character? = nil
            while let c = pending ?? chars.next() {
                pending = nil
                if quoted {
                    if c == "\"" {
                        // A doubled quote is a quote; any other character ends the quoted part.
                        let next = chars.next()
                        if next == "\"" {
                            field.append("\"")
                        } else {
                            quoted = false
                            pending = next
                        }
                    } else {
                        field.append(c)
                    }
                } else if c == "\"" {
                    quoted = true
                } else if c == "," {
                    record.append(field)
                    field = ""
                } else if c == "\n" || c == "\r\n" {
                    record.append(field)
                    records.append(record)
                    field = ""
                    record = []
                } else {
                    field.append(c)
                }
            }
            if !field.isEmpty || !record.isEmpty {
                record.append(field)
                records.append(record)
            }
            guard let header = records.first else { throw Problem("\(name) is empty") }
            self.header = header
            rows = Array(records.dropFirst())
            self.name = name
        }

        /// The column a key names: its exact name, or the one column whose dotted name ends in `.key`.
        func column(_ key: String) throws -> Int {
            if let i = header.firstIndex(of: key) { return i }
            let matches = header.indices.filter { header[$0].hasSuffix("." + key) }
            guard matches.count == 1 else {
                throw Problem(
                    matches.isEmpty
                        ? "\(name) has no column '\(key)'"
                        : "'\(key)' names several columns of \(name): \(matches.map { header[$0] }.joined(separator: ", "))"
                )
            }
            return matches[0]
        }

        func values(_ metric: String, where filters: [(key: String, value: String)], experiment: String) throws
            -> [Double?]
        {
            let m = try column(metric)
            return try selected(filters).map { m < $0.count ? Double($0[m]) : nil }
        }

        /// The selected values, grouped by the cells of the `by` columns.
        func grouped(
            _ metric: String, where filters: [(key: String, value: String)], by keys: [String], experiment: String
        )
            throws -> [[String]: [Double?]]
        {
            let m = try column(metric)
            let columns = try keys.map { try column($0) }
            var out: [[String]: [Double?]] = [:]
            for row in try selected(filters) {
                let key = columns.map { $0 < row.count ? row[$0] : "" }
                out[key, default: []].append(m < row.count ? Double(row[m]) : nil)
            }
            return out
        }

        /// The rows whose columns hold the filters' values (as text, or as numbers when both are numbers).
        func selected(_ filters: [(key: String, value: String)]) throws -> [[String]] {
            let keyed = try filters.map { (column: try column($0.key), value: $0.value) }
            let selected = rows.filter { row in
                keyed.allSatisfy { f in
                    guard f.column < row.count else { return false }
                    let cell = row[f.column]
                    if cell == f.value { return true }
                    if let a = Double(cell), let b = Double(f.value) { return a == b }
                    return false
                }
            }
            guard !selected.isEmpty else {
                throw Problem(
                    "no row of \(name) has \(filters.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
            }
            return selected
        }
    }

    /// `a{x,y}b` → `axb`, `ayb` (one brace group); any other name stands for itself.
    static func expandBraces(_ name: String) throws -> [String] {
        guard let open = name.firstIndex(of: "{") else { return [name] }
        guard let close = name[open...].firstIndex(of: "}") else { throw Problem("an unclosed { in '\(name)'") }
        let head = name[..<open], tail = name[name.index(after: close)...]
        let options = name[name.index(after: open)..<close].split(separator: ",", omittingEmptySubsequences: false)
        guard options.count > 1, !tail.contains("{") else {
            throw Problem("'\(name)': one brace group of two or more names, such as run-s{0,1,2}")
        }
        return options.map { "\(head)\($0)\(tail)" }
    }

    /// Splits a selection into words; double quotes keep spaces (`defence="antidistillation λ=2"`).
    static func tokenize(_ text: String) throws -> [String] {
        var tokens: [String] = [], current = "", quoted = false, started = false
        for c in text {
            if c == "\"" {
                quoted.toggle()
                started = true
            } else if c.isWhitespace, !quoted {
                if started { tokens.append(current) }
                current = ""
                started = false
            } else {
                current.append(c)
                started = true
            }
        }
        guard !quoted else { throw Problem("an unclosed \" in '\(text)'") }
        if started { tokens.append(current) }
        return tokens
    }

    struct Problem: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }
}
