// OracleTraceTeacher: a teacher that knows column addition — at every position its logits favour the next
// character of the correct traced solution (or of the direct one, after "[]") — exact and instant, for tests of
// trace policies and reasoning attacks, and as the ceiling a trained teacher is compared with. Not a model.
import LabAPI
import LabCore
import LabData
import LabModel

public final class OracleTraceTeacher: TeacherAPI {
    public let tokenizer: Tokenizer
    public let contextLength: Int
    /// The logit of the right next token; every other token's is 0. With 17 tokens, 6 puts 0.96 on it.
    public let confidence: Float

    public init(tokenizer: Tokenizer, contextLength: Int = 64, confidence: Float = 6) {
        self.tokenizer = tokenizer
        self.contextLength = contextLength
        self.confidence = confidence
    }

    public var vocabularySize: Int { tokenizer.vocabularySize }
    public func inferenceFlops(positions: Int) -> Double { Double(max(0, positions) * 2 * vocabularySize) }

    /// The token the oracle favours after `context`: the next character of the traced (or, after "[]", the
    /// direct) solution followed by a newline; a newline when the context is no prefix of either.
    func next(after context: ArraySlice<Int32>) -> Int {
        let text = tokenizer.decode(context.map(Int.init))
        let newline = tokenizer.id(for: "\n")
        let line = text.split(separator: "\n", omittingEmptySubsequences: false).last.map(String.init) ?? ""
        guard let equals = line.firstIndex(of: "="), let problem = AdditionProblem(prompt: String(line[...equals]))
        else { return newline }
        for solution in [problem.tracedSolution, problem.directSolution] {
            let target = Array(problem.prompt + solution + "\n")
            let have = Array(line)
            if have.count < target.count, Array(target.prefix(have.count)) == have {
                return tokenizer.id(for: String(target[have.count]))
            }
        }
        return newline
    }

    func row(after context: ArraySlice<Int32>, into out: UnsafeMutablePointer<Float>) {
        for v in 0..<vocabularySize { out[v] = 0 }
        out[next(after: context)] = confidence
    }

    public func logits(prompts: [[Int32]]) throws -> [[Float]] {
        let V = vocabularySize
        return try prompts.map { p in
            guard p.count <= contextLength else {
                throw LabError.message("a prompt of \(p.count) tokens exceeds the context length \(contextLength)")
            }
            var rows = [Float](repeating: 0, count: p.count * V)
            rows.withUnsafeMutableBufferPointer { buffer in
                for t in p.indices { row(after: p[0...t], into: buffer.baseAddress! + t * V) }
            }
            return rows
        }
    }

    public func decode(prompts: [[Int32]], maxNewTokens: Int, choose: StepChooser) throws -> [[Int32]] {
        let V = vocabularySize, B = prompts.count
        var outputs = [[Int32]](repeating: [], count: B)
        var done = (0..<B).map { maxNewTokens <= 0 || prompts[$0].count >= contextLength }
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(1, B * V))
        defer { scratch.deallocate() }
        while done.contains(false) {
            let active = (0..<B).filter { !done[$0] }
            let contexts = active.map { prompts[$0] + outputs[$0] }
            let rows = active.enumerated().map { j, i -> UnsafeMutablePointer<Float> in
                row(after: contexts[j][...], into: scratch + i * V)
                return scratch + i * V
            }
            let chosen = try choose(active, contexts, rows)
            for (j, i) in active.enumerated() {
                outputs[i].append(chosen[j])
                if outputs[i].count >= maxNewTokens || prompts[i].count + outputs[i].count >= contextLength {
                    done[i] = true
                }
            }
        }
        return outputs
    }
}
