// WatermarkStatistics+Intervals: exact binomial answers a detection-rate table needs — the exact null rate of
// "z ≥ threshold" for one scored text, and the Clopper–Pearson interval of a rate. Not the z-test itself
// (WatermarkDetector.swift) nor the tails they rest on.
import Foundation

extension WatermarkStatistics {
    /// The exact null rate of "z ≥ threshold" for one text: P(Binomial(T, γ) ≥ k), k the smallest green count
    /// whose z reaches the threshold at the text's T.
    public static func exactNullRate(_ s: WatermarkScore, threshold: Double) -> Double {
        guard s.scored > 0 else { return threshold <= 0 ? 1 : 0 }
        let t = Double(s.scored), g = s.gamma
        func z(_ k: Int) -> Double { (Double(k) - g * t) / (t * g * (1 - g)).squareRoot() }
        var k = max(0, Int((g * t + threshold * (t * g * (1 - g)).squareRoot()).rounded(.up)))
        while k > 0, z(k - 1) >= threshold { k -= 1 }
        while k <= s.scored, z(k) < threshold { k += 1 }
        return WatermarkStatistics.binomialTail(atLeast: k, trials: s.scored, probability: g)
    }

    /// The Clopper–Pearson (exact) two-sided 95% interval of a binomial proportion: the p at which observing
    /// at least `successes` (lower bound), or at most `successes` (upper bound), has probability 2.5%.
    /// Found by bisection on the exact tail, which is increasing in p.
    public static func clopperPearson(successes k: Int, trials n: Int, level: Double = 0.95) -> (
        low: Double, high: Double
    ) {
        guard n > 0 else { return (0, 1) }
        let tail = (1 - level) / 2
        func bisect(_ f: (Double) -> Double, target: Double) -> Double {
            var lo = 0.0, hi = 1.0
            for _ in 0..<80 {
                let mid = (lo + hi) / 2
                if f(mid) < target { lo = mid } else { hi = mid }
            }
            return (lo + hi) / 2
        }
        func atLeast(_ j: Int, _ p: Double) -> Double {
            if p <= 0 { return j <= 0 ? 1 : 0 }
            if p >= 1 { return 1 }
            return WatermarkStatistics.binomialTail(atLeast: j, trials: n, probability: p)
        }
        // P(X ≥ k; p) rises with p: the lower bound solves P(X ≥ k; p) = tail.
        let low = k == 0 ? 0 : bisect({ atLeast(k, $0) }, target: tail)
        // P(X ≤ k; p) = 1 − P(X ≥ k + 1; p) falls with p: the upper bound solves P(X ≥ k + 1; p) = 1 − tail.
        let high = k == n ? 1 : bisect({ atLeast(k + 1, $0) }, target: 1 - tail)
        return (low, high)
    }
}
