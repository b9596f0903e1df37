// The runner's contract, in-process: the same file run twice gives a byte-identical results.json (timings
// live only in manifest.json); three shards merged give exactly the results of one unsharded run; a run
// that finds finished cells computes only the rest; teachers are trained once and reused from the cache.
import Foundation
import LabCore
import XCTest

@testable import LabExperiments

final class RunnerTests: XCTestCase {
    func read(_ url: URL, _ name: String) throws -> Data { try Data(contentsOf: url.appendingPathComponent(name)) }

    func testSameFileTwiceGivesByteIdenticalResults() throws {
        let scratch = Scratch()
        let e = try Experiment.parse(Tiny.teacherSweep)
        // Two independent runs, each training its own teachers from scratch in its own cache.
        let a = try e.runQuietly(out: scratch.dir("a"), cache: scratch.dir("cache-a"))
        let b = try e.runQuietly(out: scratch.dir("b"), cache: scratch.dir("cache-b"))
        XCTAssertEqual([a.computed, b.computed], [8, 8])
        let first = try read(scratch.dir("a"), "results.json"), second = try read(scratch.dir("b"), "results.json")
        XCTAssertEqual(first, second, "results.json must be byte-identical across identical runs")
        for name in ["results.csv", "table.md", "plot-1.svg", "plot-2.svg", "report.html", "config.resolved.yaml"] {
            XCTAssertEqual(try read(scratch.dir("a"), name), try read(scratch.dir("b"), name), "\(name) differs")
        }
        XCTAssertNotEqual(
            try read(scratch.dir("a"), "manifest.json"), try read(scratch.dir("b"), "manifest.json"),
            "timings belong in the manifest")
        // A third run that loads every teacher from the first run's cache still gives the same bytes.
        let c = try e.runQuietly(out: scratch.dir("c"), cache: scratch.dir("cache-a"))
        XCTAssertEqual(c.computed, 8)
        XCTAssertEqual(try read(scratch.dir("c"), "results.json"), first)
        print("results.json: \(first.count) bytes, SHA-256 \(SHA256.hex(first).prefix(16)) in all three runs")
    }

    func testThreeShardsMergedEqualOneRun() throws {
        let scratch = Scratch()
        let e = try Experiment.parse(Tiny.teacherSweep)
        try e.runQuietly(out: scratch.dir("whole"), cache: scratch.dir("cache"))
        var computed: [Int] = []
        for i in 1...3 {
            let s = try e.runQuietly(
                out: scratch.dir("shard\(i)"), cache: scratch.dir("cache-shards"), shard: Shard(index: i, count: 3))
            computed.append(s.computed)
            XCTAssertGreaterThan(s.missing, 0, "a shard alone does not complete the grid")
            XCTAssertFalse(
                FileManager.default.fileExists(
                    atPath: scratch.dir("shard\(i)").appendingPathComponent("results.json").path))
        }
        XCTAssertEqual(computed, [2, 3, 3], "contiguous blocks of 8 cells")
        let merged = try Runner.merge(
            e, from: (1...3).map { scratch.dir("shard\($0)") }, into: scratch.dir("merged"), threads: 1)
        XCTAssertEqual(merged.missing, 0)
        for name in ["results.json", "results.csv", "table.md", "report.html"] {
            XCTAssertEqual(
                try read(scratch.dir("merged"), name), try read(scratch.dir("whole"), name),
                "\(name): merged shards differ from one run")
        }
    }

    func testShardsPartitionTheCells() throws {
        for total in [0, 1, 2, 7, 8, 100] {
            for n in 1...5 {
                let ranges = (1...n).map { Shard(index: $0, count: n).range(of: total) }
                XCTAssertEqual(ranges.flatMap { Array($0) }, Array(0..<total), "\(n) shards of \(total) cells")
            }
        }
        XCTAssertThrowsError(try Shard(parsing: "0/3"))
        XCTAssertThrowsError(try Shard(parsing: "4/3"))
        XCTAssertThrowsError(try Shard(parsing: "a/b"))
        XCTAssertEqual(try Shard(parsing: "2/3"), Shard(index: 2, count: 3))
    }

    func testResumeComputesOnlyUnfinishedCellsAndEditsInvalidateOnlyChangedOnes() throws {
        let scratch = Scratch()
        let e = try Experiment.parse(Tiny.teacherSweep)
        try e.runQuietly(out: scratch.dir("out"), cache: scratch.dir("cache"))
        let again = try e.runQuietly(out: scratch.dir("out"), cache: scratch.dir("cache"))
        XCTAssertEqual([again.computed, again.reused], [0, 8])
        // Remove two cells and leave a half-written temporary file behind, as a kill -9 would.
        let cells = scratch.dir("out").appendingPathComponent("cells")
        for cell in e.cells.prefix(2) {
            try FileManager.default.removeItem(at: cells.appendingPathComponent("\(cell.hash).json"))
        }
        try Data("{\"hash\": \"trunc".utf8).write(
            to: cells.appendingPathComponent(".\(e.cells[0].hash).json.tmp-999-1"))
        let resumed = try e.runQuietly(out: scratch.dir("out"), cache: scratch.dir("cache"))
        XCTAssertEqual([resumed.computed, resumed.reused], [2, 6])
        // Editing one grid value recomputes only the cells it changes.
        let edited = try Experiment.parse(
            Tiny.teacherSweep.replacingOccurrences(
                of: "teacher.model.width: [16, 24]", with: "teacher.model.width: [16, 20]"))
        let partial = try edited.runQuietly(out: scratch.dir("out"), cache: scratch.dir("cache"))
        XCTAssertEqual([partial.computed, partial.reused], [4, 4])
    }

    func testTeachersAreTrainedOnceAndSharedAcrossCells() throws {
        let scratch = Scratch()
        let e = try Experiment.parse(Tiny.defenceSweep)
        XCTAssertEqual(e.cells.count, 6)
        let cache = TeacherCache(directory: scratch.dir("cache"))
        var options = RunOptions(output: scratch.dir("out"), cache: cache, threads: 1, log: { _ in })
        options.showProgress = false
        _ = try Runner.run(e, options: options)
        let entries = try FileManager.default.contentsOfDirectory(atPath: cache.teachersDirectory.path).filter {
            !$0.hasPrefix(".")
        }
        XCTAssertEqual(entries.count, 1, "six cells share one teacher")
        let manifest =
            try JSONSerialization.jsonObject(with: read(scratch.dir("out"), "manifest.json")) as? [String: Any]
        let durations = manifest?["durations"] as? [String: Any]
        XCTAssertEqual((durations?["teachers_trained_by_this_invocation"] as? [Any])?.count, 1)
    }

    func testTablesAggregateMeanAndSampleStdOverSeeds() throws {
        let scratch = Scratch()
        let e = try Experiment.parse(Tiny.teacherSweep)
        try e.runQuietly(out: scratch.dir("out"), cache: scratch.dir("cache"))
        let json = try JSONSerialization.jsonObject(with: read(scratch.dir("out"), "results.json")) as? [String: Any]
        let cells = try XCTUnwrap(json?["cells"] as? [[String: Any]])
        func loss(_ width: String, _ steps: String) -> [Double] {
            cells.filter {
                ($0["labels"] as? [String: String]).map {
                    $0["teacher.model.width"] == width && $0["teacher.training.steps"] == steps
                } ?? false
            }
            .compactMap { ($0["metrics"] as? [String: Any])?["validation_loss"] as? Double }
        }
        let values = loss("24", "12")
        XCTAssertEqual(values.count, 2)
        let mean = values.reduce(0, +) / 2
        let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 1).squareRoot()
        let tables = try XCTUnwrap(json?["tables"] as? [[String: Any]])
        let rows = try XCTUnwrap(tables[0]["rows"] as? [[String: Any]])
        let row = try XCTUnwrap(rows.first { ($0["labels"] as? [String]) == ["24", "12"] })
        let stats = try XCTUnwrap((row["values"] as? [[String: Any]])?.first)
        XCTAssertEqual(try XCTUnwrap(stats["mean"] as? Double), mean, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(stats["std"] as? Double), std, accuracy: 1e-12)
        XCTAssertEqual(stats["n"] as? Int, 2)
        let markdown = try String(contentsOf: scratch.dir("out").appendingPathComponent("table.md"), encoding: .utf8)
        XCTAssertTrue(markdown.contains("| 24 | 12 | \(Stats(values).formatted(digits: 4))"), markdown)
    }
}
