// DetectorTopics: the defender's model of benign traffic as a mixture of topics — one hashed n-gram profile
// per benign source, estimated from logged prompts — and the residual of a distribution after its best fit
// as such a mixture. What the fingerprint and clustering detectors measure "unlike honest users" against.
import Foundation

public struct DetectorTopics: Sendable {
    /// Each topic's n-gram distribution (sums to 1).
    public let profiles: [SIMD64<Float>]
    /// (K, D) the profiles flat.
    let flatTopics: [Float]

    public init(profiles: [SIMD64<Float>]) {
        precondition(!profiles.isEmpty, "DetectorTopics needs at least one benign topic profile")
        self.profiles = profiles
        flatTopics = profiles.flatMap { t in (0..<PromptFeatures.dimension).map { t[$0] } }
    }

    /// JS(p, fit(p)): how far p is from every mixture of the topics.
    public func residual(_ p: SIMD64<Float>, weights: inout [Float], iterations: Int) -> Double {
        Self.jensenShannon(p, fit(p, weights: &weights, iterations: iterations))
    }

    /// Σ wₖ topicₖ at the weights that maximise the likelihood of p under the mixture (EM: each step moves
    /// wₖ to the share of p's mass that topic k explains), starting from `weights` (uniform when empty) and
    /// leaving the fitted weights there, so an account's next check starts where this one ended.
    public func fit(_ p: SIMD64<Float>, weights: inout [Float], iterations: Int) -> SIMD64<Float> {
        let K = profiles.count, D = PromptFeatures.dimension
        if weights.count != K { weights = [Float](repeating: 1 / Float(K), count: K) }
        // Flat arrays and plain loops: the compiler vectorises these, where SIMD64 arithmetic spills.
        let target = (0..<D).map { p[$0] }
        var m = [Float](repeating: 0, count: D)
        var next = [Float](repeating: 0, count: K)
        func mix() {
            for i in 0..<D { m[i] = 0 }
            for k in 0..<K {
                let w = weights[k]
                for i in 0..<D { m[i] += w * flatTopics[k * D + i] }
            }
        }
        for _ in 0..<iterations {
            mix()
            for k in 0..<K {
                var explained: Float = 0
                for i in 0..<D where m[i] > 0 { explained += target[i] * flatTopics[k * D + i] / m[i] }
                next[k] = weights[k] * explained
            }
            let total = next.reduce(0, +)
            guard total > 0 else { break }
            for k in 0..<K { weights[k] = next[k] / total }
        }
        mix()
        var q = SIMD64<Float>(repeating: 0)
        for i in 0..<D { q[i] = m[i] }
        return q
    }

    /// JS(p, q) = ½ KL(p ‖ m) + ½ KL(q ‖ m), m = ½(p + q), in nats; p and q sum to 1.
    public static func jensenShannon(_ p: SIMD64<Float>, _ q: SIMD64<Float>) -> Double {
        var total = 0.0
        for i in 0..<PromptFeatures.dimension {
            let pi = Double(p[i]), qi = Double(q[i]), mi = (pi + qi) / 2
            if pi > 0 { total += 0.5 * pi * log(pi / mi) }
            if qi > 0 { total += 0.5 * qi * log(qi / mi) }
        }
        return max(0, total)
    }
}
