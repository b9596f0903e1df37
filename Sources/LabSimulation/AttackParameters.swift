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

/// The parameters of a strategy, harvest mode or loss: `PartParameters` under "<section>.<name>.".
public typealias AttackParameters = PartParameters
