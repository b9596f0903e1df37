// TracePolicy: what a reasoning API shows of the teacher's thinking — the protocol every trace policy follows,
// its registry (one line per policy) and its section in config files. A policy reshapes the steps a client sees;
// it never changes the answer nor what is billed (ReasoningAPI bills every generated token, as providers do).
import LabAPI
import LabCore

/// One policy: from the teacher's steps to the steps the client sees.
public protocol TracePolicy {
    var name: String { get }
    /// Every parameter with its value, defaults included, in documentation order.
    var parameters: [(key: String, value: String)] { get }
    /// The steps shown, or nil to show no think block at all (answer only). `rng` is the server's stream for
    /// this completion; policies without randomness leave it alone.
    func visibleSteps(_ steps: [[Int32]], format: TraceFormat, rng: inout LabRNG) -> [[Int32]]?
    /// Whether the shown tokens are exactly the teacher's (then their logprobs may be reported); otherwise only
    /// the answer's positions carry logprobs and top-k alternatives.
    var showsTeacherTokens: Bool { get }
}

extension TracePolicy {
    public var showsTeacherTokens: Bool { false }

    /// "name(key=value, ...)".
    public var summary: String {
        parameters.isEmpty
            ? name : "\(name)(" + parameters.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + ")"
    }
}

/// A policy the registry can build from a config file.
public protocol RegisteredTracePolicy: TracePolicy {
    static var registryName: String { get }
    /// One line: what it does, and the provider practice or paper it follows.
    static var reference: String { get }
    static var parameterDocs: [ParameterDoc] { get }
    init(parameters: inout PartParameters) throws
}

extension RegisteredTracePolicy {
    public var name: String { Self.registryName }
}

/// `trace_policy:` in a config file: `hidden`, or `{summary: {every: 2}}`.
public enum TracePolicySection: SpecSection {
    public static let key = "trace_policy"
}

public typealias TracePolicySpec = NamedSpec<TracePolicySection>

public enum TracePolicyRegistry {
    /// Every trace policy, one line each, from the most to the least revealing.
    public static let kinds: [any RegisteredTracePolicy.Type] = [
        FullTrace.self,  // full
        SummarisedTrace.self,  // summary
        TruncatedTrace.self,  // truncated
        NoisyTrace.self,  // noisy
        HiddenTrace.self,  // hidden
    ]

    public static var names: [String] { kinds.map { $0.registryName } }

    /// Builds one policy; an unknown name, a bad value or an unknown key is `LabError.invalidConfig` naming it.
    public static func make(_ spec: TracePolicySpec, kinds: [any RegisteredTracePolicy.Type] = kinds) throws
        -> any TracePolicy
    {
        guard let type = kinds.first(where: { $0.registryName == spec.name }) else {
            throw LabError.invalidConfig(
                key: "\(TracePolicySection.key).\(spec.name)",
                message: "unknown trace policy; known: \(kinds.map { $0.registryName }.joined(separator: ", "))")
        }
        var parameters = PartParameters(spec)
        let policy = try type.init(parameters: &parameters)
        try parameters.finish()
        return policy
    }

    /// A Markdown table of every policy: name, reference, each parameter with its default and meaning.
    public static var documentation: String {
        partDocumentationTable(
            heading: "trace policy", kinds.map { ($0.registryName, $0.reference, $0.parameterDocs) })
    }
}
