// Provenance at campaign scale: per-account KGW keys (a keyed hash of a provider secret and the account id)
// and tracing a suspect back to accounts by one radioactivity test per key (Sander et al. 2024), with the
// error over all N keys controlled by Bonferroni (FWER, the default) or Benjamini–Hochberg (FDR). Not the tests themselves (Radioactivity.swift).
import Foundation
import LabCore
import LabDefences
import LabModel

/// Per-account watermark keys: key(account) = the first 8 bytes (big-endian) of
/// SHA-256(secret ‖ 0x00 ‖ account id), both UTF-8. The 0x00 separator keeps ("ab","c") and ("a","bc")
/// apart. Without the secret, an account's key is unpredictable, so one account's text says nothing
/// about another's key; with it, the provider re-derives every key from the ledger's account ids.
public enum AccountKeys {
    public static func key(secret: String, account: String) throws -> UInt64 {
        guard !secret.isEmpty else {
            throw LabError.invalidConfig(
                key: "secret",
                message:
                    "is empty; per-account keys need a provider secret, or anyone could derive them from the account ids"
            )
        }
        guard !account.isEmpty else {
            throw LabError.invalidConfig(
                key: "account", message: "is empty; give the account id the text was served to")
        }
        var data = Data(secret.utf8)
        data.append(0)
        data.append(contentsOf: Data(account.utf8))
        let digest = SHA256.digest(data)
        return digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    /// `template` with its key replaced by `account`'s key (γ, δ, h and V unchanged).
    public static func watermark(_ template: KGWWatermark, secret: String, account: String) throws -> KGWWatermark {
        try KGWWatermark(
            gamma: template.gamma, delta: template.delta, key: key(secret: secret, account: account),
            contextWidth: template.contextWidth, vocabularySize: template.vocabularySize)
    }

    /// `template` (either scheme) with its key replaced by `account`'s key.
    public static func scheme(_ template: ProvenanceScheme, secret: String, account: String) throws
        -> ProvenanceScheme
    {
        try template.withKey(key(secret: secret, account: account))
    }
}

/// Corrections of N p-values for testing N keys at once. Adjusted p-values: reject key i at level α
/// iff adjusted[i] ≤ α.
public enum MultipleTesting {
    /// Bonferroni: min(1, N·p). Controls the family-wise error rate (P(any false accusation) ≤ α) under
    /// any dependence between the tests.
    public static func bonferroni(_ p: [Double]) -> [Double] {
        p.map { min(1, $0 * Double(p.count)) }
    }

    /// Benjamini–Hochberg step-up: adjusted p_(i) = min over j ≥ i of N·p_(j)/j, capped at 1. Controls the
    /// false-discovery rate (expected share of accused accounts that are innocent) at α under
    /// independence or positive dependence; it does not bound the family-wise error when some accounts
    /// did contribute.
    public static func benjaminiHochberg(_ p: [Double]) -> [Double] {
        let n = p.count
        let order = p.indices.sorted { p[$0] < p[$1] }
        var adjusted = [Double](repeating: 1, count: n)
        var running = 1.0
        for rank in stride(from: n, through: 1, by: -1) {
            let i = order[rank - 1]
            running = min(running, p[i] * Double(n) / Double(rank))
            adjusted[i] = min(1, running)
        }
        return adjusted
    }
}

/// The ranked result of tracing one suspect against N accounts.
public struct ProvenanceReport: Sendable, Equatable, Codable {
    public enum Correction: String, Codable, Sendable {
        case bonferroni
        case benjaminiHochberg = "benjamini_hochberg"
    }
    public struct Row: Sendable, Equatable, Codable {
        public var account: String
        /// The account key's de-duplicated KGW radioactivity score (nil under the Gumbel scheme).
        public var score: WatermarkScore?
        /// Distinct tuples scored under the key.
        public var scored: Int
        /// The test statistic: the green count (KGW) or Σ −log(1 − r) (Gumbel).
        public var statistic: Double
        /// The exact p-value of the de-duplicated test (binomial for KGW, Gamma for Gumbel).
        public var pValue: Double
        public var bonferroni: Double
        public var benjaminiHochberg: Double
        /// Whether the report's correction rejects at α.
        public var accused: Bool

        enum CodingKeys: String, CodingKey {
            case account, score, scored, statistic, pValue = "p_value", bonferroni
            case benjaminiHochberg = "benjamini_hochberg", accused
        }
    }
    public var mode: RadioactivityReport.Mode
    public var alpha: Double
    public var correction: Correction
    /// Ascending p-value (ties by account id).
    public var rows: [Row]
    /// With Bonferroni: P(at least one innocent account accused) ≤ α whatever the suspect and whichever
    /// accounts contributed. With Benjamini–Hochberg: the expected share of innocent accounts among the
    /// accused is ≤ α, and P(any accusation) ≤ α only when no account contributed.
    public var errorBound: Double

    public var accused: [String] { rows.filter(\.accused).map(\.account) }

    enum CodingKeys: String, CodingKey { case mode, alpha, correction, rows, errorBound = "error_bound" }
}

/// Tracing a suspect to accounts. Bonferroni is the default: an accusation names an account, and the
/// family-wise bound is the statement a provider can defend ("the chance that any innocent account among
/// N is named is at most α").
public enum Provenance {
    /// Generation mode: `texts` the suspect wrote (`prompts` as context only), scored under every
    /// account's key with de-duplicated (context, token) tuples.
    public static func trace(
        texts: [[Int32]], prompts: [[Int32]]? = nil, accounts: [String], secret: String,
        watermark template: KGWWatermark,
        alpha: Double = 0.05, correction: ProvenanceReport.Correction = .bonferroni
    ) throws -> ProvenanceReport {
        try trace(
            texts: texts, prompts: prompts, accounts: accounts, secret: secret, scheme: .kgw(template), alpha: alpha,
            correction: correction)
    }

    /// Generation mode under either scheme: every account's key (the template's parameters, the account's key)
    /// scores the de-duplicated tuples of `texts`; one exact p-value per account.
    public static func trace(
        texts: [[Int32]], prompts: [[Int32]]? = nil, accounts: [String], secret: String, scheme: ProvenanceScheme,
        alpha: Double = 0.05, correction: ProvenanceReport.Correction = .bonferroni
    ) throws -> ProvenanceReport {
        try checkAccounts(accounts, alpha: alpha)
        if let prompts, prompts.count != texts.count {
            throw LabError.message(
                "\(prompts.count) prompts for \(texts.count) texts; give one prompt per text, or none")
        }
        let keys = try accounts.map { try AccountKeys.key(secret: secret, account: $0) }
        // Which (window, token) tuples are distinct does not depend on the key: found once, scored N times.
        let tuples = try ProvenanceScheme.DistinctTuples(
            texts: texts, prompts: prompts, contextWidth: scheme.contextWidth, vocabularySize: scheme.vocabularySize)
        var rows = [Result<ProvenanceScheme.Evidence, Error>](
            repeating: .success(.init(score: nil, scored: 0, statistic: 0, pValue: 1)), count: keys.count)
        rows.withUnsafeMutableBufferPointer { out in
            Parallel.forChunks(keys.count, minimumPerChunk: 8) { range in
                for k in range { out[k] = Result { try scheme.withKey(keys[k]).evidence(tuples) } }
            }
        }
        return try report(
            mode: .generation, accounts: accounts, evidence: rows.map { try $0.get() }, alpha: alpha,
            correction: correction)
    }

    /// Reading mode: the suspect model reads `texts` (watermarked text the provider served) and its top-1
    /// predictions are scored under every account's key (Radioactivity.reading, de-duplicated).
    public static func trace(
        student: GPT, texts: [[Int32]], accounts: [String], secret: String, watermark template: KGWWatermark,
        alpha: Double = 0.05, correction: ProvenanceReport.Correction = .bonferroni
    ) throws -> ProvenanceReport {
        let marks = try watermarks(accounts: accounts, secret: secret, template: template, alpha: alpha)
        let reports = try Radioactivity.reading(student: student, texts: texts, watermarks: marks)
        return try report(
            mode: .reading, accounts: accounts,
            evidence: reports.map {
                .init(
                    score: $0.deduplicated, scored: $0.deduplicated.scored, statistic: Double($0.deduplicated.green),
                    pValue: $0.deduplicated.binomialPValue)
            }, alpha: alpha, correction: correction)
    }

    static func watermarks(accounts: [String], secret: String, template: KGWWatermark, alpha: Double) throws
        -> [KGWWatermark]
    {
        try checkAccounts(accounts, alpha: alpha)
        return try accounts.map { try AccountKeys.watermark(template, secret: secret, account: $0) }
    }

    static func checkAccounts(_ accounts: [String], alpha: Double) throws {
        guard !accounts.isEmpty else {
            throw LabError.invalidConfig(key: "accounts", message: "is empty; give the account ids whose keys to test")
        }
        guard Set(accounts).count == accounts.count else {
            throw LabError.invalidConfig(
                key: "accounts", message: "lists an account twice; each account is one test, so give each id once")
        }
        guard alpha > 0, alpha < 1 else {
            throw LabError.invalidConfig(
                key: "alpha", message: "is \(alpha); the error level must be in (0, 1), e.g. 0.05")
        }
    }

    static func report(
        mode: RadioactivityReport.Mode, accounts: [String], evidence: [ProvenanceScheme.Evidence], alpha: Double,
        correction: ProvenanceReport.Correction
    ) throws -> ProvenanceReport {
        let p = evidence.map(\.pValue)
        let bonf = MultipleTesting.bonferroni(p), bh = MultipleTesting.benjaminiHochberg(p)
        var rows = accounts.indices.map { i in
            ProvenanceReport.Row(
                account: accounts[i], score: evidence[i].score, scored: evidence[i].scored,
                statistic: evidence[i].statistic, pValue: p[i], bonferroni: bonf[i], benjaminiHochberg: bh[i],
                accused: (correction == .bonferroni ? bonf[i] : bh[i]) <= alpha)
        }
        rows.sort { ($0.pValue, $0.account) < ($1.pValue, $1.account) }
        return ProvenanceReport(mode: mode, alpha: alpha, correction: correction, rows: rows, errorBound: alpha)
    }
}
