// Label-only output: each row reports only its most likely token, as a one-hot vector — ART
// `ClassLabels`. Unlike ART's implementation, which writes `class_labels[:, argmax(preds, axis=1)] = 1`
// and so marks every row's label in every row of a batch, each row here gets exactly its own label.
import LabAPI
import LabCore

public struct LabelOnly: RegisteredDefence {
    public static let registryName = "label_only"
    public static let reference =
        "report only the top-1 token, one-hot, one label per row — ART ClassLabels (batch bug fixed)"
    public static let parameterDocs: [ParameterDoc] = []

    public init() {}
    public init(parameters p: inout DefenceParameters, environment: DefenceEnvironment) throws {}

    public var parameters: [(key: String, value: String)] { [] }

    public func apply(to rows: inout [DistributionRow]) throws {
        for r in rows.indices {
            // A row with nothing positive left to report has no label: it is withheld whole.
            guard let label = rows[r].top else {
                rows[r].withhold(allBut: [])
                continue
            }
            rows[r].withhold(allBut: [label])
            rows[r].values[label] = 1
        }
    }
}
