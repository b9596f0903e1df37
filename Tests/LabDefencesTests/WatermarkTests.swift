// Watermark tests: KGW green lists (exact size, keyed, O(1) membership agreeing with the listed set),
// the detector's statistics against naive oracles, calibration on clean text, and power on watermarked text.
// Not here: the defence pipeline or radioactivity; the big calibration and trained-teacher runs are opt-in.
import Foundation
import LabAPI
import LabCore
import LabData
import LabDefences
import LabModel
import XCTest

final class WatermarkTests: XCTestCase {

    // MARK: Configuration

    func testInvalidParametersThrowNamingTheKey() {
        func key(_ make: () throws -> KGWWatermark) -> String? {
            do {
                _ = try make()
                return nil
            } catch let LabError.invalidConfig(key, _) { return key } catch { return "unexpected \(error)" }
        }
        XCTAssertEqual(key { try KGWWatermark(gamma: 0, key: 1, vocabularySize: 100) }, "gamma")
        XCTAssertEqual(key { try KGWWatermark(gamma: 1, key: 1, vocabularySize: 100) }, "gamma")
        XCTAssertEqual(key { try KGWWatermark(gamma: .nan, key: 1, vocabularySize: 100) }, "gamma")
        XCTAssertEqual(key { try KGWWatermark(gamma: 0.005, key: 1, vocabularySize: 100) }, "gamma")  // ⌊γV⌋ = 0
        XCTAssertEqual(key { try KGWWatermark(delta: -0.5, key: 1, vocabularySize: 100) }, "delta")
        XCTAssertEqual(key { try KGWWatermark(delta: .infinity, key: 1, vocabularySize: 100) }, "delta")
        XCTAssertEqual(key { try KGWWatermark(key: 1, contextWidth: 0, vocabularySize: 100) }, "context_width")
        XCTAssertEqual(key { try KGWWatermark(key: 1, vocabularySize: 1) }, "vocabulary_size")
        XCTAssertNil(key { try KGWWatermark(gamma: 0.5, delta: 0, key: 1, vocabularySize: 2) })
    }

    // MARK: Green lists

    func testGreenListsHaveExactSizeAndAgreeWithIsGreenAndBias() throws {
        for V in [2, 3, 5, 63, 500, 1000, 1025] {
            for h in [1, 3] {
                let gamma = V < 4 ? 0.5 : 0.25, size = Int((gamma * Double(V)).rounded(.down))
                let wm = try KGWWatermark(gamma: gamma, delta: 1.5, key: 42, contextWidth: h, vocabularySize: V)
                XCTAssertEqual(wm.greenListSize, size)
                var rng = LabRNG(seed: UInt64(V * 10 + h))
                for _ in 0..<5 {
                    let context = ArraySlice((0..<h + 2).map { _ in Int32(rng.int(below: V)) })
                    let list = wm.greenList(context: context)
                    XCTAssertEqual(list.count, size, "V=\(V) h=\(h)")
                    XCTAssertEqual(Set(list).count, list.count, "green list has duplicates")
                    XCTAssertTrue(list.allSatisfy { $0 >= 0 && Int($0) < V })
                    let mask = wm.greenMask(context: context)
                    XCTAssertEqual((0..<V).filter { mask[$0] }.map(Int32.init), list)
                    for t in 0..<V { XCTAssertEqual(wm.isGreen(token: Int32(t), context: context), mask[t]) }
                    var logits = [Float](repeating: 0.25, count: V)
                    logits.withUnsafeMutableBufferPointer { wm.bias(logits: $0.baseAddress!, context: context) }
                    for t in 0..<V { XCTAssertEqual(logits[t], mask[t] ? 1.75 : 0.25) }
                }
            }
        }
    }

    func testContextShorterThanWidthHasNoGreenList() throws {
        let wm = try KGWWatermark(key: 7, contextWidth: 3, vocabularySize: 100)
        XCTAssertEqual(wm.greenList(context: [4, 5]), [])
        XCTAssertNil(wm.contextHash([4, 5]))
        XCTAssertFalse((0..<100).contains { wm.isGreen(token: Int32($0), context: [4, 5]) })
        var logits = [Float](repeating: 0, count: 100)
        logits.withUnsafeMutableBufferPointer { wm.bias(logits: $0.baseAddress!, context: [4, 5]) }
        XCTAssertEqual(logits, [Float](repeating: 0, count: 100))
        // Only the last h tokens matter, in order.
        XCTAssertEqual(wm.greenList(context: [9, 1, 2, 3]), wm.greenList(context: [1, 2, 3]))
        XCTAssertNotEqual(wm.greenList(context: [1, 2, 3]), wm.greenList(context: [2, 1, 3]))
        XCTAssertFalse(wm.isGreen(token: 100, context: [1, 2, 3]))
        XCTAssertFalse(wm.isGreen(token: -1, context: [1, 2, 3]))
    }

    /// Each token is green in a fraction γ of contexts (what the detector's null assumes), and lists
    /// depend on the key and on the context.
    func testEachTokenIsGreenInAFractionGammaOfContexts() throws {
        let V = 50, contexts = 4_000
        let wm = try KGWWatermark(gamma: 0.25, key: 99, vocabularySize: V)
        var counts = [Int](repeating: 0, count: V)
        for c in 0..<contexts {
            for t in wm.greenList(context: [Int32(c)]) { counts[Int(t)] += 1 }
        }
        // Each count is Binomial(4000, 0.24) if lists are uniform: sd ≈ 27; allow 5 sd.
        let p = wm.effectiveGamma, sd = (Double(contexts) * p * (1 - p)).squareRoot()
        for (t, n) in counts.enumerated() {
            XCTAssertLessThan(
                abs(Double(n) - Double(contexts) * p), 5 * sd, "token \(t) green in \(n) of \(contexts) contexts")
        }
        // Pearson χ² over the V counts (V − 1 = 49 dof; mean 49, sd ≈ 10, the totals are fixed).
        let chi2 = counts.reduce(0.0) { $0 + pow(Double($1) - Double(contexts) * p, 2) / (Double(contexts) * p) }
        XCTAssertLessThan(chi2, 49 + 5 * 10)
        let other = try KGWWatermark(gamma: 0.25, key: 100, vocabularySize: V)
        XCTAssertNotEqual(wm.greenList(context: [3]), other.greenList(context: [3]))
        XCTAssertNotEqual(wm.greenList(context: [3]), wm.greenList(context: [4]))
        XCTAssertEqual(wm, try KGWWatermark(gamma: 0.25, key: 99, vocabularySize: V))
    }

    // MARK: Statistics

    func testNormalTailMatchesKnownValuesFarIntoTheTail() {
        // Reference values of 1 − Φ(z) (Abramowitz & Stegun 26.2; high-precision tables).
        let reference: [(Double, Double)] = [
            (0, 0.5), (1, 0.15865525393145705), (2, 0.022750131948179195),
            (4, 3.1671241833119857e-05), (10, 7.619853024160527e-24), (30, 4.906713927148187e-198),
        ]
        for (z, q) in reference {
            XCTAssertTrue(isClose(WatermarkStatistics.normalTail(z), q, atol: 0, rtol: 1e-12), "Q(\(z))")
        }
        XCTAssertTrue(isClose(WatermarkStatistics.normalTail(-2), 1 - 0.022750131948179195, atol: 0, rtol: 1e-12))
    }

    func testBinomialTailMatchesDirectSum() {
        // Oracle: every pmf term from the recursion pmf(j+1) = pmf(j)·(n−j)/(j+1)·p/(1−p) from pmf(0),
        // summed from the top; exact in Double for these n (no term underflows).
        func oracle(_ k: Int, _ n: Int, _ p: Double) -> Double {
            var pmf = [pow(1 - p, Double(n))]
            for j in 0..<n { pmf.append(pmf[j] * Double(n - j) / Double(j + 1) * p / (1 - p)) }
            return pmf[max(0, k)...].reversed().reduce(0, +)
        }
        for (n, p) in [(1, 0.25), (10, 0.25), (50, 0.5), (200, 0.25), (200, 0.05), (200, 0.9)] {
            for k in [0, 1, n / 4, n / 2, (3 * n) / 4, n - 1, n, n + 1] {
                let got = WatermarkStatistics.binomialTail(atLeast: k, trials: n, probability: p)
                let want = k > n ? 0 : oracle(k, n, p)
                XCTAssertTrue(isClose(got, want, atol: 1e-300, rtol: 1e-9), "n=\(n) p=\(p) k=\(k): \(got) vs \(want)")
            }
        }
        // Far tail: all 200 green at γ = 0.25 is 0.25^200.
        XCTAssertTrue(
            isClose(
                WatermarkStatistics.binomialTail(atLeast: 200, trials: 200, probability: 0.25), pow(0.25, 200), atol: 0,
                rtol: 1e-9))
        // Large n (a pooled radioactivity test): no overflow, and near the normal tail at z = 4.
        let n = 1_000_000, k = 250_000 + Int((4 * (Double(n) * 0.1875).squareRoot()).rounded(.up))
        let tail = WatermarkStatistics.binomialTail(atLeast: k, trials: n, probability: 0.25)
        XCTAssertTrue(tail > 2.5e-5 && tail < 4e-5, "\(tail)")
    }

    func testScoreCountsSkipsAndZFormula() throws {
        let wm = try KGWWatermark(gamma: 0.25, key: 5, contextWidth: 2, vocabularySize: 1000)
        let detector = KGWDetector(watermark: wm)
        var rng = LabRNG(seed: 1)
        let text = (0..<300).map { _ in Int32(rng.int(below: 1000)) }
        let s = try detector.score(tokens: text, deduplicate: false)
        // Oracle: the first h = 2 tokens have no full window and are skipped.
        let green = (2..<300).filter { wm.isGreen(token: text[$0], context: text[..<$0]) }.count
        XCTAssertEqual(s.scored, 298)
        XCTAssertEqual(s.green, green)
        let z = (Double(green) - 0.25 * 298) / (298 * 0.25 * 0.75).squareRoot()
        XCTAssertTrue(isClose(s.z, z, atol: 1e-12, rtol: 0))
        XCTAssertTrue(isClose(s.pValue, 0.5 * erfc(z / 2.0.squareRoot()), atol: 0, rtol: 1e-12))
        // A prompt supplies context: with two prompt tokens every text token is scored.
        let prompted = try detector.score(tokens: text, prompt: [11, 12], deduplicate: false)
        XCTAssertEqual(prompted.scored, 300)
        XCTAssertEqual(
            prompted.green,
            green + [0, 1].filter { wm.isGreen(token: text[$0], context: ([11, 12] + text)[..<($0 + 2)]) }.count)
        XCTAssertEqual(try detector.score(tokens: text, prompt: [11], deduplicate: false).scored, 299)
        // Nothing to score: z = 0, p = 1.
        let empty = try detector.score(tokens: [1, 2], deduplicate: true)
        XCTAssertEqual([empty.scored, empty.green], [0, 0])
        XCTAssertEqual([empty.z, empty.pValue, empty.binomialPValue], [0, 1, 1])
        // Out-of-vocabulary tokens are the caller's error, reported with the position.
        XCTAssertThrowsError(try detector.score(tokens: [1, 2, 3, 1000], deduplicate: false)) { error in
            XCTAssertTrue("\(error)".contains("position 3"), "\(error)")
        }
    }

    func testEffectiveGammaIsTheNullWhenGammaVIsNotAnInteger() throws {
        let wm = try KGWWatermark(gamma: 0.25, key: 1, vocabularySize: 63)
        XCTAssertEqual(wm.greenListSize, 15)
        XCTAssertEqual(try KGWDetector(watermark: wm).score(tokens: [1, 2, 3], deduplicate: false).gamma, 15.0 / 63.0)
    }

    func testDeduplicationScoresEachTupleOncePerTextAndOnceAcrossAPool() throws {
        let wm = try KGWWatermark(key: 3, vocabularySize: 100)
        let detector = KGWDetector(watermark: wm)
        let looped: [Int32] = Array(repeating: [1, 2, 3], count: 30).flatMap { $0 }  // tuples (1→2), (2→3), (3→1)
        let plain = try detector.score(tokens: looped, deduplicate: false)
        let unique = try detector.score(tokens: looped, deduplicate: true)
        XCTAssertEqual(plain.scored, 89)
        XCTAssertEqual(unique.scored, 3)
        let greens = [(1, 2), (2, 3), (3, 1)].filter { wm.isGreen(token: Int32($0.1), context: [Int32($0.0)]) }.count
        XCTAssertEqual(unique.green, greens)
        // Pooled: without dedup the counts add; with it, the union of tuples counts once.
        let other: [Int32] = [1, 2, 9, 8]  // (1→2) again, plus (2→9), (9→8)
        let pooled = try detector.aggregate(texts: [looped, other], deduplicate: true)
        XCTAssertEqual(pooled.scored, 5)
        let summed = try detector.aggregate(texts: [looped, other], deduplicate: false)
        XCTAssertEqual(summed.scored, 89 + 3)
        XCTAssertEqual(summed.green, plain.green + (try detector.score(tokens: other, deduplicate: false)).green)
        // The single-tuple API agrees with scoring a text.
        var tally = KGWTally(watermark: wm, deduplicate: true)
        for i in 1..<looped.count { try tally.add(token: looped[i], context: looped[..<i]) }
        XCTAssertEqual(tally.score, unique)
    }

    func testBatchScoresEqualPerTextScoresAndNameTheBadText() throws {
        let wm = try KGWWatermark(key: 8, vocabularySize: 1000)
        let detector = KGWDetector(watermark: wm)
        var rng = LabRNG(seed: 2)
        let texts = (0..<100).map { i in (0..<(20 + i)).map { _ in Int32(rng.int(below: 1000)) } }
        let prompts = (0..<100).map { _ in [Int32(rng.int(below: 1000))] }
        let batch = try detector.scores(texts: texts, prompts: prompts, deduplicate: true)
        XCTAssertEqual(
            batch, try zip(texts, prompts).map { try detector.score(tokens: $0, prompt: $1, deduplicate: true) })
        var bad = texts
        bad[57][3] = -4
        XCTAssertThrowsError(try detector.scores(texts: bad, deduplicate: false)) {
            XCTAssertTrue("\($0)".hasPrefix("text 57:"), "\($0)")
        }
        XCTAssertThrowsError(try detector.scores(texts: texts, prompts: [[1]], deduplicate: false))
    }

    // MARK: Calibration on clean text

    /// 2,000 texts of 200 i.i.d. uniform tokens over V = 1000, one fixed key. Under the null z has mean
    /// 0 and variance 1 exactly (the count is Binomial(199, 1/4)); with N = 2000 the sample mean has
    /// standard error 1/√N = 0.022 and the sample sd ≈ 1/√(2N) = 0.016 — both are allowed 4 standard
    /// errors. Tail counts are compared with the exact null rate (the binomial tail at the same integer
    /// threshold), allowing 4 Poisson sd + 2, and reported next to the normal tail.
    func testCalibrationOnUniformText() throws {
        let wm = try KGWWatermark(gamma: 0.25, delta: 2, key: 20_231_024, vocabularySize: 1000)
        var rng = LabRNG(seed: 11)
        let texts = (0..<2_000).map { _ in (0..<200).map { _ in Int32(rng.int(below: 1000)) } }
        let scores = try KGWDetector(watermark: wm).scores(texts: texts, deduplicate: false)
        let stats = ZStatistics(scores)
        print("uniform V=1000, fixed key: \(stats.summary)")
        XCTAssertEqual(Set(scores.map(\.scored)), [199])
        XCTAssertLessThan(abs(stats.mean), 4 * stats.meanStandardError)
        XCTAssertLessThan(abs(stats.sd - 1), 4 * stats.sdStandardError)
        stats.assertTailsMatchExactNull(thresholds: [2, 2.5, 3, 4])
    }

    /// Text from non-uniform sources: LabData's Markov corpora over 62 symbols (V = 63 with <unk>),
    /// sliced into 2,000 texts of 200 tokens.
    ///
    /// (a) With one key per text the null holds per text, so z is calibrated (deduplicated: a 62-symbol
    /// source repeats bigrams inside 200 tokens). Its sd is a little under 1, and must be: green lists
    /// have exactly ⌊γV⌋ members, so k distinct tokens after one context are green like a draw without
    /// replacement — Var = k γ(1−γ)(V−k)/(V−1), not kγ(1−γ). The test compares the sd with that
    /// hypergeometric prediction, computed from the texts' own tuples.
    /// (b) With one fixed key for all texts — what a deployed detector does — the texts share their
    /// (context, token) tuples, so whether this source's frequent bigrams happen to be green under
    /// *this* key shifts every z by the same amount. The shift is not noise and not a bug: it is
    /// predicted from the source, √T (ḡ − γ)/√(γ(1 − γ)) with ḡ = Σ π(ctx) Σ_s P(s | ctx) green(s | ctx),
    /// and the measured mean must match it. With a large vocabulary and diverse text it averages out
    /// (the uniform test above); with a peaked source over V = 63 and h = 1 it does not.
    func testCalibrationOnMarkovTextPerKeyAndTheFixedKeyShift() throws {
        func texts(_ spec: CorpusSpec) throws -> (Corpus, [[Int32]]) {
            var spec = spec
            (spec.trainTokens, spec.validationTokens, spec.testTokens) = (1, 1, 400_000)
            let corpus = try spec.build()
            return (corpus, (0..<2_000).map { i in corpus.test[(i * 200)..<((i + 1) * 200)].map(Int32.init) })
        }

        // (a) A fresh key per text.
        let (corpus, markovTexts) = try texts(.markov(symbols: 62, order: 2, concentration: 0.5, seed: 4))
        let V = corpus.tokenizer.vocabularySize
        let perKey = try markovTexts.enumerated().map { i, text in
            try KGWDetector(watermark: KGWWatermark(key: 1_000 + UInt64(i), vocabularySize: V)).score(
                tokens: text, deduplicate: true)
        }
        let a = ZStatistics(perKey), predictedSD = hypergeometricNullSD(markovTexts, vocabularySize: V)
        print(
            "markov v62 k2 c0.5, key per text, dedup: \(a.summary); predicted sd \(String(format: "%.3f", predictedSD))"
        )
        XCTAssertLessThan(abs(a.mean), 4 * a.meanStandardError)
        XCTAssertLessThan(abs(a.sd - predictedSD), 4 * a.sdStandardError)
        a.assertTailsMatchExactNull(thresholds: [2, 2.5, 3])

        // (b) One fixed key, on a peaked order-1 source whose context is exactly the watermark's.
        let (peaked, peakedTexts) = try texts(.markov(symbols: 62, order: 1, concentration: 0.1, seed: 5))
        let source = try XCTUnwrap(peaked.markovSource)
        for key: UInt64 in [77, 78] {
            let wm = try KGWWatermark(key: key, vocabularySize: V)
            let fixed = ZStatistics(try KGWDetector(watermark: wm).scores(texts: peakedTexts, deduplicate: false))
            var gBar = 0.0
            for ctx in 0..<source.contextCount where source.stationary[ctx] > 0 {
                let previous = Int32(ctx % source.symbolCount + 1)  // token id = symbol + 1
                for s in 0..<source.symbolCount where wm.isGreen(token: Int32(s + 1), context: [previous]) {
                    gBar += source.stationary[ctx] * source.probability(of: s, inContext: ctx)
                }
            }
            let g = wm.effectiveGamma
            let predicted = 199.0.squareRoot() * (gBar - g) / (g * (1 - g)).squareRoot()
            print(
                "markov v62 k1 c0.1 (entropy \(String(format: "%.2f", source.entropyRate)) nats), fixed key \(key), no dedup: \(fixed.summary); predicted mean \(String(format: "%+.3f", predicted))"
            )
            XCTAssertLessThan(abs(fixed.mean - predicted), 4 * fixed.sd * fixed.meanStandardError)
        }
    }

    /// Repetitive text breaks the null unless tuples are deduplicated: each text is a random 10-token
    /// phrase said 20 times, so its 199 scored tuples are ~10 distinct ones, each counted ~20 times —
    /// the variance of the green count grows about 20-fold (sd of z ≈ √20 ≈ 4.5) and a z = 4 threshold
    /// fires on a large share of clean texts. Scoring each tuple once restores mean 0 and sd ≈ 1.
    /// The grammar corpus (low entropy, 48 words) shows the same effect in a milder, natural form.
    func testRepetitiveTextNeedsDeduplication() throws {
        let wm = try KGWWatermark(key: 123, vocabularySize: 1000)
        let detector = KGWDetector(watermark: wm)
        var rng = LabRNG(seed: 9)
        let texts: [[Int32]] = (0..<2_000).map { _ in
            let phrase = (0..<10).map { _ in Int32(rng.int(below: 1000)) }
            return Array(repeating: phrase, count: 20).flatMap { $0 }
        }
        let raw = ZStatistics(try detector.scores(texts: texts, deduplicate: false))
        let dedup = ZStatistics(try detector.scores(texts: texts, deduplicate: true))
        print("repeated phrases, no dedup: \(raw.summary)")
        print("repeated phrases, dedup:    \(dedup.summary)")
        XCTAssertGreaterThan(raw.sd, 3)
        XCTAssertGreaterThan(raw.rate(atLeast: 4), 0.1)
        XCTAssertLessThan(abs(dedup.mean), 4 * dedup.meanStandardError)
        XCTAssertLessThan(abs(dedup.sd - hypergeometricNullSD(texts, vocabularySize: 1000)), 4 * dedup.sdStandardError)
        XCTAssertLessThanOrEqual(dedup.count(atLeast: 4), 3)

        // Grammar text, a key per text (so only the within-text repetition is at play).
        var spec = CorpusSpec.grammar(seed: 1)
        (spec.trainTokens, spec.validationTokens, spec.testTokens) = (1, 1, 400_000)
        let corpus = try spec.build()
        let V = corpus.tokenizer.vocabularySize
        let grammarTexts = (0..<2_000).map { i in corpus.test[(i * 200)..<((i + 1) * 200)].map(Int32.init) }
        func perKey(_ deduplicate: Bool) throws -> ZStatistics {
            ZStatistics(
                try grammarTexts.enumerated().map { i, text in
                    try KGWDetector(watermark: KGWWatermark(key: 5_000 + UInt64(i), vocabularySize: V)).score(
                        tokens: text, deduplicate: deduplicate)
                })
        }
        let grammarRaw = try perKey(false), grammarDedup = try perKey(true)
        let predictedSD = hypergeometricNullSD(grammarTexts, vocabularySize: V)
        print("grammar (V=\(V)), key per text, no dedup: \(grammarRaw.summary)")
        print(
            "grammar (V=\(V)), key per text, dedup:    \(grammarDedup.summary); predicted sd \(String(format: "%.3f", predictedSD))"
        )
        XCTAssertGreaterThan(grammarRaw.sd, 1.3)
        XCTAssertGreaterThan(grammarRaw.rate(atLeast: 3), 3 * WatermarkStatistics.normalTail(3))
        XCTAssertLessThan(abs(grammarDedup.mean), 4 * grammarDedup.meanStandardError)
        XCTAssertLessThan(abs(grammarDedup.sd - predictedSD), 4 * grammarDedup.sdStandardError)
    }

    /// The sd of z under a random key for deduplicated h = 1 scoring, from the texts' distinct tuples:
    /// √(mean over texts of Σ_ctx k(V−k)/(V−1) / T), k the distinct tokens after context ctx (see above).
    private func hypergeometricNullSD(_ texts: [[Int32]], vocabularySize V: Int) -> Double {
        var total = 0.0
        for text in texts {
            var next: [Int32: Set<Int32>] = [:]
            for i in 1..<text.count { next[text[i - 1], default: []].insert(text[i]) }
            let k = next.values.map { Double($0.count) }, t = k.reduce(0, +)
            total += k.reduce(0) { $0 + $1 * (Double(V) - $1) / Double(V - 1) } / t
        }
        return (total / Double(texts.count)).squareRoot()
    }

    // MARK: Power on watermarked text

    /// A synthetic teacher with entropy: V = 500, each previous token has its own logit row drawn
    /// N(0, 3²) (mean next-token entropy ≈ 3.1 nats, well under log 500 = 6.2), 200 texts of 200 tokens
    /// sampled with the watermark's bias. Detection at z = 4 must reach 95% at γ = 0.25, δ = 2 (the
    /// paper's setting), and power must fall as δ falls.
    func testDetectionPowerRisesWithDelta() throws {
        let teacher = SyntheticTeacher(vocabularySize: 500, logitScale: 3, seed: 31)
        var rates: [Double] = [], means: [Double] = []
        for delta: Float in [0, 0.5, 1, 2, 4] {
            let wm = try KGWWatermark(gamma: 0.25, delta: delta, key: 2023, vocabularySize: 500)
            let texts = teacher.sample(count: 200, length: 200, watermark: wm, seed: 77)
            let stats = ZStatistics(try KGWDetector(watermark: wm).scores(texts: texts, deduplicate: false))
            print(
                String(
                    format: "synthetic teacher (entropy %.2f nats), δ = %.1f: detected at z ≥ 4: %.1f%%; %@",
                    teacher.meanEntropy, delta, 100 * stats.rate(atLeast: 4), stats.summary))
            rates.append(stats.rate(atLeast: 4))
            means.append(stats.mean)
        }
        XCTAssertLessThanOrEqual(rates[0], 0.01)  // δ = 0 is clean text
        XCTAssertGreaterThanOrEqual(rates[3], 0.95)
        for i in 1..<rates.count {
            XCTAssertGreaterThanOrEqual(rates[i], rates[i - 1])
            XCTAssertGreaterThan(means[i], means[i - 1])
        }
        XCTAssertLessThan(rates[1], rates[3])
    }

    /// Clopper–Pearson bounds against values computed independently (scipy.stats.beta.ppf(0.025, k, n − k + 1) and beta.ppf(0.975, k + 1, n − k)).
    func testClopperPearsonMatchesKnownIntervals() {
        let a = WatermarkStatistics.clopperPearson(successes: 5, trials: 100)
        XCTAssertEqual(a.low, 0.0164319, accuracy: 1e-6)
        XCTAssertEqual(a.high, 0.1128349, accuracy: 1e-6)
        let zero = WatermarkStatistics.clopperPearson(successes: 0, trials: 50)
        XCTAssertEqual(zero.low, 0)
        XCTAssertEqual(zero.high, 1 - pow(0.025, 1.0 / 50), accuracy: 1e-9)
        let all = WatermarkStatistics.clopperPearson(successes: 20, trials: 20)
        XCTAssertEqual(all.low, pow(0.025, 1.0 / 20), accuracy: 1e-9)
        XCTAssertEqual(all.high, 1)
    }
}

// MARK: - Helpers

/// Mean, sd and tail counts of z over many texts, with the sampling error of each.
private struct ZStatistics {
    let scores: [WatermarkScore]
    let mean: Double, sd: Double

    init(_ scores: [WatermarkScore]) {
        self.scores = scores
        let z = scores.map(\.z), n = Double(z.count)
        let m = z.reduce(0, +) / n
        mean = m
        sd = (z.reduce(0) { $0 + ($1 - m) * ($1 - m) } / (n - 1)).squareRoot()
    }

    var meanStandardError: Double { 1 / Double(scores.count).squareRoot() }
    var sdStandardError: Double { 1 / (2 * Double(scores.count)).squareRoot() }
    func count(atLeast threshold: Double) -> Int { scores.filter { $0.z >= threshold }.count }
    func rate(atLeast threshold: Double) -> Double { Double(count(atLeast: threshold)) / Double(scores.count) }

    /// The exact null rate of "z ≥ threshold": per text, P(Binomial(T, γ) ≥ the smallest green count
    /// whose z reaches the threshold), averaged over texts (T can differ between texts).
    func exactNullRate(atLeast threshold: Double) -> Double {
        scores.reduce(0.0) { total, s in
            guard s.scored > 0 else { return total }
            let t = Double(s.scored)
            var k = Int((s.gamma * t + threshold * (t * s.gamma * (1 - s.gamma)).squareRoot()).rounded(.up))
            // Guard the rounding: the smallest k with z(k) ≥ threshold.
            func z(_ k: Int) -> Double { (Double(k) - s.gamma * t) / (t * s.gamma * (1 - s.gamma)).squareRoot() }
            while k > 0, z(k - 1) >= threshold { k -= 1 }
            while z(k) < threshold { k += 1 }
            return total + WatermarkStatistics.binomialTail(atLeast: k, trials: s.scored, probability: s.gamma)
        } / Double(scores.count)
    }

    var summary: String {
        String(
            format: "N = %d, z mean %+.3f (se %.3f), sd %.3f (se %.3f); z≥2: %d, z≥2.5: %d, z≥3: %d, z≥4: %d",
            scores.count, mean, meanStandardError, sd, sdStandardError, count(atLeast: 2), count(atLeast: 2.5),
            count(atLeast: 3), count(atLeast: 4))
    }

    /// Each tail count within 4 Poisson sd (+2 for discreteness) of N × the exact null rate.
    func assertTailsMatchExactNull(thresholds: [Double], file: StaticString = #filePath, line: UInt = #line) {
        for th in thresholds {
            let expected = Double(scores.count) * exactNullRate(atLeast: th)
            XCTAssertLessThan(
                abs(Double(count(atLeast: th)) - expected), 4 * expected.squareRoot() + 2,
                "z ≥ \(th): \(count(atLeast: th)) texts, expected \(expected)", file: file, line: line)
        }
    }
}

/// A Markov-1 teacher over V tokens with a fixed, seeded logit row per previous token. Because both
/// the teacher and an h = 1 watermark read only the previous token, the biased next-token distribution
/// of every context is computed once (through `KGWWatermark.bias`) and sampling is a table look-up.
private struct SyntheticTeacher {
    let vocabularySize: Int
    /// (V, V): logits[previous * V + next].
    let logits: [Float]
    /// Mean entropy (nats) of the unbiased next-token distributions.
    let meanEntropy: Double

    init(vocabularySize V: Int, logitScale: Double, seed: UInt64) {
        vocabularySize = V
        var rng = LabRNG(seed: seed, stream: "synthetic-teacher")
        logits = (0..<(V * V)).map { _ in Float(rng.normal() * logitScale) }
        var entropy = 0.0
        for c in 0..<V {
            let p = Self.softmax(Array(logits[(c * V)..<((c + 1) * V)]))
            entropy += p.reduce(0) { $1 > 0 ? $0 - $1 * log($1) : $0 }
        }
        meanEntropy = entropy / Double(V)
    }

    static func softmax(_ z: [Float]) -> [Double] {
        let m = z.max() ?? 0
        let e = z.map { exp(Double($0 - m)) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    /// `count` texts of `length` tokens; the first token is uniform, each later one drawn from the
    /// previous token's row with the watermark's bias.
    func sample(count: Int, length: Int, watermark: KGWWatermark, seed: UInt64) -> [[Int32]] {
        let V = vocabularySize
        var cumulative = [Double](repeating: 0, count: V * V)
        for c in 0..<V {
            var row = Array(logits[(c * V)..<((c + 1) * V)])
            row.withUnsafeMutableBufferPointer { watermark.bias(logits: $0.baseAddress!, context: [Int32(c)]) }
            var running = 0.0
            for (v, p) in Self.softmax(row).enumerated() {
                running += p
                cumulative[c * V + v] = running
            }
        }
        var rng = LabRNG(seed: seed, stream: "synthetic-teacher-sample")
        return (0..<count).map { _ in
            var text = [Int32(rng.int(below: V))]
            while text.count < length {
                let row = Int(text[text.count - 1]) * V, u = rng.uniform() * cumulative[row + V - 1]
                var lo = 0, hi = V - 1
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if cumulative[row + mid] > u { hi = mid } else { lo = mid + 1 }
                }
                text.append(Int32(lo))
            }
            return text
        }
    }
}
