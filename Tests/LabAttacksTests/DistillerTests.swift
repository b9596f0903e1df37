// Distiller tests: the logit gradient of each loss against the formula written out here (Hinton's
// α·τ·(p_τ − q_τ) + (1 − α)·(p − y) per target, over the target count), sparse bucket targets missing one
// token equal dense ones, tempering rules, and a small end-to-end distillation that learns.
import Foundation
import LabCore
import LabModel
import XCTest

@testable import LabAPI
@testable import LabAttacks
@testable import LabDefences

final class DistillerTests: XCTestCase {
    let V = 6

    func records() -> [HarvestRecord] {
        let full = PositionTarget(
            position: 2, tokens: [0, 1, 2, 3, 4, 5], probabilities: [0.5, 0.2, 0.1, 0.1, 0.06, 0.04], isComplete: true)
        let other = PositionTarget(
            position: 0, tokens: [5, 4, 3, 2, 1, 0], probabilities: [0.3, 0.3, 0.2, 0.1, 0.05, 0.05], isComplete: true)
        return [
            HarvestRecord(text: [1, 2, 3], promptLength: 3, targets: [full], usage: .zero),
            HarvestRecord(text: [4, 0], promptLength: 2, targets: [other], usage: .zero),
        ]
    }

    func student() throws -> GPT {
        let gpt = try GPT(
            config: GPTConfig(vocabularySize: V, contextLength: 8, width: 8, layers: 1, heads: 2), seed: 4)
        if let wte = gpt.parameter("transformer.wte.weight") { for i in 0..<(V * 8) { wte[i] *= 25 } }
        return gpt
    }

    /// The student's logits at (record, position), from a separate forward of that record alone.
    func logits(_ gpt: GPT, _ r: HarvestRecord, at t: Int) throws -> [Double] {
        let z = try gpt.forward(tokens: r.text, batch: 1, length: r.text.count)
        return (0..<V).map { Double(z[t * V + $0]) }
    }

    func softmax(_ z: [Double], _ tau: Double) -> [Double] {
        let m = z.max()!
        let e = z.map { exp(($0 - m) / tau) }
        return e.map { $0 / e.reduce(0, +) }
    }

    func testSoftGradientIsHintonsFormula() throws {
        for (tau, alpha) in [(1.0, 1.0), (2.0, 1.0), (4.0, 0.7), (2.0, 0.0)] {
            let gpt = try student()
            let rs = records()
            let expected = try rs.map { r -> [Double] in
                let t = r.targets[0]
                let z = try logits(gpt, r, at: t.position)
                var q = [Double](repeating: 0, count: V)
                for (token, p) in zip(t.tokens, t.probabilities) { q[Int(token)] = pow(p, 1 / tau) }
                q = q.map { $0 / q.reduce(0, +) }
                let pt = softmax(z, tau), p1 = softmax(z, 1)
                let y = Int(t.top!)
                // Mean over the 2 targets.
                return (0..<V).map { v in (alpha * tau * (pt[v] - q[v]) + (1 - alpha) * (p1[v] - (v == y ? 1 : 0))) / 2
                }
            }
            let distiller = Distiller(
                student: gpt, loss: .soft(temperature: tau, alpha: alpha, tail: .bucket), batchSize: 2,
                learningRate: 1e-3, weightDecay: 0, seed: 0)
            _ = try distiller.lossAndLogitGradients(rs)
            let g = try XCTUnwrap(gpt.logitGradients)
            let T = 3  // texts of 3 and 2 tokens pad to the longer
            for (b, r) in rs.enumerated() {
                let row = (b * T + r.targets[0].position) * V
                XCTAssertLessThan(
                    maxToleranceRatio(g[row..<(row + V)], expected[b], atol: 1e-6, rtol: 1e-4), 1,
                    "τ = \(tau), α = \(alpha)")
            }
            // Every other position carries no gradient.
            let targetRows: Set<Int> = [rs[0].targets[0].position, T + rs[1].targets[0].position]
            var elsewhere = 0.0
            for i in 0..<(2 * T) where !targetRows.contains(i) {
                for v in 0..<V { elsewhere = max(elsewhere, abs(Double(g[i * V + v]))) }
            }
            XCTAssertEqual(elsewhere, 0)
        }
    }

    func testHardLossUsesTheTopListedToken() throws {
        let gpt = try student()
        let rs = records()
        let distiller = Distiller(student: gpt, loss: .hard, batchSize: 2, learningRate: 1e-3, weightDecay: 0, seed: 0)
        let loss = try distiller.lossAndLogitGradients(rs)
        let z0 = try logits(gpt, rs[0], at: 2), z1 = try logits(gpt, rs[1], at: 0)
        // Record 1 ties tokens 5 and 4 at 0.3: the one listed first (5) is the label.
        let expected = -(log(softmax(z0, 1)[0]) + log(softmax(z1, 1)[5])) / 2
        XCTAssertEqual(Double(loss), expected, accuracy: 1e-5)
    }

    func testSparseBucketMissingOneTokenEqualsDense() throws {
        let rs = records()
        // The same targets with each row's least likely token left out: its mass is the bucket.
        let sparse = rs.map { r -> HarvestRecord in
            var r = r
            let t = r.targets[0]
            r.targets = [
                PositionTarget(
                    position: t.position, tokens: Array(t.tokens.prefix(5)),
                    probabilities: Array(t.probabilities.prefix(5)), isComplete: false)
            ]
            return r
        }
        for tau in [1.0, 2.5] {
            let a = try student(), b = try student()
            let dense = Distiller(
                student: a, loss: .soft(temperature: tau, alpha: 1, tail: .bucket), batchSize: 2, learningRate: 1e-3,
                weightDecay: 0, seed: 0)
            let bucket = Distiller(
                student: b, loss: .soft(temperature: tau, alpha: 1, tail: .bucket), batchSize: 2, learningRate: 1e-3,
                weightDecay: 0, seed: 0)
            let la = try dense.lossAndLogitGradients(rs), lb = try bucket.lossAndLogitGradients(sparse)
            XCTAssertEqual(Double(la), Double(lb), accuracy: 1e-5)
            XCTAssertLessThan(
                maxToleranceRatio(Array(a.logitGradients!), Array(b.logitGradients!), atol: 1e-6, rtol: 1e-4), 1,
                "τ = \(tau)")
        }
    }

    func testTemperingRules() {
        XCTAssertEqual(DistillationBatch.temperSparse([0.5, 0.2], V: 6, 1), [0.5, 0.2])
        // τ = 2 on a full distribution: √q normalised.
        let t = DistillationBatch.temper([0.64, 0.36, 0], 2)
        XCTAssertEqual(t[0], 0.8 / 1.4, accuracy: 1e-12)
        XCTAssertEqual(t[2], 0)
        // Sparse at τ = 2: the unlisted 0.3 spread over 4 tokens, each (0.075)^½.
        let s = DistillationBatch.temperSparse([0.5, 0.2], V: 6, 2)
        let z = 0.5.squareRoot() + 0.2.squareRoot() + 4 * 0.075.squareRoot()
        XCTAssertEqual(s[0], 0.5.squareRoot() / z, accuracy: 1e-12)
        XCTAssertEqual(s[1], 0.2.squareRoot() / z, accuracy: 1e-12)
    }

    func testDistillationFromFullDistributionsLearnsTheTeacher() throws {
        let teacher = try ExtractionFixture.teacher(V: 8, seed: 11)
        var student = StudentSpec(width: 16, layers: 1, heads: 2, batchSize: 16, learningRate: 1e-2, epochs: 8)
        student.minSteps = 40
        var config = AttackConfig(
            strategy: .ownCorpus(.fresh), harvest: .distribution, student: student, budget: .queries([48, 160]),
            promptLength: 1...8, roundSize: 64, seed: 3)
        config.evaluation = EvaluationSpec(prompts: 8, length: 8, perplexityTokens: 128, taskExamples: 0)
        let curve = try config.run(against: ExtractionFixture.target(teacher))
        let agreement = curve.points.map(\.fidelity.agreement), kl = curve.points.map(\.fidelity.klTeacherStudent)
        XCTAssertGreaterThan(agreement[1], 0.85, "agreement \(agreement), KL \(kl)")
        XCTAssertLessThan(kl[1], kl[0], "agreement \(agreement), KL \(kl)")
    }
}
