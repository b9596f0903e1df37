// TracePolicyCost: what a trace policy costs an honest user who asks the reasoning API addition problems —
// the answers they get (the same under every policy), how much of the trace they see, how much of what they see
// is right, and what they pay per token they see. Not what an attacker learns (LabAttacks' ReasoningAttack).
import LabAPI
import LabCore
import LabData
import LabModel

public struct TracePolicyCost: Codable, Equatable, Sendable {
    /// Problems asked.
    public var problems: Int
    /// Fraction answered correctly (the answer after the think block, exact match).
    public var answerAccuracy: Double
    /// Shown step tokens / step tokens of the problems' correct traces (1 under `full`, 0 under `hidden`).
    public var traceShownFraction: Double
    /// Fraction of shown steps that are a correct step of the problem's solution (nil when none is shown).
    public var shownStepValidity: Double?
    /// Output tokens billed per query: generated tokens, hidden ones included.
    public var billedOutputTokensPerQuery: Double
    /// Output tokens billed per output token the user saw.
    public var billedPerVisibleToken: Double

    enum CodingKeys: String, CodingKey {
        case problems, answerAccuracy = "answer_accuracy", traceShownFraction = "trace_shown_fraction"
        case shownStepValidity = "shown_step_validity"
        case billedOutputTokensPerQuery = "billed_output_tokens_per_query"
        case billedPerVisibleToken = "billed_per_visible_token"
    }

    /// Asks each problem once, greedily, through `api` as `account` (already open in its ledger), in calls of
    /// at most `callSize` problems, with `maxNewTokens` of room for trace and answer.
    public static func measure(
        api: ReasoningAPI, problems: [AdditionProblem], tokenizer: Tokenizer, account: String,
        maxNewTokens: Int, callSize: Int = 64
    ) throws -> TracePolicyCost {
        let before = api.api.ledger.usage(account) ?? .zero
        var correct = 0, shownStepTokens = 0, generatedStepTokens = 0, shownSteps = 0, validSteps = 0
        var visibleTokens = 0
        for start in stride(from: 0, to: problems.count, by: max(1, callSize)) {
            let batch = Array(problems[start..<min(problems.count, start + max(1, callSize))])
            let queries = batch.map {
                Query.completion(
                    tokenizer.encode($0.prompt).map(Int32.init), maxNewTokens: maxNewTokens, temperature: 0,
                    stopToken: api.format.newline)
            }
            let responses = try api.call(queries, account: account)
            for (problem, response) in zip(batch, responses) {
                let shown = ReasoningCompletion(parsing: tokenizer.decode(response.tokens.map(Int.init)))
                if shown.answer == problem.answer { correct += 1 }
                visibleTokens += response.tokens.count
                let visible = TracedTokens(response.tokens, format: api.format)
                shownStepTokens += visible.steps.reduce(0) { $0 + $1.count }
                let truth = Set(problem.steps)
                for step in shown.steps ?? [] {
                    shownSteps += 1
                    if truth.contains(step) { validSteps += 1 }
                }
            }
        }
        // The step tokens of the correct traces: what `full` shows when the teacher is right.
        generatedStepTokens = problems.reduce(0) { $0 + $1.steps.reduce(0) { $0 + $1.count } }
        let after = api.api.ledger.usage(account) ?? .zero
        let billed = Double(after.outputTokens - before.outputTokens)
        let n = Double(max(1, problems.count))
        return TracePolicyCost(
            problems: problems.count, answerAccuracy: Double(correct) / n,
            traceShownFraction: generatedStepTokens == 0 ? 0 : Double(shownStepTokens) / Double(generatedStepTokens),
            shownStepValidity: shownSteps == 0 ? nil : Double(validSteps) / Double(shownSteps),
            billedOutputTokensPerQuery: billed / n, billedPerVisibleToken: billed / Double(max(1, visibleTokens)))
    }
}
