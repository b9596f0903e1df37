// Manifest: manifest.json — everything about a run that is not a result: lab version, git commit, the file's
// hash, seeds, the machine, threads, BLAS kernel, and durations (per invocation, per cell, per teacher
// trained). Kept apart so results.json stays byte-identical between identical runs. Not a log.
import Foundation
import LabCore

enum Manifest {
    static func json(experiment e: Experiment, records: [CellRecord], invocation: Invocation, fileHash: String)
        -> JSONValue
    {
        let git = gitState()
        let durations: [(String, JSONValue)] = [
            ("this_invocation_seconds", .number(invocation.seconds)),
            ("cells_total_seconds", .number(records.map(\.seconds).reduce(0, +))),
            (
                "cells",
                .array(
                    zip(e.cells, records).map { cell, r in
                        .object([
                            ("index", .number(Double(cell.index))), ("hash", .string(cell.hash)),
                            ("seconds", .number(r.seconds)), ("shard", .string(r.shard)),
                            ("commit", .string(r.commit ?? "unknown")),
                        ])
                    })
            ),
            (
                "teachers_trained_by_this_invocation",
                .array(
                    invocation.trained.map { t in
                        .object([
                            ("hash", .string(t.hash)), ("seconds", .number(t.seconds)),
                            ("parameters", .number(Double(t.parameters))),
                            ("steps", .number(Double(t.spec.training.steps))),
                        ])
                    })
            ),
        ]
        var overrides: [(String, JSONValue)] = []
        if !e.overrides.isEmpty { overrides = [("overrides", .array(e.overrides.map { .string($0.text) }))] }
        return .object(
            [
                ("lab_version", .string(LabVersion.string)),
                ("git_commit", .string(git.commit)),
                ("git_dirty_outside_results", git.dirty.map { .bool($0) } ?? .null),
                ("experiment", .string(e.name)),
                ("file", .string(e.file)),
                ("file_sha256", .string(fileHash)),
            ] + overrides + [
                ("kind", .string(e.kindName)),
                ("seeds", .array(e.seeds.map { .number(Double($0)) })),
                ("cells", .number(Double(e.cells.count))),
                ("command", .string(invocation.command)),
                ("shard", .string(invocation.shard.description)),
                ("cells_computed_by_this_invocation", .number(Double(invocation.computed))),
                ("cells_reused", .number(Double(invocation.reused))),
                ("cells_in_parallel", .number(Double(invocation.cellsInParallel))),
                ("teachers_loaded_from_cache", .number(Double(invocation.loadedFromCache.count))),
                ("started", .string(ISO8601DateFormatter().string(from: invocation.started))),
                ("durations", .object(durations)),
                ("machine", machine(threads: invocation.threads)),
            ])
    }

    static func machine(threads: Int) -> JSONValue {
        let info = ProcessInfo.processInfo
        var cpu = "unknown"
        if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
            let colon = line.firstIndex(of: ":")
        {
            cpu = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return .object([
            ("hostname", .string(info.hostName)),
            ("os", .string(info.operatingSystemVersionString)),
            ("cpu", .string(cpu)),
            ("logical_cores", .number(Double(info.processorCount))),
            ("active_cores", .number(Double(info.activeProcessorCount))),
            ("memory_gib", .number((Double(info.physicalMemory) / 1_073_741_824 * 10).rounded() / 10)),
            ("threads", .number(Double(threads))),
            ("blas", .string(BLASKernel.summary)),
        ])
    }

    /// The commit of the working directory's repository, and whether tracked files other than results differ
    /// from it (rewriting committed results must not make the code look modified).
    static func gitState() -> (commit: String, dirty: Bool?) {
        guard let commit = run(["git", "rev-parse", "HEAD"])?.trimmingCharacters(in: .whitespacesAndNewlines),
            !commit.isEmpty
        else { return ("unknown", nil) }
        let status = run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results"])
        return (commit, status.map { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty })
    }

    static func run(_ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
    }
}
