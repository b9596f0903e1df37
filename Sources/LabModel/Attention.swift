// Attention: causal multi-head self-attention, forward and backward, one (batch, head) per task — the
// two products of each head through single-threaded sgemm, the masked softmax in Swift — and the
// per-worker scratch it shares with the all-Swift variant kept for comparison (Attention+Fused.swift).
import LabCore

/// Per-worker scratch for attention: two (hs, T) transposes and one (T) row.
@usableFromInline struct AttentionScratch {
    @usableFromInline let buffer: FloatBuffer
    @usableFromInline let perWorker: Int
    @usableFromInline let hs: Int, T: Int
    init(workers: Int, headSize: Int, T: Int) {
        hs = headSize
        self.T = T
        perWorker = max(2 * headSize * T + T + 16, T * T)
        buffer = FloatBuffer(count: workers * perWorker)
    }
    @inlinable func base(_ worker: Int) -> UnsafeMutablePointer<Float> { buffer.pointer + worker * perWorker }
}

/// Runs `body(item, worker)` over items, with a stable worker index for scratch.
@inlinable
func forEachWithWorker(_ count: Int, _ body: (Int, Int) -> Void) {
    let w = min(Parallel.workers, count)
    if w <= 1 {
        for i in 0..<count { body(i, 0) }
        return
    }
    Parallel.perform(w) { worker in
        var i = worker
        while i < count {
            body(i, worker)
            i += w
        }
    }
}

// MARK: - Attention through per-head sgemm

/// The same computation as `attentionForward` (Attention+Fused.swift), with the two products of each (batch, head) done
/// by single-threaded `sgemm` calls (S = q·kᵀ, out = P·v) and only the masked softmax in Swift.
/// OpenBLAS's AVX-512 kernels outrun Swift's baseline-ISA SIMD by more than the factor of two
/// the causal mask wastes. `scratch` needs no extra space: P is written straight into `att`.
@inlinable
func attentionForwardGEMM(
    out: UnsafeMutablePointer<Float>, att: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>, B: Int, T: Int,
    C: Int, NH: Int
) {
    let hs = C / NH
    let C3 = 3 * C
    let scale = 1 / Float(hs).squareRoot()
    forEachWithWorker(B * NH) { bh, _ in
        let b = bh / NH, h = bh % NH
        let base = qkv + b * T * C3 + h * hs
        let P = att + bh * T * T
        BLAS.sgemm(
            transA: false, transB: true, m: T, n: T, k: hs, alpha: scale, a: base, lda: C3, b: base + C, ldb: C3,
            beta: 0, c: P, ldc: T)
        for t in 0..<T { maskedSoftmaxRow(P + t * T, valid: t + 1, length: T) }
        BLAS.sgemm(
            transA: false, transB: false, m: T, n: hs, k: T, a: P, lda: T, b: base + 2 * C, ldb: C3, beta: 0,
            c: out + b * T * C + h * hs, ldc: C)
    }
}

/// Backward of `attentionForwardGEMM` (and of `attentionForward`): writes dqkv (B·T, 3C).
/// dP = dout·vᵀ; dS = P ⊙ (dP − Σ_j P⊙dP); dq = dS·k/√hs; dk = dSᵀ·q/√hs; dv = Pᵀ·dout.
/// `scratch` holds one (T, T) block per worker.
@inlinable
func attentionBackwardGEMM(
    dqkv: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, att: UnsafePointer<Float>, qkv: UnsafePointer<Float>,
    B: Int, T: Int, C: Int, NH: Int, scratch: UnsafeMutablePointer<Float>
) {
    let hs = C / NH
    let C3 = 3 * C
    let scale = 1 / Float(hs).squareRoot()
    forEachWithWorker(B * NH) { bh, worker in
        let b = bh / NH, h = bh % NH
        let base = qkv + b * T * C3 + h * hs
        let dbase = dqkv + b * T * C3 + h * hs
        let g = dout + b * T * C + h * hs
        let P = att + bh * T * T
        let dS = scratch + worker * T * T
        BLAS.sgemm(
            transA: false, transB: true, m: T, n: T, k: hs, a: g, lda: C, b: base + 2 * C, ldb: C3, beta: 0, c: dS,
            ldc: T)
        for t in 0..<T {
            let n = t + 1
            let p = P + t * T, d = dS + t * T
            let pdp = Vec.dot(n, p, d)
            for j in 0..<n { d[j] = p[j] * (d[j] - pdp) }
            (d + n).update(repeating: 0, count: T - n)
        }
        BLAS.sgemm(
            transA: false, transB: false, m: T, n: hs, k: T, alpha: scale, a: dS, lda: T, b: base + C, ldb: C3, beta: 0,
            c: dbase, ldc: C3)
        BLAS.sgemm(
            transA: true, transB: false, m: T, n: hs, k: T, alpha: scale, a: dS, lda: T, b: base, ldb: C3, beta: 0,
            c: dbase + C, ldc: C3)
        BLAS.sgemm(
            transA: true, transB: false, m: T, n: hs, k: T, a: P, lda: T, b: g, ldb: C, beta: 0, c: dbase + 2 * C,
            ldc: C3)
    }
}

/// Softmax over row[0..<valid] in place; row[valid..<length] set to zero (the causal mask).
@inlinable @inline(__always)
func maskedSoftmaxRow(_ row: UnsafeMutablePointer<Float>, valid n: Int, length: Int) {
    var mx = -Float.infinity
    for j in 0..<n where row[j] > mx { mx = row[j] }
    var sum: Float = 0
    var j = 0
    let mxv = SIMD16<Float>(repeating: mx)
    while j + 16 <= n {
        let e = simdExp(Vec.load(row + j) - mxv)
        Vec.store(e, row + j)
        sum += e.sum()
        j += 16
    }
    if j < n {
        var tail = SIMD16<Float>(repeating: -Float.infinity)
        for i in j..<n { tail[i - j] = row[i] - mx }
        let e = simdExp(tail)
        for i in j..<n { row[i] = e[i - j] }
        sum += e.sum()
    }
    let inv = 1 / sum
    for i in 0..<n { row[i] *= inv }
    (row + n).update(repeating: 0, count: length - n)
}
