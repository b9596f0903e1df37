// Completion harvest: sampled continuations of each prompt — the text the student then imitates token by
// token, which is sequence-level distillation (Kim & Rush 2016) when the loss is hard. With `logprobs`
// > 0 the top-k at each generated position is kept instead of the bare sample (OpenAI's `top_logprobs`).
import LabAPI
import LabCore

public struct CompletionHarvest: RegisteredHarvestMode {
    public static let registryName = "completion"
    public static let reference =
        "sampled continuations (Kim & Rush 2016 sequence-level KD); optional top-k logprobs per generated token"
    public enum Declared {
        public static let maxNewTokens = PartParameter.int(
            "max_new_tokens", 16, atLeast: 1, meaning: "tokens generated per prompt")
        public static let temperature = PartParameter.double(
            "temperature", 1, valid: { $0 >= 0 && $0.isFinite }, "must be 0 (greedy) or positive",
            meaning: "sampling temperature (0: greedy, Kim & Rush's beam-of-one)")
        public static let logprobs = PartParameter.int(
            "logprobs", 0, valid: { $0 >= 0 }, "must be 0 (samples only) or a positive k",
            meaning: "0 keeps the sampled tokens only; k > 0 keeps the top-k logprobs at each generated position")
    }
    public static let parameterDocs = [Declared.maxNewTokens.doc, Declared.temperature.doc, Declared.logprobs.doc]
    public let maxNewTokens: Int
    public let temperature: Float
    public let logprobs: Int

    public init(
        maxNewTokens: Int = Declared.maxNewTokens.defaultValue,
        temperature: Float = Float(Declared.temperature.defaultValue), logprobs: Int = Declared.logprobs.defaultValue
    ) {
        self.maxNewTokens = maxNewTokens
        self.temperature = temperature
        self.logprobs = logprobs
    }

    public init(parameters p: inout AttackParameters, environment: AttackEnvironment?) throws {
        let m = try p.read(Declared.maxNewTokens)
        let t = try p.read(Declared.temperature)
        let k = try p.read(Declared.logprobs)
        if let env = environment {
            guard m < env.contextLength else {
                throw LabError.invalidConfig(
                    key: p.key("max_new_tokens"),
                    message:
                        "is \(m); with the teacher's context of \(env.contextLength) a prompt needs at least one position, so at most \(env.contextLength - 1)"
                )
            }
            if k > 0 { try checkLogprobs(k, key: p.key("logprobs"), environment: env) }
        }
        self.init(maxNewTokens: m, temperature: Float(t), logprobs: k)
    }

    public var parameters: [(key: String, value: String)] {
        [
            ("max_new_tokens", String(maxNewTokens)), ("temperature", show(Double(temperature))),
            ("logprobs", String(logprobs)),
        ]
    }
    public var coverage: TargetCoverage { .every }
    public func maxPromptLength(contextLength: Int) -> Int { contextLength - maxNewTokens }

    public func queries(for prompt: [Int32], vocabularySize: Int) -> [Query] {
        [
            .completion(
                prompt, maxNewTokens: maxNewTokens, temperature: temperature, logprobs: logprobs > 0 ? logprobs : nil)
        ]
    }

    public func record(prompt: [Int32], responses: [Response], vocabularySize V: Int) -> HarvestRecord {
        guard let r = responses.first else {
            return HarvestRecord(text: prompt, promptLength: prompt.count, targets: [], usage: .zero)
        }
        let n = prompt.count
        var targets: [PositionTarget] = []
        for (i, token) in r.tokens.enumerated() {
            if logprobs > 0, i < r.topLogprobs.count, !r.topLogprobs[i].isEmpty {
                targets.append(target(position: n - 1 + i, entries: r.topLogprobs[i], vocabularySize: V))
            } else {
                targets.append(.oneHot(position: n - 1 + i, token: token))
            }
        }
        // The last generated token is a target, never an input: the text stops before it.
        let text = prompt + r.tokens.dropLast()
        return HarvestRecord(text: text, promptLength: n, targets: targets, usage: cost(responses))
    }
}
