// `distill-lab run FILE`: runs an experiment's cells (resuming any finished ones, optionally one shard of them)
// and, once the grid is complete, writes results/<experiment>/ and prints its tables.
import ArgumentParser
import Foundation
import LabCore
import LabExperiments
import LabService

/// Where results and cached teachers go.
struct OutputOptions: ParsableArguments {
    @Option(help: "Output directory (default: results/<experiment>).") var out: String?
    @Option(help: "Teacher cache directory (default: $DISTILL_LAB_CACHE, else .distill-lab-cache).") var cache: String?
    @Flag(help: "Run even when the output directory holds another experiment's results, deleting its cells.")
    var overwriteForeign = false
    @Flag(help: "When another distill-lab process is using the output directory, wait for it instead of refusing.")
    var wait = false
    @Flag(
        help:
            "Compute into the repository's results/ even with uncommitted code changes (the manifest records a dirty tree)."
    )
    var allowDirty = false
    @Option(
        help:
            "Cells to run at once: auto (a cost model of the cells' shapes chooses), 1 (one cell at a time on every worker) or N (N cells side by side, the workers shared among them). Results do not depend on it."
    ) var jobs = "auto"

    /// results/<experiment>; with `--set` overrides runs/<experiment>-set-<digest>, so an overridden run never
    /// lands on the file's own results.
    func output(for experiment: Experiment) -> URL {
        if let out { return URL(fileURLWithPath: out) }
        guard !experiment.overrides.isEmpty else { return URL(fileURLWithPath: "results/\(experiment.name)") }
        return URL(fileURLWithPath: "runs/\(experiment.name)-set-\(Override.digest(experiment.overrides))")
    }
    var teacherCache: TeacherCache {
        TeacherCache(directory: cache.map { URL(fileURLWithPath: $0) } ?? TeacherCache.defaultDirectory)
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run an experiment file: resumable, shardable; writes results/<experiment>/ when every cell is done.")

    @OptionGroup var threads: ThreadOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "Experiment file (YAML).") var file: String
    @Option(
        help:
            "Run only shard i of n (1-based), e.g. --shard 2/3; then `distill-lab merge` the shards' --out directories."
    ) var shard: String?
    @Flag(help: "Discard finished cells in the output directory and compute every cell again.") var fresh = false
    @Flag(help: "No progress bars.") var quiet = false
    @Option(
        name: .customLong("set"),
        help: ArgumentHelp(
            "Override one value of the file, e.g. --set teacher.model.width=32 (repeatable; the value is YAML). Results go to runs/<experiment>-set-<digest> unless --out.",
            valueName: "key.path=value")) var overrides: [String] = []

    func validate() throws {
        if let shard { _ = try Shard(parsing: shard) }
        for text in overrides { _ = try Override(parsing: text) }
        _ = try CellJobs(parsing: output.jobs)
    }

    func run() throws {
        try threads.scope {
            let experiment = try Experiment.load(path: file, overrides: try overrides.map(Override.init(parsing:)))
            try Self.execute(experiment, output: output, shard: shard, fresh: fresh, quiet: quiet)
        }
    }

    /// Runs a loaded experiment and reports it: what `run` does after reading the file (shared with
    /// `distill-lab campaign FILE`).
    static func execute(_ experiment: Experiment, output: OutputOptions, shard: String?, fresh: Bool, quiet: Bool)
        throws
    {
        var options = RunOptions(
            output: output.output(for: experiment), cache: output.teacherCache, threads: Parallel.workers)
        options.shard = try shard.map(Shard.init(parsing:)) ?? .whole
        options.fresh = fresh
        options.overwriteForeign = output.overwriteForeign
        options.waitForLock = output.wait
        options.allowDirtyTree = output.allowDirty
        options.showProgress = !quiet
        options.jobs = try CellJobs(parsing: output.jobs)
        // Attack cells with `endpoint:` reach their served teacher over HTTP.
        options.remoteTeachers = HTTPTeacherConnector()
        let summary = try Runner.run(experiment, options: options)
        ExperimentSummary.report(summary, experiment: experiment, output: options.output)
    }
}
