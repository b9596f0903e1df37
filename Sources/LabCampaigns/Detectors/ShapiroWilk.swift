// ShapiroWilk: the W statistic of the Shapiro–Wilk normality test and its p-value, by Royston's
// approximations (Royston 1992, "Approximating the Shapiro-Wilk W-test for non-normality"; algorithm
// AS R94, Royston 1995) for 3 ≤ n ≤ 5000 — what PRADA runs on its distances. Not a general statistics
// library: no censoring, no n > 5000 (Royston's p-value is not calibrated there).
import Foundation
import LabCore

public enum ShapiroWilk {
    /// The sample sizes Royston's approximation covers.
    public static let sizes = 3...5000

    /// W and its p-value for `sample` (any order). Throws `LabError.invalidConfig` when n is outside
    /// 3...5000 or the sample has (numerically) zero range, where W is undefined.
    public static func test(_ sample: [Double]) throws -> (w: Double, p: Double) {
        guard sizes.contains(sample.count) else {
            throw LabError.invalidConfig(
                key: "n", message: "is \(sample.count); Royston's Shapiro–Wilk approximation covers 3...5000 values")
        }
        return try testSorted(sample.sorted(), coefficients: coefficients(count: sample.count))
    }

    /// The test on an ascending sample with precomputed `coefficients(count:)`, so a caller that tests
    /// many samples of the same size (PRADA's sliding window) computes them once.
    public static func testSorted(_ x: [Double], coefficients a: [Double]) throws -> (w: Double, p: Double) {
        let n = x.count
        guard sizes.contains(n) else {
            throw LabError.invalidConfig(
                key: "n", message: "is \(n); Royston's Shapiro–Wilk approximation covers 3...5000 values")
        }
        precondition(a.count == n / 2, "ShapiroWilk: \(a.count) coefficients for n = \(n)")
        let range = x[n - 1] - x[0]
        guard range > 1e-19 * max(1, abs(x[n - 1])) else {
            throw LabError.numerical("Shapiro–Wilk is undefined for a sample whose \(n) values are all equal")
        }
        // W as the squared correlation between the ordered sample and the coefficients, on x scaled by
        // its range, with 1 − W formed directly: AS R94 does this to keep W near 1 exact in large samples.
        var mean = 0.0
        for v in x { mean += v / range }
        mean /= Double(n)
        var ssa = 0.0, ssx = 0.0, sax = 0.0
        for i in 0..<n {
            let j = n - 1 - i
            // The coefficient of x(i): −a[i] in the lower half, +a[j] in the upper, 0 at an odd middle.
            let ai: Double = i < j ? -a[i] : (i > j ? a[j] : 0)
            let xi = x[i] / range - mean
            ssa += ai * ai
            ssx += xi * xi
            sax += ai * xi
        }
        let root = (ssa * ssx).squareRoot()
        let oneMinusW = (root - sax) * (root + sax) / (ssa * ssx)
        let w = 1 - oneMinusW
        return (w, pValue(w: w, oneMinusW: oneMinusW, n: n))
    }

    /// The n/2 positive Shapiro–Wilk coefficients a₁ ≥ a₂ ≥ … for the largest order statistics (the
    /// lower half is their negation), normalised so Σ aᵢ² over all n is 1. Royston 1992: mᵢ are the
    /// Blom scores Φ⁻¹((i − 3/8)/(n + 1/4)); the two extreme coefficients get polynomial corrections in
    /// 1/√n, the rest are mᵢ rescaled.
    public static func coefficients(count n: Int) -> [Double] {
        precondition(n >= 3, "ShapiroWilk.coefficients: n = \(n) < 3")
        let half = n / 2
        if n == 3 { return [(0.5 as Double).squareRoot()] }
        let c1 = [0.0, 0.221157, -0.147981, -2.07119, 4.434685, -2.706056]
        let c2 = [0.0, 0.042981, -0.293762, -1.752461, 5.682633, -3.582633]
        // m[i] for the lower half (negative), i = 0 the smallest.
        var m = (0..<half).map { i in normalQuantile((Double(i + 1) - 0.375) / (Double(n) + 0.25)) }
        let summ2 = 2 * m.reduce(0) { $0 + $1 * $1 }
        let ssumm2 = summ2.squareRoot()
        let rsn = 1 / Double(n).squareRoot()
        let a1 = poly(c1, rsn) - m[0] / ssumm2
        let fac: Double
        var first = 1
        if n > 5 {
            first = 2
            let a2 = -m[1] / ssumm2 + poly(c2, rsn)
            fac = ((summ2 - 2 * m[0] * m[0] - 2 * m[1] * m[1]) / (1 - 2 * a1 * a1 - 2 * a2 * a2)).squareRoot()
            m[1] = a2
        } else {
            fac = ((summ2 - 2 * m[0] * m[0]) / (1 - 2 * a1 * a1)).squareRoot()
        }
        m[0] = a1
        for i in first..<half { m[i] = -m[i] / fac }
        return m
    }

    /// Royston's p-value: exact for n = 3; for 4 ≤ n ≤ 11 a normal approximation of −log(γ − log(1 − W));
    /// for n ≥ 12 of log(1 − W), with mean and spread polynomial in n or log n (AS R94's constants).
    static func pValue(w: Double, oneMinusW: Double, n: Int) -> Double {
        if n == 3 {
            // 6/π (asin √W − π/3): the exact distribution of W for three values.
            return max(0, 6 / Double.pi * (asin(w.squareRoot()) - Double.pi / 3))
        }
        var y = log(oneMinusW)
        let an = Double(n)
        let mean: Double, sd: Double
        if n <= 11 {
            let gamma = poly([-2.273, 0.459], an)
            if y >= gamma { return 1e-99 }
            y = -log(gamma - y)
            mean = poly([0.544, -0.39978, 0.025054, -6.714e-4], an)
            sd = exp(poly([1.3822, -0.77857, 0.062767, -0.0020322], an))
        } else {
            let ln = log(an)
            mean = poly([-1.5861, -0.31082, -0.083751, 0.0038915], ln)
            sd = exp(poly([-0.4803, -0.082676, 0.0030302], ln))
        }
        return normalUpperTail((y - mean) / sd)
    }

    /// c₀ + c₁x + c₂x² + …
    static func poly(_ c: [Double], _ x: Double) -> Double {
        var r = 0.0
        for coefficient in c.reversed() { r = r * x + coefficient }
        return r
    }

    /// 1 − Φ(z), accurate in the far tail (through erfc).
    public static func normalUpperTail(_ z: Double) -> Double { 0.5 * erfc(z / (2 as Double).squareRoot()) }

    /// Φ⁻¹(p) for 0 < p < 1: Abramowitz & Stegun 26.2.23 (error < 4.5·10⁻⁴) refined by Halley steps on
    /// Φ(x) − p through erfc, which brings it to double precision.
    public static func normalQuantile(_ p: Double) -> Double {
        precondition(p > 0 && p < 1, "normalQuantile: p = \(p) is outside (0, 1)")
        let q = min(p, 1 - p)
        let t = (-2 * log(q)).squareRoot()
        var x =
            t - (2.515517 + 0.802853 * t + 0.010328 * t * t)
            / (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t)
        if p < 0.5 { x = -x }
        for _ in 0..<3 {
            // e = Φ(x) − p; Halley's update for f(x) = Φ(x) − p with f' = φ(x), f'' = −x φ(x).
            let e = 0.5 * erfc(-x / (2 as Double).squareRoot()) - p
            let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
            x -= u / (1 + x * u / 2)
        }
        return x
    }
}
