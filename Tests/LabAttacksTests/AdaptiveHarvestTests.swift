// The adaptive harvest against a bigram teacher whose rows are known exactly: the pilot finds the noise
// and averages; finds truncation and reads through logit bias; finds poisoning and takes the biased views'
// median, which undoes MAD, adaptive misinformation and temperature exactly on most rows; stays plain where
// nothing is wrong or the views cannot help (reverse sigmoid); never asks for a bias the policy refuses.
// Against noise the gain is per answer only: pooled over equal spend, the plain attacker's answers average
// out as well (the test states it, so the experiment's verdict has a reason).
import Foundation
import LabCore
import XCTest

@testable import LabAPI
@testable import LabAttacks
@testable import LabDefences

final class AdaptiveHarvestTests: XCTestCase {
    let V = 8

    func row(_ teacher: BigramTeacher, after token: Int32) -> [Double] {
        let z = (0..<V).map { Double(teacher.table[Int(token) * V + $0]) }
        let m = z.max()!
        let e = z.map { exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    /// Total variation between a target (renormalised over what it lists) and the teacher's row.
    func error(_ target: PositionTarget, _ truth: [Double]) -> Double {
        var p = [Double](repeating: 0, count: V)
        let sum = target.probabilities.reduce(0, +)
        for (t, v) in zip(target.tokens, target.probabilities) { p[Int(t)] = sum > 0 ? v / sum : 0 }
        return zip(p, truth).reduce(0) { $0 + abs($1.0 - $1.1) } / 2
    }

    func prompts(_ n: Int, seed: UInt64 = 3) -> [[Int32]] {
        var rng = LabRNG(seed: seed, stream: "adaptive-test-prompts")
        return (0..<n).map { _ in (0..<(1 + rng.int(below: 3))).map { _ in Int32(rng.int(below: V)) } }
    }

    /// Serves prompts one at a time through `mode` until `budget` queries are spent; returns the records.
    func drive(
        _ mode: any HarvestMode, teacher: BigramTeacher, defences: [any Defence], budget: Int,
        policy: APIPolicy = APIPolicy()
    ) throws -> [HarvestRecord] {
        let ledger = Ledger()
        try ledger.open("a")
        let api = DefendedAPI(
            teacher: teacher, policy: policy, defences: DefencePipeline(defences), ledger: ledger, seed: 11)
        var records: [HarvestRecord] = []
        var spent = 0
        for prompt in prompts(10_000) {
            let queries = mode.queries(for: prompt, vocabularySize: V)
            guard spent + queries.count <= budget else { break }
            spent += queries.count
            records.append(
                mode.record(prompt: prompt, responses: try api.call(queries, account: "a"), vocabularySize: V))
        }
        XCTAssertEqual(try XCTUnwrap(ledger.usage("a")).queries, records.reduce(0) { $0 + $1.usage.queries })
        return records
    }

    func testNoiseIsMeasuredAndRepeatsAreAveraged() throws {
        let teacher = try ExtractionFixture.teacher(V: V)
        let mode = AdaptiveHarvest()
        let records = try drive(mode, teacher: teacher, defences: [GaussianNoise(scale: 0.2)], budget: 2_000)
        guard case let .average(r)? = mode.plan else { return XCTFail("plan is \(String(describing: mode.plan))") }
        XCTAssertEqual(r, 3, "σ̂² ≈ 0.0075 against tolerance 0.05²")
        let variance = try XCTUnwrap(mode.measuredVariance)
        XCTAssertGreaterThan(variance, 0.005)
        XCTAssertLessThan(variance, 0.01)

        let plain = try drive(
            DistributionHarvest(), teacher: teacher, defences: [GaussianNoise(scale: 0.2)], budget: 2_000)
        func meanError(_ rs: [HarvestRecord]) -> Double {
            let errors = rs.compactMap { r in r.targets.first.map { error($0, row(teacher, after: r.text.last!)) } }
            return errors.reduce(0, +) / Double(errors.count)
        }
        let after = Array(records.dropFirst(4))
        XCTAssertLessThan(meanError(after), 0.85 * meanError(plain), "an averaged answer is closer than one")

        // Pooled per context at equal spend, the plain attacker averages as many answers: no better.
        func pooledError(_ rs: [HarvestRecord]) -> Double {
            var sums = [[Double]](repeating: [Double](repeating: 0, count: V), count: V)
            var counts = [Double](repeating: 0, count: V)
            for r in rs {
                guard let t = r.targets.first else { continue }
                let c = Int(r.text.last!)
                let weight = Double(r.usage.queries)
                for (token, p) in zip(t.tokens, t.probabilities) { sums[c][Int(token)] += weight * p }
                counts[c] += weight
            }
            var total = 0.0
            for c in 0..<V {
                let estimate = sums[c].map { $0 / max(1, counts[c]) }
                let target = PositionTarget(
                    position: 0, tokens: (0..<V).map(Int32.init), probabilities: estimate, isComplete: true)
                total += error(target, row(teacher, after: Int32(c)))
            }
            return total / Double(V)
        }
        XCTAssertGreaterThan(pooledError(after), 0.8 * pooledError(plain))
    }

    func testTruncationAndPoisoningAreUndone() throws {
        // A flatter teacher than the fixture's, so top-3 leaves mass out and misinformation triggers.
        let teacher = try BigramTeacher.random(vocabularySize: V, scale: 1, contextLength: 16, seed: 5)
        let cases: [(String, any Defence, AdaptiveHarvest.Plan, Double)] = [
            ("top_k", TopK(k: 3), .bias(k: 3), 1e-9), ("mad", PredictionPoisoning(), .consensus, 1e-9),
            ("misinformation", AdaptiveMisinformation(), .consensus, 1e-9),
            ("high_confidence", HighConfidence(), .bias(k: 2), 1),
            ("temperature", TemperatureScaling(), .consensus, 1e-9),
        ]
        for (name, defence, expected, tolerance) in cases {
            let mode = AdaptiveHarvest()
            let records = try drive(mode, teacher: teacher, defences: [defence], budget: 600)
            XCTAssertEqual(mode.plan, expected, name)
            let plain = try drive(DistributionHarvest(), teacher: teacher, defences: [defence], budget: 600)
            let adaptiveErrors = records.dropFirst(4).compactMap { r in
                r.targets.first.map { error($0, row(teacher, after: r.text.last!)) }
            }
            let plainErrors = plain.compactMap { r in
                r.targets.first.map { error($0, row(teacher, after: r.text.last!)) }
            }
            let adaptive = adaptiveErrors.reduce(0, +) / Double(adaptiveErrors.count)
            let naive = plainErrors.reduce(0, +) / Double(plainErrors.count)
            XCTAssertLessThan(adaptive, naive, name)
            if tolerance < 1e-6 {
                XCTAssertLessThan(
                    adaptiveErrors.sorted()[adaptiveErrors.count / 2], tolerance, "\(name): most rows read exactly")
            }
        }
    }

    /// Plain where there is nothing to undo, and where the views cannot undo it: the reverse sigmoid distorts
    /// every biased view differently, so no two answers agree and the adaptive attacker is the naive one.
    func testNothingToUndoOrNothingUndoableStaysPlain() throws {
        let teacher = try BigramTeacher.random(vocabularySize: V, scale: 1, contextLength: 16, seed: 5)
        for defence: [any Defence] in [[], [LabelOnly()], [Rounding(decimals: 3)], [ReverseSigmoid()]] {
            let mode = AdaptiveHarvest()
            let records = try drive(mode, teacher: teacher, defences: defence, budget: 400)
            XCTAssertEqual(mode.plan, .plain, "\(defence.map(\.name))")
            XCTAssertEqual(records.dropFirst(4).map(\.usage.queries), Array(repeating: 1, count: records.count - 4))
        }
    }

    func testAPolicyWithoutLogitBiasIsNeverAskedForIt() throws {
        let teacher = try ExtractionFixture.teacher(V: V)
        var policy = APIPolicy()
        policy.logitBias = .refusedWithLogprobs
        let env = AttackEnvironment(vocabularySize: V, contextLength: 16, policy: policy)
        let mode = try XCTUnwrap(
            HarvestRegistry.make(HarvestSpec("adaptive"), environment: env) as? AdaptiveHarvest)
        _ = try drive(mode, teacher: teacher, defences: [PredictionPoisoning()], budget: 200, policy: policy)
        XCTAssertEqual(mode.plan, .plain)
        XCTAssertEqual(
            ExtractionFixture.invalidKey {
                try HarvestRegistry.make(HarvestSpec("adaptive", ["plan": .string("bias")]), environment: env)
            }, "harvest.adaptive.plan")
        XCTAssertEqual(
            ExtractionFixture.invalidKey {
                try HarvestRegistry.make(HarvestSpec("adaptive", ["pilot_repeats": .number(1)]), environment: nil)
            }, "harvest.adaptive.pilot_repeats")
    }

    func testAnAttackChargesThePilotAndTheRepeatsAndStaysUnderEveryMilestone() throws {
        let teacher = try ExtractionFixture.teacher(V: V)
        let config = ExtractionFixture.config(
            strategy: .ownCorpus(.fresh), harvest: HarvestSpec("adaptive"), budget: .queries([50, 200]))
        let attack = Attack(
            config: config,
            target: ExtractionFixture.target(teacher, defences: DefencePipeline([GaussianNoise(scale: 0.2)])))
        let curve = try attack.run()
        XCTAssertLessThanOrEqual(curve.points[0].spent, 50)
        XCTAssertLessThanOrEqual(curve.points[1].spent, 200)
        let ledger = try XCTUnwrap(attack.api?.ledger.usage(Attack.account))
        XCTAssertEqual(ledger.queries, attack.harvest.usage.queries)
        XCTAssertEqual(Double(ledger.queries), curve.points[1].spent)
        // Averaged repeats: fewer records than queries once the pilot has chosen.
        XCTAssertLessThan(curve.points[1].records * 2, ledger.queries)
        XCTAssertTrue(curve.harvest.hasPrefix("adaptive("), curve.harvest)
    }
}
