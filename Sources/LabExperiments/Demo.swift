// Demo: the classroom run behind `distill-lab demo` — runs an experiment file (Experiments/quickstart.yaml)
// from scratch into a scratch directory, then hands back its tables and its plots drawn for the terminal,
// and the report to open. Generic over the file: whatever kinds the quickstart runs, the demo shows their
// tables and plots without a code change. Not a separate benchmark.
import Foundation
import LabCore

public enum Demo {
    public static let defaultFile = "Experiments/quickstart.yaml"
    public static let defaultOutput = "runs/demo"

    public struct Outcome {
        public var experiment: Experiment
        public var summary: RunSummary
        /// table.md as written.
        public var tables: String
        /// One terminal chart per plot of the file.
        public var charts: [String]
        public var report: URL
        public var seconds: Double
    }

    /// Runs `file` into `output` (recomputing every cell unless `resume`; teachers still come from the cache).
    public static func run(
        file: String, output: URL, cache: TeacherCache, threads: Int, resume: Bool = false, showProgress: Bool = true,
        log: @escaping (String) -> Void
    ) throws -> Outcome {
        let start = Date()
        let experiment: Experiment
        do {
            experiment = try Experiment.load(path: file)
        } catch let e as ExperimentError where e.message.hasPrefix("cannot read the file") {
            throw LabError.file(
                path: file, message: "not found; run the demo from the repository root, or pass --file PATH")
        }
        var options = RunOptions(output: output, cache: cache, threads: threads, log: log)
        options.fresh = !resume
        options.showProgress = showProgress
        let summary = try Runner.run(experiment, options: options)
        let tables = (try? String(contentsOf: output.appendingPathComponent("table.md"), encoding: .utf8)) ?? ""
        return Outcome(
            experiment: experiment, summary: summary, tables: tables, charts: try charts(experiment, output: output),
            report: output.appendingPathComponent("report.html"), seconds: Date().timeIntervalSince(start))
    }

    /// The experiment's plots drawn as text, from the finished cells in `output`.
    public static func charts(_ experiment: Experiment, output: URL) throws -> [String] {
        let store = CellStore(directory: output.appendingPathComponent("cells"))
        var records: [CellRecord] = []
        for cell in experiment.cells {
            guard let r = try store.record(cell.hash) else { return [] }
            records.append(r)
        }
        let results = ResultSet(experiment: experiment, records: records)
        return experiment.plots.enumerated().map { TerminalChart.render(PlotData.build($1, index: $0, from: results)) }
    }
}
