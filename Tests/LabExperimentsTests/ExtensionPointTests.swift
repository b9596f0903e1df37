// The extension point: a kind defined outside the library (here the toy attack kind, shaped like the
// `attack` kind) is one type plus one entry in the kinds list, and gets validation, grid, seeds, resume, tables,
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
          - rows: queries_bought
            columns: defences
            values: label_agreement
            where: {attack.budget.queries: "16"}
        plots:
          - x: queries
            y: label_agreement
            series: defences
            where: {attack.budget.queries: "16"}
        """

    func testAToyAttackKindRunsThroughTheWholeRunner() throws {
        let kinds: [any ExperimentKind.Type] = ExperimentRegistry.kinds + [ToyAttackKind.self]
        let e = try Experiment.parse(Self.file, kinds: kinds)
        XCTAssertEqual(e.cells.count, 3 * 2 * 2)
        let scratch = Scratch("toy")
        let summary = try e.runQuietly(out: scratch.dir("out"), cache: scratch.dir("cache"))
        XCTAssertEqual(summary.missing, 0)
        let json =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: scratch.dir("out").appendingPathComponent("results.json"))) as? [String: Any]
        let cells = try XCTUnwrap(json?["cells"] as? [[String: Any]])
        for cell in cells {
            let labels = try XCTUnwrap(cell["labels"] as? [String: String])
            let costs = try XCTUnwrap(cell["costs"] as? [String: Double])
            XCTAssertEqual(
                costs["queries"], Double(labels["attack.budget.queries"] ?? ""), "the ledger stops at the budget")
            XCTAssertEqual(costs["tokens"], (costs["queries"] ?? 0) * 5, "4 prompt tokens + 1 label each")
            let metrics = try XCTUnwrap(cell["metrics"] as? [String: Double])
            if labels["defences"] != "noise" {
                XCTAssertEqual(
                    metrics["label_agreement"], 1, "undefended and label-only answers are the teacher's top-1")
            }
            // The anytime curve: a point at 2, 4, 8, … queries, each with the ledger's count at that point.
            let curve = try XCTUnwrap(cell["curve"] as? [[String: Any]])
            let expected = labels["attack.budget.queries"] == "16" ? ["2", "4", "8", "16"] : ["2", "4"]
            XCTAssertEqual(curve.map { $0["label"] as? String }, expected)
            for point in curve {
                XCTAssertEqual(
                    (point["costs"] as? [String: Double])?["queries"], Double(point["label"] as? String ?? ""))
            }
        }
        let table = try String(contentsOf: scratch.dir("out").appendingPathComponent("table.md"), encoding: .utf8)
        XCTAssertTrue(table.contains("| queries_bought | none | label-only | noise |"), table)
        XCTAssertTrue(table.contains("| 16 | 1.000 | 1.000 |"), table)
        let csv = try String(contentsOf: scratch.dir("out").appendingPathComponent("results.csv"), encoding: .utf8)
        XCTAssertEqual(csv.split(separator: "\n").count, 1 + 3 * 2 * (2 + 4), "one CSV row per curve point")
        let svg = try String(contentsOf: scratch.dir("out").appendingPathComponent("plot-1.svg"), encoding: .utf8)
        XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 3, "one curve per defence")
        // The kind's own section is closed like every other.
        let typo = try XCTUnwrap(
            validationError(
                Self.file.replacingOccurrences(of: "prompt_length: 4}", with: "prompt_lenght: 4}"), kinds: kinds))
        XCTAssertTrue(typo.fix?.contains("did you mean 'prompt_length'?") ?? false, typo.description)
        // A table that leaves the curve axis out is refused like any unplaced axis.
        let unplaced = try XCTUnwrap(
            validationError(
                Self.file.replacingOccurrences(of: "rows: queries_bought", with: "rows: seed"), kinds: kinds))
        XCTAssertTrue(unplaced.message.contains("leaves axis 'queries_bought'"), unplaced.message)
        // Without the registry line, the kind is unknown.
        XCTAssertTrue(validationError(Self.file)?.message.contains("unknown experiment kind 'toy_attack'") ?? false)
    }
}
