// DefenceRegistry: the map from a defence's name in a config file to the type that builds it — adding a
// defence is a new file plus one line here. Not a plugin system: the list is fixed at compile time.
import LabAPI
import LabCore

public enum DefenceRegistry {
    /// Every defence, one line per kind, in the order tables list them.
    public static let kinds: [any RegisteredDefence.Type] = [
        GaussianNoise.self,  // gaussian_noise
        LaplaceNoise.self,  // laplace_noise
        Rounding.self,  // rounding
        TopK.self,  // top_k
        LabelOnly.self,  // label_only
        HighConfidence.self,  // high_confidence
        ReverseSigmoid.self,  // reverse_sigmoid
        TemperatureScaling.self,  // temperature
        PredictionPoisoning.self,  // mad
        AdaptiveMisinformation.self,  // misinformation
        KGWDefence.self,  // kgw
        AntidistillationSampling.self,  // antidistillation
    ]

    public static var names: [String] { kinds.map { $0.registryName } }

    public static func kind(named name: String, in kinds: [any RegisteredDefence.Type] = kinds) -> (
        any RegisteredDefence.Type
    )? {
        kinds.first { $0.registryName == name }
    }

    /// Builds one defence from `kinds` (the registry's own unless a caller adds its parts); throws
    /// `LabError.invalidConfig` for an unknown name, a bad value or an unknown key.
    public static func make(
        _ spec: DefenceSpec, environment: DefenceEnvironment, kinds: [any RegisteredDefence.Type] = kinds
    ) throws -> any Defence {
        guard let type = kind(named: spec.name, in: kinds) else {
            throw LabError.invalidConfig(
                key: "defences.\(spec.name)",
                message: "unknown defence; known: \(kinds.map { $0.registryName }.joined(separator: ", "))")
        }
        var params = DefenceParameters(defence: spec.name, values: spec.parameters)
        let defence = try type.init(parameters: &params, environment: environment)
        try params.finish()
        return defence
    }

    /// Builds a pipeline, stages in the order given.
    public static func pipeline(
        _ specs: [DefenceSpec], environment: DefenceEnvironment,
        kinds: [any RegisteredDefence.Type] = kinds
    ) throws -> DefencePipeline {
        DefencePipeline(try specs.map { try make($0, environment: environment, kinds: kinds) })
    }

    /// A Markdown table of every defence: name, reference, and each parameter with its default and meaning.
    public static var documentation: String { documentation(of: kinds) }

    public static func documentation(of kinds: [any RegisteredDefence.Type]) -> String {
        partDocumentationTable(heading: "defence", kinds.map { ($0.registryName, $0.reference, $0.parameterDocs) })
    }
}
