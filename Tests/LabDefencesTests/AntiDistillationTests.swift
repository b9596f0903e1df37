// Antidistillation sampling: λ = 0 is plain sampling (rows and completions unchanged), the served
// distribution moves monotonically towards high-penalty tokens as λ grows, and the finite-difference
// penalty equals the inner product ⟨∇ℓ, ∇ log p(x | c)⟩ it approximates. Not student training (item 3).
import Foundation
import LabAPI
import LabCore
import LabDefences
import LabModel
import TestSupport
import XCTest

final class AntiDistillationTests: XCTestCase {
    static let V = 24

    /// A random proxy whose downstream loss is measured on seeded random windows.
    func proxy(epsilon: Double = 0.01, seed: UInt64 = 5) throws -> (AntidistillationProxy, GPT) {
        let gpt = try Fixture.tinyGPT(vocabularySize: Self.V, contextLength: 16, seed: seed)
        var rng = LabRNG(seed: seed, stream: "target")
        let target = (0..<8).map { _ in (0..<17).map { _ in Int32(rng.int(below: Self.V)) } }
        return (try AntidistillationProxy(proxy: gpt, target: target, epsilon: epsilon), gpt)
    }

    func rows(count: Int, seed: UInt64) -> [DistributionRow] {
        var rng = LabRNG(seed: seed)
        return (0..<count).map { i in
            let context = (0..<(1 + i % 6)).map { _ in Int32(rng.int(below: Self.V)) }
            return DistributionRow(
                probabilities: Fixture.distribution(Self.V, spread: 1.5, rng: &rng), context: context[...],
                seed: UInt64(i))
        }
    }

    func testLambdaZeroIsPlainSampling() throws {
        let (p, _) = try proxy()
        var rows = rows(count: 12, seed: 1)
        try AntidistillationSampling(proxy: p, lambda: 0).apply(to: &rows)
        for row in rows {
            XCTAssertLessThanOrEqual(maxToleranceRatio(row.values, row.original, atol: 1e-15, rtol: 1e-12), 1)
        }

        // Through the API: the same completions, token for token, as no defence at all.
        // A freshly initialised GPT: near-uniform rows, so a tilt of the distribution changes the draws.
        let teacher = GPTTeacher(
            model: try GPT(
                config: GPTConfig(vocabularySize: Self.V, contextLength: 32, width: 16, layers: 1, heads: 2), seed: 9),
            maxBatch: 8)
        func complete(_ pipeline: DefencePipeline) throws -> [[Int32]] {
            let ledger = Ledger()
            try ledger.open("u")
            let api = DefendedAPI(teacher: teacher, defences: pipeline, ledger: ledger, seed: 2)
            return try api.call(
                (0..<6).map { .completion([Int32($0), 3], maxNewTokens: 12, seed: UInt64(40 + $0)) }, account: "u"
            ).map(\.tokens)
        }
        XCTAssertEqual(
            try complete(DefencePipeline([AntidistillationSampling(proxy: p, lambda: 0)])), try complete(.none))
        // λ ≠ 0 changes some of them (the defence is not a no-op through the serving path).
        XCTAssertNotEqual(
            try complete(DefencePipeline([AntidistillationSampling(proxy: p, lambda: 5)])), try complete(.none))
    }

    func testServedDistributionMovesMonotonicallyWithLambda() throws {
        let (p, _) = try proxy()
        let base = rows(count: 10, seed: 3)
        let b = try p.penalties(contexts: base.map(\.context))
        print(
            String(
                format: "antidistillation proxy: ℓ = %.4f nats, ‖g‖ = %.4f, max |b| = %.4f", p.targetLoss,
                p.gradientNorm,
                b.flatMap { $0 }.map(abs).max() ?? 0))
        var previous = (
            penalty: [Double](repeating: -.infinity, count: base.count), kl: [Double](repeating: -1, count: base.count)
        )
        for lambda in [0.0, 5, 20, 50, 100, 200] {
            var rows = base
            try AntidistillationSampling(proxy: p, lambda: lambda).apply(to: &rows)
            for r in rows.indices {
                let q = rows[r].values, o = rows[r].original
                XCTAssertEqual(q.reduce(0, +), 1, accuracy: 1e-12)
                // E_q[b] grows with λ (d/dλ E_q[b] = Var_q[b] ≥ 0 for an exponential tilt), and so does KL(q ‖ p).
                let penalty = zip(q, b[r]).map { $0 * $1 }.reduce(0, +)
                let kl = q.indices.map { q[$0] > 0 ? q[$0] * log(q[$0] / o[$0]) : 0 }.reduce(0, +)
                XCTAssertGreaterThanOrEqual(penalty, previous.penalty[r] - 1e-12, "row \(r), λ = \(lambda)")
                XCTAssertGreaterThanOrEqual(kl, previous.kl[r] - 1e-12, "row \(r), λ = \(lambda)")
                previous.penalty[r] = penalty
                previous.kl[r] = kl
            }
        }
        XCTAssertGreaterThan(previous.kl.reduce(0, +), 0.01)
    }

    func testPenaltyIsTheDirectionalDerivativeItApproximates() throws {
        let (p, gpt) = try proxy(epsilon: 0.01)
        // The proxy's constructor left g = ∇ℓ(θ_P) in the GPT's gradients.
        let g = gpt.gradients.array
        let context: [Int32] = [3, 7, 1, 12]
        let b = try p.penalties(contexts: [context[...]])[0]
        var worst = 0.0, scale = 0.0
        for x in 0..<Self.V {
            // −log p(x | c) at the last position only; backward leaves −∇_θ log p(x | c).
            gpt.zeroGradients()
            try gpt.forward(tokens: context, batch: 1, length: context.count)
            _ = try gpt.loss(.hard([0, 0, 0, Int32(x)]), options: LossOptions(mask: [0, 0, 0, 1]))
            gpt.backward()
            let grad = gpt.gradients.pointer
            var dot = 0.0
            for i in g.indices { dot -= Double(g[i]) * Double(grad[i]) }
            worst = max(worst, abs(dot - b[x]))
            scale = max(scale, abs(dot))
        }
        print(
            String(
                format: "antidistillation penalty vs ⟨g, ∇log p⟩ over %d tokens: max |error| %.2e at max |value| %.2e",
                Self.V, worst, scale))
        XCTAssertGreaterThan(scale, 1e-3)
        XCTAssertLessThan(worst, 1e-3 + 2e-2 * scale)
        // Halving ε changes b by O(ε²) only.
        let (half, _) = try proxy(epsilon: 0.005)
        let bHalf = try half.penalties(contexts: [context[...]])[0]
        XCTAssertLessThan(maxToleranceRatio(bHalf, b, atol: 1e-3, rtol: 2e-2), 1)
    }

    func testRegistryRejectsBadParametersWithTheirKeys() throws {
        let env = DefenceEnvironment(vocabularySize: 30, contextLength: 32)
        func key(_ parameters: [String: ParameterValue]) -> String? {
            if case let LabError.invalidConfig(k, _)? = Fixture.error({
                try DefenceRegistry.make(DefenceSpec("antidistillation", parameters), environment: env)
            }) as? LabError {
                return k
            }
            return nil
        }
        XCTAssertEqual(key(["epsilon": .number(0)]), "defences.antidistillation.epsilon")
        XCTAssertEqual(key(["temperature": .number(-1)]), "defences.antidistillation.temperature")
        XCTAssertEqual(key(["target_split": .string("dev")]), "defences.antidistillation.target_split")
        XCTAssertEqual(key(["proxy": .string("/nonexistent/proxy")]) ?? "file error", "file error")
        XCTAssertEqual(key(["lamda": .number(1)]), "defences.antidistillation.lamda")
    }
}
