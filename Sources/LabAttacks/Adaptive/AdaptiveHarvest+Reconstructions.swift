// The adaptive harvest's defence-specific reconstructions: inverting Lee et al.'s reverse sigmoid from views
// in which one token dominates, turning a label-only API into a sampler with Gumbel logit biases, and reading
// each token's probability through a high-confidence cutoff that does not renormalise. Not the pilot that
// chooses among them (HarvestMode+Adaptive.swift).
import Foundation
import LabAPI
import LabCore
import LabDefences

/// The reverse sigmoid (`ReverseSigmoid`, Lee et al. 2019) as an attacker who knows its published form
/// inverts it. The served value of a token is α·g(y) with g(y) = y − β[s(γ s⁻¹(y)) − ½]; g falls from
/// 0.388β at y = 10⁻⁹ to its minimum at y* (≈ 0.025 at β = 1, γ = 0.1) and rises again, so a small and
/// a large probability look alike and the answer alone cannot be inverted. A view that lifts one token t
/// by a known bias B until it holds more than 1 − y* of the mass puts every other token on the falling
/// branch, where g is one-to-one; the row then follows from one number, y′_t: α = ŷ_t / g(y′_t), each
/// other y′_j = g⁻¹(ŷ_j / α) on the falling branch, and Σ y′ = 1 fixes y′_t (the sum is monotone in it).
/// Undoing the bias: log y_j ∝ log y′_j for j ≠ t, log y_t ∝ log y′_t − B. A token below the defence's
/// clip (10⁻⁹ inside the sigmoid) is served the same value as any other below it: it is read as 10⁻⁹.
public struct ReverseSigmoidInversion: Sendable, Equatable {
    public let beta: Double
    public let gamma: Double
    /// The minimum of g on (0, ½): the falling branch is (10⁻⁹, yStar].
    public let yStar: Double
    static let clip = 1e-9
    static let tableSize = 16_384
    /// g at `tableSize` points spaced evenly in log y over the falling branch [10⁻⁹, y*].
    let table: [Double]
    let logStart: Double
    let logStep: Double

    public init(beta: Double, gamma: Double) {
        self.beta = beta
        self.gamma = gamma
        // g′ = 1 − βγ s(1 − s) / (y(1 − y)) changes sign once on (10⁻⁹, ½) when γ < 1: bisect in log y.
        let defence = ReverseSigmoid(beta: beta, gamma: gamma)
        func slope(_ y: Double) -> Double {
            let s = defence.perturbation(y) / beta + 0.5
            return 1 - beta * gamma * s * (1 - s) / (y * (1 - y))
        }
        var lo = log(Self.clip), hi = log(0.5)
        if slope(exp(lo)) >= 0 {
            yStar = Self.clip
        } else if slope(exp(hi)) <= 0 {
            yStar = 0.5
        } else {
            for _ in 0..<80 {
                let mid = (lo + hi) / 2
                if slope(exp(mid)) < 0 { lo = mid } else { hi = mid }
            }
            yStar = exp((lo + hi) / 2)
        }
        logStart = log(Self.clip)
        logStep = (log(yStar) - logStart) / Double(Self.tableSize - 1)
        let (start, step) = (logStart, logStep)
        table = (0..<Self.tableSize).map { i in
            let y = exp(start + Double(i) * step)
            return y - defence.perturbation(y)
        }
    }

    /// g(y), the value the defence serves before its normalisation α.
    public func served(_ y: Double) -> Double {
        y - ReverseSigmoid(beta: beta, gamma: gamma).perturbation(y)
    }

    /// The y in [10⁻⁹, y*] with g(y) = v; 10⁻⁹ above the branch's top (the clip), y* below its bottom.
    /// Read from the table by bisection and linear interpolation of log y between its two neighbours.
    func fallingInverse(_ v: Double) -> (y: Double, clipped: Bool, outside: Bool) {
        let n = table.count
        if v >= table[0] { return (Self.clip, true, false) }
        if v <= table[n - 1] { return (yStar, false, true) }
        // table falls: find i with table[i] > v ≥ table[i + 1].
        var lo = 0, hi = n - 1
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if table[mid] > v { lo = mid } else { hi = mid }
        }
        let w = (table[lo] - v) / (table[lo] - table[hi])
        return (exp(logStart + (Double(lo) + w) * logStep), false, false)
    }

    /// The defence's answer to the distribution `y` (the published formula, as the server applies it).
    public func forward(_ y: [Double]) -> [Double] {
        var row = [DistributionRow(probabilities: y, context: [], seed: 0)]
        try? ReverseSigmoid(beta: beta, gamma: gamma).apply(to: &row)
        return row[0].values
    }

    /// Unnormalised log-probabilities of the unbiased row from one view (served values `answer`, bias `bias`
    /// on `token`), or nil when the view cannot be read: the lifted token does not dominate, or a value
    /// lies below the falling branch, or the defence applied to what was read does not give the view back
    /// within 10⁻⁶ per value (the view is not of this defence, or not with these parameters).
    /// `clipped` counts the tokens read as 10⁻⁹.
    public func invert(view answer: [Double], token t: Int, bias: Double) -> (logits: [Double], clipped: Int)? {
        let V = answer.count
        guard t < V, answer[t] > 0 else { return nil }
        func others(_ yt: Double) -> (sum: Double, ys: [Double], clipped: Int, outside: Bool) {
            let alpha = answer[t] / served(yt)
            var ys = [Double](repeating: 0, count: V)
            var sum = 0.0, clipped = 0, outside = false
            for j in 0..<V where j != t {
                let r = fallingInverse(answer[j] / alpha)
                ys[j] = r.y
                sum += r.y
                if r.clipped { clipped += 1 }
                if r.outside { outside = true }
            }
            return (sum, ys, clipped, outside)
        }
        // R(y′_t) = y′_t + Σ others − 1 rises with y′_t (α falls, every other value rises on the falling
        // branch): bisect on the logit of y′_t over [1 − y*, 1 − 10⁻¹²].
        func residual(_ logit: Double) -> Double {
            let yt = 1 / (1 + exp(-logit))
            return yt + others(yt).sum - 1
        }
        var lo = log((1 - yStar) / yStar), hi = log(1e12)
        guard residual(lo) <= 0, residual(hi) >= 0 else { return nil }
        for _ in 0..<50 {
            let mid = (lo + hi) / 2
            if residual(mid) < 0 { lo = mid } else { hi = mid }
        }
        let yt = 1 / (1 + exp(-(lo + hi) / 2))
        let read = others(yt)
        guard !read.outside else { return nil }
        // A view whose others are not all on the falling branch also has a root, with the lifted token
        // near 1 and the others clipped: the defence applied to what was read must give the view back.
        var lifted = read.ys
        lifted[t] = yt
        let again = forward(lifted)
        guard zip(again, answer).allSatisfy({ abs($0 - $1) <= 1e-6 }) else { return nil }
        var logits = read.ys.map { log(max($0, Self.clip)) }
        logits[t] = log(yt) - bias
        return (logits, read.clipped)
    }

    /// The biases the views lift their token by, smallest first: the smallest that makes the token
    /// dominate clips the fewest others.
    public static func viewBiases(_ count: Int) -> [Double] { (0..<count).map { 5 + 6 * Double($0) } }

    /// The token a prompt's views lift: drawn from the prompt, so every prompt is read against another.
    static func liftedToken(_ prompt: [Int32], vocabularySize V: Int) -> Int {
        var rng = LabRNG(seed: AdaptiveHarvest.promptHash(prompt), stream: "adaptive-inversion")
        return rng.int(below: V)
    }

    /// The row the views agree on. One view alone is ambiguous: when its lifted token does not dominate,
    /// another split of the others between the branches can reproduce it exactly. So the reading of the
    /// smallest bias that agrees (total variation below 10⁻³) with the reading of a larger one is taken;
    /// failing any agreement, the reading of the largest bias, the one most likely to dominate.
    public func read(views answers: [[Double]], token t: Int, biases: [Double]) -> [Double]? {
        let rows: [[Double]] = zip(answers, biases).compactMap { answer, b in
            guard let (logits, _) = invert(view: answer, token: t, bias: b) else { return nil }
            let top = logits.max()!
            let e = logits.map { exp($0 - top) }
            let sum = e.reduce(0, +)
            return e.map { $0 / sum }
        }
        for i in rows.indices {
            for j in rows.indices where j > i {
                if zip(rows[i], rows[j]).reduce(0, { $0 + abs($1.0 - $1.1) }) / 2 < 1e-3 { return rows[i] }
            }
        }
        return rows.last
    }

    /// The candidates the pilot tries when the reverse sigmoid's parameters are not given: ART's default
    /// (β = 1, γ = 0.1) and a grid around it.
    public static let candidates: [ReverseSigmoidInversion] = [0.5, 1, 2].flatMap { b in
        [0.05, 0.1, 0.2, 0.4].map { ReverseSigmoidInversion(beta: b, gamma: $0) }
    }
}

extension AdaptiveHarvest {
    /// FNV-1a of a prompt: seeds the per-prompt random draws (views, Gumbel biases, lifted tokens).
    static func promptHash(_ prompt: [Int32]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for t in prompt {
            hash = (hash ^ UInt64(UInt32(bitPattern: t))) &* 0x100_0000_01b3
        }
        return hash
    }

    /// The Gumbel-max trick through a label-only API: the label of softmax(z + g), g a vector of standard
    /// Gumbel draws sent as logit bias, is a sample from softmax(z). `samples` such labels per prompt are
    /// the empirical distribution, an unbiased (calibrated) estimate of the teacher's row. Draws beyond
    /// the policy's cap are clipped to it, which biases the sample slightly (a draw beyond ±20 has
    /// probability below 10⁻⁸). Seeded by the prompt and by how many prompts were sampled before it, so a
    /// prompt asked again is sampled afresh.
    func gumbelBiases(_ prompt: [Int32], vocabularySize V: Int, samples: Int) -> [[Int: Float]] {
        sampledPrompts += 1
        var rng = LabRNG(seed: Self.promptHash(prompt) &+ sampledPrompts, stream: "adaptive-gumbel")
        return (0..<samples).map { _ in
            var bias: [Int: Float] = [:]
            for t in 0..<V {
                let u = max(rng.uniform(), 1e-300)
                let g = -log(-log(u))
                bias[t] = Float(min(max(g, -biasCap), biasCap))
            }
            return bias
        }
    }

    /// The frequencies of the sampled labels, listing every token (zeros included: an estimate, not a
    /// withheld value). Nil when no label came back.
    static func sampledTarget(_ responses: [Response], position: Int, vocabularySize V: Int) -> PositionTarget? {
        var counts = [Double](repeating: 0, count: V)
        var n = 0.0
        for r in responses {
            guard let label = r.tokens.first, Int(label) < V else { continue }
            counts[Int(label)] += 1
            n += 1
        }
        guard n > 0 else { return nil }
        let tokens = (0..<V).sorted { counts[$0] > counts[$1] || (counts[$0] == counts[$1] && $0 < $1) }
        return PositionTarget(
            position: position, tokens: tokens.map { Int32($0) }, probabilities: tokens.map { counts[$0] / n },
            isComplete: true)
    }

    /// One distribution query per token, each lifting only that token by `bias`.
    static func singleQueries(_ prompt: [Int32], vocabularySize V: Int, bias: Float) -> [Query] {
        (0..<V).map { .distribution(prompt, logitBias: [$0: bias]) }
    }

    /// Through a cutoff that reports true (not renormalised) probabilities, one served value of the lifted
    /// token gives its probability exactly: p′ = p e^B / (1 − p + p e^B), so p = p′ / (p′ + (1 − p′) e^B).
    /// A token whose lifted value stays below the cutoff is left out (the target is then incomplete).
    static func singleTarget(_ responses: [Response], position: Int, vocabularySize V: Int, bias: Float)
        -> PositionTarget?
    {
        var p: [Int: Double] = [:]
        let eB = exp(Double(bias))
        for (j, r) in responses.prefix(V).enumerated() {
            guard let e = r.distribution.first(where: { Int($0.token) == j }), e.logprob.isFinite else { continue }
            let lifted = exp(e.logprob)
            // 1 − p′ from the logprob directly, to keep its digits when p′ is close to 1.
            let rest = -expm1(e.logprob)
            p[j] = lifted / (lifted + rest * eB)
        }
        guard !p.isEmpty else { return nil }
        let tokens = p.keys.sorted { p[$0]! > p[$1]! || (p[$0]! == p[$1]! && $0 < $1) }
        return PositionTarget(
            position: position, tokens: tokens.map { Int32($0) }, probabilities: tokens.map { p[$0]! },
            isComplete: tokens.count == V)
    }
}
