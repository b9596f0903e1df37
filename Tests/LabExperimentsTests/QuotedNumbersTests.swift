// Numbers quoted in results/README.md and results/*/README.md against the committed results they name
// (`<!-- data: … -->`, `<!-- data-table: … -->`; docs/results.md), and the checker itself on a fixture: a right
// number passes, a wrong one, a wrong std, a misnamed column and a mismatched table each fail.
import Foundation
import XCTest

@testable import LabExperiments

final class QuotedNumbersTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func testEveryAnnotatedNumberInTheResultsReadmesMatchesItsCommittedResult() throws {
        let results = Self.repository.appendingPathComponent("results")
        var files = ["results/README.md"]
        for name in try FileManager.default.contentsOfDirectory(atPath: results.path).sorted() {
            let readme = "results/\(name)/README.md"
            if FileManager.default.fileExists(atPath: Self.repository.appendingPathComponent(readme).path) {
                files.append(readme)
            }
        }
        var checked = 0
        for file in files {
            let text = try String(contentsOf: Self.repository.appendingPathComponent(file), encoding: .utf8)
            let report = QuotedNumbers.check(markdown: text, file: file, results: results)
            checked += report.checked
            for finding in report.findings { XCTFail(finding.description) }
        }
        // Every results section and the hand-written experiment READMEs are annotated (2,685 numbers when this
        // bound was set); fewer checked means annotations were lost.
        XCTAssertGreaterThanOrEqual(checked, 2_500, "quoted numbers checked")
    }

    /// A fixture experiment: two arms × two seeds, and a generated table.md.
    func fixture() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("quoted-\(UUID().uuidString)")
        let dir = root.appendingPathComponent("toy")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try """
        index,hash,attack.strategy,seed,agreement,kl
        0,a,"in-dist",0,0.50,1.0
        1,b,in-dist,1,0.70,3.0
        2,c,"random, tokens",0,0.25,
        3,d,"random, tokens",1,0.35,8.0

        """.write(to: dir.appendingPathComponent("results.csv"), atomically: true, encoding: .utf8)
        try """
        # toy

        ## Queries needed to reach each level

        | attack.strategy | seed | agreement >= 0.6 |
        |---|---|---:|
        | in-dist | 0 | 829 ± 47 (0.5×) |
        | in-dist | 1 | 900 ± 12 (0.6×) |

        """.write(to: dir.appendingPathComponent("table.md"), atomically: true, encoding: .utf8)
        try """
        | teacher | mode | queries |
        |---|---|---:|
        | C=32 | full | 1024 |
        | C=32 | topk k=5 | 256 |

        """.write(to: dir.appendingPathComponent("sweep.md"), atomically: true, encoding: .utf8)
        return root
    }

    func check(_ markdown: String) throws -> QuotedNumbers.Report {
        let root = try fixture()
        defer { try? FileManager.default.removeItem(at: root) }
        return QuotedNumbers.check(markdown: markdown, file: "fixture.md", results: root)
    }

    func testRightNumbersPass() throws {
        let report = try check(
            """
            In-distribution agreement is **0.600 ± 0.141**<!-- data: toy agreement mean±std strategy=in-dist -->, random
            0.3<!-- data: toy agreement mean strategy="random, tokens" --> (−0.30<!-- data: toy agreement mean strategy="random, tokens" minus strategy=in-dist -->,
            0.5×<!-- data: toy agreement mean strategy="random, tokens" over strategy=in-dist -->,
            3.7<!-- data: toy agreement value seed=1 strategy=in-dist plus kl file=results.csv -->,
            4<!-- data: t{oy,oy} agreement count strategy=in-dist -->,
            0.3<!-- data: toy agreement min by=strategy --> to 0.6<!-- data: toy agreement max by=attack.strategy -->,
            256<!-- data: toy table=sweep.md file=sweep.md row="C=32 & topk k=5" column=queries mean -->,
            25%<!-- data: toy agreement min strategy="random, tokens" scale=100 -->),
            KL 8<!-- data: toy kl mean strategy="random, tokens" --> from 1<!-- data: toy kl count strategy="random, tokens" --> value;
            829 ± 47<!-- data: toy table="reach each level" row=in-dist column="agreement >= 0.6" mean±std -->,
            900<!-- data: toy table="reach each level" row="in-dist & 1" column="agreement >= 0.6" mean -->.

            <!-- data-table: toy
            rows: strategy=in-dist | - | strategy="random, tokens"
            2: agreement mean±std
            3: agreement min / agreement max
            -->
            | arm | agreement | range |
            |---|---:|---|
            | in-dist | 0.60 ± 0.14 | 0.5 / 0.7 |
            | note | anything | here |
            | random | 0.30 ± 0.071 | 0.25 / 0.35 |
            """)
        XCTAssertEqual(report.findings, [])
        XCTAssertEqual(report.checked, 24)
    }

    func testAWrongNumberFails() throws {
        let cases = [
            "0.61<!-- data: toy agreement mean strategy=in-dist -->": "quotes 0.61, but toy gives 0.6",
            "0.60 ± 0.10<!-- data: toy agreement mean±std strategy=in-dist -->": "quotes 0.10",
            "0<!-- data: toy kl min strategy=in-dist -->": "quotes 0",
            "0.6<!-- data: toy agreemnt mean strategy=in-dist -->": "no column 'agreemnt'",
            "0.6<!-- data: toy agreement mean strategy=wiki -->": "no row of toy/results.csv has strategy=wiki",
            "0.6<!-- data: toy agreement avg strategy=in-dist -->": "'avg' is not an aggregate",
            "0.6 ± 0.1<!-- data: toy agreement mean strategy=in-dist -->": "use the aggregate mean±std",
            "830 ± 47<!-- data: toy table=reach row=in-dist column=\"agreement >= 0.6\" mean±std -->": "quotes 830",
            "text<!-- data: toy agreement mean strategy=in-dist -->": "no number right before",
            "0.6<!-- data: nothing agreement mean -->": "cannot be read",
            "0.6<!-- data: t{oy} agreement mean -->": "one brace group of two or more names",
            "0.6<!-- data: toy agreement mean strategy=in-dist file=curve.csv -->": "toy/curve.csv cannot be read",
            "1.6<!-- data: toy agreement max plus kl min -->": "quotes 1.6, but toy gives 1.7",
            "0.7<!-- data: toy agreement max by=strategy -->": "quotes 0.7, but toy gives 0.6",
            "900<!-- data: toy table=reach row=\"in-dist & 2\" column=\"agreement >= 0.6\" mean -->":
                "no row 'in-dist & 2'",
        ]
        for (markdown, expected) in cases {
            let report = try check(markdown)
            XCTAssertEqual(report.findings.count, 1, markdown)
            XCTAssertTrue(
                report.findings.first?.message.contains(expected) ?? false,
                "\(markdown): \(report.findings.first?.message ?? "no finding")")
        }
    }

    func testAWrongTableCellOrAMisshapenTableFails() throws {
        let wrongCell = try check(
            """
            <!-- data-table: toy
            rows: strategy=in-dist | strategy="random, tokens"
            2: agreement mean±std
            -->
            | arm | agreement |
            |---|---:|
            | in-dist | 0.60 ± 0.14 |
            | random | 0.31 ± 0.071 |
            """)
        XCTAssertEqual(wrongCell.findings.map(\.message), ["row 2, column 2: quotes 0.31, but toy gives 0.3"])
        XCTAssertEqual(wrongCell.findings.first?.line, 1)
        let missingRow = try check(
            """
            <!-- data-table: toy
            rows: strategy=in-dist
            2: agreement mean
            -->
            | arm | agreement |
            |---|---:|
            | in-dist | 0.60 |
            | random | 0.30 |
            """)
        XCTAssertEqual(
            missingRow.findings.map(\.message), ["the `rows:` list has 1 entries; the table below has 2 rows"])
    }
}
