// Measurement, not a unit test (skipped unless DISTILL_LAB_MEASURE is set): the radioactivity
// dose-response of reproduction 7 at toy scale — students trained on 0, 1, 5, 10 and 50% watermarked
// text, their reading- and generation-mode p-values. The real one is Experiments/repro-radioactivity.yaml.
import Foundation
import LabAPI
import LabAttacks
import LabCore
import LabData
import LabDefences
import LabForensics
import LabModel
import XCTest

final class RadioactivityDoseMeasurement: XCTestCase {
    /// Run: `DISTILL_LAB_MEASURE=1 swift test --filter RadioactivityDoseMeasurement` (~2 min in debug).
    /// Measured at 16fe7d3 (V = 48 bigram teacher, δ = 3, 20k-token mixes, 200-step students, 2 seeds/keys):
    /// de-duplicated reading-mode p was 0.09/0.55 at 0%, 0.09/0.76 at 1%, 0.14/0.49 at 5%, 0.023/0.23 at
    /// 10% and 6e-11/2e-8 at 50%; without de-duplication the clean (0%) students already gave 9e-14/9e-3.
    func testDoseResponse() throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["DISTILL_LAB_MEASURE"] != nil, "set DISTILL_LAB_MEASURE=1 to run measurements")
        // Each seed has its own key (so the 0% rows sample the null over keys) and its own texts.
        let V = 48, delta = 3.0
        let teacher = try BigramTeacher.random(vocabularySize: V, scale: 2, contextLength: 256, seed: 6)
        print("| share | seed | reading p (dedup) | reading p (all) | generation p (dedup) | generation p (all) | generation tuples (dedup / all) | student val CE |")
        print("|---|---|---|---|---|---|---|---|")
        for seed in [UInt64(1), 2] {
            let key = 100 + seed
            let marked = try RadioactivityTests.texts(teacher, key: key, delta: delta, count: 120, length: 200, seed: 10 * seed + 1)
            let clean = try RadioactivityTests.texts(teacher, key: key, delta: nil, count: 120, length: 200, seed: 10 * seed + 2)
            let probe = try RadioactivityTests.texts(teacher, key: key, delta: delta, count: 20, length: 100, seed: 10 * seed + 3)
            let wm = try KGWWatermark(gamma: 0.25, delta: Float(delta), key: key, vocabularySize: V)
            for share in [0.0, 0.01, 0.05, 0.10, 0.50] {
                let stream = try RadioactivityDose.mix(watermarked: marked, clean: clean, share: share, tokens: 20_000, seed: seed)
                let gpt = try GPT(config: GPTConfig(vocabSize: V, contextLength: 16, width: 32, layers: 1, heads: 2), seed: seed)
                var training = TrainingConfig()
                training.steps = 200
                training.batchSize = 8
                training.learningRate = 1e-2
                training.warmupSteps = 10
                training.evalInterval = 0
                training.seed = seed
                var batches = try BatchSampler(tokens: stream, batchSize: 8, sequenceLength: 16, seed: seed)
                _ = try Trainer(model: gpt, config: training).train(data: &batches)
                let reading = try Radioactivity.reading(student: gpt, texts: probe, watermark: wm)
                let generation = try Radioactivity.generation(student: gpt, prompts: (0..<200).map { [Int32($0 % V)] }, maxNewTokens: 30,
                                                              seed: seed, watermark: wm)
                let ce = try Evaluation.meanLoss(model: gpt, inputs: clean.suffix(4).map { Array($0.prefix(16)) },
                                                 targets: clean.suffix(4).map { Array($0.dropFirst().prefix(16)) }, batchSize: 4)
                print(String(format: "| %.0f%% | %d | %.2e | %.2e | %.2e | %.2e | %d / %d | %.3f |", 100 * share, seed,
                             reading.deduplicated.binomialPValue, reading.all.binomialPValue,
                             generation.deduplicated.binomialPValue, generation.all.binomialPValue,
                             generation.deduplicated.scored, generation.all.scored, ce))
            }
        }
    }
}
