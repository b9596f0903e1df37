// The `radioactivity` kind: its section validated before any work (unknown keys, ranges, located at
// file:line), and a tiny dose-response in which a student trained only on watermarked text is caught by a
// p-value far below a clean student's, while keys it never saw stay unremarkable.
import Foundation
import LabCore
import LabExperiments
import XCTest

final class RadioactivityKindTests: XCTestCase {
    static let file = """
        experiment: tiny-radioactivity
        kind: radioactivity
        seeds: [0]
        teacher:
          corpus: {kind: markov, symbols: 24, order: 1, concentration: 1, train_tokens: 4000, validation_tokens: 400, test_tokens: 400}
          model: {context_length: 32, width: 16, layers: 1, heads: 2}
          training: {steps: 20, batch_size: 8, eval_interval: 0}
        radioactivity:
          watermark: {gamma: 0.25, delta: 4, context_width: 1}
          training_tokens: 1500
          text_tokens: 31
          scored_texts: 8
          null_keys: 20
          student: {context_length: 16, width: 16, layers: 1, heads: 2, steps: 50, batch_size: 8, learning_rate: 0.02}
        grid:
          radioactivity.dose: [0, 1]
        tables:
          - rows: radioactivity.dose
            columns: test
            values: log10_p
        """

    func testSectionIsValidatedBeforeAnyWork() throws {
        func error(_ replace: String, with text: String) -> ExperimentError? {
            validationError(Self.file.replacingOccurrences(of: replace, with: text))
        }
        let typo = try XCTUnwrap(error("  null_keys: 20", with: "  null_kyes: 20"))
        XCTAssertEqual(typo.key, "radioactivity.null_kyes")
        XCTAssertEqual(typo.line, 13)
        XCTAssertTrue(typo.fix?.contains("null_keys") ?? false, typo.description)
        let dose = try XCTUnwrap(error("radioactivity.dose: [0, 1]", with: "radioactivity.dose: [0, 1.5]"))
        XCTAssertEqual(dose.key, "radioactivity.dose")
        XCTAssertTrue(dose.message.contains("allowed range 0...1"), dose.message)
        let gamma = try XCTUnwrap(error("gamma: 0.25", with: "gamma: 1.5"))
        XCTAssertEqual(gamma.key, "radioactivity.watermark.gamma")
        XCTAssertEqual(gamma.line, 9)
        let room = try XCTUnwrap(error("text_tokens: 31", with: "text_tokens: 32"))
        XCTAssertEqual(room.key, "radioactivity.text_tokens")
        XCTAssertTrue(room.message.contains("allowed range 1...31"), room.message)
        let width = try XCTUnwrap(
            error("student: {context_length: 16, width: 16,", with: "student: {context_length: 16, width: 0,"))
        XCTAssertEqual(width.key, "radioactivity.student.width")
    }

    func testFullyWatermarkedStudentIsCaughtAndCleanOneIsNot() throws {
        let e = try Experiment.parse(Self.file)
        XCTAssertEqual(e.cells.count, 2)
        XCTAssertEqual(e.curveAxis, "test")
        let scratch = Scratch("radioactivity")
        try e.runQuietly(out: scratch.dir("out"), cache: scratch.dir("cache"))
        let data = try Data(contentsOf: scratch.dir("out").appendingPathComponent("results.json"))
        let cells = try XCTUnwrap(
            (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["cells"] as? [[String: Any]])
        func point(dose: String, _ test: String) throws -> [String: Any] {
            let cell = try XCTUnwrap(cells.first { ($0["labels"] as? [String: String])?["radioactivity.dose"] == dose })
            let curve = try XCTUnwrap(cell["curve"] as? [[String: Any]])
            XCTAssertEqual(
                curve.map { $0["label"] as? String },
                ["reading-dedup", "reading-all", "generation-dedup", "generation-all"])
            return try XCTUnwrap(curve.first { $0["label"] as? String == test }?["metrics"] as? [String: Any])
        }
        func value(_ m: [String: Any], _ key: String) throws -> Double { try XCTUnwrap(m[key] as? Double, key) }
        for test in ["reading-dedup", "generation-dedup"] {
            let clean = try point(dose: "0", test), marked = try point(dose: "1", test)
            // δ = 4 on a flat source makes most served tokens green; a student of nothing else reproduces that.
            XCTAssertLessThan(try value(marked, "p_value"), 1e-4, test)
            XCTAssertGreaterThan(try value(clean, "p_value"), 1e-3, test)
            XCTAssertGreaterThan(try value(marked, "green_fraction"), try value(clean, "green_fraction") + 0.1, test)
            // 20 unseen keys: the fully marked student is no more green under them than chance allows.
            XCTAssertLessThanOrEqual(try value(marked, "null_below_01"), 0.15, test)
        }
    }
}
