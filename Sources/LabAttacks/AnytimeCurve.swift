// AnytimeCurve: what one attack run returns — the student's fidelity and the attack's cumulative cost
// at every budget milestone, beside the teacher's own numbers — as a value, a Markdown table and CSV.
// Not plots, and not aggregation across runs beyond `meanAndStd` (the experiment runner's job).
import Foundation

public struct CurvePoint: Codable, Equatable, Sendable {
    /// The milestone, in the budget's unit (dollars as dollars).
    public var milestone: Double
    /// What had been spent when the student was evaluated, in the same unit (at most the milestone).
    public var spent: Double
    /// Harvest records, and target positions among them.
    public var records: Int
    public var targets: Int
    /// Distillation steps taken so far.
    public var trainingSteps: Int
    public var fidelity: FidelityReport
    public var cost: AttackCost

    enum CodingKeys: String, CodingKey {
        case milestone, spent, records, targets, trainingSteps = "training_steps", fidelity, cost
    }
}

public struct AnytimeCurve: Codable, Equatable, Sendable {
    /// The attack as run (every default filled in).
    public var attack: AttackConfig
    /// Summaries of the parts as built, defaults included: strategy, harvest, loss, defences.
    public var strategy: String
    public var harvest: String
    public var loss: String
    public var defences: String
    /// The student's shape.
    public var studentWidth: Int
    public var studentLayers: Int
    public var studentParameters: Int
    public var teacher: TeacherReference
    public var points: [CurvePoint]

    enum CodingKeys: String, CodingKey {
        case attack, strategy, harvest, loss, defences, studentWidth = "student_width", studentLayers = "student_layers"
        case studentParameters = "student_parameters", teacher, points
    }

    public var unit: BudgetUnit { attack.budget.unit }

    /// One row per milestone: spend, fidelity, perplexity beside the teacher's, and costs.
    public var markdownTable: String {
        var header = ["\(unit.rawValue)", "agreement", "KL(t‖s)", "TV", "student ppl", "teacher ppl", "queries", "tokens", "dollars", "attacker FLOPs", "× teacher training", "wall s"]
        let hasTasks = points.contains { $0.fidelity.exactMatch != nil }
        if hasTasks { header.insert("exact match", at: 6) }
        var lines = ["| " + header.joined(separator: " | ") + " |", "|" + String(repeating: "---|", count: header.count)]
        for p in points {
            var row = [
                unit == .dollars ? String(format: "$%.6g", p.spent) : String(format: "%.0f", p.spent),
                String(format: "%.4f", p.fidelity.agreement), String(format: "%.4f", p.fidelity.klTeacherStudent),
                String(format: "%.4f", p.fidelity.totalVariation),
                p.fidelity.studentPerplexity.map { String(format: "%.3f", $0) } ?? "—",
                teacher.perplexity.map { String(format: "%.3f", $0) } ?? "—",
                String(p.cost.queries), String(p.cost.tokens), p.cost.dollars.description,
                String(format: "%.3g", p.cost.attackerFlops), p.cost.flopRatio.map { String(format: "%.3g", $0) } ?? "—",
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
        var lines = ["milestone,spent,records,targets,training_steps,agreement,kl_teacher_student,total_variation,student_perplexity,teacher_perplexity,entropy_rate,exact_match,queries,input_tokens,output_tokens,cost_picodollars,teacher_inference_flops,student_training_flops,student_inference_flops,flop_ratio,cost_ratio,wall_seconds"]
        func opt(_ x: Double?) -> String { x.map { String($0) } ?? "" }
        for p in points {
            let f = p.fidelity, c = p.cost
            lines.append([String(p.milestone), String(p.spent), String(p.records), String(p.targets), String(p.trainingSteps),
                          String(f.agreement), String(f.klTeacherStudent), String(f.totalVariation), opt(f.studentPerplexity), opt(teacher.perplexity),
                          opt(teacher.entropyRate), opt(f.exactMatch), String(c.queries), String(c.inputTokens), String(c.outputTokens),
                          String(c.dollars.picodollars), String(c.teacherInferenceFlops), String(c.studentTrainingFlops), String(c.studentInferenceFlops),
                          opt(c.flopRatio), opt(c.costRatio), String(format: "%.3f", c.wallSeconds)].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Mean and sample standard deviation (n − 1) of a list, for "mean ± std over seeds" tables.
public func meanAndStd(_ xs: [Double]) -> (mean: Double, std: Double) {
    guard !xs.isEmpty else { return (.nan, .nan) }
    let mean = xs.reduce(0, +) / Double(xs.count)
    guard xs.count > 1 else { return (mean, 0) }
    let variance = xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(xs.count - 1)
    return (mean, variance.squareRoot())
}
