// Gateway+TokenBucket: the per-account rate limit — a token bucket refilled continuously on the
// simulated clock, plus a calendar-day quota. Pure arithmetic on times it is given; it never reads a clock.

/// A token bucket (the classic traffic-shaping rule, as API gateways apply it): `capacity` tokens, refilled
/// at `ratePerSecond`; a request takes one token or is refused until one has accrued.
public struct TokenBucket: Equatable, Sendable {
    public let capacity: Double
    public let ratePerSecond: Double
    /// Tokens at `updated`.
    public private(set) var level: Double
    public private(set) var updated: Double

    /// A full bucket at time `now`: a new account may use its burst at once.
    public init(capacity: Int, ratePerSecond: Double, now: Double) {
        self.capacity = Double(capacity)
        self.ratePerSecond = ratePerSecond
        level = Double(capacity)
        updated = now
    }

    /// Takes a token at `now` and returns nil, or returns the earliest time one will be available.
    public mutating func take(at now: Double) -> Double? {
        precondition(now >= updated, "TokenBucket: time went backwards (\(now) < \(updated))")
        level = min(capacity, level + (now - updated) * ratePerSecond)
        updated = now
        if level >= 1 {
            level -= 1
            return nil
        }
        // The time at which the refill, computed as `take` will compute it, reaches a whole token: rounding
        // could otherwise name a time that still falls short by an ulp, and a client retrying then would
        // be refused at the same instant forever.
        var retry = now + (1 - level) / ratePerSecond
        while min(capacity, level + (retry - now) * ratePerSecond) < 1 { retry = retry.nextUp }
        return retry
    }
}

/// Requests served per calendar day of the simulated clock.
public struct DailyQuota: Equatable, Sendable {
    public static let secondsPerDay = 86_400.0
    public let limit: Int
    public private(set) var day = 0
    public private(set) var used = 0

    public init(limit: Int) { self.limit = limit }

    /// Counts one request at `now` and returns nil, or returns the start of the next day when today's quota is spent.
    public mutating func take(at now: Double) -> Double? {
        let today = Int((now / Self.secondsPerDay).rounded(.down))
        if today != day {
            day = today
            used = 0
        }
        guard used < limit else { return Double(today + 1) * Self.secondsPerDay }
        used += 1
        return nil
    }

    /// Whether a request at `now` would fit, without counting it.
    public func admits(at now: Double) -> Bool {
        Int((now / Self.secondsPerDay).rounded(.down)) != day || used < limit
    }
}
