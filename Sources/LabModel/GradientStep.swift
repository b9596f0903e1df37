// GradientStep: the one optimisation step every training loop in the lab takes — clear the gradients,
// backpropagate the ∂loss/∂logits a loss left in the model, clip and update with AdamW — with the hard
// stop on NaN or infinity naming the step and the tensor. Not a loop: each caller owns its data, its loss
// and its schedule (Trainer, Distiller, NastyTeacher, the anti-distillation student, the benchmark).
import LabCore

public struct GradientStep {
    public let model: GPT
    public let optimizer: AdamW

    public init(model: GPT, optimizer config: AdamWConfig) {
        self.model = model
        optimizer = AdamW(layout: model.layout, config: config)
    }

    /// Takes optimisation step `step` (0-based; messages count from 1). `loss` runs the model forward and
    /// leaves ∂loss/∂logits in `model.logitGradients`, as `GPT.loss` does, and returns the loss; this then
    /// backpropagates and updates at `learningRate`. A loss or gradient norm that is not finite throws
    /// `LabError.nonFinite` naming the first non-finite tensor, or `lossName` when every weight is finite.
    @discardableResult
    public func take(step: Int, learningRate: Float, lossName: String = "logits", loss: () throws -> Float) throws -> (
        loss: Float, gradientNorm: Float
    ) {
        let value = try loss()
        guard value.isFinite else {
            throw LabError.nonFinite(step: step + 1, tensor: firstNonFinite(in: model.parameters) ?? lossName)
        }
        model.zeroGradients()
        model.backward()
        let norm = optimizer.update(
            parameters: model.parameters, gradients: model.gradients, learningRate: learningRate)
        guard norm.isFinite else {
            throw LabError.nonFinite(
                step: step + 1, tensor: "gradient of " + (firstNonFinite(in: model.gradients) ?? "parameters"))
        }
        return (value, norm)
    }

    /// The name of the first tensor in `buffer` (laid out like the parameters) holding NaN or inf.
    public func firstNonFinite(in buffer: FloatBuffer) -> String? {
        for spec in model.layout.tensors {
            let p = buffer.pointer + spec.offset
            for i in 0..<spec.count where !p[i].isFinite { return spec.name }
        }
        return nil
    }
}
