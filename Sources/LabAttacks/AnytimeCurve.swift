// AnytimeCurve: what one attack run returns — the student's fidelity and the attack's cumulative cost
// at every budget milestone, beside the teacher's own numbers, as a Codable value. Not its Markdown and CSV
// (LabExperiments' Reports/AnytimeCurve+Report.swift), not plots, and not aggregation beyond `meanAndStd`.
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
    /// What a harvest that decides as it goes (`adaptive`) chose, with what it measured; nil for the others.
    public var plan: String? = nil

    enum CodingKeys: String, CodingKey {
        case attack, strategy, harvest, loss, defences, studentWidth = "student_width", studentLayers = "student_layers"
        case studentParameters = "student_parameters", teacher, points, plan
    }

    public var unit: BudgetUnit { attack.budget.unit }
}

/// Mean and sample standard deviation (n − 1) of a list, for "mean ± std over seeds" tables.
public func meanAndStd(_ xs: [Double]) -> (mean: Double, std: Double) {
    guard !xs.isEmpty else { return (.nan, .nan) }
    let mean = xs.reduce(0, +) / Double(xs.count)
    guard xs.count > 1 else { return (mean, 0) }
    let variance = xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(xs.count - 1)
    return (mean, variance.squareRoot())
}
