// Distiller: trains a student GPT from a harvest — soft-label distillation with temperature τ and an α
// mix with hard labels (Hinton et al. 2015, τ² scaling), sparse top-k distillation with an explicit tail
// rule, and hard-label training (label-only; sequence-level KD on sampled text, Kim & Rush 2016).
// Not the harvest or the schedule of an attack: it trains the steps it is asked to, on the records given.
import Foundation
import LabAPI
import LabCore
import LabModel

/// How the student learns from a target.
public enum DistillationLoss: Equatable, Sendable {
    /// Cross-entropy on each target's top listed token: label-only training on labels, sequence-level
    /// distillation (Kim & Rush 2016) on sampled tokens, hard-label training on distributions.
    case hard
    /// Hinton et al. 2015: α·τ²·CE(q_τ, softmax(z/τ)) + (1 − α)·CE(top label, softmax(z)), q_τ ∝ q^(1/τ).
    /// τ² keeps the soft term's gradient on the scale of the hard one's as τ grows. Targets that list
    /// fewer than V tokens are sparse (top-k distillation) and `tail` says what the unlisted mass is.
    case soft(temperature: Double, alpha: Double, tail: SparseTail)

    /// The parameters of `soft` (`hard` takes none).
    public enum Declared {
        public static let temperature = PartParameter.double(
            "temperature", 1, valid: { $0 > 0 && $0.isFinite }, "must be a positive temperature",
            meaning: "τ, the temperature of both teacher targets and student (τ² scales the soft term)")
        public static let alpha = PartParameter.double(
            "alpha", 1, valid: { (0...1).contains($0) }, "must be in [0, 1]: the weight of the soft term",
            meaning: "α, the weight of the soft term; 1 − α goes to cross-entropy on the top label")
        public static let tail = PartParameter.choice(
            "tail", SparseTail.bucket,
            meaning: "what a sparse (top-k) target does with its unlisted mass: `bucket`, `uniform` or `renormalize`")
    }

    /// Every loss with its parameters, as a Markdown table (`distill-lab attack --list`, the docs).
    public static var documentation: String {
        partDocumentationTable(
            heading: "name",
            [
                ("hard", "cross-entropy on each target's top token (label-only; Kim & Rush 2016 on sampled text)", []),
                (
                    "soft", "Hinton et al. 2015 with τ² scaling; sparse top-k targets with an explicit tail rule",
                    [Declared.temperature.doc, Declared.alpha.doc, Declared.tail.doc]
                ),
            ])
    }

    /// Reads `hard`, or `{soft: {temperature, alpha, tail}}` as `Declared` says.
    public init(_ spec: LossSpec) throws {
        var p = AttackParameters(spec)
        switch spec.name {
        case "hard":
            self = .hard
        case "soft":
            self = .soft(
                temperature: try p.read(Declared.temperature), alpha: try p.read(Declared.alpha),
                tail: try p.read(Declared.tail))
        default:
            throw LabError.invalidConfig(
                key: "student.loss", message: "'\(spec.name)' is not a distillation loss; known: hard, soft")
        }
        try p.finish()
    }

    public var spec: LossSpec {
        switch self {
        case .hard: return LossSpec("hard")
        case let .soft(t, a, tail):
            return LossSpec("soft", ["temperature": .number(t), "alpha": .number(a), "tail": .string(tail.rawValue)])
        }
    }

    public var summary: String {
        switch self {
        case .hard: return "hard"
        case let .soft(t, a, tail): return "soft(τ=\(show(t)), α=\(show(a)), tail=\(tail.rawValue))"
        }
    }

    var temperature: Double {
        if case let .soft(t, _, _) = self { return t }
        return 1
    }
}

/// One training batch built from records: right-padded texts, a mask on the target positions, the hard
/// labels, and the soft targets — dense when every target is a full distribution, else sparse.
struct DistillationBatch {
    let batch: Int, length: Int
    /// (B·T) input tokens, 0 past each text.
    var tokens: [Int32]
    /// (B·T) 1 at a target position, else 0.
    var mask: [Float]
    /// (B·T) each target's top listed token (0 where masked).
    var labels: [Int32]
    /// (B·T·V) q_τ per position, when every target is complete.
    var dense: [Float]?
    /// (B·T·k) listed tokens and their tempered probabilities otherwise.
    var sparseTokens: [Int32] = []
    var sparseProbabilities: [Float] = []
    var k = 0
    var targetCount = 0

    /// Builds the batch at temperature τ. Texts longer than `contextLength` keep their last positions.
    /// Sparse rows are padded to the batch's k with unlisted tokens at the uniform share of the row's
    /// unlisted mass (0 under `renormalize`); a full row in a sparse batch keeps its V − 1 largest
    /// entries, whose missing one the bucket and uniform tails then recover exactly.
    init(records: [HarvestRecord], vocabularySize V: Int, contextLength: Int, temperature tau: Double, tail: SparseTail)
    {
        let B = records.count
        // As long as the longest text and no longer: with random prompt lengths most batches hold one of
        // the longest, so the length (and the model's activations) rarely changes between steps.
        let T = min(contextLength, max(1, records.map(\.text.count).max() ?? 1))
        batch = B
        length = T
        tokens = [Int32](repeating: 0, count: B * T)
        mask = [Float](repeating: 0, count: B * T)
        labels = [Int32](repeating: 0, count: B * T)
        var rows = [PositionTarget?](repeating: nil, count: B * T)
        for (b, r) in records.enumerated() {
            let drop = max(0, r.text.count - T)
            for (t, x) in r.text.dropFirst(drop).enumerated() { tokens[b * T + t] = x }
            for target in r.targets where target.position >= drop && !target.tokens.isEmpty {
                let i = b * T + target.position - drop
                rows[i] = target
                mask[i] = 1
                labels[i] = target.top ?? 0
                targetCount += 1
            }
        }
        let allComplete = rows.allSatisfy { $0?.isComplete ?? true }
        if allComplete {
            var q = [Float](repeating: 0, count: B * T * V)
            for i in 0..<(B * T) {
                guard let row = rows[i] else {
                    q[i * V] = 1  // masked: any distribution
                    continue
                }
                let tempered = Self.temper(row.probabilities, tau)
                for (token, p) in zip(row.tokens, tempered) { q[i * V + Int(token)] = Float(p) }
            }
            dense = q
            return
        }
        k = min(V - 1, rows.map { $0?.tokens.count ?? 1 }.max() ?? 1)
        sparseTokens = [Int32](repeating: 0, count: B * T * k)
        sparseProbabilities = [Float](repeating: 0, count: B * T * k)
        for i in 0..<(B * T) {
            guard let row = rows[i] else {
                for j in 0..<k { sparseTokens[i * k + j] = Int32(j) }
                sparseProbabilities[i * k] = 1
                continue
            }
            // Most likely first, at most k (a full row loses its least likely entry).
            let order = row.probabilities.indices.sorted { row.probabilities[$0] > row.probabilities[$1] }.prefix(k)
            let listed = order.map { row.tokens[$0] }
            var probabilities = order.map { row.probabilities[$0] }
            let reportedSum = probabilities.reduce(0, +)
            if reportedSum > 1 { probabilities = probabilities.map { $0 / reportedSum } }
            probabilities = Self.temperSparse(probabilities, V: V, tau)
            let rest = max(0, 1 - probabilities.reduce(0, +))
            let share = tail == .renormalize ? 0 : rest / Double(V - listed.count)
            var used = Set(listed)
            var next: Int32 = 0
            for j in 0..<k {
                if j < listed.count {
                    sparseTokens[i * k + j] = listed[j]
                    sparseProbabilities[i * k + j] = Float(probabilities[j])
                } else {
                    while used.contains(next) { next += 1 }
                    used.insert(next)
                    sparseTokens[i * k + j] = next
                    sparseProbabilities[i * k + j] = Float(share)
                }
            }
        }
    }

    /// A full distribution at temperature τ: normalised, then q^(1/τ) normalised (zeros stay zero).
    static func temper(_ q: [Double], _ tau: Double) -> [Double] {
        let total = q.reduce(0, +)
        guard total > 0 else { return q }
        let powered = q.map { $0 > 0 ? pow($0 / total, 1 / tau) : 0 }
        let sum = powered.reduce(0, +)
        return powered.map { $0 / sum }
    }

    /// Listed probabilities at temperature τ, with the unlisted mass r = 1 − Σ q taken as spread evenly
    /// over the V − k unlisted tokens: tᵢ = qᵢ^(1/τ) / Z, Z = Σ qⱼ^(1/τ) + (V − k)·(r/(V − k))^(1/τ).
    /// At τ = 1 this returns q unchanged.
    static func temperSparse(_ q: [Double], V: Int, _ tau: Double) -> [Double] {
        guard tau != 1 else { return q }
        let rest = max(0, 1 - q.reduce(0, +))
        let unlisted = Double(V - q.count)
        let tailPowered = unlisted > 0 && rest > 0 ? unlisted * pow(rest / unlisted, 1 / tau) : 0
        let powered = q.map { $0 > 0 ? pow($0, 1 / tau) : 0 }
        let z = powered.reduce(0, +) + tailPowered
        guard z > 0 else { return q }
        return powered.map { $0 / z }
    }
}

public final class Distiller {
    public let student: GPT
    public let loss: DistillationLoss
    public let batchSize: Int
    let gradientStep: GradientStep
    public var optimizer: AdamW { gradientStep.optimizer }
    var rng: LabRNG
    /// Optimizer steps taken.
    public private(set) var steps = 0
    /// Positions run forward and backward (B·T per step, padding included: it is computed).
    public private(set) var positionsTrained = 0
    /// `GPTConfig.trainingFlopsPerToken` at each step's length, times its positions, summed.
    public private(set) var trainingFlops: Double = 0
    /// Scratch for the soft term's logit gradient while the hard term's is computed.
    var softGradient: [Float] = []

    public init(
        student: GPT, loss: DistillationLoss, batchSize: Int, learningRate: Float, weightDecay: Float,
        gradientClip: Float = 1, seed: UInt64
    ) {
        self.student = student
        self.loss = loss
        self.batchSize = max(1, batchSize)
        gradientStep = GradientStep(
            model: student,
            optimizer: AdamWConfig(learningRate: learningRate, weightDecay: weightDecay, gradientClip: gradientClip))
        rng = LabRNG(seed: seed, stream: "distiller-batches")
    }

    /// Runs the student on `records` as one batch and leaves ∂loss/∂logits in `student.logitGradients`;
    /// returns the loss. Exposed for tests; `train` calls it.
    public func lossAndLogitGradients(_ records: [HarvestRecord]) throws -> Float {
        let V = student.config.vocabularySize
        var tail = SparseTail.bucket
        if case let .soft(_, _, t) = loss { tail = t }
        let batch = DistillationBatch(
            records: records, vocabularySize: V, contextLength: student.config.contextLength,
            temperature: loss.temperature, tail: tail)
        guard batch.targetCount > 0 else {
            throw LabError.message("a distillation batch has no targets; the harvest holds no answers to learn from")
        }
        try student.forward(tokens: batch.tokens, batch: batch.batch, length: batch.length)
        positionsTrained += batch.batch * batch.length
        trainingFlops +=
            student.config.trainingFlopsPerToken(sequenceLength: batch.length) * Double(batch.batch * batch.length)
        let options = LossOptions(temperature: 1, mask: batch.mask)
        switch loss {
        case .hard:
            return try student.loss(.hard(batch.labels), options: options)
        case let .soft(tau, alpha, tail):
            let softOptions = LossOptions(temperature: Float(tau), mask: batch.mask)
            let soft: Float
            if let dense = batch.dense {
                soft = try dense.withUnsafeBufferPointer {
                    try student.loss(.dense($0.baseAddress!), options: softOptions)
                }
            } else {
                soft = try student.loss(
                    .sparse(
                        tokens: batch.sparseTokens, probabilities: batch.sparseProbabilities, k: batch.k, tail: tail),
                    options: softOptions)
            }
            guard let g = student.logitGradients else { throw LabError.message("the student kept no logit gradients") }
            let softWeight = Float(alpha * tau * tau)
            if alpha >= 1 {
                if softWeight != 1 { for i in 0..<g.count { g[i] *= softWeight } }
                return soft * softWeight
            }
            softGradient = Array(g)
            let hard = try student.loss(.hard(batch.labels), options: options)
            let hardWeight = Float(1 - alpha)
            for i in 0..<g.count { g[i] = softWeight * softGradient[i] + hardWeight * g[i] }
            return softWeight * soft + hardWeight * hard
        }
    }

    /// Trains `steps` steps on batches drawn uniformly (with replacement) from `records` that carry
    /// targets, at `learningRate(step)` for step 0..<steps, calling `onStep` with each step's loss.
    /// Returns the mean loss of the steps.
    @discardableResult
    public func train(
        on records: [HarvestRecord], steps count: Int, learningRate: (Int) -> Float, onStep: ((Double) -> Void)? = nil
    ) throws -> Double {
        let usable = records.filter { !$0.targets.isEmpty }
        guard !usable.isEmpty, count > 0 else { return .nan }
        var total = 0.0
        for s in 0..<count {
            let batch = (0..<batchSize).map { _ in usable[rng.int(below: usable.count)] }
            let (value, _) = try gradientStep.take(
                step: steps, learningRate: learningRate(s), lossName: "distillation loss"
            ) {
                try lossAndLogitGradients(batch)
            }
            steps += 1
            total += Double(value)
            onStep?(Double(value))
        }
        return total / Double(count)
    }
}
