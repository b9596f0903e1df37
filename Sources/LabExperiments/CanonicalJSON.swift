// CanonicalJSON: one byte-exact JSON spelling of an Encodable value (sorted keys, no whitespace), the input of
// every content hash — so the same resolved spec hashes the same on every run and machine. Not the results
// writer, which formats for people (JSONValue).
import Foundation

public enum CanonicalJSON {
    public static func data<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(value)
    }

    public static func string<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try data(value), as: UTF8.self)
    }
}
