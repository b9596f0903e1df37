// AdamW: Adam with decoupled weight decay over the flat parameter slab (Loshchilov & Hutter 2019),
// with global-norm gradient clipping. Decay applies to 2-D tensors (embeddings and linear
// weights) only. The moments share the slab's layout, so the update is one flat parallel loop.
import LabCore

public struct AdamWConfig: Codable, Equatable, Sendable {
    public var learningRate: Float = 3e-4
    public var beta1: Float = 0.9
    public var beta2: Float = 0.95
    public var epsilon: Float = 1e-8
    public var weightDecay: Float = 0.1
    /// Global gradient-norm clip; 0 or less disables clipping.
    public var gradientClip: Float = 1.0
    public init() {}
    public init(
        learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.95, epsilon: Float = 1e-8, weightDecay: Float = 0.1,
        gradientClip: Float = 1.0
    ) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.gradientClip = gradientClip
    }
    enum CodingKeys: String, CodingKey {
        case learningRate = "learning_rate", beta1, beta2, epsilon, weightDecay = "weight_decay", gradientClip =
            "gradient_clip"
    }
}

public final class AdamW {
    public var config: AdamWConfig
    public private(set) var step = 0
    let m: FloatBuffer
    let v: FloatBuffer
    /// (range, decays) segments of the slab, in order.
    let segments: [(Range<Int>, Bool)]
    let partials: FloatBuffer

    public init(layout: ParameterLayout, config: AdamWConfig) {
        self.config = config
        m = FloatBuffer(count: layout.count)
        v = FloatBuffer(count: layout.count)
        var segs: [(Range<Int>, Bool)] = []
        for t in layout.tensors {
            let r = t.offset..<(t.offset + t.count)
            if let last = segs.last, last.1 == t.decays, last.0.upperBound == r.lowerBound {
                segs[segs.count - 1] = (last.0.lowerBound..<r.upperBound, last.1)
            } else {
                segs.append((r, t.decays))
            }
        }
        segments = segs
        partials = FloatBuffer(count: 64)
    }

    /// √(Σ g²) over the whole slab, reduced in a fixed order.
    public static func globalNorm(_ g: FloatBuffer) -> Float {
        let n = g.count
        // Fixed chunks (not one per worker), so the partial sums and their order do not depend on --threads.
        let chunks = Parallel.fixedChunkCount(n, minimumPerChunk: 4096)
        var sums = [Double](repeating: 0, count: chunks)
        sums.withUnsafeMutableBufferPointer { out in
            let outp = out.baseAddress!
            Parallel.forFixedChunks(n, minimumPerChunk: 4096) { c, range in
                let lo = range.lowerBound, hi = range.upperBound
                var acc = SIMD16<Float>()
                var i = lo
                let p = g.pointer
                var total: Double = 0
                while i + 16 <= hi {
                    let x = Vec.load(p + i)
                    acc += x * x
                    i += 16
                    if (i - lo) % 4096 == 0 {
                        total += Double(acc.sum())
                        acc = SIMD16()
                    }
                }
                total += Double(acc.sum())
                while i < hi {
                    total += Double(p[i] * p[i])
                    i += 1
                }
                outp[c] = total
            }
        }
        return Float(sums.reduce(0, +).squareRoot())
    }

    /// One update at learning rate `lr`; returns the gradient norm before clipping.
    @discardableResult
    public func update(parameters: FloatBuffer, gradients: FloatBuffer, learningRate lr: Float) -> Float {
        step += 1
        let norm = Self.globalNorm(gradients)
        let clip = config.gradientClip
        let gscale: Float = (clip > 0 && norm > clip) ? clip / norm : 1
        let b1 = config.beta1, b2 = config.beta2, eps = config.epsilon, wd = config.weightDecay
        let c1 = 1 / (1 - Float(Double(b1).power(step)))
        let c2 = 1 / (1 - Float(Double(b2).power(step)))
        let P = parameters.pointer, G = gradients.pointer, M = m.pointer, Vv = v.pointer
        for (range, decays) in segments {
            let decay = decays ? wd : 0
            Parallel.forChunks(range.count, minimumPerChunk: 8192) { sub in
                // Sixteen lanes at a time, then the same arithmetic one element at a time: each element's
                // operations (no fused multiply-adds; sqrt and division correctly rounded) are the same on
                // both paths, so the update does not depend on where the chunks and the tail fall.
                var i = range.lowerBound + sub.lowerBound
                let end = range.lowerBound + sub.upperBound
                while i + 16 <= end {
                    let g = Vec.load(G + i) * gscale
                    let mi = b1 * Vec.load(M + i) + (1 - b1) * g
                    let vi = b2 * Vec.load(Vv + i) + (1 - b2) * g * g
                    Vec.store(mi, M + i)
                    Vec.store(vi, Vv + i)
                    let p = Vec.load(P + i)
                    Vec.store(p - lr * ((mi * c1) / (simdSquareRoot(vi * c2) + eps) + decay * p), P + i)
                    i += 16
                }
                while i < end {
                    let g = G[i] * gscale
                    let mi = b1 * M[i] + (1 - b1) * g
                    let vi = b2 * Vv[i] + (1 - b2) * g * g
                    M[i] = mi
                    Vv[i] = vi
                    P[i] -= lr * ((mi * c1) / ((vi * c2).squareRoot() + eps) + decay * P[i])
                    i += 1
                }
            }
        }
        return norm
    }

    /// Optimizer state for checkpoints: (step, m, v).
    public var state: (step: Int, m: FloatBuffer, v: FloatBuffer) { (step, m, v) }
}

extension Double {
    func power(_ n: Int) -> Double {
        var r = 1.0
        for _ in 0..<n { r *= self }
        return r
    }
}
