// ExtractionTarget: the defender's side of an attack — the teacher, the API policy and defence pipeline
// in front of it, the prices, the data around it (held-out text, the attacker's corpora) and what the
// teacher cost to train. Not the attacker's choices: those are AttackConfig.
import Foundation
import LabAPI
import LabCore
import LabData
import LabDefences
import LabModel

public struct ExtractionTarget {
    /// Where held-out and attacker text comes from.
    public enum DataSource {
        /// A corpus (and the spec that built it, so fresh samples can be drawn): held-out windows from its
        /// test split at the attack's evaluation length.
        case corpus(Corpus, CorpusSpec?)
        /// Data prepared by the caller (tests, teachers without a corpus).
        case prepared(AttackData)
    }

    public var teacher: any TeacherAPI
    /// The teacher the attacker's queries reach, when it is not `teacher` itself (a served teacher over
    /// HTTP): `teacher` stays the lab's yardstick for fidelity, never charged to the attacker. nil: `teacher`.
    public var servedTeacher: (any TeacherAPI)?
    /// The teacher's architecture when it is a GPT: the default for every student field left nil.
    public var teacherConfig: GPTConfig?
    public var policy: APIPolicy
    public var defences: DefencePipeline
    public var prices: PriceTable
    public var data: DataSource
    /// FLOPs the teacher's training took, for the attacker-to-teacher cost ratio; nil: unknown.
    public var teacherTrainingFlops: Double?
    /// Seeds the API's own randomness (defence noise, completion draws without a client seed).
    public var apiSeed: UInt64
    /// Dollars per 10¹⁸ FLOPs, to put compute beside query dollars. Default: $1.39, an H100 rented at
    /// $2 an hour sustaining 400 TFLOP/s (40% of its dense BF16 peak) — an assumption, stated in every table.
    public var computeDollarsPerExaflop: Double

    public init(
        teacher: any TeacherAPI, teacherConfig: GPTConfig? = nil, policy: APIPolicy = APIPolicy(),
        defences: DefencePipeline = .none,
        prices: PriceTable = .standard, data: DataSource, teacherTrainingFlops: Double? = nil, apiSeed: UInt64 = 0,
        computeDollarsPerExaflop: Double = 1.39
    ) {
        self.teacher = teacher
        self.teacherConfig = teacherConfig
        self.policy = policy
        self.defences = defences
        self.prices = prices
        self.data = data
        self.teacherTrainingFlops = teacherTrainingFlops
        self.apiSeed = apiSeed
        self.computeDollarsPerExaflop = computeDollarsPerExaflop
    }

    /// A trained teacher with its corpus: defences built from their config specs. `teacherTrainingTokens`
    /// (steps × batch × sequence length of its training) gives its training FLOPs at
    /// `GPTConfig.trainingFlopsPerToken`; nil leaves the cost ratio out.
    public init(
        teacher model: LanguageModel, corpus: Corpus, spec: CorpusSpec?, defences: [DefenceSpec] = [],
        policy: APIPolicy = APIPolicy(),
        prices: PriceTable = .standard, teacherTrainingTokens: Int? = nil, apiSeed: UInt64 = 0
    ) throws {
        let gpt = GPTTeacher(model)
        let environment = DefenceEnvironment(vocabularySize: gpt.vocabularySize, contextLength: gpt.contextLength)
        let c = model.model.config
        self.init(
            teacher: gpt, teacherConfig: c, policy: policy,
            defences: try DefenceRegistry.pipeline(defences, environment: environment),
            prices: prices, data: .corpus(corpus, spec),
            teacherTrainingFlops: teacherTrainingTokens.map {
                Double($0) * c.trainingFlopsPerToken(sequenceLength: c.contextLength)
            },
            apiSeed: apiSeed)
    }

    /// The attack's data for held-out windows of `length` tokens.
    func attackData(windows: Int, length: Int) throws -> AttackData {
        switch data {
        case let .corpus(corpus, spec):
            return try AttackData(corpus: corpus, spec: spec, windows: windows, length: length)
        case let .prepared(d): return d
        }
    }
}
