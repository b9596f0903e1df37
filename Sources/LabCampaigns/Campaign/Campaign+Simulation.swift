// Campaign+Simulation: one campaign cell on the simulated clock — honest users and the attacker's proxies
// as a discrete-event simulation through one Gateway, ties broken by actor index, every draw from a
// named stream of the seed — ending in the harvest's fidelity and the outcome's metrics. Not the metrics'
// definitions (CampaignOutcome) nor the sweep (the CLI).
import Foundation
import LabAPI
import LabAttacks
import LabCore
import LabData

/// The shared, seed-independent parts of a cell: the benign text and the teacher. Build once, reuse across cells.
public final class CampaignWorld {
    public let mixture: BenignMixture
    public let teacher: any TeacherAPI

    public init(mixture: BenignMixture, teacher: any TeacherAPI) {
        self.mixture = mixture
        self.teacher = teacher
    }

    /// The mixture of `config.world` and its bigram teacher.
    public convenience init(config: CampaignConfig) throws {
        let mixture = try BenignMixture(spec: config.world)
        self.init(
            mixture: mixture,
            teacher: try mixture.bigramTeacher(
                smoothing: config.teacherSmoothing, contextLength: CampaignConfig.contextLength))
    }
}

/// Everything one run produced, for the outcome and for tests that check invariants request by request.
public struct CampaignRun {
    public let outcome: CampaignOutcome
    public let gateway: Gateway
    /// Accounts the attacker opened, in order.
    public let attackerAccounts: [Int]
    /// The extraction records (empty in detection-only mode).
    public let records: [CampaignRecord]
    /// (account, time) of every served request, when the run was asked to keep it.
    public let servedLog: [(account: Int, time: Double)]
}

public enum CampaignSimulation {
    /// Runs one cell. `distiller` turns the harvest into fidelity (full mode only; default: the one
    /// `config.student` names). `keepLog` records every served request's account and time (tests; it costs
    /// memory at scale).
    public static func run(
        config: CampaignConfig, seed: UInt64, world: CampaignWorld, distiller: (any CampaignDistiller)? = nil,
        keepLog: Bool = false
    ) throws -> CampaignRun {
        let distiller =
            distiller
            ?? config.student.distiller(
                maxNewTokens: config.attack.maxNewTokens, topLogprobs: config.attack.topLogprobs, seed: seed)
        try config.validate()
        let horizon = config.horizonHours * 3600
        let mixture = world.mixture
        guard world.teacher.vocabularySize == mixture.vocabularySize else {
            throw LabError.invalidConfig(
                key: "teacher",
                message:
                    "has \(world.teacher.vocabularySize) tokens but the benign mixture's vocabulary has \(mixture.vocabularySize); a campaign teacher must read the mixture's tokens"
            )
        }
        let population = try BenignPopulation(config: config.population, mixture: mixture, seed: seed)
        let strategy = try CampaignPrompts(
            name: config.attack.strategy, mixture: mixture, lengths: config.attack.promptTokens, seed: seed,
            teacher: world.teacher)

        // The defender's profile of benign traffic comes from its own logs: a stream no simulated user draws from.
        let context = DetectorContext(
            benignTopics: DetectorTopics(
                profiles: mixture.topicProfiles(
                    prompts: config.profilePrompts, lengths: config.population.promptTokens, seed: seed)))
        var detectors: [(detector: any Detector, bans: Bool)] = []
        for name in config.defence.detectors {
            detectors.append((try DetectorRegistry.make(name, settings: config.detectors, context: context), true))
        }
        for name in config.defence.monitors {
            detectors.append(
                (
                    try DetectorRegistry.make(
                        name, settings: config.detectors, context: context, key: "defence.monitors"), false
                ))
        }
        let api = config.mode == .full ? DefendedAPI(teacher: world.teacher, seed: seed) : nil
        let gateway = try Gateway(
            config: config.effectiveGateway, api: api, detectors: detectors,
            proofOfWork: config.defence.proofOfWork.map(ProofOfWork.init), pipelined: true)

        var queue = EventQueue()
        let U = population.users.count
        for u in 0..<U {
            _ = try gateway.openAccount(at: 0)
            queue.push(population.nextArrival(user: u, after: 0), u)
        }
        var proxies = try (0..<config.attack.accounts).map { p in
            try Proxy(index: p, config: config, gateway: gateway, seed: seed)
        }
        var attackerAccounts = proxies.map(\.account)
        for p in proxies.indices { queue.push(proxies[p].firstArrival(), U + p) }

        let adaptive = try config.attack.adapt.map {
            try AdaptivePrompts(adapt: $0, config: config, mixture: mixture, strategy: strategy)
        }
        var records: [CampaignRecord] = []
        var servedLog: [(account: Int, time: Double)] = []
        var tally = CampaignTally()
        let benignQuery = { (prompt: [Int32]) in Query.completion(prompt, maxNewTokens: config.population.maxNewTokens)
        }

        while let (time, actor) = queue.pop(), time <= horizon {
            if actor < U {
                let result = try gateway.submit(
                    benignQuery(population.prompt(user: actor)), account: actor, at: time, compute: false)
                tally.benignRequests += 1
                var next = population.nextArrival(user: actor, after: time)
                switch result {
                case let .served(receipt):
                    tally.benignServed += 1
                    if keepLog { servedLog.append((actor, time)) }
                    next = max(next, time + (receipt.proofOfWork?.seconds ?? 0))
                case .refused(.banned):
                    continue  // a banned honest user leaves
                case .refused:
                    tally.benignRefused += 1
                }
                queue.push(next, actor)
            } else {
                let p = actor - U
                guard proxies[p].remaining > 0 else { continue }
                let cover = config.attack.coverFraction > 0 && proxies[p].rng.uniform() < config.attack.coverFraction
                let prompt =
                    cover
                    ? population.organicPrompt(rng: &proxies[p].rng)
                    : try adaptive.map { try $0.prompt(&proxies[p], p: p) }
                        ?? strategy.prompt(proxy: p, rng: &proxies[p].rng)
                let query = Query.completion(
                    prompt, maxNewTokens: config.attack.maxNewTokens,
                    logprobs: config.attack.topLogprobs > 0 ? config.attack.topLogprobs : nil)
                tally.attackRequests += 1
                switch try gateway.submit(query, account: proxies[p].account, at: time) {
                case let .served(receipt):
                    proxies[p].remaining -= 1
                    tally.attackDelivered += 1
                    tally.attackTimes.append(time)
                    if cover { tally.coverDelivered += 1 }
                    if keepLog { servedLog.append((proxies[p].account, time)) }
                    if let r = receipt.response {
                        records.append(CampaignRecord(prompt: prompt, completion: r.tokens, topLogprobs: r.topLogprobs))
                    }
                    if let adapt = config.attack.adapt {
                        proxies[p].served(adapt)
                        // A retired account: the next queries come from a fresh one, in the next prompt family.
                        if let k = adapt.accountQueries, proxies[p].servedOnAccount >= k, proxies[p].remaining > 0,
                            attackerAccounts.count < (config.attack.maxAccounts ?? Int.max)
                        {
                            proxies[p].account = try gateway.openAccount(at: time)
                            attackerAccounts.append(proxies[p].account)
                            proxies[p].newAccount()
                        }
                    }
                    if proxies[p].remaining > 0 {
                        queue.push(max(time + proxies[p].gap(), time + (receipt.proofOfWork?.seconds ?? 0)), actor)
                    } else {
                        tally.finishedAt = max(tally.finishedAt ?? 0, time)
                    }
                case let .refused(.rateLimited(retryAt)), let .refused(.quotaExhausted(retryAt)):
                    tally.attackRefused += 1
                    if config.attack.adapt?.learnLimits == true {
                        proxies[p].backOff()
                        queue.push(max(retryAt, time + proxies[p].gap()), actor)
                    } else {
                        queue.push(retryAt, actor)
                    }
                case .refused(.banned):
                    // Rotation: a fresh account takes over the banned one's remaining share.
                    let opened = attackerAccounts.count
                    guard config.attack.rotate, opened < (config.attack.maxAccounts ?? Int.max) else { continue }
                    proxies[p].account = try gateway.openAccount(at: time)
                    attackerAccounts.append(proxies[p].account)
                    if config.attack.adapt != nil { proxies[p].newAccount() }
                    queue.push(time + proxies[p].gap(), actor)
                case let .refused(.api(refusal)):
                    throw refusal
                }
            }
        }
        try gateway.advance(to: horizon)
        tally.attackComplete = proxies.allSatisfy { $0.remaining == 0 }

        var fidelity: CampaignFidelity?
        if config.mode == .full {
            var rng = LabRNG(seed: seed, stream: "evaluation")
            let evaluation = (0..<config.evaluationPrompts).map { _ in
                mixture.window(
                    source: rng.categorical(mixture.weights), split: .test, length: config.evaluationLength, rng: &rng)
            }
            fidelity = try distiller.fidelity(records: records, teacher: world.teacher, evaluation: evaluation)
        }
        let outcome = CampaignOutcome(
            config: config, gateway: gateway, benignAccounts: 0..<U, attackerAccounts: attackerAccounts,
            tally: tally, fidelity: fidelity, distiller: config.mode == .full ? distiller.name : nil)
        return CampaignRun(
            outcome: outcome, gateway: gateway, attackerAccounts: attackerAccounts, records: records,
            servedLog: servedLog)
    }
}

/// Counts the event loop keeps beside the gateway's.
struct CampaignTally {
    var benignRequests = 0, benignServed = 0, benignRefused = 0
    var attackRequests = 0, attackDelivered = 0, coverDelivered = 0
    /// Attack requests refused by rate limits or quotas (429s).
    var attackRefused = 0
    /// Times of served attack requests, ascending.
    var attackTimes: [Double] = []
    var finishedAt: Double?
    var attackComplete = false
}

/// One proxy: its current account, its share left, its pace and its own random stream.
struct Proxy {
    var account: Int
    var remaining: Int
    var rng: LabRNG
    /// Mean seconds between its requests (an adaptive proxy learns it).
    var meanGap: Double
    /// Adaptive campaigns: the fastest pace it probes, requests served in a row and on this account, its
    /// prompt family, and its account's recent extraction prompts (for PRADA shaping).
    var fastestGap = 0.0
    var streak = 0
    var servedOnAccount = 0
    var family: Int
    var history: [[Int32]] = []

    init(index p: Int, config: CampaignConfig, gateway: Gateway, seed: UInt64) throws {
        let a = config.attack, N = a.accounts
        remaining = a.budgetQueries / N + (p < a.budgetQueries % N ? 1 : 0)
        rng = LabRNG(seed: seed, stream: "proxy-\(p)")
        var fastest = 60 / a.unlimitedRequestsPerMinute
        if let limit = config.effectiveGateway.rateLimit {
            fastest = 60 / (a.rateFraction * limit.requestsPerMinute)
            if let q = limit.queriesPerDay {
                fastest = max(fastest, DailyQuota.secondsPerDay / (a.rateFraction * Double(q)))
            }
        }
        switch a.pace {
        case .fast: meanGap = fastest
        case .spread: meanGap = max(fastest, a.durationHours * 3600 / Double(max(1, remaining)))
        }
        family = p
        if let adapt = a.adapt, adapt.learnLimits {
            // The published limits are not read: the proxy starts at its probing pace and learns from 429s.
            fastestGap = 60 / adapt.probeRequestsPerMinute
            meanGap = fastestGap
        }
        account = try gateway.openAccount(at: 0)
    }

    /// One request served: after `probe_every` in a row a learning proxy tries a shorter gap.
    mutating func served(_ adapt: CampaignAdaptation) {
        servedOnAccount += 1
        streak += 1
        if adapt.learnLimits, streak % adapt.probeEvery == 0 { meanGap = max(fastestGap, meanGap * adapt.probeStep) }
    }

    /// A 429: a learning proxy doubles its gap.
    mutating func backOff() {
        streak = 0
        meanGap *= 2
    }

    /// A fresh account (after a ban or a retirement): the next prompt family, no history.
    mutating func newAccount() {
        servedOnAccount = 0
        family += 1
        history.removeAll()
    }

    /// Exponential gaps: the proxy's arrivals are a Poisson process, as an organic user's are.
    mutating func gap() -> Double { -log(1 - rng.uniform()) * meanGap }
    mutating func firstArrival() -> Double { gap() }
}

/// An adaptive campaign's extraction prompts: from the proxy's current prompt family (random tokens: a block
/// of the vocabulary; natural and perturbed: one source of the mixture, perturbed keeping its pool per
/// account, of at most `historySize` prompts), and a share of them edited copies of the account's earlier
/// prompts (PRADA shaping). Without families or shaping, the strategy's own.
struct AdaptivePrompts {
    let adapt: CampaignAdaptation
    let strategyName: String
    let strategy: CampaignPrompts
    let mixture: BenignMixture
    let lengths: ClosedRange<Int>
    static let historySize = 64

    init(adapt: CampaignAdaptation, config: CampaignConfig, mixture: BenignMixture, strategy: CampaignPrompts)
        throws
    {
        self.adapt = adapt
        self.strategyName = config.attack.strategy
        self.strategy = strategy
        self.mixture = mixture
        self.lengths = config.attack.promptTokens
        if adapt.families > 1, strategyName == "random_tokens", (mixture.vocabularySize - 1) / adapt.families < 2 {
            throw LabError.invalidConfig(
                key: "attack.adapt.families",
                message:
                    "is \(adapt.families); the \(mixture.vocabularySize - 1) tokens cannot make that many families of at least 2"
            )
        }
    }

    func prompt(_ proxy: inout Proxy, p: Int) throws -> [Int32] {
        let V = mixture.vocabularySize
        if adapt.shapeFraction > 0, !proxy.history.isEmpty, proxy.rng.uniform() < adapt.shapeFraction {
            var q = proxy.history[proxy.rng.int(below: proxy.history.count)]
            let edits = max(1, min(q.count, Int((abs(proxy.rng.normal()) * adapt.shapeEdits).rounded(.up))))
            for _ in 0..<edits { q[proxy.rng.int(below: q.count)] = Int32(1 + proxy.rng.int(below: V - 1)) }
            return q
        }
        var fresh: [Int32]
        if adapt.families > 1, let perturbed = strategy.strategy as? PerturbedPrompts {
            // Perturbed prompts of one family: the account's pool of natural seeds from its family's source,
            // then copies of them with the strategy's edits.
            if proxy.history.count < perturbed.seeds {
                fresh = familyWindow(&proxy)
            } else {
                fresh = proxy.history[proxy.rng.int(below: proxy.history.count)]
                for _ in 0..<perturbed.edits {
                    fresh[proxy.rng.int(below: fresh.count)] = Int32(1 + proxy.rng.int(below: V - 1))
                }
            }
            if proxy.history.count == Self.historySize { proxy.history.removeFirst() }
            proxy.history.append(fresh)
            return fresh
        } else if adapt.families > 1, strategyName == "random_tokens" {
            let n = lengths.lowerBound + proxy.rng.int(below: lengths.count)
            let block = (V - 1) / adapt.families, family = proxy.family % adapt.families
            fresh = (0..<n).map { _ in Int32(1 + family * block + proxy.rng.int(below: block)) }
        } else if adapt.families > 1, strategyName == "natural" {
            fresh = familyWindow(&proxy)
        } else {
            fresh = try strategy.prompt(proxy: p, rng: &proxy.rng)
        }
        if adapt.shapeFraction > 0 {
            if proxy.history.count == Self.historySize { proxy.history.removeFirst() }
            proxy.history.append(fresh)
        }
        return fresh
    }

    /// A natural window from the source of the proxy's current family.
    func familyWindow(_ proxy: inout Proxy) -> [Int32] {
        let n = lengths.lowerBound + proxy.rng.int(below: lengths.count)
        let source = (proxy.family % adapt.families) % mixture.weights.count
        return mixture.window(source: source, split: .train, length: n, rng: &proxy.rng)
    }
}

/// A binary min-heap of (time, actor); equal times pop in actor order, so a run is one fixed sequence.
struct EventQueue {
    private var heap: [(time: Double, actor: Int)] = []

    private static func less(_ a: (time: Double, actor: Int), _ b: (time: Double, actor: Int)) -> Bool {
        a.time < b.time || (a.time == b.time && a.actor < b.actor)
    }

    mutating func push(_ time: Double, _ actor: Int) {
        heap.append((time, actor))
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Self.less(heap[i], heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (Double, Int)? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count, Self.less(heap[l], heap[m]) { m = l }
                if r < heap.count, Self.less(heap[r], heap[m]) { m = r }
                if m == i { break }
                heap.swapAt(i, m)
                i = m
            }
        }
        return (top.time, top.actor)
    }
}
