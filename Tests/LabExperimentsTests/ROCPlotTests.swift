// `type: roc` plots: a campaign file draws each detector's ROC (TPR at each reported FPR, one curve per label
// of the series axis) as an SVG through the runner, with its AUC and TPR@FPR columns in the tables; a name
// that is no family of `<name>.tpr_at_fpr_<f>` metrics is refused with the families it could be.
import Foundation
import LabCampaigns
import LabCore
import XCTest

@testable import LabExperiments

final class ROCPlotTests: XCTestCase {
    static let file =
        CampaignKindTests.file.replacingOccurrences(
            of: "monitors: [fingerprint]}", with: "monitors: [fingerprint, prada]}"
        ).replacingOccurrences(
            of: "    values: [fidelity, budget_share, accounts_opened, volume.tpr]",
            with: """
                    values: [fingerprint.auc, fingerprint.tpr_at_fpr_0.001, fingerprint.tpr_at_fpr_0.01]
                plots:
                  - type: roc
                    y: fingerprint
                    series: campaign.defence
                    file: roc-fingerprint
                """)

    func testACampaignDrawsROCCurvesAndReportsTheirArea() throws {
        let scratch = Scratch("roc")
        let out = scratch.dir("out")
        let e = try Experiment.parse(Self.file)
        try e.runQuietly(out: out, cache: scratch.dir("cache"))
        let svg = try String(contentsOf: out.appendingPathComponent("roc-fingerprint.svg"), encoding: .utf8)
        XCTAssertTrue(svg.contains("false-positive rate"), svg)
        XCTAssertTrue(svg.contains("defence = none") && svg.contains("defence = volume"), svg)
        let table = try String(contentsOf: out.appendingPathComponent("table.md"), encoding: .utf8)
        XCTAssertTrue(table.contains("fingerprint.auc"), table)
        XCTAssertFalse(table.contains("| — |"), "every cell has its AUC: \(table)")

        let data = PlotData.build(e.plots[0], index: 0, from: ResultSet(experiment: e, records: try records(e, out)))
        XCTAssertEqual(data.series.map { $0.points.map(\.x) }.first, DetectorROC.reportedFPRs)
        for series in data.series {
            XCTAssertEqual(series.points.map(\.y), series.points.map(\.y).sorted(), "a ROC never falls")
        }
    }

    func records(_ e: Experiment, _ out: URL) throws -> [CellRecord] {
        let store = CellStore(directory: out.appendingPathComponent("cells"))
        return try e.cells.map { try XCTUnwrap(try store.record($0.hash)) }
    }

    func testAROCPlotNamesAFamilyOfRates() throws {
        let bad = Self.file.replacingOccurrences(of: "    y: fingerprint", with: "    y: fingerprnt")
        XCTAssertThrowsError(try Experiment.parse(bad, file: "c.yaml")) { error in
            XCTAssertTrue("\(error)".contains("plots.0.y"), "\(error)")
            XCTAssertTrue("\(error)".contains("fingerprint"), "suggests the family: \(error)")
        }
    }
}
