// Trainer: the training loop — AdamW with warm-up then cosine decay, global-norm clipping,
// periodic validation, progress with ETA, and a hard stop on NaN or infinity naming the step and
// the tensor. Data comes through `BatchSource`, so this file knows nothing of corpora.
import Foundation
import LabCore

/// Anything that fills a (B, T) batch of inputs and next-token targets.
public protocol BatchSource {
    mutating func next(inputs: inout [Int32], targets: inout [Int32])
}

public struct TrainingConfig: Codable, Equatable, Sendable {
    public var steps: Int = 1000
    public var batchSize: Int = 32
    /// Sequence length; nil means the model's context length.
    public var sequenceLength: Int? = nil
    public var learningRate: Float = 3e-3
    public var warmupSteps: Int = 50
    /// The cosine decays to this fraction of the peak learning rate.
    public var minLearningRateFraction: Float = 0.1
    public var weightDecay: Float = 0.1
    public var gradientClip: Float = 1.0
    public var beta1: Float = 0.9
    public var beta2: Float = 0.95
    /// Validation every this many steps (0: only at the end).
    public var evalInterval: Int = 100
    public var seed: UInt64 = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case steps, batchSize = "batch_size", sequenceLength = "sequence_length", learningRate = "learning_rate"
        case warmupSteps = "warmup_steps", minLearningRateFraction = "min_learning_rate_fraction"
        case weightDecay = "weight_decay", gradientClip = "gradient_clip", beta1, beta2, evalInterval = "eval_interval",
            seed
    }

    public func validate(model: GPTConfig) throws {
        func check(_ ok: Bool, _ key: String, _ msg: String) throws {
            if !ok { throw LabError.invalidConfig(key: key, message: msg) }
        }
        try check(steps >= 1, "steps", "is \(steps); must be at least 1")
        try check(batchSize >= 1, "batch_size", "is \(batchSize); must be at least 1")
        if let t = sequenceLength {
            try check(
                t >= 1 && t <= model.contextLength, "sequence_length",
                "is \(t); must be in 1...\(model.contextLength) (the model's context length)")
        }
        try check(learningRate > 0 && learningRate.isFinite, "learning_rate", "is \(learningRate); must be positive")
        try check(warmupSteps >= 0, "warmup_steps", "is \(warmupSteps); must be non-negative")
        try check(
            (0...1).contains(minLearningRateFraction), "min_learning_rate_fraction",
            "is \(minLearningRateFraction); must be in [0, 1]")
        try check(weightDecay >= 0, "weight_decay", "is \(weightDecay); must be non-negative")
        try check(evalInterval >= 0, "eval_interval", "is \(evalInterval); must be non-negative")
        try check(
            batchSize <= GPTConfig.maximumDimension, "batch_size",
            "is \(batchSize); must be at most \(GPTConfig.maximumDimension)")
        try MemoryLimit.check(
            model.activationBytes(batch: batchSize, length: sequenceLength ?? model.contextLength),
            for:
                "training at batch \(batchSize) × \(sequenceLength ?? model.contextLength) tokens (activations and their gradients)",
            key: "batch_size", fix: "Lower batch_size or the context length.")
    }

    /// Learning rate at `step` (0-based): linear warm-up, then cosine to the floor.
    public func learningRate(at step: Int) -> Float {
        if step < warmupSteps { return learningRate * Float(step + 1) / Float(warmupSteps) }
        let span = max(1, steps - warmupSteps)
        let progress = min(1, Double(step - warmupSteps) / Double(span))
        let cosine = 0.5 * (1 + cos(Double.pi * progress))
        let floor = Double(minLearningRateFraction)
        return learningRate * Float(floor + (1 - floor) * cosine)
    }

    public var adamW: AdamWConfig {
        AdamWConfig(
            learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: 1e-8, weightDecay: weightDecay,
            gradientClip: gradientClip)
    }
}

public struct TrainingRecord: Codable, Equatable, Sendable {
    public var step: Int
    public var trainLoss: Float
    public var validationLoss: Float?
    public var learningRate: Float
    public var gradientNorm: Float
}

public struct TrainingHistory: Codable, Sendable {
    public var records: [TrainingRecord] = []
    public var seconds: Double = 0
    public var tokensPerSecond: Double = 0
    public var finalValidationLoss: Float? { records.last(where: { $0.validationLoss != nil })?.validationLoss }
}

public final class Trainer {
    public let model: GPT
    public let config: TrainingConfig
    let gradientStep: GradientStep
    public var optimizer: AdamW { gradientStep.optimizer }

    public init(model: GPT, config: TrainingConfig) throws {
        try config.validate(model: model.config)
        self.model = model
        self.config = config
        gradientStep = GradientStep(model: model, optimizer: config.adamW)
    }

    /// Trains for `config.steps` steps. `validate` returns the validation loss (called every
    /// `evalInterval` steps and at the end); `progress` gets a bar with ETA.
    public func train<S: BatchSource>(
        data: inout S, validate: (() throws -> Float)? = nil, progress: ProgressReporter? = nil
    ) throws -> TrainingHistory {
        let B = config.batchSize, T = config.sequenceLength ?? model.config.contextLength
        var inputs = [Int32](repeating: 0, count: B * T), targets = [Int32](repeating: 0, count: B * T)
        var history = TrainingHistory()
        let start = Date()
        var lastValidation: Float? = nil
        for step in 0..<config.steps {
            data.next(inputs: &inputs, targets: &targets)
            let lr = config.learningRate(at: step)
            let (loss, norm) = try gradientStep.take(step: step, learningRate: lr) {
                try model.forward(tokens: inputs, batch: B, length: T)
                return try model.loss(.hard(targets))
            }
            var record = TrainingRecord(
                step: step + 1, trainLoss: loss, validationLoss: nil, learningRate: lr, gradientNorm: norm)
            let isLast = step + 1 == config.steps
            if let validate, isLast || (config.evalInterval > 0 && (step + 1) % config.evalInterval == 0) {
                let v = try validate()
                guard v.isFinite else { throw LabError.nonFinite(step: step + 1, tensor: "validation loss") }
                record.validationLoss = v
                lastValidation = v
            }
            history.records.append(record)
            let val = lastValidation.map { String(format: " val %.4f", $0) } ?? ""
            progress?.update(step + 1, detail: String(format: "loss %.4f%@ lr %.2e", loss, val as NSString, lr))
        }
        progress?.finish()
        history.seconds = Date().timeIntervalSince(start)
        history.tokensPerSecond = Double(config.steps * B * T) / max(history.seconds, 1e-9)
        return history
    }
}

/// Mean next-token loss of a model over fixed batches (for validation and `eval`).
public enum Evaluation {
    /// Mean cross-entropy (nats per token) over windows, batched by B; consecutive windows of
    /// equal length share a batch (the last window of a split may be shorter).
    public static func meanLoss(model: GPT, inputs: [[Int32]], targets: [[Int32]], batchSize: Int) throws -> Double {
        precondition(inputs.count == targets.count)
        guard !inputs.isEmpty else { return .nan }
        var total = 0.0
        var count = 0
        var i = 0
        while i < inputs.count {
            let T = inputs[i].count
            var b = 1
            while b < batchSize, i + b < inputs.count, inputs[i + b].count == T { b += 1 }
            let x = Array(inputs[i..<(i + b)].joined()), y = Array(targets[i..<(i + b)].joined())
            try model.forward(tokens: x, batch: b, length: T)
            total += Double(try model.loss(.hard(y))) * Double(b * T)
            count += b * T
            i += b
        }
        return total / Double(count)
    }
}
