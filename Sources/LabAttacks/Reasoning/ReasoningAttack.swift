// ReasoningAttack: distillation of a reasoning teacher through a ReasoningAPI — the attacker asks its own
// addition problems, keeps what the trace policy shows (all of it, or after its own arithmetic checks when
// rejection sampling), and at each query milestone trains a fresh student on the lines kept so far and scores its
// answers on held-out problems. Not the API or its policies (LabDefences) and not the experiment's bookkeeping.
import Foundation
import LabAPI
import LabCore
import LabData
import LabDefences
import LabModel

/// One milestone of a reasoning attack.
public struct ReasoningPoint: Codable, Equatable, Sendable {
    public var queries: Int
    /// Output tokens billed (hidden trace tokens included) and dollars, from the ledger.
    public var outputTokens: Int
    public var dollars: Double
    /// Training lines the attacker kept, and the fraction of completions it kept.
    public var kept: Int
    public var keptFraction: Double
    /// The student's exact-match answer accuracy on held-out problems (it may think first).
    public var studentAccuracy: Double
    /// Fraction of the student's completions whose think block is a complete, valid trace.
    public var studentTraceValidity: Double
    /// Student training FLOPs at this milestone (6·N per token of the steps taken).
    public var attackerFlops: Double
}

/// What a reasoning teacher does with and without thinking, measured directly on the model (no API).
public struct ReasoningTeacherReport: Codable, Equatable, Sendable {
    /// Answer accuracy when the prompt is the bare problem (the model writes its trace first).
    public var thinkAccuracy: Double
    /// Answer accuracy when the prompt already holds an empty think block "[]".
    public var directAccuracy: Double
    /// Fraction of thinking completions whose trace passes the step checker.
    public var traceValidity: Double
}

public enum ReasoningEvaluation {
    /// Greedy completions of `prompts` by `model` (batched, stopping at a newline), as text.
    public static func complete(model: GPT, tokenizer: Tokenizer, prompts: [String], batch: Int = 64) throws
        -> [String]
    {
        let newline = tokenizer.id(for: "\n")
        let T = model.config.contextLength
        var out: [String] = []
        let sampler = Sampler(model: model)
        for start in stride(from: 0, to: prompts.count, by: batch) {
            let chunk = prompts[start..<min(prompts.count, start + batch)].map { tokenizer.encode($0).map(Int32.init) }
            let room = T - (chunk.map(\.count).max() ?? 0)
            guard room > 0 else {
                out += chunk.map { _ in "" }
                continue
            }
            let generated = try sampler.generate(
                prompts: chunk, maxNewTokens: room, options: SamplingOptions(temperature: 0, stopToken: newline),
                seed: 0)
            out += generated.map { tokenizer.decode($0.map(Int.init)) }
        }
        return out
    }

    /// (answer accuracy, trace validity) of `model` on `problems`, with `forcing` appended to each prompt.
    public static func score(model: GPT, tokenizer: Tokenizer, problems: [AdditionProblem], forcing: String = "")
        throws -> (accuracy: Double, traceValidity: Double)
    {
        guard !problems.isEmpty else { return (0, 0) }
        let completions = try complete(
            model: model, tokenizer: tokenizer, prompts: problems.map { $0.prompt + forcing })
        var correct = 0, valid = 0
        for (problem, completion) in zip(problems, completions) {
            let read = ReasoningCompletion(parsing: forcing + completion)
            if read.answer == problem.answer { correct += 1 }
            if let steps = read.steps, problem.check(steps: steps).isValid { valid += 1 }
        }
        let n = Double(problems.count)
        return (Double(correct) / n, Double(valid) / n)
    }

    public static func teacher(model: GPT, tokenizer: Tokenizer, problems: [AdditionProblem]) throws
        -> ReasoningTeacherReport
    {
        let think = try score(model: model, tokenizer: tokenizer, problems: problems)
        let direct = try score(model: model, tokenizer: tokenizer, problems: problems, forcing: "[]")
        return ReasoningTeacherReport(
            thinkAccuracy: think.accuracy, directAccuracy: direct.accuracy, traceValidity: think.traceValidity)
    }
}

public final class ReasoningAttack {
    public let config: ReasoningAttackConfig
    public let api: ReasoningAPI
    public let tokenizer: Tokenizer
    /// Held-out problems the student is scored on; the attacker never asks them.
    public let testProblems: [AdditionProblem]
    /// Operand digits of the attacker's own problems (the task's).
    public let digits: ClosedRange<Int>
    public static let account = "attacker"

    public init(
        config: ReasoningAttackConfig, api: ReasoningAPI, tokenizer: Tokenizer, testProblems: [AdditionProblem],
        digits: ClosedRange<Int>
    ) {
        self.config = config
        self.api = api
        self.tokenizer = tokenizer
        self.testProblems = testProblems
        self.digits = digits
    }

    /// The attacker's problems, drawn like the task's (uniform digit count, no leading zeros), never a test one.
    func problems(count: Int, rng: inout LabRNG) -> [AdditionProblem] {
        let held = Set(testProblems)
        var out: [AdditionProblem] = []
        var attempts = 0
        while out.count < count, attempts < 100 * count + 1000 {
            attempts += 1
            func operand() -> Int {
                let d = digits.lowerBound + rng.int(below: digits.count)
                if d == 1 { return rng.int(below: 10) }
                var low = 1
                for _ in 1..<d { low *= 10 }
                return low + rng.int(below: 9 * low)
            }
            let p = AdditionProblem(a: operand(), b: operand())
            if !held.contains(p) { out.append(p) }
        }
        return out
    }

    /// Whether the attacker keeps a shown completion: always when greedy; when rejection sampling, only if it
    /// ended, its answer is the sum and every shown step is a step of the sum's column addition.
    func keeps(_ shown: String, problem: AdditionProblem) -> Bool {
        guard config.harvest == .rejection else { return true }
        guard shown.hasSuffix("\n") else { return false }
        let read = ReasoningCompletion(parsing: shown)
        guard read.answer == problem.answer else { return false }
        let truth = Set(problem.steps)
        return (read.steps ?? []).allSatisfy { truth.contains($0) }
    }

    public func run() throws -> [ReasoningPoint] {
        try config.validate()
        let ledger = api.api.ledger
        try ledger.open(Self.account, budget: Budget(maxQueries: config.milestones.last!))
        var rng = LabRNG(seed: config.seed, stream: "reasoning-attack-problems")
        var seeds = LabRNG(seed: config.seed, stream: "reasoning-attack-samples")
        var harvest: [[Int32]] = []
        var kept = 0, bought = 0
        var points: [ReasoningPoint] = []
        let T = api.api.teacher.contextLength
        for (m, milestone) in config.milestones.enumerated() {
            while bought < milestone {
                let queries = min(config.roundSize, milestone - bought)
                let perProblem = config.queriesPerProblem
                let round = problems(count: max(1, queries / perProblem), rng: &rng)
                var asked: [(AdditionProblem, Query)] = []
                for p in round {
                    let prompt = tokenizer.encode(p.prompt).map(Int32.init)
                    for _ in 0..<perProblem where asked.count < queries {
                        asked.append(
                            (
                                p,
                                Query.completion(
                                    prompt, maxNewTokens: T - prompt.count,
                                    temperature: config.harvest == .rejection ? config.temperature : 0,
                                    stopToken: api.format.newline, seed: seeds.next())
                            ))
                    }
                }
                guard !asked.isEmpty else { break }
                let responses = try api.call(asked.map(\.1), account: Self.account)
                bought += asked.count
                for ((problem, _), response) in zip(asked, responses) {
                    let shown = tokenizer.decode(response.tokens.map(Int.init))
                    guard keeps(shown, problem: problem) else { continue }
                    kept += 1
                    let line = problem.prompt + shown + (shown.hasSuffix("\n") ? "" : "\n")
                    harvest.append(tokenizer.encode(line).map(Int32.init))
                }
            }
            let usage = ledger.usage(Self.account) ?? .zero
            let (accuracy, validity, flops) = try trainAndScore(harvest, milestone: m)
            points.append(
                ReasoningPoint(
                    queries: usage.queries, outputTokens: usage.outputTokens,
                    dollars: NSDecimalNumber(decimal: usage.cost.dollars).doubleValue, kept: kept,
                    keptFraction: bought == 0 ? 0 : Double(kept) / Double(bought), studentAccuracy: accuracy,
                    studentTraceValidity: validity, attackerFlops: flops))
        }
        return points
    }

    /// A fresh student trained on `harvest` (one line per kept completion) for `config.steps` steps, scored
    /// on the test problems.
    func trainAndScore(_ harvest: [[Int32]], milestone: Int) throws -> (Double, Double, Double) {
        let c = config
        let gptConfig = GPTConfig(
            vocabularySize: tokenizer.vocabularySize, contextLength: c.contextLength, width: c.width, layers: c.layers,
            heads: c.heads)
        var seeds = LabRNG(seed: c.seed, stream: "reasoning-student-\(milestone)")
        let student = try GPT(config: gptConfig, seed: seeds.next())
        // Nothing kept: the untrained student is what the attacker has.
        guard !harvest.isEmpty else {
            let s = try ReasoningEvaluation.score(model: student, tokenizer: tokenizer, problems: testProblems)
            return (s.accuracy, s.traceValidity, 0)
        }
        var training = TrainingConfig()
        training.steps = c.steps
        training.batchSize = c.batchSize
        training.learningRate = c.learningRate
        training.warmupSteps = min(50, c.steps / 10)
        training.evalInterval = 0
        training.seed = seeds.next()
        var sampler = LineBatches(
            lines: harvest, sequenceLength: c.contextLength, padding: Int32(tokenizer.id(for: "\n")),
            seed: training.seed)
        _ = try Trainer(model: student, config: training).train(data: &sampler)
        let s = try ReasoningEvaluation.score(model: student, tokenizer: tokenizer, problems: testProblems)
        let flops =
            gptConfig.trainingFlopsPerToken(sequenceLength: c.contextLength)
            * Double(c.steps * c.batchSize * c.contextLength)
        return (s.accuracy, s.traceValidity, flops)
    }
}

/// Training rows of whole lines: each row is one line drawn uniformly, starting at position 0 as prompts do at
/// evaluation, cut to the row and padded with `padding`. (A stream cut at random offsets would make a small
/// student learn where the digits of a problem sit at every offset; the attacker knows where its lines begin.)
public struct LineBatches: BatchSource {
    let lines: [[Int32]]
    let sequenceLength: Int
    let padding: Int32
    var rng: LabRNG

    public init(lines: [[Int32]], sequenceLength: Int, padding: Int32, seed: UInt64) {
        precondition(!lines.isEmpty && sequenceLength >= 1, "LineBatches: give at least one line and a row length")
        self.lines = lines
        self.sequenceLength = sequenceLength
        self.padding = padding
        rng = LabRNG(seed: seed, stream: "line-batches")
    }

    public mutating func next(inputs: inout [Int32], targets: inout [Int32]) {
        let T = sequenceLength, B = inputs.count / T
        for row in 0..<B {
            let line = lines[rng.int(below: lines.count)]
            for i in 0..<T {
                inputs[row * T + i] = i < line.count ? line[i] : padding
                targets[row * T + i] = i + 1 < line.count ? line[i + 1] : padding
            }
        }
    }
}
