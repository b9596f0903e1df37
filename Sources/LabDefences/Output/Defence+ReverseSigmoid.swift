// Reverse sigmoid: Lee et al. 2019 ("Defending Against NN Model Stealing Attacks Using Deceptive
// Perturbations"), exactly as ART's `ReverseSigmoid(beta=1.0, gamma=0.1)` computes it. It keeps the
// top-1 class of a classifier; over a large vocabulary it lifts every small probability a great deal.
import Foundation
import LabAPI
import LabCore

/// For each reported value y (clipped to [10⁻⁹, 1 − 10⁻⁹] inside the sigmoid only):
///
///     r(y) = β · [ s(γ · s⁻¹(y)) − ½ ],   s(z) = 1 / (1 + e^{−z}),   s⁻¹(y) = ln(y / (1 − y))
///     ŷ    = α · clip(y − r(y), 0, 1),    α = 1 / Σ clip(y − r(y), 0, 1)
///
/// β scales the perturbation, γ its slope: large probabilities are pulled down, small ones pushed up,
/// and the sign of ∂ŷ/∂y flips around y = ½ — the "deceptive" gradient that misleads a distiller.
/// ART writes s(−γ·ln((1−y)/y)), the same expression. γ = 1 gives r = β(y − ½), the check by hand.
public struct ReverseSigmoid: RegisteredDefence {
    public static let registryName = "reverse_sigmoid"
    public static let reference = "ŷ = α·clip(y − β[s(γ s⁻¹(y)) − ½]) — Lee et al. 2019; ART ReverseSigmoid"
    public enum Declared {
        public static let beta = PartParameter.double(
            "beta", 1.0, valid: { $0 >= 0 }, "must be ≥ 0 (ART's default is 1.0)",
            meaning: "β, magnitude of the perturbation (ART's default)")
        public static let gamma = PartParameter.double(
            "gamma", 0.1, valid: { $0 > 0 }, "must be > 0 (ART's default is 0.1)",
            meaning: "γ, slope of the inner sigmoid (ART's default)")
    }
    public static let parameterDocs = [Declared.beta.doc, Declared.gamma.doc]
    public let beta: Double
    public let gamma: Double

    public init(beta: Double = Declared.beta.defaultValue, gamma: Double = Declared.gamma.defaultValue) {
        self.beta = beta
        self.gamma = gamma
    }

    public init(parameters p: inout DefenceParameters, environment: DefenceEnvironment) throws {
        self.init(beta: try p.read(Declared.beta), gamma: try p.read(Declared.gamma))
    }

    public var parameters: [(key: String, value: String)] { [("beta", show(beta)), ("gamma", show(gamma))] }

    /// r(y), the published perturbation.
    public func perturbation(_ y: Double) -> Double {
        let c = min(max(y, 1e-9), 1 - 1e-9)
        let inner = gamma * log(c / (1 - c))
        return beta * (1 / (1 + exp(-inner)) - 0.5)
    }

    public func apply(to rows: inout [DistributionRow]) throws {
        for r in rows.indices {
            let tokens = rows[r].reportedTokens
            for i in tokens {
                let y = rows[r].values[i]
                rows[r].values[i] = min(max(y - perturbation(y), 0), 1)
            }
            RowMath.normalise(&rows[r].values, over: tokens)
        }
    }
}
