// The `reasoning` kind: its section validated before any work (a teacher that does not think, unknown keys,
// contexts too short for a traced problem), and a tiny run whose rows carry the teacher's think / no-think
// accuracy, the honest user's cost and one student point per query milestone.
import Foundation
import LabCore
import LabExperiments
import XCTest

final class ReasoningKindTests: XCTestCase {
    static let file = """
        experiment: tiny-reasoning
        kind: reasoning
        seeds: [0]
        teacher:
          corpus: {kind: tasks, task: addition_steps, digits: 1, train_tokens: 3000, validation_tokens: 300, test_tokens: 300}
          model: {context_length: 20, width: 16, layers: 1, heads: 2}
          training: {steps: 10, batch_size: 8, eval_interval: 0}
        reasoning:
          milestones: [8, 16]
          round_size: 8
          width: 16
          layers: 1
          heads: 2
          context_length: 20
          steps: 3
          batch_size: 4
          evaluation_problems: 10
        grid:
          reasoning.trace_policy: [full, hidden]
        tables:
          - rows: reasoning.trace_policy
            columns: queries
            values: student_accuracy
        """

    func testSectionIsValidatedBeforeAnyWork() throws {
        func error(_ replace: String, with text: String) -> ExperimentError? {
            validationError(Self.file.replacingOccurrences(of: replace, with: text))
        }
        let markov = try XCTUnwrap(
            error("{kind: tasks, task: addition_steps, digits: 1,", with: "{kind: tasks, task: addition, digits: 1,"))
        XCTAssertTrue(markov.message.contains("not a traced task"), markov.description)
        let typo = try XCTUnwrap(error("  round_size: 8", with: "  round_sise: 8"))
        XCTAssertTrue(typo.description.contains("round_sise"), typo.description)
        let short = try XCTUnwrap(error("  context_length: 20\n  steps", with: "  context_length: 10\n  steps"))
        XCTAssertEqual(short.key, "reasoning.context_length")
        let policy = try XCTUnwrap(error("[full, hidden]", with: "[full, secret]"))
        XCTAssertTrue(policy.description.contains("secret"), policy.description)
        let seed = try XCTUnwrap(error("  milestones: [8, 16]", with: "  milestones: [8, 16]\n  seed: 3"))
        XCTAssertEqual(seed.key, "reasoning.seed")
    }

    func testTinyRunReportsTeacherPolicyAndStudentPoints() throws {
        let e = try Experiment.parse(Self.file)
        XCTAssertEqual(e.cells.count, 2)
        XCTAssertEqual(e.curveAxis, "queries")
        let scratch = Scratch("reasoning-kind")
        try e.runQuietly(out: scratch.dir("out"), cache: scratch.dir("cache"))
        let data = try Data(contentsOf: scratch.dir("out").appendingPathComponent("results.json"))
        let cells = try XCTUnwrap(
            (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["cells"] as? [[String: Any]])
        for policy in ["full", "hidden"] {
            let cell = try XCTUnwrap(
                cells.first { ($0["labels"] as? [String: String])?["reasoning.trace_policy"] == policy })
            let metrics = try XCTUnwrap(cell["metrics"] as? [String: Any])
            XCTAssertNotNil(metrics["teacher_think_accuracy"] as? Double)
            if policy == "hidden" { XCTAssertEqual(metrics["trace_shown_fraction"] as? Double, 0) }
            let curve = try XCTUnwrap(cell["curve"] as? [[String: Any]])
            XCTAssertEqual(curve.map { $0["label"] as? String }, ["8", "16"])
        }
    }
}
