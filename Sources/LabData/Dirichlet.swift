// Dirichlet: Gamma and Dirichlet variates drawn from LabRNG, for random Markov transition rows.
// Not a general distributions library: just what the synthetic sources need, deterministic by seed.
import Foundation
import LabCore

extension LabRNG {
    /// log of a Gamma(shape, 1) variate, by Marsaglia and Tsang, "A simple method for generating gamma
    /// variables" (ACM TOMS 26(3), 2000). Shapes below 1 use their boost: G(a) = G(a + 1) · U^(1/a).
    /// Returned in log space because for small shapes U^(1/a) underflows to 0 long before it matters
    /// relative to the other components of a Dirichlet draw.
    mutating func logGamma(shape: Double) -> Double {
        precondition(shape > 0 && shape.isFinite, "logGamma: shape must be positive and finite")
        if shape < 1 {
            let u = 1 - uniform()  // in (0, 1], so the log is finite
            return logGamma(shape: shape + 1) + Foundation.log(u) / shape
        }
        let d = shape - 1.0 / 3.0
        let c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double, v: Double
            repeat {
                x = normal()
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = 1 - uniform()
            let x2 = x * x
            if u < 1 - 0.0331 * x2 * x2 || Foundation.log(u) < 0.5 * x2 + d * (1 - v + Foundation.log(v)) {
                return Foundation.log(d * v)
            }
        }
    }

    /// A point on the probability simplex from the symmetric Dirichlet(concentration, ..., concentration)
    /// over `count` outcomes: normalised Gamma variates, normalised in log space (log-sum-exp).
    mutating func dirichlet(count: Int, concentration: Double) -> [Double] {
        var logs = (0..<count).map { _ in logGamma(shape: concentration) }
        let top = logs.max() ?? 0
        var total = 0.0
        for i in logs.indices {
            logs[i] = Foundation.exp(logs[i] - top)
            total += logs[i]
        }
        return logs.map { $0 / total }
    }
}
