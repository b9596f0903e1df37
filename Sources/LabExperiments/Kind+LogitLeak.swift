// The `logit_leak` kind: the logit-leak stealing attack of Carlini et al. 2024 (LabAttacks's LogitLeakAttack)
// against a random GPT teacher behind the API's policy and the defence pipeline — recovered hidden width, its
// log gap, the projection's alignment error and what the harvest cost. It only resolves the file's sections
// into LogitLeakOptions, a random teacher and a DefendedAPI; the attack's logic stays in LogitLeak*.swift.
// Not trained teachers (`distill-lab steal --teacher` reads checkpoints) and not a distillation attack.
import Foundation
import LabAPI
import LabAttacks
import LabCore
import LabDefences
import LabModel

public enum LogitLeakKind: ExperimentKind {
    /// `logit_leak:` — `teacher:` the random GPT attacked (`LogitLeak.randomTeacher`), `harvest:` the attacker's
    /// LogitLeakOptions (its seed comes from `seeds`).
    public struct Settings: Decodable {
        public var teacher = RandomTeacher()
        public var harvest = LogitLeakOptions()

        enum Keys: String, CodingKey { case logitLeak = "logit_leak" }
        enum SectionKeys: String, CodingKey { case teacher, harvest }
        enum HarvestKeys: String, CodingKey {
            case mode, vectors, promptLength = "prompt_length", topK = "top_k", bias, referenceToken =
                "reference_token", batchSize = "batch_size", seed
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            guard c.contains(.logitLeak) else { return }
            let s = try c.nestedContainer(keyedBy: SectionKeys.self, forKey: .logitLeak)
            teacher = try s.decodeIfPresent(RandomTeacher.self, forKey: .teacher) ?? RandomTeacher()
            guard s.contains(.harvest) else { return }
            let h = try s.nestedContainer(keyedBy: HarvestKeys.self, forKey: .harvest)
            harvest.mode =
                try h.decodeChoice(LogitLeakMode.self, forKey: .mode, at: ["logit_leak", "harvest", "mode"])
                ?? harvest.mode
            if let v = try h.decodeIfPresent(Int.self, forKey: .vectors) { harvest.vectors = v }
            if let v = try h.decodeIfPresent(Int.self, forKey: .promptLength) { harvest.promptLength = v }
            if let v = try h.decodeIfPresent(Int.self, forKey: .topK) { harvest.topK = v }
            if let v = try h.decodeIfPresent(Float.self, forKey: .bias) { harvest.bias = v }
            if let v = try h.decodeIfPresent(Int.self, forKey: .referenceToken) { harvest.referenceToken = v }
            if let v = try h.decodeIfPresent(Int.self, forKey: .batchSize) { harvest.batchSize = v }
            if h.contains(.seed) {
                throw SpecIssue(
                    ["logit_leak", "harvest", "seed"], "is set, but the logit_leak kind takes its seed from `seeds`",
                    fix: "remove it and list the seeds under `seeds:`", atKey: true)
            }
        }
    }

    /// `logit_leak.teacher:` — the arguments of `LogitLeak.randomTeacher`; its seed is the cell's.
    public struct RandomTeacher: Codable, Equatable, Sendable {
        /// C, the hidden width the attack should recover.
        public var width = 64
        /// V.
        public var vocabularySize = 512
        public var layers = 2
        /// nil: 4 when it divides the width, else 1 (as `randomTeacher` picks).
        public var heads: Int?
        public var contextLength = 16
        /// σ of the final LayerNorm's bias; 0 keeps GPT-2's initialisation, whose logits have rank C − 1.
        public var finalLayerNormBiasStd = 0.1

        public init() {}

        enum CodingKeys: String, CodingKey {
            case width, vocabularySize = "vocab_size", layers, heads, contextLength = "context_length",
                finalLayerNormBiasStd = "final_layer_norm_bias_std"
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            if let v = try c.decodeIfPresent(Int.self, forKey: .width) { width = v }
            if let v = try c.decodeIfPresent(Int.self, forKey: .vocabularySize) { vocabularySize = v }
            if let v = try c.decodeIfPresent(Int.self, forKey: .layers) { layers = v }
            heads = try c.decodeIfPresent(Int.self, forKey: .heads)
            if let v = try c.decodeIfPresent(Int.self, forKey: .contextLength) { contextLength = v }
            if let v = try c.decodeIfPresent(Double.self, forKey: .finalLayerNormBiasStd) { finalLayerNormBiasStd = v }
        }
    }

    public struct Resolved: Encodable {
        public var teacher: RandomTeacher
        public var api: APISpec
        public var defences: [ResolvedDefence]
        public var harvest: LogitLeakOptions
        /// The teacher's initialisation, the prompts and the API's randomness: the cell's seed.
        public var seed: UInt64
        /// The pipeline as written, to build it again when the cell runs.
        var specs: [DefenceSpec]

        enum CodingKeys: String, CodingKey { case teacher, api, defences, harvest, seed }
    }

    public static let name = "logit_leak"
    public static let summary =
        "hidden width and output projection from logit vectors (Carlini et al. 2024) against a random GPT behind the defended API"
    public static let version = 1
    public static let reads: [SharedSection] = [.api, .defences]
    public static let settingsKeys = ["logit_leak"]
    public static let seedMeaning =
        "the random teacher's initialisation (and its final LayerNorm bias), the attacker's prompts and the API's randomness (defence noise)"
    public static let outputs = [
        OutputDoc(
            "recovered_width", .metric,
            "d̂, the width at the largest gap of the log singular values (Carlini et al. Algorithm 1); 0 when refused"),
        OutputDoc("true_width", .metric, "C, the teacher's hidden width"),
        OutputDoc("width_exact", .metric, "1 when d̂ = C, else 0 (also 0 when the API refused the harvest)"),
        OutputDoc("width_error", .metric, "d̂ − C"),
        OutputDoc("log_gap", .metric, "ln(s_d̂ / s_d̂+1), the gap found"),
        OutputDoc("runner_up_log_gap", .metric, "the largest of the other gaps"),
        OutputDoc(
            "bulk_edge_width", .metric,
            "the Gavish–Donoho count of singular values above the noise bulk (a second opinion, not the paper's)"),
        OutputDoc("log10_s_width", .metric, "log10 s_C, the weakest signal singular value"),
        OutputDoc("log10_s_after_width", .metric, "log10 s_C+1, the first noise singular value"),
        OutputDoc("rms_error", .metric, "min over G, c of ‖Ŵ·G + 1cᵀ − W‖_F / ‖W‖_F at the recovered width"),
        OutputDoc("linear_rms_error", .metric, "the same without the per-column constant"),
        OutputDoc("unrecovered_fraction", .metric, "share of the n·V logit entries the answers did not determine"),
        OutputDoc("refused", .metric, "1 when the API refused the harvest (e.g. logit bias with logprobs), else 0"),
        OutputDoc("queries_per_vector", .cost, "API queries per logit vector: 1, or ⌈(V − 1)/(k − 1)⌉ in topk-bias"),
        OutputDoc("queries", .cost, "queries the ledger charged (0 when refused on the first call)"),
        OutputDoc("tokens", .cost, "input + output tokens the ledger charged"),
        OutputDoc("dollars", .cost, "dollars the ledger charged at the API's prices"),
    ]

    static let maxWidth = 1024, maxVocabulary = 8192, maxLayers = 12, maxContext = 512, maxVectors = 16384

    public static func resolve(_ cell: CellInput<Settings>, in context: ValidationContext) throws -> Resolved {
        let t = cell.settings.teacher
        let tp = ["logit_leak", "teacher"]
        guard (1...maxWidth).contains(t.width) else {
            throw SpecIssue(tp + ["width"], "is \(t.width); allowed range 1...\(maxWidth)")
        }
        guard (2...maxVocabulary).contains(t.vocabularySize) else {
            throw SpecIssue(tp + ["vocab_size"], "is \(t.vocabularySize); allowed range 2...\(maxVocabulary)")
        }
        guard (1...maxLayers).contains(t.layers) else {
            throw SpecIssue(tp + ["layers"], "is \(t.layers); allowed range 1...\(maxLayers)")
        }
        guard (2...maxContext).contains(t.contextLength) else {
            throw SpecIssue(tp + ["context_length"], "is \(t.contextLength); allowed range 2...\(maxContext)")
        }
        if let h = t.heads, h < 1 || t.width % h != 0 {
            let divisors = (1...t.width).filter { t.width % $0 == 0 }.map(String.init).joined(separator: ", ")
            throw SpecIssue(
                tp + ["heads"], "is \(h) heads, which do not divide width \(t.width); allowed: a divisor of \(t.width)",
                fix: "use one of \(divisors)",
                related: [tp + ["width"]])
        }
        guard t.finalLayerNormBiasStd >= 0, t.finalLayerNormBiasStd.isFinite, t.finalLayerNormBiasStd <= 10 else {
            throw SpecIssue(
                tp + ["final_layer_norm_bias_std"],
                "is \(t.finalLayerNormBiasStd); allowed range 0...10 (a standard deviation; 0 is GPT-2's initialisation)"
            )
        }
        let V = t.vocabularySize, T = t.contextLength
        let api = try (cell.api ?? APISpec()).resolved(vocabularySize: V, in: cell)
        var harvest = cell.settings.harvest
        harvest.seed = cell.seed
        let hp = ["logit_leak", "harvest"]
        guard harvest.vectors <= maxVectors else {
            throw SpecIssue(hp + ["vectors"], "is \(harvest.vectors); allowed range 2...\(maxVectors)")
        }
        do { try harvest.validate(vocabularySize: V, contextLength: T) } catch let LabError.invalidConfig(key, message)
        {
            throw SpecIssue(hp + key.split(separator: ".").map(String.init), message)
        }
        if harvest.mode != .full, harvest.topK > V {
            throw SpecIssue(
                hp + ["top_k"],
                "is \(harvest.topK); allowed range \(harvest.mode == .topKBias ? 2 : 1)...\(V) (the vocabulary)")
        }
        let specs = cell.defences ?? []
        let defences = try context.resolve(specs, vocabularySize: V, contextLength: T)
        return Resolved(teacher: t, api: api, defences: defences, harvest: harvest, seed: cell.seed, specs: specs)
    }

    public static func run(_ cell: Resolved, in context: RunContext) throws -> CellResult {
        let t = cell.teacher
        let teacher = try LogitLeak.randomTeacher(
            width: t.width, vocabularySize: t.vocabularySize, layers: t.layers, heads: t.heads,
            contextLength: t.contextLength, finalLayerNormBiasStd: t.finalLayerNormBiasStd, seed: cell.seed)
        let environment = DefenceEnvironment(
            vocabularySize: teacher.vocabularySize, contextLength: teacher.contextLength)
        let pipeline = try DefenceRegistry.pipeline(cell.specs, environment: environment)
        let ledger = Ledger(prices: cell.api.prices)
        try ledger.open("attacker")
        let api = DefendedAPI(
            teacher: teacher, policy: cell.api.policy, defences: pipeline, ledger: ledger, seed: cell.seed)
        let perVector = Double(cell.harvest.queriesPerVector(vocabularySize: teacher.vocabularySize))
        let result: LogitLeakResult
        do {
            result = try LogitLeakAttack(cell.harvest).run(
                against: api, account: "attacker", truth: OutputProjection(model: teacher.model))
        } catch is APIRefusal {
            let usage = ledger.usage("attacker") ?? .zero
            return CellResult(
                metrics: [
                    .init("recovered_width", 0), .init("true_width", Double(t.width)), .init("width_exact", 0),
                    .init("width_error", Double(-t.width)),
                    .init("refused", 1),
                ], costs: costs(usage, perVector: perVector))
        }
        let e = result.estimate, s = result.singularValues, C = t.width
        func log10At(_ i: Int) -> Double? { i < s.count && s[i] > 0 ? log10(s[i]) : nil }
        return CellResult(
            metrics: [
                .init("recovered_width", Double(e.width)),
                .init("true_width", Double(C)),
                .init("width_exact", e.width == C ? 1 : 0),
                .init("width_error", Double(e.width - C)),
                .init("log_gap", e.logGap),
                .init("runner_up_log_gap", e.runnerUpLogGap),
                .init("bulk_edge_width", Double(e.bulkEdgeWidth)),
                .init("log10_s_width", log10At(C - 1)),
                .init("log10_s_after_width", log10At(C)),
                .init("rms_error", result.alignment?.rmsError),
                .init("linear_rms_error", result.alignment?.linearRMSError),
                .init(
                    "unrecovered_fraction",
                    Double(result.unrecoveredEntries) / Double(result.options.vectors * result.vocabularySize)),
                .init("refused", 0),
            ], costs: costs(result.usage, perVector: perVector))
    }

    static func costs(_ u: Usage, perVector: Double) -> [CellResult.Entry] {
        [
            .init("queries_per_vector", perVector), .init("queries", Double(u.queries)),
            .init("tokens", Double(u.inputTokens + u.outputTokens)),
            .init("dollars", NSDecimalNumber(decimal: u.cost.dollars).doubleValue),
        ]
    }
}
