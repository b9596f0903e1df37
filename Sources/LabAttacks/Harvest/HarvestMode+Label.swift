// Label harvest: one `label` query per prompt, only the most likely next token back — the label-only
// setting of model extraction (Tramèr et al. 2016; ART ClassLabels as a defence). A withheld label
// leaves the record without a target (it still cost what it cost).
import LabAPI

public struct LabelHarvest: RegisteredHarvestMode {
    public static let registryName = "label"
    public static let reference = "the top-1 next token after each prompt only (the `label` surface)"
    public static let parameterDocs: [ParameterDoc] = []

    public init() {}
    public init(parameters p: inout AttackParameters, environment: AttackEnvironment?) throws {}

    public var parameters: [(key: String, value: String)] { [] }
    public var coverage: TargetCoverage { .last }
    public func maxPromptLength(contextLength: Int) -> Int { contextLength }

    public func queries(for prompt: [Int32], vocabularySize: Int) -> [Query] { [.label(prompt)] }

    public func record(prompt: [Int32], responses: [Response], vocabularySize: Int) -> HarvestRecord {
        let targets =
            (responses.first?.tokens.first).map { [PositionTarget.oneHot(position: prompt.count - 1, token: $0)] } ?? []
        return HarvestRecord(text: prompt, promptLength: prompt.count, targets: targets, usage: cost(responses))
    }
}
