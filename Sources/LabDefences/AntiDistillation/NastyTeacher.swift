// The nasty teacher (Ma et al. 2021, "Undistillable: Making A Nasty Teacher That CAN NOT Teach
// Students"): its objective with the gradient on logits, and a training routine producing a LanguageModel.
// Not a registered API defence: the teacher's weights are the defence; serve it like any other GPT.
import Foundation
import LabCore
import LabData
import LabModel

/// The paper's objective (its Eq. 2), per position, for the nasty teacher's logits z, a normally trained
/// ("adversarial") network's logits a, and the true next token y:
///
///     L = CE(softmax(z), y) − ω · τ² · KL(softmax(a/τ) ‖ softmax(z/τ))
///
/// The first term keeps the teacher accurate; the second pushes its temperature-τ distribution away
/// from what a normal network would say, so a student distilling at that temperature learns a
/// misleading "dark knowledge". Averaged over positions. The gradient on the logits, which the training
/// routine hands to `backward` through `GPT.logitGradients`:
///
///     ∂L/∂z = (softmax(z) − onehot(y)) − ω · τ · (softmax(z/τ) − softmax(a/τ))     (over N positions: ÷ N)
///
/// (∂KL/∂z = (softmax(z/τ) − softmax(a/τ)) / τ, since −Σ r log q has that gradient when Σ r = 1.)
///
/// Parameters (the paper's names): τ `temperature` (the paper uses τ = 4 on CIFAR-10 and 20 on CIFAR-100
/// and Tiny-ImageNet) and ω `weight` (0.004, 0.005 and 0.01 there). The KL term is unbounded, so ω too
/// large trades the teacher's own accuracy for nastiness; the τ² keeps the two terms' gradients on a
/// comparable scale across τ, as in Hinton et al.'s distillation loss.
public struct NastyTeacherObjective: Sendable, Equatable {
    /// τ, the temperature at which the teacher is made to differ from a normal network.
    public var temperature: Double
    /// ω, the weight of the (negated) KL term.
    public var weight: Double

    public init(temperature: Double = 4, weight: Double = 0.004) throws {
        guard temperature > 0, temperature.isFinite else {
            throw LabError.invalidConfig(
                key: "nasty_teacher.temperature", message: "is \(temperature); τ must be > 0 (the paper uses 4 or 20)")
        }
        guard weight >= 0, weight.isFinite else {
            throw LabError.invalidConfig(
                key: "nasty_teacher.weight",
                message: "is \(weight); ω must be ≥ 0 (0 is normal training; the paper uses 0.004–0.01)")
        }
        self.temperature = temperature
        self.weight = weight
    }

    /// The objective's value and its parts, means over positions.
    public struct Value: Sendable, Equatable {
        /// L = crossEntropy − ω τ² kl.
        public var loss: Double
        /// Mean CE(softmax(z), y): the teacher's own next-token loss.
        public var crossEntropy: Double
        /// Mean KL(softmax(a/τ) ‖ softmax(z/τ)).
        public var kl: Double
    }

    /// Evaluates L on N positions of V logits each (row-major, (N, V)) and, when `gradient` is given,
    /// writes ∂L/∂logits there ((N, V), overwritten). Throws on a target outside the vocabulary.
    public func evaluate(
        logits: UnsafePointer<Float>, adversary: UnsafePointer<Float>, targets: [Int32], positions N: Int,
        vocabularySize V: Int, gradient: UnsafeMutablePointer<Float>? = nil
    ) throws -> Value {
        guard targets.count == N else {
            throw LabError.message("nasty teacher: \(targets.count) targets for \(N) positions")
        }
        for y in targets where y < 0 || Int(y) >= V {
            throw LabError.message("target token \(y) is outside the vocabulary 0..<\(V)")
        }
        let tau = temperature, omega = weight
        var ce = 0.0, kl = 0.0
        var p = [Double](repeating: 0, count: V), q = p, r = p
        for n in 0..<N {
            let z = logits + n * V, a = adversary + n * V
            let logZ = Softmax.probabilities(z, count: V, scale: 1, into: &p)
            let logQ = Softmax.probabilities(z, count: V, scale: 1 / tau, into: &q)
            let logR = Softmax.probabilities(a, count: V, scale: 1 / tau, into: &r)
            let y = Int(targets[n])
            ce -= Double(z[y]) - logZ
            for v in 0..<V where r[v] > 0 {
                // log r_v − log q_v = (a_v − z_v)/τ − (logR − logQ)
                kl += r[v] * ((Double(a[v]) - Double(z[v])) / tau - (logR - logQ))
            }
            if let g = gradient {
                let s = 1 / Double(N)
                for v in 0..<V {
                    let hard = p[v] - (v == y ? 1 : 0)
                    g[n * V + v] = Float(s * (hard - omega * tau * (q[v] - r[v])))
                }
            }
        }
        ce /= Double(N)
        kl /= Double(N)
        return Value(loss: ce - omega * tau * tau * kl, crossEntropy: ce, kl: kl)
    }
}

/// One step of nasty-teacher training.
public struct NastyTeacherRecord: Codable, Sendable, Equatable {
    public var step: Int
    public var loss: Double
    public var crossEntropy: Double
    public var kl: Double
    public var gradientNorm: Float
}

/// Trains a nasty teacher: a fresh GPT on `corpus`'s train split under `NastyTeacherObjective`, against a
/// normally trained `adversary` that shares the corpus's vocabulary. The paper trains the nasty teacher
/// from scratch with the same schedule as the normal one; so does this routine (seed `training.seed`).
public enum NastyTeacher {
    public static func train(
        corpus: Corpus, spec: CorpusSpec?, adversary: GPT, architecture: ModelArchitecture,
        training: TrainingConfig, objective: NastyTeacherObjective,
        progress: ProgressReporter? = nil
    ) throws -> (LanguageModel, [NastyTeacherRecord]) {
        let V = corpus.tokenizer.vocabularySize
        let config = architecture.config(vocabularySize: V)
        try config.validate()
        try training.validate(model: config)
        let B = training.batchSize, T = training.sequenceLength ?? config.contextLength
        guard adversary.config.vocabularySize == V else {
            throw LabError.invalidConfig(
                key: "nasty_teacher.adversary",
                message:
                    "has \(adversary.config.vocabularySize) tokens; the corpus has \(V); train the normal network on the same corpus"
            )
        }
        guard adversary.config.contextLength >= T else {
            throw LabError.invalidConfig(
                key: "nasty_teacher.adversary",
                message:
                    "reads \(adversary.config.contextLength) tokens; training windows have \(T); give it at least that context"
            )
        }
        let model = try GPT(config: config, seed: training.seed)
        let gradientStep = GradientStep(model: model, optimizer: training.adamW)
        var sampler = try BatchSampler(tokens: corpus.train, batchSize: B, sequenceLength: T, seed: training.seed)
        var inputs = [Int32](repeating: 0, count: B * T), targets = inputs
        var adversaryLogits = [Float](repeating: 0, count: B * T * V)
        var records: [NastyTeacherRecord] = []
        for step in 0..<training.steps {
            sampler.next(inputs: &inputs, targets: &targets)
            let a = try adversary.forward(tokens: inputs, batch: B, length: T)
            adversaryLogits.withUnsafeMutableBufferPointer {
                $0.baseAddress!.update(from: a.baseAddress!, count: B * T * V)
            }
            var value = NastyTeacherObjective.Value(loss: 0, crossEntropy: 0, kl: 0)
            let (_, norm) = try gradientStep.take(
                step: step, learningRate: training.learningRate(at: step), lossName: "nasty-teacher loss"
            ) {
                let z = try model.forward(tokens: inputs, batch: B, length: T)
                // The objective writes ∂L/∂z into the logit-gradient buffer `forward` prepared, in place of
                // the plain cross-entropy gradient `loss` would have put there.
                guard let dz = model.logitGradients else {
                    throw LabError.message("nasty teacher: the model kept no logit gradients")
                }
                value = try adversaryLogits.withUnsafeBufferPointer {
                    try objective.evaluate(
                        logits: UnsafePointer(z.baseAddress!), adversary: $0.baseAddress!, targets: targets,
                        positions: B * T,
                        vocabularySize: V, gradient: dz.baseAddress!)
                }
                return Float(value.loss)
            }
            records.append(
                NastyTeacherRecord(
                    step: step + 1, loss: value.loss, crossEntropy: value.crossEntropy, kl: value.kl, gradientNorm: norm
                ))
            progress?.update(step + 1, detail: String(format: "ce %.4f kl %.4f", value.crossEntropy, value.kl))
        }
        progress?.finish()
        return (
            LanguageModel(model: model, tokenizer: corpus.tokenizer, corpusSpec: spec, step: training.steps), records
        )
    }
}
