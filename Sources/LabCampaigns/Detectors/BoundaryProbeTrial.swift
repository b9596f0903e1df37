// BoundaryProbeTrial: the boundary-probe detector on honest users and boundary attackers. Honest users come from
// the benign population (log-normal rates, Poisson arrivals over a horizon) and write safety-world requests, a small
// personal share of them on forbidden topics; attackers are the accounts of a SafetyStudy run. Every detector
// observation carries the API's refusal and the guard's score. Not a gateway: nobody is banned or rate limited.
import LabAttacks
import LabCore
import LabData

public struct BoundaryProbeTrialConfig: Equatable, Sendable {
    public var population = BenignPopulationConfig()
    public var horizonDays = 2.0
    /// Mean share of an honest user's requests on a forbidden topic (each user's share is U(0, 2·this)).
    public var benignForbiddenShare = 0.02
    public var detector = BoundaryProbeDetector.Config()

    public init() {
        population.users = 300
        population.requestsPerDaySigma = 1.0
    }

    public func validate() throws {
        try population.validate()
        try detector.validate()
        guard horizonDays > 0, horizonDays <= 30 else {
            throw LabError.invalidConfig(
                key: "detection.horizon_days", message: "is \(horizonDays); allowed range (0, 30]")
        }
        guard benignForbiddenShare >= 0, benignForbiddenShare <= 0.5 else {
            throw LabError.invalidConfig(
                key: "detection.benign_forbidden_share", message: "is \(benignForbiddenShare); allowed range [0, 0.5]")
        }
        guard population.users <= 20_000 else {
            throw LabError.invalidConfig(
                key: "population.users", message: "is \(population.users); allowed range 0...20000")
        }
    }
}

public struct BoundaryProbeTrialOutcome: Sendable {
    /// Alarmed honest users / honest users.
    public var fpr: Double
    /// Honest users with enough requests for a checkpoint.
    public var benignEvaluated: Int
    public var benignRequests: Int
    /// Share of honest requests that were probes (refused or near the threshold).
    public var benignProbeRate: Double
    /// Per attacking account: requests it sent, and requests until its alarm (nil: never).
    public var attackers: [(account: String, requests: Int, untilAlarm: Int?)]
    /// Alarmed attacking accounts / attacking accounts.
    public var tpr: Double
}

public enum BoundaryProbeTrial {
    /// Runs honest users (requests answered through `serve`) and `attackTraffic` past one detector.
    public static func run(
        _ config: BoundaryProbeTrialConfig, world: SafetyWorld,
        attackTraffic: [(account: String, records: [ProbeRecord])],
        serve: ([[Int32]]) throws -> [ProbeRecord], seed: UInt64
    ) throws -> BoundaryProbeTrialOutcome {
        try config.validate()
        var spec = BenignMixtureSpec()
        spec.sources = ["markov": 1]
        spec.tokensPerSplit = 1000
        spec.seed = seed
        // The population supplies the honest users' rates and arrival times; their prompts are the safety world's.
        let population = try BenignPopulation(
            config: config.population, mixture: try BenignMixture(spec: spec), seed: seed)
        let detector = BoundaryProbeDetector(config: config.detector)
        let horizon = config.horizonDays * 86_400
        var requests: [[Int32]] = [], owners: [Int] = []
        for u in 0..<population.users.count {
            var rng = LabRNG(seed: seed, stream: "safety-honest-\(u)")
            let share = 2 * config.benignForbiddenShare * rng.uniform()
            var t = population.nextArrival(user: u, after: 0)
            while t < horizon {
                let r = world.request(
                    forbidden: rng.uniform() < share, aliasShare: world.config.aliasShare,
                    segmentShare: world.config.segmentShare, rng: &rng)
                requests.append(world.tokenizer.encode(r.text).map(Int32.init))
                owners.append(u)
                t = population.nextArrival(user: u, after: t)
            }
        }
        // Answer each distinct prompt once (greedy answers are a function of the prompt).
        var distinct: [[Int32]: Int] = [:]
        var unique: [[Int32]] = []
        for p in requests where distinct[p] == nil {
            distinct[p] = unique.count
            unique.append(p)
        }
        let answers = unique.isEmpty ? [] : try serve(unique)
        var probes = 0
        for (p, u) in zip(requests, owners) {
            let a = answers[distinct[p]!]
            let o = DetectorObservation(
                account: u, time: 0, features: PromptFeatures(prompt: p), refused: a.refused, guardScore: a.score)
            if detector.isProbe(o) { probes += 1 }
            _ = detector.observe(o)
        }
        let U = population.users.count
        let alarmedHonest = (0..<U).filter { $0 < detector.alarmed.count && detector.alarmed[$0] }.count
        let evaluated = (0..<U).filter { detector.statistic(account: $0) != nil }.count
        var attackers: [(String, Int, Int?)] = []
        for (i, traffic) in attackTraffic.enumerated() {
            let id = U + i
            var until: Int?
            for (n, r) in traffic.records.enumerated() {
                let o = DetectorObservation(
                    account: id, time: 0, features: PromptFeatures(prompt: r.prompt), refused: r.refused,
                    guardScore: r.score)
                if detector.observe(o), until == nil { until = n + 1 }
            }
            attackers.append((traffic.account, traffic.records.count, until))
        }
        return BoundaryProbeTrialOutcome(
            fpr: U == 0 ? 0 : Double(alarmedHonest) / Double(U), benignEvaluated: evaluated,
            benignRequests: requests.count,
            benignProbeRate: requests.isEmpty ? 0 : Double(probes) / Double(requests.count),
            attackers: attackers,
            tpr: attackers.isEmpty ? 0 : Double(attackers.filter { $0.2 != nil }.count) / Double(attackers.count))
    }
}
