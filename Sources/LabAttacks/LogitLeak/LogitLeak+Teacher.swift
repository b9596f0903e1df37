// LogitLeak teachers: a randomly initialised GPT for the width test (the rank argument needs no
// training), with the one change that makes its logit rank C instead of C − 1. Not a training recipe.
import Foundation
import LabAPI
import LabCore
import LabModel

extension LogitLeak {
    /// A GPT with GPT-2's initialisation behind a `GPTTeacher`, except for the final LayerNorm's bias,
    /// drawn N(0, `finalLayerNormBiasStd`²).
    ///
    /// Why: LayerNorm centres its input, so with a zero bias every h = γ ⊙ (x − x̄)/σ is orthogonal to 1/γ
    /// and the logits W·h span only C − 1 dimensions — at GPT-2's init the attack would (correctly) find
    /// C − 1. A nonzero bias β adds the direction W·β to every row and restores rank C; trained models
    /// have one (ours learn |β| of order 0.1, see results/logit-leak/README.md). 0 keeps GPT-2's init.
    /// `heads` nil picks 4 when it divides the width, else 1.
    public static func randomTeacher(
        width: Int, vocabularySize: Int, layers: Int = 2, heads: Int? = nil, contextLength: Int = 16,
        finalLayerNormBiasStd: Double = 0.1, seed: UInt64
    ) throws -> GPTTeacher {
        guard finalLayerNormBiasStd >= 0, finalLayerNormBiasStd.isFinite else {
            throw LabError.invalidConfig(
                key: "final_layer_norm_bias_std",
                message: "is \(finalLayerNormBiasStd); must be a standard deviation ≥ 0")
        }
        let config = GPTConfig(
            vocabularySize: vocabularySize, contextLength: contextLength, width: width, layers: layers,
            heads: heads ?? (width % 4 == 0 ? 4 : 1))
        let model = try GPT(config: config, seed: seed)
        if finalLayerNormBiasStd > 0, let beta = model.parameter("transformer.ln_f.bias") {
            var rng = LabRNG(seed: seed, stream: "logit-leak-ln_f-bias")
            for c in 0..<width { beta[c] = Float(rng.normal() * finalLayerNormBiasStd) }
        }
        return GPTTeacher(model: model)
    }
}
