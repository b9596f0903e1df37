// The `defence_cost` kind: what one defence pipeline costs honest users of a (cached) teacher — KL and total
// variation between served and true distributions, top-1 agreement, withheld rows, and the perplexity increase
// of the text honest users receive — through LabDefences' BenignCost. Not what an attacker learns (`attack`).
import Foundation
import LabAPI
import LabCore
import LabData
import LabDefences

public enum DefenceCostKind: ExperimentKind {
    /// `benign:` — the honest workload the cost is measured on.
    public struct Settings: Decodable {
        public var benign: BenignCostOptions = BenignCostOptions()

        enum Keys: String, CodingKey { case benign }
        enum BenignKeys: String, CodingKey {
            case prompts, promptLength = "prompt_length", completionTokens = "completion_tokens"
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            guard c.contains(.benign) else { return }
            let b = try c.nestedContainer(keyedBy: BenignKeys.self, forKey: .benign)
            if let v = try b.decodeIfPresent(Int.self, forKey: .prompts) { benign.prompts = v }
            if let v = try b.decodeIfPresent(Int.self, forKey: .promptLength) { benign.promptLength = v }
            if let v = try b.decodeIfPresent(Int.self, forKey: .completionTokens) { benign.completionTokens = v }
        }
    }

    public struct Resolved: Encodable {
        public var teacher: TeacherSpec
        /// The pipeline as the registry resolved it (defaults filled): what is hashed and shown.
        public var defences: [ResolvedDefence]
        public var benign: BenignCostOptions
        /// The pipeline as written, to build it again when the cell runs.
        var specs: [DefenceSpec]

        enum CodingKeys: String, CodingKey { case teacher, defences, benign }
    }

    public static let name = "defence_cost"
    public static let summary =
        "benign utility cost of a defence pipeline on a cached teacher (KL, TV, top-1, perplexity of honest text)"
    public static let version = 1
    public static let reads: [SharedSection] = [.teacher, .defences]
    public static let settingsKeys = ["benign"]
    public static let seedMeaning =
        "the benign prompts, the defences' randomness and the honest users' sampling; the teacher is trained with `teacher.training.seed`"
    public static let outputs = [
        OutputDoc("mean_kl", .metric, "mean KL(served ‖ teacher) over positions with a report, nats"),
        OutputDoc("mean_total_variation", .metric, "mean total variation between served and teacher distributions"),
        OutputDoc("top1_agreement", .metric, "fraction of positions whose reported top-1 token is the teacher's"),
        OutputDoc("top1_change", .metric, "top1_agreement − 1"),
        OutputDoc("withheld_rate", .metric, "fraction of positions at which the defence reports nothing"),
        OutputDoc("text_perplexity", .metric, "perplexity, under the teacher, of the completions honest users receive"),
        OutputDoc("perplexity_increase", .metric, "text_perplexity minus the undefended API's"),
        OutputDoc("relative_perplexity_increase", .metric, "perplexity_increase / undefended perplexity"),
        OutputDoc("benign_positions", .cost, "next-token distributions measured"),
        OutputDoc(
            "benign_tokens", .cost, "tokens of the honest workload: prompts × (prompt_length + completion_tokens)"),
    ]

    static let maxPrompts = 100_000

    public static func resolve(_ cell: CellInput<Settings>, in context: ValidationContext) throws -> Resolved {
        let teacher = try cell.requireTeacher()
        let probe = try context.validate(teacher)
        let T = teacher.model.contextLength
        var benign = cell.settings.benign
        benign.seed = cell.seed
        let path = ["benign"]
        guard (1...maxPrompts).contains(benign.prompts) else {
            throw SpecIssue(
                path + ["prompts"], "is \(benign.prompts); allowed range 1...\(maxPrompts) (at least one honest query)")
        }
        guard (1...T).contains(benign.promptLength) else {
            throw SpecIssue(
                path + ["prompt_length"],
                "is \(benign.promptLength); allowed range 1...\(T) (the teacher's context_length)",
                related: [["teacher", "model", "context_length"]])
        }
        // Compared as T − prompt_length so that a huge completion_tokens cannot overflow the sum.
        guard benign.completionTokens >= 1, benign.completionTokens <= T - benign.promptLength else {
            throw SpecIssue(
                path + ["completion_tokens"],
                "is \(benign.completionTokens); allowed range 1...\(max(1, T - benign.promptLength)) (prompt_length + completion_tokens ≤ context_length \(T))",
                related: [path + ["prompt_length"], ["teacher", "model", "context_length"]])
        }
        if let validation = probe.splitTokens[.validation], validation < benign.promptLength {
            throw SpecIssue(
                ["teacher", "corpus"],
                "has a validation split of \(validation) tokens, shorter than one benign prompt of \(benign.promptLength)"
            )
        }
        let specs = cell.defences ?? []
        let defences = try context.resolve(specs, vocabularySize: probe.vocabularySize, contextLength: T)
        return Resolved(teacher: teacher, defences: defences, benign: benign, specs: specs)
    }

    public static func run(_ cell: Resolved, in context: RunContext) throws -> CellResult {
        let trained = try context.teacher(cell.teacher)
        let api = GPTTeacher(trained.model)
        let environment = DefenceEnvironment(vocabularySize: api.vocabularySize, contextLength: api.contextLength)
        let pipeline = try DefenceRegistry.pipeline(cell.specs, environment: environment)
        // The table always measures the undefended API first (the perplexity baseline); ours is the last row.
        let rows = try BenignCost.table(
            teacher: api, pipelines: pipeline.isEmpty ? [] : [(label: pipeline.summary, pipeline: pipeline)],
            benignTokens: trained.corpus.validation, options: cell.benign)
        guard let row = rows.last else { throw LabError.message("BenignCost returned no rows") }
        let b = cell.benign
        return CellResult(
            metrics: [
                .init("mean_kl", row.meanKL),
                .init("mean_total_variation", row.meanTotalVariation),
                .init("top1_agreement", row.top1Agreement),
                .init("top1_change", row.top1Change),
                .init("withheld_rate", row.withheldRate),
                .init("text_perplexity", row.textPerplexity),
                .init("perplexity_increase", row.perplexityIncrease),
                .init("relative_perplexity_increase", row.relativePerplexityIncrease),
            ],
            costs: [
                .init("benign_positions", Double(row.positions)),
                .init("benign_tokens", Double(b.prompts * (b.promptLength + b.completionTokens))),
            ])
    }
}
