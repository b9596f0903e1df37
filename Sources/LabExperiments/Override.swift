// Override: `distill-lab run FILE --set key.path=value` — one value of an experiment file replaced before the
// file is planned, so it is checked by the same closed schema, and an error about it names the `--set`.
// Not a second way of writing experiments: an overridden run writes beside, never over, the file's results.
import Foundation
import LabCore
import Yams

/// One `--set key.path=value`: a dotted key path (list indices as numbers; under `grid.` the rest of the path
/// is one axis name, as the grid writes it) and a YAML value.
public struct Override: Equatable, CustomStringConvertible {
    /// As the user wrote it, e.g. "teacher.model.width=32".
    public let text: String
    /// The key path in the file's tree, e.g. ["teacher", "model", "width"] or ["grid", "attack.budget"].
    public let path: [String]
    let value: Node

    public var description: String { text }
    public var key: String { path.joined(separator: ".") }

    public static func == (a: Override, b: Override) -> Bool { a.text == b.text }

    /// Parses "key.path=value"; the value is YAML (`32`, `[0, 1]`, `{k: 5}`, `label_only`).
    public init(parsing text: String) throws {
        func fail(_ message: String, fix: String) -> ExperimentError {
            ExperimentError(
                file: "the command line", line: 1, column: 1, key: "", message: message, fix: fix, override: text)
        }
        guard let equals = text.firstIndex(of: "=") else {
            throw fail("has no '='", fix: "write --set key.path=value, e.g. --set teacher.model.width=32")
        }
        let key = String(text[..<equals]).trimmingCharacters(in: .whitespaces)
        let valueText = String(text[text.index(after: equals)...])
        var components = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !key.isEmpty, !components.contains(where: \.isEmpty) else {
            throw fail("the key '\(key)' has an empty component", fix: "write a dotted path such as attack.budget")
        }
        if components.first == "grid", components.count > 1 {
            components = ["grid", components.dropFirst().joined(separator: ".")]
        }
        guard !valueText.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw fail("has no value after '='", fix: "write a YAML value, e.g. --set \(key)=32 or --set \(key)=[0, 1]")
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: valueText)
        } catch {
            throw fail(
                "the value '\(valueText)' is not YAML (\(error))",
                fix: "quote strings and bracket lists: [a, b], {k: 5}")
        }
        guard let node else { throw fail("the value '\(valueText)' is empty", fix: "write a YAML value") }
        var budget = YAMLSource.maximumExpandedNodes
        guard YAMLSource.withinBudget(node, &budget) else {
            throw fail("the value expands to too many values", fix: "write a smaller value")
        }
        self.text = text
        self.path = components
        self.value = node
    }

    /// Whether an error about `key` (dotted) is about this override: one path is a prefix of the other.
    func concerns(_ key: String) -> Bool {
        guard !key.isEmpty else { return false }
        let other = key.split(separator: ".").map(String.init)
        let mine = path.flatMap { $0.split(separator: ".").map(String.init) }
        let n = min(other.count, mine.count)
        return n > 0 && Array(other.prefix(n)) == Array(mine.prefix(n))
    }

    /// `source` with every override applied in order.
    static func apply(_ overrides: [Override], to source: YAMLSource) throws -> YAMLSource {
        var root = source.root
        for o in overrides {
            do {
                root = try NodePath.replacing(o.path[...], in: root, with: o.value, keyMark: nil)
            } catch let blocked as NodePath.Blocked {
                throw ExperimentError(
                    file: source.file, line: 1, column: 1, key: o.key,
                    message:
                        "cannot set '\(o.path.prefix(blocked.depth + 1).joined(separator: "."))': \(blocked.reason)",
                    fix: "check the key path against the file", override: o.text)
            }
        }
        return YAMLSource(file: source.file, text: source.text, root: root)
    }

    /// An error of the overridden file, pointed at the `--set` it concerns (its line in the file means nothing).
    static func attribute(_ error: ExperimentError, to overrides: [Override]) -> ExperimentError {
        guard error.override == nil, let o = overrides.last(where: { $0.concerns(error.key) }) else { return error }
        var e = error
        e.override = o.text
        return e
    }

    /// Refuses an override of a key the grid sweeps: the grid would silently replace it in every cell.
    static func checkAgainstGrid(_ overrides: [Override], axes: [GridAxis], file: String) throws {
        for o in overrides where o.path.first != "grid" {
            let mine = o.path.flatMap { $0.split(separator: ".").map(String.init) }
            for axis in axes where !axis.isSeed {
                let n = min(axis.path.count, mine.count)
                guard n > 0, Array(axis.path.prefix(n)) == Array(mine.prefix(n)) else { continue }
                throw ExperimentError(
                    file: file, line: 1, column: 1, key: o.key,
                    message: "the grid sweeps '\(axis.name)', so every cell would replace this value",
                    fix: "override the axis instead: --set 'grid.\(axis.name)=[...]'", override: o.text)
            }
        }
    }

    /// A short stable name for a set of overrides: the first 12 hex digits of the SHA-256 of their texts.
    public static func digest(_ overrides: [Override]) -> String {
        String(SHA256.hex(Data(overrides.map(\.text).joined(separator: "\n").utf8)).prefix(12))
    }
}
