// The training loop: loss falls on a learnable source, the schedule has its shape, and a
// divergence stops training with an error naming the step and the tensor.
import XCTest

@testable import LabCore
@testable import LabModel

final class TrainerTests: XCTestCase {
    /// Batches of a deterministic cycle 0,1,…,V−1,0,1,…: perfectly predictable after one token.
    struct CycleSource: BatchSource {
        let V: Int, B: Int, T: Int
        var offset = 0
        mutating func next(inputs: inout [Int32], targets: inout [Int32]) {
            for b in 0..<B {
                for t in 0..<T {
                    inputs[b * T + t] = Int32((offset + b + t) % V)
                    targets[b * T + t] = Int32((offset + b + t + 1) % V)
                }
            }
            offset += 1
        }
    }

    func testLossFallsOnALearnableSource() throws {
        try Parallel.withWorkers(2) {
            let gpt = try GPT(
                config: GPTConfig(vocabularySize: 11, contextLength: 8, width: 32, layers: 2, heads: 2), seed: 1)
            var cfg = TrainingConfig()
            cfg.steps = 60
            cfg.batchSize = 8
            cfg.learningRate = 1e-2
            cfg.warmupSteps = 5
            cfg.evalInterval = 0
            var data = CycleSource(V: 11, B: 8, T: 8)
            let history = try Trainer(model: gpt, config: cfg).train(data: &data)
            XCTAssertEqual(history.records.count, 60)
            XCTAssertGreaterThan(history.records[0].trainLoss, 2.0)
            XCTAssertLessThan(history.records.last!.trainLoss, 0.2)
        }
    }

    func testScheduleWarmsUpThenDecaysToTheFloor() {
        var cfg = TrainingConfig()
        cfg.steps = 100
        cfg.warmupSteps = 10
        cfg.learningRate = 1
        cfg.minLearningRateFraction = 0.1
        XCTAssertEqual(cfg.learningRate(at: 0), 0.1, accuracy: 1e-6)
        XCTAssertEqual(cfg.learningRate(at: 9), 1, accuracy: 1e-6)
        XCTAssertEqual(cfg.learningRate(at: 10), 1, accuracy: 1e-6)
        XCTAssertEqual(cfg.learningRate(at: 55), 0.55, accuracy: 1e-3)
        XCTAssertEqual(cfg.learningRate(at: 100), 0.1, accuracy: 1e-6)
        for s in 10..<99 { XCTAssertGreaterThanOrEqual(cfg.learningRate(at: s), cfg.learningRate(at: s + 1)) }
    }

    func testDivergenceNamesTheStepAndTensor() throws {
        let gpt = try GPT(
            config: GPTConfig(vocabularySize: 11, contextLength: 8, width: 16, layers: 1, heads: 2), seed: 1)
        gpt.parameter("transformer.h.0.mlp.c_fc.weight")![3] = .nan
        var cfg = TrainingConfig()
        cfg.steps = 3
        cfg.batchSize = 2
        var data = CycleSource(V: 11, B: 2, T: 8)
        XCTAssertThrowsError(try Trainer(model: gpt, config: cfg).train(data: &data)) { error in
            XCTAssertEqual(error as? LabError, .nonFinite(step: 1, tensor: "transformer.h.0.mlp.c_fc.weight"))
        }
    }

    func testInvalidTrainingConfigNamesTheKey() throws {
        let gpt = try GPT(
            config: GPTConfig(vocabularySize: 11, contextLength: 8, width: 16, layers: 1, heads: 2), seed: 1)
        var cfg = TrainingConfig()
        cfg.sequenceLength = 9
        XCTAssertThrowsError(try Trainer(model: gpt, config: cfg)) {
            XCTAssertTrue("\($0)".contains("sequence_length"))
        }
        XCTAssertThrowsError(
            try GPT(config: GPTConfig(vocabularySize: 11, contextLength: 8, width: 30, layers: 1, heads: 4), seed: 0)
        ) {
            XCTAssertTrue("\($0)".contains("heads"))
        }
    }
}
