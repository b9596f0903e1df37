// AttackConfig: the one value that describes an extraction attack — query strategy, harvest mode,
// student (architecture, loss, training), budget milestones, prompt lengths, evaluation and seed —
// Codable with snake_case keys and a closed schema, so an experiment file can embed it. Not the target
// (teacher, policy, defences: ExtractionTarget) and not the run (Attack).
import Foundation
import LabAPI
import LabCore
import LabModel

/// The student and how it is trained. Architecture fields left nil take the teacher's.
public struct StudentSpec: Codable, Equatable, Sendable {
    public var width: Int?
    public var layers: Int?
    public var heads: Int?
    /// nil: the teacher's context length.
    public var contextLength: Int?
    public var loss: LossSpec = LossSpec("soft")
    public var batchSize = 32
    public var learningRate: Float = 3e-3
    /// Distillation matches a teacher, not a regularised fit to data: no decay by default.
    public var weightDecay: Float = 0
    public var warmupSteps = 20
    /// Passes over the harvest so far at each milestone (a pass is harvest records / batch size steps).
    public var epochs: Double = 4
    /// Bounds on the steps of one milestone's training.
    public var minSteps = 50
    public var maxSteps = 4000
    /// nil: derived from the attack's seed.
    public var seed: UInt64?

    public init(
        width: Int? = nil, layers: Int? = nil, heads: Int? = nil, contextLength: Int? = nil,
        loss: LossSpec = LossSpec("soft"),
        batchSize: Int = 32, learningRate: Float = 3e-3, epochs: Double = 4
    ) {
        self.width = width
        self.layers = layers
        self.heads = heads
        self.contextLength = contextLength
        self.loss = loss
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.epochs = epochs
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case width, layers, heads, contextLength = "context_length", loss, batchSize = "batch_size", learningRate =
            "learning_rate"
        case weightDecay = "weight_decay", warmupSteps = "warmup_steps", epochs, minSteps = "min_steps", maxSteps =
            "max_steps", seed
    }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue), section: "student")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        width = try c.decodeIfPresent(Int.self, forKey: .width)
        layers = try c.decodeIfPresent(Int.self, forKey: .layers)
        heads = try c.decodeIfPresent(Int.self, forKey: .heads)
        contextLength = try c.decodeIfPresent(Int.self, forKey: .contextLength)
        loss = try c.decodeIfPresent(LossSpec.self, forKey: .loss) ?? loss
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? batchSize
        learningRate = try c.decodeIfPresent(Float.self, forKey: .learningRate) ?? learningRate
        weightDecay = try c.decodeIfPresent(Float.self, forKey: .weightDecay) ?? weightDecay
        warmupSteps = try c.decodeIfPresent(Int.self, forKey: .warmupSteps) ?? warmupSteps
        epochs = try c.decodeIfPresent(Double.self, forKey: .epochs) ?? epochs
        minSteps = try c.decodeIfPresent(Int.self, forKey: .minSteps) ?? minSteps
        maxSteps = try c.decodeIfPresent(Int.self, forKey: .maxSteps) ?? maxSteps
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed)
    }

    /// The student's GPT config: each nil field from `teacher`; throws naming the key it cannot fill.
    public func config(vocabularySize V: Int, teacherContext: Int, teacher: GPTConfig?) throws -> GPTConfig {
        func pick(_ own: Int?, _ key: String, _ fromTeacher: (GPTConfig) -> Int) throws -> Int {
            if let own { return own }
            guard let teacher else {
                throw LabError.invalidConfig(
                    key: "student.\(key)",
                    message: "is missing and the teacher is not a GPT whose \(key) it could copy; give it")
            }
            return fromTeacher(teacher)
        }
        let config = GPTConfig(
            vocabularySize: V, contextLength: contextLength ?? teacherContext, width: try pick(width, "width", \.width),
            layers: try pick(layers, "layers", \.layers), heads: try pick(heads, "heads", \.heads))
        do { try config.validate() } catch let LabError.invalidConfig(key, message) {
            throw LabError.invalidConfig(key: "student.\(key)", message: message)
        }
        return config
    }

    public func validate() throws {
        func check(_ ok: Bool, _ key: String, _ message: String) throws {
            if !ok { throw LabError.invalidConfig(key: "student.\(key)", message: message) }
        }
        if let w = width { try check(w >= 1, "width", "is \(w); must be at least 1") }
        if let l = layers { try check(l >= 1, "layers", "is \(l); must be at least 1") }
        if let h = heads { try check(h >= 1, "heads", "is \(h); must be at least 1") }
        if let w = width, let h = heads { try check(w % h == 0, "heads", "\(h) heads do not divide width \(w)") }
        if let t = contextLength { try check(t >= 1, "context_length", "is \(t); must be at least 1") }
        _ = try DistillationLoss(loss)
        try check(batchSize >= 1, "batch_size", "is \(batchSize); must be at least 1")
        try check(learningRate > 0 && learningRate.isFinite, "learning_rate", "is \(learningRate); must be positive")
        try check(weightDecay >= 0 && weightDecay.isFinite, "weight_decay", "is \(weightDecay); must be 0 or more")
        try check(warmupSteps >= 0, "warmup_steps", "is \(warmupSteps); must be 0 or more")
        try check(epochs > 0 && epochs.isFinite, "epochs", "is \(epochs); must be positive")
        try check(minSteps >= 0, "min_steps", "is \(minSteps); must be 0 or more")
        try check(
            maxSteps >= max(1, minSteps), "max_steps",
            "is \(maxSteps); must be at least 1 and at least min_steps (\(minSteps))")
    }
}

/// Where and how much fidelity is measured.
public struct EvaluationSpec: Codable, Equatable, Sendable {
    /// Held-out windows (from the test split) compared at every position.
    public var prompts = 256
    /// Their length; nil: the longest prompt the attack sends.
    public var length: Int?
    /// Held-out tokens the perplexities are computed on (0: none).
    public var perplexityTokens = 8192
    /// Task problems scored by exact match, for tasks corpora (0: none).
    public var taskExamples = 100

    public init(prompts: Int = 256, length: Int? = nil, perplexityTokens: Int = 8192, taskExamples: Int = 100) {
        self.prompts = prompts
        self.length = length
        self.perplexityTokens = perplexityTokens
        self.taskExamples = taskExamples
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case prompts, length, perplexityTokens = "perplexity_tokens", taskExamples = "task_examples"
    }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue), section: "evaluation")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        prompts = try c.decodeIfPresent(Int.self, forKey: .prompts) ?? prompts
        length = try c.decodeIfPresent(Int.self, forKey: .length)
        perplexityTokens = try c.decodeIfPresent(Int.self, forKey: .perplexityTokens) ?? perplexityTokens
        taskExamples = try c.decodeIfPresent(Int.self, forKey: .taskExamples) ?? taskExamples
    }

    public func validate() throws {
        func check(_ ok: Bool, _ key: String, _ message: String) throws {
            if !ok { throw LabError.invalidConfig(key: "evaluation.\(key)", message: message) }
        }
        try check(prompts >= 1, "prompts", "is \(prompts); must be at least 1")
        if let l = length { try check(l >= 1, "length", "is \(l); must be at least 1") }
        try check(perplexityTokens >= 0, "perplexity_tokens", "is \(perplexityTokens); must be 0 or more")
        try check(taskExamples >= 0, "task_examples", "is \(taskExamples); must be 0 or more")
    }
}

public struct AttackConfig: Codable, Equatable, Sendable {
    public var strategy: StrategySpec = .ownCorpus()
    public var harvest: HarvestSpec = .distribution
    public var student = StudentSpec()
    public var budget: AttackBudget = .queries([1_000, 3_000, 10_000])
    /// Each prompt's length is drawn uniformly from this range, so the student sees targets at every
    /// position up to the longest (a fixed length would teach it one position only).
    public var promptLength: ClosedRange<Int> = 1...32
    /// Prompts per round: the strategy is asked for this many at a time, and an adaptive strategy's
    /// student is trained after each round.
    public var roundSize = 256
    public var evaluation = EvaluationSpec()
    public var seed: UInt64 = 0

    public init(
        strategy: StrategySpec = .ownCorpus(), harvest: HarvestSpec = .distribution,
        student: StudentSpec = StudentSpec(),
        budget: AttackBudget = .queries([1_000, 3_000, 10_000]), promptLength: ClosedRange<Int> = 1...32,
        roundSize: Int = 256, evaluation: EvaluationSpec = EvaluationSpec(), seed: UInt64 = 0
    ) {
        self.strategy = strategy
        self.harvest = harvest
        self.student = student
        self.budget = budget
        self.promptLength = promptLength
        self.roundSize = roundSize
        self.evaluation = evaluation
        self.seed = seed
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case strategy, harvest, student, budget, promptLength = "prompt_length", roundSize = "round_size", evaluation,
            seed
    }

    /// Every key optional with the defaults above; an unknown key is an error naming it.
    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue), section: nil)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        strategy = try c.decodeIfPresent(StrategySpec.self, forKey: .strategy) ?? strategy
        harvest = try c.decodeIfPresent(HarvestSpec.self, forKey: .harvest) ?? harvest
        student = try c.decodeIfPresent(StudentSpec.self, forKey: .student) ?? student
        budget = try c.decodeIfPresent(AttackBudget.self, forKey: .budget) ?? budget
        if let range = try c.decodeIfPresent([Int].self, forKey: .promptLength) {
            guard range.count == 2, range[0] >= 1, range[0] <= range[1] else {
                throw LabError.invalidConfig(
                    key: "prompt_length", message: "is \(range); give [shortest, longest] with 1 ≤ shortest ≤ longest")
            }
            promptLength = range[0]...range[1]
        }
        roundSize = try c.decodeIfPresent(Int.self, forKey: .roundSize) ?? roundSize
        evaluation = try c.decodeIfPresent(EvaluationSpec.self, forKey: .evaluation) ?? evaluation
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? seed
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(strategy, forKey: .strategy)
        try c.encode(harvest, forKey: .harvest)
        try c.encode(student, forKey: .student)
        try c.encode(budget, forKey: .budget)
        try c.encode([promptLength.lowerBound, promptLength.upperBound], forKey: .promptLength)
        try c.encode(roundSize, forKey: .roundSize)
        try c.encode(evaluation, forKey: .evaluation)
        try c.encode(seed, forKey: .seed)
    }

    /// Checks everything that does not need the teacher; throws `LabError.invalidConfig` naming the key.
    /// `Attack` repeats the checks that do (prompt room in the context, top-k against the policy).
    public func validate() throws {
        _ = try StrategyRegistry.make(strategy)
        _ = try HarvestRegistry.make(harvest, environment: nil)
        try student.validate()
        try budget.validate()
        guard promptLength.lowerBound >= 1 else {
            throw LabError.invalidConfig(
                key: "prompt_length", message: "starts at \(promptLength.lowerBound); prompts need at least one token")
        }
        guard roundSize >= 1 else {
            throw LabError.invalidConfig(key: "round_size", message: "is \(roundSize); must be at least 1")
        }
        try evaluation.validate()
    }

    /// One line: strategy, harvest, loss, budget.
    public var summary: String {
        let loss = (try? DistillationLoss(student.loss).summary) ?? student.loss.summary
        return
            "\(strategy.summary) · \(harvest.summary) · \(loss) · \(budget.unit.rawValue) \(budget.milestones.map { show($0) }.joined(separator: "/"))"
    }
}

/// Throws `LabError.invalidConfig` for the first key of the decoder's map that `known` lacks.
func rejectUnknownKeys(_ decoder: Decoder, known: [String], section: String?) throws {
    let any = try decoder.container(keyedBy: AnyKey.self)
    if let unknown = any.allKeys.map(\.stringValue).sorted().first(where: { !known.contains($0) }) {
        let key = section.map { "\($0).\(unknown)" } ?? unknown
        throw LabError.invalidConfig(
            key: key, message: "unknown key; \(section ?? "an attack") has \(known.sorted().joined(separator: ", "))")
    }
}

// MARK: - Spelling the parts in Swift

extension NamedSpec where Section == StrategySection {
    /// Uniform random tokens (Krishna et al. 2020).
    public static var randomTokens: StrategySpec { StrategySpec("random_tokens") }
    /// Windows of the attacker's own text.
    public static func ownCorpus(_ source: CorpusSource = .fresh) -> StrategySpec {
        switch source {
        case .train: return StrategySpec("own_corpus", ["source": .string("train")])
        case .fresh: return StrategySpec("own_corpus", ["source": .string("fresh")])
        case let .related(mix): return StrategySpec("own_corpus", ["source": .string("related"), "mix": .number(mix)])
        case .split: return StrategySpec("own_corpus", ["source": .string("split")])
        case let .file(path): return StrategySpec("own_corpus", ["source": .string("file:" + path)])
        }
    }
    /// The teacher's own completions as prompts.
    public static func teacherBootstrap(seedLength: Int = 1, reuse: Int = 4) -> StrategySpec {
        StrategySpec(
            "teacher_bootstrap", ["seed_length": .number(Double(seedLength)), "reuse": .number(Double(reuse))])
    }
    /// The most uncertain of `poolFactor` × candidates from the attacker's text, re-ranked every round.
    public static func active(poolFactor: Int = 4, randomPool: Bool = false) -> StrategySpec {
        StrategySpec(
            "active",
            ["pool": .string(randomPool ? "random_tokens" : "own_corpus"), "pool_factor": .number(Double(poolFactor))])
    }
}

extension NamedSpec where Section == HarvestSection {
    public static var distribution: HarvestSpec { HarvestSpec("distribution") }
    public static func topK(_ k: Int) -> HarvestSpec { HarvestSpec("top_k", ["k": .number(Double(k))]) }
    public static func echo(_ k: Int) -> HarvestSpec { HarvestSpec("echo", ["k": .number(Double(k))]) }
    public static func completion(maxNewTokens: Int = 16, temperature: Double = 1) -> HarvestSpec {
        HarvestSpec(
            "completion", ["max_new_tokens": .number(Double(maxNewTokens)), "temperature": .number(temperature)])
    }
    public static var label: HarvestSpec { HarvestSpec("label") }
    public static func logitBias(k: Int = 5, bias: Double = 100) -> HarvestSpec {
        HarvestSpec("logit_bias", ["k": .number(Double(k)), "bias": .number(bias)])
    }
}

extension NamedSpec where Section == LossSection {
    public static var hard: LossSpec { LossSpec("hard") }
    public static func soft(temperature: Double = 1, alpha: Double = 1, tail: SparseTail = .bucket) -> LossSpec {
        DistillationLoss.soft(temperature: temperature, alpha: alpha, tail: tail).spec
    }
}
