// Interruption: the built `distill-lab` binary runs a sweep as a subprocess and is killed with SIGKILL right
// after its first cell is written; running the same command again finishes the sweep, recomputes none of the
// finished cells, and gives a results.json byte-identical to an uninterrupted run's.
import Foundation
import LabCore
import XCTest

final class KillResumeTests: XCTestCase {
    func binary() throws -> URL { try labBinary() }

    func launch(_ arguments: [String], in directory: URL) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = try binary()
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return (process, err)
    }

    func finishedCells(_ out: URL) -> Int {
        let names =
            (try? FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("cells").path)) ?? []
        return names.filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.count
    }

    func testKillMidSweepThenResumeMatchesAnUninterruptedRun() throws {
        let scratch = Scratch("kill")
        // Six cells of a few tenths of a second each (debug build), so a kill lands mid-sweep.
        let file = scratch.file(
            "sweep.yaml",
            """
            experiment: kill-resume
            kind: teacher
            seeds: [0, 1]
            teacher:
              corpus: {kind: markov, symbols: 6, order: 1, train_tokens: 3000, validation_tokens: 400, test_tokens: 400}
              model: {context_length: 16, width: 16, layers: 1, heads: 2}
              training: {steps: 60, batch_size: 4, eval_interval: 0}
            grid:
              teacher.model.width: [16, 20, 24]
            tables:
              - rows: teacher.model.width
                values: [validation_loss, test_loss]
            """)
        let out = scratch.dir("interrupted"), cache = scratch.dir("cache")
        let args = ["run", file, "--out", out.path, "--cache", cache.path, "--quiet", "--threads", "1"]

        let (victim, _) = try launch(args, in: scratch.url)
        let deadline = Date().addingTimeInterval(300)
        while finishedCells(out) == 0 && victim.isRunning && Date() < deadline { usleep(5_000) }
        kill(victim.processIdentifier, SIGKILL)
        victim.waitUntilExit()
        XCTAssertEqual(victim.terminationReason, .uncaughtSignal, "the run must have been killed, not have finished")
        XCTAssertEqual(victim.terminationStatus, SIGKILL)
        let finishedAtKill = finishedCells(out)
        print("killed with \(finishedAtKill) of 6 cells finished")
        XCTAssertTrue((1..<6).contains(finishedAtKill), "the kill should land mid-sweep (finished: \(finishedAtKill))")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("results.json").path))

        let (resume, resumeErr) = try launch(args, in: scratch.url)
        resume.waitUntilExit()
        let log = String(decoding: resumeErr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(resume.terminationStatus, 0, log)
        XCTAssertTrue(log.contains("\(finishedAtKill) of 6 cells already finished"), log)
        let manifest =
            try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("manifest.json")))
            as? [String: Any]
        XCTAssertEqual(
            manifest?["cells_computed_by_this_invocation"] as? Int, 6 - finishedAtKill, "nothing finished is recomputed"
        )

        let clean = scratch.dir("uninterrupted")
        let (reference, referenceErr) = try launch(
            [
                "run", file, "--out", clean.path, "--cache", scratch.dir("cache-clean").path, "--quiet", "--threads",
                "1",
            ], in: scratch.url)
        reference.waitUntilExit()
        XCTAssertEqual(
            reference.terminationStatus, 0,
            String(decoding: referenceErr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        let resumed = try Data(contentsOf: out.appendingPathComponent("results.json"))
        let uninterrupted = try Data(contentsOf: clean.appendingPathComponent("results.json"))
        XCTAssertEqual(resumed, uninterrupted, "resumed results.json differs from the uninterrupted run's")
        // Separate processes (each with its own hashing seed) also agree on every other deterministic file.
        for name in ["results.csv", "table.md", "config.resolved.yaml", "report.html"] {
            XCTAssertEqual(
                try Data(contentsOf: out.appendingPathComponent(name)),
                try Data(contentsOf: clean.appendingPathComponent(name)), "\(name) differs between processes")
        }
        print("resumed run computed \(6 - finishedAtKill) cells; results.json identical (\(resumed.count) bytes)")
    }

    /// Two processes (each with its own hashing seed, so any dictionary order would differ) running the same
    /// file write byte-identical results.json, CSV, tables, plots, report and resolved config.
    func testSeparateProcessesWriteIdenticalFiles() throws {
        let scratch = Scratch("processes")
        let file = scratch.file("defences.yaml", Tiny.defenceSweep)
        var outputs: [URL] = []
        for run in ["first", "second"] {
            let out = scratch.dir(run)
            let (process, err) = try launch(
                ["run", file, "--out", out.path, "--cache", scratch.dir("cache-\(run)").path, "--quiet"],
                in: scratch.url)
            process.waitUntilExit()
            XCTAssertEqual(
                process.terminationStatus, 0,
                String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
            outputs.append(out)
        }
        for name in ["results.json", "results.csv", "table.md", "plot-1.svg", "report.html", "config.resolved.yaml"] {
            XCTAssertEqual(
                try Data(contentsOf: outputs[0].appendingPathComponent(name)),
                try Data(contentsOf: outputs[1].appendingPathComponent(name)), "\(name) differs between processes")
        }
    }
}
