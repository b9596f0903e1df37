// AntiDistillationTrial: the students an anti-distillation defence is judged by — text the defended teacher
// serves through its API, a soft-label student distilled from its logits (Hinton et al. 2015, the student of
// Ma et al. 2021), a student trained on its sampled text, and their quality beside the normal teacher's.
// Not the defences themselves (LabDefences) nor the experiment's YAML (the `anti_distillation` kind).
import Foundation
import LabAPI
import LabCore
import LabData
import LabModel

public enum AntiDistillationTrial {

    /// Completions of `prompts` prompts of `promptLength` tokens cut from `validation` at seeded places, sampled at temperature 1
    /// through the API with `stages` in front of `model`; each text is its prompt followed by its completion.
    public static func serve(
        _ model: GPT, stages: [any Defence], prompts: Int, promptLength n: Int, completionTokens: Int,
        validation: [Int], seed: UInt64
    ) throws -> [[Int32]] {
        let ledger = Ledger()
        try ledger.open("owner")
        let api = DefendedAPI(
            teacher: GPTTeacher(model: model), defences: DefencePipeline(stages), ledger: ledger, seed: seed)
        var rng = LabRNG(seed: seed, stream: "anti-distillation-prompts")
        let queries = (0..<prompts).map { _ -> Query in
            let s = rng.int(below: validation.count - n)
            return .completion(
                validation[s..<(s + n)].map(Int32.init), maxNewTokens: completionTokens, seed: rng.next())
        }
        let out = try api.call(queries, account: "owner")
        return zip(queries, out).map { $0.prompt + $1.tokens }
    }

    /// Soft-label distillation (Hinton et al. 2015, the student of Ma et al. 2021): on windows of the train split,
    /// the student's softmax(z/τ) is fitted to the teacher's softmax(a/τ).
    public static func distil(_ student: GPT, from teacher: GPT, tokens: [Int], tau: Float, training: TrainingConfig)
        throws
    {
        let V = teacher.config.vocabularySize, B = training.batchSize,
            T = training.sequenceLength ?? student.config.contextLength
        let gradientStep = GradientStep(model: student, optimizer: training.adamW)
        var sampler = try BatchSampler(tokens: tokens, batchSize: B, sequenceLength: T, seed: training.seed)
        var x = [Int32](repeating: 0, count: B * T), y = x
        var target = [Float](repeating: 0, count: B * T * V)
        for step in 0..<training.steps {
            sampler.next(inputs: &x, targets: &y)
            let a = try teacher.forward(tokens: x, batch: B, length: T)
            for n in 0..<(B * T) {
                target.withUnsafeMutableBufferPointer {
                    Softmax.singlePrecision(
                        a.baseAddress! + n * V, count: V, temperature: tau, into: $0.baseAddress! + n * V)
                }
            }
            try gradientStep.take(
                step: step, learningRate: training.learningRate(at: step), lossName: "soft-label student loss"
            ) {
                try student.forward(tokens: x, batch: B, length: T)
                return try target.withUnsafeBufferPointer {
                    try student.loss(.dense($0.baseAddress!), options: LossOptions(temperature: tau))
                }
            }
        }
    }

    /// Cross-entropy, top-1 accuracy against the true next token, and top-1 agreement with `normal`, over every
    /// full non-overlapping window of `length` tokens of `tokens`. Ties in the argmax go to the lowest id.
    public static func quality(_ model: GPT, normal: GPT, tokens: [Int], length: Int) throws -> (
        loss: Double, accuracy: Double, agreement: Double
    ) {
        let V = model.config.vocabularySize
        let windows = BatchSampler.sequentialWindows(over: tokens, sequenceLength: length).filter {
            $0.inputs.count == length
        }
        guard !windows.isEmpty else {
            throw LabError.message("evaluation needs \(length + 1) tokens; the split has \(tokens.count)")
        }
        func argmax(_ row: UnsafePointer<Float>) -> Int {
            var best = 0
            for v in 1..<V where row[v] > row[best] { best = v }
            return best
        }
        var loss = 0.0, correct = 0, agree = 0, count = 0
        var start = 0
        while start < windows.count {
            let chunk = windows[start..<min(windows.count, start + 32)]
            let x = chunk.flatMap(\.inputs), y = chunk.flatMap(\.targets)
            // The reference's logits are copied out before the model's own forward may reuse the buffers.
            let reference = Array(try normal.forward(tokens: x, batch: chunk.count, length: length))
            let logits = try model.forward(tokens: x, batch: chunk.count, length: length)
            var mine = [Int](repeating: 0, count: y.count)
            for n in 0..<y.count { mine[n] = argmax(logits.baseAddress! + n * V) }
            loss += Double(try model.loss(.hard(y))) * Double(y.count)
            reference.withUnsafeBufferPointer { r in
                for n in 0..<y.count {
                    if mine[n] == Int(y[n]) { correct += 1 }
                    if mine[n] == argmax(r.baseAddress! + n * V) { agree += 1 }
                }
            }
            count += y.count
            start += chunk.count
        }
        return (loss / Double(count), Double(correct) / Double(count), Double(agree) / Double(count))
    }

    /// The normal teacher's mean NLL (nats/token) of the completion tokens of `texts` (positions ≥ `from`).
    public static func teacherNLL(_ model: GPT, texts: [[Int32]], from: Int) throws -> Double {
        let V = model.config.vocabularySize
        var total = 0.0, count = 0
        for (length, group) in Dictionary(grouping: texts, by: \.count).sorted(by: { $0.key < $1.key })
        where length > from {
            let logits = try model.forward(tokens: group.flatMap { $0 }, batch: group.count, length: length)
            for (b, text) in group.enumerated() {
                for t in from..<length {
                    let row = logits.baseAddress! + (b * length + t - 1) * V
                    let (mx, logSum) = Softmax.logNormalizer(row, count: V)
                    total -= Double(row[Int(text[t])] - mx) - logSum
                    count += 1
                }
            }
        }
        return count == 0 ? .nan : total / Double(count)
    }

    /// The true source's mean NLL (nats/token) of the completion tokens of `texts` (positions ≥ `from` with a
    /// full order-k context). Token id s + 1 is symbol s (id 0 is <unk>, which the source never emits); a token the
    /// source cannot emit counts as probability 1e-12 (27.6 nats), so one such token is visible but finite.
    public static func sourceNLL(_ source: MarkovSource, texts: [[Int32]], from: Int) -> Double {
        var total = 0.0, count = 0
        for text in texts {
            let symbols = text.map { Int($0) - 1 }
            for i in max(from, source.order)..<symbols.count {
                let window = symbols[(i - source.order)...i]
                let p =
                    window.allSatisfy { $0 >= 0 }
                    ? source.probability(of: symbols[i], inContext: source.context(endingWith: window.dropLast())) : 0
                total -= log(max(p, 1e-12))
                count += 1
            }
        }
        return count == 0 ? .nan : total / Double(count)
    }
}
