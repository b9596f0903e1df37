// DefenceParameters: how a defence is named and configured in a config file (`DefenceSpec`), and the
// typed, closed reading of its parameters — a wrong type, a value out of range or an unknown key is a
// LabError naming "defences.<name>.<key>". Not a YAML parser: anything Codable (YAML, JSON) feeds it.
import Foundation
import LabCore

/// A parameter value as a config file spells it.
public enum ParameterValue: Codable, Equatable, Sendable, CustomStringConvertible {
    case number(Double)
    case string(String)
    case bool(Bool)

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let d = try? c.decode(Double.self) {
            self = .number(d)
        } else {
            self = .string(try c.decode(String.self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case let .number(d): try c.encode(d)
        case let .string(s): try c.encode(s)
        case let .bool(b): try c.encode(b)
        }
    }

    public var description: String {
        switch self {
        case let .number(d): return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case let .string(s): return s
        case let .bool(b): return String(b)
        }
    }
}

/// One stage of a pipeline in a config file: `label_only`, or `{top_k: {k: 5}}` (name → parameters).
public struct DefenceSpec: Codable, Equatable, Sendable {
    public var name: String
    public var parameters: [String: ParameterValue]

    public init(_ name: String, _ parameters: [String: ParameterValue] = [:]) {
        self.name = name
        self.parameters = parameters
    }

    public init(from decoder: Decoder) throws {
        if let c = try? decoder.singleValueContainer(), let name = try? c.decode(String.self) {
            self.init(name)
            return
        }
        let c = try decoder.container(keyedBy: AnyKey.self)
        guard c.allKeys.count == 1, let key = c.allKeys.first else {
            throw LabError.invalidConfig(
                key: "defences",
                message:
                    "a defence is a name, or a map with one key (the name) whose value holds its parameters; got keys \(c.allKeys.map(\.stringValue).sorted())"
            )
        }
        let params = try c.decodeNil(forKey: key) ? [:] : try c.decode([String: ParameterValue].self, forKey: key)
        self.init(key.stringValue, params)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(parameters, forKey: AnyKey(stringValue: name))
    }
}

/// A parameter's documentation: its key, its default as written in a config file, and what it means.
public struct ParameterDoc: Sendable {
    public var key: String
    public var defaultValue: String
    public var meaning: String
    public init(_ key: String, _ defaultValue: String, _ meaning: String) {
        self.key = key
        self.defaultValue = defaultValue
        self.meaning = meaning
    }
}

/// The parameters of one named part of a config — a defence, a query strategy, a harvest mode, a loss —
/// read once each with their types and ranges; `finish()` rejects any key no read asked for, so a misspelt
/// key never falls back to a default silently. Every error names "<path>.<key>".
public struct PartParameters {
    /// The prefix of every key an error names: "defences.top_k", "strategy.own_corpus".
    public let path: String
    /// Who takes the parameters, as "unknown parameter; <owner> takes …" says it.
    let owner: String
    private let values: [String: ParameterValue]
    private var read: [String] = []

    /// A defence's parameters, named "defences.<name>.<key>".
    public init(defence: String, values: [String: ParameterValue] = [:]) {
        path = "defences.\(defence)"
        owner = defence
        self.values = values
    }

    /// An attack part's parameters, named "<section>.<name>.<key>" (e.g. "strategy.own_corpus.source").
    public init<S>(_ spec: NamedSpec<S>) {
        path = "\(S.key).\(spec.name)"
        owner = path
        values = spec.parameters
    }

    package func key(_ k: String) -> String { "\(path).\(k)" }

    /// Parameters given as a list of (key, value) pairs (as on a command line), refusing an empty or repeated
    /// key, which a dictionary would silently resolve to one of the values. `path` names the part in errors.
    public static func collect(_ pairs: [(String, ParameterValue)], path: String) throws -> [String: ParameterValue] {
        var values: [String: ParameterValue] = [:]
        for (k, v) in pairs {
            guard !k.isEmpty else {
                throw LabError.invalidConfig(
                    key: path, message: "has a parameter with no name; write key=value pairs separated by commas")
            }
            if let first = values[k] {
                throw LabError.invalidConfig(
                    key: "\(path).\(k)", message: "is given twice (\(first) and \(v)); give each parameter once")
            }
            values[k] = v
        }
        return values
    }

    /// Whether the config gives `k` at all.
    public func contains(_ k: String) -> Bool { values[k] != nil }

    /// A number; `nil` default means optional (returns nil when absent).
    public mutating func double(
        _ k: String, default def: Double?, valid: (Double) -> Bool = { $0.isFinite }, _ requirement: String
    ) throws -> Double? {
        read.append(k)
        guard let v = values[k] else { return def }
        guard case let .number(d) = v, d.isFinite, valid(d) else {
            throw LabError.invalidConfig(key: key(k), message: "is \(v); \(requirement)")
        }
        return d
    }

    /// A number that always has a value.
    public mutating func double(
        _ k: String, _ def: Double, valid: (Double) -> Bool = { $0.isFinite }, _ requirement: String
    ) throws -> Double {
        try double(k, default: def, valid: valid, requirement) ?? def
    }

    /// A whole number.
    public mutating func int(_ k: String, _ def: Int, valid: (Int) -> Bool, _ requirement: String) throws -> Int {
        read.append(k)
        guard let v = values[k] else { return def }
        guard case let .number(d) = v, d == d.rounded(), abs(d) < 9e15, valid(Int(d)) else {
            throw LabError.invalidConfig(key: key(k), message: "is \(v); \(requirement)")
        }
        return Int(d)
    }

    /// An unsigned 64-bit integer (a key or seed), as a number below 2⁵³ or a decimal string.
    public mutating func uint64(_ k: String, _ def: UInt64) throws -> UInt64 {
        read.append(k)
        switch values[k] {
        case nil: return def
        case let .number(d)? where d >= 0 && d == d.rounded() && d < 9_007_199_254_740_992: return UInt64(d)
        case let .string(s)?: if let u = UInt64(s) { return u }
        default: break
        }
        throw LabError.invalidConfig(
            key: key(k),
            message: "is \(values[k]!); must be a whole number ≥ 0 (write values above 2⁵³ as a quoted decimal string)")
    }

    public mutating func bool(_ k: String, _ def: Bool) throws -> Bool {
        read.append(k)
        guard let v = values[k] else { return def }
        guard case let .bool(b) = v else {
            throw LabError.invalidConfig(key: key(k), message: "is \(v); must be true or false")
        }
        return b
    }

    /// One of `allowed` words.
    public mutating func choice(_ k: String, _ def: String, _ allowed: [String]) throws -> String {
        read.append(k)
        guard let v = values[k] else { return def }
        guard case let .string(s) = v, allowed.contains(s) else {
            throw LabError.invalidConfig(
                key: key(k), message: "is \(v); must be one of \(allowed.joined(separator: ", "))")
        }
        return s
    }

    /// Free text (a path), optional.
    public mutating func string(_ k: String) throws -> String? {
        read.append(k)
        guard let v = values[k] else { return nil }
        guard case let .string(s) = v else {
            throw LabError.invalidConfig(key: key(k), message: "is \(v); must be a string")
        }
        return s
    }

    /// Throws for the first key that no read asked for, listing the keys the part takes.
    public func finish() throws {
        let known = Set(read)
        if let unknown = values.keys.sorted().first(where: { !known.contains($0) }) {
            let takes = read.isEmpty ? "takes no parameters" : "takes \(read.joined(separator: ", "))"
            throw LabError.invalidConfig(key: key(unknown), message: "unknown parameter; \(owner) \(takes)")
        }
    }
}

/// A defence's parameters (`RegisteredDefence.init(parameters:environment:)`).
public typealias DefenceParameters = PartParameters

/// What a defence factory may need to know about the teacher it will stand in front of.
public struct DefenceEnvironment: Sendable {
    public var vocabularySize: Int
    public var contextLength: Int
    public init(vocabularySize: Int, contextLength: Int) {
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
    }
}

/// A defence the registry can build from a config file.
public protocol RegisteredDefence: Defence {
    /// The name in config files and tables.
    static var registryName: String { get }
    /// One line: what it does, and the paper or tool it follows.
    static var reference: String { get }
    /// Every parameter, in the order `parameters` lists them.
    static var parameterDocs: [ParameterDoc] { get }
    /// Reads its parameters (each once, with its default) and validates them.
    init(parameters: inout DefenceParameters, environment: DefenceEnvironment) throws
}

extension RegisteredDefence {
    public var name: String { Self.registryName }
}

/// Formats a parameter value for `parameters` lists: integers without a decimal point, others to 6 significant digits.
package func show(_ d: Double) -> String {
    d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(format: "%.6g", d)
}

/// The part of a config file a `NamedSpec` fills (an attack's strategy, harvest mode or loss; a detector), for error messages.
public protocol SpecSection {
    /// The config key, e.g. "strategy".
    static var key: String { get }
}

/// One named part with its parameters: `random_tokens`, or `{top_k: {k: 5}}` (name → parameters).
public struct NamedSpec<Section: SpecSection>: Codable, Equatable, Sendable {
    public var name: String
    public var parameters: [String: ParameterValue]

    public init(_ name: String, _ parameters: [String: ParameterValue] = [:]) {
        self.name = name
        self.parameters = parameters
    }

    public init(from decoder: Decoder) throws {
        if let c = try? decoder.singleValueContainer(), let name = try? c.decode(String.self) {
            self.init(name)
            return
        }
        let c = try decoder.container(keyedBy: AnyKey.self)
        guard c.allKeys.count == 1, let key = c.allKeys.first else {
            throw LabError.invalidConfig(
                key: Section.key,
                message:
                    "is a name, or a map with one key (the name) whose value holds its parameters; got keys \(c.allKeys.map(\.stringValue).sorted())"
            )
        }
        let params = try c.decodeNil(forKey: key) ? [:] : try c.decode([String: ParameterValue].self, forKey: key)
        self.init(key.stringValue, params)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(parameters, forKey: AnyKey(stringValue: name))
    }

    /// "name(key=value, ...)" with the parameters as given (defaults not filled in).
    public var summary: String {
        parameters.isEmpty
            ? name
            : "\(name)(" + parameters.keys.sorted().map { "\($0)=\(parameters[$0]!)" }.joined(separator: ", ") + ")"
    }
}
