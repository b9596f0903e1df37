// PartParameter: one parameter of a part (a defence, a query strategy, a harvest mode), declared once — its
// key, its default, the values it allows and what it means. The declaration is what `PartParameters.read`
// parses and validates against, what an error message quotes, and what `--list` and the docs print, so a
// default is written in one place. Not the reading machinery itself (PartParameters).
import LabCore

public struct PartParameter<Value: Sendable>: Sendable {
    /// The key in a config file.
    public let key: String
    /// The value when the config does not give the key.
    public let defaultValue: Value
    /// One line: what the parameter means.
    public let meaning: String
    /// The default as a config file would write it ("—" for an optional parameter without one).
    public let defaultText: String
    let reader: @Sendable (inout PartParameters, PartParameter<Value>) throws -> Value

    /// The line `--list` and the docs print.
    public var doc: ParameterDoc { ParameterDoc(key, defaultText, meaning) }

    /// The same line with the meaning as another part that reads this parameter explains it.
    public func doc(meaning: String) -> ParameterDoc { ParameterDoc(key, defaultText, meaning) }
}

extension PartParameter where Value == Int {
    /// A whole number; `valid` and `requirement` say which ones.
    public static func int(
        _ key: String, _ defaultValue: Int, valid: @escaping @Sendable (Int) -> Bool, _ requirement: String,
        meaning: String
    ) -> Self {
        Self(key: key, defaultValue: defaultValue, meaning: meaning, defaultText: String(defaultValue)) { p, d in
            try p.int(d.key, d.defaultValue, valid: valid, requirement)
        }
    }

    /// A whole number at least `least`.
    public static func int(_ key: String, _ defaultValue: Int, atLeast least: Int, meaning: String) -> Self {
        int(key, defaultValue, valid: { $0 >= least }, "must be a whole number ≥ \(least)", meaning: meaning)
    }
}

extension PartParameter where Value == Double {
    /// A finite number; `valid` and `requirement` say which ones; `shown`, the default as the docs print it
    /// when its decimal expansion is long.
    public static func double(
        _ key: String, _ defaultValue: Double, valid: @escaping @Sendable (Double) -> Bool = { $0.isFinite },
        _ requirement: String, shown: String? = nil, meaning: String
    ) -> Self {
        Self(
            key: key, defaultValue: defaultValue, meaning: meaning,
            defaultText: shown ?? ParameterValue.number(defaultValue).description
        ) { p, d in
            try p.double(d.key, d.defaultValue, valid: valid, requirement)
        }
    }
}

extension PartParameter where Value == Double? {
    /// A finite number that may be absent (`nil` then); `absent` says what that means in the docs.
    public static func optionalDouble(
        _ key: String, valid: @escaping @Sendable (Double) -> Bool = { $0.isFinite }, _ requirement: String,
        absent: String = "—", meaning: String
    ) -> Self {
        Self(key: key, defaultValue: nil, meaning: meaning, defaultText: absent) { p, d in
            try p.double(d.key, default: nil, valid: valid, requirement)
        }
    }
}

extension PartParameter where Value == Bool {
    public static func bool(_ key: String, _ defaultValue: Bool, meaning: String) -> Self {
        Self(key: key, defaultValue: defaultValue, meaning: meaning, defaultText: String(defaultValue)) { p, d in
            try p.bool(d.key, d.defaultValue)
        }
    }
}

extension PartParameter where Value == UInt64 {
    /// An unsigned 64-bit integer (a key or a seed), as a number below 2⁵³ or a decimal string.
    public static func uint64(_ key: String, _ defaultValue: UInt64, meaning: String) -> Self {
        Self(key: key, defaultValue: defaultValue, meaning: meaning, defaultText: String(defaultValue)) { p, d in
            try p.uint64(d.key, d.defaultValue)
        }
    }
}

extension PartParameter where Value == String? {
    /// Free text (a path), optional.
    public static func string(_ key: String, absent: String = "—", meaning: String) -> Self {
        Self(key: key, defaultValue: nil, meaning: meaning, defaultText: absent) { p, d in try p.string(d.key) }
    }
}

extension PartParameter where Value: RawRepresentable & CaseIterable, Value.RawValue == String {
    /// One of an enumeration's cases, written as its raw value.
    public static func choice(_ key: String, _ defaultValue: Value, meaning: String) -> Self {
        Self(key: key, defaultValue: defaultValue, meaning: meaning, defaultText: defaultValue.rawValue) { p, d in
            let word = try p.choice(d.key, d.defaultValue.rawValue, Value.allCases.map(\.rawValue))
            // `choice` only returns one of the raw values it was given.
            return Value(rawValue: word) ?? d.defaultValue
        }
    }
}

extension PartParameters {
    /// Reads `parameter` as it is declared: its default when the config does not give it, else the config's
    /// value, validated (an error names "<path>.<key>" and the requirement).
    public mutating func read<Value>(_ parameter: PartParameter<Value>) throws -> Value {
        try parameter.reader(&self, parameter)
    }
}

/// The Markdown table `--list` and the docs print for a registry: one row per parameter of each part (its name
/// and reference on the first), and a row of dashes for a part without parameters.
public func partDocumentationTable(
    heading: String, _ parts: [(name: String, reference: String, docs: [ParameterDoc])]
) -> String {
    var lines = ["| \(heading) | follows | parameter | default | meaning |", "|---|---|---|---|---|"]
    for part in parts {
        if part.docs.isEmpty { lines.append("| `\(part.name)` | \(part.reference) | — | — | — |") }
        for (i, d) in part.docs.enumerated() {
            lines.append(
                "| \(i == 0 ? "`\(part.name)`" : "") | \(i == 0 ? part.reference : "") | `\(d.key)` | \(d.defaultValue) | \(d.meaning) |"
            )
        }
    }
    return lines.joined(separator: "\n")
}
