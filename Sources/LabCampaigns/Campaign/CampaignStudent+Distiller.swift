// CampaignStudent+Distiller: LabAttacks' neural distillation behind the campaign's seam — the harvest's
// completions become HarvestRecords exactly as the completion harvest mode builds them, a GPT student is
// trained on them by `Distiller` (hard labels on sampled text: Kim & Rush 2016's sequence-level KD; soft
// top-k when logprobs were bought) and scored by `FidelityEvaluator` on the campaign's held-out windows.
import LabAPI
import LabAttacks
import LabCore
import LabModel

/// Which student a campaign trains, and how. The GPT's training follows the recipe the extraction results
/// found to converge (results/extraction/README.md): AdamW at 3·10⁻³, batch 32, linear warm-up then a cosine
/// to a tenth of the peak, `epochs` passes over the harvest but never fewer than `min_steps` steps — so a
/// small harvest (a rate-limited single account) is trained to convergence too, and a fidelity gap between
/// cells is what the harvest held, not how long the student trained — and, unlike there, a held-out share of
/// the harvest picks the checkpoint, since a floor of 2,000 steps on a few hundred records memorises them.
public struct CampaignStudentConfig: Equatable, Sendable {
    public enum Kind: String, Codable, CaseIterable, Sendable {
        /// `BigramDistiller`: counts, Bayes-optimal for the mixture's bigram teacher — fidelity then
        /// measures what the harvest covered, not how well a learner used it.
        case bigramCounts = "bigram_counts"
        /// `GPTCampaignDistiller`: a small GPT trained by LabAttacks' Distiller.
        case gpt
    }

    public var kind = Kind.bigramCounts
    public var width = 32
    public var layers = 2
    public var heads = 4
    public var batchSize = 32
    public var learningRate = 0.003
    /// Distillation matches a teacher, not a regularised fit to data: no decay by default (as StudentSpec).
    public var weightDecay = 0.0
    /// Linear warm-up, at most a tenth of the run.
    public var warmupSteps = 100
    /// Passes over the harvest (records / batch size steps each) ... Fewer than the extraction results' 8:
    /// a campaign buys sampled completions only (hard labels), and behind random-token prompts a GPT can
    /// memorise each record's unique prefix (results/proxy-campaign-gpt/README.md).
    public var epochs = 4.0
    /// ... but at least this many steps: the floor that trains a small harvest to convergence ...
    public var minSteps = 2000
    /// ... and at most this many.
    public var maxSteps = 6000
    /// Share of the harvest held out to choose when to stop (the checkpoint of lowest held-out loss); 0 trains
    /// on everything to the last step.
    public var holdout = 0.1

    public init() {}

    /// Steps of training on a harvest of `records` records: `epochs` passes within [min_steps, max_steps].
    public func steps(records: Int) -> Int {
        min(maxSteps, max(minSteps, Int((epochs * Double(records) / Double(batchSize)).rounded(.up))))
    }

    /// The learning rate at each step of a run of `steps` steps: warm-up, then a cosine to 10% of the peak.
    public func schedule(steps: Int) -> TrainingConfig {
        var schedule = TrainingConfig()
        schedule.steps = steps
        schedule.warmupSteps = min(warmupSteps, steps / 10)
        schedule.learningRate = Float(learningRate)
        schedule.minLearningRateFraction = 0.1
        return schedule
    }

    public func validate() throws {
        func fail(_ key: String, _ message: String) -> LabError {
            LabError.invalidConfig(key: "student.\(key)", message: message)
        }
        for (key, value) in [("width", width), ("layers", layers), ("heads", heads)] where value < 1 {
            throw fail(key, "is \(value); must be at least 1")
        }
        guard width % heads == 0 else { throw fail("heads", "\(heads) heads do not divide width \(width)") }
        guard (1...1024).contains(batchSize) else {
            throw fail("batch_size", "is \(batchSize); allowed range 1...1024")
        }
        guard learningRate > 0, learningRate <= 1, learningRate.isFinite else {
            throw fail("learning_rate", "is \(learningRate); allowed range (0, 1]")
        }
        guard weightDecay >= 0, weightDecay.isFinite else {
            throw fail("weight_decay", "is \(weightDecay); must be 0 or more")
        }
        guard warmupSteps >= 0 else { throw fail("warmup_steps", "is \(warmupSteps); must be 0 or more") }
        guard epochs > 0, epochs.isFinite else { throw fail("epochs", "is \(epochs); must be positive") }
        guard (0...10_000_000).contains(minSteps) else {
            throw fail("min_steps", "is \(minSteps); allowed range 0...10,000,000")
        }
        guard (0..<1).contains(holdout) else { throw fail("holdout", "is \(holdout); allowed range [0, 1)") }
        guard maxSteps >= max(1, minSteps), maxSteps <= 10_000_000 else {
            throw fail("max_steps", "is \(maxSteps); allowed range max(1, min_steps = \(minSteps))...10,000,000")
        }
    }

    /// The distiller this config names; `seed` drives the GPT's initialisation and batch order.
    public func distiller(maxNewTokens: Int, topLogprobs: Int, seed: UInt64) -> any CampaignDistiller {
        switch kind {
        case .bigramCounts: return BigramDistiller()
        case .gpt:
            return GPTCampaignDistiller(config: self, maxNewTokens: maxNewTokens, topLogprobs: topLogprobs, seed: seed)
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

    public func fidelity(records: [CampaignRecord], teacher: any TeacherAPI, evaluation: [[Int32]]) throws
        -> CampaignFidelity
    {
        let V = teacher.vocabularySize
        let mode = CompletionHarvest(maxNewTokens: maxNewTokens, logprobs: topLogprobs)
        let harvest = records.map { r -> HarvestRecord in
            var response = Response(kind: .completion)
            response.tokens = r.completion
            response.topLogprobs = r.topLogprobs
            return mode.record(prompt: r.prompt, responses: [response], vocabularySize: V)
        }
        let student = try GPT(
            config: GPTConfig(
                vocabularySize: V, contextLength: teacher.contextLength, width: config.width, layers: config.layers,
                heads: config.heads), seed: seed)
        let loss: DistillationLoss = topLogprobs > 0 ? .soft(temperature: 1, alpha: 1, tail: .bucket) : .hard
        let distiller = Distiller(
            student: student, loss: loss, batchSize: config.batchSize, learningRate: Float(config.learningRate),
            weightDecay: Float(config.weightDecay), seed: seed)
        try train(distiller, on: harvest.filter { !$0.targets.isEmpty })
        let evaluator = try FidelityEvaluator(
            teacher: teacher, data: AttackData(heldOut: evaluation, attackerText: { _, _ in [] }))
        let report = try evaluator.evaluate(student: student)
        return CampaignFidelity(
            agreement: report.agreement, klTeacherStudent: report.klTeacherStudent, positions: report.positions)
    }
}

extension GPTCampaignDistiller {
    /// Held-out records are capped: enough to rank checkpoints, few enough that checking stays cheap.
    static let maxHeldOut = 512
    /// Checks of the held-out loss per run.
    static let checks = 20

    /// Trains on `records` by the config's schedule. With `holdout` > 0 a seeded share of the records (at most
    /// `maxHeldOut`) is set aside, the loss on them is measured `checks` times along the run, and the student
    /// ends at the parameters of the lowest one: an attacker's own early stopping, which it can do with nothing
    /// but its harvest. Without it, the step floor would keep training a small harvest long after the student
    /// has learnt what it holds and begun memorising it.
    func train(_ distiller: Distiller, on records: [HarvestRecord]) throws {
        guard !records.isEmpty else { return }
        var order = Array(records.indices)
        var rng = LabRNG(seed: seed, stream: "campaign-student-holdout")
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.int(below: i + 1)) }
        let held =
            records.count < 2
            ? 0 : min(Self.maxHeldOut, Int((config.holdout * Double(records.count)).rounded(.up)), records.count - 1)
        let heldOut = order.prefix(held).map { records[$0] }
        let training = order.dropFirst(held).map { records[$0] }
        let schedule = config.schedule(steps: config.steps(records: training.count))
        guard !heldOut.isEmpty else {
            try distiller.train(on: training, steps: schedule.steps, learningRate: schedule.learningRate(at:))
            return
        }
        let student = distiller.student
        let best = FloatBuffer(count: student.parameters.count)
        var bestLoss = Double.infinity
        var done = 0
        for check in 1...Self.checks {
            let until = schedule.steps * check / Self.checks
            guard until > done else { continue }
            let offset = done
            try distiller.train(
                on: training, steps: until - done, learningRate: { schedule.learningRate(at: offset + $0) })
            done = until
            let loss = try heldOutLoss(distiller, heldOut)
            if loss < bestLoss {
                bestLoss = loss
                best.copy(from: student.parameters)
            }
        }
        student.parameters.copy(from: best)
    }

    /// Mean distillation loss over `records`, batch by batch, without updating the student.
    func heldOutLoss(_ distiller: Distiller, _ records: [HarvestRecord]) throws -> Double {
        var total = 0.0
        for start in stride(from: 0, to: records.count, by: config.batchSize) {
            let batch = Array(records[start..<min(records.count, start + config.batchSize)])
            total += Double(try distiller.lossAndLogitGradients(batch)) * Double(batch.count)
        }
        return total / Double(records.count)
    }
}

extension CampaignStudentConfig: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case kind, width, layers, heads, batchSize = "batch_size", learningRate = "learning_rate", weightDecay =
            "weight_decay"
        case warmupSteps = "warmup_steps", epochs, minSteps = "min_steps", maxSteps = "max_steps", holdout
    }

    public init(from decoder: Decoder) throws {
        try ConfigKeys.reject(unknownIn: decoder, allowed: CodingKeys.allCases.map(\.rawValue), section: "student")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        if let k = try c.decodeIfPresent(String.self, forKey: .kind) {
            guard let v = Kind(rawValue: k) else {
                throw LabError.invalidConfig(
                    key: "student.kind",
                    message: "is '\(k)'; one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            kind = v
        }
        width = try c.decodeIfPresent(Int.self, forKey: .width) ?? width
        layers = try c.decodeIfPresent(Int.self, forKey: .layers) ?? layers
        heads = try c.decodeIfPresent(Int.self, forKey: .heads) ?? heads
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? batchSize
        learningRate = try c.decodeIfPresent(Double.self, forKey: .learningRate) ?? learningRate
        weightDecay = try c.decodeIfPresent(Double.self, forKey: .weightDecay) ?? weightDecay
        warmupSteps = try c.decodeIfPresent(Int.self, forKey: .warmupSteps) ?? warmupSteps
        epochs = try c.decodeIfPresent(Double.self, forKey: .epochs) ?? epochs
        minSteps = try c.decodeIfPresent(Int.self, forKey: .minSteps) ?? minSteps
        maxSteps = try c.decodeIfPresent(Int.self, forKey: .maxSteps) ?? maxSteps
        holdout = try c.decodeIfPresent(Double.self, forKey: .holdout) ?? holdout
        try validate()
    }

    /// The bigram counter reads none of the GPT's settings: they are left out, so that a cell's identity (its
    /// hash in the experiment runner) changes only with what can change its numbers.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        guard kind == .gpt else { return }
        try c.encode(width, forKey: .width)
        try c.encode(layers, forKey: .layers)
        try c.encode(heads, forKey: .heads)
        try c.encode(batchSize, forKey: .batchSize)
        try c.encode(learningRate, forKey: .learningRate)
        try c.encode(weightDecay, forKey: .weightDecay)
        try c.encode(warmupSteps, forKey: .warmupSteps)
        try c.encode(epochs, forKey: .epochs)
        try c.encode(minSteps, forKey: .minSteps)
        try c.encode(maxSteps, forKey: .maxSteps)
        try c.encode(holdout, forKey: .holdout)
    }
}
