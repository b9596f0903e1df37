// CampaignStudent+Distiller: issue 4's neural distillation behind the campaign's seam — the harvest's
// completions become HarvestRecords exactly as the completion harvest mode builds them, a GPT student is
// trained on them by `Distiller` (hard labels on sampled text: Kim & Rush 2016's sequence-level KD; soft
// top-k when logprobs were bought) and scored by `FidelityEvaluator` on the campaign's held-out windows.
import LabCore
import LabModel

/// Which student a campaign trains, and how.
public struct CampaignStudentConfig: Equatable, Sendable {
    public enum Kind: String, Codable, CaseIterable, Sendable {
        /// `BigramDistiller`: counts, Bayes-optimal for the mixture's bigram teacher — fidelity then
        /// measures what the harvest covered, not how well a learner used it.
        case bigramCounts = "bigram_counts"
        /// `GPTCampaignDistiller`: a small GPT trained by issue 4's Distiller.
        case gpt
    }

    public var kind = Kind.bigramCounts
    public var width = 32
    public var layers = 2
    public var heads = 4
    public var steps = 400
    public var batchSize = 16
    public var learningRate = 0.003

    public init() {}

    public func validate() throws {
        func fail(_ key: String, _ message: String) -> LabError { LabError.invalidConfig(key: "student.\(key)", message: message) }
        guard width >= 1, layers >= 1, heads >= 1 else { throw fail("width", "width, layers and heads must be at least 1") }
        guard width % heads == 0 else { throw fail("heads", "\(heads) heads do not divide width \(width)") }
        guard steps >= 1 else { throw fail("steps", "is \(steps); must be at least 1") }
        guard batchSize >= 1 else { throw fail("batch_size", "is \(batchSize); must be at least 1") }
        guard learningRate > 0, learningRate.isFinite else { throw fail("learning_rate", "is \(learningRate); must be positive") }
    }

    /// The distiller this config names; `seed` drives the GPT's initialisation and batch order.
    public func distiller(maxNewTokens: Int, topLogprobs: Int, seed: UInt64) -> any CampaignDistiller {
        switch kind {
        case .bigramCounts: return BigramDistiller()
        case .gpt: return GPTCampaignDistiller(config: self, maxNewTokens: maxNewTokens, topLogprobs: topLogprobs, seed: seed)
        }
    }
}

public struct GPTCampaignDistiller: CampaignDistiller {
    public let name = "gpt"
    public let config: CampaignStudentConfig
    public let maxNewTokens: Int
    public let topLogprobs: Int
    public let seed: UInt64

    public init(config: CampaignStudentConfig, maxNewTokens: Int, topLogprobs: Int, seed: UInt64) {
        self.config = config
        self.maxNewTokens = maxNewTokens
        self.topLogprobs = topLogprobs
        self.seed = seed
    }

    public func fidelity(records: [CampaignRecord], teacher: any TeacherAPI, evaluation: [[Int32]]) throws -> CampaignFidelity {
        let V = teacher.vocabularySize
        let mode = CompletionHarvest(maxNewTokens: maxNewTokens, logprobs: topLogprobs)
        let harvest = records.map { r -> HarvestRecord in
            var response = Response(kind: .completion)
            response.tokens = r.completion
            response.topLogprobs = r.topLogprobs
            return mode.record(prompt: r.prompt, responses: [response], vocabularySize: V)
        }
        let student = try GPT(config: GPTConfig(vocabSize: V, contextLength: teacher.contextLength, width: config.width, layers: config.layers, heads: config.heads), seed: seed)
        let loss: DistillationLoss = topLogprobs > 0 ? .soft(temperature: 1, alpha: 1, tail: .bucket) : .hard
        let distiller = Distiller(student: student, loss: loss, batchSize: config.batchSize, learningRate: Float(config.learningRate), weightDecay: 0, seed: seed)
        try distiller.train(on: harvest, steps: config.steps, learningRate: { _ in Float(config.learningRate) })
        let evaluator = try FidelityEvaluator(teacher: teacher, data: AttackData(heldOut: evaluation, attackerText: { _, _ in [] }))
        let report = try evaluator.evaluate(student: student)
        return CampaignFidelity(agreement: report.agreement, klTeacherStudent: report.klTeacherStudent, positions: report.positions)
    }
}

extension CampaignStudentConfig: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case kind, width, layers, heads, steps, batchSize = "batch_size", learningRate = "learning_rate"
    }

    public init(from decoder: Decoder) throws {
        try ConfigKeys.reject(unknownIn: decoder, allowed: CodingKeys.allCases.map(\.rawValue), section: "student")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        if let k = try c.decodeIfPresent(String.self, forKey: .kind) {
            guard let v = Kind(rawValue: k) else {
                throw LabError.invalidConfig(key: "student.kind", message: "is '\(k)'; one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            kind = v
        }
        width = try c.decodeIfPresent(Int.self, forKey: .width) ?? width
        layers = try c.decodeIfPresent(Int.self, forKey: .layers) ?? layers
        heads = try c.decodeIfPresent(Int.self, forKey: .heads) ?? heads
        steps = try c.decodeIfPresent(Int.self, forKey: .steps) ?? steps
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? batchSize
        learningRate = try c.decodeIfPresent(Double.self, forKey: .learningRate) ?? learningRate
        try validate()
    }
}
