// Config tests: an attack written as JSON (the shape YAML gives) decodes with defaults filled in and
// round-trips; every part resolves through its registry; unknown keys and impossible values are
// `LabError.invalidConfig` naming the key; the registries document every parameter.
import Foundation
import LabCore
import XCTest

@testable import LabAPI
@testable import LabAttacks
@testable import LabDefences

final class AttackConfigTests: XCTestCase {
    func decode(_ json: String) throws -> AttackConfig {
        try JSONDecoder().decode(AttackConfig.self, from: Data(json.utf8))
    }

    func testDecodesWithDefaultsAndRoundTrips() throws {
        let c = try decode(
            """
            {"strategy": {"own_corpus": {"source": "related", "mix": 0.25}},
             "harvest": {"top_k": {"k": 5}},
             "student": {"width": 64, "layers": 2, "heads": 4, "loss": {"soft": {"temperature": 2, "alpha": 0.9, "tail": "uniform"}}},
             "budget": {"unit": "tokens", "milestones": [1000, 3000]},
             "prompt_length": [4, 16], "seed": 7}
            """)
        XCTAssertEqual(c.strategy, .ownCorpus(.related(mix: 0.25)))
        XCTAssertEqual(c.harvest, .topK(5))
        XCTAssertEqual(try DistillationLoss(c.student.loss), .soft(temperature: 2, alpha: 0.9, tail: .uniform))
        XCTAssertEqual(c.budget, .tokens([1000, 3000]))
        XCTAssertEqual(c.promptLength, 4...16)
        XCTAssertEqual(c.roundSize, 256)
        XCTAssertEqual(c.student.batchSize, 32)
        try c.validate()
        let again = try JSONDecoder().decode(AttackConfig.self, from: try JSONEncoder().encode(c))
        XCTAssertEqual(again, c)
        // A bare name is a part without parameters.
        XCTAssertEqual(try decode(#"{"strategy": "random_tokens", "harvest": "label"}"#).harvest, .label)
    }

    func testBadConfigsNameTheirKey() throws {
        let cases: [(String, String)] = [
            (#"{"stratgy": "random_tokens"}"#, "stratgy"),
            (#"{"student": {"widht": 3}}"#, "student.widht"),
            (#"{"budget": {"unit": "euros", "milestones": [1]}}"#, "budget.unit"),
            (#"{"prompt_length": [8, 2]}"#, "prompt_length"),
            (#"{"evaluation": {"prompts": 1, "window": 3}}"#, "evaluation.window"),
        ]
        for (json, key) in cases {
            XCTAssertEqual(ExtractionFixture.invalidKey { try decode(json) }, key, json)
        }
        let invalid: [(AttackConfig, String)] = [
            (AttackConfig(strategy: StrategySpec("web_scrape")), "strategy"),
            (
                AttackConfig(strategy: StrategySpec("own_corpus", ["source": .string("fresh"), "mix": .number(0.5)])),
                "strategy.own_corpus.mix"
            ),
            (
                AttackConfig(strategy: StrategySpec("active", ["pool_factor": .number(0)])),
                "strategy.active.pool_factor"
            ),
            (AttackConfig(harvest: HarvestSpec("top_k", ["k": .number(0)])), "harvest.top_k.k"),
            (AttackConfig(harvest: HarvestSpec("label", ["k": .number(2)])), "harvest.label.k"),
            (AttackConfig(harvest: .logitBias(k: 1)), "harvest.logit_bias.k"),
            (AttackConfig(student: StudentSpec(width: 30, heads: 4)), "student.heads"),
            (
                AttackConfig(student: StudentSpec(loss: LossSpec("soft", ["temperature": .number(0)]))),
                "student.loss.soft.temperature"
            ),
            (AttackConfig(student: StudentSpec(loss: LossSpec("mse"))), "student.loss"),
            (AttackConfig(budget: .queries([100, 100])), "budget.milestones"),
            (AttackConfig(budget: .queries([])), "budget.milestones"),
            (AttackConfig(budget: AttackBudget(unit: .queries, milestones: [10.5])), "budget.milestones"),
            (AttackConfig(roundSize: 0), "round_size"),
        ]
        for (config, key) in invalid {
            XCTAssertEqual(ExtractionFixture.invalidKey { try config.validate() }, key, config.summary)
        }
    }

    func testChecksThatNeedTheTeacherHappenBeforeAnySpending() throws {
        let teacher = try ExtractionFixture.teacher(V: 8, contextLength: 16)
        var c = ExtractionFixture.config(
            strategy: .randomTokens, harvest: .completion(maxNewTokens: 12), budget: .queries([10]))
        c.promptLength = 2...8  // 8 + 12 > 16
        let attack = Attack(config: c, target: ExtractionFixture.target(teacher))
        XCTAssertEqual(ExtractionFixture.invalidKey { try attack.run() }, "prompt_length")
        XCTAssertNil(attack.api)
        c = ExtractionFixture.config(strategy: .randomTokens, harvest: .distribution, budget: .queries([10]))
        c.student.width = nil
        XCTAssertEqual(
            ExtractionFixture.invalidKey { try Attack(config: c, target: ExtractionFixture.target(teacher)).run() },
            "student.width")
        c = ExtractionFixture.config(strategy: .randomTokens, harvest: .topK(30), budget: .queries([10]))
        XCTAssertEqual(
            ExtractionFixture.invalidKey { try Attack(config: c, target: ExtractionFixture.target(teacher)).run() },
            "harvest.top_k.k")
    }

    func testRegistriesDocumentEveryPart() {
        for names in [StrategyRegistry.names, HarvestRegistry.names] {
            XCTAssertEqual(Set(names).count, names.count, "a name registered twice: \(names)")
        }
        for name in StrategyRegistry.names + HarvestRegistry.names {
            XCTAssertTrue((StrategyRegistry.documentation + HarvestRegistry.documentation).contains("`\(name)`"), name)
        }
    }

    func testSameSeedSameCurve() throws {
        let teacher = try ExtractionFixture.teacher()
        let c = ExtractionFixture.config(
            strategy: .active(poolFactor: 2), harvest: .topK(3), budget: .queries([20, 40]))
        let a = try c.run(against: ExtractionFixture.target(teacher)),
            b = try c.run(against: ExtractionFixture.target(teacher))
        XCTAssertEqual(a.points.map(\.fidelity), b.points.map(\.fidelity))
        XCTAssertEqual(a.points.map(\.cost.queries), b.points.map(\.cost.queries))
    }
}
