// Detector: what the gateway asks of an extraction detector — observe each admitted request of an account,
// say when the account alarms, give a suspicion score in [0, 1] for proof-of-work, and optionally run a
// population-wide pass on a schedule — plus the registry from config names to detectors (one file each).
// Not the ban: the gateway turns alarms into bans after its delay.
import LabCore

/// One admitted request as a detector sees it: whose, when, and the prompt's features.
public struct DetectorObservation: Sendable {
    /// The gateway's dense account id (0, 1, 2, ... in opening order).
    public var account: Int
    /// Simulated seconds.
    public var time: Double
    public var features: PromptFeatures

    public init(account: Int, time: Double, features: PromptFeatures) {
        self.account = account
        self.time = time
        self.features = features
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
    /// Seconds between population passes, or nil for a detector that only looks at one account at a time.
    var sweepInterval: Double? { get }
    /// A population pass at `time`: the accounts that alarm now (each at most once over the run).
    func sweep(time: Double) -> [Int]
}

extension Detector {
    public var sweepInterval: Double? { nil }
    public func sweep(time: Double) -> [Int] { [] }

    /// "name(key=value, ...)".
    public var summary: String {
        parameters.isEmpty ? name : "\(name)(" + parameters.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + ")"
    }
}

/// What detectors may know besides the requests: the defender's picture of benign traffic, from past logs.
public struct DetectorContext: Sendable {
    /// The topics of benign traffic, estimated from a sample of logged benign prompts drawn independently
    /// of the simulated users.
    public var benignTopics: DetectorTopics

    public init(benignTopics: DetectorTopics) { self.benignTopics = benignTopics }
}

/// Parameters of every detector kind, defaults filled; a config file sets only what it changes.
public struct DetectorSettings: Equatable, Sendable {
    public var volume = VolumeDetector.Config()
    public var prada = PRADADetector.Config()
    public var fingerprint = FingerprintDetector.Config()
    public var clustering = ClusteringDetector.Config()

    public init() {}

    public func validate() throws {
        try volume.validate()
        try prada.validate()
        try fingerprint.validate()
        try clustering.validate()
    }
}

extension DetectorSettings: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable { case volume, prada, fingerprint, clustering }

    public init(from decoder: Decoder) throws {
        try ConfigKeys.reject(unknownIn: decoder, allowed: CodingKeys.allCases.map(\.rawValue), section: "detectors")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        volume = try c.decodeIfPresent(VolumeDetector.Config.self, forKey: .volume) ?? volume
        prada = try c.decodeIfPresent(PRADADetector.Config.self, forKey: .prada) ?? prada
        fingerprint = try c.decodeIfPresent(FingerprintDetector.Config.self, forKey: .fingerprint) ?? fingerprint
        clustering = try c.decodeIfPresent(ClusteringDetector.Config.self, forKey: .clustering) ?? clustering
    }
}

public enum DetectorRegistry {
    public typealias Factory = (DetectorSettings, DetectorContext) -> any Detector

    /// Every detector, one line per kind.
    public static let kinds: [(name: String, reference: String, make: Factory)] = [
        ("volume", VolumeDetector.reference, { s, _ in VolumeDetector(config: s.volume) }),
        ("prada", PRADADetector.reference, { s, _ in PRADADetector(config: s.prada) }),
        ("fingerprint", FingerprintDetector.reference, { s, c in FingerprintDetector(config: s.fingerprint, topics: c.benignTopics) }),
        ("clustering", ClusteringDetector.reference, { s, c in ClusteringDetector(config: s.clustering, topics: c.benignTopics) }),
    ]

    public static var names: [String] { kinds.map(\.name) }

    /// Builds the detector called `name`; throws `LabError.invalidConfig` naming `key` for an unknown one.
    public static func make(_ name: String, settings: DetectorSettings, context: DetectorContext, key: String = "defence.detectors") throws -> any Detector {
        guard let kind = kinds.first(where: { $0.name == name }) else {
            throw LabError.invalidConfig(key: key, message: "'\(name)' is not a detector; known: \(names.joined(separator: ", "))")
        }
        return kind.make(settings, context)
    }
}

/// Numbers as the campaign's configs and reports write them.
enum CampaignFormat {
    /// Integers without ".0", others in Swift's shortest round-trip form.
    static func number(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x)
    }
}
