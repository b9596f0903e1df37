// Data loss: an output directory belongs to the experiment that wrote it. Running another experiment into it
// (with or without --fresh) is refused with the owner's name and every finished cell survives; a second run
// on a locked directory is refused with the holder's pid; concurrent users of one teacher cache entry train
// it once.
import Foundation
import LabCore
import Synchronization
import XCTest

@testable import LabExperiments

final class DataLossTests: XCTestCase {
    func options(_ out: URL, _ cache: URL) -> RunOptions {
        var o = RunOptions(output: out, cache: TeacherCache(directory: cache), threads: Parallel.workers, log: { _ in })
        o.showProgress = false
        return o
    }

    func snapshot(_ out: URL) throws -> [String: Data] {
        let cells = out.appendingPathComponent("cells")
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: cells.path) where name.hasSuffix(".json") {
            files[name] = try Data(contentsOf: cells.appendingPathComponent(name))
        }
        for name in ["results.json", "manifest.json"] {
            files[name] = try Data(contentsOf: out.appendingPathComponent(name))
        }
        return files
    }

    func testAnotherExperimentIsRefusedAndEveryFinishedCellSurvives() throws {
        let scratch = Scratch("dataloss")
        let out = scratch.dir("out"), cache = scratch.dir("cache")
        let owner = try Experiment.parse(Tiny.defenceSweep)
        _ = try Runner.run(owner, options: options(out, cache))
        let before = try snapshot(out)
        XCTAssertEqual(before.count, owner.cells.count + 2)

        let intruder = try Experiment.parse(Tiny.teacherSweep)
        for fresh in [false, true] {
            var o = options(out, cache)
            o.fresh = fresh
            XCTAssertThrowsError(try Runner.run(intruder, options: o)) { error in
                XCTAssertTrue("\(error)".contains("'tiny-defences'"), "names the owner: \(error)")
                XCTAssertTrue("\(error)".contains("--overwrite-foreign"), "says how to override: \(error)")
            }
            XCTAssertThrowsError(try Runner.merge(intruder, from: [out], into: out, threads: 1))
            XCTAssertEqual(try snapshot(out), before, "fresh=\(fresh): nothing of the owner's changed")
        }

        // Same experiment name from another file with other content is foreign too.
        let twin = try Experiment.parse(
            Tiny.defenceSweep.replacingOccurrences(of: "prompts: 6", with: "prompts: 5"), file: "/elsewhere/twin.yaml")
        XCTAssertThrowsError(try Runner.run(twin, options: options(out, cache)))
        XCTAssertEqual(try snapshot(out), before)

        // The owner itself resumes, reusing every cell.
        let again = try Runner.run(owner, options: options(out, cache))
        XCTAssertEqual([again.computed, again.reused], [0, owner.cells.count])

        // The explicit flag replaces them.
        var forced = options(out, cache)
        forced.overwriteForeign = true
        let replaced = try Runner.run(intruder, options: forced)
        XCTAssertEqual(replaced.computed, intruder.cells.count)
        XCTAssertEqual(
            CellStore(directory: out.appendingPathComponent("cells")).hashes(), Set(intruder.cells.map(\.hash)))
    }

    func testAPartialRunOwnsItsDirectoryBeforeAnyManifest() throws {
        let scratch = Scratch("dataloss-partial")
        let out = scratch.dir("out"), cache = scratch.dir("cache")
        let owner = try Experiment.parse(Tiny.teacherSweep)
        var o = options(out, cache)
        o.shard = Shard(index: 1, count: 4)
        let partial = try Runner.run(owner, options: o)
        XCTAssertGreaterThan(partial.missing, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("manifest.json").path))
        let cells = CellStore(directory: out.appendingPathComponent("cells")).hashes()
        var fresh = options(out, cache)
        fresh.fresh = true
        XCTAssertThrowsError(try Runner.run(try Experiment.parse(Tiny.defenceSweep), options: fresh)) { error in
            XCTAssertTrue("\(error)".contains("'tiny-teachers'"), "\(error)")
        }
        XCTAssertEqual(CellStore(directory: out.appendingPathComponent("cells")).hashes(), cells)
    }

    func testASecondRunOnALockedDirectoryIsRefusedWithTheHoldersPid() throws {
        let scratch = Scratch("dataloss-lock")
        let out = scratch.dir("out"), cache = scratch.dir("cache")
        let holder = try OutputOwner.lock(out, wait: false, log: { _ in })
        XCTAssertThrowsError(try Runner.run(try Experiment.parse(Tiny.teacherSweep), options: options(out, cache))) {
            error in
            XCTAssertTrue("\(error)".contains("process \(getpid())"), "names the holder: \(error)")
            XCTAssertTrue("\(error)".contains("--wait"), "\(error)")
        }
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: out.appendingPathComponent("cells").path),
            "refused before touching anything")
        withExtendedLifetime(holder) {}
    }

    func testShardsShareADirectoryButAShardRunsOnceAndFreshDiscardsOnlyItsOwnCells() throws {
        let scratch = Scratch("dataloss-shards")
        let out = scratch.dir("out"), cache = scratch.dir("cache")
        let e = try Experiment.parse(Tiny.teacherSweep)
        // Shard 1 holds the directory (shared) and its own shard: shard 2 may run, shard 1 and a whole run may not.
        var shardOne: [FileLock]? = try OutputOwner.lock(
            out, shard: Shard(index: 1, count: 2), wait: false, log: { _ in })
        var two = options(out, cache)
        two.shard = Shard(index: 2, count: 2)
        XCTAssertNoThrow(try Runner.run(e, options: two))
        var one = options(out, cache)
        one.shard = Shard(index: 1, count: 2)
        XCTAssertThrowsError(try Runner.run(e, options: one)) { XCTAssertTrue("\($0)".contains("shard 1/2"), "\($0)") }
        XCTAssertThrowsError(try Runner.run(e, options: options(out, cache)))
        XCTAssertNotNil(shardOne)
        shardOne = nil

        _ = try Runner.run(e, options: one)
        let all = CellStore(directory: out.appendingPathComponent("cells")).hashes()
        XCTAssertEqual(all, Set(e.cells.map(\.hash)))
        // Shard 2 again with --fresh recomputes its cells and leaves shard 1's files untouched.
        let firstHalf = e.cells[Shard(index: 1, count: 2).range(of: e.cells.count)].map(\.hash)
        let before = try firstHalf.map { try Data(contentsOf: out.appendingPathComponent("cells/\($0).json")) }
        two.fresh = true
        let again = try Runner.run(e, options: two)
        XCTAssertEqual(again.computed, e.cells.count - firstHalf.count)
        XCTAssertEqual(
            try firstHalf.map { try Data(contentsOf: out.appendingPathComponent("cells/\($0).json")) }, before)
    }

    func testWaitingRunProceedsOnceTheHolderReleases() throws {
        let scratch = Scratch("dataloss-wait")
        let out = scratch.dir("out"), cache = scratch.dir("cache")
        var holder: [FileLock]? = try OutputOwner.lock(out, wait: false, log: { _ in })
        let waiting = DispatchSemaphore(value: 0)
        var o = options(out, cache)
        o.waitForLock = true
        o.log = { line in if line.contains("waiting for distill-lab process") { waiting.signal() } }
        let e = try Experiment.parse(Tiny.teacherSweep)
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var summary: RunSummary?
        let waitingOptions = o
        let thread = Thread {
            summary = try? Runner.run(e, options: waitingOptions)
            done.signal()
        }
        thread.start()
        waiting.wait()
        holder = nil
        done.wait()
        XCTAssertNil(holder)
        XCTAssertEqual(summary?.computed, e.cells.count)
    }

    func testShardsStartedTogetherTrainTheirSharedTeacherOnce() throws {
        let scratch = Scratch("dataloss-cache")
        let e = try Experiment.parse(Tiny.defenceSweep)
        let cache = scratch.dir("cache")
        let lines = Mutex<[String]>([])
        let group = DispatchGroup()
        for i in 0..<2 {
            group.enter()
            var o = options(scratch.dir("out\(i)"), cache)
            o.shard = Shard(index: i + 1, count: 2)
            o.log = { line in lines.withLock { $0.append(line) } }
            let run = o
            Thread {
                do { _ = try Runner.run(e, options: run) } catch { XCTFail("shard \(i + 1): \(error)") }
                group.leave()
            }.start()
        }
        group.wait()
        let training = lines.withLock { $0.filter { $0.hasPrefix("training teacher") } }
        XCTAssertEqual(training.count, 1, "one shard trained the teacher, the other read it: \(lines.withLock { $0 })")
    }
}
