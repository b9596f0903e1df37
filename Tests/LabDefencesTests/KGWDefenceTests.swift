// KGW as a defence stage: it scales exactly the green tokens by e^δ, and text the defended API samples
// (bigram and GPT teachers, through the batched decode) is detected by the KGW detector, more strongly
// as δ grows. The watermark's own statistics and calibration are WatermarkTests'.
import Foundation
import LabAPI
import LabCore
import LabDefences
import TestSupport
import XCTest

final class KGWDefenceTests: XCTestCase {
    func testGreenTokensAreScaledByExpDelta() throws {
        let wm = try KGWWatermark(gamma: 0.25, delta: 1.5, key: 7, contextWidth: 1, vocabularySize: 40)
        var rows = Fixture.randomRows(count: 20, V: 40, seed: 1)
        try KGWDefence(watermark: wm).apply(to: &rows)
        for row in rows {
            XCTAssertEqual(row.values.reduce(0, +), 1, accuracy: 1e-12)
            let green = (0..<40).filter { wm.isGreen(token: Int32($0), context: row.context) }
            XCTAssertEqual(green.count, 10)
            let red = (0..<40).filter { !green.contains($0) }
            let c = row.values[red[0]] / row.original[red[0]]
            for i in red { XCTAssertEqual(row.values[i] / row.original[i], c, accuracy: 1e-12 * c) }
            for i in green { XCTAssertEqual(row.values[i] / row.original[i], c * exp(1.5), accuracy: 1e-6 * c) }
        }
    }

    /// Mean z and the fraction of texts with z ≥ 4, over `count` completions of `length` tokens.
    func detection(
        _ teacher: any TeacherAPI, delta: Double?, count: Int, length: Int, key: UInt64 = 99, detectorKey: UInt64? = nil
    ) throws -> (meanZ: Double, rate: Double) {
        let V = teacher.vocabularySize
        let env = DefenceEnvironment(vocabularySize: V, contextLength: teacher.contextLength)
        let spec = DefenceSpec(
            "kgw", ["gamma": .number(0.25), "delta": .number(delta ?? 0), "key": .number(Double(key))])
        let pipeline = delta == nil ? DefencePipeline.none : try DefenceRegistry.pipeline([spec], environment: env)
        let ledger = Ledger()
        try ledger.open("user")
        let api = DefendedAPI(teacher: teacher, defences: pipeline, ledger: ledger, seed: 5)
        var rng = LabRNG(seed: 3)
        let prompts = (0..<count).map { _ in [Int32(rng.int(below: V))] }
        let texts = try api.call(
            prompts.map { .completion($0, maxNewTokens: length, seed: rng.next()) }, account: "user"
        ).map(\.tokens)
        let detector = KGWDetector(
            watermark: try KGWWatermark(
                gamma: 0.25, delta: 2, key: detectorKey ?? key, contextWidth: 1, vocabularySize: V))
        let scores = try detector.scores(texts: texts, prompts: prompts, deduplicate: false)
        return (scores.map(\.z).reduce(0, +) / Double(count), Double(scores.filter { $0.z >= 4 }.count) / Double(count))
    }

    func testDefendedCompletionsCarryTheWatermarkAndPowerFallsWithDelta() throws {
        // A bigram teacher with N(0, 2²) logit rows over 200 tokens (context 256): entropy to spare.
        let teacher = try BigramTeacher.random(vocabularySize: 200, scale: 2, contextLength: 256, seed: 8)
        let clean = try detection(teacher, delta: nil, count: 30, length: 200)
        XCTAssertLessThan(abs(clean.meanZ), 4 / 30.0.squareRoot())  // 4 standard errors of a mean of N(0, 1)
        XCTAssertEqual(clean.rate, 0)
        var means: [Double] = []
        for delta in [0.5, 1.0, 2.0] {
            let d = try detection(teacher, delta: delta, count: 30, length: 200)
            print(
                String(
                    format: "kgw through the API, bigram teacher, δ = %.1f: mean z %.2f, detected at z ≥ 4: %.0f%%",
                    delta, d.meanZ, 100 * d.rate))
            means.append(d.meanZ)
            if delta == 2 { XCTAssertGreaterThanOrEqual(d.rate, 0.95) }
        }
        XCTAssertLessThan(means[0], means[1])
        XCTAssertLessThan(means[1], means[2])
        // The wrong key sees clean text.
        let otherKey = try detection(teacher, delta: 2, count: 30, length: 200, detectorKey: 100)
        XCTAssertLessThan(abs(otherKey.meanZ), 4 / 30.0.squareRoot())
    }

    func testGPTTeacherDecodeAppliesTheWatermark() throws {
        // Through GPTTeacher's batched Sampler path: 30 texts of 40 tokens from a tiny random GPT.
        let teacher = GPTTeacher(model: try Fixture.tinyGPT(vocabularySize: 40, contextLength: 48), maxBatch: 16)
        let marked = try detection(teacher, delta: 4, count: 30, length: 40)
        let clean = try detection(teacher, delta: nil, count: 30, length: 40)
        XCTAssertGreaterThan(marked.meanZ, clean.meanZ + 2)
    }
}
