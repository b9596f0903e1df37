// BenignPopulation: the honest users behind the gateway — each with a Poisson arrival rate drawn from a
// heavy-tailed (log-normal) distribution, a personal mix of the benign sources leaning towards one topic,
// and an occasional resend of an earlier prompt (the "regenerate" button). Deterministic by seed: user i
// draws from its own stream. Not the gateway's accounts: the simulation opens one per user.
import Foundation
import LabCore
import LabData

public struct BenignPopulationConfig: Equatable, Sendable {
    public var users = 2000
    /// Median over users of requests per simulated day.
    public var requestsPerDayMedian = 20.0
    /// σ of log(requests per day): 1.5 puts the 99th-percentile user at ~33× the median.
    public var requestsPerDaySigma = 1.5
    /// Each user sends a share f ~ U(0, topic_focus) of its prompts to one primary source (drawn by the
    /// mixture's weights) and the rest by the mixture: honest users have topics.
    public var topicFocus = 0.8
    public var promptTokens = PromptLengths()
    /// Completion length honest users ask for.
    public var maxNewTokens = 8
    /// Chance a request resends one of the user's last four prompts unchanged.
    public var repeatProbability = 0.0

    public init() {}

    public func validate() throws {
        func fail(_ key: String, _ message: String) -> LabError {
            LabError.invalidConfig(key: "population.\(key)", message: message)
        }
        guard users >= 0 else { throw fail("users", "is \(users); must be 0 or more") }
        guard requestsPerDayMedian > 0, requestsPerDayMedian.isFinite else {
            throw fail("requests_per_day_median", "is \(requestsPerDayMedian); must be positive")
        }
        guard requestsPerDaySigma >= 0, requestsPerDaySigma.isFinite else {
            throw fail("requests_per_day_sigma", "is \(requestsPerDaySigma); must be 0 or more")
        }
        guard (0...1).contains(topicFocus) else { throw fail("topic_focus", "is \(topicFocus); must be in [0, 1]") }
        try promptTokens.validate(prefix: "population.prompt_tokens")
        guard maxNewTokens >= 1 else { throw fail("max_new_tokens", "is \(maxNewTokens); must be at least 1") }
        guard (0...1).contains(repeatProbability) else {
            throw fail("repeat_probability", "is \(repeatProbability); must be in [0, 1]")
        }
    }
}

/// One honest user.
public struct BenignUser: Sendable {
    /// Requests per second (Poisson).
    public let rate: Double
    /// Probability of each source for this user's prompts.
    public let weights: [Double]
    var rng: LabRNG
    var recent: [[Int32]] = []
}

public final class BenignPopulation {
    public let config: BenignPopulationConfig
    public let mixture: BenignMixture
    public private(set) var users: [BenignUser]

    public init(config: BenignPopulationConfig, mixture: BenignMixture, seed: UInt64) throws {
        try config.validate()
        self.config = config
        self.mixture = mixture
        let base = mixture.weights
        users = (0..<config.users).map { i in
            var rng = LabRNG(seed: seed, stream: "benign-user-\(i)")
            let perDay = config.requestsPerDayMedian * exp(config.requestsPerDaySigma * rng.normal())
            let primary = rng.categorical(base)
            let focus = config.topicFocus * rng.uniform()
            let weights = base.indices.map { (1 - focus) * base[$0] + ($0 == primary ? focus : 0) }
            return BenignUser(rate: perDay / DailyQuota.secondsPerDay, weights: weights, rng: rng)
        }
    }

    /// The user's next request time after `time`: exponential gaps, a Poisson process.
    public func nextArrival(user u: Int, after time: Double) -> Double {
        time - log(1 - users[u].rng.uniform()) / users[u].rate
    }

    /// The user's next prompt: a resend of a recent one, or a fresh window of the validation text of a
    /// source drawn by the user's weights.
    public func prompt(user u: Int) -> [Int32] {
        var user = users[u]
        defer { users[u] = user }
        if !user.recent.isEmpty, user.rng.uniform() < config.repeatProbability {
            return user.recent[user.rng.int(below: user.recent.count)]
        }
        let source = user.rng.categorical(user.weights)
        let p = mixture.window(
            source: source, split: .validation, length: config.promptTokens.draw(&user.rng), rng: &user.rng)
        if user.recent.count == 4 { user.recent.removeFirst() }
        user.recent.append(p)
        return p
    }

    /// A prompt that looks like an average honest user's (the mixture's weights), from `rng`: an attacker's
    /// cover traffic. Drawn from the validation split, the same text users send.
    public func organicPrompt(rng: inout LabRNG) -> [Int32] {
        let source = rng.categorical(mixture.weights)
        return mixture.window(source: source, split: .validation, length: config.promptTokens.draw(&rng), rng: &rng)
    }
}

extension BenignPopulationConfig: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case users, requestsPerDayMedian = "requests_per_day_median", requestsPerDaySigma = "requests_per_day_sigma"
        case topicFocus = "topic_focus", promptTokens = "prompt_tokens", maxNewTokens = "max_new_tokens",
            repeatProbability = "repeat_probability"
    }

    public init(from decoder: Decoder) throws {
        try ConfigKeys.reject(unknownIn: decoder, allowed: CodingKeys.allCases.map(\.rawValue), section: "population")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        users = try c.decodeIfPresent(Int.self, forKey: .users) ?? users
        requestsPerDayMedian = try c.decodeIfPresent(Double.self, forKey: .requestsPerDayMedian) ?? requestsPerDayMedian
        requestsPerDaySigma = try c.decodeIfPresent(Double.self, forKey: .requestsPerDaySigma) ?? requestsPerDaySigma
        topicFocus = try c.decodeIfPresent(Double.self, forKey: .topicFocus) ?? topicFocus
        promptTokens = try c.decodeIfPresent(PromptLengths.self, forKey: .promptTokens) ?? promptTokens
        maxNewTokens = try c.decodeIfPresent(Int.self, forKey: .maxNewTokens) ?? maxNewTokens
        repeatProbability = try c.decodeIfPresent(Double.self, forKey: .repeatProbability) ?? repeatProbability
        try validate()
    }
}
