// The adaptive harvest's `filter` plan against antidistillation sampling, on a bigram teacher whose rows are
// known exactly: the attacker samples several completions per prompt and keeps the one its own proxy (a
// trigram model of the prompts it sent, which are the teacher's own text) finds likeliest. Compared with
// one sampled completion per query at the same spend, by the pooled frequencies of the tokens it keeps: where
// nothing is poisoned the selection only sharpens the harvest towards the proxy's mode, and against a poison
// that moves most of the mass it does not help. A stronger proxy than a trigram of the attacker's own
// prompts is not tried here.
import Foundation
import LabCore
import LabModel
import TestSupport
import XCTest

@testable import LabAPI
@testable import LabAttacks
@testable import LabDefences

final class AdaptiveFilterTests: XCTestCase {
    let V = 8

    func row(_ teacher: BigramTeacher, after token: Int) -> [Double] {
        let z = (0..<V).map { Double(teacher.table[token * V + $0]) }
        let m = z.max()!
        let e = z.map { exp($0 - m) }
        return e.map { $0 / e.reduce(0, +) }
    }

    /// Per context (the previous token), the frequencies of the targets' tokens: total variation to the
    /// teacher's row, and whether the most frequent token is the teacher's top-1, averaged over contexts.
    func pooled(_ records: [HarvestRecord], _ teacher: BigramTeacher) -> (tv: Double, agreement: Double) {
        var counts = [[Double]](repeating: [Double](repeating: 0, count: V), count: V)
        for r in records {
            for t in r.targets {
                let context = Int(r.text[t.position])
                counts[context][Int(t.tokens[0])] += 1
            }
        }
        var tv = 0.0, agree = 0.0
        for c in 0..<V {
            let n = max(1, counts[c].reduce(0, +))
            let truth = row(teacher, after: c)
            tv += zip(counts[c], truth).reduce(0) { $0 + abs($1.0 / n - $1.1) } / 2
            let top = truth.indices.max { truth[$0] < truth[$1] }!
            let seen = counts[c].indices.max { counts[c][$0] < counts[c][$1] }!
            agree += top == seen ? 1 : 0
        }
        return (tv / Double(V), agree / Double(V))
    }

    func testKeepingTheProxysLikeliestCompletionUnderAntidistillationSampling() throws {
        let teacher = try BigramTeacher.random(vocabularySize: V, scale: 1.5, contextLength: 32, seed: 7)
        let gpt = try Fixture.tinyGPT(vocabularySize: V, contextLength: 16, seed: 5)
        var rng = LabRNG(seed: 5, stream: "target")
        let target = (0..<8).map { _ in (0..<17).map { _ in Int32(rng.int(below: V)) } }
        let proxy = try AntidistillationProxy(proxy: gpt, target: target, epsilon: 0.01)
        // The attacker's prompts: text of the teacher's own source (sampled undefended).
        let source = try DefendedAPI(
            teacher: teacher,
            ledger: {
                let l = Ledger()
                try l.open("s")
                return l
            }()
        )
        .call((0..<240).map { .completion([Int32($0 % V)], maxNewTokens: 6, seed: UInt64($0)) }, account: "s")
        let prompts = source.enumerated().map { [Int32($0.offset % V)] + $0.element.tokens }
        var results: [Double: (kept: (tv: Double, agreement: Double), single: (tv: Double, agreement: Double))] = [:]
        for lambda in [0.0, 1] {
            func harvest(_ mode: any HarvestMode, queries budget: Int) throws -> [HarvestRecord] {
                let ledger = Ledger()
                try ledger.open("a")
                let defence = try AntidistillationSampling(proxy: proxy, lambda: lambda)
                let api = DefendedAPI(teacher: teacher, defences: DefencePipeline([defence]), ledger: ledger, seed: 3)
                var records: [HarvestRecord] = []
                var spent = 0
                for prompt in prompts {
                    let queries = mode.queries(for: prompt, vocabularySize: V)
                    guard spent + queries.count <= budget else { break }
                    spent += queries.count
                    records.append(
                        mode.record(prompt: prompt, responses: try api.call(queries, account: "a"), vocabularySize: V))
                }
                return records
            }
            let filter = AdaptiveHarvest(plan: .filter(samples: 4), filterTokens: 8)
            results[lambda] = (
                pooled(try harvest(filter, queries: 240), teacher),
                pooled(try harvest(CompletionHarvest(maxNewTokens: 8), queries: 240), teacher)
            )
        }
        let clean = try XCTUnwrap(results[0]), poisoned = try XCTUnwrap(results[1])
        // Undefended, keeping the proxy's likeliest of four sharpens the harvest towards the proxy's mode:
        // further from the teacher's rows than one sample per query.
        XCTAssertGreaterThan(clean.kept.tv, clean.single.tv + 0.05)
        // Under antidistillation sampling at λ = 1 (with this proxy it moves most of each row's mass) every
        // one of the four samples is poisoned, and keeping the likeliest does not undo it. (At λ = 0.1 and
        // 0.3, and with 400 or 800 queries, the kept and the single completions were within 0.03 of each
        // other in total variation, which this test does not pin down.)
        XCTAssertGreaterThan(poisoned.single.tv, 0.85)
        XCTAssertGreaterThan(poisoned.kept.tv, 0.85)
    }

    /// Forced through a config, the filter plan runs as an attack: every sampled completion is charged, one
    /// record per prompt keeps one completion's tokens as targets, and the plan is reported.
    func testAForcedFilterRunsAsAnAttackAndChargesEveryCompletion() throws {
        let teacher = try ExtractionFixture.teacher(V: V)
        let config = ExtractionFixture.config(
            strategy: .ownCorpus(.fresh), harvest: HarvestSpec("adaptive", ["plan": .string("filter")]),
            budget: .queries([40]))
        let attack = Attack(config: config, target: ExtractionFixture.target(teacher))
        let curve = try attack.run()
        XCTAssertEqual(curve.plan, "filter(4)")
        let ledger = try XCTUnwrap(attack.api?.ledger.usage(Attack.account))
        XCTAssertEqual(ledger.queries, attack.harvest.usage.queries)
        XCTAssertEqual(ledger.queries, 4 * attack.harvest.records.count)
        for record in attack.harvest.records {
            XCTAssertEqual(record.targets.count, 8)
            XCTAssertEqual(record.text.count, record.promptLength + 7)
        }
    }
}
