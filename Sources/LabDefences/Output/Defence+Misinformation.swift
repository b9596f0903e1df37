// Adaptive misinformation (Kariyappa & Qureshi 2020): where the teacher is unsure — top probability
// under a threshold, the paper's out-of-distribution signal — answer from a misinformation model. Not the
// paper's trained misinformation network: inverted preferences, uniform, or another checkpoint stand in.
import Foundation
import LabAPI
import LabCore
import LabData

/// The paper mixes y' = (1 − α) y + α ŷ with α = 1 / (1 + e^{ν (S − τ)}), S the maximum probability
/// (its OOD score), τ the threshold, ŷ the misinformation model's prediction. With no `sharpness` ν the
/// switch is hard (α = 1 when S < τ, else 0), the limit ν → ∞ the paper approaches: rows at or above the
/// threshold are then untouched. The paper trains ŷ to put little mass on the true class; the sources:
/// - `inverted` (default): ŷ ∝ e^{−z} = 1/p — the teacher's preferences reversed, a training-free
///   stand-in for that objective (the least likely token becomes the most likely);
/// - `uniform`: ŷ uniform over the reported tokens (no information at all);
/// - `checkpoint: DIR`: ŷ from another GPT on the same context (e.g. a smaller or undertrained one),
///   which must share the teacher's vocabulary.
/// For a language model "unsure" is common on in-distribution text too (many continuations are fine),
/// so the benign cost of this defence is much larger than on the paper's image classifiers.
public struct AdaptiveMisinformation: RegisteredDefence {
    public enum Source {
        case inverted
        case uniform
        case model(any TeacherAPI)
    }

    public static let registryName = "misinformation"
    public static let reference =
        "below a max-probability threshold answer from a misinformation model — Kariyappa & Qureshi 2020"
    /// How a config names the misinformation source (`Source` holds the built one).
    public enum SourceName: String, CaseIterable, Sendable { case inverted, uniform, checkpoint }
    public enum Declared {
        public static let threshold = PartParameter.double(
            "threshold", 0.5, valid: { $0 > 0 && $0 <= 1 }, "must be a probability in (0, 1]",
            meaning: "τ: rows whose top probability is below it are answered with misinformation")
        public static let sharpness = PartParameter.optionalDouble(
            "sharpness", valid: { $0 > 0 }, "must be > 0, or absent for a hard switch", absent: "none (hard switch)",
            meaning: "ν of the paper's soft switch α = 1/(1 + e^{ν(S − τ)}); absent: α ∈ {0, 1}")
        public static let source = PartParameter.choice(
            "source", SourceName.inverted,
            meaning: "`inverted` (ŷ ∝ 1/p), `uniform`, or `checkpoint` (needs `checkpoint`)")
        public static let checkpoint = PartParameter.string(
            "checkpoint", absent: "none", meaning: "directory of the misinformation GPT for `source: checkpoint`")
    }
    public static let parameterDocs = [
        Declared.threshold.doc, Declared.sharpness.doc, Declared.source.doc, Declared.checkpoint.doc,
    ]
    public let threshold: Double
    public let sharpness: Double?
    public let source: Source
    let sourceName: String

    public init(
        threshold: Double = Declared.threshold.defaultValue, sharpness: Double? = nil, source: Source = .inverted
    ) {
        self.threshold = threshold
        self.sharpness = sharpness
        self.source = source
        switch source {
        case .inverted: sourceName = "inverted"
        case .uniform: sourceName = "uniform"
        case .model: sourceName = "model"
        }
    }

    public init(parameters p: inout DefenceParameters, environment: DefenceEnvironment) throws {
        let threshold = try p.read(Declared.threshold)
        let sharpness = try p.read(Declared.sharpness)
        let kind = try p.read(Declared.source)
        let path = try p.read(Declared.checkpoint)
        switch (kind, path) {
        case (.checkpoint, let dir?):
            let lm = try LanguageModel.load(from: URL(fileURLWithPath: dir))
            guard lm.model.config.vocabularySize == environment.vocabularySize else {
                throw LabError.invalidConfig(
                    key: "defences.misinformation.checkpoint",
                    message:
                        "\(dir) has \(lm.model.config.vocabularySize) tokens; the teacher has \(environment.vocabularySize); the misinformation model must share its vocabulary"
                )
            }
            self.init(threshold: threshold, sharpness: sharpness, source: .model(GPTTeacher(lm)))
            checkpoint = dir
        case (.checkpoint, nil):
            throw LabError.invalidConfig(
                key: "defences.misinformation.checkpoint",
                message: "is missing; source: checkpoint needs the misinformation model's directory")
        case (_, _?):
            throw LabError.invalidConfig(
                key: "defences.misinformation.checkpoint",
                message: "is set but source is '\(kind.rawValue)'; set source: checkpoint or remove it")
        default:
            self.init(threshold: threshold, sharpness: sharpness, source: kind == .uniform ? .uniform : .inverted)
        }
    }

    /// The misinformation model's directory, when the registry loaded it from one.
    public private(set) var checkpoint: String?

    public var parameters: [(key: String, value: String)] {
        [
            ("threshold", show(threshold)), ("sharpness", sharpness.map(show) ?? "hard"),
            ("source", checkpoint == nil ? sourceName : "checkpoint"), ("checkpoint", checkpoint ?? "none"),
        ]
    }

    /// α for a row whose top probability is `s`.
    public func weight(topProbability s: Double) -> Double {
        guard let nu = sharpness else { return s < threshold ? 1 : 0 }
        return 1 / (1 + exp(nu * (s - threshold)))
    }

    public func apply(to rows: inout [DistributionRow]) throws {
        var triggered: [(row: Int, alpha: Double, y: [Double])] = []
        for r in rows.indices {
            guard let y = rows[r].served else { continue }
            let alpha = weight(topProbability: y.max() ?? 0)
            if alpha > 0 { triggered.append((r, alpha, y)) }
        }
        guard let first = triggered.first else { return }
        if case let .model(teacher) = source, teacher.vocabularySize != rows[first.row].vocabularySize {
            throw LabError.message(
                "the misinformation model has \(teacher.vocabularySize) tokens, the teacher \(rows[first.row].vocabularySize); they must share one vocabulary"
            )
        }
        let fromModel = try modelPredictions(for: triggered.map { rows[$0.row].context })
        for (n, t) in triggered.enumerated() {
            let tokens = rows[t.row].reportedTokens
            var yhat = [Double](repeating: 0, count: t.y.count)
            switch source {
            case .inverted:
                // ŷ ∝ 1/y over the tokens with y > 0, in log space: −log y − logsumexp(−log y).
                let positive = tokens.filter { t.y[$0] > 0 }
                var z = [Double](repeating: -.infinity, count: t.y.count)
                for i in positive { z[i] = -log(t.y[i]) }
                Softmax.probabilities(z, over: positive, into: &yhat)
            case .uniform:
                for i in tokens { yhat[i] = 1 / Double(tokens.count) }
            case .model:
                for i in tokens { yhat[i] = fromModel[n][i] }
                RowMath.normalise(&yhat, over: tokens)
            }
            for i in tokens { rows[t.row].values[i] = (1 - t.alpha) * t.y[i] + t.alpha * yhat[i] }
        }
    }

    /// The misinformation model's next-token distribution after each context (empty unless `.model`).
    func modelPredictions(for contexts: [ArraySlice<Int32>]) throws -> [[Double]] {
        guard case let .model(teacher) = source else { return [] }
        let V = teacher.vocabularySize
        let logits = try teacher.logits(prompts: contexts.map { Array($0.suffix(teacher.contextLength)) })
        return logits.map { rows in
            rows.withUnsafeBufferPointer {
                ServingMath.probabilities($0.baseAddress! + (rows.count / V - 1) * V, V: V, bias: [:])
            }
        }
    }
}
