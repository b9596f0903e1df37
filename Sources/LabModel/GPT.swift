// GPT: the tiny GPT-2 — one parameter slab with named views, activations preallocated for
// (B, T), and a hand-written forward and backward that read top to bottom like the model:
// embeddings, then per block attention and MLP, then the final LayerNorm and tied unembedding.
// It is not a general autograd: every backward names the forward expression it differentiates.
import LabCore

/// Everything the forward pass keeps for backward, for one (B, T). Shapes in comments.
final class Activations {
    let B: Int, T: Int
    /// `Parallel.workers` when the per-worker scratch was sized; a change forces a rebuild.
    let workers: Int
    let tokens: UnsafeMutablePointer<Int32>  // (B·T)
    let encoded: FloatBuffer  // (B·T, C) residual stream entering block 0
    let ln1, ln1Mean, ln1Rstd: [FloatBuffer]  // (B·T, C), (B·T), (B·T) per layer
    let qkv: [FloatBuffer]  // (B·T, 3C)
    let att: [FloatBuffer]  // (B, NH, T, T) probabilities
    let atty: [FloatBuffer]  // (B·T, C) attention output before projection
    let residual2: [FloatBuffer]  // (B·T, C) x + attn
    let ln2, ln2Mean, ln2Rstd: [FloatBuffer]
    let fch: [FloatBuffer]  // (B·T, 4C) pre-GELU
    let fchGelu: [FloatBuffer]  // (B·T, 4C)
    let residual3: [FloatBuffer]  // (B·T, C) block output
    let lnf, lnfMean, lnfRstd: FloatBuffer
    let logits: FloatBuffer  // (B·T, V)
    let rowLoss: FloatBuffer  // (B·T)
    let attentionScratch: AttentionScratch
    let lnScratch: FloatBuffer  // per-chunk LayerNorm partials (Parallel.fixedChunks, 2C)
    // Backward scratch, reused across layers.
    let dlogits: FloatBuffer  // (B·T, V)
    let dresidual: FloatBuffer  // (B·T, C)
    let dln: FloatBuffer  // (B·T, C)
    let datty: FloatBuffer  // (B·T, C)
    let dqkv: FloatBuffer  // (B·T, 3C)
    let dfch: FloatBuffer  // (B·T, 4C)

    init(config: GPTConfig, B: Int, T: Int) {
        self.B = B
        self.T = T
        workers = max(1, Parallel.workers)
        let N = B * T, C = config.width, L = config.layers, V = config.vocabularySize, NH = config.heads
        func many(_ n: Int) -> [FloatBuffer] { (0..<L).map { _ in FloatBuffer(count: n) } }
        tokens = .allocate(capacity: N)
        tokens.initialize(repeating: 0, count: N)
        encoded = FloatBuffer(count: N * C)
        ln1 = many(N * C)
        ln1Mean = many(N)
        ln1Rstd = many(N)
        qkv = many(N * 3 * C)
        att = many(B * NH * T * T)
        atty = many(N * C)
        residual2 = many(N * C)
        ln2 = many(N * C)
        ln2Mean = many(N)
        ln2Rstd = many(N)
        fch = many(N * 4 * C)
        fchGelu = many(N * 4 * C)
        residual3 = many(N * C)
        lnf = FloatBuffer(count: N * C)
        lnfMean = FloatBuffer(count: N)
        lnfRstd = FloatBuffer(count: N)
        logits = FloatBuffer(count: N * V)
        rowLoss = FloatBuffer(count: N)
        attentionScratch = AttentionScratch(workers: workers, headSize: C / NH, T: T)
        lnScratch = FloatBuffer(count: Parallel.fixedChunks * 2 * C)
        dlogits = FloatBuffer(count: N * V)
        dresidual = FloatBuffer(count: N * C)
        dln = FloatBuffer(count: N * C)
        datty = FloatBuffer(count: N * C)
        dqkv = FloatBuffer(count: N * 3 * C)
        dfch = FloatBuffer(count: N * 4 * C)
    }

    deinit { tokens.deallocate() }
}

public enum AttentionKernel: String, CaseIterable, Sendable {
    /// Per-(batch, head) products through single-threaded sgemm; masked softmax in Swift.
    case gemm
    /// Everything in Swift SIMD, computing only the unmasked half.
    case fused
}

public final class GPT {
    public let config: GPTConfig
    public let layout: ParameterLayout
    /// All parameters, laid out by `layout`.
    public let parameters: FloatBuffer
    /// ∂loss/∂parameters, same layout; allocated on first backward.
    public private(set) lazy var gradients = FloatBuffer(count: layout.count)
    var activations: Activations?
    /// Which attention implementation this model's training and full-sequence inference use (both compute
    /// the same function; tests hold them to each other). The lab runs `.gemm`; `.fused` is kept for
    /// `distill-lab bench --attention fused`.
    public var attentionKernel: AttentionKernel = .gemm

    /// A model with GPT-2's initialisation: N(0, 0.02) weights and embeddings, residual output
    /// projections scaled by 1/√(2L), zero biases, LayerNorm weights one.
    public init(config: GPTConfig, seed: UInt64) throws {
        try config.validate()
        self.config = config
        layout = ParameterLayout(config)
        parameters = FloatBuffer(count: layout.count)
        var rng = LabRNG(seed: seed, stream: "gpt-init")
        let residualStd = 0.02 / (2 * Double(config.layers)).squareRoot()
        for spec in layout.tensors {
            let p = parameters.pointer + spec.offset
            if spec.name.hasSuffix("ln_1.weight") || spec.name.hasSuffix("ln_2.weight")
                || spec.name.hasSuffix("ln_f.weight")
            {
                p.update(repeating: 1, count: spec.count)
            } else if spec.shape.count == 2 {
                let std = spec.name.hasSuffix("c_proj.weight") ? residualStd : 0.02
                for i in 0..<spec.count { p[i] = Float(rng.normal() * std) }
            }
        }
    }

    /// A model around existing parameters (copied), e.g. from a checkpoint.
    public init(config: GPTConfig, parameters source: FloatBuffer) throws {
        try config.validate()
        self.config = config
        layout = ParameterLayout(config)
        guard source.count == layout.count else {
            throw LabError.message("parameter slab has \(source.count) floats; the config needs \(layout.count)")
        }
        parameters = FloatBuffer(count: layout.count)
        parameters.copy(from: source)
    }

    /// Pointer to the named tensor's first parameter.
    public func parameter(_ name: String) -> UnsafeMutablePointer<Float>? {
        layout.tensor(named: name).map { parameters.pointer + $0.offset }
    }

    func prepare(B: Int, T: Int) -> Activations {
        BLAS.useSingleThreadedBLAS()
        if let a = activations, a.B == B, a.T == T, a.workers == max(1, Parallel.workers) { return a }
        activations = nil
        let a = Activations(config: config, B: B, T: T)
        activations = a
        return a
    }

    // MARK: Forward

    /// Runs the model on `tokens` (B·T, row-major) and returns the logits, (B·T, V), valid until
    /// the next call. Every value it needs for `backward` is kept.
    @discardableResult
    public func forward(tokens: [Int32], batch B: Int, length T: Int) throws -> UnsafeMutableBufferPointer<Float> {
        guard B >= 1, T >= 1, tokens.count == B * T else {
            throw LabError.message("forward: \(tokens.count) tokens do not make a batch of \(B)×\(T)")
        }
        guard T <= config.contextLength else {
            throw LabError.invalidConfig(
                key: "sequence_length", message: "\(T) exceeds the model's context length \(config.contextLength)")
        }
        let V = config.vocabularySize
        for t in tokens where t < 0 || Int(t) >= V {
            throw LabError.message("token id \(t) is outside the vocabulary 0..<\(V)")
        }
        if activations?.B != B || activations?.T != T {
            try MemoryLimit.check(
                config.activationBytes(batch: B, length: T), for: "a forward pass over a batch of \(B) × \(T) tokens",
                key: "batch_size", fix: "Lower the batch size or the sequence length.")
        }
        let a = prepare(B: B, T: T)
        tokens.withUnsafeBufferPointer { a.tokens.update(from: $0.baseAddress!, count: B * T) }
        runForward(a)
        return a.logits.buffer
    }

    func runForward(_ a: Activations) {
        let B = a.B, T = a.T, N = B * T
        let C = config.width, V = config.vocabularySize, NH = config.heads
        let P = parameters.pointer
        encoderForward(
            out: a.encoded.pointer, tokens: a.tokens, wte: P + layout.tokenEmbedding, wpe: P + layout.positionEmbedding,
            B: B, T: T, C: C)
        var residual = UnsafePointer(a.encoded.pointer)
        for l in 0..<config.layers {
            let o = layout.blocks[l]
            // x + attn(ln_1(x))
            layerNormForward(
                out: a.ln1[l].pointer, mean: a.ln1Mean[l].pointer, rstd: a.ln1Rstd[l].pointer, x: residual,
                weight: P + o.ln1Weight, bias: P + o.ln1Bias, N: N, C: C)
            linearForward(
                out: a.qkv[l].pointer, x: a.ln1[l].pointer, weight: P + o.qkvWeight, bias: P + o.qkvBias, N: N, IC: C,
                OC: 3 * C)
            if attentionKernel == .gemm {
                attentionForwardGEMM(
                    out: a.atty[l].pointer, att: a.att[l].pointer, qkv: a.qkv[l].pointer, B: B, T: T, C: C, NH: NH)
            } else {
                attentionForward(
                    out: a.atty[l].pointer, att: a.att[l].pointer, qkv: a.qkv[l].pointer, B: B, T: T, C: C, NH: NH,
                    scratch: a.attentionScratch)
            }
            linearForward(
                out: a.residual2[l].pointer, x: a.atty[l].pointer, weight: P + o.attnProjWeight,
                bias: P + o.attnProjBias, N: N, IC: C, OC: C, residual: residual)
            // a + mlp(ln_2(a))
            layerNormForward(
                out: a.ln2[l].pointer, mean: a.ln2Mean[l].pointer, rstd: a.ln2Rstd[l].pointer,
                x: a.residual2[l].pointer, weight: P + o.ln2Weight, bias: P + o.ln2Bias, N: N, C: C)
            linearForward(
                out: a.fch[l].pointer, x: a.ln2[l].pointer, weight: P + o.fcWeight, bias: P + o.fcBias, N: N, IC: C,
                OC: 4 * C)
            geluForward(out: a.fchGelu[l].pointer, x: a.fch[l].pointer, n: N * 4 * C)
            linearForward(
                out: a.residual3[l].pointer, x: a.fchGelu[l].pointer, weight: P + o.fcProjWeight,
                bias: P + o.fcProjBias, N: N, IC: 4 * C, OC: C, residual: a.residual2[l].pointer)
            residual = UnsafePointer(a.residual3[l].pointer)
        }
        layerNormForward(
            out: a.lnf.pointer, mean: a.lnfMean.pointer, rstd: a.lnfRstd.pointer, x: residual,
            weight: P + layout.lnfWeight, bias: P + layout.lnfBias, N: N, C: C)
        // logits = lnf · wteᵀ (tied unembedding)
        BLAS.parallelSgemm(
            transA: false, transB: true, m: N, n: V, k: C, a: a.lnf.pointer, lda: C, b: P + layout.tokenEmbedding,
            ldb: C, beta: 0, c: a.logits.pointer, ldc: V)
    }

    // MARK: Loss and backward

    /// Loss of the last forward against `targets`; also stores ∂loss/∂logits for `backward()`.
    public func loss(_ targets: LossTargets, options: LossOptions = LossOptions()) throws -> Float {
        guard let a = activations else { throw LabError.message("loss: call forward first") }
        return try LossKernel.compute(
            dlogits: a.dlogits.pointer, logits: a.logits.pointer, targets: targets, options: options, N: a.B * a.T,
            V: config.vocabularySize, rowLoss: a.rowLoss.pointer)
    }

    /// Gradient of the last loss with respect to the logits, (B·T, V); writable, so callers can
    /// supply their own ∂loss/∂logits before `backward()`.
    public var logitGradients: UnsafeMutableBufferPointer<Float>? { activations?.dlogits.buffer }

    /// Sets all gradients to zero (backward adds into them).
    public func zeroGradients() { gradients.zero() }

    /// Adds ∂loss/∂parameters into `gradients`, from the logit gradients the last `loss` stored.
    public func backward() {
        guard let a = activations else { preconditionFailure("backward before forward") }
        let B = a.B, T = a.T, N = B * T
        let C = config.width, V = config.vocabularySize, NH = config.heads
        let P = parameters.pointer, G = gradients.pointer
        // logits = lnf · wteᵀ: dlnf = dlogits · wte; dwte += dlogitsᵀ · lnf.
        let dres = a.dresidual.pointer
        BLAS.parallelSgemm(
            transA: false, transB: false, m: N, n: C, k: V, a: a.dlogits.pointer, lda: V, b: P + layout.tokenEmbedding,
            ldb: C, beta: 0, c: a.dln.pointer, ldc: C)
        BLAS.parallelSgemm(
            transA: true, transB: false, m: V, n: C, k: N, a: a.dlogits.pointer, lda: V, b: a.lnf.pointer, ldb: C,
            beta: 1, c: G + layout.tokenEmbedding, ldc: C)
        let lastResidual =
            config.layers > 0 ? UnsafePointer(a.residual3[config.layers - 1].pointer) : UnsafePointer(a.encoded.pointer)
        a.dresidual.zero()
        layerNormBackward(
            dx: dres, dweight: G + layout.lnfWeight, dbias: G + layout.lnfBias, dout: a.dln.pointer, x: lastResidual,
            weight: P + layout.lnfWeight, mean: a.lnfMean.pointer, rstd: a.lnfRstd.pointer, N: N, C: C,
            scratch: a.lnScratch.pointer)
        for l in stride(from: config.layers - 1, through: 0, by: -1) {
            let o = layout.blocks[l]
            let residual = l == 0 ? UnsafePointer(a.encoded.pointer) : UnsafePointer(a.residual3[l - 1].pointer)
            // residual3 = residual2 + gelu(fch)·Wp + bp
            linearBackward(
                dx: a.dfch.pointer, dweight: G + o.fcProjWeight, dbias: G + o.fcProjBias, dout: dres,
                x: a.fchGelu[l].pointer, weight: P + o.fcProjWeight, N: N, IC: 4 * C, OC: C)
            geluBackward(d: a.dfch.pointer, x: a.fch[l].pointer, y: a.fchGelu[l].pointer, n: N * 4 * C)
            // fch = ln2·Wfc + bfc
            linearBackward(
                dx: a.dln.pointer, dweight: G + o.fcWeight, dbias: G + o.fcBias, dout: a.dfch.pointer,
                x: a.ln2[l].pointer, weight: P + o.fcWeight, N: N, IC: C, OC: 4 * C)
            // ln2 = LayerNorm(residual2); the residual path adds dres through unchanged.
            layerNormBackward(
                dx: dres, dweight: G + o.ln2Weight, dbias: G + o.ln2Bias, dout: a.dln.pointer,
                x: a.residual2[l].pointer, weight: P + o.ln2Weight, mean: a.ln2Mean[l].pointer,
                rstd: a.ln2Rstd[l].pointer, N: N, C: C, scratch: a.lnScratch.pointer)
            // residual2 = residual + atty·Wo + bo
            linearBackward(
                dx: a.datty.pointer, dweight: G + o.attnProjWeight, dbias: G + o.attnProjBias, dout: dres,
                x: a.atty[l].pointer, weight: P + o.attnProjWeight, N: N, IC: C, OC: C)
            if attentionKernel == .gemm {
                attentionBackwardGEMM(
                    dqkv: a.dqkv.pointer, dout: a.datty.pointer, att: a.att[l].pointer, qkv: a.qkv[l].pointer, B: B,
                    T: T, C: C, NH: NH, scratch: a.attentionScratch.buffer.pointer)
            } else {
                attentionBackward(
                    dqkv: a.dqkv.pointer, dout: a.datty.pointer, att: a.att[l].pointer, qkv: a.qkv[l].pointer, B: B,
                    T: T, C: C, NH: NH, scratch: a.attentionScratch)
            }
            // qkv = ln1·Wqkv + bqkv
            linearBackward(
                dx: a.dln.pointer, dweight: G + o.qkvWeight, dbias: G + o.qkvBias, dout: a.dqkv.pointer,
                x: a.ln1[l].pointer, weight: P + o.qkvWeight, N: N, IC: C, OC: 3 * C)
            layerNormBackward(
                dx: dres, dweight: G + o.ln1Weight, dbias: G + o.ln1Bias, dout: a.dln.pointer, x: residual,
                weight: P + o.ln1Weight, mean: a.ln1Mean[l].pointer, rstd: a.ln1Rstd[l].pointer, N: N, C: C,
                scratch: a.lnScratch.pointer)
        }
        // encoded = wte[tokens] + wpe[positions]
        encoderBackward(
            dwte: G + layout.tokenEmbedding, dwpe: G + layout.positionEmbedding, dout: dres, tokens: a.tokens, B: B,
            T: T, C: C)
    }
}
