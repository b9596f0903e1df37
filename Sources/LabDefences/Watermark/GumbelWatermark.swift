// GumbelWatermark: the distortion-free sampling watermark of Aaronson (2022) and Fernandez et al. 2023 ("Three
// Bricks"), the exponential-minimum / Gumbel-max trick keyed by a hash of the key and the previous h tokens, with
// its exact detection statistic. Not the KGW green lists (Watermark.swift) nor tracing accounts (LabForensics).
import Foundation
import LabCore

/// The sampler. For the context c (last h tokens) the key gives every token v a uniform r_v ∈ (0, 1); the
/// teacher emits argmax_v r_v^(1/p_v) (equivalently the smallest −log(r_v)/p_v, an exponential race), which is
/// token v with probability exactly p_v over the key: for a random key the served distribution *is* the teacher's
/// (distortion-free per token), unlike KGW's δ-shifted one. For one fixed key the choice is a deterministic
/// function of (context, distribution): the same prompt gets the same answer, which is the scheme's cost
/// (diversity, not quality) and why per-account keys matter for it.
///
/// Parameters:
/// - `key`: the secret; text is independent of a key it was not sampled with.
/// - h `contextWidth`: previous tokens hashed with the key (1 here; larger h repeats less).
///
/// Detection (Aaronson's score, Fernandez et al.'s exact test): each scored (context, token) tuple contributes
/// −log(1 − r_token). For text that does not depend on the key r is uniform, so each term is Exp(1) and over T
/// distinct tuples the sum is Gamma(T, 1): `GumbelScore.pValue` = P(Gamma(T, 1) ≥ S), exact. Watermarked text
/// picked tokens with large r, so S grows faster than T.
public struct GumbelWatermark: Sendable, Equatable {
    public let key: UInt64
    public let contextWidth: Int
    public let vocabularySize: Int

    public init(key: UInt64, contextWidth: Int = 1, vocabularySize: Int) throws {
        guard vocabularySize >= 2, vocabularySize <= Int(Int32.max) else {
            throw LabError.invalidConfig(
                key: "vocabulary_size",
                message: "is \(vocabularySize); a watermark needs a vocabulary of 2...\(Int32.max) tokens")
        }
        guard contextWidth >= 1 else {
            throw LabError.invalidConfig(
                key: "context_width",
                message: "is \(contextWidth); the uniforms are seeded by at least 1 previous token (1 is the default)")
        }
        self.key = key
        self.contextWidth = contextWidth
        self.vocabularySize = vocabularySize
    }

    /// The keyed hash of the last h tokens of `context`, or nil when it has fewer than h. Domain-separated
    /// from KGW's hash, so one key used for both schemes gives unrelated randomness.
    public func contextHash(_ context: ArraySlice<Int32>) -> UInt64? {
        guard context.count >= contextWidth else { return nil }
        var c = KGWWatermark.mix(key ^ 0x4755_4D42_454C_2157)  // "GUMBEL!W"
        for t in context.suffix(contextWidth) {
            c = KGWWatermark.mix(c &+ (UInt64(UInt32(bitPattern: t)) &+ 1) &* KGWWatermark.golden)
        }
        return c
    }

    /// r_token in the context whose hash is `c`: 53 random bits, in the open interval (0, 1).
    public func uniform(token: Int32, contextHash c: UInt64) -> Double {
        let h = KGWWatermark.mix(c ^ (UInt64(UInt32(bitPattern: token)) &+ 1) &* 0xD6E8_FEB8_6659_FD93)
        return (Double(h >> 11) + 0.5) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// The watermarked choice among `probabilities` (V non-negative weights summing to 1) after `context`:
    /// argmin over p_v > 0 of −log(r_v)/p_v. Nil when the context is shorter than h (the caller samples
    /// unwatermarked there) or no weight is positive.
    public func sample(probabilities: [Double], context: ArraySlice<Int32>) -> Int32? {
        guard probabilities.count == vocabularySize, let c = contextHash(context) else { return nil }
        var best = -1, bestRace = Double.infinity
        for v in 0..<vocabularySize where probabilities[v] > 0 {
            let race = -log(uniform(token: Int32(v), contextHash: c)) / probabilities[v]
            if race < bestRace {
                bestRace = race
                best = v
            }
        }
        return best < 0 ? nil : Int32(best)
    }
}

/// The evidence text carries for a Gumbel key: S = Σ −log(1 − r) over T scored tuples.
public struct GumbelScore: Sendable, Equatable, Codable {
    public var scored: Int
    /// S, the sum of −log(1 − r) over the scored tuples.
    public var statistic: Double
    /// P(Gamma(T, 1) ≥ S), exact; 1 when nothing was scored.
    public var pValue: Double

    public init(statistic: Double, scored: Int) {
        precondition(scored >= 0 && statistic >= 0, "GumbelScore: statistic \(statistic) over \(scored)")
        self.scored = scored
        self.statistic = statistic
        pValue = scored == 0 ? 1 : WatermarkStatistics.gammaTail(atLeast: statistic, shape: scored)
    }

    enum CodingKeys: String, CodingKey { case scored, statistic, pValue = "p_value" }
}

/// Sums the Gumbel score for one key over any number of tuples, optionally counting each (context window,
/// token) tuple once — the de-duplication the radioactivity tests need (see KGWTally).
public struct GumbelTally: Sendable {
    public let watermark: GumbelWatermark
    public let deduplicate: Bool
    public private(set) var scored = 0
    public private(set) var statistic = 0.0
    private var seen = Set<KGWTally.Tuple>()

    public init(watermark: GumbelWatermark, deduplicate: Bool) {
        self.watermark = watermark
        self.deduplicate = deduplicate
    }

    /// Scores every token of `tokens` with a full h-token window (from `prompt` where needed); prompt tokens
    /// are context only. Throws on a token outside the vocabulary.
    public mutating func add(tokens: [Int32], prompt: [Int32] = []) throws {
        try forEachWatermarkedToken(
            in: tokens, prompt: prompt, contextWidth: watermark.contextWidth, vocabularySize: watermark.vocabularySize
        ) { token, window in
            count(token: token, contextHash: watermark.contextHash(window) ?? 0)
        }
    }

    /// Scores `token` after `context` (skipped when the context is shorter than h).
    public mutating func add(token: Int32, context: ArraySlice<Int32>) throws {
        guard token >= 0, Int(token) < watermark.vocabularySize else {
            throw LabError.message(
                "token \(token) is outside the watermark's vocabulary 0..<\(watermark.vocabularySize)")
        }
        guard let c = watermark.contextHash(context) else { return }
        count(token: token, contextHash: c)
    }

    private mutating func count(token: Int32, contextHash c: UInt64) {
        if deduplicate, !seen.insert(KGWTally.Tuple(context: c, token: token)).inserted { return }
        scored += 1
        statistic += -log1p(-watermark.uniform(token: token, contextHash: c))
    }

    public var score: GumbelScore { GumbelScore(statistic: statistic, scored: scored) }
}

extension WatermarkStatistics {
    /// P(X ≥ x) for X ~ Gamma(n, 1) with integer shape n ≥ 1, which equals P(Poisson(x) ≤ n − 1), summed
    /// exactly from the largest Poisson term outwards (as `binomialTail`), so tiny tails keep their relative
    /// accuracy; the complement is used only where the answer is near 1.
    public static func gammaTail(atLeast x: Double, shape n: Int) -> Double {
        precondition(n >= 1 && !x.isNaN, "gammaTail: shape \(n), x \(x)")
        if x <= 0 { return 1 }
        func logPoisson(_ k: Int) -> Double { -x + Double(k) * log(x) - lgamma(Double(k + 1)) }
        if x >= Double(n - 1) {
            // Terms k = n − 1, n − 2, … fall (pmf(k−1)/pmf(k) = k/x ≤ 1).
            var sum = 1.0, term = 1.0, k = n - 1
            while k > 0 {
                term *= Double(k) / x
                k -= 1
                sum += term
                if term < sum * 1e-17 { break }
            }
            return min(1, exp(logPoisson(n - 1) + log(sum)))
        }
        // x < n − 1: 1 − P(Poisson ≥ n), whose terms fall from k = n (pmf(k+1)/pmf(k) = x/(k+1) < 1).
        var sum = 1.0, term = 1.0, k = n
        while true {
            term *= x / Double(k + 1)
            k += 1
            sum += term
            if term < sum * 1e-17 { break }
        }
        return max(0, min(1, 1 - exp(logPoisson(n) + log(sum))))
    }
}
