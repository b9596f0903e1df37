// RefusalClassifier: the guard in front of the API — logistic regression on a prompt's token counts, trained by
// full-batch gradient descent on the provider's labelled alignment prompts, refusing at a score threshold.
// Deterministic: training sums in a fixed order and a decision is a pure function of the weights. Not the teacher's
// own refusal (that is learned by the model, AlignedTeacher) and not a detector of accounts.
import Foundation
import LabCore

/// How the classifier is trained; defaults fit the safety world's few dozen tokens.
public struct ClassifierTraining: Equatable, Sendable {
    public var iterations = 400
    public var learningRate = 0.5
    /// L2 penalty on the weights (not the bias): a token never seen in a forbidden prompt keeps a weight near 0.
    public var l2 = 1e-3
    public init() {}
}

public struct RefusalClassifier: Equatable, Sendable {
    /// (V) one weight per token id, applied to the token's count in the prompt.
    public var weights: [Double]
    public var bias: Double
    /// Refuse when the score is at least this.
    public var threshold: Double

    public init(weights: [Double], bias: Double, threshold: Double) {
        self.weights = weights
        self.bias = bias
        self.threshold = threshold
    }

    /// Fits p(forbidden | counts) = σ(w·counts + b) to `prompts` with `labels` (true: should be refused), minimising
    /// mean log loss + l2/2·|w|² by gradient descent from zero.
    public static func train(
        prompts: [[Int32]], labels: [Bool], vocabularySize V: Int, threshold: Double,
        training: ClassifierTraining = ClassifierTraining()
    ) -> RefusalClassifier {
        precondition(prompts.count == labels.count && !prompts.isEmpty, "RefusalClassifier.train: one label per prompt")
        var w = [Double](repeating: 0, count: V)
        var b = 0.0
        let n = Double(prompts.count)
        var gradient = [Double](repeating: 0, count: V)
        for _ in 0..<training.iterations {
            for i in 0..<V { gradient[i] = training.l2 * w[i] }
            var gb = 0.0
            for (p, y) in zip(prompts, labels) {
                var z = b
                for t in p { z += w[Int(t)] }
                let e = (1 / (1 + exp(-z)) - (y ? 1 : 0)) / n
                gb += e
                for t in p { gradient[Int(t)] += e }
            }
            for i in 0..<V { w[i] -= training.learningRate * gradient[i] }
            b -= training.learningRate * gb
        }
        return RefusalClassifier(weights: w, bias: b, threshold: threshold)
    }

    /// σ(w·counts + b) of `prompt`; tokens outside the weights count for nothing.
    public func score(_ prompt: [Int32]) -> Double {
        var z = bias
        for t in prompt where t >= 0 && Int(t) < weights.count { z += weights[Int(t)] }
        return 1 / (1 + exp(-z))
    }

    public func refuses(_ prompt: [Int32]) -> Bool { score(prompt) >= threshold }
}
