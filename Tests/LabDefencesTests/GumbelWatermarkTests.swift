// The Gumbel-max watermark (Aaronson 2022): its Gamma tail against closed forms, the sampler's output distributed
// as the teacher's over keys (distortion-free), the de-duplicated score's null calibrated on unrelated text, and
// watermarked text detected while a wrong key sees nothing. Not per-account tracing (LabForensicsTests).
import Foundation
import LabCore
import LabDefences
import XCTest

final class GumbelWatermarkTests: XCTestCase {
    func testGammaTailMatchesClosedFormsAndStaysAccurateFarInTheTail() {
        // P(Gamma(n, 1) ≥ x) = e^−x Σ_{k<n} x^k/k!.
        for x in [0.1, 0.9, 1.0, 2.5, 7.0, 30.0] {
            XCTAssertEqual(
                WatermarkStatistics.gammaTail(atLeast: x, shape: 1), exp(-x), accuracy: 1e-14 * max(1, exp(-x)))
            XCTAssertEqual(WatermarkStatistics.gammaTail(atLeast: x, shape: 2), exp(-x) * (1 + x), accuracy: 1e-13)
            XCTAssertEqual(
                WatermarkStatistics.gammaTail(atLeast: x, shape: 3), exp(-x) * (1 + x + x * x / 2), accuracy: 1e-13)
        }
        XCTAssertEqual(WatermarkStatistics.gammaTail(atLeast: 0, shape: 5), 1)
        // Far tail, relative accuracy: n = 1 at x = 600 is e^−600.
        let far = WatermarkStatistics.gammaTail(atLeast: 600, shape: 1)
        XCTAssertEqual(log(far), -600, accuracy: 1e-9)
        // The median of Gamma(n, 1) is ≈ n − 1/3; the tail there is ≈ 1/2 for large n, on both branches.
        for n in [50, 400, 5000] {
            XCTAssertEqual(WatermarkStatistics.gammaTail(atLeast: Double(n) - 1.0 / 3, shape: n), 0.5, accuracy: 0.01)
        }
        // Monotone in x.
        var last = 1.0
        for x in stride(from: 0.0, through: 200, by: 0.5) {
            let q = WatermarkStatistics.gammaTail(atLeast: x, shape: 100)
            XCTAssertLessThanOrEqual(q, last + 1e-15)
            last = q
        }
    }

    /// Over many keys the watermarked choice after a fixed context is distributed as p (χ² against p).
    func testSamplerIsDistortionFreeOverKeys() throws {
        let V = 16
        var rng = LabRNG(seed: 4)
        let logits = (0..<V).map { _ in 1.5 * rng.normal() }
        let m = logits.max()!, e = logits.map { exp($0 - m) }, s = e.reduce(0, +)
        let p = e.map { $0 / s }
        let draws = 20_000
        var counts = [Int](repeating: 0, count: V)
        for key in 0..<draws {
            let w = try GumbelWatermark(key: UInt64(key) &* 0x9E37_79B9_7F4A_7C15, vocabularySize: V)
            counts[Int(try XCTUnwrap(w.sample(probabilities: p, context: [3][...])))] += 1
        }
        let chi2 = (0..<V).reduce(0.0) { acc, v in
            let expected = p[v] * Double(draws)
            return acc + (Double(counts[v]) - expected) * (Double(counts[v]) - expected) / expected
        }
        // χ²(15): 99.9th percentile ≈ 37.7.
        XCTAssertLessThan(chi2, 37.7, "counts \(counts) against p \(p)")
        // One fixed key is deterministic; a token of zero probability is never chosen.
        let w = try GumbelWatermark(key: 9, vocabularySize: V)
        XCTAssertEqual(w.sample(probabilities: p, context: [3][...]), w.sample(probabilities: p, context: [3][...]))
        var q = [Double](repeating: 0, count: V)
        q[5] = 1
        XCTAssertEqual(w.sample(probabilities: q, context: [1][...]), 5)
        XCTAssertNil(w.sample(probabilities: p, context: [][...]))
        XCTAssertThrowsError(try GumbelWatermark(key: 1, vocabularySize: 1))
        XCTAssertThrowsError(try GumbelWatermark(key: 1, contextWidth: 0, vocabularySize: 8))
    }

    /// Text from a random-bigram source scored under keys it never saw: de-duplicated p-values are uniform
    /// (share under 0.05 and under 0.5 within binomial bounds); watermarked text is detected, a wrong key is not.
    func testNullIsCalibratedAndWatermarkedTextIsDetected() throws {
        let V = 64
        var rng = LabRNG(seed: 8)
        let logits = (0..<(V * V)).map { _ in 2 * rng.normal() }
        func row(_ prev: Int32) -> [Double] {
            let r = logits[(Int(prev) * V)..<(Int(prev) * V + V)]
            let m = r.max()!, e = r.map { exp($0 - m) }, s = e.reduce(0, +)
            return e.map { $0 / s }
        }
        func text(_ n: Int, _ w: GumbelWatermark?, _ rng: inout LabRNG) -> [Int32] {
            var t: [Int32] = [Int32(rng.int(below: V))]
            while t.count < n {
                let p = row(t.last!)
                t.append(w?.sample(probabilities: p, context: t[...]) ?? Int32(rng.categorical(p)))
            }
            return t
        }
        var below05 = 0, below50 = 0
        let trials = 400
        for i in 0..<trials {
            let w = try GumbelWatermark(key: 1000 + UInt64(i), vocabularySize: V)
            var tally = GumbelTally(watermark: w, deduplicate: true)
            try tally.add(tokens: text(120, nil, &rng))
            let p = tally.score.pValue
            if p < 0.05 { below05 += 1 }
            if p < 0.5 { below50 += 1 }
        }
        // Binomial(400, 0.05): mean 20, sd 4.4; Binomial(400, 0.5): mean 200, sd 10 (4 sd bounds).
        XCTAssertLessThanOrEqual(below05, 38, "\(below05) of \(trials) clean texts at p < 0.05")
        XCTAssertEqual(Double(below50), 200, accuracy: 40, "\(below50) of \(trials) clean texts at p < 0.5")

        // Responses of 20 tokens from random prompts (one key gives one choice per context, so one long text
        // would cycle).
        let key = try GumbelWatermark(key: 77, vocabularySize: V),
            wrong = try GumbelWatermark(key: 78, vocabularySize: V)
        let marked = (0..<10).map { _ in text(20, key, &rng) }
        var right = GumbelTally(watermark: key, deduplicate: true),
            other = GumbelTally(watermark: wrong, deduplicate: true)
        var all = GumbelTally(watermark: key, deduplicate: false)
        for t in marked {
            try right.add(tokens: t)
            try other.add(tokens: t)
            try all.add(tokens: t)
        }
        XCTAssertLessThan(right.score.pValue, 1e-6, "S = \(right.score.statistic) over \(right.score.scored)")
        XCTAssertGreaterThan(other.score.pValue, 1e-3)
        XCTAssertGreaterThanOrEqual(all.scored, right.scored)
        XCTAssertThrowsError(try right.add(tokens: [0, Int32(V)]))
    }
}
