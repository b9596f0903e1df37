// ExperimentSummary: the words the CLI prints about an experiment — its plan (for `validate`), what a run or
// merge did, and the registry's kinds with their sections and outputs. Not results files (ResultsWriter).
import Foundation

public enum ExperimentSummary {
    /// "ok: Experiments/x.yaml — experiment x, kind k, 12 cells = width (2) × steps (2) × seed (3)" and the outputs.
    public static func text(_ e: Experiment) -> String {
        var lines = [
            "ok: \(e.file) — experiment '\(e.name)', kind '\(e.kindName)', \(e.cells.count) cells = "
                + e.axes.map { "\($0.name) (\($0.labels.count))" }.joined(separator: " × ")
        ]
        for axis in e.axes { lines.append("  \(axis.name): \(axis.labels.joined(separator: ", "))") }
        lines.append("  (a seed drives \(e.seedMeaning))")
        lines.append(
            "  \(e.tables.count) table(s), \(e.plots.count) plot(s); distinct cells to compute: \(Set(e.cells.map(\.hash)).count)"
        )
        return lines.joined(separator: "\n")
    }

    /// Prints the tables (stdout) and what was written or what is missing (stderr).
    public static func report(_ summary: RunSummary, experiment e: Experiment, output: URL) {
        let err = FileHandle.standardError
        if summary.missing > 0 {
            err.write(
                Data(
                    ("\(summary.computed) cell(s) computed, \(summary.reused) already finished; \(summary.missing) of \(summary.total) cells of the grid have no result yet in \(output.path)/cells.\n"
                        + "Run the remaining shards (distill-lab run \(e.file) --shard i/n), then: distill-lab merge \(e.file) DIR... --out \(output.path)\n")
                        .utf8))
            return
        }
        if let table = try? String(contentsOf: output.appendingPathComponent("table.md"), encoding: .utf8) {
            print(table, terminator: "")
        }
        err.write(
            Data(
                "\(summary.computed) cell(s) computed, \(summary.reused) reused, in \(String(format: "%.1f", summary.seconds)) s; wrote \(summary.wrote.count) files to \(output.path)/ (open report.html in a browser)\n"
                    .utf8))
    }
}

/// The registry documented: each kind's sections, seed meaning and outputs.
public enum KindDocumentation {
    public static var markdown: String { render(ExperimentRegistry.kinds) }

    public static func render(_ kinds: [any ExperimentKind.Type]) -> String {
        var lines: [String] = []
        for kind in kinds {
            lines.append("## `\(kind.name)` — \(kind.summary)")
            lines.append("")
            let sections = kind.reads.map { "`\($0.rawValue)`" } + kind.settingsKeys.map { "`\($0)` (own)" }
            lines.append("Reads: \(sections.joined(separator: ", ")). Seed: \(kind.seedMeaning).")
            lines.append("")
            lines.append("| output | role | meaning |")
            lines.append("|---|---|---|")
            for o in kind.outputs { lines.append("| `\(o.name)` | \(o.role.rawValue) | \(o.meaning) |") }
            lines.append("")
        }
        return lines.joined(separator: "\n")
    }
}
