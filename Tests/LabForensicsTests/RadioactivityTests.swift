// Radioactivity (Sander et al. 2024), small versions: a clean student's reading-mode p-values are
// roughly uniform over keys only with de-duplication, and a student trained on watermarked text is
// caught in both reading and generation mode while a wrong key sees nothing. Not the dose-response.
import Foundation
import LabAPI
import LabAttacks
import LabCore
import LabData
import LabDefences
import LabForensics
import LabModel
import TestSupport
import XCTest

final class RadioactivityTests: XCTestCase {
    /// `count` completions of `length` tokens from `teacher` through the API with the kgw stage at δ (none: clean).
    static func texts(_ teacher: any TeacherAPI, key: UInt64, delta: Double?, count: Int, length: Int, seed: UInt64)
        throws -> [[Int32]]
    {
        let V = teacher.vocabularySize
        let env = DefenceEnvironment(vocabularySize: V, contextLength: teacher.contextLength)
        let pipeline =
            try delta.map {
                try DefenceRegistry.pipeline(
                    [DefenceSpec("kgw", ["delta": .number($0), "key": .number(Double(key))])], environment: env)
            } ?? .none
        let ledger = Ledger()
        try ledger.open("u")
        let api = DefendedAPI(teacher: teacher, defences: pipeline, ledger: ledger, seed: seed)
        var rng = LabRNG(seed: seed, stream: "prompts")
        let prompts = (0..<count).map { _ in [Int32(rng.int(below: V))] }
        let out = try api.call(prompts.map { .completion($0, maxNewTokens: length, seed: rng.next()) }, account: "u")
        return zip(prompts, out).map { $0 + $1.tokens }
    }

    func testDoseMixMeetsItsShareWithWholeTexts() throws {
        let marked = (0..<20).map { i in [Int32](repeating: 1, count: 10 + i) },
            clean = (0..<40).map { _ in [Int32](repeating: 0, count: 25) }
        for share in [0.0, 0.1, 0.5] {
            let stream = try RadioactivityDose.mix(
                watermarked: marked, clean: clean, share: share, tokens: 400, seed: 1)
            let ones = stream.filter { $0 == 1 }.count
            XCTAssertGreaterThanOrEqual(ones, Int(share * 400))
            XCTAssertLessThan(ones, Int(share * 400) + 30)
            XCTAssertGreaterThanOrEqual(stream.count - ones, 400 - Int(share * 400))
        }
        XCTAssertThrowsError(
            try RadioactivityDose.mix(watermarked: marked, clean: clean, share: 1.5, tokens: 400, seed: 1))
        XCTAssertThrowsError(
            try RadioactivityDose.mix(watermarked: marked, clean: clean, share: 1.0, tokens: 400, seed: 1))
    }

    func testCleanStudentIsUniformOnlyWithDeduplication() throws {
        // A random GPT never saw any key; its top-1 depends mostly on the last token, so tuples recur.
        let student = try Fixture.tinyGPT(vocabularySize: 40, contextLength: 32, seed: 11)
        let teacher = try BigramTeacher.random(vocabularySize: 40, scale: 2, contextLength: 256, seed: 4)
        var all: [WatermarkScore] = [], dedup: [WatermarkScore] = []
        for key in 1...24 {
            let wm = try KGWWatermark(gamma: 0.25, delta: 2, key: UInt64(key), vocabularySize: 40)
            let marked = try Self.texts(teacher, key: UInt64(key), delta: 2, count: 4, length: 100, seed: UInt64(key))
            let report = try Radioactivity.reading(student: student, texts: marked, watermark: wm)
            all.append(report.all)
            dedup.append(report.deduplicated)
        }
        func sd(_ s: [WatermarkScore]) -> Double {
            let m = s.map(\.z).reduce(0, +) / Double(s.count)
            return (s.map { ($0.z - m) * ($0.z - m) }.reduce(0, +) / Double(s.count - 1)).squareRoot()
        }
        func small(_ s: [WatermarkScore]) -> Int { s.filter { $0.binomialPValue < 0.05 }.count }
        print(
            String(
                format:
                    "clean student, reading mode over 24 keys: sd of z %.2f without dedup (%d of 24 with p < 0.05, %d scored each), %.2f with dedup (%d of 24, ~%d scored)",
                sd(all), small(all), all[0].scored, sd(dedup), small(dedup), dedup[0].scored))
        XCTAssertGreaterThan(sd(all), 2)
        XCTAssertLessThan(sd(dedup), 1.6)
        XCTAssertLessThanOrEqual(small(dedup), 4)  // 24 × 0.05 = 1.2 expected
        XCTAssertGreaterThan(small(all), small(dedup))
    }

    func testStudentTrainedOnWatermarkedTextIsRadioactive() throws {
        let V = 48, key: UInt64 = 77
        let teacher = try BigramTeacher.random(vocabularySize: V, scale: 2, contextLength: 256, seed: 6)
        var clock = Date()
        func lap(_ what: String) {
            print(String(format: "  %@: %.2f s", what, Date().timeIntervalSince(clock)))
            clock = Date()
        }
        let train = try Self.texts(teacher, key: key, delta: 3, count: 30, length: 200, seed: 1)
        lap("watermarked training text")
        let stream = train.flatMap { $0 }.map(Int.init)
        let gpt = try GPT(
            config: GPTConfig(vocabularySize: V, contextLength: 16, width: 16, layers: 1, heads: 2), seed: 2)
        var training = TrainingConfig()
        training.steps = 80
        training.batchSize = 8
        training.learningRate = 2e-2
        training.warmupSteps = 5
        training.evalInterval = 0
        var batches = try BatchSampler(tokens: stream, batchSize: 8, sequenceLength: 16, seed: 3)
        _ = try Trainer(model: gpt, config: training).train(data: &batches)
        lap("training")

        let wm = try KGWWatermark(gamma: 0.25, delta: 3, key: key, vocabularySize: V)
        let probe = try Self.texts(teacher, key: key, delta: 3, count: 10, length: 100, seed: 2)
        let reading = try Radioactivity.reading(student: gpt, texts: probe, watermark: wm)
        let prompts = (0..<20).map { [Int32($0)] }
        let generation = try Radioactivity.generation(
            student: gpt, prompts: prompts, maxNewTokens: 30, seed: 5, watermark: wm)
        let wrongKey = try KGWWatermark(gamma: 0.25, delta: 3, key: key + 1, vocabularySize: V)
        let control = try Radioactivity.reading(student: gpt, texts: probe, watermark: wrongKey)
        lap("tests")
        for (label, r) in [("reading", reading), ("generation", generation), ("reading, wrong key", control)] {
            print(
                String(
                    format: "watermarked student, %@: dedup %d/%d green, p = %.2e; all %d/%d, p = %.2e", label,
                    r.deduplicated.green, r.deduplicated.scored, r.deduplicated.binomialPValue, r.all.green,
                    r.all.scored, r.all.binomialPValue))
        }
        XCTAssertLessThan(reading.deduplicated.binomialPValue, 1e-4)
        XCTAssertLessThan(generation.deduplicated.binomialPValue, 1e-4)
        XCTAssertGreaterThan(control.deduplicated.binomialPValue, 1e-3)
    }
}
