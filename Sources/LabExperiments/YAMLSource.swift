// YAMLSource: an experiment file read once and composed by Yams into a `Node` tree whose every node keeps
// its line and column — the only parse; every later error is located by walking that tree. Yams and libyaml
// errors (bad indentation, tabs, duplicated keys, invalid UTF-8) become located `ExperimentError`s here.
// Not a schema: what the keys mean is ExperimentSpec's business.
import Foundation
import LabCore
import Yams

public struct YAMLSource {
    /// The path as the user gave it, used in every message.
    public let file: String
    public let text: String
    public let root: Node

    /// Reads and composes `path`; throws a located `ExperimentError` for anything that is not one YAML mapping.
    public static func load(path: String) throws -> YAMLSource {
        let data: Data
        do {
            data = try FileRead.data(
                path, what: "the experiment file", fix: "check the path; experiment files live in Experiments/")
        } catch let error as LabError {
            throw ExperimentError(
                file: path, line: 1, column: 1, key: "",
                message: "cannot read the file (\(error.description.replacingOccurrences(of: path + ": ", with: "")))",
                fix: "check the path; experiment files live in Experiments/")
        }
        return try parse(data: data, file: path)
    }

    /// Composes `data` (the bytes of `file`).
    public static func parse(data: Data, file: String) throws -> YAMLSource {
        guard let text = String(data: data, encoding: .utf8) else {
            let (line, column) = invalidUTF8Position(data)
            throw ExperimentError(
                file: file, line: line, column: column, key: "", message: "the file is not valid UTF-8",
                fix: "save the file as UTF-8 text")
        }
        // libyaml stops at a NUL byte without saying so; refuse it rather than read half a file.
        if let nul = text.unicodeScalars.firstIndex(of: "\0") {
            let (line, column) = position(of: nul, in: text)
            throw ExperimentError(
                file: file, line: line, column: column, key: "", message: "the file contains a NUL byte",
                fix: "remove it; experiment files are plain text")
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw located(error, file: file, text: text)
        } catch {
            throw ExperimentError(file: file, line: 1, column: 1, key: "", message: "cannot parse the YAML (\(error))")
        }
        guard let root = node else {
            throw ExperimentError(
                file: file, line: 1, column: 1, key: "", message: "the file holds no YAML document",
                fix: "start from the annotated example in Experiments/README.md")
        }
        // Aliases let a short file name exponentially many values (a "billion laughs"); everything after
        // composing walks the expanded tree, so it is measured first, stopping at the limit.
        var budget = maximumExpandedNodes
        guard withinBudget(root, &budget) else {
            throw ExperimentError(
                file: file, line: 1, column: 1, key: "",
                message:
                    "the document expands to more than \(maximumExpandedNodes) values once its aliases (*name) are substituted",
                fix: "write the values out instead of nesting aliases of aliases; an experiment file needs far fewer")
        }
        guard case .mapping = root else {
            let mark = root.mark
            throw ExperimentError(
                file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, key: "",
                message:
                    "an experiment file is a mapping of keys (experiment, kind, teacher, ...) to values; this document is a \(NodeDecoder.shape(of: root))",
                fix: "start from the annotated example in Experiments/README.md")
        }
        return YAMLSource(file: file, text: text, root: root)
    }

    /// The most values (scalars, lists, mappings, counted after alias substitution) a file may expand to.
    static let maximumExpandedNodes = 200_000

    /// Counts `node`'s expanded values against `budget`; false as soon as it runs out.
    static func withinBudget(_ node: Node, _ budget: inout Int) -> Bool {
        budget -= 1
        guard budget >= 0 else { return false }
        switch node {
        case .scalar, .alias: return true
        case let .sequence(s):
            for child in s where !withinBudget(child, &budget) { return false }
            return true
        case let .mapping(m):
            for (k, v) in m where !withinBudget(k, &budget) || !withinBudget(v, &budget) { return false }
            return true
        }
    }

    static func located(_ error: YamlError, file: String, text: String) -> ExperimentError {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
            let .composer(context, problem, mark, _):
            let while_ = context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? ""
            let (line, column, atEnd) = clamp(line: mark.line, column: mark.column, in: text)
            return ExperimentError(
                file: file, line: line, column: column, key: "",
                message: "YAML syntax: \(problem)\(atEnd ? " at the end of the file" : "")\(while_)",
                fix:
                    "check the indentation (spaces, not tabs) and that every `key: value` and `- item` lines up with its siblings"
            )
        case let .reader(problem, offset, _, _):
            var (line, column) = (1, 1)
            if let offset, offset >= 0 {
                (line, column) = position(
                    of: text.unicodeScalars.index(
                        text.unicodeScalars.startIndex, offsetBy: min(offset, text.unicodeScalars.count)), in: text)
            }
            return ExperimentError(
                file: file, line: line, column: column, key: "", message: "cannot read the text: \(problem)",
                fix: "remove control characters")
        case let .duplicatedKeysInMapping(duplicates, context):
            let key = duplicates.first ?? "?"
            // Yams reports the first occurrence; the line to fix is usually the later one.
            let (line, column) =
                laterOccurrence(of: key, after: context.mark, in: text) ?? (context.mark.line, context.mark.column)
            return ExperimentError(
                file: file, line: line, column: column, key: key,
                message:
                    "key appears twice in the same mapping (first at line \(context.mark.line), column \(context.mark.column))",
                fix: "keep one of them; to sweep several values use a list under `grid:`")
        default:
            return ExperimentError(file: file, line: 1, column: 1, key: "", message: "cannot parse the YAML (\(error))")
        }
    }

    /// libyaml places problems found at the end of input just past the last line; they are reported at the end
    /// of the last line that has text, so the position is one an editor can show.
    static func clamp(line: Int, column: Int, in text: String) -> (Int, Int, Bool) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard line > lines.count || (line == lines.count && column > lines[line - 1].unicodeScalars.count + 1) else {
            return (line, column, false)
        }
        guard let last = lines.lastIndex(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) else {
            return (1, 1, true)
        }
        return (last + 1, lines[last].unicodeScalars.count + 1, true)
    }

    /// The line and column of the first later line that starts, at the same column, with `key:`.
    static func laterOccurrence(of key: String, after mark: Mark, in text: String) -> (Int, Int)? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard mark.line >= 1, mark.line <= lines.count else { return nil }
        for (i, line) in lines.enumerated().dropFirst(mark.line) {
            let scalars = Array(line.unicodeScalars)
            let start = mark.column - 1
            guard start >= 0, start < scalars.count else { continue }
            let rest = String(String.UnicodeScalarView(scalars[start...]))
            if rest.hasPrefix(key + ":") || rest.hasPrefix("\"\(key)\":") || rest.hasPrefix("- " + key + ":") {
                return (i + 1, mark.column)
            }
        }
        return nil
    }

    /// 1-based line and column (in Unicode scalars) of `index`.
    static func position(of index: String.Index, in text: String) -> (Int, Int) {
        var line = 1, column = 1
        for scalar in text.unicodeScalars[..<index] {
            if scalar == "\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return (line, column)
    }

    /// Line and column of the first byte that is not part of valid UTF-8 (columns count the valid scalars before it).
    static func invalidUTF8Position(_ data: Data) -> (Int, Int) {
        let bytes = [UInt8](data)
        var line = 1, column = 1, i = 0
        while i < bytes.count {
            let b = bytes[i]
            let length: Int
            switch b {
            case 0x00...0x7F: length = 1
            case 0xC2...0xDF: length = 2
            case 0xE0...0xEF: length = 3
            case 0xF0...0xF4: length = 4
            default: return (line, column)
            }
            guard i + length <= bytes.count else { return (line, column) }
            if length > 1 {
                let prefix = Data(bytes[i..<(i + length)])
                if String(data: prefix, encoding: .utf8) == nil { return (line, column) }
            }
            if b == 0x0A {
                line += 1
                column = 1
            } else {
                column += 1
            }
            i += length
        }
        return (line, column)
    }
}
