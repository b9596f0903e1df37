// FiniteDifference: central-difference gradients of a scalar objective over Float32 inputs, and
// their comparison with an analytic gradient under explicit absolute and relative tolerances.
// It is not an autograd and knows nothing of layers: the caller's objective re-runs the forward.
import Foundation
import LabCore

public enum FiniteDifference {
    /// ∂objective/∂x[i] for each i in `indices`, as (f(x⁺) − f(x⁻)) / (x⁺ − x⁻) with
    /// x± = x[i] ± step·max(1, |x[i]|). The quotient divides by the Float values actually stored,
    /// so rounding the perturbed input does not bias it; x[i] is restored bit for bit.
    public static func gradient(
        at x: UnsafeMutablePointer<Float>, indices: [Int], step: Float, objective: () throws -> Double
    ) rethrows -> [Double] {
        var result: [Double] = []
        result.reserveCapacity(indices.count)
        for i in indices {
            let saved = x[i]
            let h = step * max(1, abs(saved))
            let plus = saved + h, minus = saved - h
            x[i] = plus
            let fPlus = try objective()
            x[i] = minus
            let fMinus = try objective()
            x[i] = saved
            result.append((fPlus - fMinus) / (Double(plus) - Double(minus)))
        }
        return result
    }

    /// Σ out ⊙ weights, accumulated in Double: the scalar objective L whose gradient is `weights`.
    public static func weightedSum(_ out: UnsafePointer<Float>, _ weights: [Float]) -> Double {
        var s = 0.0
        for i in weights.indices { s += Double(out[i]) * Double(weights[i]) }
        return s
    }

    /// All of 0..<n when n <= count; otherwise `count` distinct indices drawn with `rng`, plus
    /// `including` (e.g. the largest-gradient entry). Sorted, without duplicates.
    public static func sampleIndices(_ n: Int, count: Int, rng: inout LabRNG, including: [Int] = []) -> [Int] {
        if n <= count { return Array(0..<n) }
        var chosen = Set(including)
        let target = count + chosen.count
        while chosen.count < target { chosen.insert(rng.int(below: n)) }
        return chosen.sorted()
    }

    /// Index of the entry of largest magnitude among the first `n` of `values`.
    public static func argmaxMagnitude(_ values: UnsafePointer<Float>, _ n: Int) -> Int {
        var best = 0
        for i in 0..<n where abs(values[i]) > abs(values[best]) { best = i }
        return best
    }

    /// `count` draws of mean + scale·N(0, 1).
    public static func normals(_ count: Int, rng: inout LabRNG, scale: Double = 1, mean: Double = 0) -> [Float] {
        (0..<count).map { _ in Float(mean + scale * rng.normal()) }
    }
}

/// The outcome of comparing an analytic gradient with finite differences on a set of entries.
public struct GradientCheck: CustomStringConvertible {
    public let name: String
    public let atol: Double, rtol: Double
    public let checked: Int
    /// max |analytic − numeric|.
    public let maxAbsoluteError: Double
    /// max |analytic − numeric| / |numeric| over entries with |numeric| > atol (0 when none).
    public let maxRelativeError: Double
    /// max |analytic − numeric| / (atol + rtol·|numeric|); the check passes when it is <= 1.
    public let worstRatio: Double
    /// Input index of the entry that set `worstRatio`, with its two values.
    public let worstIndex: Int, worstAnalytic: Double, worstNumeric: Double
    /// max |numeric|: the scale against which the errors should be read.
    public let maxMagnitude: Double

    public var passed: Bool { worstRatio <= 1 }

    /// `analytic[j]` and `numeric[j]` both belong to input entry `indices[j]`.
    public init(name: String, analytic: [Double], numeric: [Double], indices: [Int], atol: Double, rtol: Double) {
        precondition(
            analytic.count == numeric.count && numeric.count == indices.count,
            "GradientCheck: \(analytic.count), \(numeric.count), \(indices.count) entries")
        self.name = name
        self.atol = atol
        self.rtol = rtol
        checked = indices.count
        var maxAbs = 0.0, maxRel = 0.0, worst = 0.0, worstJ = 0, mag = 0.0
        for j in indices.indices {
            let a = analytic[j], n = numeric[j]
            let err = abs(a - n)
            mag = max(mag, abs(n))
            maxAbs = max(maxAbs, err.isNaN ? .infinity : err)
            if abs(n) > atol { maxRel = max(maxRel, err / abs(n)) }
            let ratio = err.isNaN ? .infinity : err / (atol + rtol * abs(n))
            if ratio > worst {
                worst = ratio
                worstJ = j
            }
        }
        maxAbsoluteError = maxAbs
        maxRelativeError = maxRel
        worstRatio = worst
        maxMagnitude = mag
        worstIndex = indices.isEmpty ? -1 : indices[worstJ]
        worstAnalytic = indices.isEmpty ? 0 : analytic[worstJ]
        worstNumeric = indices.isEmpty ? 0 : numeric[worstJ]
    }

    public var description: String {
        func e(_ x: Double) -> String { String(format: "%.2e", x) }
        return
            "\(name): \(checked) entries, max |FD| \(e(maxMagnitude)), max abs err \(e(maxAbsoluteError)), max rel err \(e(maxRelativeError)), worst ratio \(String(format: "%.3f", worstRatio)) at [\(worstIndex)] analytic \(e(worstAnalytic)) vs FD \(e(worstNumeric)) (atol \(atol), rtol \(rtol))"
    }
}
