// The committed reproductions 1–3 (Experiments/repro-hinton, repro-hinton-steps, repro-krishna and
// repro-truncation.yaml) against their committed results: each file validates, and the cells in
// results/<experiment>/results.csv are exactly the cells the file plans today (same content hashes), so a table
// in results/README.md cannot quote a run of an earlier version of its file. Runs nothing: planning only.
import Foundation
import LabExperiments
import XCTest

final class ReproductionFilesTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testCommittedResultsAreTheFilesCells() throws {
        for name in ["repro-hinton", "repro-hinton-steps", "repro-krishna", "repro-truncation"] {
            let file = Self.repository.appendingPathComponent("Experiments/\(name).yaml")
            guard FileManager.default.fileExists(atPath: file.path) else { XCTFail("\(file.path) is missing"); continue }
            let plan = try Experiment.load(path: file.path)
            XCTAssertEqual(plan.name, name, "the results directory is named after the file")
            XCTAssertEqual(plan.seeds.count, 3, "\(name): three seeds")
            XCTAssertEqual(plan.curveAxis, "budget")
            let csv = Self.repository.appendingPathComponent("results/\(name)/results.csv")
            let text = try String(contentsOf: csv, encoding: .utf8)
            var lines = text.split(separator: "\n").map(String.init)
            let header = lines.removeFirst().split(separator: ",").map(String.init)
            let hashColumn = try XCTUnwrap(header.firstIndex(of: "hash"))
            // One line per milestone of each cell's curve: the distinct hashes are the cells that ran.
            let ran = Set(lines.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)[hashColumn] })
            XCTAssertEqual(ran, Set(plan.cells.map(\.hash)), "\(name): results.csv holds a run of a different version of the file; run it again")
            let milestones = lines.count / max(1, ran.count)
            XCTAssertEqual(lines.count, ran.count * milestones, "\(name): every cell has the same number of milestones")
        }
    }
}
