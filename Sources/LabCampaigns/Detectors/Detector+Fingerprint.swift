// Distribution fingerprint: how far an account's pooled prompt n-gram distribution is from the benign
// population's — measured against the closest mixture of the population's topics (its per-source profiles,
// mixture weights fitted by EM), because honest users have topics and a single population average would
// flag every focused user. Statistic: queries × Jensen–Shannon residual (a G-test-like quantity whose
// benign level does not grow with volume), checked every few requests. Not a per-prompt test.
import Foundation
import LabCore

public final class FingerprintDetector: RegisteredDetector {
    public static let registryName = "fingerprint"
    public static let reference =
        "queries × Jensen–Shannon divergence of the account's pooled n-gram distribution from its best fit as a mixture of benign topic profiles"

    public struct Config: Equatable, Sendable {
        /// Requests pooled before the first check.
        public var minQueries: Int = 20
        public var checkEvery: Int = 10
        /// Alarm when queries × JS residual (nats) exceeds this. Under the benign hypothesis the residual
        /// shrinks like 1/queries, so the product stays level (≈ 0.2–0.45 for this lab's honest users).
        public var threshold: Double = 0.6
        /// EM iterations per check fitting the account's topic weights (each check starts from the last fit).
        public var iterations: Int = 20

        public init() {}

        public func validate() throws {
            func fail(_ key: String, _ message: String) -> LabError {
                LabError.invalidConfig(key: "detectors.fingerprint.\(key)", message: message)
            }
            guard minQueries >= 1 else { throw fail("min_queries", "is \(minQueries); must be at least 1") }
            guard checkEvery >= 1 else { throw fail("check_every", "is \(checkEvery); must be at least 1") }
            guard threshold > 0, threshold.isFinite else {
                throw fail("threshold", "is \(threshold); must be positive (queries × JS, nats)")
            }
            guard iterations >= 1 else { throw fail("iterations", "is \(iterations); must be at least 1") }
        }
    }

    public let config: Config
    public let topics: DetectorTopics
    var pooled = PooledCounts()
    var weights: [[Float]] = []
    var counts: [Int] = []
    var last: [Double] = []
    var alarmed: [Bool] = []

    public convenience init(config: Config, context: DetectorContext) {
        self.init(config: config, topics: context.benignTopics)
    }

    public init(config: Config, topics: DetectorTopics) {
        self.config = config
        self.topics = topics
    }

    public var parameters: [(key: String, value: String)] {
        [
            ("min_queries", "\(config.minQueries)"), ("check_every", "\(config.checkEvery)"),
            ("threshold", CampaignFormat.number(config.threshold)),
            ("iterations", "\(config.iterations)"),
        ]
    }

    public func observe(_ o: DetectorObservation) -> Bool {
        let a = o.account
        while counts.count <= a {
            counts.append(0)
            last.append(0)
            alarmed.append(false)
            weights.append([])
        }
        pooled.add(o.features.counts, to: a)
        counts[a] += 1
        guard counts[a] >= config.minQueries, (counts[a] - config.minQueries) % config.checkEvery == 0 else {
            return false
        }
        let p = pooled.vector(a)
        last[a] =
            Double(counts[a])
            * topics.residual(p / max(1, p.sum()), weights: &weights[a], iterations: config.iterations)
        guard last[a] > config.threshold, !alarmed[a] else { return false }
        alarmed[a] = true
        return true
    }

    public func suspicion(account: Int) -> Double {
        account < last.count ? min(1, last[account] / config.threshold) : 0
    }

    /// The statistic's last value for an account (nil before its first check).
    public func statistic(account: Int) -> Double? {
        account < last.count && counts[account] >= config.minQueries ? last[account] : nil
    }
}

extension FingerprintDetector.Config: DetectorConfig {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case minQueries = "min_queries", checkEvery = "check_every", threshold, iterations
    }

    public init(from decoder: Decoder) throws {
        try ConfigKeys.reject(
            unknownIn: decoder, allowed: CodingKeys.allCases.map(\.rawValue), section: "detectors.fingerprint")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        minQueries = try c.decodeIfPresent(Int.self, forKey: .minQueries) ?? minQueries
        checkEvery = try c.decodeIfPresent(Int.self, forKey: .checkEvery) ?? checkEvery
        threshold = try c.decodeIfPresent(Double.self, forKey: .threshold) ?? threshold
        iterations = try c.decodeIfPresent(Int.self, forKey: .iterations) ?? iterations
        try validate()
    }
}
