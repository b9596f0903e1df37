// The `reasoning` kind: a reasoning teacher (an addition_steps corpus) behind a trace policy, its think and
// no-think accuracy, what the policy costs honest users, and one attack (LabAttacks' ReasoningAttack) whose
// student's answer accuracy is measured at each query milestone. This file only translates the `reasoning:`
// section and turns the library's numbers into rows; the teacher comes from the cache like every kind's.
import Foundation
import LabAPI
import LabAttacks
import LabCore
import LabData
import LabDefences

public enum ReasoningKind: ExperimentKind {
    /// `reasoning:` — LabAttacks' ReasoningAttackConfig, as that type reads it; its seed comes from `seeds`.
    public struct Settings: Decodable {
        public var reasoning = ReasoningAttackConfig()
        enum Keys: String, CodingKey { case reasoning }
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            reasoning = try c.decodeIfPresent(ReasoningAttackConfig.self, forKey: .reasoning) ?? reasoning
        }
    }

    public struct Resolved: Encodable {
        public var teacher: TeacherSpec
        public var api: APISpec
        public var reasoning: ReasoningAttackConfig
    }

    public static let name = "reasoning"
    public static let summary =
        "a reasoning teacher behind a trace policy: think/no-think accuracy, honest cost, and a distilled student's answer accuracy per query milestone"
    public static let version = 1
    public static let reads: [SharedSection] = [.teacher, .api]
    public static let settingsKeys = ["reasoning"]
    public static let curveAxis: String? = "queries"
    public static let seedMeaning =
        "the attack (problems, samples, student initialisation and batch order) and the API's randomness (noisy steps); the teacher is trained with `teacher.training.seed`"
    public static let outputs = [
        OutputDoc("teacher_think_accuracy", .metric, "the teacher's answer accuracy when it writes its trace first"),
        OutputDoc("teacher_direct_accuracy", .metric, "the teacher's answer accuracy when the prompt ends in \"[]\""),
        OutputDoc("teacher_trace_validity", .metric, "fraction of the teacher's traces that pass the step checker"),
        OutputDoc("honest_answer_accuracy", .metric, "an honest user's answer accuracy through the policy"),
        OutputDoc("trace_shown_fraction", .metric, "shown step tokens / step tokens of the correct traces"),
        OutputDoc("shown_step_validity", .metric, "fraction of shown steps that are correct (null: none shown)"),
        OutputDoc("billed_per_visible_token", .metric, "output tokens billed per output token the user sees"),
        OutputDoc("student_accuracy", .metric, "the student's answer accuracy on held-out problems"),
        OutputDoc("student_trace_validity", .metric, "fraction of the student's completions with a valid full trace"),
        OutputDoc("kept_fraction", .metric, "fraction of bought completions the attacker trained on"),
        OutputDoc("queries", .cost, "queries the ledger charged the attacker"),
        OutputDoc("output_tokens", .cost, "output tokens billed to the attacker, hidden trace tokens included"),
        OutputDoc("dollars", .cost, "dollars billed to the attacker at the API's prices"),
        OutputDoc("attacker_flops", .cost, "FLOPs of the milestone's student training"),
    ]

    public static func resolve(_ cell: CellInput<Settings>, in context: ValidationContext) throws -> Resolved {
        let teacher = try cell.requireTeacher()
        guard teacher.corpus.kind == .tasks, teacher.corpus.task == .additionSteps else {
            throw SpecIssue(
                ["teacher", "corpus"], "is not a traced task; the reasoning kind needs a teacher that thinks",
                fix: "use `corpus: {kind: tasks, task: addition_steps, digits: 3}`")
        }
        let probe = try context.validate(teacher)
        let api = try (cell.api ?? APISpec()).resolved(vocabularySize: probe.vocabularySize, in: cell)
        if cell.isWritten(["reasoning", "seed"]) {
            throw SpecIssue(
                ["reasoning", "seed"], "is set, but the reasoning kind takes its seed from `seeds`",
                fix: "remove it and list the seeds under `seeds:`", atKey: true)
        }
        var reasoning = cell.settings.reasoning
        reasoning.seed = cell.seed
        do { try reasoning.validate() } catch let LabError.invalidConfig(key, message) {
            throw SpecIssue(["reasoning"] + key.split(separator: ".").map(String.init), message)
        }
        // The longest traced line: prompt, one 9-character step per column, markers, answer and newline.
        let d = teacher.corpus.digits.upperBound
        let longest = (2 * d + 2) + (9 * d + 2) + (d + 1) + 1
        for (path, length) in [
            (["teacher", "model", "context_length"], teacher.model.contextLength),
            (["reasoning", "context_length"], reasoning.contextLength),
        ] where length < longest {
            throw SpecIssue(
                path, "is \(length); a traced \(d)-digit problem takes up to \(longest) tokens",
                fix: "raise it to at least \(longest) or lower teacher.corpus.digits")
        }
        return Resolved(teacher: teacher, api: api, reasoning: reasoning)
    }

    public static func run(_ cell: Resolved, in context: RunContext) throws -> CellResult {
        let trained = try context.teacher(cell.teacher)
        let tokenizer = trained.model.tokenizer
        let examples = trained.corpus.examples ?? []
        let problems = examples.prefix(cell.reasoning.evaluationProblems).compactMap {
            AdditionProblem(prompt: $0.prompt)
        }
        let report = try ReasoningEvaluation.teacher(
            model: trained.model.model, tokenizer: tokenizer, problems: problems)

        let ledger = Ledger(prices: cell.api.prices)
        let policy = try TracePolicyRegistry.make(cell.reasoning.tracePolicy)
        let defended = DefendedAPI(
            teacher: GPTTeacher(trained.model), policy: cell.api.policy, ledger: ledger, seed: cell.reasoning.seed)
        let api = ReasoningAPI(
            api: defended, policy: policy, format: try TraceFormat(tokenizer: tokenizer), seed: cell.reasoning.seed)
        try ledger.open("honest-user")
        let honest = try TracePolicyCost.measure(
            api: api, problems: Array(problems.prefix(100)), tokenizer: tokenizer, account: "honest-user",
            maxNewTokens: cell.teacher.model.contextLength - (2 * cell.teacher.corpus.digits.upperBound + 2))
        let attack = ReasoningAttack(
            config: cell.reasoning, api: api, tokenizer: tokenizer, testProblems: problems,
            digits: cell.teacher.corpus.digits)
        let points = try attack.run().map { p in
            CellResult.Point(
                label: String(p.queries),
                metrics: [
                    .init("student_accuracy", p.studentAccuracy),
                    .init("student_trace_validity", p.studentTraceValidity),
                    .init("kept_fraction", p.keptFraction),
                ],
                costs: [
                    .init("queries", Double(p.queries)), .init("output_tokens", Double(p.outputTokens)),
                    .init("dollars", p.dollars), .init("attacker_flops", p.attackerFlops),
                ])
        }
        return CellResult(
            metrics: [
                .init("teacher_think_accuracy", report.thinkAccuracy),
                .init("teacher_direct_accuracy", report.directAccuracy),
                .init("teacher_trace_validity", report.traceValidity),
                .init("honest_answer_accuracy", honest.answerAccuracy),
                .init("trace_shown_fraction", honest.traceShownFraction),
                .init("shown_step_validity", honest.shownStepValidity),
                .init("billed_per_visible_token", honest.billedPerVisibleToken),
            ], costs: [], curve: points)
    }
}
