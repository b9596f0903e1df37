// Linear: y = x·W + b with W stored (in, out) — Hugging Face Conv1D's layout — and its backward,
// each a single `BLAS.sgemm`. Biases are folded in by pre-filling the output (beta = 1).
import LabCore

/// out (N, OC) = x (N, IC) · W (IC, OC) + b, or `residual + x·W + b` when `residual` is given.
/// `oneCall`: the product as one `BLAS.sgemm` on the calling thread (a row piece of a split product
/// that its caller already runs on one worker); otherwise `BLAS.parallelSgemm`.
@inlinable
func linearForward(
    out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
    N: Int, IC: Int, OC: Int, residual: UnsafePointer<Float>? = nil, oneCall: Bool = false
) {
    if let residual {
        residualBias(out: out, residual: residual, bias: bias, N: N, C: OC)
    } else {
        fillRows(out: out, bias: bias, N: N, OC: OC)
    }
    if oneCall {
        BLAS.sgemm(
            transA: false, transB: false, m: N, n: OC, k: IC, a: x, lda: IC, b: weight, ldb: OC, beta: 1, c: out,
            ldc: OC)
    } else {
        BLAS.parallelSgemm(
            transA: false, transB: false, m: N, n: OC, k: IC, a: x, lda: IC, b: weight, ldb: OC, beta: 1, c: out,
            ldc: OC)
    }
}

/// Backward of `linearForward`: dx (N, IC) = dout·Wᵀ (written, or added when `accumulate`),
/// dW (IC, OC) += xᵀ·dout, db (OC) += Σ_rows dout.
@inlinable
func linearBackward(
    dx: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>, dbias: UnsafeMutablePointer<Float>?,
    dout: UnsafePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>, N: Int, IC: Int, OC: Int,
    accumulate: Bool = false
) {
    if let dx {
        BLAS.parallelSgemm(
            transA: false, transB: true, m: N, n: IC, k: OC, a: dout, lda: OC, b: weight, ldb: OC,
            beta: accumulate ? 1 : 0, c: dx, ldc: IC)
    }
    BLAS.parallelSgemm(
        transA: true, transB: false, m: IC, n: OC, k: N, a: x, lda: IC, b: dout, ldb: OC, beta: 1, c: dweight, ldc: OC)
    if let dbias { biasBackward(dbias: dbias, dout: dout, N: N, OC: OC) }
}
