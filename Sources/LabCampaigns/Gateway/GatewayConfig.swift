// GatewayConfig: what the gateway enforces — per-account token-bucket rate limits and daily quotas, the
// price of opening an account, and how long an alarm takes to become a ban. Codable with snake_case keys,
// unknown keys rejected, `validate()` naming the key. Not the detectors' parameters (DetectorSettings).
import Foundation
import LabAPI
import LabCore

/// Per-account limits, as LLM APIs publish them (requests per minute with a burst, requests per day).
public struct RateLimitConfig: Equatable, Sendable {
    /// Token-bucket refill rate: the sustained requests per minute an account may send.
    public var requestsPerMinute: Double = 10
    /// Bucket capacity: how many requests may arrive back to back after a quiet spell.
    public var burst: Int = 10
    /// Requests served per simulated calendar day (day d is [86400·d, 86400·(d+1)) seconds); nil: no quota.
    public var queriesPerDay: Int? = 1000

    public init(requestsPerMinute: Double = 10, burst: Int = 10, queriesPerDay: Int? = 1000) {
        self.requestsPerMinute = requestsPerMinute
        self.burst = burst
        self.queriesPerDay = queriesPerDay
    }

    public func validate(prefix: String = "gateway.rate_limit") throws {
        guard requestsPerMinute > 0, requestsPerMinute.isFinite else {
            throw LabError.invalidConfig(
                key: "\(prefix).requests_per_minute", message: "is \(requestsPerMinute); must be a positive rate")
        }
        guard burst >= 1 else {
            throw LabError.invalidConfig(
                key: "\(prefix).burst", message: "is \(burst); must be at least 1 (one request)")
        }
        if let q = queriesPerDay, q < 1 {
            throw LabError.invalidConfig(
                key: "\(prefix).queries_per_day", message: "is \(q); must be at least 1, or omitted for no quota")
        }
    }
}

public struct GatewayConfig: Equatable, Sendable {
    /// nil: no rate limits and no quota.
    public var rateLimit: RateLimitConfig? = RateLimitConfig()
    /// What opening one account costs its owner (phone verification, a card, a grey-market account).
    public var accountCost: Money = Money(picodollars: 100_000_000_000)
    /// Seconds from a detector's alarm to the ban taking effect (review, batching; it also keeps the
    /// attacker from learning which request tripped the alarm).
    public var banDelaySeconds: Double = 3600
    /// Whether alarms of the banning detectors ban; false runs every detector as a monitor only.
    public var bans = true

    public init(
        rateLimit: RateLimitConfig? = RateLimitConfig(), accountCost: Money = Money(picodollars: 100_000_000_000),
        banDelaySeconds: Double = 3600, bans: Bool = true
    ) {
        self.rateLimit = rateLimit
        self.accountCost = accountCost
        self.banDelaySeconds = banDelaySeconds
        self.bans = bans
    }

    public func validate() throws {
        try rateLimit?.validate()
        guard accountCost >= .zero else {
            throw LabError.invalidConfig(
                key: "gateway.account_cost_dollars", message: "is \(accountCost); must be 0 or more")
        }
        guard banDelaySeconds >= 0, banDelaySeconds.isFinite else {
            throw LabError.invalidConfig(
                key: "gateway.ban_delay_minutes", message: "is \(banDelaySeconds / 60); must be 0 or more")
        }
    }
}

extension RateLimitConfig: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case requestsPerMinute = "requests_per_minute", burst, queriesPerDay = "queries_per_day"
    }

    public init(from decoder: Decoder) throws {
        try ConfigKeys.reject(
            unknownIn: decoder, allowed: CodingKeys.allCases.map(\.rawValue), section: "gateway.rate_limit")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        requestsPerMinute = try c.decodeIfPresent(Double.self, forKey: .requestsPerMinute) ?? requestsPerMinute
        burst = try c.decodeIfPresent(Int.self, forKey: .burst) ?? burst
        if c.contains(.queriesPerDay) { queriesPerDay = try c.decodeIfPresent(Int.self, forKey: .queriesPerDay) }
        try validate()
    }
}

extension GatewayConfig: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case rateLimit = "rate_limit", accountCost = "account_cost_dollars", banDelay = "ban_delay_minutes", bans
    }

    public init(from decoder: Decoder) throws {
        try ConfigKeys.reject(unknownIn: decoder, allowed: CodingKeys.allCases.map(\.rawValue), section: "gateway")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        if c.contains(.rateLimit) { rateLimit = try c.decodeIfPresent(RateLimitConfig.self, forKey: .rateLimit) }
        if let d = try c.decodeIfPresent(Double.self, forKey: .accountCost) {
            accountCost = try ConfigKeys.money(d, key: "gateway.account_cost_dollars")
        }
        if let m = try c.decodeIfPresent(Double.self, forKey: .banDelay) { banDelaySeconds = m * 60 }
        bans = try c.decodeIfPresent(Bool.self, forKey: .bans) ?? bans
        try validate()
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(rateLimit, forKey: .rateLimit)
        try c.encode(NSDecimalNumber(decimal: accountCost.dollars).doubleValue, forKey: .accountCost)
        try c.encode(banDelaySeconds / 60, forKey: .banDelay)
        try c.encode(bans, forKey: .bans)
    }
}

/// Shared decoding rules of the campaign's config sections.
enum ConfigKeys {
    /// Throws `LabError.invalidConfig` naming the first key of `decoder`'s mapping not in `allowed`, with the
    /// allowed key it is most likely a typo of.
    static func reject(unknownIn decoder: Decoder, allowed: [String], section: String) throws {
        let any = try decoder.container(keyedBy: AnyKey.self)
        let known = Set(allowed)
        if let unknown = any.allKeys.map(\.stringValue).sorted().first(where: { !known.contains($0) }) {
            let mean = EditDistance.suggestion(for: unknown, among: allowed).map { "did you mean '\($0)'? " } ?? ""
            throw LabError.invalidConfig(
                key: "\(section).\(unknown)",
                message: "unknown key; \(mean)\(section) takes \(allowed.joined(separator: ", "))")
        }
    }

    /// Dollars written as a number in a config file, as exact Money (the number's shortest decimal spelling).
    static func money(_ dollars: Double, key: String) throws -> Money {
        guard dollars.isFinite, let d = Decimal(string: "\(dollars)") else {
            throw LabError.invalidConfig(key: key, message: "is \(dollars); must be a finite amount of dollars")
        }
        do {
            return try Money(dollars: d)
        } catch {
            throw LabError.invalidConfig(
                key: key, message: "is \(dollars); must be a whole number of picodollars (10⁻¹² $) within ±$9.2 million"
            )
        }
    }
}
