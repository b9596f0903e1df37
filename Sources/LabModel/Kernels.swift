// Kernels: the element-wise and attention passes of the GPT forward and backward.
// Each is a fused single pass over memory, parallel over rows or (batch, head), allocation-free.
// Dense products are not here: they go through `BLAS.sgemm` (LabCore/BLAS.swift) via `Linear`.
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
func encoderForward(
    out: UnsafeMutablePointer<Float>, tokens: UnsafePointer<Int32>, wte: UnsafePointer<Float>,
    wpe: UnsafePointer<Float>, B: Int, T: Int, C: Int
) {
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
func encoderBackward(
    dwte: UnsafeMutablePointer<Float>, dwpe: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
    tokens: UnsafePointer<Int32>, B: Int, T: Int, C: Int
) {
    for r in 0..<(B * T) {
        let d = dout + r * C
        Vec.axpy(C, 1, d, dwte + Int(tokens[r]) * C)
        Vec.axpy(C, 1, d, dwpe + (r % T) * C)
    }
}

// MARK: - LayerNorm

/// out = (x - mean) · rstd · w + b per row; stores mean and rstd (N) for backward. x, out (N, C).
/// Rows go four at a time so that their sums run as four independent add chains (a single chain
/// waits on each add's latency); every row's operations and their order are those of `layerNormRow`.
@inlinable
func layerNormForward(
    out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
    x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, N: Int, C: Int
) {
    let eps = GPTConfig.layerNormEpsilon
    let fc = Float(C)
    Parallel.forChunks(N, minimumPerChunk: 32) { rows in
        var r = rows.lowerBound
        while r + 4 <= rows.upperBound {
            let x0 = x + r * C, x1 = x0 + C, x2 = x1 + C, x3 = x2 + C
            var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
            for i in 0..<C {
                s0 += x0[i]
                s1 += x1[i]
                s2 += x2[i]
                s3 += x3[i]
            }
            let m0 = s0 / fc, m1 = s1 / fc, m2 = s2 / fc, m3 = s3 / fc
            var v0: Float = 0, v1: Float = 0, v2: Float = 0, v3: Float = 0
            for i in 0..<C {
                let d0 = x0[i] - m0, d1 = x1[i] - m1, d2 = x2[i] - m2, d3 = x3[i] - m3
                v0 += d0 * d0
                v1 += d1 * d1
                v2 += d2 * d2
                v3 += d3 * d3
            }
            @inline(__always) func finish(_ k: Int, _ m: Float, _ v: Float) {
                let rs = 1 / (v / fc + eps).squareRoot()
                let xr = x + (r + k) * C, o = out + (r + k) * C
                var i = 0
                while i + 16 <= C {
                    let y: SIMD16<Float> = (Vec.load(xr + i) - m) * rs * Vec.load(weight + i) + Vec.load(bias + i)
                    Vec.store(y, o + i)
                    i += 16
                }
                while i < C {
                    o[i] = (xr[i] - m) * rs * weight[i] + bias[i]
                    i += 1
                }
                mean[r + k] = m
                rstd[r + k] = rs
            }
            finish(0, m0, v0)
            finish(1, m1, v1)
            finish(2, m2, v2)
            finish(3, m3, v3)
            r += 4
        }
        while r < rows.upperBound {
            layerNormRow(
                out: out + r * C, mean: mean + r, rstd: rstd + r, x: x + r * C, weight: weight, bias: bias, C: C,
                eps: eps)
            r += 1
        }
    }
}

/// One row of `layerNormForward`: the reference order of operations.
@inlinable @inline(__always)
func layerNormRow(
    out o: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
    x xr: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, C: Int, eps: Float
) {
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
    mean.pointee = m
    rstd.pointee = rs
}

/// Backward of `layerNormForward`. Adds into dx (N, C), dweight and dbias (C).
/// Weight/bias gradients are reduced from per-chunk partials in a fixed order; the chunks are fixed by N
/// (Parallel.fixedChunks), not by the worker count, so the sums are the same at any --threads.
/// The two row sums of four rows run interleaved (independent add chains), each in its row's order.
@inlinable
func layerNormBackward(
    dx: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>, dbias: UnsafeMutablePointer<Float>,
    dout: UnsafePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>, mean: UnsafePointer<Float>,
    rstd: UnsafePointer<Float>, N: Int, C: Int, scratch: UnsafeMutablePointer<Float>
) {
    // scratch holds `chunks` (at most Parallel.fixedChunks) partials of (2C): [dweight | dbias] each.
    let chunks = Parallel.fixedChunkCount(N, minimumPerChunk: 32)
    scratch.update(repeating: 0, count: chunks * 2 * C)
    let fc = Float(C)
    let body = { (c: Int) in
        let lo = N * c / chunks, hi = N * (c + 1) / chunks
        let pw = scratch + c * 2 * C, pb = pw + C
        // The per-row update, after the row's two sums.
        @inline(__always) func apply(_ r: Int, _ sumD: Float, _ sumDN: Float) {
            let xr = x + r * C, dr = dout + r * C, dxr = dx + r * C
            let m = mean[r], rs = rstd[r]
            let meanD = sumD / fc, meanDN = sumDN / fc
            // Element-wise, so 16 lanes at a time compute exactly what the scalar tail does.
            var i = 0
            while i + 16 <= C {
                let dv = Vec.load(dr + i)
                let n: SIMD16<Float> = (Vec.load(xr + i) - m) * rs
                let dn: SIMD16<Float> = dv * Vec.load(weight + i)
                Vec.store(Vec.load(dxr + i) + (dn - meanD - n * meanDN) * rs, dxr + i)
                Vec.store(Vec.load(pw + i) + dv * n, pw + i)
                Vec.store(Vec.load(pb + i) + dv, pb + i)
                i += 16
            }
            while i < C {
                let n = (xr[i] - m) * rs
                let dn = dr[i] * weight[i]
                dxr[i] += (dn - meanD - n * meanDN) * rs
                pw[i] += dr[i] * n
                pb[i] += dr[i]
                i += 1
            }
        }
        var r = lo
        while r + 4 <= hi {
            let x0 = x + r * C, x1 = x0 + C, x2 = x1 + C, x3 = x2 + C
            let d0 = dout + r * C, d1 = d0 + C, d2 = d1 + C, d3 = d2 + C
            let m0 = mean[r], m1 = mean[r + 1], m2 = mean[r + 2], m3 = mean[r + 3]
            let r0 = rstd[r], r1 = rstd[r + 1], r2 = rstd[r + 2], r3 = rstd[r + 3]
            var sd0: Float = 0, sd1: Float = 0, sd2: Float = 0, sd3: Float = 0
            var sn0: Float = 0, sn1: Float = 0, sn2: Float = 0, sn3: Float = 0
            for i in 0..<C {
                let w = weight[i]
                let n0 = (x0[i] - m0) * r0, n1 = (x1[i] - m1) * r1, n2 = (x2[i] - m2) * r2, n3 = (x3[i] - m3) * r3
                let e0 = d0[i] * w, e1 = d1[i] * w, e2 = d2[i] * w, e3 = d3[i] * w
                sd0 += e0
                sd1 += e1
                sd2 += e2
                sd3 += e3
                sn0 += e0 * n0
                sn1 += e1 * n1
                sn2 += e2 * n2
                sn3 += e3 * n3
            }
            apply(r, sd0, sn0)
            apply(r + 1, sd1, sn1)
            apply(r + 2, sd2, sn2)
            apply(r + 3, sd3, sn3)
            r += 4
        }
        while r < hi {
            let xr = x + r * C, dr = dout + r * C
            let m = mean[r], rs = rstd[r]
            var sumD: Float = 0, sumDN: Float = 0
            for i in 0..<C {
                let n = (xr[i] - m) * rs
                let dn = dr[i] * weight[i]
                sumD += dn
                sumDN += dn * n
            }
            apply(r, sumD, sumDN)
            r += 1
        }
    }
    Parallel.forFixedChunks(N, minimumPerChunk: 32) { c, _ in body(c) }
    for c in 0..<chunks {
        Vec.axpy(C, 1, scratch + c * 2 * C, dweight)
        Vec.axpy(C, 1, scratch + c * 2 * C + C, dbias)
    }
}

// MARK: - GELU (tanh approximation, GPT-2's "gelu_new")

public let geluScale: Float = 0.797_884_560_802_865_4  // sqrt(2/pi)

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
func residualBias(
    out: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>, bias: UnsafePointer<Float>, N: Int, C: Int
) {
    Parallel.forChunks(N, minimumPerChunk: 64) { rows in
        for r in rows {
            let o = out + r * C, x = residual + r * C
            for i in 0..<C { o[i] = x[i] + bias[i] }
        }
    }
}

/// dbias (OC) += Σ_rows dout (N, OC); parallel over column blocks (no shared writes). Each column's
/// sum keeps its row order; 16 columns at a time ride in one vector accumulator held in registers.
@inlinable
func biasBackward(dbias: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, N: Int, OC: Int) {
    let blocks = (OC + 63) / 64
    Parallel.forChunks(blocks, minimumPerChunk: 1) { range in
        for blk in range {
            let lo = blk * 64, hi = min(OC, lo + 64)
            var c = lo
            if c + 64 <= hi {
                var a0 = Vec.load(dbias + c), a1 = Vec.load(dbias + c + 16), a2 = Vec.load(dbias + c + 32),
                    a3 = Vec.load(dbias + c + 48)
                for r in 0..<N {
                    let d = dout + r * OC + c
                    a0 += Vec.load(d)
                    a1 += Vec.load(d + 16)
                    a2 += Vec.load(d + 32)
                    a3 += Vec.load(d + 48)
                }
                Vec.store(a0, dbias + c)
                Vec.store(a1, dbias + c + 16)
                Vec.store(a2, dbias + c + 32)
                Vec.store(a3, dbias + c + 48)
                c += 64
            }
            while c + 16 <= hi {
                var acc = Vec.load(dbias + c)
                for r in 0..<N { acc += Vec.load(dout + r * OC + c) }
                Vec.store(acc, dbias + c)
                c += 16
            }
            while c < hi {
                var acc = dbias[c]
                for r in 0..<N { acc += dout[r * OC + c] }
                dbias[c] = acc
                c += 1
            }
        }
    }
}
