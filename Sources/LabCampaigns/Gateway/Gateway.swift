// Gateway: the front door of the defended API on a simulated clock — accounts that cost money to open,
// per-account token-bucket rate limits and daily quotas, proof-of-work priced by suspicion, detectors that
// watch every served request, and bans that land a fixed delay after an alarm. Deterministic: it reads no
// clock and draws no randomness. Not the population or the attacker (Benign*, Campaign*): they call it.
import LabAPI
import LabCore

/// Why the gateway refused a request. A refused request is neither served nor charged API dollars.
public enum GatewayRefusal: Equatable, Sendable {
    /// The account was banned at `since`.
    case banned(since: Double)
    /// The token bucket is empty; a token accrues at `retryAt`.
    case rateLimited(retryAt: Double)
    /// Today's quota is spent; it resets at `resetAt`.
    case quotaExhausted(resetAt: Double)
    /// The API behind refused (policy or the account's ledger budget).
    case api(APIRefusal)
}

/// What a served request gave and cost.
public struct GatewayReceipt: Sendable {
    /// The teacher's answer; nil in detection-only mode (no teacher behind the gateway).
    public var response: Response?
    /// Tokens, dollars and teacher FLOPs from the ledger.
    public var usage: Usage
    /// The puzzle the client solved first; nil without proof-of-work.
    public var proofOfWork: ProofOfWorkCharge?
}

public enum GatewayResult: Sendable {
    case served(GatewayReceipt)
    case refused(GatewayRefusal)
}

/// One alarm a detector raised.
public struct GatewayAlarm: Equatable, Sendable {
    public var account: Int
    public var detector: String
    public var time: Double
    /// Requests the account had been served when the alarm rose: the queries until detection.
    public var served: Int
    /// Whether the detector bans (false: a monitor).
    public var bans: Bool
}

/// An account as the gateway keeps it.
public struct GatewayAccount: Sendable {
    public let id: Int
    /// Its name in the ledger.
    public let name: String
    public let openedAt: Double
    public internal(set) var served = 0
    public internal(set) var refusedRateLimit = 0
    public internal(set) var refusedQuota = 0
    public internal(set) var refusedBanned = 0
    /// When the ban takes effect (alarm + delay); nil while the account is in good standing.
    public internal(set) var banAt: Double?
    public internal(set) var proofOfWorkHashes: UInt64 = 0
    public internal(set) var proofOfWorkSeconds = 0.0
    var bucket: TokenBucket?
    var quota: DailyQuota?

    /// Whether the account is banned at `time`.
    public func isBanned(at time: Double) -> Bool { banAt.map { $0 <= time } ?? false }
}

public final class Gateway {
    public let config: GatewayConfig
    /// The defended API behind the gateway; nil in detection-only mode, where nothing reaches a teacher.
    public let api: DefendedAPI?
    /// API costs of every account: `api.ledger` when there is an API.
    public let ledger: Ledger
    public let proofOfWork: ProofOfWork?
    /// The accounts, in opening order (read after the detectors' pending alarms are in: see `settle()`).
    public var accounts: [GatewayAccount] {
        settle()
        return table
    }
    /// Every alarm, in the order raised.
    public var alarms: [GatewayAlarm] {
        settle()
        return alarmLog
    }
    var table: [GatewayAccount] = []
    var alarmLog: [GatewayAlarm] = []
    /// The latest time the gateway has been shown; requests must not arrive before it.
    public private(set) var now = 0.0
    /// Requests served, in every account.
    public private(set) var served = 0
    let detectors: [(detector: any Detector, bans: Bool)]
    var nextSweep: [Double]
    /// The detectors' worker when they run beside the gateway (`pipelined`), the items not yet handed to it,
    /// and the time of the oldest item whose alarms are not yet in.
    let pipeline: DetectorPipeline?
    var pending: [DetectorWork] = []
    var oldestPending: Double?

    /// `detectors` with `bans: false` only monitor: their alarms are logged, never acted on. A
    /// `proofOfWork` reads the suspicion of the detector its config names (or the largest of all).
    /// `pipelined` runs the detectors on workers of their own, one per detector (Gateway+DetectorPipeline.swift),
    /// when the outcome cannot tell: a ban delay above zero and no proof-of-work; otherwise it is ignored.
    public init(
        config: GatewayConfig, api: DefendedAPI?, ledger: Ledger = Ledger(),
        detectors: [(detector: any Detector, bans: Bool)] = [],
        proofOfWork: ProofOfWork? = nil, pipelined: Bool = false
    ) throws {
        try config.validate()
        if let pow = proofOfWork { try pow.config.validate(detectors: detectors.map(\.detector.name)) }
        self.config = config
        self.api = api
        self.ledger = api?.ledger ?? ledger
        self.detectors = detectors
        self.proofOfWork = proofOfWork
        nextSweep = detectors.map { $0.detector.sweepInterval ?? .infinity }
        pipeline =
            pipelined && proofOfWork == nil && config.banDelaySeconds > 0 && !detectors.isEmpty
            ? DetectorPipeline(detectors: detectors.map(\.detector), workers: Parallel.workers) : nil
    }

    /// Whether the detectors run on workers of their own.
    public var isPipelined: Bool { pipeline != nil }

    /// Waits for the detectors' workers and applies every alarm they have found (nothing to do when synchronous).
    /// The public readers of accounts, alarms and detectors call it; so does a request old pending work could ban.
    public func settle() {
        guard let pipeline, oldestPending != nil else { return }
        if !pending.isEmpty {
            pipeline.submit(pending)
            pending = []
        }
        for a in pipeline.collect() { raise(account: a.account, detector: a.detector, at: a.time, served: a.served) }
        oldestPending = nil
    }

    /// Queues one item for the detectors' worker, handing items over in batches.
    func enqueue(_ item: DetectorWork, at time: Double) {
        guard let pipeline else { return }
        pending.append(item)
        if oldestPending == nil { oldestPending = time }
        if pending.count >= 2048 {
            pipeline.submit(pending)
            pending = []
        }
    }

    public var detectorNames: [String] { detectors.map(\.detector.name) }

    /// The running detector called `name`, to read its state after a run.
    public func detector(named name: String) -> (any Detector)? {
        settle()
        return detectors.first { $0.detector.name == name }?.detector
    }

    /// Opens an account at `time` with the ledger `budget`; its owner pays `config.accountCost`.
    public func openAccount(at time: Double, budget: Budget = .unlimited) throws -> Int {
        try advance(to: time)
        let id = table.count
        let name = "acct-\(id)"
        try ledger.open(name, budget: budget)
        var account = GatewayAccount(id: id, name: name, openedAt: time)
        if let limit = config.rateLimit {
            account.bucket = TokenBucket(capacity: limit.burst, ratePerSecond: limit.requestsPerMinute / 60, now: time)
            account.quota = limit.queriesPerDay.map { DailyQuota(limit: $0) }
        }
        table.append(account)
        return id
    }

    /// Moves the clock to `time`, running every population sweep due by then (at its scheduled time).
    public func advance(to time: Double) throws {
        guard time >= now, time.isFinite else {
            throw LabError.message(
                "the gateway's clock is at \(now) s; a request at \(time) s would go back in time (send requests in time order)"
            )
        }
        while let (d, due) = nextSweep.enumerated().min(by: { $0.element < $1.element }).map({ ($0.offset, $0.element) }
        ), due <= time {
            now = due
            if pipeline != nil {
                enqueue(.sweep(detector: d, time: due), at: due)
            } else {
                for account in detectors[d].detector.sweep(time: due) {
                    raise(account: account, detector: d, at: due, served: table[account].served)
                }
            }
            nextSweep[d] = due + (detectors[d].detector.sweepInterval ?? .infinity)
        }
        now = time
    }

    /// Handles one request of `account` at `time`: refused if banned, over quota or over the rate limit;
    /// otherwise the client's proof-of-work is charged, the API answers (or, without one or with `compute`
    /// false, the ledger charges the query's worst case and nothing is computed), and every detector sees it.
    /// `compute: false` is for traffic whose answers nobody reads (simulated honest users): the same
    /// admission, billing and detection, without the teacher's forward pass.
    public func submit(_ query: Query, account id: Int, at time: Double, compute: Bool = true) throws -> GatewayResult {
        try advance(to: time)
        // An alarm from work still pending bans at its time + the delay: wait for it only once that could be now.
        if let oldest = oldestPending, oldest + config.banDelaySeconds <= time { settle() }
        guard table.indices.contains(id) else { throw APIRefusal(reason: .unknownAccount("#\(id)")) }
        if let since = table[id].banAt, since <= time {
            table[id].refusedBanned += 1
            return .refused(.banned(since: since))
        }
        if let quota = table[id].quota, !quota.admits(at: time) {
            table[id].refusedQuota += 1
            return .refused(
                .quotaExhausted(resetAt: (Double(Int(time / DailyQuota.secondsPerDay)) + 1) * DailyQuota.secondsPerDay))
        }
        if let retry = table[id].bucket?.take(at: time) {
            table[id].refusedRateLimit += 1
            return .refused(.rateLimited(retryAt: retry))
        }
        _ = table[id].quota?.take(at: time)

        var work: ProofOfWorkCharge?
        if let pow = proofOfWork {
            let charge = pow.charge(score: suspicion(account: id, from: pow.config.scoreFrom))
            table[id].proofOfWorkHashes += charge.hashes
            table[id].proofOfWorkSeconds += charge.seconds
            work = charge
        }

        let name = table[id].name
        let response: Response?, usage: Usage
        do {
            if let api, compute {
                let r = try api.call(query, account: name)
                response = r
                usage = r.usage
            } else {
                try query.validate(vocabularySize: Int(Int32.max), contextLength: Int.max)
                let metered = Metered(inputTokens: query.prompt.count, outputTokens: query.maxOutputTokens)
                let (_, usages) = try ledger.charge(account: name, worstCase: [metered]) { ((), [metered]) }
                response = nil
                usage = usages[0]
            }
        } catch let refusal as APIRefusal {
            return .refused(.api(refusal))
        }
        table[id].served += 1
        served += 1

        if pipeline != nil {
            enqueue(.observe(account: id, time: time, features: PromptFeatures(prompt: query.prompt)), at: time)
        } else {
            let observation = DetectorObservation(
                account: id, time: time, features: PromptFeatures(prompt: query.prompt))
            for d in detectors.indices where detectors[d].detector.observe(observation) {
                raise(account: id, detector: d, at: time, served: table[id].served)
            }
        }
        return .served(GatewayReceipt(response: response, usage: usage, proofOfWork: work))
    }

    /// Logs an alarm (with the account's requests served when it rose) and, for a banning detector, schedules
    /// the ban (the earliest one stands).
    func raise(account id: Int, detector d: Int, at time: Double, served: Int) {
        let bans = detectors[d].bans && config.bans
        alarmLog.append(
            GatewayAlarm(account: id, detector: detectors[d].detector.name, time: time, served: served, bans: bans))
        guard bans else { return }
        let at = time + config.banDelaySeconds
        table[id].banAt = min(table[id].banAt ?? at, at)
    }

    /// The suspicion proof-of-work reads: one detector's, or the largest.
    func suspicion(account id: Int, from source: String) -> Double {
        var score = 0.0
        for (detector, _) in detectors where source == "max" || detector.name == source {
            score = max(score, detector.suspicion(account: id))
        }
        return score
    }
}
