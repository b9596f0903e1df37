// Cells side by side: a tiny experiment run one cell at a time and three cells at a time writes the same
// results files byte for byte and the same cell records (timings aside); the teacher the cells share is
// trained once, also when two threads ask for it together; the cost model reads shapes from resolved cells and
// picks side by side for small students, one cell at a time for wide ones; `--jobs` rejects bad values.
import Foundation
import LabCore
import XCTest

@testable import LabExperiments

final class CellSchedulerTests: XCTestCase {
    /// Every file of the output directory except manifest.json (timings, dates) and the cell records (whose
    /// `seconds` is a timing), and the records with `seconds`, `commit` and `shard` left out.
    func snapshot(_ out: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let fm = FileManager.default
        for name in try fm.contentsOfDirectory(atPath: out.path) where name != "manifest.json" && name != "cells" {
            if name.hasPrefix(".") { continue }
            files[name] = try Data(contentsOf: out.appendingPathComponent(name))
        }
        let cells = out.appendingPathComponent("cells")
        for name in try fm.contentsOfDirectory(atPath: cells.path) where name.hasSuffix(".json") {
            var record = try JSONDecoder().decode(
                CellRecord.self, from: Data(contentsOf: cells.appendingPathComponent(name)))
            record.seconds = 0
            record.commit = nil
            record.shard = ""
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            files["cells/\(name)"] = try encoder.encode(record)
        }
        return files
    }

    func run(_ e: Experiment, jobs: CellJobs, out: URL, cache: URL) throws -> JSONValueProbe {
        var options = RunOptions(output: out, cache: TeacherCache(directory: cache), threads: 2, log: { _ in })
        options.showProgress = false
        options.jobs = jobs
        let summary = try Runner.run(e, options: options)
        XCTAssertEqual(summary.missing, 0)
        return try JSONValueProbe(out.appendingPathComponent("manifest.json"))
    }

    func testSideBySideWritesTheSameResultsAsOneAtATime() throws {
        let scratch = Scratch("cells")
        let e = try Experiment.parse(Tiny.defenceSweep)
        let one = try run(e, jobs: .fixed(1), out: scratch.dir("one"), cache: scratch.dir("cache-one"))
        let three = try run(e, jobs: .fixed(3), out: scratch.dir("three"), cache: scratch.dir("cache-three"))
        XCTAssertEqual(one.number("cells_in_parallel"), 1)
        XCTAssertEqual(three.number("cells_in_parallel"), 3)
        // Six cells on one teacher, each run with an empty cache: it is trained exactly once.
        XCTAssertEqual(one.count(["durations", "teachers_trained_by_this_invocation"]), 1)
        XCTAssertEqual(three.count(["durations", "teachers_trained_by_this_invocation"]), 1)
        let a = try snapshot(scratch.dir("one")), b = try snapshot(scratch.dir("three"))
        XCTAssertEqual(a.keys.sorted(), b.keys.sorted())
        XCTAssertTrue(a.keys.contains("results.json") && a.keys.contains("report.html"))
        XCTAssertEqual(a.keys.filter { $0.hasPrefix("cells/") }.count, 6)
        for (name, data) in a { XCTAssertEqual(data, b[name], "\(name) differs between --jobs 1 and --jobs 3") }
    }

    func testTeacherAskedForByTwoThreadsAtOnceIsTrainedOnce() throws {
        let scratch = Scratch("teacher-once")
        let e = try Experiment.parse(Tiny.defenceSweep)
        let spec = try XCTUnwrap(CellScheduler.teachers(of: e.cells).first)
        XCTAssertEqual(CellScheduler.teachers(of: e.cells).count, 1)
        let cache = TeacherCache(directory: scratch.dir("cache"))
        let contexts = [RunContext(cache: cache, showProgress: false), RunContext(cache: cache, showProgress: false)]
        let box = UncheckedSendable(contexts)
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            Parallel.withWorkers(1) { _ = try? box.value[i].teacher(spec) }
        }
        XCTAssertEqual(contexts.map(\.trained.count).reduce(0, +), 1, "the teacher was trained twice")
        XCTAssertEqual(contexts.map(\.loadedFromCache.count).reduce(0, +), 1)
    }

    func testCostModelReadsShapesAndChooses() throws {
        let e = try Experiment.parse(Tiny.defenceSweep)
        // defence_cost cells have only the teacher: it is the cell's model.
        let shapes = CellCostModel.shapes(resolvedJSON: e.cells[0].resolvedCellJSON)
        XCTAssertEqual(shapes, [.init(width: 16, layers: 1, batch: 4, context: 16)])
        XCTAssertEqual(CellCostModel.jobs(for: e.cells, workers: 2), 2)
        XCTAssertEqual(CellCostModel.jobs(for: Array(e.cells.prefix(1)), workers: 2), 1)
        XCTAssertEqual(CellCostModel.jobs(for: e.cells, workers: 1), 1)
        // An attack cell: the student is the model that counts, not the teacher trained once for all cells.
        let attack = """
            {"teacher":{"model":{"context_length":32,"width":256,"layers":4},"training":{"batch_size":64}},
             "attack":{"student":{"width":32,"layers":1,"batch_size":64}}}
            """
        XCTAssertEqual(
            CellCostModel.shapes(resolvedJSON: attack), [.init(width: 32, layers: 1, batch: 64, context: 32)])
        let small = CellCostModel.inCellSpeedup(CellCostModel.shapes(resolvedJSON: attack), workers: 2)
        let wide = CellCostModel.inCellSpeedup([.init(width: 512, layers: 4, batch: 64, context: 128)], workers: 2)
        XCTAssertLessThan(small, 2 * CellCostModel.sideBySideEfficiency)
        XCTAssertGreaterThan(wide, 2 * CellCostModel.sideBySideEfficiency)
    }

    func testJobsParsing() throws {
        XCTAssertEqual(try CellJobs(parsing: "auto"), .auto)
        XCTAssertEqual(try CellJobs(parsing: "3"), .fixed(3))
        for bad in ["0", "-1", "two", ""] {
            XCTAssertThrowsError(try CellJobs(parsing: bad)) { error in
                XCTAssertTrue("\(error)".contains("--jobs"), "\(error)")
            }
        }
    }
}

/// A few reads of manifest.json.
struct JSONValueProbe {
    let root: [String: Any]

    init(_ url: URL) throws {
        root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    func number(_ key: String) -> Double? { (root[key] as? NSNumber)?.doubleValue }

    func count(_ path: [String]) -> Int? {
        var node: Any? = root
        for key in path { node = (node as? [String: Any])?[key] }
        return (node as? [Any])?.count
    }
}
