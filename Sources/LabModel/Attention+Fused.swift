// Attention+Fused: causal multi-head self-attention written entirely in Swift SIMD, one (batch, head) per
// task, scoring only the unmasked half (j <= t) against a transposed copy of K. Kept for comparison with
// the per-head sgemm path the model runs (`distill-lab bench --attention fused`; AttentionKernelTests).
import LabCore

/// out (B·T, C) = softmax(mask(q·kᵀ/√hs))·v per head; q, k, v are column blocks of qkv (B·T, 3C).
/// att (B, NH, T, T) keeps the probabilities (zero above the diagonal) for backward.
@inlinable
func attentionForward(
    out: UnsafeMutablePointer<Float>, att: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>, B: Int, T: Int,
    C: Int, NH: Int, scratch: AttentionScratch
) {
    let hs = C / NH
    let C3 = 3 * C
    let scale = 1 / Float(hs).squareRoot()
    forEachWithWorker(B * NH) { bh, worker in
        let b = bh / NH, h = bh % NH
        let kt = scratch.base(worker)  // (hs, T)
        let base = qkv + b * T * C3 + h * hs
        for j in 0..<T {
            let k = base + j * C3 + C
            for d in 0..<hs { kt[d * T + j] = k[d] }
        }
        for t in 0..<T {
            let q = base + t * C3
            let row = att + (bh * T + t) * T
            let n = t + 1
            row.update(repeating: 0, count: n)
            for d in 0..<hs { Vec.axpy(n, q[d] * scale, kt + d * T, row) }
            maskedSoftmaxRow(row, valid: n, length: T)
            // out[t] = Σ_j p_j v_j.
            let o = out + (b * T + t) * C + h * hs
            o.update(repeating: 0, count: hs)
            for i in 0..<n { Vec.axpy(hs, row[i], base + i * C3 + 2 * C, o) }
        }
    }
}

/// Backward of `attentionForward`. Writes (not adds) dqkv (B·T, 3C) from dout (B·T, C).
/// dP = dout·vᵀ; dS = P ⊙ (dP − Σ P⊙dP); dq = dS·k/√hs; dk = dSᵀ·q/√hs; dv = Pᵀ·dout.
@inlinable
func attentionBackward(
    dqkv: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, att: UnsafePointer<Float>, qkv: UnsafePointer<Float>,
    B: Int, T: Int, C: Int, NH: Int, scratch: AttentionScratch
) {
    let hs = C / NH
    let C3 = 3 * C
    let scale = 1 / Float(hs).squareRoot()
    forEachWithWorker(B * NH) { bh, worker in
        let b = bh / NH, h = bh % NH
        let vt = scratch.base(worker)  // (hs, T)
        let dp = vt + hs * T  // (T)
        let base = qkv + b * T * C3 + h * hs
        let dbase = dqkv + b * T * C3 + h * hs
        for j in 0..<T {
            let v = base + j * C3 + 2 * C
            for d in 0..<hs { vt[d * T + j] = v[d] }
            (dbase + j * C3).update(repeating: 0, count: hs)
            (dbase + j * C3 + C).update(repeating: 0, count: hs)
            (dbase + j * C3 + 2 * C).update(repeating: 0, count: hs)
        }
        for t in 0..<T {
            let n = t + 1
            let p = att + (bh * T + t) * T
            let g = dout + (b * T + t) * C + h * hs
            dp.update(repeating: 0, count: n)
            for d in 0..<hs { Vec.axpy(n, g[d], vt + d * T, dp) }
            let pdp = Vec.dot(n, p, dp)
            let q = base + t * C3
            let dq = dbase + t * C3
            for j in 0..<n {
                let pj = p[j]
                let ds = pj * (dp[j] - pdp) * scale
                Vec.axpy(hs, ds, base + j * C3 + C, dq)
                Vec.axpy(hs, ds, q, dbase + j * C3 + C)
                Vec.axpy(hs, pj, g, dbase + j * C3 + 2 * C)
            }
        }
    }
}
