// Reasoning-attack tests against the oracle teacher: milestones bought and billed as the ledger says, the
// attacker never asks a held-out problem, rejection sampling keeps only what its arithmetic confirms (nothing
// when every shown step is perturbed), and the config refuses bad keys naming them.
import Foundation
import LabAPI
import LabCore
import LabData
import LabDefences
import LabModel
import XCTest

@testable import LabAttacks

final class ReasoningAttackTests: XCTestCase {
    private static let corpus: Corpus = {
        var spec = CorpusSpec.tasks(.additionSteps, digits: 1...2)
        (spec.trainTokens, spec.validationTokens, spec.testTokens) = (200, 100, 400)
        return try! spec.build()
    }()

    private func attack(_ policy: any TracePolicy, harvest: ReasoningAttackConfig.Harvest, seed: UInt64 = 0) throws
        -> ReasoningAttack
    {
        var config = ReasoningAttackConfig()
        config.harvest = harvest
        config.tracePolicy = TracePolicySpec(policy.name)
        (config.milestones, config.roundSize, config.samples) = ([16, 40], 16, 4)
        (config.width, config.layers, config.heads, config.contextLength) = (16, 1, 2, 32)
        (config.steps, config.batchSize, config.evaluationProblems, config.seed) = (2, 4, 5, seed)
        let tokenizer = Self.corpus.tokenizer
        let inner = DefendedAPI(teacher: OracleTraceTeacher(tokenizer: tokenizer, contextLength: 32), seed: seed)
        let api = ReasoningAPI(api: inner, policy: policy, format: try TraceFormat(tokenizer: tokenizer), seed: seed)
        let test = (Self.corpus.examples ?? []).compactMap { AdditionProblem(prompt: $0.prompt) }
        return ReasoningAttack(config: config, api: api, tokenizer: tokenizer, testProblems: test, digits: 1...2)
    }

    func testMilestonesAreBoughtAndBilledThroughTheLedger() throws {
        let a = try attack(HiddenTrace(), harvest: .greedy)
        let points = try a.run()
        XCTAssertEqual(points.map(\.queries), [16, 40])
        let usage = try XCTUnwrap(a.api.api.ledger.usage(ReasoningAttack.account))
        XCTAssertEqual(points.last?.outputTokens, usage.outputTokens)
        // Hidden traces are billed: far more output tokens than the answers the attacker saw.
        XCTAssertGreaterThan(usage.outputTokens, 40 * 10)
        XCTAssertEqual(points.map(\.keptFraction), [1, 1], "greedy keeps everything")
        XCTAssertTrue(points.allSatisfy { (0...1).contains($0.studentAccuracy) && $0.attackerFlops > 0 })
        // Same seed, same numbers.
        XCTAssertEqual(try attack(HiddenTrace(), harvest: .greedy).run(), points)
    }

    func testTheAttackerNeverAsksAHeldOutProblem() throws {
        let a = try attack(FullTrace(), harvest: .greedy)
        var rng = LabRNG(seed: 1)
        let asked = a.problems(count: 2_000, rng: &rng)
        XCTAssertEqual(asked.count, 2_000)
        XCTAssertTrue(Set(asked).isDisjoint(with: a.testProblems))
        XCTAssertFalse(a.testProblems.isEmpty)
    }

    func testRejectionKeepsOnlyWhatTheAttackerCanCheck() throws {
        let a = try attack(FullTrace(), harvest: .rejection)
        let p = AdditionProblem(a: 347, b: 85)
        XCTAssertTrue(a.keeps(p.tracedSolution + "\n", problem: p))
        XCTAssertTrue(a.keeps("432\n", problem: p), "an answer alone is checked by its sum")
        XCTAssertTrue(a.keeps("[7+5+0=12;]432\n", problem: p), "a shown subset of true steps passes")
        XCTAssertFalse(a.keeps("[7+5+0=13;]432\n", problem: p))
        XCTAssertFalse(a.keeps(p.tracedSolution.dropLast() + "3\n", problem: p))
        XCTAssertFalse(a.keeps(p.tracedSolution, problem: p), "a completion that never ended")
        XCTAssertTrue(try attack(FullTrace(), harvest: .greedy).keeps("junk", problem: p))

        // Against steps that are always perturbed, nothing survives the check; against the full trace most do.
        let noisy = try attack(NoisyTrace(probability: 1), harvest: .rejection).run()
        XCTAssertEqual(noisy.last?.kept, 0)
        let full = try a.run()
        XCTAssertGreaterThan(full.last!.keptFraction, 0.2)
        XCTAssertLessThan(full.last!.keptFraction, 1, "temperature 1 makes mistakes the attacker drops")
    }

    func testConfigRefusesBadValuesNamingTheKey() throws {
        func decode(_ json: String) throws -> ReasoningAttackConfig {
            try JSONDecoder().decode(ReasoningAttackConfig.self, from: Data(json.utf8))
        }
        XCTAssertEqual(try decode(#"{"harvest": "rejection", "samples": 3}"#).queriesPerProblem, 3)
        XCTAssertThrowsError(try decode(#"{"sampels": 3}"#)) { error in
            guard case LabError.invalidConfig(key: "reasoning.sampels", _) = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try decode(#"{"harvest": "best_of"}"#))
        for (key, json) in [
            ("milestones", #"{"milestones": [500, 100]}"#), ("heads", #"{"width": 30, "heads": 4}"#),
            ("trace_policy.summary.evry", #"{"trace_policy": {"summary": {"evry": 2}}}"#),
        ] {
            XCTAssertThrowsError(try decode(json).validate()) { error in
                guard case LabError.invalidConfig(key: key, _) = error else { return XCTFail("\(error)") }
            }
        }
    }
}
