// LogitLeakSweep+Report: a logit-leak sweep's report as Markdown tables, for `distill-lab steal`. Not the sweep
// or its numbers (LabAttacks' LogitLeakSweep), nor the runner's `logit_leak` kind tables.
import Foundation
import LabAttacks

extension LogitLeakSweep.Report {
    /// A Markdown table, one row per (subject, mode, rounding, σ) over its seeds, then the thresholds.
    public var markdown: String {
        func g(_ x: Double) -> String { x == 0 ? "0" : String(format: "%.3g", x) }
        var lines = [
            "| teacher | harvest | noise σ | rounding | width, largest gap (per seed) | exact | ln gap | contrast | width, Gavish–Donoho | RMS error | unrecovered | queries/vector | queries | dollars |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        var seen: [String] = []
        for c in cells {
            let key = "\(c.subject)|\(c.harvest)|\(c.rounding.map(String.init) ?? "-")|\(c.noise)"
            if seen.contains(key) { continue }
            seen.append(key)
            let group = cells.filter {
                "\($0.subject)|\($0.harvest)|\($0.rounding.map(String.init) ?? "-")|\($0.noise)" == key
            }
            let rounding = c.rounding.map { "\($0) dp" } ?? "—"
            let results = group.compactMap(\.result)
            if results.isEmpty {
                let reason = group.first?.refusal ?? "no result"
                lines.append(
                    "| \(c.subject) | \(c.harvest) | \(g(c.noise)) | \(rounding) | refused: \(reason.replacingOccurrences(of: "|", with: "/")) | — | — | — | — | — | — | — | — | — |"
                )
                continue
            }
            func mean(_ xs: [Double]) -> Double { xs.isEmpty ? .nan : xs.reduce(0, +) / Double(xs.count) }
            let widths = group.map { $0.result.map { String($0.estimate.width) } ?? "refused" }.joined(separator: ", ")
            let exact =
                c.trueWidth.map { w in "\(results.filter { $0.estimate.width == w }.count)/\(group.count)" } ?? "—"
            let gap = mean(results.map(\.estimate.logGap))
            let contrast = mean(results.map { $0.estimate.logGap - $0.estimate.runnerUpLogGap })
            let edgeWidths = group.map { $0.result.map { String($0.estimate.bulkEdgeWidth) } ?? "refused" }.joined(
                separator: ", ")
            let errors = results.compactMap { $0.alignment?.rmsError }
            let error = errors.isEmpty ? "—" : String(format: "%.2e", mean(errors))
            let unrecovered = mean(
                results.map { Double($0.unrecoveredEntries) / Double($0.options.vectors * $0.vocabularySize) })
            let queries = mean(results.map { Double($0.usage.queries) })
            let dollars = mean(results.map { NSDecimalNumber(decimal: $0.usage.cost.dollars).doubleValue })
            lines.append(
                "| \(c.subject) | \(c.harvest) | \(g(c.noise)) | \(rounding) | \(widths) | \(exact) | \(String(format: "%.2f", gap)) | \(String(format: "%.2f", contrast)) | \(edgeWidths) | \(error) | \(String(format: "%.1f%%", unrecovered * 100)) | \(results[0].queriesPerVector) | \(String(format: "%.0f", queries)) | \(String(format: "%.6f", dollars)) |"
            )
        }
        if !thresholds.isEmpty {
            lines += [
                "", "Where the width is lost, per seed (σ > 0 of the grid; s_C and G from the noise-free cell):", "",
                "| teacher | harvest | rounding | seed | s_C | G | largest gap: exact at every σ ≤ | missed at every σ ≥ | predicted | Gavish–Donoho: exact at every σ ≤ | missed at every σ ≥ | predicted (phase transition) |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|",
            ]
            func opt(_ x: Double?, _ none: String = "—") -> String { x.map(g) ?? none }
            for t in thresholds {
                lines.append(
                    "| \(t.subject) | \(t.mode.rawValue + (t.topK.map { " k=\($0)" } ?? "")) | \(t.rounding.map { "\($0) dp" } ?? "—") | \(t.seed) | \(opt(t.weakestSingularValue)) | \(t.largestSignalLogGap.map { String(format: "%.2f", $0) } ?? "—") | \(opt(t.foundUpTo, "never")) | \(opt(t.lostFrom)) | \(opt(t.predictedLargestGap)) | \(opt(t.bulkEdgeFoundUpTo, "never")) | \(opt(t.bulkEdgeLostFrom)) | \(opt(t.predictedDetectable)) |"
                )
            }
        }
        return lines.joined(separator: "\n")
    }
}

extension LogitLeakSweep.Report {
    /// Writes sweep.json (spectra to 6 significant digits) and sweep.md into `directory`, each atomically.
    @discardableResult
    public func write(to directory: URL) throws -> [URL] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try ReportFiles.write(
            [("sweep.json", try encoder.encode(rounded())), ("sweep.md", Data((markdown + "\n").utf8))],
            to: directory)
    }
}
