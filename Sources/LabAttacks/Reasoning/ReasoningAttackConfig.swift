// ReasoningAttackConfig: what an attack on a reasoning API is — the trace policy it faces, how it harvests
// (one greedy answer per problem, or several sampled ones filtered by its own arithmetic), the query milestones,
// the student and its training — Codable with snake_case keys and a closed schema. Not the run (ReasoningAttack).
import LabAPI
import LabCore
import LabDefences

public struct ReasoningAttackConfig: Codable, Equatable, Sendable {
    public enum Harvest: String, Codable, CaseIterable, Sendable {
        /// One completion per problem at temperature 0; every one is kept.
        case greedy
        /// `samples` completions per problem at `temperature`, each billed; only those whose answer is the sum
        /// and whose every shown step is a step of the sum's column addition are kept (rejection sampling, as
        /// in STaR, Zelikman et al. 2022, and rejection-sampling fine-tuning, Yuan et al. 2023).
        case rejection
    }

    public var tracePolicy: TracePolicySpec = TracePolicySpec("full")
    public var harvest: Harvest = .greedy
    /// rejection: completions bought per problem.
    public var samples = 4
    /// rejection: sampling temperature.
    public var temperature: Float = 1
    /// Queries bought before each measurement, ascending.
    public var milestones: [Int] = [250, 500, 1000]
    /// Queries per API call.
    public var roundSize = 64
    /// The student: a GPT trained from scratch at each milestone on the harvest so far.
    public var width = 64
    public var layers = 2
    public var heads = 4
    public var contextLength = 64
    public var steps = 400
    public var batchSize = 32
    public var learningRate: Float = 3e-3
    /// Held-out test problems the student is scored on at each milestone.
    public var evaluationProblems = 200
    public var seed: UInt64 = 0

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case tracePolicy = "trace_policy", harvest, samples, temperature, milestones, roundSize = "round_size"
        case width, layers, heads, contextLength = "context_length", steps, batchSize = "batch_size"
        case learningRate = "learning_rate", evaluationProblems = "evaluation_problems", seed
    }

    /// Every key optional with the defaults above; an unknown key is an error naming it.
    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue), section: "reasoning")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tracePolicy = try c.decodeIfPresent(TracePolicySpec.self, forKey: .tracePolicy) ?? tracePolicy
        if let raw = try c.decodeIfPresent(String.self, forKey: .harvest) {
            guard let value = Harvest(rawValue: raw) else {
                throw LabError.invalidConfig(
                    key: "harvest", message: "is '\(raw)'; expected one of greedy, rejection")
            }
            harvest = value
        }
        samples = try c.decodeIfPresent(Int.self, forKey: .samples) ?? samples
        temperature = try c.decodeIfPresent(Float.self, forKey: .temperature) ?? temperature
        milestones = try c.decodeIfPresent([Int].self, forKey: .milestones) ?? milestones
        roundSize = try c.decodeIfPresent(Int.self, forKey: .roundSize) ?? roundSize
        width = try c.decodeIfPresent(Int.self, forKey: .width) ?? width
        layers = try c.decodeIfPresent(Int.self, forKey: .layers) ?? layers
        heads = try c.decodeIfPresent(Int.self, forKey: .heads) ?? heads
        contextLength = try c.decodeIfPresent(Int.self, forKey: .contextLength) ?? contextLength
        steps = try c.decodeIfPresent(Int.self, forKey: .steps) ?? steps
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? batchSize
        learningRate = try c.decodeIfPresent(Float.self, forKey: .learningRate) ?? learningRate
        evaluationProblems = try c.decodeIfPresent(Int.self, forKey: .evaluationProblems) ?? evaluationProblems
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? seed
    }

    /// Throws `LabError.invalidConfig` naming the first key out of range.
    public func validate() throws {
        func check(_ ok: Bool, _ key: String, _ message: String) throws {
            if !ok { throw LabError.invalidConfig(key: key, message: message) }
        }
        _ = try TracePolicyRegistry.make(tracePolicy)
        try check((1...64).contains(samples), "samples", "is \(samples); allowed range 1...64")
        try check(
            temperature > 0 && temperature <= 10, "temperature",
            "is \(temperature); rejection sampling needs a temperature in (0, 10]")
        try check(!milestones.isEmpty, "milestones", "is empty; give at least one query count")
        try check(
            milestones.allSatisfy { (1...10_000_000).contains($0) }
                && zip(milestones, milestones.dropFirst()).allSatisfy {
                    $0 < $1
                }, "milestones", "is \(milestones); give ascending query counts in 1...10,000,000")
        try check((1...4096).contains(roundSize), "round_size", "is \(roundSize); allowed range 1...4096")
        try check((1...1024).contains(width), "width", "is \(width); allowed range 1...1024")
        try check((1...16).contains(layers), "layers", "is \(layers); allowed range 1...16")
        try check(
            heads >= 1 && width % heads == 0, "heads", "is \(heads); must be at least 1 and divide width \(width)")
        try check((8...1024).contains(contextLength), "context_length", "is \(contextLength); allowed range 8...1024")
        try check((1...100_000).contains(steps), "steps", "is \(steps); allowed range 1...100,000")
        try check((1...1024).contains(batchSize), "batch_size", "is \(batchSize); allowed range 1...1024")
        try check(
            learningRate > 0 && learningRate <= 1, "learning_rate", "is \(learningRate); allowed range (0, 1]")
        try check(
            (1...100_000).contains(evaluationProblems), "evaluation_problems",
            "is \(evaluationProblems); allowed range 1...100,000")
    }

    /// Problems asked per query bought: `samples` when rejection sampling, else 1.
    public var queriesPerProblem: Int { harvest == .rejection ? samples : 1 }
}
