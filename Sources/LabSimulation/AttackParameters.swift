// AttackParameters: how an attack's parts are named in a config file — a query strategy, a harvest mode
// or a distillation loss is `name` or `{name: {key: value}}` — and the typed, closed reading of their
// parameters, every error naming "<section>.<name>.<key>". Not a YAML parser: anything Codable feeds it.
import Foundation
import LabCore

/// The part of an attack config a `NamedSpec` fills, for error messages.
public protocol SpecSection {
    /// The config key, e.g. "strategy".
    static var key: String { get }
}

public enum StrategySection: SpecSection { public static let key = "strategy" }
public enum HarvestSection: SpecSection { public static let key = "harvest" }
public enum LossSection: SpecSection { public static let key = "student.loss" }

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
            throw LabError.invalidConfig(key: Section.key, message: "is a name, or a map with one key (the name) whose value holds its parameters; got keys \(c.allKeys.map(\.stringValue).sorted())")
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
        parameters.isEmpty ? name : "\(name)(" + parameters.keys.sorted().map { "\($0)=\(parameters[$0]!)" }.joined(separator: ", ") + ")"
    }
}

public typealias StrategySpec = NamedSpec<StrategySection>
public typealias HarvestSpec = NamedSpec<HarvestSection>
public typealias LossSpec = NamedSpec<LossSection>

/// The parameters of one named part, read once each with type and range; `finish()` rejects any key no
/// read asked for, so a misspelt key never falls back to a default silently. (The same contract as
/// `DefenceParameters`, whose keys are fixed under "defences.".)
public struct AttackParameters {
    /// "strategy.own_corpus": the prefix of every key this reader names in an error.
    public let path: String
    private let values: [String: ParameterValue]
    private var read: [String] = []

    public init<S>(_ spec: NamedSpec<S>) {
        path = "\(S.key).\(spec.name)"
        values = spec.parameters
    }

    func key(_ k: String) -> String { "\(path).\(k)" }

    /// Whether the config gives `k` at all.
    public func contains(_ k: String) -> Bool { values[k] != nil }

    public mutating func double(_ k: String, _ def: Double, valid: (Double) -> Bool = { $0.isFinite }, _ requirement: String) throws -> Double {
        read.append(k)
        guard let v = values[k] else { return def }
        guard case let .number(d) = v, d.isFinite, valid(d) else { throw LabError.invalidConfig(key: key(k), message: "is \(v); \(requirement)") }
        return d
    }

    public mutating func int(_ k: String, _ def: Int, valid: (Int) -> Bool, _ requirement: String) throws -> Int {
        read.append(k)
        guard let v = values[k] else { return def }
        guard case let .number(d) = v, d == d.rounded(), abs(d) < 9e15, valid(Int(d)) else {
            throw LabError.invalidConfig(key: key(k), message: "is \(v); \(requirement)")
        }
        return Int(d)
    }

    /// A whole number that may be absent.
    public mutating func optionalInt(_ k: String, valid: (Int) -> Bool, _ requirement: String) throws -> Int? {
        guard values[k] != nil else {
            read.append(k)
            return nil
        }
        return try int(k, 0, valid: valid, requirement)
    }

    public mutating func uint64(_ k: String, _ def: UInt64) throws -> UInt64 {
        read.append(k)
        switch values[k] {
        case nil: return def
        case let .number(d)? where d >= 0 && d == d.rounded() && d < 9_007_199_254_740_992: return UInt64(d)
        case let .string(s)?: if let u = UInt64(s) { return u }
        default: break
        }
        throw LabError.invalidConfig(key: key(k), message: "is \(values[k]!); must be a whole number ≥ 0 (write values above 2⁵³ as a quoted decimal string)")
    }

    public mutating func bool(_ k: String, _ def: Bool) throws -> Bool {
        read.append(k)
        guard let v = values[k] else { return def }
        guard case let .bool(b) = v else { throw LabError.invalidConfig(key: key(k), message: "is \(v); must be true or false") }
        return b
    }

    public mutating func choice(_ k: String, _ def: String, _ allowed: [String]) throws -> String {
        read.append(k)
        guard let v = values[k] else { return def }
        guard case let .string(s) = v, allowed.contains(s) else {
            throw LabError.invalidConfig(key: key(k), message: "is \(v); must be one of \(allowed.joined(separator: ", "))")
        }
        return s
    }

    /// Throws for the first key that no read asked for, listing the keys the part takes.
    public func finish() throws {
        let known = Set(read)
        if let unknown = values.keys.sorted().first(where: { !known.contains($0) }) {
            let takes = read.isEmpty ? "takes no parameters" : "takes \(read.joined(separator: ", "))"
            throw LabError.invalidConfig(key: key(unknown), message: "unknown parameter; \(path) \(takes)")
        }
    }
}
