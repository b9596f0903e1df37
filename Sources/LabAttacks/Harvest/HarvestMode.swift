// HarvestMode: how an attacker turns a prompt into queries and the answers into a record — one mode per
// API surface (full distribution, top-k logprobs, echoed prompt logprobs, sampled completions, labels)
// plus logit-bias reconstruction; the registry maps config names to them. Not prompt choice (QueryStrategy).
import Foundation
import LabAPI
import LabCore

/// Where a mode's targets sit in a record's text.
public enum TargetCoverage: String, Sendable {
    /// Only the token after the prompt.
    case last
    /// Every prompt position (echo) or every generated token (completion).
    case every
}

/// What a mode's factory may check against: the teacher's shape and the API's policy. Nil when a config
/// is validated before any teacher is loaded; the checks that need it then wait for the run.
public struct AttackEnvironment: Sendable {
    public var vocabularySize: Int
    public var contextLength: Int
    public var policy: APIPolicy

    public init(vocabularySize: Int, contextLength: Int, policy: APIPolicy = APIPolicy()) {
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.policy = policy
    }
}

public protocol HarvestMode {
    /// The registry name, e.g. "top_k".
    var name: String { get }
    /// Every parameter with its value, defaults included.
    var parameters: [(key: String, value: String)] { get }
    var coverage: TargetCoverage { get }
    /// The longest prompt the mode can send to a teacher with `contextLength` positions.
    func maxPromptLength(contextLength: Int) -> Int
    /// The queries that harvest `prompt` (several for logit-bias reconstruction), sent in one call.
    func queries(for prompt: [Int32], vocabularySize: Int) -> [Query]
    /// The record made of the answers to `queries(for: prompt)`, in the same order.
    func record(prompt: [Int32], responses: [Response], vocabularySize: Int) -> HarvestRecord
    /// What a mode that decides as it goes has chosen so far, with what it measured; nil for the others.
    var chosenPlan: String? { get }
}

extension HarvestMode {
    public var chosenPlan: String? { nil }

    /// "name(key=value, ...)".
    public var summary: String {
        parameters.isEmpty
            ? name : "\(name)(" + parameters.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + ")"
    }

    /// The usage of all `responses`, summed.
    func cost(_ responses: [Response]) -> Usage { responses.reduce(.zero) { $0 + $1.usage } }
}

/// A mode the registry can build from a config file.
public protocol RegisteredHarvestMode: HarvestMode {
    static var registryName: String { get }
    /// One line: what it harvests, and the surface or paper it follows.
    static var reference: String { get }
    static var parameterDocs: [ParameterDoc] { get }
    init(parameters: inout AttackParameters, environment: AttackEnvironment?) throws
}

extension RegisteredHarvestMode {
    public var name: String { Self.registryName }
}

public enum HarvestRegistry {
    /// Every mode, one line per kind, from the most to the least revealing surface.
    public static let kinds: [any RegisteredHarvestMode.Type] = [
        DistributionHarvest.self,  // distribution
        LogitBiasHarvest.self,  // logit_bias
        EchoHarvest.self,  // echo
        TopKHarvest.self,  // top_k
        CompletionHarvest.self,  // completion
        LabelHarvest.self,  // label
        AdaptiveHarvest.self,  // adaptive: pilot-tested, picks averaging, logit bias or plain
    ]

    public static var names: [String] { kinds.map { $0.registryName } }

    /// Builds one mode; throws `LabError.invalidConfig` for an unknown name, a bad value or an unknown key.
    /// `kinds`: the registry's own unless a caller adds its parts.
    public static func make(
        _ spec: HarvestSpec, environment: AttackEnvironment?, kinds: [any RegisteredHarvestMode.Type] = kinds
    ) throws -> any HarvestMode {
        guard let type = kinds.first(where: { $0.registryName == spec.name }) else {
            throw LabError.invalidConfig(
                key: "harvest",
                message:
                    "'\(spec.name)' is not a harvest mode; known: \(kinds.map { $0.registryName }.joined(separator: ", "))"
            )
        }
        var params = AttackParameters(spec)
        let mode = try type.init(parameters: &params, environment: environment)
        try params.finish()
        return mode
    }

    /// A Markdown table of every mode: name, reference, and each parameter with its default and meaning.
    public static var documentation: String { documentation(of: kinds) }

    public static func documentation(of kinds: [any RegisteredHarvestMode.Type]) -> String {
        partDocumentationTable(heading: "name", kinds.map { ($0.registryName, $0.reference, $0.parameterDocs) })
    }
}

/// The Markdown table the registries print: one row per parameter, the name and reference on the first.
/// The target a list of reported (token, logprob) entries makes; `complete` when all V are listed.
func target(position: Int, entries: [TokenLogprob], vocabularySize V: Int) -> PositionTarget {
    PositionTarget(
        position: position, tokens: entries.map(\.token), probabilities: entries.map { exp($0.logprob) },
        isComplete: Set(entries.map(\.token)).count == V)
}
