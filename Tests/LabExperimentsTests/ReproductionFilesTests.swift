// Every experiment file in Experiments/ against its committed results: the file validates, and the cells in
// results/<experiment>/results.csv are exactly the cells the file plans today (same content hashes), so a table
// in results/README.md cannot quote a run of an earlier version of its file or kind. The reproductions also keep
// their kind and their seeds. Runs nothing: planning only.
import Foundation
import LabExperiments
import XCTest

final class ReproductionFilesTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The reproductions: kind and the fewest seeds their verdicts rest on.
    static let reproductions: [String: (kind: String, seeds: Int)] = [
        "repro-hinton": ("attack", 3), "repro-hinton-steps": ("attack", 3), "repro-krishna": ("attack", 3),
        "repro-truncation": ("attack", 3), "repro-mad-cost": ("defence_cost", 2), "repro-mad": ("attack", 2),
        "repro-mad-kl": ("attack", 2), "repro-logit-width": ("logit_leak", 2), "repro-kgw": ("watermark", 2),
        "repro-kgw-null": ("watermark", 2), "repro-radioactivity": ("radioactivity", 3),
        "repro-antidistillation": ("anti_distillation", 3),
    ]

    func testCommittedResultsAreTheFilesCells() throws {
        let directory = Self.repository.appendingPathComponent("Experiments")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
        for name in Self.reproductions.keys.sorted() where !names.contains(name) {
            XCTFail("Experiments/\(name).yaml is missing")
        }
        for name in names {
            let plan = try Experiment.load(path: directory.appendingPathComponent("\(name).yaml").path)
            XCTAssertEqual(plan.name, name, "the results directory is named after the file")
            if let expected = Self.reproductions[name] {
                XCTAssertEqual(plan.kindName, expected.kind, name)
                XCTAssertGreaterThanOrEqual(plan.seeds.count, expected.seeds, "\(name): seeds")
            }
            let csv = Self.repository.appendingPathComponent("results/\(name)/results.csv")
            guard FileManager.default.fileExists(atPath: csv.path) else {
                XCTFail("\(name): results/\(name)/results.csv is not committed")
                continue
            }
            let text = try String(contentsOf: csv, encoding: .utf8)
            var lines = text.split(separator: "\n").map(String.init)
            let header = lines.removeFirst().split(separator: ",").map(String.init)
            let hashColumn = try XCTUnwrap(header.firstIndex(of: "hash"), name)
            // One line per cell, or per curve point of each cell: the distinct hashes are the cells that ran.
            let ran = Set(
                lines.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)[hashColumn] })
            XCTAssertEqual(
                ran, Set(plan.cells.map(\.hash)),
                "\(name): results.csv holds a run of a different version of the file; run it again")
        }
    }
}
