// The `forensics` kind: provenance at campaign scale — K proxy accounts among N feed a student with given shares,
// the rest the attacker's own text; the student's text is traced to accounts (LabForensics's ProvenanceCampaign,
// Sander et al. 2024 radioactivity per account key, Bonferroni). Not a GPT student: a counted bigram, so cells take seconds.
import Foundation
import LabCore
import LabForensics

public enum ForensicsKind: ExperimentKind {
    public struct Settings: Decodable {
        public var config = ProvenanceCampaign.Config()

        enum Keys: String, CodingKey { case forensics }
        enum SectionKeys: String, CodingKey {
            case vocabularySize = "vocabulary_size", teacherScale = "teacher_scale", gamma, delta, accounts, proxies
            case proxyShare = "proxy_share", trainingTokens = "training_tokens", suspectTokens = "suspect_tokens", alpha
        }

        public init(from decoder: Decoder) throws {
            let top = try decoder.container(keyedBy: Keys.self)
            guard top.contains(.forensics) else { return }
            let s = try top.nestedContainer(keyedBy: SectionKeys.self, forKey: .forensics)
            config.vocabularySize = try s.decodeIfPresent(Int.self, forKey: .vocabularySize) ?? config.vocabularySize
            config.teacherScale = try s.decodeIfPresent(Double.self, forKey: .teacherScale) ?? config.teacherScale
            config.gamma = try s.decodeIfPresent(Double.self, forKey: .gamma) ?? config.gamma
            config.delta = try s.decodeIfPresent(Double.self, forKey: .delta) ?? config.delta
            config.accounts = try s.decodeIfPresent(Int.self, forKey: .accounts) ?? config.accounts
            config.proxies = try s.decodeIfPresent(Int.self, forKey: .proxies) ?? config.proxies
            config.proxyShare = try s.decodeIfPresent(Double.self, forKey: .proxyShare) ?? config.proxyShare
            config.trainingTokens = try s.decodeIfPresent(Int.self, forKey: .trainingTokens) ?? config.trainingTokens
            config.suspectTokens = try s.decodeIfPresent(Int.self, forKey: .suspectTokens) ?? config.suspectTokens
            config.alpha = try s.decodeIfPresent(Double.self, forKey: .alpha) ?? config.alpha
        }
    }

    public struct Resolved: Encodable {
        public var config: ProvenanceCampaign.Config
        public var seed: UInt64
    }

    public static let name = "forensics"
    public static let summary =
        "provenance: K proxy accounts among N feed a student; identification and false-accusation rates of per-account watermark keys"
    public static let version = 1
    public static let reads: [SharedSection] = []
    public static let settingsKeys = ["forensics"]
    public static let curveAxis: String? = nil
    public static let seedMeaning =
        "the provider secret (hence every account key), which accounts are proxies, the bigram teacher, the served and own texts and the student's sample"
    public static let outputs = [
        OutputDoc("identification_rate", .metric, "accused proxies / K (Bonferroni at alpha)"),
        OutputDoc("false_accusation_rate", .metric, "accused honest accounts / (N − K)"),
        OutputDoc(
            "any_false_accusation", .metric, "1 if any honest account was accused (its mean is the family-wise error)"),
        OutputDoc("proxy_log10_p", .metric, "median log10 p-value of the proxies' keys"),
    ]

    public static func resolve(_ cell: CellInput<Settings>, in context: ValidationContext) throws -> Resolved {
        let c = cell.settings.config
        func check(_ ok: Bool, _ key: String, _ message: String) throws {
            if !ok { throw SpecIssue(["forensics", key], message) }
        }
        try check(
            (2...4096).contains(c.vocabularySize), "vocabulary_size", "is \(c.vocabularySize); allowed range 2...4096")
        try check((1...100_000).contains(c.accounts), "accounts", "is \(c.accounts); allowed range 1...100000")
        try check(c.proxies >= 1 && c.proxies <= c.accounts, "proxies", "is \(c.proxies); allowed range 1...accounts")
        try check(
            c.proxyShare > 0 && Double(c.proxies) * c.proxyShare <= 1 + 1e-9, "proxy_share",
            "is \(c.proxyShare); need 0 < proxies × proxy_share ≤ 1")
        try check(
            (2...10_000_000).contains(c.trainingTokens), "training_tokens",
            "is \(c.trainingTokens); allowed range 2...10000000")
        try check(
            (2...1_000_000).contains(c.suspectTokens), "suspect_tokens",
            "is \(c.suspectTokens); allowed range 2...1000000")
        try check(c.alpha > 0 && c.alpha < 1, "alpha", "is \(c.alpha); allowed range (0, 1)")
        try check(c.gamma > 0 && c.gamma < 1, "gamma", "is \(c.gamma); allowed range (0, 1)")
        try check(c.delta >= 0 && c.delta.isFinite, "delta", "is \(c.delta); must be finite and ≥ 0")
        return Resolved(config: c, seed: cell.seed)
    }

    public static func run(_ cell: Resolved, in context: RunContext) throws -> CellResult {
        let o = try ProvenanceCampaign.run(cell.config, seed: cell.seed)
        return CellResult(metrics: [
            .init("identification_rate", o.identificationRate), .init("false_accusation_rate", o.falseAccusationRate),
            .init("any_false_accusation", o.anyFalseAccusation), .init("proxy_log10_p", o.proxyLog10P),
        ])
    }
}
