// The `watermark` kind: KGW calibration and power behind an experiment file — its section validated before any
// work, and a tiny run whose false-positive rate on clean teacher text matches the exact binomial null, and so
// sits beside the normal tail, while watermarked text is detected.
import Foundation
import LabCore
import XCTest

@testable import LabExperiments

final class WatermarkKindTests: XCTestCase {
    /// A barely trained teacher over V = 63 (62 Markov symbols; near-uniform, so high entropy), 600 clean
    /// and 50 watermarked texts of 23 tokens after a 1-token prompt, a fresh key per text, tuples scored once.
    static let file = """
        experiment: tiny-watermark
        kind: watermark
        seeds: [0]
        teacher:
          corpus: {kind: markov, symbols: 62, order: 1, train_tokens: 3000, validation_tokens: 400, test_tokens: 400}
          model: {context_length: 24, width: 16, layers: 1, heads: 2}
          training: {steps: 8, batch_size: 4, eval_interval: 0}
        watermark:
          gamma: 0.25
          length: 23
          prompt_length: 1
          clean_texts: 600
          watermarked_texts: 50
          keys: per_text
          deduplicate: true
          deltas: [4]
        tables:
          - rows: delta
            values: [rate_z2, binomial_null_z2, normal_tail_z2]
        """

    /// Under a fresh key per text, with each tuple scored once, a clean text's green count is at most as
    /// spread as Binomial(T, γ) (green lists have exactly ⌊γV⌋ members: hypergeometric within a context), so
    /// the count of clean texts with z ≥ 2 is Binomial(600, q) with q ≤ the exact null rate p, and q ≈ p when
    /// few tuples share a context (23 tokens over 62 contexts). The test allows |count − 600p| ≤ 4·sd + 2: a
    /// false failure has probability about 6e-5 (a 4-sd binomial deviation), and the hypergeometric deficit is
    /// ≪ 1 sd at V = 63. Power: at δ = 4 on a near-uniform teacher the expected green share is ≈ 0.94 against
    /// γ ≈ 0.24, z ≈ 7.7; a text below z = 2 needs ≥ 9 of 23 tokens red, probability ≈ 1e-7 each, so all 50
    /// are detected.
    func testCleanTextFalsePositivesMatchTheBinomialNullAndWatermarksAreDetected() throws {
        let e = try Experiment.parse(Self.file)
        XCTAssertEqual(e.curveAxis, "delta")
        let scratch = Scratch("watermark")
        try e.runQuietly(out: scratch.dir("a"), cache: scratch.dir("cache"))
        let data = try Data(contentsOf: scratch.dir("a").appendingPathComponent("results.json"))
        let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let cell = try XCTUnwrap((json?["cells"] as? [[String: Any]])?.first)
        let curve = try XCTUnwrap(cell["curve"] as? [[String: Any]])
        XCTAssertEqual(curve.map { $0["label"] as? String }, ["0", "4"])
        let clean = try XCTUnwrap(curve[0]["metrics"] as? [String: Any]),
            marked = try XCTUnwrap(curve[1]["metrics"] as? [String: Any])
        // A near-uniform teacher over 63 tokens: entropy near ln 63 = 4.14 nats.
        XCTAssertGreaterThan(try XCTUnwrap(clean["mean_entropy"] as? Double), 3.5)
        let fpr = try XCTUnwrap(clean["rate_z2"] as? Double), p = try XCTUnwrap(clean["binomial_null_z2"] as? Double)
        let normal = try XCTUnwrap(clean["normal_tail_z2"] as? Double)
        let count = fpr * 600, expected = p * 600, sd = (600 * p * (1 - p)).squareRoot()
        print("z ≥ 2: \(Int(count)) of 600 clean texts; exact null \(expected), normal tail \(normal * 600)")
        XCTAssertLessThan(abs(count - expected), 4 * sd + 2)
        // The reported interval brackets the measured rate.
        XCTAssertLessThanOrEqual(try XCTUnwrap(clean["rate_z2_low"] as? Double), fpr)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(clean["rate_z2_high"] as? Double), fpr)
        XCTAssertEqual(try XCTUnwrap(marked["rate_z2"] as? Double), 1)
        XCTAssertGreaterThan(
            try XCTUnwrap(marked["green_fraction"] as? Double), try XCTUnwrap(clean["green_fraction"] as? Double))
    }

    func testTheWatermarkSectionIsValidatedBeforeAnyWork() throws {
        func error(_ replace: String, with text: String) -> ExperimentError? {
            validationError(Self.file.replacingOccurrences(of: replace, with: text))
        }
        let typo = try XCTUnwrap(error("  deltas: [4]", with: "  detlas: [4]"))
        XCTAssertEqual(typo.key, "watermark.detlas")
        XCTAssertEqual(typo.line, 16)
        XCTAssertTrue(typo.fix?.contains("did you mean 'deltas'?") ?? false, typo.description)
        let length = try XCTUnwrap(error("length: 23", with: "length: 24"))
        XCTAssertEqual(length.key, "watermark.length")
        XCTAssertEqual(length.line, 10)
        XCTAssertTrue(length.message.contains("allowed range 1...23"), length.message)
        let gamma = try XCTUnwrap(error("gamma: 0.25", with: "gamma: 1.5"))
        XCTAssertEqual(gamma.key, "watermark.gamma")
        let keys = try XCTUnwrap(error("keys: per_text", with: "keys: per_txt"))
        XCTAssertEqual(keys.key, "watermark.keys")
        XCTAssertTrue(keys.message.contains("per_text"), keys.message)
        let twice = try XCTUnwrap(error("deltas: [4]", with: "deltas: [4, 4]"))
        XCTAssertEqual(twice.key, "watermark.deltas.1")
        let zero = try XCTUnwrap(error("deltas: [4]", with: "deltas: [0]"))
        XCTAssertEqual(zero.key, "watermark.deltas.0")
        let none = try XCTUnwrap(
            error("clean_texts: 600\n  watermarked_texts: 50", with: "clean_texts: 0\n  watermarked_texts: 0"))
        XCTAssertEqual(none.key, "watermark.clean_texts")
        let order = try XCTUnwrap(error("keys: per_text", with: "keys: per_text\n  bias_order: before"))
        XCTAssertEqual(order.key, "watermark.bias_order")
        XCTAssertTrue(order.message.contains("after_temperature"), order.message)
        let width = try XCTUnwrap(error("prompt_length: 1", with: "prompt_length: 1\n  context_width: 2"))
        XCTAssertEqual(width.key, "watermark.context_width")
    }
}
