// CampaignConfig: one campaign cell, every default filled — the benign world and teacher, the population,
// the gateway, the attack, the defence in force, detector parameters and the fidelity evaluation. Codable
// with snake_case keys, unknown keys rejected, `validate()` naming the key. Not the sweep (the CLI's grid).
import Foundation
import LabCore

/// The attacker: N proxies splitting one budget, paced under the published limits.
public struct CampaignAttackConfig: Equatable, Sendable {
    public enum Pace: String, Codable, CaseIterable, Sendable {
        /// As fast as `rate_fraction` of the rate limit allows (or `unlimited_requests_per_minute`).
        case fast
        /// Each proxy spreads its share evenly over `duration_hours`, never faster than `fast` would:
        /// low and slow, like an organic user.
        case spread
    }

    /// N, the proxy accounts opened at the start.
    public var accounts = 10
    /// Queries the campaign buys in all (cover queries included), split evenly over the proxies.
    public var budgetQueries = 20_000
    /// A `StrategyRegistry` name a campaign can run (`CampaignPrompts.names`).
    public var strategy = "random_tokens"
    /// Extraction prompt lengths, uniform in [min, max].
    public var promptTokens: ClosedRange<Int> = 8...32
    /// Share of queries that are organic-looking cover (prompts like an average user's); their answers are
    /// harvested too.
    public var coverFraction = 0.0
    /// Open a fresh account when one is banned, and carry on with its share.
    public var rotate = true
    /// Accounts the attacker will open in all, rotations included; nil: no cap.
    public var maxAccounts: Int?
    public var pace = Pace.spread
    /// Fraction of the rate limit (and of the daily quota) a proxy paces itself to.
    public var rateFraction = 0.9
    /// A proxy's pace when the gateway publishes no limit.
    public var unlimitedRequestsPerMinute = 60.0
    /// The window `spread` pacing aims to finish in.
    public var durationHours = 20.0
    /// What each query asks for: a completion of this many tokens ...
    public var maxNewTokens = 8
    /// ... with the top-k logprobs at each generated position (0: the sampled tokens only).
    public var topLogprobs = 0
    /// How the campaign adapts to the defences (nil: it does not).
    public var adapt: CampaignAdaptation?

    public init() {}

    public func validate() throws {
        func fail(_ key: String, _ message: String) -> LabError {
            LabError.invalidConfig(key: "attack.\(key)", message: message)
        }
        guard accounts >= 1 else { throw fail("accounts", "is \(accounts); a campaign needs at least 1 proxy account") }
        guard budgetQueries >= 1 else { throw fail("budget_queries", "is \(budgetQueries); must be at least 1 query") }
        guard CampaignPrompts.names.contains(strategy) else {
            throw fail("strategy", "is '\(strategy)'; known: \(CampaignPrompts.names.joined(separator: ", "))")
        }
        guard promptTokens.lowerBound >= 1 else {
            throw fail("prompt_tokens", "starts at \(promptTokens.lowerBound); prompts have at least 1 token")
        }
        guard (0...1).contains(coverFraction) else {
            throw fail("cover_fraction", "is \(coverFraction); must be in [0, 1]")
        }
        if let m = maxAccounts, m < accounts {
            throw fail("max_accounts", "is \(m); must be at least accounts (\(accounts)), or omitted for no cap")
        }
        guard rateFraction > 0, rateFraction <= 1 else {
            throw fail("rate_fraction", "is \(rateFraction); must be in (0, 1]")
        }
        guard unlimitedRequestsPerMinute > 0, unlimitedRequestsPerMinute.isFinite else {
            throw fail("unlimited_requests_per_minute", "is \(unlimitedRequestsPerMinute); must be positive")
        }
        guard durationHours > 0, durationHours.isFinite else {
            throw fail("duration_hours", "is \(durationHours); must be positive")
        }
        guard maxNewTokens >= 1 else { throw fail("max_new_tokens", "is \(maxNewTokens); must be at least 1") }
        guard topLogprobs >= 0 else { throw fail("top_logprobs", "is \(topLogprobs); must be 0 or more") }
        try adapt?.validate()
    }
}

/// The defence in force: rate limits on or off, the detectors that ban, those that only watch, and
/// proof-of-work.
public struct CampaignDefenceConfig: Equatable, Sendable {
    /// false removes the gateway's rate limit and quota.
    public var rateLimits = true
    /// Detectors whose alarms ban (after the gateway's delay).
    public var detectors: [String] = []
    /// Detectors that run and log alarms without acting: their operating points at no cost to anyone.
    public var monitors: [String] = []
    public var proofOfWork: ProofOfWorkConfig?

    public init(
        rateLimits: Bool = true, detectors: [String] = [], monitors: [String] = [],
        proofOfWork: ProofOfWorkConfig? = nil
    ) {
        self.rateLimits = rateLimits
        self.detectors = detectors
        self.monitors = monitors
        self.proofOfWork = proofOfWork
    }

    public func validate() throws {
        for (key, list) in [("detectors", detectors), ("monitors", monitors)] {
            for name in list where !DetectorRegistry.names.contains(name) {
                throw LabError.invalidConfig(
                    key: "defence.\(key)",
                    message: "'\(name)' is not a detector; known: \(DetectorRegistry.names.joined(separator: ", "))")
            }
            if Set(list).count != list.count {
                throw LabError.invalidConfig(key: "defence.\(key)", message: "lists a detector twice")
            }
        }
        if let both = detectors.first(where: monitors.contains) {
            throw LabError.invalidConfig(
                key: "defence.monitors",
                message: "'\(both)' is also in defence.detectors; a detector either bans or monitors")
        }
        try proofOfWork?.validate(detectors: detectors + monitors)
    }
}

/// Whether the teacher answers.
public enum CampaignMode: String, Codable, CaseIterable, Sendable {
    /// Every served request goes through the defended API; the harvest trains a student.
    case full
    /// No teacher: the gateway, ledger and detectors run, nothing is served — for scale.
    case detectionOnly = "detection_only"
}

public struct CampaignConfig: Equatable, Sendable {
    public var mode = CampaignMode.full
    public var horizonHours = 24.0
    public var world = BenignMixtureSpec()
    /// Add-α smoothing of the mixture's bigram teacher.
    public var teacherSmoothing = 0.1
    public var population = BenignPopulationConfig()
    public var gateway = GatewayConfig()
    public var attack = CampaignAttackConfig()
    public var defence = CampaignDefenceConfig()
    public var detectors = DetectorSettings()
    /// The student the harvest trains, for the fidelity number.
    public var student = CampaignStudentConfig()
    /// Logged benign prompts per topic the defender estimates the population's n-gram profiles from.
    public var profilePrompts = 3000
    /// Fidelity: held-out test windows and their length.
    public var evaluationPrompts = 200
    public var evaluationLength = 32

    public init() {}

    /// The teacher's context: prompts plus completions must fit.
    public static let contextLength = 64

    public func validate() throws {
        func fail(_ key: String, _ message: String) -> LabError { LabError.invalidConfig(key: key, message: message) }
        guard horizonHours > 0, horizonHours.isFinite, horizonHours <= 24 * 365 else {
            throw fail("horizon_hours", "is \(horizonHours); must be in (0, 8760]")
        }
        try world.validate()
        guard teacherSmoothing > 0, teacherSmoothing.isFinite else {
            throw fail("teacher_smoothing", "is \(teacherSmoothing); must be positive")
        }
        try population.validate()
        try gateway.validate()
        try attack.validate()
        try defence.validate()
        try detectors.validate()
        try student.validate()
        guard profilePrompts >= 1 else { throw fail("profile_prompts", "is \(profilePrompts); must be at least 1") }
        guard evaluationPrompts >= 1 else {
            throw fail("evaluation_prompts", "is \(evaluationPrompts); must be at least 1")
        }
        guard (2...Self.contextLength).contains(evaluationLength) else {
            throw fail("evaluation_length", "is \(evaluationLength); must be in 2...\(Self.contextLength)")
        }
        let T = Self.contextLength
        guard population.promptTokens.max + population.maxNewTokens <= T else {
            throw fail(
                "population.prompt_tokens.max",
                "is \(population.promptTokens.max); with max_new_tokens \(population.maxNewTokens) it must fit the teacher's context of \(T)"
            )
        }
        guard attack.promptTokens.upperBound + attack.maxNewTokens <= T else {
            throw fail(
                "attack.prompt_tokens",
                "ends at \(attack.promptTokens.upperBound); with max_new_tokens \(attack.maxNewTokens) it must fit the teacher's context of \(T)"
            )
        }
    }

    /// The gateway as the defence sets it up.
    public var effectiveGateway: GatewayConfig {
        var g = gateway
        if !defence.rateLimits { g.rateLimit = nil }
        return g
    }
}

extension CampaignAttackConfig: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case accounts, budgetQueries = "budget_queries", strategy, promptTokens = "prompt_tokens", coverFraction =
            "cover_fraction"
        case rotate, maxAccounts = "max_accounts", pace, rateFraction = "rate_fraction"
        case unlimitedRequestsPerMinute = "unlimited_requests_per_minute", durationHours = "duration_hours"
        case maxNewTokens = "max_new_tokens", topLogprobs = "top_logprobs", adapt
    }

    public init(from decoder: Decoder) throws {
        try ConfigKeys.reject(unknownIn: decoder, allowed: CodingKeys.allCases.map(\.rawValue), section: "attack")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        accounts = try c.decodeIfPresent(Int.self, forKey: .accounts) ?? accounts
        budgetQueries = try c.decodeIfPresent(Int.self, forKey: .budgetQueries) ?? budgetQueries
        strategy = try c.decodeIfPresent(String.self, forKey: .strategy) ?? strategy
        if let pair = try c.decodeIfPresent([Int].self, forKey: .promptTokens) {
            guard pair.count == 2, pair[0] <= pair[1] else {
                throw LabError.invalidConfig(
                    key: "attack.prompt_tokens", message: "is \(pair); write [min, max] with min ≤ max")
            }
            promptTokens = pair[0]...pair[1]
        }
        coverFraction = try c.decodeIfPresent(Double.self, forKey: .coverFraction) ?? coverFraction
        rotate = try c.decodeIfPresent(Bool.self, forKey: .rotate) ?? rotate
        maxAccounts = try c.decodeIfPresent(Int.self, forKey: .maxAccounts)
        if let p = try c.decodeIfPresent(String.self, forKey: .pace) {
            guard let v = Pace(rawValue: p) else {
                throw LabError.invalidConfig(key: "attack.pace", message: "is '\(p)'; one of fast, spread")
            }
            pace = v
        }
        rateFraction = try c.decodeIfPresent(Double.self, forKey: .rateFraction) ?? rateFraction
        unlimitedRequestsPerMinute =
            try c.decodeIfPresent(Double.self, forKey: .unlimitedRequestsPerMinute) ?? unlimitedRequestsPerMinute
        durationHours = try c.decodeIfPresent(Double.self, forKey: .durationHours) ?? durationHours
        maxNewTokens = try c.decodeIfPresent(Int.self, forKey: .maxNewTokens) ?? maxNewTokens
        topLogprobs = try c.decodeIfPresent(Int.self, forKey: .topLogprobs) ?? topLogprobs
        adapt = try c.decodeIfPresent(CampaignAdaptation.self, forKey: .adapt)
        try validate()
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(accounts, forKey: .accounts)
        try c.encode(budgetQueries, forKey: .budgetQueries)
        try c.encode(strategy, forKey: .strategy)
        try c.encode([promptTokens.lowerBound, promptTokens.upperBound], forKey: .promptTokens)
        try c.encode(coverFraction, forKey: .coverFraction)
        try c.encode(rotate, forKey: .rotate)
        try c.encodeIfPresent(maxAccounts, forKey: .maxAccounts)
        try c.encode(pace, forKey: .pace)
        try c.encode(rateFraction, forKey: .rateFraction)
        try c.encode(unlimitedRequestsPerMinute, forKey: .unlimitedRequestsPerMinute)
        try c.encode(durationHours, forKey: .durationHours)
        try c.encode(maxNewTokens, forKey: .maxNewTokens)
        try c.encode(topLogprobs, forKey: .topLogprobs)
        // Absent when the campaign does not adapt, so non-adaptive cells keep their identity.
        try c.encodeIfPresent(adapt, forKey: .adapt)
    }
}

extension CampaignDefenceConfig: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case rateLimits = "rate_limits", detectors, monitors, proofOfWork = "proof_of_work"
    }

    public init(from decoder: Decoder) throws {
        try ConfigKeys.reject(unknownIn: decoder, allowed: CodingKeys.allCases.map(\.rawValue), section: "defence")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        rateLimits = try c.decodeIfPresent(Bool.self, forKey: .rateLimits) ?? rateLimits
        detectors = try c.decodeIfPresent([String].self, forKey: .detectors) ?? detectors
        monitors = try c.decodeIfPresent([String].self, forKey: .monitors) ?? monitors
        proofOfWork = try c.decodeIfPresent(ProofOfWorkConfig.self, forKey: .proofOfWork)
        try validate()
    }
}

extension CampaignConfig: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case mode, horizonHours = "horizon_hours", world, teacherSmoothing = "teacher_smoothing", population, gateway,
            attack, defence
        case detectors, student, profilePrompts = "profile_prompts", evaluationPrompts = "evaluation_prompts",
            evaluationLength = "evaluation_length"
    }

    public init(from decoder: Decoder) throws {
        try ConfigKeys.reject(unknownIn: decoder, allowed: CodingKeys.allCases.map(\.rawValue), section: "campaign")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        if let m = try c.decodeIfPresent(String.self, forKey: .mode) {
            guard let v = CampaignMode(rawValue: m) else {
                throw LabError.invalidConfig(key: "campaign.mode", message: "is '\(m)'; one of full, detection_only")
            }
            mode = v
        }
        horizonHours = try c.decodeIfPresent(Double.self, forKey: .horizonHours) ?? horizonHours
        world = try c.decodeIfPresent(BenignMixtureSpec.self, forKey: .world) ?? world
        teacherSmoothing = try c.decodeIfPresent(Double.self, forKey: .teacherSmoothing) ?? teacherSmoothing
        population = try c.decodeIfPresent(BenignPopulationConfig.self, forKey: .population) ?? population
        gateway = try c.decodeIfPresent(GatewayConfig.self, forKey: .gateway) ?? gateway
        attack = try c.decodeIfPresent(CampaignAttackConfig.self, forKey: .attack) ?? attack
        defence = try c.decodeIfPresent(CampaignDefenceConfig.self, forKey: .defence) ?? defence
        detectors = try c.decodeIfPresent(DetectorSettings.self, forKey: .detectors) ?? detectors
        student = try c.decodeIfPresent(CampaignStudentConfig.self, forKey: .student) ?? student
        profilePrompts = try c.decodeIfPresent(Int.self, forKey: .profilePrompts) ?? profilePrompts
        evaluationPrompts = try c.decodeIfPresent(Int.self, forKey: .evaluationPrompts) ?? evaluationPrompts
        evaluationLength = try c.decodeIfPresent(Int.self, forKey: .evaluationLength) ?? evaluationLength
        try validate()
    }
}
