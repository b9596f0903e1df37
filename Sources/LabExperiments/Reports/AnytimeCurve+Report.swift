// AnytimeCurve+Report: one attack run's curve as a Markdown table and as CSV, for `distill-lab attack` and for
// scripts. Not the experiment runner's tables across cells (TableBuilder), nor the curve itself (LabAttacks).
import Foundation
import LabAttacks

extension AnytimeCurve {
    /// One row per milestone: spend, fidelity, perplexity beside the teacher's, and costs.
    public var markdownTable: String {
        var header = [
            "\(unit.rawValue)", "agreement", "KL(t‖s)", "TV", "student ppl", "teacher ppl", "queries", "tokens",
            "dollars", "attacker FLOPs", "× teacher training", "wall s",
        ]
        let hasTasks = points.contains { $0.fidelity.exactMatch != nil }
        if hasTasks { header.insert("exact match", at: 6) }
        var lines = [
            "| " + header.joined(separator: " | ") + " |", "|" + String(repeating: "---|", count: header.count),
        ]
        for p in points {
            var row = [
                unit == .dollars ? String(format: "$%.6g", p.spent) : String(format: "%.0f", p.spent),
                String(format: "%.4f", p.fidelity.agreement), String(format: "%.4f", p.fidelity.klTeacherStudent),
                String(format: "%.4f", p.fidelity.totalVariation),
                p.fidelity.studentPerplexity.map { String(format: "%.3f", $0) } ?? "—",
                teacher.perplexity.map { String(format: "%.3f", $0) } ?? "—",
                String(p.cost.queries), String(p.cost.tokens), p.cost.dollars.description,
                String(format: "%.3g", p.cost.attackerFlops),
                p.cost.flopRatio.map { String(format: "%.3g", $0) } ?? "—",
                String(format: "%.1f", p.cost.wallSeconds),
            ]
            if hasTasks {
                let t = teacher.exactMatch.map { String(format: " (teacher %.3f)", $0) } ?? ""
                row.insert((p.fidelity.exactMatch.map { String(format: "%.3f", $0) } ?? "—") + t, at: 6)
            }
            lines.append("| " + row.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n")
    }

    /// Machine-readable rows, one per milestone.
    public var csv: String {
        var lines = [
            "milestone,spent,records,targets,training_steps,agreement,kl_teacher_student,total_variation,student_perplexity,teacher_perplexity,entropy_rate,exact_match,queries,input_tokens,output_tokens,cost_picodollars,teacher_inference_flops,student_training_flops,student_inference_flops,flop_ratio,cost_ratio,wall_seconds"
        ]
        func opt(_ x: Double?) -> String { x.map { String($0) } ?? "" }
        for p in points {
            let f = p.fidelity, c = p.cost
            lines.append(
                [
                    String(p.milestone), String(p.spent), String(p.records), String(p.targets), String(p.trainingSteps),
                    String(f.agreement), String(f.klTeacherStudent), String(f.totalVariation), opt(f.studentPerplexity),
                    opt(teacher.perplexity),
                    opt(teacher.entropyRate), opt(f.exactMatch), String(c.queries), String(c.inputTokens),
                    String(c.outputTokens),
                    String(c.dollars.picodollars), String(c.teacherInferenceFlops), String(c.studentTrainingFlops),
                    String(c.studentInferenceFlops),
                    opt(c.flopRatio), opt(c.costRatio), String(format: "%.3f", c.wallSeconds),
                ].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension AnytimeCurve {
    /// The curve as pretty-printed JSON with sorted keys.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// Writes curve.json, curve.csv and table.md into `directory` (created if needed), each atomically.
    @discardableResult
    public func write(to directory: URL) throws -> [URL] {
        try ReportFiles.write(
            [
                ("curve.json", try json()), ("curve.csv", Data(csv.utf8)),
                ("table.md", Data((markdownTable + "\n").utf8)),
            ],
            to: directory)
    }
}
