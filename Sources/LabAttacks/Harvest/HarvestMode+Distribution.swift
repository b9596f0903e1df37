// Full-distribution harvest: one `distribution` query per prompt, the whole next-token distribution
// back — the leakiest surface (no production LLM API offers it), the upper end of every fidelity table.
// Not a reconstruction from top-k answers: that is LogitBiasHarvest.
import LabAPI

public struct DistributionHarvest: RegisteredHarvestMode {
    public static let registryName = "distribution"
    public static let reference = "the full next-token distribution after each prompt (the `distribution` surface)"
    public static let parameterDocs: [ParameterDoc] = []

    public init() {}
    public init(parameters p: inout AttackParameters, environment: AttackEnvironment?) throws {}

    public var parameters: [(key: String, value: String)] { [] }
    public var coverage: TargetCoverage { .last }
    public func maxPromptLength(contextLength: Int) -> Int { contextLength }

    public func queries(for prompt: [Int32], vocabularySize: Int) -> [Query] { [.distribution(prompt)] }

    public func record(prompt: [Int32], responses: [Response], vocabularySize V: Int) -> HarvestRecord {
        let entries = responses.first?.distribution ?? []
        let targets = entries.isEmpty ? [] : [target(position: prompt.count - 1, entries: entries, vocabularySize: V)]
        return HarvestRecord(text: prompt, promptLength: prompt.count, targets: targets, usage: cost(responses))
    }
}
