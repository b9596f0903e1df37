// WatermarkDetector: scores token sequences for a KGW watermark (Kirchenbauer et al. 2023) — green
// counts, the one-proportion z-test, its normal and exact binomial p-values, per text, per batch, pooled.
// Not here: the green lists themselves (Watermark.swift), or deciding what a suspect model's text is.
import Foundation
import LabCore

/// The evidence one text (or a pool of texts) carries for a watermark key.
///
/// Under the null hypothesis — the text does not depend on the key — each scored token is green with
/// probability γ, independently across distinct (context, token) tuples, so the green count is
/// Binomial(T, γ). The paper's test is the one-proportion z-test on that count; the exact binomial tail
/// is offered too because the normal approximation is poor at small T and far in the tail, where
/// Fernandez et al. 2023 ("Three Bricks to Consolidate Watermarks for LLMs") measured empirical
/// false-positive rates well above the nominal ones.
///
/// Two facts about the null, both measured in WatermarkTests:
/// - Green lists have exactly ⌊γV⌋ members, so k distinct tokens after one context are green like k
///   draws without replacement: the count's variance is Σ k γ(1−γ)(V−k)/(V−1), at most the binomial's.
///   Both p-values are therefore slightly conservative at small V (sd of z ≈ 0.95 at V ≈ 50), never
///   anti-conservative.
/// - The probability is over the key. Texts from one low-entropy source over a small vocabulary share
///   their tuples, so under one fixed key their z-scores share an offset that depends on the key
///   (≈ ±0.5 for a peaked 62-symbol Markov source at T = 200); with large vocabularies it vanishes.
public struct WatermarkScore: Sendable, Equatable, Codable {
    /// T: positions scored (positions without a full context, and with deduplication repeated
    /// (context, token) tuples, are not counted).
    public var scored: Int
    /// |s|_G: scored positions whose token was green.
    public var green: Int
    /// The null green proportion the test used (the watermark's `effectiveGamma`).
    public var gamma: Double
    /// (|s|_G − γT) / √(T γ (1 − γ)); 0 when nothing was scored.
    public var z: Double
    /// One-sided normal tail P(Z ≥ z) = erfc(z/√2)/2, accurate far into the tail (no 1 − Φ cancellation).
    public var pValue: Double
    /// Exact one-sided binomial tail P(Binomial(T, γ) ≥ |s|_G); 1 when nothing was scored.
    public var binomialPValue: Double

    /// The score of `green` green tokens out of `scored`, against null proportion `gamma`.
    public init(green: Int, scored: Int, gamma: Double) {
        precondition(scored >= 0 && green >= 0 && green <= scored, "WatermarkScore: \(green) green of \(scored) scored")
        precondition(gamma > 0 && gamma < 1, "WatermarkScore: gamma \(gamma) outside (0, 1)")
        self.scored = scored
        self.green = green
        self.gamma = gamma
        if scored == 0 {
            z = 0
            pValue = 1
            binomialPValue = 1
        } else {
            let t = Double(scored)
            z = (Double(green) - gamma * t) / (t * gamma * (1 - gamma)).squareRoot()
            pValue = WatermarkStatistics.normalTail(z)
            binomialPValue = WatermarkStatistics.binomialTail(atLeast: green, trials: scored, probability: gamma)
        }
    }

    /// The green fraction |s|_G / T (0 when nothing was scored).
    public var greenFraction: Double { scored == 0 ? 0 : Double(green) / Double(scored) }

    enum CodingKeys: String, CodingKey {
        case scored, green, gamma, z, pValue = "p_value", binomialPValue = "binomial_p_value"
    }
}

/// Tail probabilities for watermark tests, written to stay accurate where they are small.
public enum WatermarkStatistics {
    /// P(Z ≥ z) for a standard normal Z, as erfc(z/√2)/2: relative accuracy is kept down to ~1e-300
    /// (z ≈ 37), where 1 − Φ(z) would have cancelled to 0 by z ≈ 8.3.
    public static func normalTail(_ z: Double) -> Double { 0.5 * erfc(z / 2.0.squareRoot()) }

    /// P(X ≥ k) for X ~ Binomial(n, p), summed exactly (no approximation) from the largest term of
    /// the tail outwards in ratios of successive terms, so neither tiny tails nor large n overflow or
    /// cancel. Terms below 1e-17 of the running sum are dropped (the terms fall monotonically away
    /// from the mode, so the rest is smaller still).
    public static func binomialTail(atLeast k: Int, trials n: Int, probability p: Double) -> Double {
        precondition(n >= 0 && p > 0 && p < 1, "binomialTail: n = \(n), p = \(p)")
        if k <= 0 { return 1 }
        if k > n { return 0 }
        let mode = min(n, Int((Double(n + 1) * p).rounded(.down)))
        let start = max(k, mode)
        let odds = p / (1 - p)
        var sum = 1.0, term = 1.0, j = start
        while j < n {
            term *= Double(n - j) / Double(j + 1) * odds  // pmf(j+1) / pmf(j)
            j += 1
            sum += term
            if term < sum * 1e-17 { break }
        }
        term = 1
        j = start
        while j > k {
            term *= Double(j) / (Double(n - j + 1) * odds)  // pmf(j-1) / pmf(j)
            j -= 1
            sum += term
            if term < sum * 1e-17 { break }
        }
        let logStart =
            lgamma(Double(n + 1)) - lgamma(Double(start + 1)) - lgamma(Double(n - start + 1))
            + Double(start) * log(p) + Double(n - start) * log1p(-p)
        return min(1, exp(logStart + log(sum)))
    }
}

/// Counts green tokens for one watermark key over any number of tuples, optionally scoring each
/// (context window, token) tuple once. One tally per text gives per-text scores; one tally over many
/// texts pools them — with deduplication over the union of their tuples, as the radioactivity tests
/// of Sander et al. 2024 ("Watermarking Makes Language Models Radioactive") require.
///
/// Why deduplicate: the null's independence holds across *distinct* tuples only. A tuple that occurs
/// n times is green all n times or none, so repetitive text (or a pool of texts from one source, all
/// read with one key) inflates the variance of the count and the z-scores stop being N(0, 1)
/// (Fernandez et al. 2023; Sander et al. 2024). A tuple is identified by the keyed hash of its h-token
/// window and its token; two distinct windows share a hash with probability ≈ 2⁻⁶⁴.
public struct KGWTally: Sendable {
    public let watermark: KGWWatermark
    public let deduplicate: Bool
    public private(set) var scored = 0
    public private(set) var green = 0
    /// Tuples already scored (only filled when deduplicating).
    private var seen = Set<Tuple>()

    struct Tuple: Hashable {
        var context: UInt64
        var token: Int32
    }

    public init(watermark: KGWWatermark, deduplicate: Bool) {
        self.watermark = watermark
        self.deduplicate = deduplicate
    }

    /// Scores every token of `tokens` whose h previous tokens (taken from `prompt` where `tokens` has
    /// too few) exist. So a text without a prompt skips its first h tokens: they have no full context
    /// window, hence no green list — the watermark never biased them either. Prompt tokens are context
    /// only, never scored. Throws if a scored token is outside the watermark's vocabulary.
    public mutating func add(tokens: [Int32], prompt: [Int32] = []) throws {
        try forEachWatermarkedToken(
            in: tokens, prompt: prompt, contextWidth: watermark.contextWidth, vocabularySize: watermark.vocabularySize
        ) { token, window in
            // A full window exists, so the hash is never nil.
            count(token: token, contextHash: watermark.contextHash(window) ?? 0)
        }
    }

    /// Scores one tuple: `token` after `context` (only its last h tokens are read). Skipped, like the
    /// start of a text, when the context is shorter than h. This is the unit the reading-mode
    /// radioactivity test needs (a suspect model's predicted token after a watermarked context).
    public mutating func add(token: Int32, context: ArraySlice<Int32>) throws {
        guard token >= 0, Int(token) < watermark.vocabularySize else {
            throw LabError.message(
                "token \(token) is outside the watermark's vocabulary 0..<\(watermark.vocabularySize)")
        }
        guard let c = watermark.contextHash(context) else { return }
        count(token: token, contextHash: c)
    }

    private mutating func count(token: Int32, contextHash c: UInt64) {
        if deduplicate, !seen.insert(Tuple(context: c, token: token)).inserted { return }
        scored += 1
        if watermark.isGreen(token: token, contextHash: c) { green += 1 }
    }

    /// The test on everything added so far.
    public var score: WatermarkScore { WatermarkScore(green: green, scored: scored, gamma: watermark.effectiveGamma) }
}

/// The KGW detector: the watermark key, and tests of texts against it.
public struct KGWDetector: Sendable {
    public let watermark: KGWWatermark

    public init(watermark: KGWWatermark) { self.watermark = watermark }

    /// The score of one text. `prompt` supplies context for the first tokens and is not scored.
    /// With `deduplicate`, each (context window, token) tuple counts once in this text.
    public func score(tokens: [Int32], prompt: [Int32] = [], deduplicate: Bool) throws -> WatermarkScore {
        var tally = KGWTally(watermark: watermark, deduplicate: deduplicate)
        try tally.add(tokens: tokens, prompt: prompt)
        return tally.score
    }

    /// One score per text, each text tested on its own (in parallel; order kept). `prompts`, when
    /// given, pairs one prompt with each text.
    public func scores(texts: [[Int32]], prompts: [[Int32]]? = nil, deduplicate: Bool) throws -> [WatermarkScore] {
        try checkPrompts(prompts, texts: texts)
        var results = [Result<WatermarkScore, Error>](
            repeating: .success(WatermarkScore(green: 0, scored: 0, gamma: watermark.effectiveGamma)),
            count: texts.count)
        results.withUnsafeMutableBufferPointer { out in
            Parallel.forChunks(texts.count, minimumPerChunk: 32) { range in
                for i in range {
                    out[i] = Result { try score(tokens: texts[i], prompt: prompts?[i] ?? [], deduplicate: deduplicate) }
                }
            }
        }
        return try results.enumerated().map { i, result in
            do { return try result.get() } catch { throw LabError.message("text \(i): \(error)") }
        }
    }

    /// One score for all `texts` pooled: green counts summed over their scored tuples — with
    /// `deduplicate`, over the union of tuples, each counted once across all texts (Sander et al. 2024).
    public func aggregate(texts: [[Int32]], prompts: [[Int32]]? = nil, deduplicate: Bool) throws -> WatermarkScore {
        try checkPrompts(prompts, texts: texts)
        var tally = KGWTally(watermark: watermark, deduplicate: deduplicate)
        for (i, text) in texts.enumerated() {
            do { try tally.add(tokens: text, prompt: prompts?[i] ?? []) } catch {
                throw LabError.message("text \(i): \(error)")
            }
        }
        return tally.score
    }

    private func checkPrompts(_ prompts: [[Int32]]?, texts: [[Int32]]) throws {
        if let prompts, prompts.count != texts.count {
            throw LabError.message(
                "\(prompts.count) prompts for \(texts.count) texts; give one prompt per text, or none")
        }
    }
}
