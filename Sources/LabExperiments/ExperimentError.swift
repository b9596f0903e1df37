// ExperimentError: the one error a user sees for a bad experiment file — where (file:line:column), which key,
// what is wrong and how to fix it — and `SpecIssue`, the unlocated form validation code throws before the
// validator finds the line. Not for programming errors, which stay preconditions.
import Foundation
import Yams

/// A problem in an experiment file, located. `description` is the one or two lines the CLI prints.
public struct ExperimentError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    /// 1-based line and column (columns count Unicode scalars, as libyaml does).
    public var line: Int
    public var column: Int
    /// The dotted key path from the top of the file, e.g. "teacher.model.heads"; empty for the file itself.
    public var key: String
    public var message: String
    /// What to write instead, when there is a specific answer.
    public var fix: String?
    /// The `--set key=value` the problem is about, when a command-line override put the value there (the
    /// file's line and column then mean nothing, and are not printed).
    public var override: String?

    public init(
        file: String, line: Int, column: Int, key: String, message: String, fix: String? = nil, override: String? = nil
    ) {
        self.file = file
        self.line = max(1, line)
        self.column = max(1, column)
        self.key = key
        self.message = message
        self.fix = fix
        self.override = override
    }

    public var description: String {
        let place = override.map { "--set \($0) (on \(file)): error: " } ?? "\(file):\(line):\(column): error: "
        let what = key.isEmpty ? message : "'\(key)': \(message)"
        return place + what + (fix.map { "\n  fix: \($0)" } ?? "")
    }
}

extension ExperimentError: LocalizedError {
    public var errorDescription: String? { description }
}

/// A problem found by validation code that knows the key path but not the line: the validator locates it
/// in the cell's YAML tree (which keeps the line of every value, including values a grid substituted).
public struct SpecIssue: Error, CustomStringConvertible, Sendable {
    /// Path from the top of the file: keys, and decimal indices into lists.
    public var path: [String]
    public var message: String
    public var fix: String?
    /// Point at the key itself rather than its value (for unknown or misplaced keys).
    public var atKey: Bool
    /// Other keys the problem involves, pointed at when `path` is not written in the file (its default
    /// is in play): e.g. a default completion length that no longer fits a shorter context.
    public var related: [[String]]

    public init(_ path: [String], _ message: String, fix: String? = nil, atKey: Bool = false, related: [[String]] = [])
    {
        self.path = path
        self.message = message
        self.fix = fix
        self.atKey = atKey
        self.related = related
    }

    /// Locates the issue in `doc`: at `path` when it is written, else at the first written related key,
    /// else at the nearest written ancestor — saying that the default is in play.
    func located(in doc: Node, file: String) -> ExperimentError {
        let key = path.joined(separator: ".")
        if path.isEmpty || NodePath.find(path, in: doc).matched == path.count {
            let p = NodePath.position(for: path, in: doc, atKey: atKey)
            return ExperimentError(file: file, line: p.line, column: p.column, key: key, message: message, fix: fix)
        }
        let target = related.first { NodePath.find($0, in: doc).matched == $0.count } ?? path
        let p = NodePath.position(for: target, in: doc, atKey: false)
        let via = target == path ? "" : " (pointing at '\(target.joined(separator: "."))', which it depends on)"
        return ExperimentError(
            file: file, line: p.line, column: p.column, key: key,
            message: message + "; '\(key)' is not written, so its default is in play" + via,
            fix: fix ?? "write `\(path.last ?? key): ...` with a value in range")
    }

    /// "a.b.c" split into components.
    public init(key dotted: String, _ message: String, fix: String? = nil, atKey: Bool = false) {
        self.init(dotted.split(separator: ".").map(String.init), message, fix: fix, atKey: atKey)
    }

    public var description: String {
        "'\(path.joined(separator: "."))': \(message)" + (fix.map { " (fix: \($0))" } ?? "")
    }
}

extension KeyedDecodingContainer {
    /// The value of a closed choice at `key`, or nil when the key is absent; a value outside the choice is a
    /// `SpecIssue` at `path` listing what is allowed.
    func decodeChoice<E: RawRepresentable & CaseIterable>(
        _: E.Type, forKey key: Key, at path: [String]
    ) throws -> E? where E.RawValue == String {
        guard let raw = try decodeIfPresent(String.self, forKey: key) else { return nil }
        guard let value = E(rawValue: raw) else {
            throw SpecIssue(path, "is '\(raw)'; allowed: \(E.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }
}
