// The `anti_distillation` kind: its section validated before any work (unknown keys and defences, ranges,
// located at file:line), and a tiny run in which heavy antidistillation sampling does what it is for — the
// student trained on its text ends worse than the student trained on the undefended teacher's text. (The
// nasty teacher's objective and training have their own tests in LabSimulationTests.)
import Foundation
import LabCore
import LabExperiments
import XCTest

final class AntiDistillationKindTests: XCTestCase {
    static let file = """
        experiment: tiny-anti-distillation
        kind: anti_distillation
        seeds: [0]
        teacher:
          corpus: {kind: markov, symbols: 8, order: 1, concentration: 0.3, train_tokens: 3000, validation_tokens: 300, test_tokens: 300}
          model: {context_length: 24, width: 16, layers: 1, heads: 2}
          training: {steps: 40, batch_size: 8, learning_rate: 0.01, eval_interval: 0}
        anti_distillation:
          texts: {prompts: 16, prompt_length: 2, completion_tokens: 22}
          proxy: {context_length: 8, width: 8, layers: 1, heads: 1, steps: 20}
          target_tokens: 128
          student: {context_length: 8, width: 8, layers: 1, heads: 1, steps: 40}
        grid:
          anti_distillation.defence:
            none: none
            sampling: {antidistillation: {lambda: 64}}
        tables:
          - rows: anti_distillation.defence
            values: [teacher_test_loss, text_source_nll, soft_student_loss, text_student_loss]
        """

    func testSectionIsValidatedBeforeAnyWork() throws {
        func error(_ replace: String, with text: String) -> ExperimentError? {
            validationError(Self.file.replacingOccurrences(of: replace, with: text))
        }
        let typo = try XCTUnwrap(error("  student: {context_length", with: "  studnet: {context_length"))
        XCTAssertEqual(typo.key, "anti_distillation.studnet")
        XCTAssertEqual(typo.line, 12)
        XCTAssertTrue(typo.fix?.contains("student") ?? false, typo.description)
        let heads = try XCTUnwrap(
            error(
                "student: {context_length: 8, width: 8, layers: 1, heads: 1,",
                with: "student: {context_length: 8, width: 8, layers: 1, heads: 3,"))
        XCTAssertEqual(heads.key, "anti_distillation.student.heads")
        XCTAssertEqual(heads.line, 12)
        let room = try XCTUnwrap(error("completion_tokens: 22", with: "completion_tokens: 23"))
        XCTAssertEqual(room.key, "anti_distillation.texts.completion_tokens")
        XCTAssertTrue(room.message.contains("allowed range 1...22"), room.message)
        let unknown = try XCTUnwrap(error("none: none", with: "none: {nasty_teachr: {weight: 0.004}}"))
        XCTAssertTrue(unknown.message.contains("unknown defence 'nasty_teachr'"), unknown.description)
        XCTAssertTrue(unknown.fix?.contains("nasty_teacher") ?? false, unknown.description)
        XCTAssertEqual(unknown.line, 15)
        let weight = try XCTUnwrap(error("none: none", with: "none: {nasty_teacher: {weight: -1}}"))
        XCTAssertTrue(weight.key.hasPrefix("anti_distillation.defence"), weight.description)
        XCTAssertTrue(weight.message.contains("ω must be ≥ 0"), weight.message)
        let parameter = try XCTUnwrap(
            error("{antidistillation: {lambda: 64}}", with: "{antidistillation: {lamda: 64}}"))
        XCTAssertTrue(parameter.key.hasSuffix("lamda"), parameter.description)
    }

    func testHeavySamplingPenaltyPoisonsTheTextStudent() throws {
        let e = try Experiment.parse(Self.file)
        XCTAssertEqual(e.cells.count, 2)
        let scratch = Scratch("anti-distillation")
        try e.runQuietly(out: scratch.dir("out"), cache: scratch.dir("cache"))
        let data = try Data(contentsOf: scratch.dir("out").appendingPathComponent("results.json"))
        let cells = try XCTUnwrap(
            (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["cells"] as? [[String: Any]])
        func metrics(_ defence: String) throws -> [String: Any] {
            let cell = try XCTUnwrap(
                cells.first { ($0["labels"] as? [String: String])?["anti_distillation.defence"] == defence })
            return try XCTUnwrap(cell["metrics"] as? [String: Any])
        }
        let none = try metrics("none"), sampling = try metrics("sampling")
        func value(_ m: [String: Any], _ key: String) throws -> Double { try XCTUnwrap(m[key] as? Double, key) }
        // λ = 64 moves the sampled text far from the source and the text student with it.
        XCTAssertGreaterThan(try value(sampling, "text_source_nll"), try value(none, "text_source_nll") + 0.2)
        XCTAssertGreaterThan(try value(sampling, "text_student_loss"), try value(none, "text_student_loss") + 0.1)
        // Sampling leaves the weights alone and trains no soft-label student; the undefended cell has one.
        XCTAssertEqual(try value(sampling, "teacher_test_loss"), try value(none, "teacher_test_loss"), accuracy: 1e-12)
        XCTAssertTrue(sampling["soft_student_loss"] is NSNull || sampling["soft_student_loss"] == nil)
        XCTAssertTrue((0...1).contains(try value(none, "soft_student_accuracy")))
    }
}
