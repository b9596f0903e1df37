// `distill-lab merge FILE DIR...`: joins the cells of shard runs (their --out directories) into one output
// directory and writes the same results a single unsharded run would.
import ArgumentParser
import Foundation
import LabCore
import LabExperiments

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Join the output directories of `run --shard i/n` into the results of the whole grid.")

    @Argument(help: "Experiment file (YAML) the shards ran.") var file: String
    @Argument(help: "Output directories of the shard runs.") var shards: [String] = []
    @Option(help: "Output directory (default: results/<experiment>).") var out: String?
    @Flag(help: "Merge even when the output directory holds another experiment's results, deleting its cells.")
    var overwriteForeign = false
    @Flag(help: "When another distill-lab process is using the output directory, wait for it instead of refusing.")
    var wait = false

    func validate() throws {
        if shards.isEmpty {
            throw ValidationError(
                "give the shard runs' output directories, e.g. distill-lab merge FILE runs/s1 runs/s2 runs/s3")
        }
    }

    func run() throws {
        let experiment = try Experiment.load(path: file)
        let output = URL(fileURLWithPath: out ?? "results/\(experiment.name)")
        let summary = try Runner.merge(
            experiment, from: shards.map { URL(fileURLWithPath: $0) }, into: output, threads: ProcessInfoCores.active,
            overwriteForeign: overwriteForeign, wait: wait,
            log: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })
        ExperimentSummary.report(summary, experiment: experiment, output: output)
        if summary.missing > 0 { throw ExitCode(2) }
    }
}
