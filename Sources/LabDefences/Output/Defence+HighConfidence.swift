// High-confidence cutoff: report only entries at or above a cutoff — ART `HighConfidence(cutoff=0.25)`,
// which zeroes the rest and does not renormalise. A row whose entries are all below the cutoff reports
// nothing; a completion at such a position draws from the teacher (see DistributionRow.original).
import LabAPI
import LabCore

public struct HighConfidence: RegisteredDefence {
    public static let registryName = "high_confidence"
    public static let reference = "report only values ≥ cutoff, no renormalisation — ART HighConfidence"
    public enum Declared {
        public static let cutoff = PartParameter.double(
            "cutoff", 0.25, valid: { $0 > 0 && $0 <= 1 }, "must be in (0, 1] (ART's default is 0.25)",
            meaning: "smallest value reported (ART's default)")
    }
    public static let parameterDocs = [Declared.cutoff.doc]
    public let cutoff: Double

    public init(cutoff: Double = Declared.cutoff.defaultValue) { self.cutoff = cutoff }

    public init(parameters p: inout DefenceParameters, environment: DefenceEnvironment) throws {
        self.init(cutoff: try p.read(Declared.cutoff))
    }

    public var parameters: [(key: String, value: String)] { [("cutoff", show(cutoff))] }

    public func apply(to rows: inout [DistributionRow]) throws {
        for r in rows.indices {
            rows[r].withhold(allBut: rows[r].reportedTokens.filter { rows[r].values[$0] >= cutoff })
        }
    }
}
