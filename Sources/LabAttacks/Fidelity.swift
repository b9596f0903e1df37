// Fidelity: how close a student is to its teacher on held-out prompts the attacker never saw — top-1
// agreement, mean KL(teacher ‖ student) and total variation at every position — and, beside the
// teacher's, its perplexity on held-out text and exact-match accuracy on task problems. The lab measures
// these directly on the teacher: nothing here goes through the API or the ledger.
import Foundation
import LabAPI
import LabCore
import LabData
import LabDefences
import LabModel

/// The arithmetic of comparing two next-token distributions.
public enum FidelityMath {
    /// Index of the largest value (ties: lowest index), as the API's label surface picks it.
    public static func argmax(_ p: [Double]) -> Int {
        var best = 0
        for i in p.indices where p[i] > p[best] { best = i }
        return best
    }

    /// KL(p ‖ q) = Σ pᵢ log(pᵢ / qᵢ) in nats, over pᵢ > 0 (q floored at 1e-300 so it stays finite).
    public static func kl(_ p: [Double], _ q: [Double]) -> Double {
        var total = 0.0
        for i in p.indices where p[i] > 0 { total += p[i] * (log(p[i]) - log(max(q[i], 1e-300))) }
        return total
    }

    /// Total variation ½ Σ |pᵢ − qᵢ|.
    public static func totalVariation(_ p: [Double], _ q: [Double]) -> Double {
        var total = 0.0
        for i in p.indices { total += abs(p[i] - q[i]) }
        return total / 2
    }
}

/// A student's fidelity at one point of an attack.
public struct FidelityReport: Codable, Equatable, Sendable {
    /// Fraction of held-out positions where the student's most likely token is the teacher's.
    public var agreement: Double
    /// Mean KL(teacher ‖ student), nats per position.
    public var klTeacherStudent: Double
    /// Mean total variation per position.
    public var totalVariation: Double
    /// Held-out positions compared.
    public var positions: Int
    /// The student's mean next-token cross-entropy on held-out text (nats), and its exp.
    public var studentTestLoss: Double?
    public var studentPerplexity: Double?
    /// Exact-match accuracy of the student's greedy answers on task problems.
    public var exactMatch: Double?

    enum CodingKeys: String, CodingKey {
        case agreement, klTeacherStudent = "kl_teacher_student", totalVariation = "total_variation", positions
        case studentTestLoss = "student_test_loss", studentPerplexity = "student_perplexity", exactMatch = "exact_match"
    }
}

/// The teacher's own numbers on the same held-out data, for the columns beside the student's.
public struct TeacherReference: Codable, Equatable, Sendable {
    public var testLoss: Double?
    public var perplexity: Double?
    /// The source's entropy rate (nats per token), the floor on both losses, where known.
    public var entropyRate: Double?
    public var exactMatch: Double?

    enum CodingKeys: String, CodingKey {
        case testLoss = "test_loss", perplexity, entropyRate = "entropy_rate", exactMatch = "exact_match"
    }
}

public final class FidelityEvaluator {
    public let heldOut: [[Int32]]
    public let vocabularySize: Int
    /// The teacher's distribution at every held-out position: window w, position t → V probabilities.
    let teacherRows: [[[Double]]]
    let perplexityWindows: [EvaluationWindow]
    let examples: [TaskExample]
    let tokenizer: Tokenizer?
    /// The teacher's own loss, perplexity and exact match on the same data.
    public private(set) var reference: TeacherReference

    /// Scores the teacher once: its distributions on `data.heldOut`, its loss on up to `perplexityTokens`
    /// of `data.testTokens` (windows as long as the held-out ones), and up to `taskExamples` problems.
    public init(teacher: any TeacherAPI, data: AttackData, perplexityTokens: Int = 8192, taskExamples: Int = 100) throws
    {
        guard let length = data.heldOut.map(\.count).max(), length >= 1 else {
            throw LabError.invalidConfig(
                key: "evaluation.prompts", message: "no held-out windows to measure fidelity on")
        }
        guard length <= teacher.contextLength else {
            throw LabError.invalidConfig(
                key: "evaluation.length", message: "is \(length); the teacher's context is \(teacher.contextLength)")
        }
        let V = teacher.vocabularySize
        heldOut = data.heldOut
        vocabularySize = V
        let logits = try teacher.logits(prompts: data.heldOut)
        teacherRows = zip(data.heldOut, logits).map { window, z in
            z.withUnsafeBufferPointer { zp in
                (0..<window.count).map { Softmax.probabilities(zp.baseAddress! + $0 * V, count: V) }
            }
        }
        if let test = data.testTokens, test.count > 1, perplexityTokens > 0 {
            perplexityWindows = Array(
                BatchSampler.sequentialWindows(over: test, sequenceLength: length).prefix(
                    max(1, perplexityTokens / length)))
        } else {
            perplexityWindows = []
        }
        examples = data.tokenizer == nil ? [] : Array((data.examples ?? []).prefix(taskExamples))
        tokenizer = data.tokenizer
        reference = TeacherReference(entropyRate: data.entropyRate)
        if !perplexityWindows.isEmpty {
            let loss = try Self.meanLoss(perplexityWindows, V: V, logits: teacher.logits(prompts:))
            reference.testLoss = loss
            reference.perplexity = exp(loss)
        }
        if !examples.isEmpty { reference.exactMatch = try exactMatch(teacher) }
    }

    /// The student's fidelity against the teacher, and its loss and exact match on the same data.
    public func evaluate(student: GPT) throws -> FidelityReport {
        let V = vocabularySize
        guard student.config.vocabularySize == V else {
            throw LabError.invalidConfig(
                key: "student", message: "has a vocabulary of \(student.config.vocabularySize); the teacher's is \(V)")
        }
        let studentTeacher = GPTTeacher(model: student)
        let logits = try studentTeacher.logits(prompts: heldOut)
        var agree = 0, positions = 0
        var kl = 0.0, tv = 0.0
        for (w, z) in logits.enumerated() {
            z.withUnsafeBufferPointer { zp in
                for t in 0..<heldOut[w].count {
                    let p = teacherRows[w][t], q = Softmax.probabilities(zp.baseAddress! + t * V, count: V)
                    if FidelityMath.argmax(p) == FidelityMath.argmax(q) { agree += 1 }
                    kl += FidelityMath.kl(p, q)
                    tv += FidelityMath.totalVariation(p, q)
                    positions += 1
                }
            }
        }
        var report = FidelityReport(
            agreement: Double(agree) / Double(positions), klTeacherStudent: kl / Double(positions),
            totalVariation: tv / Double(positions), positions: positions)
        if !perplexityWindows.isEmpty {
            let loss = try Self.meanLoss(perplexityWindows, V: V, logits: studentTeacher.logits(prompts:))
            report.studentTestLoss = loss
            report.studentPerplexity = exp(loss)
        }
        if !examples.isEmpty { report.exactMatch = try exactMatch(studentTeacher) }
        return report
    }

    /// Mean next-token cross-entropy (nats) over `windows`, from a model's logits.
    static func meanLoss(_ windows: [EvaluationWindow], V: Int, logits: ([[Int32]]) throws -> [[Float]]) throws
        -> Double
    {
        let all = try logits(windows.map(\.inputs))
        var total = 0.0, count = 0
        for (window, z) in zip(windows, all) {
            z.withUnsafeBufferPointer { zp in
                for (t, y) in window.targets.enumerated() {
                    let p = Softmax.probabilities(zp.baseAddress! + t * V, count: V)
                    total -= log(max(p[Int(y)], 1e-300))
                    count += 1
                }
            }
        }
        return total / Double(max(1, count))
    }

    /// Exact-match accuracy of greedy answers (up to a newline or 24 tokens) on `examples`.
    func exactMatch(_ model: any TeacherAPI) throws -> Double {
        guard let tokenizer else { return 0 }
        let newline = tokenizer.kind == .character ? Int32(tokenizer.id(for: "\n")) : nil
        return try exactMatchAccuracy(examples: examples) { prompt in
            let ids = Array(tokenizer.encode(prompt).map(Int32.init).suffix(model.contextLength - 1))
            guard !ids.isEmpty else { return "" }
            let room = min(24, model.contextLength - ids.count)
            let out = try model.decode(prompts: [ids], maxNewTokens: room) { _, _, rows in
                // Greedy (ties: lowest id); after the newline the rest is cut off below.
                var best = 0
                for v in 0..<model.vocabularySize where rows[0][v] > rows[0][best] { best = v }
                return [Int32(best)]
            }
            var text: [Int] = []
            for t in out[0] {
                if t == newline { break }
                text.append(Int(t))
            }
            return tokenizer.decode(text)
        }
    }
}
