// ScalarDecoding: how a YAML scalar becomes a Bool, an integer, a number or a string — one set of rules for
// every config type, with a located error naming the expected type and an example. Not YAML 1.1's whole
// zoo: no octal, no sexagesimal, no dates; quoted text is always text.
import Foundation
import Yams

/// Scalar reading rules, shared by the decoder and by messages.
enum ScalarText {
    static func isPlain(_ s: Node.Scalar) -> Bool { s.style == .plain || s.style == .any }

    static func isNull(_ s: Node.Scalar) -> Bool {
        isPlain(s) && ["", "~", "null", "Null", "NULL"].contains(s.string)
    }

    static func bool(_ s: Node.Scalar) -> Bool? {
        guard isPlain(s) else { return nil }
        switch s.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: return nil
        }
    }

    /// A number written plainly: digits with optional sign, point, exponent and `_` separators, or .inf/.nan.
    static func double(_ s: Node.Scalar) -> Double? {
        guard isPlain(s) else { return nil }
        let t = s.string.replacingOccurrences(of: "_", with: "")
        switch t.lowercased() {
        case ".inf", "+.inf": return .infinity
        case "-.inf": return -.infinity
        case ".nan": return .nan
        default: break
        }
        guard !t.isEmpty, t.unicodeScalars.allSatisfy({ "0123456789+-.eE".unicodeScalars.contains($0) }),
            t.unicodeScalars.contains(where: { CharacterSet.decimalDigits.contains($0) })
        else { return nil }
        return Double(t)
    }

    /// A whole number: plain digits (with `_`), 0x hex, or a number with an integral value such as 2e5.
    static func integer<I: FixedWidthInteger>(_ s: Node.Scalar, as: I.Type) -> I? {
        guard isPlain(s) else { return nil }
        var t = s.string.replacingOccurrences(of: "_", with: "")
        if t.hasPrefix("+") { t.removeFirst() }
        if let v = I(t) { return v }
        if t.lowercased().hasPrefix("0x") { return I(t.dropFirst(2), radix: 16) }
        if let d = double(s), d.isFinite, d == d.rounded(), abs(d) < 9.2e18 { return I(exactly: Int64(d)) }
        return nil
    }
}

/// A type read straight from one scalar node.
protocol ScalarDecodable {
    static func decodeScalar(node: Node, path: [String], session: DecodeSession) throws -> Any
}

extension ScalarDecodable {
    /// The scalar of `node`, or a located error saying a `what` was expected.
    static func scalar(_ node: Node, path: [String], session: DecodeSession, expected what: String, example: String)
        throws -> Node.Scalar
    {
        guard case let .scalar(s) = node, !ScalarText.isNull(s) else {
            throw session.error(
                at: node.mark, path: path, "expected \(what), found \(NodeDecoder.shape(of: node))",
                fix: "write e.g. `\(path.last ?? "key"): \(example)`")
        }
        return s
    }

    static func mismatch(
        _ s: Node.Scalar, path: [String], session: DecodeSession, expected what: String, example: String,
        detail: String = ""
    ) -> ExperimentError {
        let quoted = (s.style == .singleQuoted || s.style == .doubleQuoted) && what != "text"
        let fix =
            quoted
            ? "remove the quotes: quoted values are always text" : "write e.g. `\(path.last ?? "key"): \(example)`"
        return session.error(
            at: s.mark, path: path, "expected \(what)\(detail), found \(NodeDecoder.shape(of: .scalar(s)))", fix: fix)
    }
}

extension Bool: ScalarDecodable {
    static func decodeScalar(node: Node, path: [String], session: DecodeSession) throws -> Any {
        let s = try scalar(node, path: path, session: session, expected: "true or false", example: "true")
        guard let b = ScalarText.bool(s) else {
            throw mismatch(s, path: path, session: session, expected: "true or false", example: "true")
        }
        return b
    }
}

extension String: ScalarDecodable {
    static func decodeScalar(node: Node, path: [String], session: DecodeSession) throws -> Any {
        try scalar(node, path: path, session: session, expected: "text", example: "name").string
    }
}

extension Double: ScalarDecodable {
    static func decodeScalar(node: Node, path: [String], session: DecodeSession) throws -> Any {
        let s = try scalar(node, path: path, session: session, expected: "a number", example: "0.5")
        guard let d = ScalarText.double(s) else {
            throw mismatch(s, path: path, session: session, expected: "a number", example: "0.5")
        }
        return d
    }
}

extension Float: ScalarDecodable {
    static func decodeScalar(node: Node, path: [String], session: DecodeSession) throws -> Any {
        let s = try scalar(node, path: path, session: session, expected: "a number", example: "0.003")
        guard let d = ScalarText.double(s) else {
            throw mismatch(s, path: path, session: session, expected: "a number", example: "0.003")
        }
        guard !d.isFinite || abs(d) <= Double(Float.greatestFiniteMagnitude) else {
            throw mismatch(
                s, path: path, session: session, expected: "a number", example: "0.003",
                detail: " of at most \(Float.greatestFiniteMagnitude) in magnitude")
        }
        return Float(d)
    }
}

extension Decimal: ScalarDecodable {
    /// Read from the number's own spelling, so dollars such as 0.1 are exact (a Double would not be).
    static func decodeScalar(node: Node, path: [String], session: DecodeSession) throws -> Any {
        let s = try scalar(node, path: path, session: session, expected: "a number", example: "0.15")
        guard let d = ScalarText.double(s), d.isFinite,
            let exact = Decimal(string: s.string.replacingOccurrences(of: "_", with: ""))
        else {
            throw mismatch(s, path: path, session: session, expected: "a finite number", example: "0.15")
        }
        return exact
    }
}

/// Integers of every width share one rule; the range is the type's.
protocol IntegerScalar: FixedWidthInteger, ScalarDecodable {}

extension IntegerScalar {
    static func decodeScalar(node: Node, path: [String], session: DecodeSession) throws -> Any {
        let what = Self.isSigned ? "a whole number" : "a whole number ≥ 0"
        let s = try scalar(node, path: path, session: session, expected: what, example: "64")
        guard let v = ScalarText.integer(s, as: Self.self) else {
            let detail = ScalarText.double(s) != nil ? " in \(Self.min)...\(Self.max)" : ""
            throw mismatch(s, path: path, session: session, expected: what, example: "64", detail: detail)
        }
        return v
    }
}

extension Int: IntegerScalar {}
extension Int8: IntegerScalar {}
extension Int16: IntegerScalar {}
extension Int32: IntegerScalar {}
extension Int64: IntegerScalar {}
extension UInt: IntegerScalar {}
extension UInt8: IntegerScalar {}
extension UInt16: IntegerScalar {}
extension UInt32: IntegerScalar {}
extension UInt64: IntegerScalar {}
