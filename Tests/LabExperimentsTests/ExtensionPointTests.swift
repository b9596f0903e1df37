// The extension point: a kind defined outside the library (here the toy attack kind, standing in for issue 4's
// `attack`) is one type plus one entry in the kinds list, and gets validation, grid, seeds, resume, tables,
// plots and reports with no other change.
import Foundation
import LabCore
import LabExperiments
import XCTest

final class ExtensionPointTests: XCTestCase {
    static let file = """
    experiment: toy-attack
    kind: toy_attack
    seeds: [0, 1]
    \(Tiny.teacher)
    api: {policy: {max_logprobs: 5}, prices: {input_dollars_per_million: 0.15, output_dollars_per_million: 0.60}}
    attack: {budget: {queries: 8}, prompt_length: 4}
    grid:
      defences:
        none: []
        label-only: [label_only]
        noise: [{gaussian_noise: {scale: 0.5}}]
      attack.budget.queries: [4, 16]
    tables:
      - rows: defences
        columns: attack.budget.queries
        values: label_agreement
    plots:
      - x: queries
        y: label_agreement
        series: defences
    """

    func testAToyAttackKindRunsThroughTheWholeRunner() throws {
        let kinds: [any ExperimentKind.Type] = ExperimentRegistry.kinds + [ToyAttackKind.self]
        let e = try Experiment.parse(Self.file, kinds: kinds)
        XCTAssertEqual(e.cells.count, 3 * 2 * 2)
        let scratch = Scratch("toy")
        let summary = try e.runQuietly(out: scratch.dir("out"), cache: scratch.dir("cache"))
        XCTAssertEqual(summary.missing, 0)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: scratch.dir("out").appendingPathComponent("results.json"))) as? [String: Any]
        let cells = try XCTUnwrap(json?["cells"] as? [[String: Any]])
        for cell in cells {
            let labels = try XCTUnwrap(cell["labels"] as? [String: String])
            let costs = try XCTUnwrap(cell["costs"] as? [String: Double])
            XCTAssertEqual(costs["queries"], Double(labels["attack.budget.queries"] ?? ""), "the ledger stops at the budget")
            XCTAssertEqual(costs["tokens"], (costs["queries"] ?? 0) * 5, "4 prompt tokens + 1 label each")
            let metrics = try XCTUnwrap(cell["metrics"] as? [String: Double])
            if labels["defences"] != "noise" { XCTAssertEqual(metrics["label_agreement"], 1, "undefended and label-only answers are the teacher's top-1") }
        }
        let table = try String(contentsOf: scratch.dir("out").appendingPathComponent("table.md"), encoding: .utf8)
        XCTAssertTrue(table.contains("attack.budget.queries = 16"), table)
        // The kind's own section is closed like every other.
        let typo = try XCTUnwrap(validationError(Self.file.replacingOccurrences(of: "prompt_length: 4}", with: "prompt_lenght: 4}"), kinds: kinds))
        XCTAssertTrue(typo.fix?.contains("did you mean 'prompt_length'?") ?? false, typo.description)
        // Without the registry line, the kind's own section is an unknown key, and its name an unknown kind.
        XCTAssertEqual(validationError(Self.file)?.key, "attack")
        XCTAssertTrue(validationError("experiment: x\nkind: toy_attack\n")?.message.contains("unknown experiment kind 'toy_attack'") ?? false)
    }
}
