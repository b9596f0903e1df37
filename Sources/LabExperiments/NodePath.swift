// NodePath: walking a Yams `Node` tree by key path — to find the line of the value an error is about, and to
// build a grid cell's tree by substituting one value at a path. Not a query language: keys and list indices only.
import Yams

/// A 1-based line and column; Yams's `Mark` cannot be made outside Yams, and some errors have none.
struct Position: Equatable {
    var line: Int
    var column: Int

    init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// The mark's position, or the top of the file.
    init(_ mark: Mark?) {
        line = mark?.line ?? 1
        column = mark?.column ?? 1
    }
}

enum NodePath {
    /// The key string of a mapping key node (nil for a non-scalar key, which the schema never accepts).
    static func keyString(_ key: Node) -> String? {
        if case let .scalar(s) = key { return s.string }
        return nil
    }

    /// The value at `path` below `node`, with the mark of the key that names it: as deep as the path
    /// reaches. `matched` says how many components were found.
    static func find(_ path: [String], in node: Node) -> (node: Node, keyMark: Mark?, matched: Int) {
        var current = node
        var keyMark: Mark?
        for (depth, component) in path.enumerated() {
            switch current {
            case let .mapping(m):
                guard let pair = m.first(where: { keyString($0.key) == component }) else {
                    return (current, keyMark, depth)
                }
                keyMark = pair.key.mark
                current = pair.value
            case let .sequence(s):
                guard let i = Int(component), i >= 0, i < s.count else { return (current, keyMark, depth) }
                keyMark = s[i].mark
                current = s[i]
            default:
                return (current, keyMark, depth)
            }
        }
        return (current, keyMark, path.count)
    }

    /// The best mark for an error about `path`: the key's (for `atKey`) or the value's, else the nearest
    /// enclosing node's, else the top of the file.
    static func position(for path: [String], in root: Node, atKey: Bool) -> Position {
        let found = find(path, in: root)
        if found.matched == path.count {
            if atKey, let k = found.keyMark { return Position(k) }
            if let m = found.node.mark { return Position(m) }
        }
        return Position(found.node.mark ?? found.keyMark)
    }

    /// Why a substitution at a path is impossible.
    struct Blocked: Error {
        var depth: Int
        var reason: String
    }

    /// `node` with the value at `path` replaced by `value` (intermediate mappings created as needed, their
    /// keys marked at `keyMark`). Throws `Blocked` when the path runs through a scalar or past a list's end.
    static func replacing(_ path: ArraySlice<String>, in node: Node?, with value: Node, keyMark: Mark?, depth: Int = 0)
        throws -> Node
    {
        guard let component = path.first else { return value }
        let rest = path.dropFirst()
        switch node {
        case nil:
            let key = Node.scalar(.init(component, .implicit, .plain, keyMark))
            return .mapping(
                .init(
                    [(key, try replacing(rest, in: nil, with: value, keyMark: keyMark, depth: depth + 1))], .implicit,
                    .block, keyMark))
        case var .mapping(m)?:
            if let i = m.firstIndex(where: { keyString($0.key) == component }) {
                let pair = m[i]
                m[i] = (pair.key, try replacing(rest, in: pair.value, with: value, keyMark: keyMark, depth: depth + 1))
            } else {
                let key = Node.scalar(.init(component, .implicit, .plain, keyMark))
                let pairs =
                    m.map { ($0.key, $0.value) } + [
                        (key, try replacing(rest, in: nil, with: value, keyMark: keyMark, depth: depth + 1))
                    ]
                m = Node.Mapping(pairs, m.tag, m.style, m.mark)
            }
            return .mapping(m)
        case var .sequence(s)?:
            guard let i = Int(component), i >= 0, i < s.count else {
                throw Blocked(
                    depth: depth,
                    reason: "'\(component)' is not an index of this list of \(s.count) (0...\(max(0, s.count - 1)))")
            }
            s[i] = try replacing(rest, in: s[i], with: value, keyMark: keyMark, depth: depth + 1)
            return .sequence(s)
        case let other?:
            throw Blocked(
                depth: depth,
                reason: "the value there is \(NodeDecoder.shape(of: other)), which has no key '\(component)'")
        }
    }
}
