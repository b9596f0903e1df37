// Sampler: incremental decoding with a KV cache, and seeded sampling with temperature, top-k,
// top-p and an additive logit bias. All sequences of a batch advance in lockstep, one position per
// step (prompt tokens are fed through the same step, so prompts may differ in length).
// Not here: beam search, or the full-sequence forward used for scoring (that is `GPT.forward`).
import Foundation
import LabCore

public struct SamplingOptions: Codable, Equatable, Sendable {
    /// Softmax temperature; 0 means greedy (argmax).
    public var temperature: Float = 1
    /// Keep only the k most likely tokens (nil: all).
    public var topK: Int? = nil
    /// Nucleus sampling: keep the smallest set of tokens whose probability reaches p (nil: off).
    public var topP: Float? = nil
    /// Added to the logits before temperature (token id → bias), as in LLM APIs' `logit_bias`.
    public var logitBias: [Int: Float] = [:]
    /// Generation of a sequence ends after it emits this token (it is kept in the output).
    public var stopToken: Int? = nil

    public init(
        temperature: Float = 1, topK: Int? = nil, topP: Float? = nil, logitBias: [Int: Float] = [:],
        stopToken: Int? = nil
    ) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.logitBias = logitBias
        self.stopToken = stopToken
    }

    enum CodingKeys: String, CodingKey {
        case temperature, topK = "top_k", topP = "top_p", logitBias = "logit_bias", stopToken = "stop_token"
    }

    public func validate(vocabularySize V: Int) throws {
        guard temperature >= 0, temperature.isFinite else {
            throw LabError.invalidConfig(
                key: "temperature", message: "is \(temperature); must be 0 (greedy) or positive")
        }
        if let k = topK, k < 1 || k > V {
            throw LabError.invalidConfig(key: "top_k", message: "is \(k); must be in 1...\(V)")
        }
        if let p = topP, !(p > 0 && p <= 1) {
            throw LabError.invalidConfig(key: "top_p", message: "is \(p); must be in (0, 1]")
        }
        for (t, b) in logitBias where t < 0 || t >= V || !b.isFinite {
            throw LabError.invalidConfig(
                key: "logit_bias", message: "token \(t) with bias \(b): tokens must be in 0..<\(V) and biases finite")
        }
    }
}

/// K and V of every layer for B sequences up to the context length, head by head. Values are
/// (L, B, NH, T, hs). Keys are (L, B, NH, keyStride · hs) with keyStride = T rounded up to 16: each head's
/// keys are blocks of 16 positions, and inside a block the key components come in the order a decode step
/// adds them (`decodeKeyIndex`), 16 positions side by side; so the step scores 16 positions at a time with
/// vertical SIMD (no horizontal sums) while reading each head's keys front to back.
final class KVCache {
    let B: Int, T: Int, C: Int, NH: Int
    /// T rounded up to a multiple of 16: the positions each head's keys have room for (hs · keyStride floats).
    let keyStride: Int
    let keys: [FloatBuffer], values: [FloatBuffer]
    /// T rounded up to a multiple of 16: a head's key blocks, and the scores row a decode step fills.
    static func keyStride(positions T: Int) -> Int { (T + 15) / 16 * 16 }
    init(layers: Int, B: Int, T: Int, C: Int, heads: Int) {
        self.B = B
        self.T = T
        self.C = C
        NH = heads
        keyStride = KVCache.keyStride(positions: T)
        keys = (0..<layers).map { [keyStride] _ in FloatBuffer(count: B * C * keyStride) }
        values = (0..<layers).map { _ in FloatBuffer(count: B * T * C) }
    }
}

/// A replacement for the sampler's own draw, called once per decoding step with the sequences that
/// draw a token at that step (ascending), their tokens so far (prompt plus generated, one array per
/// listed sequence), and the step's logits buffer: sequence i's next-token logits are the V floats at
/// `logits + i * V` (scratch the chooser may overwrite). It returns one token per listed sequence.
/// With a chooser the sampler applies no bias, temperature, top-k or top-p and does not call
/// `observe`; `stopToken`, `maxNewTokens` and the context length still end a sequence.
public typealias TokenChooser = (_ sequences: [Int], _ contexts: [[Int32]], _ logits: UnsafeMutablePointer<Float>)
    throws -> [Int32]

public final class Sampler {
    public let model: GPT
    public init(model: GPT) { self.model = model }

    /// Generates up to `maxNewTokens` tokens after each prompt. Sequence i draws from its own
    /// random stream (seed, i), so its output does not depend on the rest of the batch.
    /// `observe(i, step, logprobs)` sees the next-token log-probabilities (after bias and
    /// temperature) of sequence i before each of its sampled tokens.
    /// `choose`, when given, replaces the draw itself (see `TokenChooser`): a teacher API uses it to
    /// shape each step's distribution (defences, watermarks) and to draw with its own per-query streams.
    public func generate(
        prompts: [[Int32]], maxNewTokens: Int, options: SamplingOptions, seed: UInt64,
        observe: ((Int, Int, UnsafeBufferPointer<Float>) -> Void)? = nil,
        choose: TokenChooser? = nil
    ) throws -> [[Int32]] {
        let cfg = model.config
        let V = cfg.vocabularySize, C = cfg.width, T = cfg.contextLength, NH = cfg.heads
        try options.validate(vocabularySize: V)
        let B = prompts.count
        guard B > 0 else { return [] }
        for (i, p) in prompts.enumerated() {
            guard !p.isEmpty else { throw LabError.message("prompt \(i) is empty; give at least one token") }
            guard p.count <= T else {
                throw LabError.message("prompt \(i) has \(p.count) tokens; the model's context length is \(T)")
            }
            for t in p where t < 0 || Int(t) >= V {
                throw LabError.message("prompt \(i) has token \(t) outside the vocabulary 0..<\(V)")
            }
        }
        let cache = KVCache(layers: cfg.layers, B: B, T: T, C: C, heads: NH)
        let s = DecodeState(B: B, C: C, V: V, T: T, workers: Parallel.workers)
        var rngs = (0..<B).map { LabRNG(seed: seed, stream: "sample-\($0)") }
        var outputs = [[Int32]](repeating: [], count: B)
        var done = [Bool](repeating: maxNewTokens <= 0, count: B)
        let longest = prompts.map(\.count).max()!
        var current = prompts.map { $0[0] }
        var step = 0
        while step < T, !done.allSatisfy({ $0 }) {
            try self.step(tokens: current, position: step, cache: cache, state: s)
            var drawing: [Int] = []
            for i in 0..<B {
                let p = prompts[i]
                if step + 1 < p.count {
                    current[i] = p[step + 1]
                    continue
                }
                if !done[i] { drawing.append(i) }
            }
            var chosen: [Int32] = []
            if let choose, !drawing.isEmpty {
                chosen = try choose(drawing, drawing.map { prompts[$0] + outputs[$0] }, s.logits.pointer)
                guard chosen.count == drawing.count else {
                    throw LabError.message(
                        "token chooser returned \(chosen.count) tokens for \(drawing.count) sequences")
                }
                for t in chosen where t < 0 || Int(t) >= V {
                    throw LabError.message("token chooser returned token \(t), outside the vocabulary 0..<\(V)")
                }
            }
            for (j, i) in drawing.enumerated() {
                let token =
                    choose == nil
                    ? sample(
                        logits: s.logits.pointer + i * V, V: V, options: options, rng: &rngs[i], scratch: s,
                        observe: observe.map { f in { f(i, outputs[i].count, $0) } })
                    : chosen[j]
                outputs[i].append(token)
                current[i] = token
                if outputs[i].count >= maxNewTokens || token == Int32(options.stopToken ?? -1) || step + 1 >= T {
                    done[i] = true
                }
            }
            step += 1
            if step >= longest, done.allSatisfy({ $0 }) { break }
        }
        return outputs
    }

    /// Per-call buffers for one decode step over B sequences.
    final class DecodeState {
        let x, ln, qkv, atty, fch, fchGelu, logits, probs: FloatBuffer
        let scores: FloatBuffer, order: UnsafeMutablePointer<Int32>
        let mean, rstd: FloatBuffer
        let tokens: UnsafeMutablePointer<Int32>
        /// Whether a step runs each row piece of the batch through the whole stack on one worker
        /// (see `Sampler.step`); nil decides by `rowPiecesApply`.
        let rowPieces: Bool
        init(B: Int, C: Int, V: Int, T: Int, workers: Int, rowPieces: Bool? = nil) {
            x = FloatBuffer(count: B * C)
            ln = FloatBuffer(count: B * C)
            qkv = FloatBuffer(count: B * 3 * C)
            atty = FloatBuffer(count: B * C)
            fch = FloatBuffer(count: B * 4 * C)
            fchGelu = FloatBuffer(count: B * 4 * C)
            logits = FloatBuffer(count: B * V)
            probs = FloatBuffer(count: V)
            // One row of scores (T rounded up to 16, as KVCache.keyStride) per worker of the per-product
            // path, or per row piece.
            scores = FloatBuffer(count: max(1, workers, Parallel.fixedChunks) * KVCache.keyStride(positions: T))
            order = .allocate(capacity: V)
            mean = FloatBuffer(count: B)
            rstd = FloatBuffer(count: B)
            tokens = .allocate(capacity: B)
            self.rowPieces = rowPieces ?? Sampler.rowPiecesApply(B: B, C: C)
        }
        deinit {
            order.deallocate()
            tokens.deallocate()
        }
    }

    /// Whether `BLAS.parallelSgemm` cuts all four products of a block (QKV, attention projection, MLP up
    /// and down) over a batch of B rows into row pieces, which are then the same pieces for all four
    /// (they depend on B only): for example a batch of 32 at width 128 or more.
    static func rowPiecesApply(B: Int, C: Int) -> Bool {
        guard Parallel.fixedChunkCount(B, minimumPerChunk: BLAS.rowPieceMinimum) > 1 else { return false }
        return [(C, 3 * C), (C, C), (C, 4 * C), (4 * C, C)].allSatisfy { k, n in BLAS.split(m: B, n: n, k: k) == .rows }
    }

    /// One position for every sequence: logits (B, V) for the token after `tokens` at `position`.
    ///
    /// When every product of a block is cut into row pieces (`DecodeState.rowPieces`), each piece of the
    /// batch (its sequences) runs through the whole stack on one worker: one parallel region per step
    /// instead of one per product and per attention in every layer, with exactly the `sgemm` calls that the cut makes, and every
    /// other kernel computing each row as it does over the whole batch, so the logits are bit for bit
    /// those of the per-product path. Otherwise each product, the attention and each kernel is a
    /// parallel region of its own. The unembedding is one product over the batch either way.
    func step(tokens: [Int32], position pos: Int, cache: KVCache, state s: DecodeState) throws {
        let cfg = model.config, layout = model.layout
        let B = tokens.count, C = cfg.width, V = cfg.vocabularySize
        let P = model.parameters.pointer
        for i in 0..<B { s.tokens[i] = tokens[i] }
        if s.rowPieces {
            Parallel.forFixedChunks(B, minimumPerChunk: BLAS.rowPieceMinimum) { piece, rows in
                Parallel.withWorkers(1) {
                    blocks(
                        rows: rows, onePiece: true, position: pos, cache: cache, state: s,
                        scores: s.scores.pointer + piece * cache.keyStride)
                }
            }
        } else {
            blocks(rows: 0..<B, onePiece: false, position: pos, cache: cache, state: s, scores: s.scores.pointer)
        }
        BLAS.parallelSgemm(
            transA: false, transB: true, m: B, n: V, k: C, a: s.ln.pointer, lda: C, b: P + layout.tokenEmbedding,
            ldb: C, beta: 0, c: s.logits.pointer, ldc: V)
    }

    /// Embedding, every block and the final LayerNorm for the sequences `rows` at `position`, into
    /// `s.ln`'s rows. `onePiece`: `rows` is a row piece run on one worker (`Parallel.workers` is 1),
    /// and each product is one `sgemm` on those rows; otherwise `rows` is the whole batch and products
    /// go through `parallelSgemm`. `scores` holds one row of `cache.keyStride` per worker of the attention loop.
    private func blocks(
        rows: Range<Int>, onePiece oneCall: Bool, position pos: Int, cache: KVCache, state s: DecodeState,
        scores: UnsafeMutablePointer<Float>
    ) {
        let cfg = model.config, layout = model.layout
        let C = cfg.width, NH = cfg.heads, hs = C / NH, T = cache.T
        let P = model.parameters.pointer
        let r0 = rows.lowerBound, R = rows.count
        let x = s.x.pointer + r0 * C, ln = s.ln.pointer + r0 * C, qkv = s.qkv.pointer + r0 * 3 * C
        let atty = s.atty.pointer + r0 * C, fch = s.fch.pointer + r0 * 4 * C, fchGelu = s.fchGelu.pointer + r0 * 4 * C
        let mean = s.mean.pointer + r0, rstd = s.rstd.pointer + r0
        for i in rows {
            let e = P + layout.tokenEmbedding + Int(s.tokens[i]) * C, pe = P + layout.positionEmbedding + pos * C
            let o = s.x.pointer + i * C
            for c in 0..<C { o[c] = e[c] + pe[c] }
        }
        let scale = 1 / Float(hs).squareRoot()
        for l in 0..<cfg.layers {
            let o = layout.blocks[l]
            layerNormForward(
                out: ln, mean: mean, rstd: rstd, x: x, weight: P + o.ln1Weight, bias: P + o.ln1Bias, N: R, C: C)
            linearForward(
                out: qkv, x: ln, weight: P + o.qkvWeight, bias: P + o.qkvBias, N: R, IC: C, OC: 3 * C,
                oneCall: oneCall)
            // Head h of sequence i (bh = i·NH + h) keeps key component d of position j at
            // K[bh·hs·KS + decodeKeyIndex(d, j, hs)] and its value row j at V[(bh·T + j)·hs ..< +hs].
            let K = cache.keys[l].pointer, Vc = cache.values[l].pointer, KS = cache.keyStride
            for i in rows {
                for h in 0..<NH {
                    let bh = i * NH + h, from = s.qkv.pointer + i * 3 * C + h * hs
                    let key = from + C, kt = K + bh * hs * KS
                    for d in 0..<hs { kt[decodeKeyIndex(component: d, position: pos, hs: hs)] = key[d] }
                    (Vc + (bh * T + pos) * hs).update(from: from + 2 * C, count: hs)
                }
            }
            forEachWithWorker(R * NH) { item, worker in
                let i = r0 + item / NH, h = item % NH, bh = i * NH + h
                decodeAttention(
                    out: s.atty.pointer + i * C + h * hs, q: s.qkv.pointer + i * 3 * C + h * hs,
                    keys: K + bh * hs * KS, values: Vc + bh * T * hs, n: pos + 1, hs: hs, scale: scale,
                    scores: scores + worker * KS)
            }
            linearForward(
                out: x, x: atty, weight: P + o.attnProjWeight, bias: P + o.attnProjBias, N: R, IC: C, OC: C,
                residual: x, oneCall: oneCall)
            layerNormForward(
                out: ln, mean: mean, rstd: rstd, x: x, weight: P + o.ln2Weight, bias: P + o.ln2Bias, N: R, C: C)
            linearForward(
                out: fch, x: ln, weight: P + o.fcWeight, bias: P + o.fcBias, N: R, IC: C, OC: 4 * C, oneCall: oneCall)
            geluForward(out: fchGelu, x: fch, n: R * 4 * C)
            linearForward(
                out: x, x: fchGelu, weight: P + o.fcProjWeight, bias: P + o.fcProjBias, N: R, IC: 4 * C, OC: C,
                residual: x, oneCall: oneCall)
        }
        layerNormForward(
            out: ln, mean: mean, rstd: rstd, x: x, weight: P + layout.lnfWeight, bias: P + layout.lnfBias, N: R, C: C)
    }

    /// Draws one token from a logit row under `options`.
    func sample(
        logits z: UnsafeMutablePointer<Float>, V: Int, options: SamplingOptions, rng: inout LabRNG,
        scratch s: DecodeState,
        observe: ((UnsafeBufferPointer<Float>) -> Void)?
    ) -> Int32 {
        for (t, b) in options.logitBias { z[t] += b }
        let logp = s.probs.pointer
        Softmax.logProbabilities(
            z, count: V, temperature: options.temperature == 0 ? 1 : options.temperature, into: logp)
        observe?(UnsafeBufferPointer(start: logp, count: V))
        if options.temperature == 0 {
            var best = 0
            for v in 1..<V where z[v] > z[best] { best = v }
            return Int32(best)
        }
        return Int32(
            Sampling.draw(
                logProbabilities: logp, V: V, topK: options.topK, topP: options.topP, order: s.order, rng: &rng))
    }
}

/// Where key component d of position j sits in one head's cached keys (`KVCache`): block j / 16 of
/// 16·hs floats; inside it, component slots in the order `decodeAttention` adds them — for each lane l of
/// `Vec.dot`'s accumulator its components l, l + 16, … (the first hs rounded down to 16), then the tail
/// components — each slot holding 16 positions side by side.
@inlinable @inline(__always)
func decodeKeyIndex(component d: Int, position j: Int, hs: Int) -> Int {
    let perLane = hs / 16, vectorPart = perLane * 16
    let slot = d < vectorPart ? (d % 16) * perLane + d / 16 : d
    return (j / 16 * hs + slot) * 16 + j % 16
}

/// One head of one sequence at a decode step: out (hs) = softmax(scale · q·Kᵀ) · V over the first n
/// cached positions; keys in `decodeKeyIndex`'s layout, values (n, hs). Scores go 16 positions at a time
/// in vertical SIMD: `Vec.dot` sums lane l of its accumulator (components l, l + 16, …) first, then the
/// 16 lanes in order from −0 (`SIMD.sum`), then the tail components; here each position's score takes
/// exactly those additions in that order, so every score is `Vec.dot`'s bit for bit. The output stays in
/// registers across positions and is `Vec.axpy`'s, element by element, in position order. `scores` holds
/// n rounded up to 16 floats (positions past n are computed from the block's padding and dropped).
@inlinable
func decodeAttention(
    out: UnsafeMutablePointer<Float>, q: UnsafePointer<Float>, keys: UnsafePointer<Float>,
    values: UnsafePointer<Float>, n: Int, hs: Int, scale: Float, scores: UnsafeMutablePointer<Float>
) {
    let perLane = hs / 16, vectorPart = perLane * 16
    var j = 0
    while j < n {
        var k = keys + j * hs
        var sum = SIMD16<Float>(repeating: -0.0)
        for lane in 0..<16 {
            var acc = SIMD16<Float>()
            for m in 0..<perLane {
                acc += q[lane + 16 * m] * Vec.load(k)
                k += 16
            }
            sum += acc
        }
        for d in vectorPart..<hs {
            sum += q[d] * Vec.load(k)
            k += 16
        }
        Vec.store(sum * scale, scores + j)
        j += 16
    }
    maskedSoftmaxRow(scores, valid: n, length: n)
    // out = Σ_j scores[j] · values[j] in j order, starting from zero (Vec.axpy into a zeroed row).
    var c = 0
    while c + 32 <= hs {
        var o0 = SIMD16<Float>(), o1 = SIMD16<Float>()
        for j in 0..<n {
            let a = scores[j], v = values + j * hs + c
            o0 += a * Vec.load(v)
            o1 += a * Vec.load(v + 16)
        }
        Vec.store(o0, out + c)
        Vec.store(o1, out + c + 16)
        c += 32
    }
    while c + 16 <= hs {
        var o0 = SIMD16<Float>()
        for j in 0..<n { o0 += scores[j] * Vec.load(values + j * hs + c) }
        Vec.store(o0, out + c)
        c += 16
    }
    while c < hs {
        var o: Float = 0
        for j in 0..<n { o += scores[j] * values[j * hs + c] }
        out[c] = o
        c += 1
    }
}

/// Categorical draws shared by the sampler and the teacher API (the log-probabilities come from `Softmax`).
public enum Sampling {
    /// Draws from log-probabilities restricted to the top k and/or the top-p nucleus.
    /// Ties in probability are broken by token id, so draws are deterministic.
    public static func draw(
        logProbabilities lp: UnsafePointer<Float>, V: Int, topK: Int?, topP: Float?, order: UnsafeMutablePointer<Int32>,
        rng: inout LabRNG
    ) -> Int {
        var n = V
        if topK != nil || topP != nil {
            for v in 0..<V { order[v] = Int32(v) }
            var buf = UnsafeMutableBufferPointer(start: order, count: V)
            buf.sort { (a: Int32, b: Int32) -> Bool in
                let pa = lp[Int(a)], pb = lp[Int(b)]
                return pa > pb || (pa == pb && a < b)
            }
            if let k = topK { n = min(n, k) }
            if let p = topP {
                var cum = 0.0
                var m = 0
                while m < n {
                    cum += exp(Double(lp[Int(order[m])]))
                    m += 1
                    if cum >= Double(p) { break }
                }
                n = m
            }
            var total = 0.0
            for i in 0..<n { total += exp(Double(lp[Int(order[i])])) }
            var r = rng.uniform() * total
            for i in 0..<n {
                r -= exp(Double(lp[Int(order[i])]))
                if r < 0 { return Int(order[i]) }
            }
            return Int(order[n - 1])
        }
        var r = rng.uniform()
        for v in 0..<V {
            r -= exp(Double(lp[v]))
            if r < 0 { return v }
        }
        return V - 1
    }
}
