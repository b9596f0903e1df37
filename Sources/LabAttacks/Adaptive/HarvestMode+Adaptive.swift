// Adaptive harvest: the attacker who knows output defences exist and tests for them before buying.
// The first `pilot_prompts` prompts are each asked `pilot_repeats` times for the full distribution, and
// `views` − 1 times more with a known logit bias on one token; what the answers show picks the plan:
// - answers that differ between repeats (output noise): average R repeats per prompt, R chosen from the
//   noise measured, R = ⌈σ̂² / tolerance²⌉ within [1, max_repeats] — the repeats are charged like any query;
// - answers that miss mass (top-k, high-confidence cutoff): logit-bias reconstruction (Carlini et al.
//   2024, §5) in blocks as large as the answers are long;
// - biased views that, with their bias taken back out, disagree with the plain answer (MAD, adaptive
//   misinformation, reverse sigmoid): every prompt is asked `views` times, plain and with the bias on a
//   different token each time, and the answers are combined token by token by their median in log space,
//   which discards a perturbation that touches one token per answer (MAD moves mass toward one vertex) or
//   whole answers in a minority (misinformation spares a row whose biased token pushes it over the threshold);
// - none of these: plain distribution queries, one per prompt.
// Not a defence-specific inversion (the reverse sigmoid is not inverted), and not prompt choice.
import Foundation
import LabAPI
import LabCore

public final class AdaptiveHarvest: RegisteredHarvestMode {
    /// What the mode buys for each prompt once the pilot has decided.
    public enum Plan: Equatable, Sendable, CustomStringConvertible {
        /// One `distribution` query.
        case plain
        /// `repeats` `distribution` queries, their reported values averaged.
        case average(repeats: Int)
        /// Logit-bias reconstruction in blocks of `k` − 1 tokens plus the reference.
        case bias(k: Int)
        /// The plain answer and `views` − 1 biased ones, combined by the per-token median.
        case consensus

        public var description: String {
            switch self {
            case .plain: return "plain"
            case let .average(r): return "average(\(r))"
            case let .bias(k): return "bias(k=\(k))"
            case .consensus: return "consensus"
            }
        }
    }

    public static let registryName = "adaptive"
    public static let reference =
        "pilot-tested: repeats averaged against noise, logit bias against truncation, biased views' median against poisoning"
    /// How a config names the plan: decided by the pilot, or forced.
    public enum PlanName: String, CaseIterable, Sendable { case auto, plain, average, bias, consensus }
    public enum Declared {
        public static let plan = PartParameter.choice(
            "plan", PlanName.auto,
            meaning: "`auto` (decided by the pilot), or forced: `plain`, `average`, `bias`, `consensus`")
        public static let pilotPrompts = PartParameter.int(
            "pilot_prompts", 4, valid: { $0 >= 1 }, "must be at least 1",
            meaning: "prompts asked the pilot's questions before the plan is chosen")
        public static let pilotRepeats = PartParameter.int(
            "pilot_repeats", 3, valid: { $0 >= 2 }, "must be at least 2 to measure a variance",
            meaning: "plain distribution queries per pilot prompt, to measure the noise (≥ 2)")
        public static let tolerance = PartParameter.double(
            "tolerance", 0.05, valid: { $0 > 0 && $0.isFinite }, "must be a positive deviation",
            meaning: "standard deviation per reported value that averaging aims for: R = ⌈σ̂²/tol²⌉")
        public static let maxRepeats = PartParameter.int(
            "max_repeats", 8, valid: { $0 >= 1 }, "must be at least 1",
            meaning: "most repeats averaged per prompt (`average`'s R when forced)")
        public static let missingMass = PartParameter.double(
            "missing_mass", 0.05, valid: { $0 >= 0 && $0 < 1 }, "must be in [0, 1)",
            meaning: "pilot answers reporting less than 1 − this in total are truncated: logit bias")
        public static let consistency = PartParameter.double(
            "consistency", 0.02, valid: { $0 >= 0 && $0 <= 1 }, "must be a total variation in [0, 1]",
            meaning: "total variation between the plain answer and the views' median above which answers are poisoned")
        public static let views = PartParameter.int(
            "views", 3, valid: { $0 >= 2 }, "must be at least 2: the plain answer and one biased",
            meaning: "answers per prompt under `consensus`: the plain one and views − 1 biased ones")
        public static let viewBias = PartParameter.double(
            "view_bias", 12, valid: { $0 > 0 && $0.isFinite }, "must be a positive finite logit offset",
            meaning:
                "logit bias on the one token each biased view lifts; every token also gets a draw in [0, view_bias/3]")
    }
    /// `k`, `bias` and `reference` are the logit-bias harvest's own parameters.
    public static let parameterDocs = [
        Declared.plan.doc, Declared.pilotPrompts.doc, Declared.pilotRepeats.doc, Declared.tolerance.doc,
        Declared.maxRepeats.doc, Declared.missingMass.doc, Declared.consistency.doc, Declared.views.doc,
        Declared.viewBias.doc,
        LogitBiasHarvest.Declared.k.doc(
            meaning: "largest block of the logit-bias reconstruction (used: what the pilot's answers report)"),
        LogitBiasHarvest.Declared.bias.doc(meaning: "the logit bias B of the reconstruction"),
        LogitBiasHarvest.Declared.reference.doc(meaning: "the reconstruction's reference token"),
    ]

    public let forced: Plan?
    public let pilotPrompts: Int
    public let pilotRepeats: Int
    public let tolerance: Double
    public let maxRepeats: Int
    public let missingMass: Double
    public let consistency: Double
    public let views: Int
    public let viewBias: Float
    public let maxBlock: Int
    public let reconstructionBias: Float
    public let referenceToken: Int32
    /// Whether the API's policy allows the views' logit bias, and the reconstruction's.
    public let biasAllowed: Bool
    public let biasWithLogprobs: Bool

    /// The plan in force; nil while the pilot runs.
    public private(set) var plan: Plan?
    /// The noise variance the pilot measured (per reported value), once decided.
    public private(set) var measuredVariance: Double?
    private var pilotsAsked = 0
    private var pilotsAnswered = 0
    private var varianceSum = 0.0
    private var truncatedVotes = 0
    private var poisonedVotes = 0
    private var fewestReported = Int.max

    public init(
        plan: Plan? = nil, pilotPrompts: Int = 4, pilotRepeats: Int = 3, tolerance: Double = 0.05,
        maxRepeats: Int = 8, missingMass: Double = 0.05, consistency: Double = 0.02, views: Int = 3,
        viewBias: Float = 12, maxBlock: Int = 5, reconstructionBias: Float = 100, referenceToken: Int32 = 0,
        biasAllowed: Bool = true, biasWithLogprobs: Bool = true
    ) {
        self.forced = plan
        self.plan = plan
        self.pilotPrompts = pilotPrompts
        self.pilotRepeats = pilotRepeats
        self.tolerance = tolerance
        self.maxRepeats = maxRepeats
        self.missingMass = missingMass
        self.consistency = consistency
        self.views = views
        self.viewBias = viewBias
        self.maxBlock = maxBlock
        self.reconstructionBias = reconstructionBias
        self.referenceToken = referenceToken
        self.biasAllowed = biasAllowed
        self.biasWithLogprobs = biasWithLogprobs
    }

    public convenience init(parameters p: inout AttackParameters, environment: AttackEnvironment?) throws {
        let planName = try p.read(Declared.plan)
        let pilots = try p.read(Declared.pilotPrompts)
        let repeats = try p.read(Declared.pilotRepeats)
        let tol = try p.read(Declared.tolerance)
        let most = try p.read(Declared.maxRepeats)
        let missing = try p.read(Declared.missingMass)
        let tv = try p.read(Declared.consistency)
        let views = try p.read(Declared.views)
        let vb = try p.read(Declared.viewBias)
        let k = try p.read(LogitBiasHarvest.Declared.k)
        let b = try p.read(LogitBiasHarvest.Declared.bias)
        let r = try p.read(LogitBiasHarvest.Declared.reference)
        var allowed = true, withLogprobs = true
        var block = k
        if let env = environment {
            block = min(k, env.policy.maxLogprobs, env.vocabularySize)
            guard block >= 2 else {
                throw LabError.invalidConfig(
                    key: p.key("k"),
                    message: "the API returns \(env.policy.maxLogprobs) top logprobs; logit bias needs 2")
            }
            guard r < env.vocabularySize else {
                throw LabError.invalidConfig(
                    key: p.key("reference"), message: "is \(r); the vocabulary is 0..<\(env.vocabularySize)")
            }
            switch env.policy.logitBias {
            case .allowed: break
            case let .capped(cap):
                allowed = Float(vb) * 4 / 3 <= cap
                withLogprobs = Float(b) <= cap
            // A distribution answer is logprobs: the views need bias with logprobs as much as the reconstruction.
            case .refused, .refusedWithLogprobs: (allowed, withLogprobs) = (false, false)
            }
            if planName == .bias && !withLogprobs || planName == .consensus && !allowed {
                throw LabError.invalidConfig(
                    key: p.key("plan"),
                    message: "is \(planName.rawValue), but the API's policy refuses the logit bias it needs; use auto")
            }
        }
        let plan: Plan? =
            switch planName {
            case .plain: .plain
            case .average: .average(repeats: most)
            case .bias: .bias(k: block)
            case .consensus: .consensus
            case .auto: nil
            }
        self.init(
            plan: plan, pilotPrompts: pilots, pilotRepeats: repeats, tolerance: tol, maxRepeats: most,
            missingMass: missing, consistency: tv, views: views, viewBias: Float(vb), maxBlock: block,
            reconstructionBias: Float(b), referenceToken: Int32(r), biasAllowed: allowed, biasWithLogprobs: withLogprobs
        )
    }

    public var parameters: [(key: String, value: String)] {
        [
            ("plan", plan?.description ?? "auto"), ("pilot_prompts", String(pilotPrompts)),
            ("pilot_repeats", String(pilotRepeats)), ("tolerance", show(tolerance)),
            ("max_repeats", String(maxRepeats)), ("missing_mass", show(missingMass)),
            ("consistency", show(consistency)), ("views", String(views)), ("view_bias", show(Double(viewBias))),
            ("k", String(maxBlock)), ("bias", show(Double(reconstructionBias))),
            ("reference", String(referenceToken)),
        ]
    }
    public var coverage: TargetCoverage { .last }
    public func maxPromptLength(contextLength: Int) -> Int { contextLength - 1 }

    func reconstruction(k: Int) -> LogitBiasHarvest {
        LogitBiasHarvest(k: k, bias: reconstructionBias, referenceToken: referenceToken)
    }

    /// The logit bias of each biased view of `prompt`: every token a uniform draw in [0, view_bias / 3]
    /// (which can reorder the small tokens, so MAD may turn toward a different vertex in each view), and
    /// one token, different in each view, lifted by view_bias more (which pushes the row's top probability
    /// past a misinformation threshold unless that token's probability is below about e^−view_bias).
    /// Drawn from a stream seeded by the prompt: the same prompt is always viewed the same way.
    func viewBiases(_ prompt: [Int32], vocabularySize V: Int) -> [[Int: Float]] {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for t in prompt {
            hash = (hash ^ UInt64(UInt32(bitPattern: t))) &* 0x100_0000_01b3
        }
        var rng = LabRNG(seed: hash, stream: "adaptive-views")
        var lifted = Array(0..<V)
        lifted.shuffle(using: &rng)
        return (0..<(views - 1)).map { i in
            var bias: [Int: Float] = [:]
            for t in 0..<V { bias[t] = Float(rng.uniform()) * viewBias / 3 }
            bias[lifted[i % V], default: 0] += viewBias
            return bias
        }
    }

    func viewQueries(_ prompt: [Int32], vocabularySize V: Int) -> [Query] {
        viewBiases(prompt, vocabularySize: V).map { .distribution(prompt, logitBias: $0) }
    }

    /// While the pilot runs, its first `pilot_prompts` prompts get the pilot's questions and later ones (of
    /// the same round, sent before the pilot's answers are in) one plain query. A pilot the budget cuts
    /// short leaves the plan undecided and the mode plain.
    public func queries(for prompt: [Int32], vocabularySize V: Int) -> [Query] {
        switch plan {
        case .plain: return [.distribution(prompt)]
        case let .average(r): return Array(repeating: .distribution(prompt), count: r)
        case let .bias(k): return reconstruction(k: k).queries(for: prompt, vocabularySize: V)
        case .consensus: return [.distribution(prompt)] + viewQueries(prompt, vocabularySize: V)
        case nil:
            guard pilotsAsked < pilotPrompts else { return [.distribution(prompt)] }
            pilotsAsked += 1
            return Array(repeating: .distribution(prompt), count: pilotRepeats)
                + (biasAllowed ? viewQueries(prompt, vocabularySize: V) : [])
        }
    }

    public func record(prompt: [Int32], responses: [Response], vocabularySize V: Int) -> HarvestRecord {
        let usage = responses.reduce(Usage.zero) { $0 + $1.usage }
        let position = prompt.count - 1
        func make(_ target: PositionTarget?) -> HarvestRecord {
            HarvestRecord(
                text: prompt, promptLength: prompt.count, targets: target.map { [$0] } ?? [], usage: usage)
        }
        switch plan {
        case .plain, .average:
            return make(Self.averaged(responses, position: position, vocabularySize: V))
        case let .bias(k):
            return reconstruction(k: k).record(prompt: prompt, responses: responses, vocabularySize: V)
        case .consensus:
            return make(
                consensus(
                    plain: responses.first, views: Array(responses.dropFirst()), prompt: prompt, vocabularySize: V)
                    ?? Self.averaged(Array(responses.prefix(1)), position: position, vocabularySize: V))
        case nil:
            let pilotSize = pilotRepeats + (biasAllowed ? views - 1 : 0)
            guard responses.count == pilotSize else {
                return make(Self.averaged(responses, position: position, vocabularySize: V))
            }
            let repeats = Array(responses.prefix(pilotRepeats))
            let variance = Self.variance(repeats, vocabularySize: V)
            let answer = Self.probabilities(repeats[0], vocabularySize: V)
            let truncated = answer.reduce(0, +) < 1 - missingMass
            var poisoned = false
            var combined: PositionTarget?
            if variance == 0, biasAllowed {
                combined = consensus(
                    plain: repeats[0], views: Array(responses.dropFirst(pilotRepeats)), prompt: prompt,
                    vocabularySize: V)
                if let c = combined { poisoned = Self.totalVariation(c, answer) > consistency }
            }
            varianceSum += variance
            if truncated { truncatedVotes += 1 }
            if poisoned, !truncated { poisonedVotes += 1 }
            fewestReported = min(fewestReported, answer.filter { $0 > 0 }.count)
            pilotsAnswered += 1
            if pilotsAnswered == pilotPrompts { decide() }
            return make(
                poisoned && !truncated ? combined : Self.averaged(repeats, position: position, vocabularySize: V))
        }
    }

    /// The plan from the pilot's measurements: noise first (repeats that differ), then truncation (a majority
    /// of pilot prompts), then poisoning (any pilot prompt: a defence may poison only some answers, as
    /// adaptive misinformation does); else plain.
    private func decide() {
        let v = varianceSum / Double(max(1, pilotsAnswered))
        measuredVariance = v
        if v > 1e-12 {
            let r = Int((v / (tolerance * tolerance)).rounded(.up))
            plan = .average(repeats: min(maxRepeats, max(1, r)))
        } else if biasWithLogprobs, 2 * truncatedVotes > pilotsAnswered {
            plan = .bias(k: max(2, min(maxBlock, fewestReported)))
        } else if biasAllowed, poisonedVotes > 0 {
            plan = .consensus
        } else {
            plan = .plain
        }
    }

    /// The views combined: each answer's logprobs with its own bias taken out, aligned to the plain answer
    /// by the median difference over the tokens both report, then the per-token median over the answers
    /// that report the token (a withheld or zero value is missing, not a vote), then a softmax.
    /// With three answers or more, a token on which no two answers agree (within 1%) is left out as poisoned
    /// (MAD inflates the same least likely token in every view when the bias cannot reorder it); the target
    /// is then incomplete. Nil when fewer than half of the tokens are agreed on: a perturbation the views
    /// cannot see through (the reverse sigmoid distorts every answer differently).
    func consensus(plain: Response?, views answers: [Response], prompt: [Int32], vocabularySize V: Int)
        -> PositionTarget?
    {
        guard let plain else { return nil }
        let biases = viewBiases(prompt, vocabularySize: V)
        let raw = answers.prefix(biases.count).map { Self.logprobs($0, vocabularySize: V) }
        // How the API passes a bias on: 1 for an honest softmax, 1/τ behind a temperature τ. Read from the
        // first two views (Theil–Sen, robust to a poisoned token or two); 1 unless clearly otherwise.
        var slope = 1.0
        if raw.count >= 2, let s = Self.theilSen(x: biases[1], biases[0], y: raw[1], raw[0], V), abs(s - 1) > 0.1,
            s > 0.05
        {
            slope = s
        }
        var logs: [[Double?]] = [Self.logprobs(plain, vocabularySize: V)]
        for (i, l0) in raw.enumerated() {
            var l = l0
            for (t, b) in biases[i] where t < V { l[t] = l[t].map { $0 - slope * Double(b) } }
            logs.append(l)
        }
        // Align each answer to the first by the median of their differences.
        for a in 1..<logs.count {
            let shifts = (0..<V).compactMap { t -> Double? in
                guard let x = logs[a][t], let y = logs[0][t] else { return nil }
                return x - y
            }
            guard let shift = Self.median(shifts) else { continue }
            logs[a] = logs[a].map { $0.map { $0 - shift } }
        }
        var z = [Double](repeating: -.infinity, count: V)
        var listed: [Int] = []
        var agreed = 0
        var reported = 0
        for t in 0..<V {
            let values = logs.compactMap { $0[t] }.sorted()
            guard let m = Self.median(values) else { continue }
            reported += 1
            let agrees = zip(values, values.dropFirst()).contains(where: { $1 - $0 < 0.01 })
            if agrees { agreed += 1 }
            guard agrees || logs.count < 3 || values.count < 2 else { continue }
            z[t] = m / slope
            listed.append(t)
        }
        guard 2 * agreed >= reported else { return nil }
        guard let top = listed.map({ z[$0] }).max() else { return nil }
        var p = [Double](repeating: 0, count: V)
        var sum = 0.0
        for t in listed {
            p[t] = exp(z[t] - top)
            sum += p[t]
        }
        let tokens = listed.sorted { p[$0] > p[$1] || (p[$0] == p[$1] && $0 < $1) }
        return PositionTarget(
            position: prompt.count - 1, tokens: tokens.map { Int32($0) }, probabilities: tokens.map { p[$0] / sum },
            isComplete: listed.count == V)
    }

    /// The reported probabilities of one distribution answer (withheld tokens 0).
    static func probabilities(_ r: Response, vocabularySize V: Int) -> [Double] {
        var p = [Double](repeating: 0, count: V)
        for e in r.distribution where Int(e.token) < V && e.logprob.isFinite { p[Int(e.token)] = exp(e.logprob) }
        return p
    }

    /// The finite logprobs of one distribution answer; nil where a token is withheld or reported as 0.
    static func logprobs(_ r: Response, vocabularySize V: Int) -> [Double?] {
        var l = [Double?](repeating: nil, count: V)
        for e in r.distribution where Int(e.token) < V && e.logprob.isFinite { l[Int(e.token)] = e.logprob }
        return l
    }

    /// The Theil–Sen slope of (y₁ − y₂) against (x₁ − x₂) over tokens: the median of the pairwise slopes.
    static func theilSen(x x1: [Int: Float], _ x2: [Int: Float], y y1: [Double?], _ y2: [Double?], _ V: Int) -> Double?
    {
        var xs: [Double] = [], ys: [Double] = []
        for t in 0..<V {
            guard let a = y1[t], let b = y2[t] else { continue }
            xs.append(Double(x1[t] ?? 0) - Double(x2[t] ?? 0))
            ys.append(a - b)
        }
        var slopes: [Double] = []
        for i in xs.indices {
            for j in xs.indices where j > i && abs(xs[i] - xs[j]) > 1e-6 {
                slopes.append((ys[i] - ys[j]) / (xs[i] - xs[j]))
            }
        }
        return median(slopes)
    }

    static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// Total variation between a target (renormalised) and an answer's values (renormalised).
    static func totalVariation(_ target: PositionTarget, _ answer: [Double]) -> Double {
        let total = answer.reduce(0, +)
        guard total > 0 else { return 1 }
        var p = [Double](repeating: 0, count: answer.count)
        for (t, v) in zip(target.tokens, target.probabilities) where Int(t) < p.count { p[Int(t)] = v }
        return zip(p, answer).reduce(0) { $0 + abs($1.0 - $1.1 / total) } / 2
    }

    /// The mean over tokens of the sample variance of the reported value across the answers.
    static func variance(_ answers: [Response], vocabularySize V: Int) -> Double {
        guard answers.count >= 2 else { return 0 }
        let rows = answers.map { probabilities($0, vocabularySize: V) }
        var total = 0.0
        for t in 0..<V {
            let mean = rows.reduce(0) { $0 + $1[t] } / Double(rows.count)
            total += rows.reduce(0) { $0 + ($1[t] - mean) * ($1[t] - mean) } / Double(rows.count - 1)
        }
        return total / Double(V)
    }

    /// The mean of the answers' reported values, as one target; complete when every token was listed.
    static func averaged(_ answers: [Response], position: Int, vocabularySize V: Int) -> PositionTarget? {
        let listed = answers.filter { !$0.distribution.isEmpty }
        guard !listed.isEmpty else { return nil }
        var sum = [Double](repeating: 0, count: V)
        var seen = Set<Int32>()
        for r in listed {
            for e in r.distribution where Int(e.token) < V {
                seen.insert(e.token)
                if e.logprob.isFinite { sum[Int(e.token)] += exp(e.logprob) }
            }
        }
        let tokens = seen.sorted { sum[Int($0)] > sum[Int($1)] || (sum[Int($0)] == sum[Int($1)] && $0 < $1) }
        return PositionTarget(
            position: position, tokens: tokens, probabilities: tokens.map { sum[Int($0)] / Double(listed.count) },
            isComplete: tokens.count == V)
    }
}
