// Rounding of reported values to d decimals, on probabilities or on logprobs — ART `Rounded`, the
// confidence rounding Tramèr et al. 2016 ("Stealing Machine Learning Models via Prediction APIs") test.
// It does not renormalise (neither does ART): rounded probabilities need not sum to 1.
import Foundation
import LabAPI
import LabCore

public struct Rounding: RegisteredDefence {
    public enum Domain: String, Sendable, CaseIterable { case probabilities, logprobs }

    public static let registryName = "rounding"
    public static let reference = "round reported values to d decimals — ART Rounded; Tramèr et al. 2016"
    public enum Declared {
        public static let decimals = PartParameter.int(
            "decimals", 3, valid: { (0...12).contains($0) }, "must be a whole number of decimals in 0...12",
            meaning: "d, decimals kept (ART's default)")
        public static let on = PartParameter.choice(
            "on", Domain.probabilities,
            meaning: "`probabilities` (p rounded; small ones become 0) or `logprobs` (log p rounded)")
    }
    public static let parameterDocs = [Declared.decimals.doc, Declared.on.doc]
    public let decimals: Int
    public let domain: Domain

    public init(decimals: Int = Declared.decimals.defaultValue, domain: Domain = Declared.on.defaultValue) {
        self.decimals = decimals
        self.domain = domain
    }

    public init(parameters p: inout DefenceParameters, environment: DefenceEnvironment) throws {
        self.init(decimals: try p.read(Declared.decimals), domain: try p.read(Declared.on))
    }

    public var parameters: [(key: String, value: String)] { [("decimals", String(decimals)), ("on", domain.rawValue)] }

    /// x rounded to `decimals` places, halves to even as numpy's `around` (which ART calls) does.
    public func round(_ x: Double) -> Double {
        let scale = pow(10, Double(decimals))
        return (x * scale).rounded(.toNearestOrEven) / scale
    }

    public func apply(to rows: inout [DistributionRow]) throws {
        for r in rows.indices {
            for i in rows[r].reportedTokens {
                let v = rows[r].values[i]
                switch domain {
                case .probabilities: rows[r].values[i] = round(v)
                // A zero stays zero (its logprob is −∞, which has no decimals).
                case .logprobs: rows[r].values[i] = v > 0 ? exp(round(log(v))) : 0
                }
            }
        }
    }
}
