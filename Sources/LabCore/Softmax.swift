// Softmax: the lab's one family of softmax, log-softmax and entropy helpers for next-token distributions,
// outside the fused training kernels (LabModel's Loss and Attention, which fuse them with their gradients).
// The variants differ only in where rounding happens — the shift by the maximum in Float or in Double, the
// result in Float or in Double — and each says which. Results are bit-for-bit reproducible, so a caller keeps
// the variant its numbers were made with; a new caller takes `probabilities(_:count:scale:into:)` (Double).
import Foundation

public enum Softmax {
    /// out = softmax(scale · x) in Double (the shift by max(scale · x) in Double); returns log Σ exp(scale · x),
    /// so that log out_v = scale · x_v − the returned value.
    @inlinable
    @discardableResult
    public static func probabilities(
        _ x: UnsafePointer<Float>, count n: Int, scale: Double = 1, into out: UnsafeMutablePointer<Double>
    ) -> Double {
        var mx = -Double.infinity
        for v in 0..<n { mx = max(mx, scale * Double(x[v])) }
        var sum = 0.0
        for v in 0..<n {
            out[v] = exp(scale * Double(x[v]) - mx)
            sum += out[v]
        }
        for v in 0..<n { out[v] /= sum }
        return mx + log(sum)
    }

    /// softmax(x) as a new array, in Double (as `probabilities(_:count:scale:into:)` with scale 1).
    @inlinable
    public static func probabilities(_ x: UnsafePointer<Float>, count n: Int) -> [Double] {
        [Double](unsafeUninitializedCapacity: n) { out, initialized in
            probabilities(x, count: n, into: out.baseAddress!)
            initialized = n
        }
    }

    /// p ← softmax(p) in place, in Double.
    @inlinable
    public static func probabilities(inPlace p: UnsafeMutablePointer<Double>, count n: Int) {
        var mx = -Double.infinity
        for v in 0..<n { mx = max(mx, p[v]) }
        var sum = 0.0
        for v in 0..<n {
            p[v] = exp(p[v] - mx)
            sum += p[v]
        }
        for v in 0..<n { p[v] /= sum }
    }

    /// out[i] = softmax(x over `indices`)[i] for each listed index, others untouched, in Double; nothing is
    /// written when no listed value is finite.
    @inlinable
    public static func probabilities(_ x: [Double], over indices: [Int], into out: inout [Double]) {
        var mx = -Double.infinity
        for i in indices where x[i] > mx { mx = x[i] }
        guard mx.isFinite else { return }
        var sum = 0.0
        for i in indices { sum += exp(x[i] - mx) }
        for i in indices { out[i] = exp(x[i] - mx) / sum }
    }

    /// out = softmax(x) in Double with the shift by the maximum taken in Float (x_v − max rounded to Float
    /// before widening).
    @inlinable
    public static func probabilities(
        floatShifted x: UnsafePointer<Float>, count n: Int, into out: UnsafeMutablePointer<Double>
    ) {
        var mx = -Float.infinity
        for v in 0..<n where x[v] > mx { mx = x[v] }
        var sum = 0.0
        for v in 0..<n {
            out[v] = exp(Double(x[v] - mx))
            sum += out[v]
        }
        for v in 0..<n { out[v] /= sum }
    }

    /// out = softmax(x / τ) in single precision throughout (the training targets of small soft-label loops).
    @inlinable
    public static func singlePrecision(
        _ x: UnsafePointer<Float>, count n: Int, temperature tau: Float, into out: UnsafeMutablePointer<Float>
    ) {
        var mx = -Float.infinity
        for v in 0..<n { mx = max(mx, x[v] / tau) }
        var sum: Float = 0
        for v in 0..<n {
            out[v] = exp(x[v] / tau - mx)
            sum += out[v]
        }
        for v in 0..<n { out[v] /= sum }
    }

    /// The shift and log-normaliser of softmax(x · inverseTemperature): max_v x_v (in Float) and
    /// log Σ exp(Double(x_v − max) · inverseTemperature); log p_v = Double(x_v − max) · inverseTemperature − logSum.
    @inlinable
    public static func logNormalizer(_ x: UnsafePointer<Float>, count n: Int, inverseTemperature: Double = 1) -> (
        max: Float, logSum: Double
    ) {
        var mx = -Float.infinity
        for v in 0..<n where x[v] > mx { mx = x[v] }
        var sum = 0.0
        for v in 0..<n { sum += exp(Double(x[v] - mx) * inverseTemperature) }
        return (mx, log(sum))
    }

    /// out = log softmax(x / τ) in Float, summed in Double (the sampler's and the served teacher's arithmetic).
    @inlinable
    public static func logProbabilities(
        _ x: UnsafePointer<Float>, count n: Int, temperature: Float, into out: UnsafeMutablePointer<Float>
    ) {
        let inverse = Double(1 / temperature)
        let (mx, ls) = logNormalizer(x, count: n, inverseTemperature: inverse)
        for v in 0..<n { out[v] = Float(Double(x[v] - mx) * inverse - ls) }
    }

    /// −Σ p log p of p = softmax(x), in nats, in Double.
    @inlinable
    public static func entropy(_ x: UnsafePointer<Float>, count n: Int) -> Double {
        var mx = -Double.infinity
        for v in 0..<n { mx = max(mx, Double(x[v])) }
        var sum = 0.0, weighted = 0.0
        for v in 0..<n {
            let d = Double(x[v]) - mx
            let e = exp(d)
            sum += e
            weighted += e * d
        }
        return log(sum) - weighted / sum
    }
}
