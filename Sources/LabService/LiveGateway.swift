// LiveGateway: the simulator's Gateway (token buckets, daily quotas, detectors, alarm-to-ban delay) driven by
// the wall clock — seconds since the database was created — with one gateway account per API key and bans
// and alarms written through to the store. Not the teacher: admission here, answers in the Batcher.
import Foundation
import LabAPI
import LabCampaigns
import LabCore

/// Why a live request was refused at the door.
enum Admission: Sendable {
    case admitted
    case banned(since: Double)
    case rateLimited(retryAfter: Double)
    case quotaExhausted(retryAfter: Double)
}

final class LiveGateway: @unchecked Sendable {
    private let gateway: Gateway
    private let store: LedgerStore
    private let lock = NSLock()
    /// Store account id → gateway account id, in the order keys were first seen since start.
    private var ids: [Int64: Int] = [:]
    private var storeIDs: [Int] = []
    /// Bans in Unix seconds, loaded from the store and raised by detectors.
    private var bans: [Int64: Double] = [:]
    private var alarmsSeen = 0
    /// Copies of each account's bucket and quota, taken exactly as the gateway takes them, so a request of
    /// k prompts is admitted whole or refused whole (with the time all k fit) — never half-counted.
    private var shadows: [Int64: (bucket: TokenBucket?, quota: DailyQuota?)] = [:]
    private let rateLimit: RateLimitConfig?
    private let start = ContinuousClock.now
    private let startOffset: Double
    let onAlarm: @Sendable (StoredAlarm) -> Void

    init(
        config: GatewayConfig, detectors: [(detector: any Detector, bans: Bool)], store: LedgerStore,
        onAlarm: @escaping @Sendable (StoredAlarm) -> Void = { _ in }
    ) throws {
        gateway = try Gateway(config: config, api: nil, detectors: detectors)
        rateLimit = config.rateLimit
        self.store = store
        self.onAlarm = onAlarm
        startOffset = max(0, Date().timeIntervalSince1970 - store.epoch)
        for account in try store.accounts() { if let b = account.bannedAt { bans[account.id] = b } }
    }

    var detectorNames: [String] { gateway.detectorNames }

    /// Gateway seconds now: monotonic within the process, continuing the database's clock across restarts.
    private func clock() -> Double {
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return max(gateway.now, startOffset + seconds)
    }

    /// Admits one request of `account` whose queries are `queries` (the detectors see each prompt); on a
    /// refusal nothing is served. Alarms the request raises are recorded, and bans written to the store.
    func admit(_ queries: [Query], account: Int64) throws -> Admission {
        lock.lock()
        defer { lock.unlock() }
        let now = clock()
        let unixNow = store.epoch + now
        if let since = bans[account], since <= unixNow { return .banned(since: since) }
        let id: Int
        if let known = ids[account] {
            id = known
        } else {
            id = try gateway.openAccount(at: now)
            ids[account] = id
            storeIDs.append(Int(account))
            shadows[account] = (
                rateLimit.map { TokenBucket(capacity: $0.burst, ratePerSecond: $0.requestsPerMinute / 60, now: now) },
                rateLimit?.queriesPerDay.map { DailyQuota(limit: $0) }
            )
        }
        if var shadow = shadows[account] {
            if let limit = rateLimit, queries.count > limit.burst {
                throw ServiceError.badRequest(
                    "prompt",
                    "\(queries.count) queries in one request exceed the burst of \(limit.burst) requests; send at most \(limit.burst)"
                )
            }
            for _ in queries {
                if let reset = shadow.quota?.take(at: now) { return .quotaExhausted(retryAfter: max(0, reset - now)) }
            }
            var t = now
            for _ in queries {
                while let retry = shadow.bucket?.take(at: t) { t = retry }
            }
            if t > now { return .rateLimited(retryAfter: t - now) }
            shadows[account] = shadow
        }
        for query in queries {
            // The gateway charges its own (shadow) ledger the worst case; the durable ledger records what is served.
            switch try gateway.submit(query, account: id, at: now, compute: false) {
            case .served:
                continue
            case let .refused(.banned(since)):
                return .banned(since: store.epoch + since)
            case let .refused(.rateLimited(retryAt)):
                return .rateLimited(retryAfter: max(0, retryAt - now))
            case let .refused(.quotaExhausted(resetAt)):
                return .quotaExhausted(retryAfter: max(0, resetAt - now))
            case let .refused(.api(refusal)):
                throw refusal
            }
        }
        try flushAlarms()
        return .admitted
    }

    /// Writes the gateway's new alarms (and the bans they schedule) to the store.
    private func flushAlarms() throws {
        let alarms = gateway.alarms
        guard alarms.count > alarmsSeen else { return }
        for alarm in alarms[alarmsSeen...] {
            let account = Int64(storeIDs[alarm.account])
            let stored = StoredAlarm(
                account: account, detector: alarm.detector, time: store.epoch + alarm.time, served: alarm.served,
                bans: alarm.bans)
            try store.record(stored)
            onAlarm(stored)
            if alarm.bans, let banAt = gateway.accounts[alarm.account].banAt {
                let unix = store.epoch + banAt
                bans[account] = min(bans[account] ?? unix, unix)
                try store.ban(account: account, at: unix, reason: "detector \(alarm.detector)")
            }
        }
        alarmsSeen = alarms.count
    }

    /// An operator's ban, effective now.
    func ban(account: Int64, reason: String) throws {
        lock.lock()
        defer { lock.unlock() }
        let unix = store.epoch + clock()
        bans[account] = min(bans[account] ?? unix, unix)
        try store.ban(account: account, at: unix, reason: reason)
    }

    /// Runs population sweeps that are due (clustering) even when no request arrives.
    func tick() throws {
        lock.lock()
        defer { lock.unlock() }
        try gateway.advance(to: clock())
        try flushAlarms()
    }

    /// Current suspicion of each detector for `account` (0 when never seen).
    func suspicion(account: Int64) -> [String: Double] {
        lock.lock()
        defer { lock.unlock() }
        guard let id = ids[account] else { return [:] }
        var out: [String: Double] = [:]
        for name in gateway.detectorNames { out[name] = gateway.detector(named: name)?.suspicion(account: id) }
        return out
    }
}
