// Detector: what the gateway asks of an extraction detector — observe each admitted request of an account,
// say when the account alarms, give a suspicion score in [0, 1] for proof-of-work, and optionally run a
// population-wide pass on a schedule — plus the registry from config names to detectors (one file each).
// Not the ban: the gateway turns alarms into bans after its delay.
import LabAPI
import LabCore

/// One admitted request as a detector sees it: whose, when, and the prompt's features.
public struct DetectorObservation: Sendable {
    /// The gateway's dense account id (0, 1, 2, ... in opening order).
    public var account: Int
    /// Simulated seconds.
    public var time: Double
    public var features: PromptFeatures
    /// Whether the API refused the request (a safety refusal, not a budget or policy refusal).
    public var refused: Bool
    /// The provider's refusal-classifier score of the prompt in [0, 1], when a classifier scores traffic.
    public var guardScore: Double?

    public init(account: Int, time: Double, features: PromptFeatures, refused: Bool = false, guardScore: Double? = nil)
    {
        self.account = account
        self.time = time
        self.features = features
        self.refused = refused
        self.guardScore = guardScore
    }
}

public protocol Detector: AnyObject {
    /// The registry name, e.g. "prada".
    var name: String { get }
    /// Every parameter with its value, for reports.
    var parameters: [(key: String, value: String)] { get }
    /// Records one admitted request; true when it makes the account alarm (the first time).
    func observe(_ observation: DetectorObservation) -> Bool
    /// How suspicious the account looks now: 0 nothing seen, 1 at (or past) the alarm threshold.
    func suspicion(account: Int) -> Double
    /// The detector's own statistic for the account (PRADA: the lowest W; fingerprint and clustering: the
    /// last statistic; volume: the busiest window), or nil when the account was never evaluated — too few
    /// requests for the test to run. Reports separate "tested and passed" from "never tested".
    func statistic(account: Int) -> Double?
    /// The account's continuous score, larger more suspicious, that its alarm thresholds: what a ROC ranks
    /// accounts by. Nil when the account was never evaluated. Defaults to `statistic`.
    func score(account: Int) -> Double?
    /// Seconds between population passes, or nil for a detector that only looks at one account at a time.
    var sweepInterval: Double? { get }
    /// A population pass at `time`: the accounts that alarm now (each at most once over the run).
    func sweep(time: Double) -> [Int]
}

extension Detector {
    public var sweepInterval: Double? { nil }
    public func score(account: Int) -> Double? { statistic(account: account) }
    public func sweep(time: Double) -> [Int] { [] }

    /// "name(key=value, ...)".
    public var summary: String {
        parameters.isEmpty
            ? name : "\(name)(" + parameters.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + ")"
    }
}

/// What detectors may know besides the requests: the defender's picture of benign traffic, from past logs.
public struct DetectorContext: Sendable {
    /// The topics of benign traffic, estimated from a sample of logged benign prompts drawn independently
    /// of the simulated users.
    public var benignTopics: DetectorTopics

    public init(benignTopics: DetectorTopics) { self.benignTopics = benignTopics }
}

/// A detector's parameters: Codable with its own keys (an unknown one rejected under "detectors.<name>"),
/// every default from `init()`, and `validate()` naming the key of a bad value.
public protocol DetectorConfig: Codable, Equatable, Sendable {
    init()
    func validate() throws
}

/// A detector the registry can build. Adding one is its file (the detector and its `Config`) plus one line
/// in `DetectorRegistry.kinds`; its section in config files, its metrics and `--list` follow from those.
public protocol RegisteredDetector: Detector {
    associatedtype Config: DetectorConfig
    /// The name in config files, tables and metrics, e.g. "prada".
    static var registryName: String { get }
    /// One line: what it measures, and the paper it follows.
    static var reference: String { get }
    init(config: Config, context: DetectorContext)
    /// Whether settings that never set this kind still write its defaults (see the extension's default).
    static var encodesDefaults: Bool { get }
}

extension RegisteredDetector {
    public var name: String { Self.registryName }

    /// This kind built with its parameters from `settings` (defaults where the settings hold none).
    static func make(_ settings: DetectorSettings, _ context: DetectorContext) -> any Detector {
        Self(config: settings[Self.self], context: context)
    }

    static func decodeConfig(_ c: KeyedDecodingContainer<AnyKey>) throws -> Config? {
        try c.decodeIfPresent(Config.self, forKey: AnyKey(stringValue: registryName))
    }

    /// Whether settings that never set this kind still write its defaults (the four original detectors do; a kind
    /// added later writes only what a file sets, so that adding it leaves every existing campaign cell unchanged).
    public static var encodesDefaults: Bool { true }

    static func equal(_ a: (any DetectorConfig)?, _ b: (any DetectorConfig)?) -> Bool {
        (a as? Config ?? Config()) == (b as? Config ?? Config())
    }
}

/// Parameters of every detector kind, defaults filled; a config file sets only what it changes. Read one with
/// its type: `settings[PRADADetector.self].delta`.
public struct DetectorSettings: Equatable, Sendable {
    /// Set parameters by registry name; a kind without an entry runs with its `Config()`.
    var configs: [String: any DetectorConfig] = [:]

    public init() {}

    public subscript<D: RegisteredDetector>(_ kind: D.Type) -> D.Config {
        get { configs[D.registryName] as? D.Config ?? D.Config() }
        set { configs[D.registryName] = newValue }
    }

    public func validate() throws {
        for kind in DetectorRegistry.kinds { try configs[kind.registryName]?.validate() }
    }

    public static func == (a: DetectorSettings, b: DetectorSettings) -> Bool {
        Set(a.configs.keys).union(b.configs.keys).allSatisfy { name in
            guard let kind = DetectorRegistry.kind(named: name) else { return false }
            return kind.equal(a.configs[name], b.configs[name])
        }
    }
}

extension DetectorSettings: Codable {
    public init(from decoder: Decoder) throws {
        try ConfigKeys.reject(unknownIn: decoder, allowed: DetectorRegistry.names, section: "detectors")
        let c = try decoder.container(keyedBy: AnyKey.self)
        self.init()
        for kind in DetectorRegistry.kinds {
            if let config = try kind.decodeConfig(c) { configs[kind.registryName] = config }
        }
    }

    /// Every registered kind, defaults filled, in registry order.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        for kind in DetectorRegistry.kinds { try kind.encodeConfig(configs[kind.registryName], into: &c) }
    }
}

extension RegisteredDetector {
    static func encodeConfig(_ config: (any DetectorConfig)?, into c: inout KeyedEncodingContainer<AnyKey>) throws {
        guard config != nil || encodesDefaults else { return }
        try c.encode(config as? Config ?? Config(), forKey: AnyKey(stringValue: registryName))
    }
}

public enum DetectorRegistry {
    /// Every detector, one line per kind.
    public static let kinds: [any RegisteredDetector.Type] = [
        VolumeDetector.self,  // volume
        PRADADetector.self,  // prada
        FingerprintDetector.self,  // fingerprint
        ClusteringDetector.self,  // clustering
        BoundaryProbeDetector.self,  // boundary_probe
    ]

    public static var names: [String] { kinds.map { $0.registryName } }

    public static func kind(named name: String, in kinds: [any RegisteredDetector.Type] = kinds) -> (
        any RegisteredDetector.Type
    )? {
        kinds.first { $0.registryName == name }
    }

    /// Builds the detector called `name` from `kinds`; throws `LabError.invalidConfig` naming `key` for an unknown one.
    public static func make(
        _ name: String, settings: DetectorSettings, context: DetectorContext, key: String = "defence.detectors",
        kinds: [any RegisteredDetector.Type] = kinds
    ) throws -> any Detector {
        guard let kind = kind(named: name, in: kinds) else {
            throw LabError.invalidConfig(
                key: key,
                message: "'\(name)' is not a detector; known: \(kinds.map { $0.registryName }.joined(separator: ", "))")
        }
        return kind.make(settings, context)
    }

    /// A Markdown table of every detector: name and what it measures.
    public static var documentation: String {
        (["| detector | measures |", "|---|---|"] + kinds.map { "| `\($0.registryName)` | \($0.reference) |" }).joined(
            separator: "\n")
    }
}

/// Numbers as the campaign's configs and reports write them.
enum CampaignFormat {
    /// Integers without ".0", others in Swift's shortest round-trip form.
    static func number(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x)
    }
}
