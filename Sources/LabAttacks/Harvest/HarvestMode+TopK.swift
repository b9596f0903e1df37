// Top-k logprob harvest: a one-token greedy completion per prompt with `logprobs: k`, keeping the k most
// likely (token, logprob) pairs at the position after the prompt — OpenAI's `top_logprobs` surface, the
// starting point of Carlini et al. 2024 and Finlayson et al. 2024. The drawn token itself is not kept.
import LabAPI
import LabCore

public struct TopKHarvest: RegisteredHarvestMode {
    public static let registryName = "top_k"
    public static let reference = "the k most likely tokens and their logprobs after each prompt (`top_logprobs`)"
    public enum Declared {
        public static let k = PartParameter.int(
            "k", 5, atLeast: 1, meaning: "entries asked for per position (at most the API's `max_logprobs`)")
    }
    public static let parameterDocs = [Declared.k.doc]
    public let k: Int

    public init(k: Int = Declared.k.defaultValue) { self.k = k }

    public init(parameters p: inout AttackParameters, environment: AttackEnvironment?) throws {
        k = try p.read(Declared.k)
        if let env = environment { try checkLogprobs(k, key: p.key("k"), environment: env) }
    }

    public var parameters: [(key: String, value: String)] { [("k", String(k))] }
    public var coverage: TargetCoverage { .last }
    public func maxPromptLength(contextLength: Int) -> Int { contextLength - 1 }

    public func queries(for prompt: [Int32], vocabularySize: Int) -> [Query] {
        [.completion(prompt, maxNewTokens: 1, temperature: 0, logprobs: k)]
    }

    public func record(prompt: [Int32], responses: [Response], vocabularySize V: Int) -> HarvestRecord {
        let entries = responses.first?.topLogprobs.first ?? []
        let targets = entries.isEmpty ? [] : [target(position: prompt.count - 1, entries: entries, vocabularySize: V)]
        return HarvestRecord(text: prompt, promptLength: prompt.count, targets: targets, usage: cost(responses))
    }
}

/// Throws when the API would refuse `k` top logprobs, naming the key and the cap.
func checkLogprobs(_ k: Int, key: String, environment env: AttackEnvironment) throws {
    guard k <= env.policy.maxLogprobs else {
        throw LabError.invalidConfig(
            key: key,
            message:
                "is \(k); the API returns at most \(env.policy.maxLogprobs) top logprobs per position (policy max_logprobs)"
        )
    }
    guard k <= env.vocabularySize else {
        throw LabError.invalidConfig(key: key, message: "is \(k); the vocabulary has only \(env.vocabularySize) tokens")
    }
}
