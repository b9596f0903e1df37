// Temperature scaling of the reported distribution: q ∝ p^{1/τ}. τ > 1 flattens (the soft labels a
// distiller learns from carry less of the teacher's dark knowledge, Hinton et al. 2015 in reverse),
// τ < 1 sharpens toward a label. Not the client's sampling temperature, which acts after the defences.
import Foundation
import LabAPI
import LabCore

public struct TemperatureScaling: RegisteredDefence {
    public static let registryName = "temperature"
    public static let reference = "report p^{1/τ} renormalised: τ > 1 flattens, τ < 1 sharpens"
    public enum Declared {
        public static let temperature = PartParameter.double(
            "temperature", 2.0, valid: { $0 > 0 }, "must be > 0", meaning: "τ > 0; 1 leaves the distribution unchanged")
    }
    public static let parameterDocs = [Declared.temperature.doc]
    public let temperature: Double

    public init(temperature: Double = Declared.temperature.defaultValue) { self.temperature = temperature }

    public init(parameters p: inout DefenceParameters, environment: DefenceEnvironment) throws {
        self.init(temperature: try p.read(Declared.temperature))
    }

    public var parameters: [(key: String, value: String)] { [("temperature", show(temperature))] }

    public func apply(to rows: inout [DistributionRow]) throws {
        for r in rows.indices {
            // In log space, so that tiny probabilities raised to a large 1/τ do not underflow first.
            var z = [Double](repeating: -.infinity, count: rows[r].vocabularySize)
            var positive: [Int] = []
            for i in rows[r].reportedTokens where rows[r].values[i] > 0 {
                z[i] = log(rows[r].values[i]) / temperature
                positive.append(i)
            }
            Softmax.probabilities(z, over: positive, into: &rows[r].values)
        }
    }
}
