// The `attack` kind: one extraction run (LabAttacks' Attack) against the teacher behind the API's policy and
// the defence pipeline, evaluated at every budget milestone — an anytime curve of fidelity (top-1 agreement,
// KL, TV, student perplexity) against cost (queries, tokens, dollars, attacker FLOPs). The attack itself is
// LabAttacks'; this file only resolves the experiment file's sections into an AttackConfig and an
// ExtractionTarget, and turns the curve into rows. With `endpoint:` the attacker's queries go to a served teacher
// (reached through RunContext.remoteTeachers) while `teacher:` stays the yardstick and the source of held-out
// text. Not campaigns across accounts (the `campaign` kind).
import Foundation
import LabAPI
import LabAttacks
import LabCore
import LabData

public enum AttackKind: ExperimentKind {
    /// `attack:` — LabAttacks' AttackConfig, as that type reads it (strategy, harvest, student, budget,
    /// prompt_length, round_size, evaluation); its seed comes from `seeds`.
    public struct Settings: Decodable {
        public var attack = AttackConfig()
        /// `endpoint:` — a served teacher (`distill-lab serve`) to send the attacker's queries to; nil: the
        /// teacher in-process.
        public var endpoint: EndpointSpec?

        enum Keys: String, CodingKey { case attack, endpoint }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            attack = try c.decodeIfPresent(AttackConfig.self, forKey: .attack) ?? AttackConfig()
            endpoint = try c.decodeIfPresent(EndpointSpec.self, forKey: .endpoint)
        }
    }

    public struct Resolved: Encodable {
        public var teacher: TeacherSpec
        public var api: APISpec
        public var defences: [ResolvedDefence]
        public var attack: AttackConfig
        /// The API's own randomness (defence noise, sampling streams) — the cell's seed, as the attack's.
        public var apiSeed: UInt64
        /// The served teacher the queries go to (its defences, prices and limits are the server's); nil:
        /// in-process. Absent from the hashed JSON when nil, so in-process cells keep their identity.
        public var endpoint: EndpointSpec?
        /// The pipeline as written, to build it again when the cell runs.
        var specs: [DefenceSpec]

        enum CodingKeys: String, CodingKey { case teacher, api, defences, attack, apiSeed = "api_seed", endpoint }
    }

    public static let name = "attack"
    public static let summary =
        "extraction by distillation against the defended API: fidelity versus cost at each budget milestone"
    public static let version = 1
    public static let reads: [SharedSection] = [.teacher, .api, .defences]
    public static let settingsKeys = ["attack", "endpoint"]
    public static let curveAxis: String? = "budget"
    public static let seedMeaning =
        "the attack (prompts, student initialisation, batch order) and the API's randomness (defence noise, sampling); the teacher is trained with `teacher.training.seed`"
    public static let outputs = [
        OutputDoc("agreement", .metric, "top-1 agreement of student and teacher on held-out positions"),
        OutputDoc("kl_teacher_student", .metric, "mean KL(teacher ‖ student) on held-out positions, nats"),
        OutputDoc("total_variation", .metric, "mean total variation between teacher and student, held-out positions"),
        OutputDoc("student_perplexity", .metric, "the student's perplexity on held-out test text"),
        OutputDoc("teacher_perplexity", .metric, "the teacher's perplexity on the same text (cell level)"),
        OutputDoc("entropy_rate", .metric, "the source's entropy rate, nats/token, where known (cell level)"),
        OutputDoc("exact_match", .metric, "the student's exact-match accuracy on task problems (tasks corpora)"),
        OutputDoc("spent", .cost, "what had been spent at the milestone, in the budget's unit"),
        OutputDoc("queries", .cost, "queries the ledger charged"),
        OutputDoc("tokens", .cost, "input + output tokens the ledger charged"),
        OutputDoc("dollars", .cost, "dollars the ledger charged at the API's prices"),
        OutputDoc("teacher_inference_flops", .cost, "teacher FLOPs spent serving the attack"),
        OutputDoc("attacker_flops", .cost, "the attacker's own FLOPs: student training and inference"),
        OutputDoc("flop_ratio", .cost, "attacker FLOPs / the teacher's training FLOPs"),
    ]

    public static func resolve(_ cell: CellInput<Settings>, in context: ValidationContext) throws -> Resolved {
        let teacher = try cell.requireTeacher()
        let probe = try context.validate(teacher)
        let V = probe.vocabularySize, T = teacher.model.contextLength
        let api = try (cell.api ?? APISpec()).resolved(vocabularySize: V, in: cell)
        var attack = cell.settings.attack
        if cell.isWritten(["attack", "seed"]) {
            throw SpecIssue(
                ["attack", "seed"], "is set, but the attack kind takes its seed from `seeds`",
                fix: "remove it and list the seeds under `seeds:`", atKey: true)
        }
        attack.seed = cell.seed
        // The attack's own checks, with its keys placed under `attack.`.
        func underAttack(_ body: () throws -> Void) throws {
            do { try body() } catch let LabError.invalidConfig(key, message) {
                throw SpecIssue(["attack"] + key.split(separator: ".").map(String.init), message)
            }
        }
        try underAttack { try attack.validate() }
        // What Attack.run would find only after the teacher is trained: room for the prompts in the context,
        // the harvest mode against the policy, the student's shape, a first milestone that buys a query.
        try underAttack {
            let mode = try HarvestRegistry.make(
                attack.harvest, environment: AttackEnvironment(vocabularySize: V, contextLength: T, policy: api.policy))
            let room = mode.maxPromptLength(contextLength: T)
            guard attack.promptLength.upperBound <= room else {
                throw LabError.invalidConfig(
                    key: "prompt_length",
                    message:
                        "reaches \(attack.promptLength.upperBound) tokens; allowed range 1...\(room) (harvest \(mode.name) in the teacher's context of \(T))"
                )
            }
            _ = try attack.student.config(
                vocabularySize: V, teacherContext: T, teacher: teacher.model.config(vocabularySize: V))
        }
        let shortest = attack.promptLength.lowerBound
        let first = attack.budget.milestones.first ?? 0
        let minimum: Double
        switch attack.budget.unit {
        case .queries: minimum = 1
        case .tokens: minimum = Double(shortest + 1)
        case .dollars:
            let one = api.prices.cost(inputTokens: shortest, outputTokens: 1)
            minimum = Double(one.picodollars) / 1e12
        }
        if first < minimum {
            throw SpecIssue(
                ["attack", "budget", "milestones", "0"],
                "is \(first) \(attack.budget.unit.rawValue), below one query (at least \(minimum)); allowed: ≥ \(minimum)"
            )
        }
        let specs = cell.defences ?? []
        if cell.settings.endpoint != nil, !specs.isEmpty {
            throw SpecIssue(
                ["defences"],
                "is set, but the queries go to a served teacher (`endpoint:`), whose defences are its own",
                fix: "put them in the server's config (`defences:` of `distill-lab serve`) and remove them here",
                atKey: true)
        }
        let defences = try context.resolve(specs, vocabularySize: V, contextLength: T)
        return Resolved(
            teacher: teacher, api: api, defences: defences, attack: attack, apiSeed: cell.seed,
            endpoint: cell.settings.endpoint, specs: specs)
    }

    public static func run(_ cell: Resolved, in context: RunContext) throws -> CellResult {
        // The served teacher first: a missing key or a stopped server fails before any training.
        let served = try cell.endpoint?.connect(
            with: context.remoteTeachers, allPositions: cell.attack.harvest.name == "echo")
        let trained = try context.teacher(cell.teacher)
        var target = try ExtractionTarget(
            teacher: trained.model, corpus: trained.corpus, spec: cell.teacher.corpus, defences: cell.specs,
            policy: cell.api.policy, prices: cell.api.prices, teacherTrainingTokens: cell.teacher.trainingTokens,
            apiSeed: cell.apiSeed)
        if let served, let endpoint = cell.endpoint {
            let own = target.teacher
            guard served.vocabularySize == own.vocabularySize, served.contextLength == own.contextLength else {
                throw LabError.invalidConfig(
                    key: "endpoint.url",
                    message:
                        "\(endpoint.url) serves a teacher of \(served.vocabularySize) tokens and context \(served.contextLength), but `teacher:` describes \(own.vocabularySize) tokens and context \(own.contextLength); serve the checkpoint `teacher:` trains (its cache entry's checkpoint/ directory)"
                )
            }
            target.servedTeacher = served
        }
        let curve = try Attack(config: cell.attack, target: target).run()
        let unit = curve.unit
        // Wall time is left out on purpose: results must be identical between identical runs.
        let points = curve.points.map { p -> CellResult.Point in
            let f = p.fidelity, c = p.cost
            return CellResult.Point(
                label: unit == .dollars ? "\(p.milestone)" : String(Int64(p.milestone)),
                metrics: [
                    .init("agreement", f.agreement), .init("kl_teacher_student", f.klTeacherStudent),
                    .init("total_variation", f.totalVariation),
                    .init("student_perplexity", f.studentPerplexity), .init("exact_match", f.exactMatch),
                ],
                costs: [
                    .init("spent", p.spent), .init("queries", Double(c.queries)), .init("tokens", Double(c.tokens)),
                    .init("dollars", NSDecimalNumber(decimal: c.dollars.dollars).doubleValue),
                    .init("teacher_inference_flops", c.teacherInferenceFlops),
                    .init("attacker_flops", c.attackerFlops), .init("flop_ratio", c.flopRatio),
                ])
        }
        return CellResult(
            metrics: [
                .init("teacher_perplexity", curve.teacher.perplexity), .init("entropy_rate", curve.teacher.entropyRate),
            ], costs: [], curve: points, notes: curve.plan.map { [.init("plan", $0)] } ?? [])
    }
}
