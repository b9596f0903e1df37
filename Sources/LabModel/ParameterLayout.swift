// ParameterLayout: where every named tensor lives inside the one parameter slab.
// Names and shapes are Hugging Face GPT-2's (linear weights stored (in, out), as Conv1D does),
// so checkpoints are the slab written tensor by tensor. Gradients and AdamW moments share it.

public struct TensorSpec: Equatable, Sendable {
    /// Hugging Face GPT-2 name, e.g. "transformer.h.0.attn.c_attn.weight".
    public let name: String
    public let shape: [Int]
    /// Offset (in floats) inside the slab.
    public let offset: Int
    /// Whether AdamW applies weight decay (2-D tensors: embeddings and linear weights).
    public var decays: Bool { shape.count == 2 }
    public var count: Int { shape.reduce(1, *) }
}

/// Offsets of one block's tensors inside the slab.
public struct BlockOffsets: Sendable {
    public let ln1Weight, ln1Bias: Int  // (C), (C)
    public let qkvWeight, qkvBias: Int  // (C, 3C), (3C)
    public let attnProjWeight, attnProjBias: Int  // (C, C), (C)
    public let ln2Weight, ln2Bias: Int  // (C), (C)
    public let fcWeight, fcBias: Int  // (C, 4C), (4C)
    public let fcProjWeight, fcProjBias: Int  // (4C, C), (C)
}

public struct ParameterLayout: Sendable {
    public let config: GPTConfig
    public let tensors: [TensorSpec]
    public let count: Int
    public let tokenEmbedding: Int  // wte (V, C)
    public let positionEmbedding: Int  // wpe (T, C)
    public let blocks: [BlockOffsets]
    public let lnfWeight, lnfBias: Int  // (C), (C)

    public init(_ config: GPTConfig) {
        self.config = config
        let V = config.vocabularySize, T = config.contextLength, C = config.width
        var specs: [TensorSpec] = []
        var offset = 0
        func add(_ name: String, _ shape: [Int]) -> Int {
            let o = offset
            specs.append(TensorSpec(name: name, shape: shape, offset: o))
            offset += shape.reduce(1, *)
            return o
        }
        tokenEmbedding = add("transformer.wte.weight", [V, C])
        positionEmbedding = add("transformer.wpe.weight", [T, C])
        var blocks: [BlockOffsets] = []
        for l in 0..<config.layers {
            let p = "transformer.h.\(l)."
            blocks.append(
                BlockOffsets(
                    ln1Weight: add(p + "ln_1.weight", [C]), ln1Bias: add(p + "ln_1.bias", [C]),
                    qkvWeight: add(p + "attn.c_attn.weight", [C, 3 * C]), qkvBias: add(p + "attn.c_attn.bias", [3 * C]),
                    attnProjWeight: add(p + "attn.c_proj.weight", [C, C]),
                    attnProjBias: add(p + "attn.c_proj.bias", [C]),
                    ln2Weight: add(p + "ln_2.weight", [C]), ln2Bias: add(p + "ln_2.bias", [C]),
                    fcWeight: add(p + "mlp.c_fc.weight", [C, 4 * C]), fcBias: add(p + "mlp.c_fc.bias", [4 * C]),
                    fcProjWeight: add(p + "mlp.c_proj.weight", [4 * C, C]), fcProjBias: add(p + "mlp.c_proj.bias", [C]))
            )
        }
        self.blocks = blocks
        lnfWeight = add("transformer.ln_f.weight", [C])
        lnfBias = add("transformer.ln_f.bias", [C])
        tensors = specs
        count = offset
    }

    public func tensor(named name: String) -> TensorSpec? { tensors.first { $0.name == name } }
}
