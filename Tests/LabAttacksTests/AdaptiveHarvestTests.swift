// The adaptive harvest against a bigram teacher whose rows are known exactly: the pilot finds the noise
// and averages; finds truncation and reads through logit bias (a top-k) or token by token (a cutoff); finds
// poisoning and takes the biased views' median, which undoes MAD, adaptive misinformation and temperature
// exactly on most rows; inverts the reverse sigmoid when one of its candidate parameters explains the
// answers, and not otherwise; samples through a label-only API with Gumbel biases, and cannot without
// them; stays plain where nothing is wrong; never asks for a bias the policy refuses.
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
            ("high_confidence", HighConfidence(), .single(bias: 12), 1e-9),
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

    /// Plain where there is nothing to undo: no defence, or rounding too fine to matter.
    func testNothingToUndoStaysPlain() throws {
        let teacher = try BigramTeacher.random(vocabularySize: V, scale: 1, contextLength: 16, seed: 5)
        for defence: [any Defence] in [[], [Rounding(decimals: 3)]] {
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

    /// Mean and median error of the records after the pilot, against the teacher's rows.
    func errors(_ records: [HarvestRecord], _ teacher: BigramTeacher, skip: Int = 4) -> (mean: Double, median: Double) {
        let e = records.dropFirst(skip).compactMap { r in
            r.targets.first.map { error($0, row(teacher, after: r.text.last!)) }
        }
        return (e.reduce(0, +) / Double(e.count), e.sorted()[e.count / 2])
    }

    /// The reverse sigmoid of ART's defaults: the pilot finds the candidate that reproduces its answers, and
    /// the views that lift one token until it dominates are inverted to the teacher's rows (to the inverse
    /// table's interpolation, well under 10⁻³), where the plain answers are off by a third of the mass.
    /// With γ = 0.3, which no candidate has, nothing explains the answers and the attacker stays plain.
    func testTheReverseSigmoidIsInvertedWhenACandidateExplainsIt() throws {
        let teacher = try BigramTeacher.random(vocabularySize: V, scale: 2, contextLength: 16, seed: 5)
        let mode = AdaptiveHarvest()
        let records = try drive(mode, teacher: teacher, defences: [ReverseSigmoid()], budget: 600)
        XCTAssertEqual(mode.plan, .invert(ReverseSigmoidInversion(beta: 1, gamma: 0.1)))
        XCTAssertEqual(records.dropFirst(4).map(\.usage.queries), Array(repeating: 3, count: records.count - 4))
        let plain = try drive(DistributionHarvest(), teacher: teacher, defences: [ReverseSigmoid()], budget: 600)
        let (mean, median) = errors(records, teacher)
        let naive = errors(plain, teacher, skip: 0)
        XCTAssertLessThan(median, 1e-3)
        XCTAssertLessThan(mean, 1e-2)
        XCTAssertGreaterThan(naive.mean, 0.2)

        let other = AdaptiveHarvest()
        _ = try drive(other, teacher: teacher, defences: [ReverseSigmoid(beta: 1, gamma: 0.3)], budget: 200)
        XCTAssertEqual(other.plan, .plain)
    }

    /// The inversion itself, on rows known exactly: a view whose lifted token dominates is read back to
    /// the row; a view whose lifted token does not is refused, not misread.
    func testAViewIsInvertedOnlyWhenItsLiftedTokenDominates() {
        let inversion = ReverseSigmoidInversion(beta: 1, gamma: 0.1)
        XCTAssertEqual(inversion.yStar, 0.025, accuracy: 0.002)
        let y = [0.5, 0.3, 0.1, 0.05, 0.03, 0.015, 0.004, 0.001]
        for (t, bias, readable) in [(0, 5.0, true), (7, 5.0, false), (7, 11.0, true)] {
            var z = y.map(log)
            z[t] += bias
            let m = z.max()!
            let e = z.map { exp($0 - m) }
            let lifted = e.map { $0 / e.reduce(0, +) }
            let read = inversion.read(views: [inversion.forward(lifted)], token: t, biases: [bias])
            XCTAssertEqual(read != nil, readable, "token \(t), bias \(bias)")
            if let read {
                for (a, b) in zip(read, y) { XCTAssertEqual(a, b, accuracy: 1e-5 * max(b, 1e-3)) }
            }
        }
    }

    /// Label only: the pilot sees one-hot answers and samples through Gumbel logit biases; pooled per
    /// context, the labels' frequencies approach the teacher's rows, which one-hot labels never do. Without
    /// logit bias there is nothing to sample with: the served text is greedy too (the defence reshapes what
    /// completions draw from), so repeated completions only repeat the label.
    func testLabelOnlyIsSampledThroughGumbelBiasesAndNotWithoutThem() throws {
        let teacher = try BigramTeacher.random(vocabularySize: V, scale: 1, contextLength: 16, seed: 5)
        let mode = AdaptiveHarvest()
        let records = try drive(mode, teacher: teacher, defences: [LabelOnly()], budget: 4_000)
        XCTAssertEqual(mode.plan, .sample(samples: 4))
        let labels = try drive(DistributionHarvest(), teacher: teacher, defences: [LabelOnly()], budget: 4_000)
        func pooledError(_ rs: [HarvestRecord]) -> Double {
            var sums = [[Double]](repeating: [Double](repeating: 0, count: V), count: V)
            for r in rs {
                guard let t = r.targets.first else { continue }
                for (token, p) in zip(t.tokens, t.probabilities) { sums[Int(r.text.last!)][Int(token)] += p }
            }
            var total = 0.0
            for c in 0..<V {
                let n = max(1e-12, sums[c].reduce(0, +))
                let target = PositionTarget(
                    position: 0, tokens: (0..<V).map(Int32.init), probabilities: sums[c].map { $0 / n },
                    isComplete: true)
                total += error(target, row(teacher, after: Int32(c)))
            }
            return total / Double(V)
        }
        XCTAssertLessThan(pooledError(Array(records.dropFirst(4))), 0.05)
        XCTAssertGreaterThan(pooledError(labels), 0.3)

        var policy = APIPolicy()
        policy.logitBias = .refused
        let env = AttackEnvironment(vocabularySize: V, contextLength: 16, policy: policy)
        let refused = try XCTUnwrap(HarvestRegistry.make(HarvestSpec("adaptive"), environment: env) as? AdaptiveHarvest)
        _ = try drive(refused, teacher: teacher, defences: [LabelOnly()], budget: 200, policy: policy)
        XCTAssertEqual(refused.plan, .plain)
        let ledger = Ledger()
        try ledger.open("a")
        let api = DefendedAPI(teacher: teacher, defences: DefencePipeline([LabelOnly()]), ledger: ledger, seed: 2)
        let prompt: [Int32] = [3]
        let draws = try api.call(
            (0..<20).map { _ in .completion(prompt, maxNewTokens: 1, temperature: 1) }, account: "a")
        let top = Int32(row(teacher, after: 3).indices.max { row(teacher, after: 3)[$0] < row(teacher, after: 3)[$1] }!)
        XCTAssertEqual(Set(draws.map { $0.tokens[0] }), [top])
    }
}
