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
// - answers that are one-hot (label only): Gumbel-max sampling through logit bias, `samples` labels per
//   prompt, their frequencies the target;
// - answers that miss mass and report true probabilities above a cutoff (high-confidence): one query per
//   token lifting only it, each probability read exactly from its lifted value;
// - answers that a reverse sigmoid of known form explains (`ReverseSigmoidInversion`): views that lift one
//   token until it dominates, inverted with the parameters that reproduce the plain answer;
// - none of these: plain distribution queries, one per prompt.
// `plan: filter` (never chosen by the pilot, which cannot see antidistillation sampling) samples several
// completions and keeps the one the attacker's own proxy, a trigram model of the prompts it sent, finds
// most likely. Not prompt choice (QueryStrategy).
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
        /// `samples` label queries with Gumbel logit biases; the labels' frequencies.
        case sample(samples: Int)
        /// One distribution query per token lifting it by `bias`; probabilities read through a cutoff.
        case single(bias: Float)
        /// Reverse-sigmoid views inverted with these parameters.
        case invert(ReverseSigmoidInversion)
        /// `samples` sampled completions; the one the attacker's proxy finds most likely is kept.
        case filter(samples: Int)

        public var description: String {
            switch self {
            case .plain: return "plain"
            case let .average(r): return "average(\(r))"
            case let .bias(k): return "bias(k=\(k))"
            case .consensus: return "consensus"
            case let .sample(n): return "sample(\(n))"
            case let .single(b): return "single(bias=\(show(Double(b))))"
            case let .invert(r): return "invert(beta=\(show(r.beta)), gamma=\(show(r.gamma)))"
            case let .filter(n): return "filter(\(n))"
            }
        }
    }

    public static let registryName = "adaptive"
    public static let reference =
        "pilot-tested: repeats averaged against noise, logit bias against truncation, biased views' median against poisoning"
    /// How a config names the plan: decided by the pilot, or forced.
    public enum PlanName: String, CaseIterable, Sendable {
        case auto, plain, average, bias, consensus, sample, single, invert, filter
    }
    public enum Declared {
        public static let plan = PartParameter.choice(
            "plan", PlanName.auto,
            meaning:
                "`auto` (decided by the pilot), or forced: `plain`, `average`, `bias`, `consensus`, `sample`, `single`, `invert` (ART's β = 1, γ = 0.1), `filter`"
        )
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
        public static let samples = PartParameter.int(
            "samples", 4, valid: { $0 >= 1 }, "must be at least 1",
            meaning: "Gumbel-biased labels per prompt under `sample`; completions per prompt under `filter`")
        public static let singleBias = PartParameter.double(
            "single_bias", 12, valid: { $0 > 0 && $0.isFinite }, "must be a positive finite logit offset",
            meaning: "bias of `single`'s one lifted token: reads p from about e^−(bias+1) up")
        public static let inversionViews = PartParameter.int(
            "inversion_views", 3, valid: { $0 >= 1 }, "must be at least 1",
            meaning: "views per prompt under `invert`, lifting one token by 5, 11, 17, … nats")
        public static let filterTokens = PartParameter.int(
            "filter_tokens", 8, valid: { $0 >= 1 }, "must be at least 1",
            meaning: "tokens per sampled completion under `filter`")
    }
    /// `k`, `bias` and `reference` are the logit-bias harvest's own parameters.
    public static let parameterDocs = [
        Declared.plan.doc, Declared.pilotPrompts.doc, Declared.pilotRepeats.doc, Declared.tolerance.doc,
        Declared.maxRepeats.doc, Declared.missingMass.doc, Declared.consistency.doc, Declared.views.doc,
        Declared.viewBias.doc, Declared.samples.doc, Declared.singleBias.doc, Declared.inversionViews.doc,
        Declared.filterTokens.doc,
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
    /// Whether label queries may carry a logit bias, and its cap (±).
    public let biasWithoutLogprobs: Bool
    public let biasCap: Double
    public let samples: Int
    public let singleBias: Float
    public let inversionViews: Int
    public let filterTokens: Int
    /// The attacker's proxy for `filter`: trigram counts of every prompt sent so far.
    var proxy: [Int: [Int32: Double]] = [:]
    /// Prompts `sample` has drawn Gumbel biases for: part of each draw's seed.
    var sampledPrompts: UInt64 = 0

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
    private var mostReported = 0
    private var oneHotVotes = 0
    private var topKVotes = 0
    /// Per reverse-sigmoid candidate: pilot prompts it explains, and their summed misfit.
    private var inversionFits: [(votes: Int, misfit: Double)] = ReverseSigmoidInversion.candidates.map { _ in (0, 0) }

    public init(
        plan: Plan? = nil, pilotPrompts: Int = 4, pilotRepeats: Int = 3, tolerance: Double = 0.05,
        maxRepeats: Int = 8, missingMass: Double = 0.05, consistency: Double = 0.02, views: Int = 3,
        viewBias: Float = 12, maxBlock: Int = 5, reconstructionBias: Float = 100, referenceToken: Int32 = 0,
        biasAllowed: Bool = true, biasWithLogprobs: Bool = true, biasWithoutLogprobs: Bool = true,
        biasCap: Double = 100, samples: Int = 4, singleBias: Float = 12, inversionViews: Int = 3,
        filterTokens: Int = 8
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
        self.biasWithoutLogprobs = biasWithoutLogprobs
        self.biasCap = biasCap
        self.samples = samples
        self.singleBias = singleBias
        self.inversionViews = inversionViews
        self.filterTokens = filterTokens
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
        let samples = try p.read(Declared.samples)
        let single = try p.read(Declared.singleBias)
        let inversionViews = try p.read(Declared.inversionViews)
        let filterTokens = try p.read(Declared.filterTokens)
        var allowed = true, withLogprobs = true, withoutLogprobs = true
        var cap = 100.0
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
            case let .capped(c):
                allowed = Float(vb) * 4 / 3 <= c
                withLogprobs = Float(b) <= c
                cap = Double(c)
            // A distribution answer is logprobs: the views need bias with logprobs as much as the reconstruction.
            case .refusedWithLogprobs: (allowed, withLogprobs) = (false, false)
            case .refused: (allowed, withLogprobs, withoutLogprobs) = (false, false, false)
            }
            let lastView = ReverseSigmoidInversion.viewBiases(inversionViews).last ?? 0
            let needsBias =
                planName == .bias && !withLogprobs || planName == .consensus && !allowed
                || planName == .sample && !withoutLogprobs
                || planName == .single && (!withLogprobs || single > cap)
                || planName == .invert && (!withLogprobs || lastView > cap)
            if needsBias {
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
            case .sample: .sample(samples: samples)
            case .single: .single(bias: Float(single))
            case .invert: .invert(ReverseSigmoidInversion(beta: 1, gamma: 0.1))
            case .filter: .filter(samples: samples)
            case .auto: nil
            }
        self.init(
            plan: plan, pilotPrompts: pilots, pilotRepeats: repeats, tolerance: tol, maxRepeats: most,
            missingMass: missing, consistency: tv, views: views, viewBias: Float(vb), maxBlock: block,
            reconstructionBias: Float(b), referenceToken: Int32(r), biasAllowed: allowed,
            biasWithLogprobs: withLogprobs,
            biasWithoutLogprobs: withoutLogprobs, biasCap: cap, samples: samples, singleBias: Float(single),
            inversionViews: inversionViews, filterTokens: filterTokens)
    }

    public var parameters: [(key: String, value: String)] {
        [
            ("plan", plan?.description ?? "auto"), ("pilot_prompts", String(pilotPrompts)),
            ("pilot_repeats", String(pilotRepeats)), ("tolerance", show(tolerance)),
            ("max_repeats", String(maxRepeats)), ("missing_mass", show(missingMass)),
            ("consistency", show(consistency)), ("views", String(views)), ("view_bias", show(Double(viewBias))),
            ("k", String(maxBlock)), ("bias", show(Double(reconstructionBias))),
            ("reference", String(referenceToken)), ("samples", String(samples)),
            ("single_bias", show(Double(singleBias))), ("inversion_views", String(inversionViews)),
            ("filter_tokens", String(filterTokens)),
        ]
    }
    public var coverage: TargetCoverage { .last }

    /// The plan in force ("undecided" when the budget ended inside the pilot), with the noise variance the
    /// pilot measured behind an `average` plan: the repeats are its cost.
    public var chosenPlan: String? {
        guard let plan else { return "undecided (pilot cut short: plain)" }
        if case .average = plan, let v = measuredVariance {
            return "\(plan) from σ̂² = \(String(format: "%.3g", v)) per value"
        }
        return plan.description
    }
    /// `filter`'s completions need room after the prompt, whichever plan the pilot later picks.
    public func maxPromptLength(contextLength: Int) -> Int {
        if case .filter? = forced { return contextLength - filterTokens }
        return contextLength - 1
    }

    /// Tokens a record's text gains after its prompt: `filter`'s completions (all but the last are text),
    /// else none beyond the one target.
    public var completionTokens: Int {
        if case .filter? = forced { return filterTokens }
        return 1
    }

    /// Whether the views of `invert` fit under the policy's cap.
    var inversionAllowed: Bool {
        biasWithLogprobs && (ReverseSigmoidInversion.viewBiases(inversionViews).last ?? 0) <= biasCap
    }

    func inversionQueries(_ prompt: [Int32], vocabularySize V: Int) -> [Query] {
        let t = ReverseSigmoidInversion.liftedToken(prompt, vocabularySize: V)
        return ReverseSigmoidInversion.viewBiases(inversionViews).map {
            .distribution(prompt, logitBias: [t: Float($0)])
        }
    }

    func reconstruction(k: Int) -> LogitBiasHarvest {
        LogitBiasHarvest(k: k, bias: reconstructionBias, referenceToken: referenceToken)
    }

    /// The logit bias of each biased view of `prompt`: every token a uniform draw in [0, view_bias / 3]
    /// (which can reorder the small tokens, so MAD may turn toward a different vertex in each view), and
    /// one token, different in each view, lifted by view_bias more (which pushes the row's top probability
    /// past a misinformation threshold unless that token's probability is below about e^−view_bias).
    /// Drawn from a stream seeded by the prompt: the same prompt is always viewed the same way.
    func viewBiases(_ prompt: [Int32], vocabularySize V: Int) -> [[Int: Float]] {
        var rng = LabRNG(seed: Self.promptHash(prompt), stream: "adaptive-views")
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
        case let .sample(n):
            return gumbelBiases(prompt, vocabularySize: V, samples: n).map { .label(prompt, logitBias: $0) }
        case let .single(b): return Self.singleQueries(prompt, vocabularySize: V, bias: b)
        case .invert: return inversionQueries(prompt, vocabularySize: V)
        case let .filter(n):
            observe(prompt)
            return (0..<n).map { _ in .completion(prompt, maxNewTokens: filterTokens, temperature: 1) }
        case nil:
            guard pilotsAsked < pilotPrompts else { return [.distribution(prompt)] }
            pilotsAsked += 1
            return Array(repeating: .distribution(prompt), count: pilotRepeats)
                + (biasAllowed ? viewQueries(prompt, vocabularySize: V) : [])
                + (inversionAllowed ? inversionQueries(prompt, vocabularySize: V) : [])
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
        case .sample:
            return make(Self.sampledTarget(responses, position: position, vocabularySize: V))
        case let .single(b):
            return make(Self.singleTarget(responses, position: position, vocabularySize: V, bias: b))
        case let .invert(inversion):
            let t = ReverseSigmoidInversion.liftedToken(prompt, vocabularySize: V)
            let read = inversion.read(
                views: responses.map { Self.probabilities($0, vocabularySize: V) }, token: t,
                biases: ReverseSigmoidInversion.viewBiases(inversionViews))
            return make(read.map { Self.fullTarget($0, position: position) })
        case .filter:
            return filtered(prompt: prompt, responses: responses)
        case nil:
            return pilotRecord(prompt: prompt, responses: responses, vocabularySize: V)
        }
    }

    /// A variance below this between repeats is the rounding of a batched teacher, not noise.
    static let exact = 1e-20

    /// The pilot's measurements on one prompt; its record is the best answer the pilot can read so far.
    private func pilotRecord(prompt: [Int32], responses: [Response], vocabularySize V: Int) -> HarvestRecord {
        let usage = responses.reduce(Usage.zero) { $0 + $1.usage }
        let position = prompt.count - 1
        func make(_ target: PositionTarget?) -> HarvestRecord {
            HarvestRecord(
                text: prompt, promptLength: prompt.count, targets: target.map { [$0] } ?? [], usage: usage)
        }
        let viewCount = biasAllowed ? views - 1 : 0
        let inversionCount = inversionAllowed ? inversionViews : 0
        guard responses.count == pilotRepeats + viewCount + inversionCount else {
            return make(Self.averaged(responses, position: position, vocabularySize: V))
        }
        let repeats = Array(responses.prefix(pilotRepeats))
        let variance = Self.variance(repeats, vocabularySize: V)
        let answer = Self.probabilities(repeats[0], vocabularySize: V)
        let reported = answer.filter { $0 > 0 }
        let truncated = answer.reduce(0, +) < 1 - missingMass
        // Label only: one token reported, at probability 1, although the row is not one-hot (the biased views
        // would show another token on top if the teacher's row were one-hot; the pilot does not rely on it).
        let oneHot = reported.count == 1 && abs(reported[0] - 1) < 1e-12
        var poisoned = false
        var combined: PositionTarget?
        if variance < Self.exact, biasAllowed {
            combined = consensus(
                plain: repeats[0], views: Array(responses[pilotRepeats..<(pilotRepeats + viewCount)]), prompt: prompt,
                vocabularySize: V)
            if let c = combined { poisoned = Self.totalVariation(c, answer) > consistency }
        }
        var inverted: [Double]?
        if variance < Self.exact, inversionCount > 0, !truncated, !oneHot, combined == nil {
            inverted = fitInversion(
                plain: answer,
                views: responses.suffix(inversionCount).map { Self.probabilities($0, vocabularySize: V) },
                prompt: prompt)
        }
        varianceSum += variance
        if truncated { truncatedVotes += 1 }
        if oneHot { oneHotVotes += 1 }
        // A top-k reports k tokens whatever the row, a lifted one among them; a cutoff reports fewer once one
        // token is lifted to dominate (the inversion views lift one token by up to 17 nats).
        let sameLength = responses.suffix(inversionCount).allSatisfy {
            Self.probabilities($0, vocabularySize: V).filter { $0 > 0 }.count == reported.count
        }
        if truncated, reported.count >= 2, sameLength { topKVotes += 1 }
        if poisoned, !truncated { poisonedVotes += 1 }
        fewestReported = min(fewestReported, reported.count)
        mostReported = max(mostReported, reported.count)
        pilotsAnswered += 1
        if pilotsAnswered == pilotPrompts { decide() }
        if let inverted { return make(Self.fullTarget(inverted, position: position)) }
        return make(
            poisoned && !truncated ? combined : Self.averaged(repeats, position: position, vocabularySize: V))
    }

    /// Every candidate reverse sigmoid that can read this prompt's views and, applied to what it read,
    /// reproduces the plain answer (total variation below `consistency` / 10) scores a vote; the row read
    /// by the best-fitting candidate is returned when it differs from the plain answer.
    private func fitInversion(plain: [Double], views: [[Double]], prompt: [Int32]) -> [Double]? {
        let t = ReverseSigmoidInversion.liftedToken(prompt, vocabularySize: plain.count)
        let biases = ReverseSigmoidInversion.viewBiases(views.count)
        var best: (misfit: Double, row: [Double])?
        for (c, candidate) in ReverseSigmoidInversion.candidates.enumerated() {
            guard let row = candidate.read(views: views, token: t, biases: biases) else { continue }
            let misfit = zip(candidate.forward(row), plain).reduce(0) { $0 + abs($1.0 - $1.1) } / 2
            guard misfit < consistency / 10 else { continue }
            inversionFits[c].votes += 1
            inversionFits[c].misfit += misfit
            if best == nil || misfit < best!.misfit { best = (misfit, row) }
        }
        guard let best else { return nil }
        let moved = zip(best.row, plain).reduce(0) { $0 + abs($1.0 - $1.1) } / 2
        return moved > consistency ? best.row : nil
    }

    /// A complete target from a probability row.
    static func fullTarget(_ p: [Double], position: Int) -> PositionTarget {
        let tokens = p.indices.sorted { p[$0] > p[$1] || (p[$0] == p[$1] && $0 < $1) }
        return PositionTarget(
            position: position, tokens: tokens.map { Int32($0) }, probabilities: tokens.map { p[$0] }, isComplete: true)
    }

    /// Adds a prompt's trigrams (and its bigrams and unigrams, for backing off) to the proxy.
    func observe(_ text: [Int32]) {
        for i in text.indices {
            for order in 0...min(2, i) {
                let key = Self.contextKey(Array(text[(i - order)..<i]))
                proxy[key, default: [:]][text[i], default: 0] += 1
            }
        }
    }

    static func contextKey(_ context: [Int32]) -> Int {
        var h = context.count
        for t in context { h = h &* 1_000_003 &+ Int(t) &+ 1 }
        return h
    }

    /// The proxy's log-probability of `token` after `context`: the longest context seen, add-½ smoothing
    /// over the vocabulary seen in it.
    func proxyLogprob(_ token: Int32, after context: ArraySlice<Int32>) -> Double {
        for order in stride(from: min(2, context.count), through: 0, by: -1) {
            guard let counts = proxy[Self.contextKey(Array(context.suffix(order)))] else { continue }
            let total = counts.values.reduce(0, +)
            return log(((counts[token] ?? 0) + 0.5) / (total + 0.5 * Double(max(counts.count, 2))))
        }
        return log(0.5)
    }

    /// `filter`: the completion the proxy finds most likely per token (ties: the first) is the record.
    private func filtered(prompt: [Int32], responses: [Response]) -> HarvestRecord {
        let usage = responses.reduce(Usage.zero) { $0 + $1.usage }
        var best: (score: Double, tokens: [Int32])?
        for r in responses where !r.tokens.isEmpty {
            let text = prompt + r.tokens
            var score = 0.0
            for i in prompt.count..<text.count { score += proxyLogprob(text[i], after: text[..<i]) }
            score /= Double(r.tokens.count)
            if best == nil || score > best!.score { best = (score, r.tokens) }
        }
        guard let kept = best?.tokens else {
            return HarvestRecord(text: prompt, promptLength: prompt.count, targets: [], usage: usage)
        }
        let n = prompt.count
        let targets = kept.enumerated().map { PositionTarget.oneHot(position: n - 1 + $0.offset, token: $0.element) }
        return HarvestRecord(text: prompt + kept.dropLast(), promptLength: n, targets: targets, usage: usage)
    }

    /// The plan from the pilot's measurements: noise first (repeats that differ), then one-hot answers (label
    /// only, a majority of pilot prompts), then truncation (a majority: by a top-k when the answers keep one
    /// length, lifted token or not, else by a cutoff), then poisoning (any pilot prompt: a defence may
    /// poison only some answers, as adaptive misinformation does), then a reverse sigmoid that explains a
    /// majority (the candidate that explains the most, then fits best); else plain.
    private func decide() {
        let v = varianceSum / Double(max(1, pilotsAnswered))
        measuredVariance = v
        let majority = { (votes: Int) in 2 * votes > self.pilotsAnswered }
        let bestInversion = inversionFits.enumerated().filter { majority($0.element.votes) }.min {
            ($0.element.votes, -$0.element.misfit) > ($1.element.votes, -$1.element.misfit)
        }
        if v > 1e-12 {
            let r = Int((v / (tolerance * tolerance)).rounded(.up))
            plan = .average(repeats: min(maxRepeats, max(1, r)))
        } else if majority(oneHotVotes) {
            plan = biasWithoutLogprobs ? .sample(samples: samples) : .plain
        } else if biasWithLogprobs, majority(truncatedVotes), !majority(topKVotes) || fewestReported != mostReported,
            Double(singleBias) <= biasCap
        {
            plan = .single(bias: singleBias)
        } else if biasWithLogprobs, majority(truncatedVotes) {
            plan = .bias(k: max(2, min(maxBlock, fewestReported)))
        } else if biasAllowed, poisonedVotes > 0 {
            plan = .consensus
        } else if let best = bestInversion {
            plan = .invert(ReverseSigmoidInversion.candidates[best.offset])
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
