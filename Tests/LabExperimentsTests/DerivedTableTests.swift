// Derived tables: `queries_to_reach` and `at_cost` read off anytime curves by interpolation linear in
// log(queries) (and in log(value) for a ≤ level), checked against values worked out by hand, first on the
// interpolation alone, then through a whole run of a kind whose curves are written in its file.
import Foundation
import LabCore
import XCTest

@testable import LabExperiments

/// An anytime kind whose curves are given in the file: agreement and KL at 1000, 2000, 4000, 8000 queries,
/// one list per seed. Tests only.
enum WrittenCurveKind: ExperimentKind {
    struct Settings: Decodable {
        var agreement: [[Double]]
        var kl: [[Double]]
        enum CodingKeys: String, CodingKey { case agreement = "agreement_curves", kl = "kl_curves" }
    }
    struct Resolved: Encodable {
        var agreement: [Double]
        var kl: [Double]
        var seed: UInt64
    }
    static let name = "written_curve"
    static let summary = "curves written in the file (a test double for anytime kinds)"
    static let version = 1
    static let reads: [SharedSection] = []
    static let settingsKeys = ["agreement_curves", "kl_curves"]
    static let seedMeaning = "which written curve"
    static let curveAxis: String? = "budget"
    static let outputs = [
        OutputDoc("agreement", .metric, "agreement"), OutputDoc("kl", .metric, "KL"),
        OutputDoc("queries", .cost, "queries"),
    ]
    static let milestones = [1000.0, 2000, 4000, 8000]

    static func resolve(_ cell: CellInput<Settings>, in context: ValidationContext) throws -> Resolved {
        let i = Int(cell.seed)
        return Resolved(agreement: cell.settings.agreement[i], kl: cell.settings.kl[i], seed: cell.seed)
    }

    static func run(_ cell: Resolved, in context: RunContext) throws -> CellResult {
        CellResult(
            curve: zip(milestones, zip(cell.agreement, cell.kl)).map { q, v in
                CellResult.Point(
                    label: String(Int(q)), metrics: [.init("agreement", v.0), .init("kl", v.1)],
                    costs: [.init("queries", q)])
            })
    }
}

final class DerivedTableTests: XCTestCase {
    let level = { (text: String) in try CurveLevel(parsing: text, path: []) }

    func testInterpolationMatchesHandComputedValues() throws {
        // agreement 0.5 at 1000, 0.9 at 4000: 0.7 is half-way, so log q is half-way: 1000·√4 = 2000.
        XCTAssertEqual(
            CurveReading.crossing([(1000, 0.5), (4000, 0.9)], try level("agreement>=0.7"))?.cost ?? 0, 2000,
            accuracy: 1e-9)
        // 0.6 is a quarter of the way: 1000·4^0.25 = 1414.2136.
        XCTAssertEqual(
            CurveReading.crossing([(1000, 0.5), (4000, 0.9)], try level("agreement>=0.6"))?.cost ?? 0,
            1414.2135623730951, accuracy: 1e-6)
        // KL 0.4 at 1000, 0.1 at 4000: log 0.2 is half-way between log 0.4 and log 0.1, so 2000.
        let kl = CurveReading.crossing([(1000, 0.4), (4000, 0.1)], try level("kl<=0.2"))
        guard case let .at(q)? = kl else { return XCTFail("\(String(describing: kl))") }
        XCTAssertEqual(q, 2000, accuracy: 1e-9)
        // The first crossing counts, not a later dip: 0.8 first reached between 2000 and 4000, at 2000·√2.
        XCTAssertEqual(
            CurveReading.crossing([(1000, 0.5), (2000, 0.7), (4000, 0.9), (8000, 0.75)], try level("agreement>=0.8"))?
                .cost ?? 0, 2000 * 2.0.squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(CurveReading.crossing([(1000, 0.95), (2000, 0.97)], try level("a>=0.9")), .first(1000))
        XCTAssertEqual(CurveReading.crossing([(1000, 6.0), (2000, 5.5)], try level("kl<=0.1")), .never(2000))
        // At equal cost: half-way in log between 1000 and 4000 is 2000, so the mean of the two values.
        XCTAssertEqual(CurveReading.value(at: 2000, on: [(1000, 0.5), (4000, 0.9)]) ?? 0, 0.7, accuracy: 1e-12)
        XCTAssertNil(CurveReading.value(at: 500, on: [(1000, 0.5), (4000, 0.9)]))
        XCTAssertNil(CurveReading.value(at: 5000, on: [(1000, 0.5), (4000, 0.9)]))
        XCTAssertEqual(CurveReading.value(at: 4000, on: [(1000, 0.5), (4000, 0.9)]), 0.9)
        XCTAssertThrowsError(try level("agreement=0.8"))
        XCTAssertThrowsError(try level("kl<=0"))
    }

    static let file = """
        experiment: written
        kind: written_curve
        seeds: [0, 1]
        kl_curves: [[0.4, 0.2, 0.1, 0.1], [0.4, 0.4, 0.1, 0.05]]
        grid:
          agreement_curves:
            a: [[0.5, 0.7, 0.9, 0.75], [0.5, 0.6, 0.8, 0.95]]
            b: [[0.95, 0.97, 0.98, 0.99], [0.5, 0.6, 0.7, 0.75]]
        tables:
          - title: Queries to reach
            type: queries_to_reach
            rows: agreement_curves
            levels: ["agreement>=0.8", "agreement>=0.9", "kl<=0.2"]
            reference: a
          - type: at_cost
            rows: agreement_curves
            values: agreement
            at: [2000, 500]
        """

    func testARunWritesTheDerivedTablesFromItsCurves() throws {
        let kinds = ExperimentRegistry.kinds + [WrittenCurveKind.self]
        let scratch = Scratch("derived")
        let e = try Experiment.parse(Self.file, kinds: kinds)
        try e.runQuietly(out: scratch.dir("out"), cache: scratch.dir("cache"))
        let table = try String(contentsOf: scratch.dir("out").appendingPathComponent("table.md"), encoding: .utf8)
        // Arm a, agreement ≥ 0.8: seed 0 at 2000·√2 = 2828.43 (0.7 → 0.9); seed 1 at 4000 (0.8 reached exactly
        // there; 0.6 → 0.8 with t = 1). Mean 3414, sample std 828.
        // agreement ≥ 0.9: seed 0 at 4000; seed 1 between 4000 (0.8) and 8000 (0.95): t = 2/3, 4000·2^(2/3) = 6350.
        // kl ≤ 0.2: seed 0 at 2000 exactly; seed 1 half-way in log between 0.4 and 0.1 from 2000 to 4000 = 2828.
        XCTAssertTrue(
            table.contains("| a | 3414 ± 828 | 5175 ± 1661 | 2414 ± 586 |"), table)
        // Arm b: seed 0 already at 0.95 at 1000, seed 1 never reaches 0.8: partial; ≥ 0.9 likewise; KL as a.
        XCTAssertTrue(
            table.contains(
                "| b | 1/2 seeds (at 1000); the others > 8000 | 1/2 seeds (at 1000); the others > 8000 | 2414 ± 586 (1.0×) |"
            ), table)
        XCTAssertTrue(table.contains("| agreement_curves | agreement >= 0.8 | agreement >= 0.9 | kl <= 0.2 |"), table)
        // At 2000 queries: a = mean(0.7, 0.6) = 0.65; b = mean(0.97, 0.6) = 0.785; 500 is outside every curve.
        XCTAssertTrue(table.contains("| a | 0.6500 ± 0.071 | — (outside the curve) |"), table)
        XCTAssertTrue(table.contains("| b | 0.7850 ± 0.26 | — (outside the curve) |"), table)
        let json = try String(contentsOf: scratch.dir("out").appendingPathComponent("results.json"), encoding: .utf8)
        XCTAssertTrue(json.contains("\"text\": \"3414 ± 828\""), json)
    }

    func testDerivedTablesAreCheckedAgainstTheFile() throws {
        let kinds = ExperimentRegistry.kinds + [WrittenCurveKind.self]
        func error(_ old: String, _ new: String) -> String {
            do {
                _ = try Experiment.parse(
                    Self.file.replacingOccurrences(of: old, with: new), file: "w.yaml", kinds: kinds)
                return "no error"
            } catch { return "\(error)" }
        }
        XCTAssertTrue(error("agreement>=0.9", "agrement>=0.9").contains("'agrement'"))
        XCTAssertTrue(error("reference: a", "reference: c").contains("tables.0.reference"))
        XCTAssertTrue(error("at: [2000, 500]", "at: [2000, -1]").contains("tables.1.at.1"))
        XCTAssertTrue(error("    reference: a", "    reference: a\n    at: [1]").contains("type at_cost"))
        XCTAssertTrue(error("type: at_cost", "type: at_cots").contains("at_cost"))
    }

    func testATableIsNoPartOfACellsIdentity() throws {
        let kinds = ExperimentRegistry.kinds + [WrittenCurveKind.self]
        let with = try Experiment.parse(Self.file, kinds: kinds)
        let without = try Experiment.parse(
            String(Self.file[..<Self.file.range(of: "tables:")!.lowerBound]), kinds: kinds)
        XCTAssertEqual(with.cells.map(\.hash), without.cells.map(\.hash))
    }
}
