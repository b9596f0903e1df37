// Boundary-probe detector: an account that maps or tests a safety boundary sends many requests that are refused or
// score near the refusal classifier's threshold; honest users hit the boundary rarely. Each request is a "probe"
// when it was refused or its guard score is at least `near_score`; the account alarms when a one-sided binomial test
// rejects "probe rate ≤ benign_rate" at a doubling checkpoint. Not a content filter: it judges accounts, not prompts.
import Foundation
import LabCore

public final class BoundaryProbeDetector: RegisteredDetector {
    public static let registryName = "boundary_probe"
    public static let reference =
        "share of an account's requests refused or near the guard's threshold; exact binomial test against a benign ceiling at 8, 16, 32, … requests (alpha-spending)"
    public static var encodesDefaults: Bool { false }

    /// The contract: an account whose requests are probes independently with probability at most `benignRate`
    /// alarms with probability at most `alpha` over any number of requests (checkpoint j spends alpha / 2^(j+1)).
    public struct Config: Equatable, Sendable {
        /// The honest ceiling p0 of the probe rate.
        public var benignRate = 0.1
        public var alpha = 0.01
        /// The first checkpoint (then 2×, 4×, …).
        public var minRequests = 8
        /// A guard score at least this counts as near the boundary (1: refusals only).
        public var nearScore = 0.2

        public init() {}

        public func validate() throws {
            func fail(_ key: String, _ message: String) -> LabError {
                LabError.invalidConfig(key: "detectors.boundary_probe.\(key)", message: message)
            }
            guard benignRate > 0, benignRate < 1 else {
                throw fail("benign_rate", "is \(benignRate); allowed range (0, 1)")
            }
            guard alpha > 0, alpha < 1 else { throw fail("alpha", "is \(alpha); allowed range (0, 1)") }
            guard (1...1_000_000).contains(minRequests) else {
                throw fail("min_requests", "is \(minRequests); allowed range 1...1000000")
            }
            guard (0...1).contains(nearScore) else { throw fail("near_score", "is \(nearScore); allowed range [0, 1]") }
        }
    }

    public let config: Config
    var requests: [Int] = []
    var probes: [Int] = []
    var alarmed: [Bool] = []
    /// The last checkpoint's log(tail p-value) / log(its alpha share), in [0, 1]: 1 at (or past) the alarm.
    var lastSuspicion: [Double] = []
    var lastRate: [Double?] = []

    public init(config: Config) { self.config = config }
    public convenience init(config: Config, context: DetectorContext) { self.init(config: config) }

    public var parameters: [(key: String, value: String)] {
        [
            ("benign_rate", CampaignFormat.number(config.benignRate)), ("alpha", CampaignFormat.number(config.alpha)),
            ("min_requests", "\(config.minRequests)"), ("near_score", CampaignFormat.number(config.nearScore)),
        ]
    }

    func grow(to account: Int) {
        while requests.count <= account {
            requests.append(0)
            probes.append(0)
            alarmed.append(false)
            lastSuspicion.append(0)
            lastRate.append(nil)
        }
    }

    /// Whether `o` counts as a probe.
    public func isProbe(_ o: DetectorObservation) -> Bool {
        o.refused || (o.guardScore ?? 0) >= config.nearScore
    }

    public func observe(_ o: DetectorObservation) -> Bool {
        grow(to: o.account)
        let a = o.account
        requests[a] += 1
        if isProbe(o) { probes[a] += 1 }
        let n = requests[a]
        // Checkpoints n = m·2^j; n / m a power of two.
        guard n >= config.minRequests, n % config.minRequests == 0 else { return false }
        let ratio = n / config.minRequests
        guard ratio & (ratio - 1) == 0 else { return false }
        let j = ratio.trailingZeroBitCount
        let share = config.alpha / pow(2, Double(j + 1))
        let tail = Self.binomialUpperTail(n: n, k: probes[a], p: config.benignRate)
        lastSuspicion[a] = min(1, log(max(tail, 1e-300)) / log(share))
        lastRate[a] = Double(probes[a]) / Double(n)
        guard !alarmed[a], tail <= share else { return false }
        alarmed[a] = true
        return true
    }

    /// P(X ≥ k) for X ~ Binomial(n, p), summed in log space.
    public static func binomialUpperTail(n: Int, k: Int, p: Double) -> Double {
        guard k > 0 else { return 1 }
        guard k <= n else { return 0 }
        var total = 0.0
        let lp = log(p), lq = log1p(-p)
        for i in k...n {
            let logChoose = lgamma(Double(n + 1)) - lgamma(Double(i + 1)) - lgamma(Double(n - i + 1))
            total += exp(logChoose + Double(i) * lp + Double(n - i) * lq)
        }
        return min(1, total)
    }

    /// 1 once alarmed; otherwise how close the last checkpoint came (0 at p-value 1, 1 at its alpha share).
    public func suspicion(account: Int) -> Double {
        guard account < requests.count else { return 0 }
        return alarmed[account] ? 1 : lastSuspicion[account]
    }

    /// The probe rate at the last checkpoint; nil before the first.
    public func statistic(account: Int) -> Double? { account < lastRate.count ? lastRate[account] : nil }
}

extension BoundaryProbeDetector.Config: DetectorConfig {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case benignRate = "benign_rate", alpha, minRequests = "min_requests", nearScore = "near_score"
    }

    public init(from decoder: Decoder) throws {
        try ConfigKeys.reject(
            unknownIn: decoder, allowed: CodingKeys.allCases.map(\.rawValue), section: "detectors.boundary_probe")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        benignRate = try c.decodeIfPresent(Double.self, forKey: .benignRate) ?? benignRate
        alpha = try c.decodeIfPresent(Double.self, forKey: .alpha) ?? alpha
        minRequests = try c.decodeIfPresent(Int.self, forKey: .minRequests) ?? minRequests
        nearScore = try c.decodeIfPresent(Double.self, forKey: .nearScore) ?? nearScore
        try validate()
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(benignRate, forKey: .benignRate)
        try c.encode(alpha, forKey: .alpha)
        try c.encode(minRequests, forKey: .minRequests)
        try c.encode(nearScore, forKey: .nearScore)
    }
}
