// GPTTeacher: a trained GPT behind the TeacherAPI — prompts of a call scored together in padded
// forward passes, completions decoded together through the KV-cached Sampler with a per-step chooser.
// Not thread-safe (the GPT keeps its activations); one caller at a time.
import LabCore
import LabData
import LabModel

public final class GPTTeacher: TeacherAPI {
    public let model: GPT
    /// Most prompts per forward pass or per decode batch; larger calls are split.
    public var maxBatch: Int

    public init(model: GPT, maxBatch: Int = 64) {
        self.model = model
        self.maxBatch = max(1, maxBatch)
    }

    public convenience init(_ languageModel: LanguageModel, maxBatch: Int = 64) {
        self.init(model: languageModel.model, maxBatch: maxBatch)
    }

    public var vocabularySize: Int { model.config.vocabularySize }
    public var contextLength: Int { model.config.contextLength }

    /// Σ_{t=1..n} (2N + 4·L·C·t): `GPTConfig.inferenceFlopsPerToken` at each position's own length,
    /// since a KV-cached position attends to exactly the t positions before and at it.
    public func inferenceFlops(positions n: Int) -> Double {
        guard n > 0 else { return 0 }
        let c = model.config
        let perToken = c.inferenceFlopsPerToken(sequenceLength: 0)
        return Double(n) * perToken + 4 * Double(c.layers * c.width) * Double(n) * Double(n + 1) / 2
    }

    public func logits(prompts: [[Int32]]) throws -> [[Float]] {
        let V = vocabularySize
        var out: [[Float]] = []
        out.reserveCapacity(prompts.count)
        var start = 0
        while start < prompts.count {
            let chunk = prompts[start..<min(prompts.count, start + maxBatch)]
            // Right-padding cannot change earlier positions of a causal model. The padded length is
            // rounded up to a multiple of 8 so that calls of similar lengths reuse the GPT's activations.
            let longest = chunk.map(\.count).max() ?? 1
            let T = min(contextLength, (longest + 7) / 8 * 8)
            guard longest <= contextLength else {
                throw LabError.message(
                    "a prompt of \(longest) tokens exceeds the teacher's context length \(contextLength)")
            }
            var tokens = [Int32](repeating: 0, count: chunk.count * T)
            for (b, p) in chunk.enumerated() {
                for (t, token) in p.enumerated() { tokens[b * T + t] = token }
            }
            let logits = try model.forward(tokens: tokens, batch: chunk.count, length: T)
            for (b, p) in chunk.enumerated() {
                out.append(Array(logits[(b * T * V)..<((b * T + p.count) * V)]))
            }
            start += chunk.count
        }
        return out
    }

    public func decode(prompts: [[Int32]], maxNewTokens: Int, choose: StepChooser) throws -> [[Int32]] {
        let V = vocabularySize
        let sampler = Sampler(model: model)
        var out: [[Int32]] = []
        out.reserveCapacity(prompts.count)
        var start = 0
        while start < prompts.count {
            let chunk = Array(prompts[start..<min(prompts.count, start + maxBatch)])
            let offset = start
            // The chooser draws every token, so the sampler's options and seed are never used. The
            // sampler's optional hook is formally escaping; it does not outlive `generate`.
            out += try withoutActuallyEscaping(choose) { choose in
                try sampler.generate(
                    prompts: chunk, maxNewTokens: maxNewTokens, options: SamplingOptions(), seed: 0,
                    choose: { sequences, contexts, logits in
                        try choose(sequences.map { $0 + offset }, contexts, sequences.map { logits + $0 * V })
                    })
            }
            start += chunk.count
        }
        return out
    }
}
