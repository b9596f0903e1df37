// The five trace policies: the whole trace, none of it, a deterministic summary, its first steps, and steps
// perturbed at random. Each follows a practice of reasoning-model APIs (named in `reference`); none of them
// changes the answer, so an honest user's answer accuracy is the same under every one.
import LabAPI
import LabCore

/// The whole trace, token for token, logprobs included.
public struct FullTrace: RegisteredTracePolicy {
    public static let registryName = "full"
    public static let reference = "the raw chain of thought, as open-weight reasoning models (DeepSeek-R1) return it"
    public static let parameterDocs: [ParameterDoc] = []
    public init(parameters: inout PartParameters) throws {}
    public init() {}
    public var parameters: [(key: String, value: String)] { [] }
    public var showsTeacherTokens: Bool { true }
    public func visibleSteps(_ steps: [[Int32]], format: TraceFormat, rng: inout LabRNG) -> [[Int32]]? { steps }
}

/// The answer only; the trace's tokens are still billed.
public struct HiddenTrace: RegisteredTracePolicy {
    public static let registryName = "hidden"
    public static let reference =
        "answer only, reasoning tokens billed as output (OpenAI o1/o3 `reasoning_tokens`; no logprobs inside the trace)"
    public static let parameterDocs: [ParameterDoc] = []
    public init(parameters: inout PartParameters) throws {}
    public init() {}
    public var parameters: [(key: String, value: String)] { [] }
    public func visibleSteps(_ steps: [[Int32]], format: TraceFormat, rng: inout LabRNG) -> [[Int32]]? { nil }
}

/// Every `every`-th step (the 1st, the (every+1)-th, …) and always the last one: a deterministic summary.
public struct SummarisedTrace: RegisteredTracePolicy {
    public static let registryName = "summary"
    public static let reference =
        "a summary instead of the raw trace (OpenAI reasoning summaries, Anthropic summarised thinking); here deterministic: a subset of the steps"
    public enum Declared {
        public static let every = PartParameter.int(
            "every", 2, valid: { (1...1_000).contains($0) }, "must be in 1...1000",
            meaning: "keep step i when i mod every = 0 (counting from 0), and the last step always")
        public static let lastOnly = PartParameter.bool(
            "last_only", false, meaning: "keep only the last step (overrides every)")
    }
    public static let parameterDocs = [Declared.every.doc, Declared.lastOnly.doc]
    public var every: Int
    public var lastOnly: Bool

    public init(every: Int = Declared.every.defaultValue, lastOnly: Bool = Declared.lastOnly.defaultValue) {
        self.every = every
        self.lastOnly = lastOnly
    }

    public init(parameters: inout PartParameters) throws {
        every = try parameters.read(Declared.every)
        lastOnly = try parameters.read(Declared.lastOnly)
    }

    public var parameters: [(key: String, value: String)] { [("every", String(every)), ("last_only", "\(lastOnly)")] }

    public func visibleSteps(_ steps: [[Int32]], format: TraceFormat, rng: inout LabRNG) -> [[Int32]]? {
        guard !steps.isEmpty else { return [] }
        if lastOnly { return [steps[steps.count - 1]] }
        return steps.indices.filter { $0 % every == 0 || $0 == steps.count - 1 }.map { steps[$0] }
    }
}

/// The first `steps` steps only.
public struct TruncatedTrace: RegisteredTracePolicy {
    public static let registryName = "truncated"
    public static let reference =
        "the trace cut after its first steps (a preview of the reasoning, as streamed UIs show)"
    public enum Declared {
        public static let steps = PartParameter.int(
            "steps", 1, valid: { (0...1_000).contains($0) }, "must be in 0...1000",
            meaning: "how many steps from the start are shown")
    }
    public static let parameterDocs = [Declared.steps.doc]
    public var steps: Int

    public init(steps: Int = Declared.steps.defaultValue) { self.steps = steps }

    public init(parameters: inout PartParameters) throws {
        steps = try parameters.read(Declared.steps)
    }

    public var parameters: [(key: String, value: String)] { [("steps", String(steps))] }

    public func visibleSteps(_ given: [[Int32]], format: TraceFormat, rng: inout LabRNG) -> [[Int32]]? {
        Array(given.prefix(steps))
    }
}

/// Each step, with probability `probability`, has one of its digits replaced by a different digit.
public struct NoisyTrace: RegisteredTracePolicy {
    public static let registryName = "noisy"
    public static let reference =
        "steps perturbed at random, a trace-poisoning defence in the spirit of antidistillation sampling (Savani et al. 2025) at the step level"
    public enum Declared {
        public static let probability = PartParameter.double(
            "probability", 0.3, valid: { (0...1).contains($0) }, "must be in [0, 1]",
            meaning: "chance that a step has one digit replaced by a different digit")
    }
    public static let parameterDocs = [Declared.probability.doc]
    public var probability: Double

    public init(probability: Double = Declared.probability.defaultValue) { self.probability = probability }

    public init(parameters: inout PartParameters) throws {
        probability = try parameters.read(Declared.probability)
    }

    public var parameters: [(key: String, value: String)] { [("probability", show(probability))] }

    public func visibleSteps(_ steps: [[Int32]], format: TraceFormat, rng: inout LabRNG) -> [[Int32]]? {
        steps.map { step in
            // One uniform draw per step whether or not it is perturbed, so the streams of later steps do not
            // depend on earlier outcomes.
            let u = rng.uniform(), pick = rng.next(), replacement = rng.next()
            let positions = step.indices.filter { format.digits.contains(step[$0]) }
            guard u < probability, !positions.isEmpty else { return step }
            var out = step
            let at = positions[Int(pick % UInt64(positions.count))]
            let old = format.digits.firstIndex(of: out[at])!
            out[at] = format.digits[(old + 1 + Int(replacement % 9)) % 10]
            return out
        }
    }
}
