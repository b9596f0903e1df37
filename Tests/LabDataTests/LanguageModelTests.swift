// LanguageModel: trains on a corpus, survives a checkpoint round trip bit for bit (with its
// tokenizer and corpus spec), and evaluates splits whose length is not a multiple of T.
import Foundation
import XCTest

@testable import LabCore
@testable import LabData
@testable import LabModel

final class LanguageModelTests: XCTestCase {
    func testTrainSaveLoadEvaluate() throws {
        try Parallel.withWorkers(2) {
            var spec = CorpusSpec.markov(symbols: 6, order: 1, concentration: 0.2, seed: 3)
            spec.trainTokens = 20_000
            spec.validationTokens = 2_001
            spec.testTokens = 1_003
            let corpus = try spec.build()
            var training = TrainingConfig()
            training.steps = 40
            training.batchSize = 8
            training.learningRate = 1e-2
            training.warmupSteps = 5
            training.evalInterval = 20
            let (lm, history) = try LanguageModel.train(
                corpus: corpus, spec: spec,
                architecture: ModelArchitecture(contextLength: 16, width: 16, layers: 1, heads: 2), training: training)
            XCTAssertEqual(history.records.filter { $0.validationLoss != nil }.count, 2)
            let report = try lm.evaluate(on: corpus, split: .test)
            XCTAssertLessThan(report.loss, log(6.0), "a trained model beats the uniform guess")
            XCTAssertGreaterThan(
                report.loss, corpus.entropyRate! - 0.05, "no model beats the entropy rate by more than noise")

            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lm-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: dir) }
            try lm.save(to: dir)
            let back = try LanguageModel.load(from: dir)
            XCTAssertEqual(back.tokenizer, lm.tokenizer)
            XCTAssertEqual(back.corpusSpec, spec)
            XCTAssertEqual(back.step, 40)
            XCTAssertEqual(back.model.parameters.array, lm.model.parameters.array)
            XCTAssertEqual(try back.evaluate(on: corpus, split: .test).loss, report.loss)
        }
    }

    func testLoadingSomethingThatIsNotACheckpointSaysSo() {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("not-a-checkpoint-\(UUID().uuidString)")
        XCTAssertThrowsError(try LanguageModel.load(from: dir)) { error in
            XCTAssertTrue("\(error)".contains(dir.lastPathComponent), "\(error)")
        }
    }
}
