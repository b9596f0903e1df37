// Prediction poisoning after MAD-argmax (Orekondy et al. 2020, "Prediction Poisoning"): within an L1
// budget ε, turn a proxy student's gradient as far as possible from the true distribution's, keeping the
// top-1 token. Not the paper's surrogate network: a last-layer linear proxy, whose features cancel.
import Foundation
import LabAPI
import LabCore

/// The approximation, stated plainly. MAD differentiates a surrogate student's loss −Σₖ ỹₖ log Fₖ with
/// respect to the surrogate's *last layer* W (the paper's own shortcut). Take that layer to be a linear
/// softmax head on features φ: F = softmax(Wφ), so ∂/∂W of the loss is (s − ỹ) φᵀ with s = F(x). The
/// angle between the gradients for ỹ and for the true y is then the angle between the residuals ỹ − s
/// and y − s: φ cancels, and only the proxy's prediction s matters. So this defence needs no features,
/// only s:
/// - default: s uniform — a freshly initialised student with a zero (or small random) output layer;
/// - `proxy_temperature` τ: s = softmax(log y / τ), a student that has learnt a flattened teacher.
/// The proxy is not trained alongside the attacker's student, as the paper's surrogate is not either.
///
/// The search follows MAD's heuristic: the angle is convex in ỹ, so its maximum over the simplex is at a
/// vertex e_k; MAD picks the vertex, then moves y toward it as far as the budget allows. Here every
/// vertex is scored *after* that line search (α_k = min(1, ε / ‖e_k − y‖₁, the top-1 bound)), which can
/// only do better than scoring the vertices themselves. ‖ỹ − y‖₁ = α_k ‖e_k − y‖₁ ≤ ε by construction;
/// for k ≠ top-1, α_k < (y_top − y_k)/(1 + y_top − y_k) keeps the top-1 token strictly first.
public struct PredictionPoisoning: RegisteredDefence {
    public static let registryName = "mad"
    public static let reference =
        "MAD-argmax prediction poisoning within an L1 budget ε, last-layer linear proxy — Orekondy et al. 2020"
    public enum Declared {
        public static let epsilon = PartParameter.double(
            "epsilon", 0.5, valid: { $0 >= 0 && $0 <= 2 }, "must be an L1 budget in [0, 2]",
            meaning: "ε, the L1 budget ‖ỹ − y‖₁ ≤ ε (in [0, 2])")
        public static let proxyTemperature = PartParameter.optionalDouble(
            "proxy_temperature", valid: { $0 > 0 }, "must be > 0, or absent for a uniform proxy",
            absent: "none (uniform proxy)", meaning: "τ: the proxy student predicts softmax(log y / τ); absent: uniform"
        )
    }
    public static let parameterDocs = [Declared.epsilon.doc, Declared.proxyTemperature.doc]
    public let epsilon: Double
    public let proxyTemperature: Double?

    public init(epsilon: Double = Declared.epsilon.defaultValue, proxyTemperature: Double? = nil) {
        self.epsilon = epsilon
        self.proxyTemperature = proxyTemperature
    }

    public init(parameters p: inout DefenceParameters, environment: DefenceEnvironment) throws {
        self.init(epsilon: try p.read(Declared.epsilon), proxyTemperature: try p.read(Declared.proxyTemperature))
    }

    public var parameters: [(key: String, value: String)] {
        [("epsilon", show(epsilon)), ("proxy_temperature", proxyTemperature.map(show) ?? "uniform")]
    }

    public func apply(to rows: inout [DistributionRow]) throws {
        for r in rows.indices {
            guard let y = rows[r].served, let top = rows[r].top else { continue }
            rows[r].values = poison(y, over: rows[r].reportedTokens, top: top)
        }
    }

    /// The proxy's prediction s over `tokens`.
    func proxy(_ y: [Double], over tokens: [Int]) -> [Double] {
        var s = [Double](repeating: 0, count: y.count)
        guard let tau = proxyTemperature else {
            for i in tokens { s[i] = 1 / Double(tokens.count) }
            return s
        }
        var z = [Double](repeating: -.infinity, count: y.count)
        let positive = tokens.filter { y[$0] > 0 }
        for i in positive { z[i] = log(y[i]) / tau }
        Softmax.probabilities(z, over: positive, into: &s)
        return s
    }

    /// ỹ for a normalised y: the budget-feasible point toward the best vertex (see the type's comment).
    public func poison(_ y: [Double], over tokens: [Int], top: Int) -> [Double] {
        let s = proxy(y, over: tokens)
        // g = y − s; with d = e_k − y and ỹ − s = g + α d:
        //   (g + αd)·g = ‖g‖² + α (g_k − y·g),  ‖g + αd‖² = ‖g‖² + 2α (g_k − y·g) + α² (1 − 2y_k + ‖y‖²).
        var gg = 0.0, yg = 0.0, yy = 0.0
        for i in tokens {
            let g = y[i] - s[i]
            gg += g * g
            yg += y[i] * g
            yy += y[i] * y[i]
        }
        guard gg > 1e-24, epsilon > 0 else { return y }
        var best: (k: Int, alpha: Double, cosine: Double)?
        for k in tokens {
            let l1 = 2 * (1 - y[k])
            guard l1 > 0 else { continue }
            var alpha = min(1, epsilon / l1)
            if k != top { alpha = min(alpha, (y[top] - y[k]) / (1 + y[top] - y[k]) * (1 - 1e-9)) }
            guard alpha > 0 else { continue }
            let dg = (y[k] - s[k]) - yg
            let dot = gg + alpha * dg
            let norm2 = gg + 2 * alpha * dg + alpha * alpha * (1 - 2 * y[k] + yy)
            let cosine = dot / (gg.squareRoot() * max(norm2, 1e-300).squareRoot())
            if best == nil || cosine < best!.cosine { best = (k, alpha, cosine) }
        }
        guard let choice = best else { return y }
        let k = choice.k
        var alpha = choice.alpha
        // Rounding could still tie the top-1 with k; halve α until it is strictly first again.
        for _ in 0..<64 {
            var out = y
            for i in tokens { out[i] = (1 - alpha) * y[i] }
            out[k] += alpha
            if k == top || out[top] > out[k] { return out }
            alpha /= 2
        }
        return y
    }
}
