// BigramTeacher: a teacher whose next-token logits depend only on the last token, read from a fixed
// (V, V) table — small, exact and instant, for tests and worked examples of everything built on the
// TeacherAPI. Not a language model anyone would distil for results.
import LabCore

public final class BigramTeacher: TeacherAPI {
    /// (V, V) row-major: row a is the logits of the token after a.
    public let table: [Float]
    public let vocabularySize: Int
    public let contextLength: Int
    /// FLOPs the ledger records per position (default 2V: one row read and a softmax).
    public let flopsPerPosition: Double
    /// How many times `logits` and `decode` have been called: lets tests see that a refused call never reached the teacher.
    public private(set) var calls = 0

    public init(table: [Float], vocabularySize V: Int, contextLength: Int = 64, flopsPerPosition: Double? = nil) throws
    {
        guard V >= 2, table.count == V * V else {
            throw LabError.invalidConfig(
                key: "table",
                message: "has \(table.count) entries; a bigram table over V = \(V) ≥ 2 tokens has V² = \(V * V)")
        }
        guard contextLength >= 1 else {
            throw LabError.invalidConfig(key: "context_length", message: "is \(contextLength); must be at least 1")
        }
        guard table.allSatisfy(\.isFinite) else {
            throw LabError.invalidConfig(key: "table", message: "holds a NaN or infinite logit")
        }
        self.table = table
        vocabularySize = V
        self.contextLength = contextLength
        self.flopsPerPosition = flopsPerPosition ?? Double(2 * V)
    }

    /// A table of N(0, scale²) logits drawn from `seed`: peaked rows for scale ≳ 3, flat ones for scale ≲ 1.
    public static func random(vocabularySize V: Int, scale: Double = 3, contextLength: Int = 64, seed: UInt64) throws
        -> BigramTeacher
    {
        var rng = LabRNG(seed: seed, stream: "bigram-teacher")
        return try BigramTeacher(
            table: (0..<(V * V)).map { _ in Float(scale * rng.normal()) }, vocabularySize: V,
            contextLength: contextLength)
    }

    public func inferenceFlops(positions: Int) -> Double { Double(max(0, positions)) * flopsPerPosition }

    public func logits(prompts: [[Int32]]) throws -> [[Float]] {
        calls += 1
        let V = vocabularySize
        return try prompts.map { p in
            guard p.count <= contextLength else {
                throw LabError.message("a prompt of \(p.count) tokens exceeds the context length \(contextLength)")
            }
            var rows: [Float] = []
            rows.reserveCapacity(p.count * V)
            for t in p {
                guard t >= 0, Int(t) < V else {
                    throw LabError.message("token \(t) is outside the vocabulary 0..<\(V)")
                }
                rows += table[(Int(t) * V)..<((Int(t) + 1) * V)]
            }
            return rows
        }
    }

    public func decode(prompts: [[Int32]], maxNewTokens: Int, choose: StepChooser) throws -> [[Int32]] {
        calls += 1
        let V = vocabularySize, B = prompts.count
        var outputs = [[Int32]](repeating: [], count: B)
        for p in prompts {
            guard !p.isEmpty, p.count <= contextLength else {
                throw LabError.message("a prompt of \(p.count) tokens does not fit 1...\(contextLength)")
            }
            if let bad = p.first(where: { $0 < 0 || Int($0) >= V }) {
                throw LabError.message("token \(bad) is outside the vocabulary 0..<\(V)")
            }
        }
        var done = [Bool](repeating: maxNewTokens <= 0, count: B)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(1, B * V))
        defer { scratch.deallocate() }
        while done.contains(false) {
            let active = (0..<B).filter { !done[$0] }
            let contexts = active.map { prompts[$0] + outputs[$0] }
            var rows: [UnsafeMutablePointer<Float>] = []
            for (j, i) in active.enumerated() {
                let last = Int(contexts[j].last!)
                let row = scratch + i * V
                for v in 0..<V { row[v] = table[last * V + v] }
                rows.append(row)
            }
            let chosen = try choose(active, contexts, rows)
            guard chosen.count == active.count else {
                throw LabError.message("chooser returned \(chosen.count) tokens for \(active.count) sequences")
            }
            for (j, i) in active.enumerated() {
                guard chosen[j] >= 0, Int(chosen[j]) < V else {
                    throw LabError.message("chooser returned token \(chosen[j]) outside 0..<\(V)")
                }
                outputs[i].append(chosen[j])
                // As the GPT sampler: the last position a sequence may sample is the context length's.
                if outputs[i].count >= maxNewTokens || prompts[i].count + outputs[i].count > contextLength {
                    done[i] = true
                }
            }
        }
        return outputs
    }
}
