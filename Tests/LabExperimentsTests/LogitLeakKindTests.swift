// The `logit_leak` kind: Carlini et al.'s width attack behind an experiment file — its section validated before
// any work (unknown keys located, impossible values named with their range), and a run that recovers the exact
// hidden width of tiny random teachers at the ledger's price, with the paper's mitigation refusing the top-k route.
import Foundation
import LabCore
import LabExperiments
import XCTest

final class LogitLeakKindTests: XCTestCase {
    /// Random teachers of width 8 and 16 over V = 64 (1 layer), 40 noise-free vectors each, bought as full
    /// distributions or as top-8 logprobs with a logit bias; bias allowed or refused with logprobs.
    static let file = """
        experiment: tiny-logit-leak
        kind: logit_leak
        seeds: [0, 1]
        logit_leak:
          teacher: {width: 8, vocab_size: 64, layers: 1, context_length: 12}
          harvest: {mode: full, vectors: 40, prompt_length: 5, top_k: 8}
        grid:
          logit_leak.teacher.width: [8, 16]
          logit_leak.harvest.mode: [full, topk-bias]
          api.policy.logit_bias: [allowed, refused_with_logprobs]
        tables:
          - rows: [logit_leak.teacher.width, logit_leak.harvest.mode]
            columns: api.policy.logit_bias
            values: recovered_width
        """

    func testTheKindRecoversTheExactWidthAtTheLedgersPriceAndRefusalBlocksTopKBias() throws {
        let e = try Experiment.parse(Self.file)
        XCTAssertEqual(e.cells.count, 16)
        let scratch = Scratch("logit-leak")
        try e.runQuietly(out: scratch.dir("a"), cache: scratch.dir("cache"))
        let data = try Data(contentsOf: scratch.dir("a").appendingPathComponent("results.json"))
        let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let cells = try XCTUnwrap(json?["cells"] as? [[String: Any]])
        XCTAssertEqual(cells.count, 16)
        for cell in cells {
            let labels = try XCTUnwrap(cell["labels"] as? [String: String])
            let metrics = try XCTUnwrap(cell["metrics"] as? [String: Any])
            let costs = try XCTUnwrap(cell["costs"] as? [String: Double])
            let width = try XCTUnwrap(Double(labels["logit_leak.teacher.width"] ?? ""))
            let topKBias = labels["logit_leak.harvest.mode"] == "topk-bias"
            if topKBias, labels["api.policy.logit_bias"] == "refused_with_logprobs" {
                // The paper's mitigation: the first call is refused, nothing is charged, nothing is learnt.
                XCTAssertEqual(metrics["refused"] as? Double, 1, "\(labels)")
                XCTAssertEqual(metrics["width_exact"] as? Double, 0)
                XCTAssertEqual(costs["queries"], 0)
                continue
            }
            // Noise-free Float32 logits: the exact width, always.
            XCTAssertEqual(metrics["recovered_width"] as? Double, width, "\(labels)")
            XCTAssertEqual(metrics["width_exact"] as? Double, 1)
            XCTAssertLessThan(try XCTUnwrap(metrics["rms_error"] as? Double), 1e-4, "\(labels)")
            // ⌈(V − 1)/(k − 1)⌉ = ⌈63/7⌉ = 9 queries per vector with the bias, else 1; the ledger charges exactly that.
            let perVector: Double = topKBias ? 9 : 1
            XCTAssertEqual(costs["queries_per_vector"], perVector)
            XCTAssertEqual(costs["queries"], 40 * perVector, "\(labels)")
        }
    }

    func testTheLogitLeakSectionIsValidatedBeforeAnyWork() throws {
        func error(_ replace: String, with text: String) -> ExperimentError? {
            validationError(Self.file.replacingOccurrences(of: replace, with: text))
        }
        let typo = try XCTUnwrap(error("teacher: {width: 8,", with: "teacher: {widht: 8,"))
        XCTAssertEqual(typo.key, "logit_leak.teacher.widht")
        XCTAssertEqual(typo.line, 5)
        XCTAssertTrue(typo.fix?.contains("did you mean 'width'?") ?? false, typo.description)
        let unknown = try XCTUnwrap(error("harvest: {mode: full,", with: "harvest: {mode: full, vectros: 3,"))
        XCTAssertEqual(unknown.key, "logit_leak.harvest.vectros")
        XCTAssertTrue(unknown.fix?.contains("did you mean 'vectors'?") ?? false, unknown.description)
        let vectors = try XCTUnwrap(error("vectors: 40", with: "vectors: 1"))
        XCTAssertEqual(vectors.key, "logit_leak.harvest.vectors")
        XCTAssertEqual(vectors.line, 6)
        let mode = try XCTUnwrap(error("mode: [full, topk-bias]", with: "mode: [full, topk-bais]"))
        XCTAssertEqual(mode.key, "logit_leak.harvest.mode")
        XCTAssertEqual(mode.line, 9)
        XCTAssertTrue(mode.message.contains("topk-bias"), mode.message)
        let heads = try XCTUnwrap(error("layers: 1,", with: "layers: 1, heads: 3,"))
        XCTAssertEqual(heads.key, "logit_leak.teacher.heads")
        XCTAssertTrue(heads.message.contains("divisor of 8"), heads.message)
        let topK = try XCTUnwrap(error("top_k: 8}", with: "top_k: 80}"))
        XCTAssertEqual(topK.key, "logit_leak.harvest.top_k")
        XCTAssertTrue(topK.message.contains("allowed range 2...64"), topK.message)
        let room = try XCTUnwrap(error("prompt_length: 5", with: "prompt_length: 12"))
        XCTAssertEqual(room.key, "logit_leak.harvest.prompt_length")
        let seed = try XCTUnwrap(error("top_k: 8}", with: "top_k: 8, seed: 3}"))
        XCTAssertTrue(seed.message.contains("from `seeds`"), seed.message)
        // A swept value out of range is reported at its place in the grid.
        let swept = try XCTUnwrap(error("width: [8, 16]", with: "width: [8, 0]"))
        XCTAssertEqual(swept.key, "logit_leak.teacher.width")
        XCTAssertEqual(swept.line, 8)
        let section = try XCTUnwrap(error("logit_leak:\n", with: "teacher: {corpus: {kind: markov}}\nlogit_leak:\n"))
        XCTAssertEqual(section.key, "teacher")
    }
}
