// The results files: SVG plots are well-formed XML with labelled axes, decade ticks on log axes and a legend
// per series; the HTML report inlines them with the tables and needs no network or server; the CSV has a row
// per cell; config.resolved.yaml reads back as YAML with every cell resolved.
import Foundation
import XCTest
import Yams

@testable import LabExperiments

#if canImport(FoundationXML)
    import FoundationXML
#endif

final class WritersTests: XCTestCase {
    static let scratch = Scratch("writers")
    static var outputs: URL?

    override class func tearDown() {
        try? FileManager.default.removeItem(at: scratch.url)
        super.tearDown()
    }

    /// One run of the tiny teacher sweep, shared by the tests below.
    func output() throws -> URL {
        if let o = Self.outputs { return o }
        let e = try Experiment.parse(Tiny.teacherSweep)
        try e.runQuietly(out: Self.scratch.dir("out"), cache: Self.scratch.dir("cache"))
        Self.outputs = Self.scratch.dir("out")
        return Self.scratch.dir("out")
    }

    func text(_ name: String) throws -> String {
        try String(contentsOf: output().appendingPathComponent(name), encoding: .utf8)
    }

    final class Elements: NSObject, XMLParserDelegate {
        var names: [String] = []
        var texts: [String] = []
        func parser(
            _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) { names.append(name) }
        func parser(_ parser: XMLParser, foundCharacters string: String) { texts.append(string) }
    }

    func parse(_ svg: String) throws -> Elements {
        let parser = XMLParser(data: Data(svg.utf8))
        let elements = Elements()
        parser.delegate = elements
        XCTAssertTrue(parser.parse(), "not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "")")
        return elements
    }

    func testLinePlotHasLogAxisLegendAndLabels() throws {
        let svg = try text("plot-1.svg")
        let elements = try parse(svg)
        let words = elements.texts.joined()
        XCTAssertTrue(words.contains("training flops (cost) — log scale"), words)
        XCTAssertTrue(words.contains("validation loss"), words)
        XCTAssertTrue(
            words.contains("width = 16") && words.contains("width = 24"), "one legend entry per series: \(words)")
        XCTAssertTrue(words.contains("validation loss versus training flops"), words)
        XCTAssertEqual(elements.names.filter { $0 == "polyline" }.count, 2, "one line per series")
        XCTAssertTrue(svg.contains("10<tspan dy=\"-7\""), "log ticks written with a superscript exponent")
    }

    func testBarPlotAndTicks() throws {
        let elements = try parse(try text("plot-2.svg"))
        XCTAssertGreaterThanOrEqual(
            elements.names.filter { $0 == "rect" }.count, 2 + 2, "background, frame and one bar per width")
        XCTAssertEqual(SVGPlot.ticks(min: 3, max: 3000, log: true).map(\.0), [10, 100, 1000], accuracy: 1e-9)
        XCTAssertEqual(SVGPlot.ticks(min: 3, max: 300, log: true).map(\.0), [5, 10, 20, 50, 100, 200], accuracy: 1e-9)
        XCTAssertEqual(
            SVGPlot.ticks(min: 3, max: 3e6, log: true).map(\.0), [10, 100, 1000, 1e4, 1e5, 1e6], accuracy: 1e-6)
        XCTAssertGreaterThanOrEqual(
            SVGPlot.ticks(min: 1.2e7, max: 3.1e7, log: true).count, 2, "a range inside one decade still gets ticks")
        XCTAssertEqual(
            SVGPlot.ticks(min: 0, max: 1, log: false).map(\.0), [0, 0.2, 0.4, 0.6, 0.8, 1.0].map { $0 }, accuracy: 1e-12
        )
    }

    func testReportIsSelfContained() throws {
        let html = try text("report.html")
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertEqual(html.components(separatedBy: "<svg ").count - 1, 2, "both plots inline")
        XCTAssertTrue(html.contains("<table>"))
        XCTAssertFalse(html.contains("<script"), "no scripts")
        XCTAssertFalse(
            html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http"),
            "no network references")
        XCTAssertTrue(html.contains("Loss by width and steps"))
    }

    func testCSVAndResolvedConfig() throws {
        let csv = try text("results.csv").split(separator: "\n")
        XCTAssertEqual(csv.count, 1 + 8)
        XCTAssertTrue(csv[0].hasPrefix("index,hash,teacher.model.width,teacher.training.steps,seed,validation_loss"))
        let resolved = try XCTUnwrap(try Yams.load(yaml: text("config.resolved.yaml")) as? [String: Any])
        let cells = try XCTUnwrap(resolved["cells"] as? [[String: Any]])
        XCTAssertEqual(cells.count, 8)
        let teacher = try XCTUnwrap(((cells[3]["resolved"] as? [String: Any])?["teacher"]) as? [String: Any])
        let training = try XCTUnwrap(teacher["training"] as? [String: Any])
        XCTAssertEqual(training["seed"] as? Int, 1, "cell 3 is seed 1")
        XCTAssertEqual(training["steps"] as? Int, 12)
        XCTAssertNotNil(training["beta2"], "defaults are filled in")
        XCTAssertEqual((teacher["corpus"] as? [String: Any])?["concentration"] as? Double, 0.3)
    }

    func testTerminalChartsDrawEverySeriesAndBar() throws {
        let e = try Experiment.parse(Tiny.teacherSweep)
        let charts = try Demo.charts(e, output: output())
        XCTAssertEqual(charts.count, 2)
        print(charts.joined(separator: "\n"))
        XCTAssertTrue(charts[0].contains("●") && charts[0].contains("■"), "a marker per series")
        XCTAssertTrue(charts[0].contains("training flops (cost) (log scale)"))
        XCTAssertTrue(charts[0].contains("● width = 16") && charts[0].contains("■ width = 24"), "a legend")
        XCTAssertEqual(charts[1].split(separator: "\n").filter { $0.contains("█") }.count, 2, "one bar per width")
    }

    func testNumberSpelling() {
        XCTAssertEqual(JSONValue.spell(3), "3")
        XCTAssertEqual(JSONValue.spell(0.1), "0.1")
        XCTAssertEqual(JSONValue.spell(.nan), "null")
        XCTAssertEqual(NumberFormat.significant(1.23456, digits: 3), "1.23")
        XCTAssertEqual(NumberFormat.significant(125952, digits: 4), "125952")
        XCTAssertEqual(NumberFormat.significant(44875776000, digits: 4), "4.488e+10")
        XCTAssertEqual(Stats([1.5, 1.5]).formatted(digits: 3), "1.50", "no ± 0 when every seed agrees")
        XCTAssertEqual(NumberFormat.significant(2.5e9 + 0.5, digits: 3), "2.50e+09")
        XCTAssertEqual(Stats([1, 2, 3]).formatted(digits: 3), "2.00 ± 1.0")
        XCTAssertEqual(Stats([]).formatted(digits: 3), "—")
    }
}

func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line)
{
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
