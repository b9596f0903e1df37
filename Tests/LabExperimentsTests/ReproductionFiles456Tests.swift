// The committed reproductions 4–6 (MAD against passive perturbation, hidden width from logits, KGW calibration)
// against their committed results: each file validates, and the cells in results/<experiment>/results.csv are
// exactly the cells the file plans today (same content hashes), so a number in results/README.md cannot come
// from a run of an earlier version of its file or kind. Runs nothing: planning only.
import Foundation
import LabExperiments
import XCTest

final class ReproductionFiles456Tests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testCommittedResultsAreTheFilesCells() throws {
        let files = ["repro-mad-cost": "defence_cost", "repro-mad": "attack", "repro-mad-kl": "attack",
                     "repro-logit-width": "logit_leak", "repro-kgw": "watermark", "repro-kgw-null": "watermark"]
        for (name, kind) in files.sorted(by: { $0.key < $1.key }) {
            let file = Self.repository.appendingPathComponent("Experiments/\(name).yaml")
            guard FileManager.default.fileExists(atPath: file.path) else { XCTFail("\(file.path) is missing"); continue }
            let plan = try Experiment.load(path: file.path)
            XCTAssertEqual(plan.name, name, "the results directory is named after the file")
            XCTAssertEqual(plan.kindName, kind, name)
            XCTAssertGreaterThanOrEqual(plan.seeds.count, 2, "\(name): at least two seeds")
            let csv = Self.repository.appendingPathComponent("results/\(name)/results.csv")
            let text = try String(contentsOf: csv, encoding: .utf8)
            var lines = text.split(separator: "\n").map(String.init)
            let header = lines.removeFirst().split(separator: ",").map(String.init)
            let hashColumn = try XCTUnwrap(header.firstIndex(of: "hash"))
            // One line per cell, or per curve point of each cell: the distinct hashes are the cells that ran.
            let ran = Set(lines.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)[hashColumn] })
            XCTAssertEqual(ran, Set(plan.cells.map(\.hash)), "\(name): results.csv holds a run of a different version of the file; run it again")
        }
    }
}
