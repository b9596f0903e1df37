// Grid: the `grid:` section and `seeds:` as axes, and their expansion into cells in one deterministic order
// (axes in file order, the last varying fastest, seeds innermost). Each cell's document is the file with the
// axis values substituted at their key paths — the substituted nodes keep their own lines, so an error in a
// swept value points at the value in the grid. Not validation of what the values mean (the kinds do that).
import Foundation
import LabCore
import Yams

/// One axis of the grid: the key path it sweeps (or the seeds) and its values with their labels.
public struct GridAxis {
    public static let seedName = "seed"

    /// The dotted key path ("teacher.model.width"), or "seed".
    public var name: String
    public var path: [String]
    /// What tables and plots print for each value: the value itself, or the label written in the file.
    public var labels: [String]
    /// The YAML values (empty for the seed axis).
    var values: [Node]
    /// Where the axis key is written, for errors about the path itself.
    var keyMark: Mark?
    /// The axis of a kind's anytime curves: its labels come from the results, not the file.
    public var isCurve = false

    public var isSeed: Bool { name == Self.seedName }
}

enum Grid {
    /// Reads `grid:` (a mapping of key path → list of values, or → mapping of label → value).
    static func axes(from node: Node?, readable: Set<String>, file: String) throws -> [GridAxis] {
        guard let node else { return [] }
        guard case let .mapping(m) = node else {
            throw ExperimentError(
                file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1, key: "grid",
                message: "expected a mapping from key paths to lists of values, found \(NodeDecoder.shape(of: node))",
                fix: "e.g. `grid: {teacher.model.width: [32, 64]}`")
        }
        var axes: [GridAxis] = []
        for (keyNode, valueNode) in m {
            let position = Position(keyNode.mark)
            func fail(_ message: String, fix: String? = nil, at mark: Mark? = nil) -> ExperimentError {
                let p = mark.map { Position($0) } ?? position
                return ExperimentError(
                    file: file, line: p.line, column: p.column, key: "grid.\(NodePath.keyString(keyNode) ?? "?")",
                    message: message, fix: fix)
            }
            guard let name = NodePath.keyString(keyNode), !name.isEmpty else {
                throw fail("an axis is named by a key path such as teacher.model.width")
            }
            let path = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard !path.contains(where: \.isEmpty) else {
                throw fail("'\(name)' has an empty component", fix: "write key paths as a.b.c")
            }
            guard let first = path.first, readable.contains(first) else {
                let reason =
                    ["seeds", "seed"].contains(path[0])
                    ? "seeds are their own axis" : "the grid sweeps values inside the sections this kind reads"
                throw fail(
                    "'\(path[0])' cannot be swept: \(reason)",
                    fix: ["seeds", "seed"].contains(path[0])
                        ? "list them under `seeds:`"
                        : EditDistance.hint(for: path[0], among: readable.sorted(), noun: "sections"))
            }
            if let clash = axes.first(where: { $0.path.starts(with: path) || path.starts(with: $0.path) }) {
                throw fail("overlaps the axis '\(clash.name)'; one value would be set twice", fix: "sweep one of them")
            }
            var labels: [String] = []
            var values: [Node] = []
            switch valueNode {
            case let .sequence(s):
                for v in s {
                    labels.append(label(of: v))
                    values.append(v)
                }
            case let .mapping(labelled):
                for (l, v) in labelled {
                    guard let text = NodePath.keyString(l) else {
                        throw fail("a label must be a plain word", at: l.mark)
                    }
                    labels.append(text)
                    values.append(v)
                }
            default:
                throw fail(
                    "expected a list of values (or a mapping of label → value), found \(NodeDecoder.shape(of: valueNode))",
                    fix: "write `\(name): [a, b]`; a single value belongs in its section, not the grid",
                    at: valueNode.mark)
            }
            guard !values.isEmpty else {
                throw fail("has no values", fix: "list at least one value", at: valueNode.mark)
            }
            var seen = Set<String>()
            for (i, l) in labels.enumerated() where !seen.insert(l).inserted {
                throw fail(
                    "the label '\(l)' appears twice; tables could not tell the cells apart",
                    fix: "give each value a distinct label (write the axis as a mapping label → value)",
                    at: values[i].mark)
            }
            axes.append(GridAxis(name: name, path: path, labels: labels, values: values, keyMark: keyNode.mark))
        }
        return axes
    }

    /// A compact one-line rendering of a value for labels: scalars as written, lists and mappings in flow style.
    static func label(of node: Node) -> String {
        switch node {
        case let .scalar(s): return s.string
        case let .sequence(s): return "[" + s.map(label).joined(separator: ", ") + "]"
        case let .mapping(m):
            return "{" + m.map { "\(label(of: $0.key)): \(label(of: $0.value))" }.joined(separator: ", ") + "}"
        case .alias: return "*alias"
        }
    }

    /// Every combination of labels, as index vectors, the last axis fastest.
    static func combinations(_ sizes: [Int]) -> [[Int]] {
        var out: [[Int]] = [[]]
        for size in sizes {
            out = out.flatMap { prefix in (0..<size).map { prefix + [$0] } }
        }
        return out
    }

    /// The cell document for one combination of the path axes.
    static func document(root: Node, axes: [GridAxis], choice: [Int], file: String) throws -> Node {
        var doc = root
        for (axis, i) in zip(axes, choice) where !axis.isSeed {
            do {
                doc = try NodePath.replacing(axis.path[...], in: doc, with: axis.values[i], keyMark: axis.keyMark)
            } catch let blocked as NodePath.Blocked {
                let p = Position(axis.keyMark)
                throw ExperimentError(
                    file: file, line: p.line, column: p.column, key: "grid.\(axis.name)",
                    message:
                        "cannot set '\(axis.path.prefix(blocked.depth + 1).joined(separator: "."))': \(blocked.reason)")
            }
        }
        return doc
    }
}
