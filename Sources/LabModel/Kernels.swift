// Kernels: the element-wise and attention passes of the GPT forward and backward.
// Each is a fused single pass over memory, parallel over rows or (batch, head), allocation-free.
// Dense products are not here: they go through `BLAS.sgemm` (LabCore/BLAS.swift) via `Linear`.
import Dispatch
import LabCore

/// Vector helpers over raw pointers: SIMD16 body, scalar tail. Pointers need no alignment.
@usableFromInline enum Vec {
    @inlinable @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }

    @inlinable @inline(__always)
    static func store(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
    }

    /// y += a * x over n floats.
    @inlinable @inline(__always)
    static func axpy(_ n: Int, _ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        var i = 0
        while i + 16 <= n {
            store(load(y + i) + a * load(x + i), y + i)
            i += 16
        }
        while i < n {
            y[i] += a * x[i]
            i += 1
        }
    }

    /// Σ x·y over n floats (fixed summation order: lane sums, then tail).
    @inlinable @inline(__always)
    static func dot(_ n: Int, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>) -> Float {
        var acc = SIMD16<Float>()
        var i = 0
        while i + 16 <= n {
            acc += load(x + i) * load(y + i)
            i += 16
        }
        var s = acc.sum()
        while i < n {
            s += x[i] * y[i]
            i += 1
        }
        return s
    }
}

// MARK: - Encoder

/// out[b,t,:] = wte[tokens[b,t], :] + wpe[t, :]. out (B·T, C).
@inlinable
func encoderForward(out: UnsafeMutablePointer<Float>, tokens: UnsafePointer<Int32>, wte: UnsafePointer<Float>, wpe: UnsafePointer<Float>, B: Int, T: Int, C: Int) {
    Parallel.forChunks(B * T, minimumPerChunk: 64) { rows in
        for r in rows {
            let t = r % T
            let o = out + r * C, e = wte + Int(tokens[r]) * C, p = wpe + t * C
            for i in 0..<C { o[i] = e[i] + p[i] }
        }
    }
}

/// Backward of `encoderForward`: dwte[tokens[b,t]] += dout[b,t]; dwpe[t] += dout[b,t].
/// Serial: rows scatter into shared token rows, and the pass is tiny next to the products.
@inlinable
func encoderBackward(dwte: UnsafeMutablePointer<Float>, dwpe: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, tokens: UnsafePointer<Int32>, B: Int, T: Int, C: Int) {
    for r in 0..<(B * T) {
        let d = dout + r * C
        Vec.axpy(C, 1, d, dwte + Int(tokens[r]) * C)
        Vec.axpy(C, 1, d, dwpe + (r % T) * C)
    }
}

// MARK: - LayerNorm

/// out = (x - mean) · rstd · w + b per row; stores mean and rstd (N) for backward. x, out (N, C).
@inlinable
func layerNormForward(out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, N: Int, C: Int) {
    let eps = GPTConfig.layerNormEpsilon
    Parallel.forChunks(N, minimumPerChunk: 32) { rows in
        for r in rows {
            let xr = x + r * C, o = out + r * C
            var s: Float = 0
            for i in 0..<C { s += xr[i] }
            let m = s / Float(C)
            var v: Float = 0
            for i in 0..<C {
                let d = xr[i] - m
                v += d * d
            }
            let rs = 1 / (v / Float(C) + eps).squareRoot()
            for i in 0..<C { o[i] = (xr[i] - m) * rs * weight[i] + bias[i] }
            mean[r] = m
            rstd[r] = rs
        }
    }
}

/// Backward of `layerNormForward`. Adds into dx (N, C), dweight and dbias (C).
/// Weight/bias gradients are reduced from per-worker partials in a fixed order (deterministic).
@inlinable
func layerNormBackward(dx: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>, dbias: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, N: Int, C: Int, scratch: UnsafeMutablePointer<Float>) {
    // scratch holds `chunks` partials of (2C): [dweight | dbias] each.
    let chunks = min(Parallel.workers, max(1, N / 32))
    scratch.update(repeating: 0, count: chunks * 2 * C)
    let body = { (c: Int) in
        let lo = N * c / chunks, hi = N * (c + 1) / chunks
        let pw = scratch + c * 2 * C, pb = pw + C
        for r in lo..<hi {
            let xr = x + r * C, dr = dout + r * C, dxr = dx + r * C
            let m = mean[r], rs = rstd[r]
            var sumD: Float = 0, sumDN: Float = 0
            for i in 0..<C {
                let n = (xr[i] - m) * rs
                let dn = dr[i] * weight[i]
                sumD += dn
                sumDN += dn * n
            }
            let meanD = sumD / Float(C), meanDN = sumDN / Float(C)
            for i in 0..<C {
                let n = (xr[i] - m) * rs
                let dn = dr[i] * weight[i]
                dxr[i] += (dn - meanD - n * meanDN) * rs
                pw[i] += dr[i] * n
                pb[i] += dr[i]
            }
        }
    }
    if chunks == 1 { body(0) } else { DispatchQueueShim.perform(chunks, body) }
    for c in 0..<chunks {
        Vec.axpy(C, 1, scratch + c * 2 * C, dweight)
        Vec.axpy(C, 1, scratch + c * 2 * C + C, dbias)
    }
}

// MARK: - GELU (tanh approximation, GPT-2's "gelu_new")

public let geluScale: Float = 0.797_884_560_802_865_4 // sqrt(2/pi)

/// out = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), n elements.
@inlinable
func geluForward(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, n: Int) {
    Parallel.forChunks(n / 16, minimumPerChunk: 1024) { blocks in
        for blk in blocks {
            let i = blk * 16
            let v = Vec.load(x + i)
            let inner: SIMD16<Float> = v + 0.044715 * v * v * v
            let th: SIMD16<Float> = simdTanh(geluScale * inner)
            Vec.store(0.5 * v * (1 + th), out + i)
        }
    }
    for i in (n / 16 * 16)..<n {
        let v = x[i]
        let u = geluScale * (v + 0.044715 * v * v * v)
        out[i] = 0.5 * v * (1 + simdTanh(SIMD16(repeating: u))[0])
    }
}

/// Backward of `geluForward`, in place: d[i] = gelu'(x[i]) · d[i], reading the forward's output y
/// so that no tanh is recomputed. With s = y/x = ½(1 + tanh u):
/// gelu'(x) = ½(1 + tanh u) + ½·x·(1 − tanh² u)·√(2/π)·(1 + 3·0.044715·x²)
///          = s + 2·x·s·(1 − s)·√(2/π)·(1 + 0.134145·x²), and s = ½ at x = 0.
@inlinable
func geluBackward(d: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, y: UnsafePointer<Float>, n: Int) {
    @inline(__always) func grad(_ v: SIMD16<Float>, _ g: SIMD16<Float>) -> SIMD16<Float> {
        let zero = SIMD16<Float>()
        let safe = simdSelect(v .== zero, SIMD16(repeating: 1), v)
        let s = simdSelect(v .== zero, SIMD16(repeating: 0.5), g / safe)
        let v2: SIMD16<Float> = v * v
        let du: SIMD16<Float> = geluScale * (1 + 0.134145 * v2)
        let right: SIMD16<Float> = 2 * v * s * (1 - s) * du
        return s + right
    }
    Parallel.forChunks(n / 16, minimumPerChunk: 1024) { blocks in
        for blk in blocks {
            let i = blk * 16
            Vec.store(grad(Vec.load(x + i), Vec.load(y + i)) * Vec.load(d + i), d + i)
        }
    }
    for i in (n / 16 * 16)..<n { d[i] *= grad(SIMD16(repeating: x[i]), SIMD16(repeating: y[i]))[0] }
}

// MARK: - Bias helpers

/// Every row of out (N, OC) set to bias (OC): the start of `out = x·W + b` with beta = 1.
@inlinable
func fillRows(out: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, N: Int, OC: Int) {
    Parallel.forChunks(N, minimumPerChunk: 64) { rows in
        for r in rows { (out + r * OC).update(from: bias, count: OC) }
    }
}

/// out = residual + bias, rows of (N, C): the start of `out = residual + x·W + b`.
@inlinable
func residualBias(out: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>, bias: UnsafePointer<Float>, N: Int, C: Int) {
    Parallel.forChunks(N, minimumPerChunk: 64) { rows in
        for r in rows {
            let o = out + r * C, x = residual + r * C
            for i in 0..<C { o[i] = x[i] + bias[i] }
        }
    }
}

/// dbias (OC) += Σ_rows dout (N, OC); parallel over column blocks (no shared writes).
@inlinable
func biasBackward(dbias: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, N: Int, OC: Int) {
    let blocks = (OC + 63) / 64
    Parallel.forChunks(blocks, minimumPerChunk: 1) { range in
        for blk in range {
            let lo = blk * 64, hi = min(OC, lo + 64)
            for r in 0..<N {
                let d = dout + r * OC
                for c in lo..<hi { dbias[c] += d[c] }
            }
        }
    }
}

/// `concurrentPerform` behind one name, so kernels that manage their own chunks read alike.
@usableFromInline enum DispatchQueueShim {
    @inlinable static func perform(_ n: Int, _ body: (Int) -> Void) {
        DispatchQueue.concurrentPerform(iterations: n, execute: body)
    }
}
