// The `attack` kind: LabAttacks' extraction run behind an experiment file — its sections validated before any
// work (its own keys, the prompt room in the context, a first budget milestone that buys a query), and a run
// whose anytime curve becomes one row per milestone, identical between identical runs.
import Foundation
import LabCore
import LabExperiments
import XCTest

final class AttackKindTests: XCTestCase {
    static let file = """
        experiment: tiny-attack
        kind: attack
        seeds: [0]
        \(Tiny.teacher)
        attack:
          harvest: distribution
          student: {width: 8, layers: 1, heads: 1, batch_size: 8, min_steps: 5, max_steps: 20}
          budget: {unit: queries, milestones: [8, 16]}
          prompt_length: [1, 4]
          round_size: 8
          evaluation: {prompts: 8, perplexity_tokens: 64}
        grid:
          defences:
            none: []
            top-2: [{top_k: {k: 2}}]
        tables:
          - rows: budget
            columns: defences
            values: agreement
        plots:
          - x: queries
            y: kl_teacher_student
            series: defences
        """

    func testAttackCellsBecomeCurvesAndRepeatExactly() throws {
        let e = try Experiment.parse(Self.file)
        XCTAssertEqual(e.cells.count, 2)
        XCTAssertEqual(e.curveAxis, "budget")
        let scratch = Scratch("attack")
        try e.runQuietly(out: scratch.dir("a"), cache: scratch.dir("cache"))
        try e.runQuietly(out: scratch.dir("b"), cache: scratch.dir("cache"))
        let a = try Data(contentsOf: scratch.dir("a").appendingPathComponent("results.json"))
        XCTAssertEqual(
            a, try Data(contentsOf: scratch.dir("b").appendingPathComponent("results.json")),
            "an attack cell repeats bit for bit")
        let json = try JSONSerialization.jsonObject(with: a) as? [String: Any]
        for cell in try XCTUnwrap(json?["cells"] as? [[String: Any]]) {
            let curve = try XCTUnwrap(cell["curve"] as? [[String: Any]])
            XCTAssertEqual(curve.map { $0["label"] as? String }, ["8", "16"])
            for point in curve {
                let costs = try XCTUnwrap(point["costs"] as? [String: Double])
                XCTAssertEqual(
                    costs["queries"], Double(point["label"] as? String ?? ""),
                    "the ledger charges exactly the milestone")
                let agreement = try XCTUnwrap((point["metrics"] as? [String: Any])?["agreement"] as? Double)
                XCTAssertTrue((0...1).contains(agreement))
            }
        }
        let table = try String(contentsOf: scratch.dir("a").appendingPathComponent("table.md"), encoding: .utf8)
        XCTAssertTrue(table.contains("| budget | none | top-2 |"), table)
    }

    func testAttackSectionsAreValidatedBeforeAnyWork() throws {
        func error(_ replace: String, with text: String) -> ExperimentError? {
            validationError(Self.file.replacingOccurrences(of: replace, with: text))
        }
        let cheap = try XCTUnwrap(
            error(
                "budget: {unit: queries, milestones: [8, 16]}",
                with: "budget: {unit: dollars, milestones: [0.0000000001, 1]}"))
        XCTAssertEqual(cheap.key, "attack.budget.milestones.0")
        XCTAssertTrue(cheap.message.contains("below one query"), cheap.message)
        XCTAssertEqual(cheap.line, 11)
        let room = try XCTUnwrap(error("prompt_length: [1, 4]", with: "prompt_length: [1, 40]"))
        XCTAssertEqual(room.key, "attack.prompt_length")
        XCTAssertTrue(room.message.contains("allowed range 1..."), room.message)
        let typo = try XCTUnwrap(error("student: {width: 8,", with: "student: {widht: 8,"))
        XCTAssertEqual(typo.key, "attack.student.widht")
        XCTAssertEqual(typo.line, 10)
        let heads = try XCTUnwrap(
            error("student: {width: 8, layers: 1, heads: 1,", with: "student: {width: 8, layers: 1, heads: 3,"))
        XCTAssertTrue(heads.key.hasPrefix("attack.student.heads"), heads.description)
        let seed = try XCTUnwrap(error("harvest: distribution", with: "harvest: distribution\n  seed: 4"))
        XCTAssertTrue(seed.message.contains("from `seeds`"), seed.message)
        let harvest = try XCTUnwrap(error("harvest: distribution", with: "harvest: distributon"))
        XCTAssertTrue(harvest.key.hasPrefix("attack.harvest"), harvest.description)
    }
}
