// `distill-lab campaign`: the entry point of proxy-account campaigns. With an experiment file of kind `campaign`
// it is `distill-lab run` restricted to that kind (cells, resume, shards, tables, plots, report.html, manifest
// through the experiment runner); with --benchmark it times the detection-only scale run. Not a second reader
// of experiment files: the runner's `campaign` kind (LabExperiments/Kind+Campaign.swift) is the only one.
import ArgumentParser
import Foundation
import LabCampaigns
import LabCore
import LabExperiments

struct CampaignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "campaign",
        abstract:
            "Run a proxy-account campaign experiment (kind: campaign) through the experiment runner, or time the detection-only benchmark."
    )

    @OptionGroup var threads: ThreadOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "Experiment file (YAML, kind: campaign); the same as `distill-lab run FILE`.") var file: String?
    @Option(
        help:
            "Run only shard i of n (1-based), e.g. --shard 2/3; then `distill-lab merge` the shards' --out directories."
    ) var shard: String?
    @Flag(help: "Discard finished cells in the output directory and compute every cell again.") var fresh = false
    @Flag(help: "No progress bars.") var quiet = false
    @Flag(
        help:
            "Time the detection-only scale run (by default 16,000 users, ~1.04M requests, a 1,000-account campaign, all detectors) instead of a file."
    )
    var benchmark = false
    @Option(
        help:
            "With --benchmark: requests the run must handle (16,000 honest users per million; the attack's budget is a tenth)."
    ) var requests: Int?
    @Option(help: "With --benchmark: proxy accounts the campaign opens at the start (default 1,000).") var accounts:
        Int?
    @Option(
        help:
            "With --benchmark: the detectors in force, comma-separated (default: volume,prada,fingerprint,clustering).")
    var detectors: String?
    @Option(
        help:
            "With --benchmark: the clustering detector seeks neighbours among this many accounts (a fixed hash sample; default: among all)."
    ) var clusteringReference: Int?

    var scale: CampaignBenchmark.Scale {
        var s = CampaignBenchmark.Scale()
        if let requests { s.requests = requests }
        if let accounts { s.accounts = accounts }
        if let detectors { s.detectors = detectors.split(separator: ",").map { String($0) } }
        s.clusteringReference = clusteringReference
        return s
    }

    func validate() throws {
        if benchmark {
            guard file == nil else { throw ValidationError("--benchmark runs its own fixed cell; give no file") }
            do { try scale.validate() } catch { throw ValidationError("\(error)") }
            return
        }
        guard requests == nil, accounts == nil, detectors == nil, clusteringReference == nil else {
            throw ValidationError(
                "--requests, --accounts, --detectors and --clustering-reference shape the benchmark; use them with --benchmark (in a file, set detectors.clustering.reference_accounts)"
            )
        }
        guard file != nil else { throw ValidationError("give an experiment file (kind: campaign), or --benchmark") }
        if let shard { _ = try Shard(parsing: shard) }
    }

    func run() throws {
        try threads.scope {
            guard !benchmark else { return try runBenchmark() }
            guard let file else { return }
            let experiment = try Experiment.load(path: file)
            guard experiment.kindName == CampaignKind.name else {
                throw ValidationError(
                    "\(file) is of kind '\(experiment.kindName)'; `distill-lab campaign` runs kind campaign (use `distill-lab run` for the others)"
                )
            }
            try Run.execute(experiment, output: output, shard: shard, fresh: fresh, quiet: quiet)
        }
    }

    func runBenchmark() throws {
        let report = try CampaignBenchmark.run(scale: scale) {
            FileHandle.standardError.write(Data("campaign benchmark: \($0)\n".utf8))
        }
        let o = report.outcome
        print(
            "requests handled      \(report.requests) (\(o.benign.requests) honest, \(o.requests - o.benign.requests) attack)"
        )
        print("wall seconds          \(String(format: "%.2f", report.wallSeconds))")
        print("CPU seconds           \(String(format: "%.2f", report.cpuSeconds)) (user + system, all threads)")
        print("requests per second   \(String(format: "%.0f", report.requestsPerSecond))")
        print("peak RSS              \(String(format: "%.0f", report.peakResidentMebibytes)) MiB")
        for d in o.detectors {
            print(
                "\(d.detector.padding(toLength: 12, withPad: " ", startingAt: 0)) TPR \(String(format: "%.3f", d.truePositiveRate))  FPR \(String(format: "%.4f", d.falsePositiveRate))"
            )
        }
        print(
            "attack budget share   \(String(format: "%.3f", o.attack.budgetShare)), accounts opened \(o.attack.accountsOpened)"
        )
    }
}
