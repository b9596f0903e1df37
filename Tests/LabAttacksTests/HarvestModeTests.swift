// Harvest-mode tests against a bigram teacher whose distributions are known exactly: each mode's record
// holds what the surface reveals at the right positions, logit-bias reconstruction recovers the full
// distribution to double precision at ⌈(V−1)/(k−1)⌉ queries per position, and a policy that forbids
// what a mode needs is an error before anything is spent.
import Foundation
import LabCore
import XCTest

@testable import LabAPI
@testable import LabAttacks
@testable import LabDefences

final class HarvestModeTests: XCTestCase {
    let V = 8

    func softmaxRow(_ teacher: BigramTeacher, after token: Int32) -> [Double] {
        let z = (0..<V).map { Double(teacher.table[Int(token) * V + $0]) }
        let m = z.max()!
        let e = z.map { exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    /// Serves `prompt` through `mode` on an open API and returns the record and the ledger's usage.
    func harvest(_ mode: any HarvestMode, _ prompt: [Int32], teacher: BigramTeacher, defences: DefencePipeline = .none)
        throws -> (HarvestRecord, Usage)
    {
        let ledger = Ledger()
        try ledger.open("a")
        let api = DefendedAPI(teacher: teacher, defences: defences, ledger: ledger)
        let queries = mode.queries(for: prompt, vocabularySize: V)
        let record = mode.record(prompt: prompt, responses: try api.call(queries, account: "a"), vocabularySize: V)
        return (record, try XCTUnwrap(ledger.usage("a")))
    }

    func testDistributionTopKLabelAndEcho() throws {
        let teacher = try ExtractionFixture.teacher(V: V)
        let prompt: [Int32] = [3, 1, 6]
        let p = softmaxRow(teacher, after: 6)
        let ranked = (0..<V).sorted { p[$0] > p[$1] }

        let (full, fullUsage) = try harvest(DistributionHarvest(), prompt, teacher: teacher)
        XCTAssertEqual(full.targets.count, 1)
        XCTAssertTrue(full.targets[0].isComplete)
        XCTAssertEqual(full.targets[0].position, 2)
        for (t, q) in zip(full.targets[0].tokens, full.targets[0].probabilities) {
            XCTAssertEqual(q, p[Int(t)], accuracy: 1e-12)
        }
        XCTAssertEqual(full.usage, fullUsage)

        let (top, _) = try harvest(TopKHarvest(k: 3), prompt, teacher: teacher)
        XCTAssertEqual(top.targets[0].tokens.map(Int.init), Array(ranked.prefix(3)))
        XCTAssertFalse(top.targets[0].isComplete)
        XCTAssertEqual(top.text, prompt)

        let (label, _) = try harvest(LabelHarvest(), prompt, teacher: teacher)
        XCTAssertEqual(label.targets, [.oneHot(position: 2, token: Int32(ranked[0]))])

        // Echo: top-k at positions 0 and 1 (predicting prompt tokens 1 and 2), plus each actual next token.
        let (echo, echoUsage) = try harvest(EchoHarvest(k: 2), prompt, teacher: teacher)
        XCTAssertEqual(echo.targets.map(\.position), [0, 1])
        for target in echo.targets {
            let row = softmaxRow(teacher, after: prompt[target.position])
            XCTAssertTrue(target.tokens.contains(prompt[target.position + 1]))
            for (t, q) in zip(target.tokens, target.probabilities) { XCTAssertEqual(q, row[Int(t)], accuracy: 1e-12) }
        }
        XCTAssertEqual(echoUsage.outputTokens, 0)
    }

    func testCompletionTargetsAreTheSampledTokens() throws {
        let teacher = try ExtractionFixture.teacher(V: V)
        let (record, usage) = try harvest(CompletionHarvest(maxNewTokens: 5, temperature: 1), [2, 4], teacher: teacher)
        XCTAssertEqual(record.promptLength, 2)
        XCTAssertEqual(record.targets.map(\.position), [1, 2, 3, 4, 5])
        // Each target is the next token of the text; the last generated token is a target only.
        for target in record.targets.dropLast() { XCTAssertEqual(target.tokens, [record.text[target.position + 1]]) }
        XCTAssertEqual(record.text.count, 6)
        XCTAssertEqual(usage.outputTokens, 5)
    }

    func testLogitBiasRebuildsTheFullDistribution() throws {
        let teacher = try ExtractionFixture.teacher(V: V)
        for k in [2, 3, 5, 8] {
            let mode = LogitBiasHarvest(k: k, bias: 100, referenceToken: 0)
            for last in [Int32(0), 3, 7] {
                let (record, usage) = try harvest(mode, [5, last], teacher: teacher)
                // ⌈(V − 1)/(k − 1)⌉ queries for one position.
                XCTAssertEqual(usage.queries, (V - 1 + k - 2) / (k - 1), "k = \(k)")
                let target = try XCTUnwrap(record.targets.first)
                XCTAssertTrue(target.isComplete, "k = \(k)")
                let p = softmaxRow(teacher, after: last)
                for (t, q) in zip(target.tokens, target.probabilities) {
                    XCTAssertEqual(q, p[Int(t)], accuracy: 1e-9 * max(1, p[Int(t)]), "k = \(k), token \(t)")
                }
            }
        }
    }

    func testLogitBiasUnderTopKDefenceRecoversWhatItCan() throws {
        // The API reports only 2 of the k = 4 biased tokens: the reference and one block token at best.
        let teacher = try ExtractionFixture.teacher(V: V)
        let (record, _) = try harvest(
            LogitBiasHarvest(k: 4), [1, 2], teacher: teacher, defences: DefencePipeline([TopK(k: 2)]))
        if let target = record.targets.first {
            XCTAssertFalse(target.isComplete)
            XCTAssertEqual(target.probabilities.reduce(0, +), 1, accuracy: 1e-9)
        }
    }

    func testPoliciesThatForbidTheModeAreConfigErrors() throws {
        let env = { (policy: APIPolicy) in AttackEnvironment(vocabularySize: 8, contextLength: 16, policy: policy) }
        XCTAssertEqual(
            ExtractionFixture.invalidKey {
                try HarvestRegistry.make(
                    .logitBias(k: 3, bias: 200), environment: env(APIPolicy(logitBias: .capped(magnitude: 100))))
            },
            "harvest.logit_bias.bias")
        XCTAssertEqual(
            ExtractionFixture.invalidKey {
                try HarvestRegistry.make(.logitBias(k: 3), environment: env(APIPolicy(logitBias: .refusedWithLogprobs)))
            },
            "harvest")
        XCTAssertEqual(
            ExtractionFixture.invalidKey {
                try HarvestRegistry.make(.topK(6), environment: env(APIPolicy(maxLogprobs: 5)))
            },
            "harvest.top_k.k")
        XCTAssertNil(
            ExtractionFixture.error {
                try HarvestRegistry.make(
                    .logitBias(k: 3, bias: 100), environment: env(APIPolicy(logitBias: .capped(magnitude: 100))))
            })
    }
}
