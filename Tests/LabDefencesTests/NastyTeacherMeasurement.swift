// Measurement, not a unit test (skipped unless DISTILL_LAB_MEASURE is set): reproduction 8's nasty-teacher
// half at toy scale — a normal and nasty teachers on a Markov corpus, students distilled from each at τ,
// their accuracy and loss. The real table (3 seeds, mean ± std) is Experiments/repro-antidistillation.yaml.
import Foundation
import LabAPI
import LabCore
import LabData
import LabDefences
import LabModel
import XCTest

final class NastyTeacherMeasurement: XCTestCase {
    /// Mean CE and top-1 accuracy (and top-1 agreement with `reference`, when given) on validation windows.
    static func quality(_ model: GPT, on tokens: [Int], reference: GPT? = nil, T: Int = 16) throws -> (ce: Double, accuracy: Double, agreement: Double) {
        let windows = Array(BatchSampler.sequentialWindows(over: tokens, sequenceLength: T).filter { $0.inputs.count == T }.prefix(64))
        let x = windows.flatMap(\.inputs), y = windows.flatMap(\.targets)
        let V = model.config.vocabSize
        let logits = Array(try model.forward(tokens: x, batch: windows.count, length: T))
        let ce = Double(try model.loss(.hard(y)))
        let ref = try reference.map { Array(try $0.forward(tokens: x, batch: windows.count, length: T)) }
        var correct = 0, agree = 0
        for n in 0..<y.count {
            var best = 0, bestRef = 0
            for v in 1..<V where logits[n * V + v] > logits[n * V + best] { best = v }
            if let ref { for v in 1..<V where ref[n * V + v] > ref[n * V + bestRef] { bestRef = v } }
            if best == Int(y[n]) { correct += 1 }
            if best == bestRef { agree += 1 }
        }
        return (ce, Double(correct) / Double(y.count), Double(agree) / Double(y.count))
    }

    /// Soft-label distillation at temperature τ: the student's softmax(z/τ) against the teacher's
    /// softmax(a/τ) on the same windows of the train split (the plain KD of Hinton et al. 2015).
    static func distil(teacher: GPT, corpus: Corpus, tau: Float, steps: Int, seed: UInt64) throws -> GPT {
        let V = teacher.config.vocabSize, B = 8, T = 16
        let student = try GPT(config: GPTConfig(vocabSize: V, contextLength: T, width: 16, layers: 1, heads: 2), seed: seed)
        var training = TrainingConfig()
        training.steps = steps
        training.learningRate = 1e-2
        training.warmupSteps = 10
        let optimizer = AdamW(layout: student.layout, config: training.adamW)
        var sampler = try BatchSampler(tokens: corpus.train, batchSize: B, sequenceLength: T, seed: seed)
        var x = [Int32](repeating: 0, count: B * T), y = x
        var soft = [Float](repeating: 0, count: B * T * V)
        for step in 0..<steps {
            sampler.next(inputs: &x, targets: &y)
            let a = try teacher.forward(tokens: x, batch: B, length: T)
            for n in 0..<(B * T) {
                var mx = -Float.infinity
                for v in 0..<V { mx = max(mx, a[n * V + v] / tau) }
                var sum: Float = 0
                for v in 0..<V {
                    soft[n * V + v] = exp(a[n * V + v] / tau - mx)
                    sum += soft[n * V + v]
                }
                for v in 0..<V { soft[n * V + v] /= sum }
            }
            try student.forward(tokens: x, batch: B, length: T)
            _ = try soft.withUnsafeBufferPointer { try student.loss(.dense($0.baseAddress!), options: LossOptions(temperature: tau)) }
            student.zeroGradients()
            student.backward()
            _ = optimizer.update(parameters: student.parameters, gradients: student.gradients, learningRate: training.learningRate(at: step))
        }
        return student
    }

    /// Run: `DISTILL_LAB_MEASURE=1 swift test --filter NastyTeacherMeasurement` (~4 min in debug).
    /// Measured at 16fe7d3 (order-1 Markov, 16 symbols, 300 steps, τ = 4, one seed): normal teacher CE
    /// 1.7753 / acc 41.7%, its KD student 41.7%; nasty ω = 0.004: teacher 1.7854 / 39.7%, student 39.7%;
    /// ω = 0.2: teacher CE 3.06. Students lost ≤ 2 points: not reproduced at this scale (see the report).
    func testNastyTeacherAgainstDistillation() throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["DISTILL_LAB_MEASURE"] != nil, "set DISTILL_LAB_MEASURE=1 to run measurements")
        var spec = CorpusSpec.markov(symbols: 16, order: 1, concentration: 0.3, seed: 3)
        spec.trainTokens = 60_000
        spec.validationTokens = 4_000
        spec.testTokens = 1_000
        let corpus = try spec.build()
        let architecture = ModelArchitecture(contextLength: 16, width: 32, layers: 1, heads: 2)
        var training = TrainingConfig()
        training.steps = 300
        training.batchSize = 8
        training.learningRate = 1e-2
        training.warmupSteps = 10
        training.evalInterval = 0
        let tau: Float = 4
        let (normal, _) = try LanguageModel.train(corpus: corpus, spec: spec, architecture: architecture, training: training)
        var teachers: [(String, GPT)] = [("normal", normal.model)]
        for omega in [0.004, 0.04, 0.2] {
            training.seed = 1
            let (nasty, _) = try NastyTeacher.train(corpus: corpus, spec: spec, adversary: normal.model, architecture: architecture,
                                                    training: training, objective: try NastyTeacherObjective(temperature: Double(tau), weight: omega))
            teachers.append(("nasty ω=\(omega)", nasty.model))
        }
        print("| teacher | teacher val CE | teacher acc | student val CE | student acc | student agreement with normal teacher |")
        print("|---|---|---|---|---|---|")
        for (name, teacher) in teachers {
            let tq = try Self.quality(teacher, on: corpus.validation)
            let student = try Self.distil(teacher: teacher, corpus: corpus, tau: tau, steps: 300, seed: 5)
            let sq = try Self.quality(student, on: corpus.validation, reference: normal.model)
            print(String(format: "| %@ | %.4f | %.3f | %.4f | %.3f | %.3f |", name, tq.ce, tq.accuracy, sq.ce, sq.accuracy, sq.agreement))
        }
    }
}
