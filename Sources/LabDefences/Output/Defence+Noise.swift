// Gaussian and Laplace output noise, on probabilities (clipped at 0 and renormalised, as ART's
// GaussianNoise does) or on logits (then re-softmaxed). Only reported entries are perturbed; withheld
// ones stay withheld. Not differential privacy: no sensitivity analysis, just the perturbation.
import Foundation
import LabAPI
import LabCore

/// Where the noise is added.
public enum NoiseDomain: String, Sendable, CaseIterable {
    /// p + n, clipped at 0 and divided by the sum — ART `GaussianNoise` (Chandrasekaran et al. 2020).
    case probabilities
    /// softmax(log p + n): every entry stays positive and the order of small entries is scrambled.
    case logits

    /// The `on` parameter both noise defences take.
    public static let declared = PartParameter.choice(
        "on", NoiseDomain.probabilities,
        meaning: "`probabilities` (p + n, clip at 0, renormalise) or `logits` (softmax(log p + n))")
}

/// The shared perturbation: one draw per reported entry from `draw`, added in `domain`.
enum OutputNoise {
    static func apply(
        to rows: inout [DistributionRow], domain: NoiseDomain, stream: String, draw: (inout LabRNG) -> Double
    ) {
        for r in rows.indices {
            var rng = rows[r].rng(stream)
            let tokens = rows[r].reportedTokens
            switch domain {
            case .probabilities:
                for i in tokens { rows[r].values[i] = max(0, rows[r].values[i] + draw(&rng)) }
                // ART divides by the sum unguarded; a row clipped to all zeros stays all zeros here
                // (nothing to report; a completion then falls back to the teacher, see DistributionRow).
                RowMath.normalise(&rows[r].values, over: tokens)
            case .logits:
                // Zero entries have logit −∞ and stay 0; the rest get log p + n and a softmax over them.
                var z = [Double](repeating: -.infinity, count: rows[r].values.count)
                var positive: [Int] = []
                for i in tokens where rows[r].values[i] > 0 {
                    z[i] = log(rows[r].values[i]) + draw(&rng)
                    positive.append(i)
                }
                Softmax.probabilities(z, over: positive, into: &rows[r].values)
            }
        }
    }
}

/// Gaussian noise N(0, σ²) on each reported entry — ART `GaussianNoise(scale=0.2)`.
/// `scale` σ is the standard deviation; `on` picks the domain (see `NoiseDomain`).
public struct GaussianNoise: RegisteredDefence {
    public static let registryName = "gaussian_noise"
    public static let reference =
        "Gaussian noise on each reported value — ART GaussianNoise (probabilities, clipped and renormalised)"
    public enum Declared {
        public static let scale = PartParameter.double(
            "scale", 0.2, valid: { $0 >= 0 }, "must be a standard deviation ≥ 0 (ART's default is 0.2)",
            meaning: "standard deviation σ of the noise (ART's default)")
    }
    public static let parameterDocs = [Declared.scale.doc, NoiseDomain.declared.doc]
    public let scale: Double
    public let domain: NoiseDomain

    public init(scale: Double = Declared.scale.defaultValue, domain: NoiseDomain = NoiseDomain.declared.defaultValue) {
        self.scale = scale
        self.domain = domain
    }

    public init(parameters p: inout DefenceParameters, environment: DefenceEnvironment) throws {
        self.init(scale: try p.read(Declared.scale), domain: try p.read(NoiseDomain.declared))
    }

    public var parameters: [(key: String, value: String)] { [("scale", show(scale)), ("on", domain.rawValue)] }

    public func apply(to rows: inout [DistributionRow]) throws {
        let s = scale
        OutputNoise.apply(to: &rows, domain: domain, stream: name) { s * $0.normal() }
    }
}

/// Laplace noise with scale b (density e^{−|x|/b} / 2b, standard deviation b√2) on each reported entry:
/// the heavier-tailed alternative to `GaussianNoise`, same domains.
public struct LaplaceNoise: RegisteredDefence {
    public static let registryName = "laplace_noise"
    public static let reference =
        "Laplace noise on each reported value — the ART GaussianNoise scheme with a Laplace draw"
    /// 0.2/√2: the same standard deviation as `GaussianNoise`'s default, so the two rows of a table compare.
    public static let defaultScale = 0.2 / 2.0.squareRoot()
    public enum Declared {
        public static let scale = PartParameter.double(
            "scale", defaultScale, valid: { $0 >= 0 }, "must be a Laplace scale ≥ 0", shown: "0.1414",
            meaning: "Laplace scale b; the standard deviation is b√2 (default 0.2/√2: σ = 0.2, as the Gaussian's)")
    }
    public static let parameterDocs = [Declared.scale.doc, NoiseDomain.declared.doc]
    public let scale: Double
    public let domain: NoiseDomain

    public init(scale: Double = Declared.scale.defaultValue, domain: NoiseDomain = NoiseDomain.declared.defaultValue) {
        self.scale = scale
        self.domain = domain
    }

    public init(parameters p: inout DefenceParameters, environment: DefenceEnvironment) throws {
        self.init(scale: try p.read(Declared.scale), domain: try p.read(NoiseDomain.declared))
    }

    public var parameters: [(key: String, value: String)] { [("scale", show(scale)), ("on", domain.rawValue)] }

    /// The standard deviation of one draw, b√2.
    public var standardDeviation: Double { scale * 2.0.squareRoot() }

    public func apply(to rows: inout [DistributionRow]) throws {
        let b = scale
        OutputNoise.apply(to: &rows, domain: domain, stream: name) { rng in
            // Inverse CDF: u uniform on (−½, ½), x = −b·sign(u)·ln(1 − 2|u|).
            let u = rng.uniform() - 0.5
            let x = -b * log(max(1e-300, 1 - 2 * abs(u)))
            return u < 0 ? -x : x
        }
    }
}
