// The nasty teacher's objective: its analytic gradient on the logits against central differences over
// a small grid of τ and ω, and a short training run in which ω > 0 drives the teacher's temperature-τ
// distribution away from the normal network's while its own loss stays near normal training's.
import Foundation
import LabAPI
import LabCore
import LabData
import LabDefences
import LabModel
import TestSupport
import XCTest

final class NastyTeacherTests: XCTestCase {
    func testGradientOnLogitsMatchesFiniteDifferences() throws {
        let N = 3, V = 7
        for (tau, omega) in [(1.0, 0.0), (1.0, 0.5), (4.0, 0.05), (20.0, 0.01)] {
            var rng = LabRNG(seed: UInt64(tau * 10 + omega * 1000))
            var z = FiniteDifference.normals(N * V, rng: &rng, scale: 2)
            let a = FiniteDifference.normals(N * V, rng: &rng, scale: 3)
            let y = (0..<N).map { _ in Int32(rng.int(below: V)) }
            let objective = try NastyTeacherObjective(temperature: tau, weight: omega)
            var analytic = [Float](repeating: 0, count: N * V)
            let indices = Array(0..<(N * V))
            let numeric = try z.withUnsafeMutableBufferPointer { zp in
                try a.withUnsafeBufferPointer { ap in
                    _ = try analytic.withUnsafeMutableBufferPointer {
                        try objective.evaluate(
                            logits: UnsafePointer(zp.baseAddress!), adversary: ap.baseAddress!, targets: y,
                            positions: N, vocabularySize: V, gradient: $0.baseAddress!)
                    }
                    return try FiniteDifference.gradient(at: zp.baseAddress!, indices: indices, step: 1e-2) {
                        try objective.evaluate(
                            logits: UnsafePointer(zp.baseAddress!), adversary: ap.baseAddress!, targets: y,
                            positions: N, vocabularySize: V
                        ).loss
                    }
                }
            }
            let check = GradientCheck(
                name: "nasty teacher τ=\(tau) ω=\(omega)", analytic: analytic.map(Double.init), numeric: numeric,
                indices: indices, atol: 1e-5, rtol: 1e-3)
            print(check)
            XCTAssertTrue(check.passed, check.description)
        }
        XCTAssertThrowsError(try NastyTeacherObjective(temperature: 0, weight: 0.01))
        XCTAssertThrowsError(try NastyTeacherObjective(temperature: 4, weight: -1))
    }

    func testNastyTrainingRaisesKLAndKeepsItsOwnLoss() throws {
        var spec = CorpusSpec.markov(symbols: 12, order: 1, concentration: 0.5, seed: 1)
        spec.trainTokens = 5_000
        spec.validationTokens = 2_000
        spec.testTokens = 2_000
        let corpus = try spec.build()
        let architecture = ModelArchitecture(contextLength: 8, width: 16, layers: 1, heads: 2)
        var training = TrainingConfig()
        training.steps = 25
        training.batchSize = 8
        training.learningRate = 1e-2
        training.warmupSteps = 5
        training.evalInterval = 0
        let (normal, _) = try LanguageModel.train(
            corpus: corpus, spec: spec, architecture: architecture, training: training)
        let plain = try NastyTeacher.train(
            corpus: corpus, spec: spec, adversary: normal.model, architecture: architecture, training: training,
            objective: try NastyTeacherObjective(temperature: 4, weight: 0))
        let nasty = try NastyTeacher.train(
            corpus: corpus, spec: spec, adversary: normal.model, architecture: architecture, training: training,
            objective: try NastyTeacherObjective(temperature: 4, weight: 0.5))
        func tail(_ r: [NastyTeacherRecord], _ key: KeyPath<NastyTeacherRecord, Double>) -> Double {
            r.suffix(10).map { $0[keyPath: key] }.reduce(0, +) / 10
        }
        let lossPlain = try plain.0.meanLoss(tokens: corpus.validation),
            lossNasty = try nasty.0.meanLoss(tokens: corpus.validation)
        print(
            String(
                format:
                    "nasty teacher (25 steps): KL at τ=4 to the normal net %.4f (ω=0: %.4f); validation CE %.4f (ω=0: %.4f, normal %.4f)",
                tail(nasty.1, \.kl), tail(plain.1, \.kl), lossNasty, lossPlain,
                try normal.meanLoss(tokens: corpus.validation)))
        XCTAssertGreaterThan(tail(nasty.1, \.kl), 2 * tail(plain.1, \.kl))
        XCTAssertLessThan(lossNasty, lossPlain * 1.15)
    }
}
