// Volume detector: the simplest anomaly rule an API operator runs — an account that sends more than
// `max_requests` in any sliding window of `window_minutes` alarms. It reads arrival times only, never
// prompts; the threshold is meant to sit at a high quantile of honest accounts' busiest window.
import LabCore

public final class VolumeDetector: RegisteredDetector {
    public static let registryName = "volume"
    public static let reference = "sliding-window request count per account above a threshold (rate anomaly)"

    public struct Config: Equatable, Sendable {
        public var windowSeconds: Double = 3600
        /// Alarm when the window holds more than this many requests.
        public var maxRequests: Int = 120

        public init() {}

        public init(windowSeconds: Double = 3600, maxRequests: Int = 120) {
            self.windowSeconds = windowSeconds
            self.maxRequests = maxRequests
        }

        public func validate() throws {
            guard windowSeconds > 0, windowSeconds.isFinite else {
                throw LabError.invalidConfig(
                    key: "detectors.volume.window_minutes", message: "is \(windowSeconds / 60); must be positive")
            }
            guard maxRequests >= 1 else {
                throw LabError.invalidConfig(
                    key: "detectors.volume.max_requests", message: "is \(maxRequests); must be at least 1")
            }
        }
    }

    public let config: Config
    /// Per account: the last maxRequests + 1 arrival times, a ring (oldest at `head`).
    var times: [[Double]] = []
    var head: [Int] = []
    var alarmed: [Bool] = []
    /// The most requests any window of the account held.
    var busiest: [Int] = []

    public init(config: Config) { self.config = config }
    public convenience init(config: Config, context: DetectorContext) { self.init(config: config) }

    public var parameters: [(key: String, value: String)] {
        [
            ("window_minutes", CampaignFormat.number(config.windowSeconds / 60)),
            ("max_requests", "\(config.maxRequests)"),
        ]
    }

    func grow(to account: Int) {
        while times.count <= account {
            times.append([])
            head.append(0)
            alarmed.append(false)
            busiest.append(0)
        }
    }

    public func observe(_ o: DetectorObservation) -> Bool {
        grow(to: o.account)
        let a = o.account, keep = config.maxRequests + 1
        if times[a].count < keep {
            times[a].append(o.time)
        } else {
            times[a][head[a]] = o.time
            head[a] = (head[a] + 1) % keep
        }
        busiest[a] = max(busiest[a], inWindow(a, endingAt: o.time))
        // The ring holds the last maxRequests + 1 times; the oldest of them still inside the window means
        // the window holds more than maxRequests.
        guard !alarmed[a], times[a].count == keep, times[a][head[a]] > o.time - config.windowSeconds else {
            return false
        }
        alarmed[a] = true
        return true
    }

    /// Requests of the ring inside the window ending at `time` (capped at maxRequests + 1): a binary search,
    /// the ring being in time order from `head`.
    func inWindow(_ a: Int, endingAt time: Double) -> Int {
        let ring = times[a], n = ring.count
        var lo = 0, hi = n
        while lo < hi {
            let mid = (lo + hi) / 2
            if ring[(head[a] + mid) % n] > time - config.windowSeconds { hi = mid } else { lo = mid + 1 }
        }
        return n - lo
    }

    /// Requests in the window ending at the account's last request, over the threshold.
    public func suspicion(account: Int) -> Double {
        guard account < times.count, !times[account].isEmpty else { return 0 }
        let last = times[account][(head[account] + times[account].count - 1) % times[account].count]
        return min(1, Double(inWindow(account, endingAt: last)) / Double(config.maxRequests))
    }

    /// The busiest window's request count (capped at max_requests + 1).
    public func statistic(account: Int) -> Double? { account < busiest.count ? Double(busiest[account]) : nil }
}

extension VolumeDetector.Config: DetectorConfig {
    enum CodingKeys: String, CodingKey, CaseIterable { case window = "window_minutes", maxRequests = "max_requests" }

    public init(from decoder: Decoder) throws {
        try ConfigKeys.reject(
            unknownIn: decoder, allowed: CodingKeys.allCases.map(\.rawValue), section: "detectors.volume")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        if let m = try c.decodeIfPresent(Double.self, forKey: .window) { windowSeconds = m * 60 }
        maxRequests = try c.decodeIfPresent(Int.self, forKey: .maxRequests) ?? maxRequests
        try validate()
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(windowSeconds / 60, forKey: .window)
        try c.encode(maxRequests, forKey: .maxRequests)
    }
}
