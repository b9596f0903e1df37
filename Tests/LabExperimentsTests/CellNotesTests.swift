// Notes: words a cell reports beside its numbers (the plan an adaptive attacker chose). They follow the
// numbers in results.csv, one column each, empty for a cell without them; a result without notes encodes
// exactly as before, so cells computed before notes existed keep their files and hashes.
import Foundation
import XCTest

@testable import LabExperiments

final class CellNotesTests: XCTestCase {
    func testNotesAreColumnsAfterTheNumbersAndAbsentResultsEncodeAsBefore() throws {
        let kinds: [any ExperimentKind.Type] = ExperimentRegistry.kinds + [ToyAttackKind.self]
        let e = try Experiment.parse(ExtensionPointTests.file, kinds: kinds)
        let records = e.cells.map { cell in
            CellRecord(
                hash: cell.hash, kind: "toy_attack", index: cell.index, labels: cell.labels,
                result: CellResult(
                    metrics: [.init("label_agreement", 1)],
                    notes: cell.index == 0 ? [.init("plan", "average(3), from σ̂² = 0.0075")] : []),
                seconds: 0, shard: "1/1", commit: nil)
        }
        let csv = TableBuilder.csv(ResultSet(experiment: e, records: records)).split(separator: "\n")
        XCTAssertTrue(csv[0].hasSuffix(",plan"), String(csv[0]))
        XCTAssertTrue(csv[1].hasSuffix(",\"average(3), from σ̂² = 0.0075\""), String(csv[1]))
        XCTAssertTrue(csv[2].hasSuffix(","), String(csv[2]))

        let plain = String(decoding: try JSONEncoder().encode(CellResult(metrics: [.init("a", 1)])), as: UTF8.self)
        XCTAssertFalse(plain.contains("notes"), plain)
        let noted = CellResult(metrics: [.init("a", 1)], notes: [.init("plan", "plain")])
        XCTAssertEqual(try JSONDecoder().decode(CellResult.self, from: JSONEncoder().encode(noted)), noted)
        XCTAssertEqual(try JSONDecoder().decode(CellResult.self, from: Data(plain.utf8)).notes, [])
        let noNotes = TableBuilder.csv(
            ResultSet(
                experiment: e,
                records: records.map {
                    var r = $0
                    r.result.notes = []
                    return r
                }))
        XCTAssertFalse(noNotes.contains("plan"))
    }
}
