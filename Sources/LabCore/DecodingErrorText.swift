// DecodingErrorText: a DecodingError (or any error) as one line a user can act on — the key path, what was
// expected and what was found — instead of Swift's debug description with its internal type names.
// Not a JSON validator.
import Foundation

public enum DecodingErrorText {
    public static func describe(_ error: Error) -> String {
        if let lab = error as? LabError { return lab.description }
        guard let decoding = error as? DecodingError else { return error.localizedDescription }
        func path(_ c: DecodingError.Context) -> String {
            let p = c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return p.isEmpty ? "the top level" : "key '\(p)'"
        }
        func typeName(_ t: Any.Type) -> String {
            switch t {
            case is Int.Type, is Int32.Type, is Int64.Type, is UInt64.Type: return "an integer"
            case is Double.Type, is Float.Type: return "a number"
            case is String.Type: return "a string"
            case is Bool.Type: return "true or false"
            default:
                let name = "\(t)"
                if name.hasPrefix("Array") { return "a list" }
                if name.hasPrefix("Dictionary") { return "a map" }
                return "an object"
            }
        }
        switch decoding {
        case let .keyNotFound(key, c):
            let parent = c.codingPath.map(\.stringValue).joined(separator: ".")
            return "key '\(parent.isEmpty ? key.stringValue : parent + "." + key.stringValue)' is missing"
        case let .typeMismatch(type, c): return "\(path(c)) must be \(typeName(type))"
        case let .valueNotFound(type, c): return "\(path(c)) is null but must be \(typeName(type))"
        case let .dataCorrupted(c):
            return c.codingPath.isEmpty
                ? "not valid JSON (\(c.underlyingError.map { _ in "syntax error" } ?? c.debugDescription))"
                : "\(path(c)): \(c.debugDescription)"
        @unknown default: return "cannot be decoded"
        }
    }
}
