// Fidelity tests: the metrics against values computed by hand (a bigram teacher with chosen rows against
// a student whose zeroed parameters give exactly uniform logits), the evaluator's batching against a
// naive one-window-at-a-time oracle, perplexity against LabModel's Evaluation, and exact match.
import Foundation
import LabCore
import LabData
import LabModel
import XCTest

@testable import LabAPI
@testable import LabAttacks
@testable import LabDefences

final class FidelityTests: XCTestCase {
    func testComparisonOfTwoDistributionsByHand() {
        let p = [0.5, 0.3, 0.2], q = [0.2, 0.5, 0.3]
        // 0.5 ln 2.5 + 0.3 ln 0.6 + 0.2 ln(2/3) = 0.458145 − 0.153248 − 0.081093
        XCTAssertEqual(FidelityMath.kl(p, q), 0.2238047, accuracy: 1e-6)
        XCTAssertEqual(FidelityMath.totalVariation(p, q), 0.3, accuracy: 1e-12)
        XCTAssertEqual(FidelityMath.argmax(p), 0)
        XCTAssertEqual(FidelityMath.argmax(q), 1)
        XCTAssertEqual(FidelityMath.kl(p, p), 0, accuracy: 1e-15)
        // Ties go to the lowest index, as the API's label surface breaks them.
        XCTAssertEqual(FidelityMath.argmax([0.25, 0.25, 0.25, 0.25]), 0)
    }

    /// Rows of a V = 4 bigram teacher: after token 0 → (0.7, 0.1, 0.1, 0.1); after 1 → (0.1, 0.6, 0.2, 0.1).
    func handTeacher() throws -> BigramTeacher {
        let rows: [[Double]] = [
            [0.7, 0.1, 0.1, 0.1], [0.1, 0.6, 0.2, 0.1], [0.25, 0.25, 0.25, 0.25], [0.25, 0.25, 0.25, 0.25],
        ]
        return try BigramTeacher(table: rows.flatMap { $0.map { Float(log($0)) } }, vocabularySize: 4, contextLength: 8)
    }

    func testMetricsAgainstHandComputedValues() throws {
        let teacher = try handTeacher()
        // A GPT with every parameter zero: LayerNorm weights 0 → logits 0 → exactly uniform predictions.
        let student = try GPT(
            config: GPTConfig(vocabularySize: 4, contextLength: 8, width: 8, layers: 1, heads: 2), seed: 0)
        student.parameters.zero()
        // Positions predict after 0, 1, 1, 0.
        let data = AttackData(heldOut: [[0, 1], [1, 0]], testTokens: [0, 1, 1, 0, 0], attackerText: { _, _ in [] })
        let evaluator = try FidelityEvaluator(teacher: teacher, data: data, perplexityTokens: 100)
        let r = try evaluator.evaluate(student: student)
        XCTAssertEqual(r.positions, 4)
        // argmax after 0 is 0 (= uniform's argmax, ties to 0); after 1 it is 1: half agree.
        XCTAssertEqual(r.agreement, 0.5, accuracy: 1e-12)
        // KL(p ‖ uniform) = ln 4 − H(p): after 0, 1.386294 − 0.940448 = 0.445846; after 1, 1.386294 − 1.088900 = 0.297394.
        XCTAssertEqual(r.klTeacherStudent, (0.445846 + 0.297394) / 2, accuracy: 2e-6)
        // TV: after 0, ½(0.45 + 3·0.15) = 0.45; after 1, ½(0.15 + 0.35 + 0.05 + 0.15) = 0.35.
        XCTAssertEqual(r.totalVariation, 0.40, accuracy: 1e-6)
        // Perplexity over one window of 2 (the evaluation length) and the rest: every prediction is 1/4.
        XCTAssertEqual(try XCTUnwrap(r.studentPerplexity), 4, accuracy: 1e-5)
        // The teacher over windows [0,1]→[1,1] and [1,0]→[0,0]: it predicts 1 after 0, 1 after 1, 0 after 1,
        // 0 after 0, so its loss is −(ln 0.1 + ln 0.6 + ln 0.1 + ln 0.7)/4 = (2.302585 + 0.510826 + 2.302585 + 0.356675)/4 = 1.368168
        XCTAssertEqual(try XCTUnwrap(evaluator.reference.testLoss), 1.368168, accuracy: 1e-5)
    }

    func testEvaluatorMatchesANaiveOracle() throws {
        let V = 9, T = 12
        let teacherModel = try GPT(
            config: GPTConfig(vocabularySize: V, contextLength: T, width: 16, layers: 1, heads: 2), seed: 7)
        if let wte = teacherModel.parameter("transformer.wte.weight") { for i in 0..<(V * 16) { wte[i] *= 30 } }
        let student = try GPT(
            config: GPTConfig(vocabularySize: V, contextLength: T, width: 8, layers: 2, heads: 2), seed: 8)
        if let wte = student.parameter("transformer.wte.weight") { for i in 0..<(V * 8) { wte[i] *= 30 } }
        var rng = LabRNG(seed: 3)
        let windows = (0..<11).map { _ in (0..<T).map { _ in Int32(rng.int(below: V)) } }
        let test = (0..<200).map { _ in rng.int(below: V) }
        let evaluator = try FidelityEvaluator(
            teacher: GPTTeacher(model: teacherModel),
            data: AttackData(heldOut: windows, testTokens: test, attackerText: { _, _ in [] }))
        let r = try evaluator.evaluate(student: student)

        // Oracle: one window at a time, softmax and the sums written out here.
        func distributions(_ model: GPT, _ window: [Int32]) throws -> [[Double]] {
            let z = try model.forward(tokens: window, batch: 1, length: window.count)
            return (0..<window.count).map { t in
                let row = (0..<V).map { Double(z[t * V + $0]) }
                let m = row.max()!
                let e = row.map { exp($0 - m) }
                return e.map { $0 / e.reduce(0, +) }
            }
        }
        var agree = 0.0, kl = 0.0, tv = 0.0, n = 0.0
        for w in windows {
            for (p, q) in zip(try distributions(teacherModel, w), try distributions(student, w)) {
                if p.firstIndex(of: p.max()!) == q.firstIndex(of: q.max()!) { agree += 1 }
                for i in 0..<V {
                    kl += p[i] * log(p[i] / q[i])
                    tv += abs(p[i] - q[i]) / 2
                }
                n += 1
            }
        }
        XCTAssertEqual(r.positions, 11 * T)
        XCTAssertEqual(r.agreement, agree / n, accuracy: 1e-12)
        XCTAssertEqual(r.klTeacherStudent, kl / n, accuracy: 1e-6 * max(1, kl / n))
        XCTAssertEqual(r.totalVariation, tv / n, accuracy: 1e-6)
        // Perplexity against LabModel's own evaluation over the same windows.
        let evalWindows = BatchSampler.sequentialWindows(over: test, sequenceLength: T)
        let reference = try Evaluation.meanLoss(
            model: student, inputs: evalWindows.map(\.inputs), targets: evalWindows.map(\.targets), batchSize: 4)
        XCTAssertEqual(try XCTUnwrap(r.studentTestLoss), reference, accuracy: 1e-4)
    }

    func testExactMatchOnTaskProblems() throws {
        // Tokens: "\n" 1, "1" 2, "+" 3, "=" 4 (0 is <unk>). The teacher writes "1" after "=" and "\n" after "1".
        let tokenizer = try Tokenizer(kind: .character, symbols: ["\n", "1", "+", "="])
        var table = [Float](repeating: 0, count: 25)
        table[4 * 5 + 2] = 20
        table[2 * 5 + 1] = 20
        let teacher = try BigramTeacher(table: table, vocabularySize: 5, contextLength: 16)
        let examples = [TaskExample(prompt: "1+1=", answer: "1"), TaskExample(prompt: "1=", answer: "11")]
        let data = AttackData(
            heldOut: [[2, 3, 2, 4]], tokenizer: tokenizer, examples: examples, attackerText: { _, _ in [] })
        let evaluator = try FidelityEvaluator(teacher: teacher, data: data, perplexityTokens: 0, taskExamples: 10)
        XCTAssertEqual(evaluator.reference.exactMatch, 0.5)
    }
}
