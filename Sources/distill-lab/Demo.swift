// `distill-lab demo`: the one-minute classroom run — Experiments/quickstart.yaml computed from scratch (the
// teacher comes from the cache after the first time), its tables, its plots drawn in the terminal, and the
// HTML report to open.
import ArgumentParser
import Foundation
import LabCore
import LabExperiments

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Classroom demo: run Experiments/quickstart.yaml, print its table and a terminal chart, write the HTML report."
    )

    @OptionGroup var threads: ThreadOptions
    @Option(help: "Experiment file to demonstrate.") var file: String = LabExperiments.Demo.defaultFile
    @Option(help: "Output directory.") var out: String = LabExperiments.Demo.defaultOutput
    @Option(help: "Teacher cache directory (default: $DISTILL_LAB_CACHE, else .distill-lab-cache).") var cache: String?
    @Flag(help: "Keep cells finished by an earlier demo instead of recomputing them.") var resume = false
    @Flag(
        help:
            "Instead: a BPE teacher on real text (the fortunes corpus) and two distilled students continue held-out prompts side by side."
    )
    var text = false

    func run() throws {
        try threads.scope {
            let cacheDirectory = cache.map { URL(fileURLWithPath: $0) } ?? TeacherCache.defaultDirectory
            if text {
                print(
                    try LabExperiments.Demo.textContinuations(
                        cache: TeacherCache(directory: cacheDirectory),
                        log: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }))
                return
            }
            let outcome = try LabExperiments.Demo.run(
                file: file, output: URL(fileURLWithPath: out), cache: TeacherCache(directory: cacheDirectory),
                threads: Parallel.workers, resume: resume,
                log: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })
            print(outcome.tables)
            for chart in outcome.charts { print(chart) }
            print("Report: \(outcome.report.path) (open it in a browser)")
            print(
                String(
                    format: "Demo finished in %.1f s on %d threads (%d cells computed).", outcome.seconds,
                    Parallel.workers,
                    outcome.summary.computed))
        }
    }
}
