// JSONText: a string as a JSON string literal — quotes, backslashes and control characters escaped, every other
// scalar as it is — for the writers that build JSON by hand to fix its bytes (safetensors headers, tokenizer.json,
// results.json). Not a JSON encoder.
import Foundation

public enum JSONText {
    public static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
