// CanonicalJSON: one byte-exact JSON spelling of an Encodable value (sorted keys, no whitespace), the input of
// every content hash — so the same resolved spec hashes the same on every run and machine. Not the results
// writer, which formats for people (JSONValue).
import Foundation
import Yams

public enum CanonicalJSON {
    public static func data<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(value)
    }

    public static func string<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try data(value), as: UTF8.self)
    }

    /// Canonical JSON as a block-style YAML tree: keys sorted as in the hash's input, so the YAML is the same
    /// in every process (a Swift dictionary's own order is not). Text stays quoted unless it is a plain word
    /// that no YAML reader would take for a number, a boolean or null.
    public static func yamlNode(_ json: String) throws -> Node {
        guard let node = try Yams.compose(yaml: json) else { return Node("") }
        return blockStyle(node)
    }

    static func blockStyle(_ node: Node) -> Node {
        switch node {
        case var .scalar(s):
            if s.style == .doubleQuoted, isPlainWord(s.string) { s.style = .plain }
            return .scalar(s)
        case let .mapping(m):
            return .mapping(Node.Mapping(m.map { (blockStyle($0.key), blockStyle($0.value)) }, m.tag, .block, m.mark))
        case let .sequence(q):
            let flat = q.allSatisfy {
                if case .scalar = $0 { return true }
                return false
            }
            return .sequence(Node.Sequence(q.map(blockStyle), q.tag, flat && !q.isEmpty ? .flow : .block, q.mark))
        case .alias:
            return node
        }
    }

    static func isPlainWord(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, CharacterSet.letters.contains(first) || first == "_" else {
            return false
        }
        guard
            s.unicodeScalars.allSatisfy({
                CharacterSet.alphanumerics.contains($0) || "_-.()=, ".unicodeScalars.contains($0)
            }), !s.hasSuffix(" ")
        else { return false }
        return !["true", "false", "yes", "no", "on", "off", "null", "y", "n"].contains(s.lowercased())
    }
}
