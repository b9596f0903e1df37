// JSONValue: a JSON tree with ordered objects and one fixed spelling of numbers (integers as integers, other
// doubles in Swift's shortest round-trip form, non-finite as null) — so results.json is byte-identical
// whenever its numbers are, and keeps the order of the kind's outputs. Not a parser.
import Foundation
import LabCore

public indirect enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool { a.rendered(indent: nil) == b.rendered(indent: nil) }

    public static func number(_ v: Double?) -> JSONValue { v.map { .number($0) } ?? .null }

    /// Pretty-printed with two-space indentation and a final newline.
    public var pretty: String { rendered(indent: 0) + "\n" }

    func rendered(indent: Int?) -> String {
        let pad = indent.map { String(repeating: "  ", count: $0 + 1) } ?? ""
        let closePad = indent.map { String(repeating: "  ", count: $0) } ?? ""
        let newline = indent == nil ? "" : "\n"
        let next = indent.map { $0 + 1 }
        switch self {
        case .null: return "null"
        case let .bool(b): return b ? "true" : "false"
        case let .number(d): return Self.spell(d)
        case let .string(s): return Self.quote(s)
        case let .array(items):
            if items.isEmpty { return "[]" }
            // Arrays of scalars stay on one line: labels and header rows read better that way.
            if items.allSatisfy({
                if case .array = $0 { return false }
                if case .object = $0 { return false }
                return true
            }) {
                return "[" + items.map { $0.rendered(indent: nil) }.joined(separator: ", ") + "]"
            }
            return "[" + newline + items.map { pad + $0.rendered(indent: next) }.joined(separator: "," + newline)
                + newline + closePad + "]"
        case let .object(pairs):
            if pairs.isEmpty { return "{}" }
            let sep = indent == nil ? ":" : ": "
            return "{" + newline
                + pairs.map { pad + Self.quote($0.0) + sep + $0.1.rendered(indent: next) }.joined(
                    separator: "," + newline) + newline + closePad + "}"
        }
    }

    /// Integers below 2⁵³ without a decimal point; other finite doubles in shortest round-trip form; NaN and
    /// infinities as null (JSON has no spelling for them).
    static func spell(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        if d == d.rounded(), abs(d) < 9_007_199_254_740_992 { return String(Int64(d)) }
        return "\(d)"
    }

    static func quote(_ s: String) -> String { JSONText.quote(s) }
}
