// AttackCost: what an attack has spent at one point — the ledger's queries, tokens and dollars, the
// teacher FLOPs its queries made the API spend, the attacker's own training and selection FLOPs, wall
// time — and the ratio of the attacker's total to the teacher's training cost. Counted, never estimated:
// API figures come from the ledger, FLOPs from the steps actually run.
import LabAPI

public struct AttackCost: Codable, Equatable, Sendable {
    public var queries: Int
    public var inputTokens: Int
    public var outputTokens: Int
    /// Query dollars, exactly, as the ledger charged them.
    public var dollars: Money
    /// Teacher inference FLOPs the queries cost the API (the defender's bill, not the attacker's).
    public var teacherInferenceFlops: Double
    /// `GPTConfig.trainingFlopsPerToken` × positions of every distillation step (6N + attention per token).
    public var studentTrainingFlops: Double
    /// Student forward passes spent choosing prompts (active selection), 2N + attention per token.
    public var studentInferenceFlops: Double
    /// Seconds of harvesting and training, evaluation excluded.
    public var wallSeconds: Double
    /// The teacher's training FLOPs, when known.
    public var teacherTrainingFlops: Double?
    /// The compute price the dollar ratio assumes (see `ExtractionTarget.computeDollarsPerExaflop`).
    public var computeDollarsPerExaflop: Double

    /// The attacker's own FLOPs: training plus selection.
    public var attackerFlops: Double { studentTrainingFlops + studentInferenceFlops }

    /// Attacker FLOPs ÷ teacher training FLOPs.
    public var flopRatio: Double? { teacherTrainingFlops.map { attackerFlops / $0 } }

    /// (query dollars + attacker FLOPs at the compute price) ÷ (teacher training FLOPs at the same price).
    public var costRatio: Double? {
        guard let t = teacherTrainingFlops, t > 0, computeDollarsPerExaflop > 0 else { return nil }
        let perFlop = computeDollarsPerExaflop / 1e18
        return (Double(dollars.picodollars) / 1e12 + attackerFlops * perFlop) / (t * perFlop)
    }

    public var tokens: Int { inputTokens + outputTokens }

    enum CodingKeys: String, CodingKey {
        case queries, inputTokens = "input_tokens", outputTokens = "output_tokens", dollars = "cost_picodollars"
        case teacherInferenceFlops = "teacher_inference_flops", studentTrainingFlops = "student_training_flops"
        case studentInferenceFlops = "student_inference_flops", wallSeconds = "wall_seconds", teacherTrainingFlops =
            "teacher_training_flops"
        case computeDollarsPerExaflop = "compute_dollars_per_exaflop", flopRatio = "flop_ratio", costRatio =
            "cost_ratio"
    }

    public init(
        usage: Usage, studentTrainingFlops: Double, studentInferenceFlops: Double, wallSeconds: Double,
        teacherTrainingFlops: Double?, computeDollarsPerExaflop: Double
    ) {
        queries = usage.queries
        inputTokens = usage.inputTokens
        outputTokens = usage.outputTokens
        dollars = usage.cost
        teacherInferenceFlops = usage.flops
        self.studentTrainingFlops = studentTrainingFlops
        self.studentInferenceFlops = studentInferenceFlops
        self.wallSeconds = wallSeconds
        self.teacherTrainingFlops = teacherTrainingFlops
        self.computeDollarsPerExaflop = computeDollarsPerExaflop
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        queries = try c.decode(Int.self, forKey: .queries)
        inputTokens = try c.decode(Int.self, forKey: .inputTokens)
        outputTokens = try c.decode(Int.self, forKey: .outputTokens)
        dollars = Money(picodollars: try c.decode(Int64.self, forKey: .dollars))
        teacherInferenceFlops = try c.decode(Double.self, forKey: .teacherInferenceFlops)
        studentTrainingFlops = try c.decode(Double.self, forKey: .studentTrainingFlops)
        studentInferenceFlops = try c.decode(Double.self, forKey: .studentInferenceFlops)
        wallSeconds = try c.decode(Double.self, forKey: .wallSeconds)
        teacherTrainingFlops = try c.decodeIfPresent(Double.self, forKey: .teacherTrainingFlops)
        computeDollarsPerExaflop = try c.decode(Double.self, forKey: .computeDollarsPerExaflop)
    }

    /// Writes the derived ratios too, so a results file reads without recomputing them.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(queries, forKey: .queries)
        try c.encode(inputTokens, forKey: .inputTokens)
        try c.encode(outputTokens, forKey: .outputTokens)
        try c.encode(dollars.picodollars, forKey: .dollars)
        try c.encode(teacherInferenceFlops, forKey: .teacherInferenceFlops)
        try c.encode(studentTrainingFlops, forKey: .studentTrainingFlops)
        try c.encode(studentInferenceFlops, forKey: .studentInferenceFlops)
        try c.encode(wallSeconds, forKey: .wallSeconds)
        try c.encodeIfPresent(teacherTrainingFlops, forKey: .teacherTrainingFlops)
        try c.encode(computeDollarsPerExaflop, forKey: .computeDollarsPerExaflop)
        try c.encodeIfPresent(flopRatio, forKey: .flopRatio)
        try c.encodeIfPresent(costRatio, forKey: .costRatio)
    }
}
