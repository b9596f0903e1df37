// Logit-bias reconstruction (Carlini et al. 2024, "Stealing Part of a Production Language Model", §5):
// from an API that returns only top-k logprobs, rebuild the full next-token distribution by biasing a
// block of k − 1 tokens plus a reference token by B, so all k land in the top-k, and reading each
// block token's logit relative to the reference: log p'ᵢ − log p'_ref = zᵢ − z_ref (the bias and the
// normaliser cancel). ⌈(V − 1)/(k − 1)⌉ queries per position. Not the SVD that finds the hidden width.
import Foundation
import LabAPI
import LabCore

public struct LogitBiasHarvest: RegisteredHarvestMode {
    public static let registryName = "logit_bias"
    public static let reference =
        "full distributions rebuilt from top-k answers with logit bias, ⌈(V−1)/(k−1)⌉ queries per position (Carlini et al. 2024)"
    public enum Declared {
        public static let k = PartParameter.int(
            "k", 5, valid: { $0 >= 2 }, "must be at least 2: one slot holds the reference token",
            meaning: "top logprobs per answer; each query recovers k − 1 new tokens")
        public static let bias = PartParameter.double(
            "bias", 100, valid: { $0 > 0 && $0.isFinite }, "must be a positive finite logit offset",
            meaning: "B, added to the k biased logits; must lift them above every other token (OpenAI caps |B| at 100)")
        /// Below the vocabulary size too, which only the environment knows.
        public static let reference = PartParameter.int(
            "reference", 0, valid: { $0 >= 0 }, "must be a token id",
            meaning: "the token every query biases too, against which the others are read")
    }
    public static let parameterDocs = [Declared.k.doc, Declared.bias.doc, Declared.reference.doc]
    public let k: Int
    public let bias: Float
    public let referenceToken: Int32

    public init(
        k: Int = Declared.k.defaultValue, bias: Float = Float(Declared.bias.defaultValue),
        referenceToken: Int32 = Int32(Declared.reference.defaultValue)
    ) {
        self.k = k
        self.bias = bias
        self.referenceToken = referenceToken
    }

    public init(parameters p: inout AttackParameters, environment: AttackEnvironment?) throws {
        let k = try p.read(Declared.k)
        let b = try p.read(Declared.bias)
        let r = try p.read(Declared.reference)
        if let env = environment {
            try checkLogprobs(k, key: p.key("k"), environment: env)
            guard r < env.vocabularySize else {
                throw LabError.invalidConfig(
                    key: p.key("reference"), message: "is \(r); the vocabulary is 0..<\(env.vocabularySize)")
            }
            switch env.policy.logitBias {
            case .allowed: break
            case let .capped(cap) where Float(b) <= cap: break
            case let .capped(cap):
                throw LabError.invalidConfig(
                    key: p.key("bias"),
                    message: "is \(show(b)); the API refuses biases above ±\(cap) (policy logit_bias_cap)")
            case .refused, .refusedWithLogprobs:
                throw LabError.invalidConfig(
                    key: "harvest",
                    message:
                        "logit_bias needs logit bias together with logprobs, which the API's policy refuses; choose another harvest mode"
                )
            }
        }
        self.init(k: k, bias: Float(b), referenceToken: Int32(r))
    }

    public var parameters: [(key: String, value: String)] {
        [("k", String(k)), ("bias", show(Double(bias))), ("reference", String(referenceToken))]
    }
    public var coverage: TargetCoverage { .last }
    public func maxPromptLength(contextLength: Int) -> Int { contextLength - 1 }

    public func queries(for prompt: [Int32], vocabularySize V: Int) -> [Query] {
        let others = (0..<Int32(V)).filter { $0 != referenceToken }
        return stride(from: 0, to: others.count, by: k - 1).map { start in
            var bias: [Int: Float] = [Int(referenceToken): self.bias]
            for t in others[start..<min(others.count, start + k - 1)] { bias[Int(t)] = self.bias }
            return .completion(prompt, maxNewTokens: 1, temperature: 0, logprobs: k, logitBias: bias)
        }
    }

    /// Logits relative to the reference from every answer; softmax over them when all V came back.
    /// Tokens a defence kept out of an answer (or an answer without the reference) stay unknown, and the
    /// target then lists the recovered tokens renormalised among themselves, marked incomplete.
    public func record(prompt: [Int32], responses: [Response], vocabularySize V: Int) -> HarvestRecord {
        var relative: [Int32: Double] = [:]
        for (q, r) in zip(queries(for: prompt, vocabularySize: V), responses) {
            guard let entries = r.topLogprobs.first,
                let ref = entries.first(where: { $0.token == referenceToken })?.logprob, ref.isFinite
            else { continue }
            relative[referenceToken] = 0
            for e in entries where q.logitBias[Int(e.token)] != nil && e.logprob.isFinite {
                relative[e.token] = e.logprob - ref
            }
        }
        guard !relative.isEmpty else {
            return HarvestRecord(text: prompt, promptLength: prompt.count, targets: [], usage: cost(responses))
        }
        let tokens = relative.keys.sorted {
            relative[$0]! > relative[$1]! || (relative[$0]! == relative[$1]! && $0 < $1)
        }
        let top = relative[tokens[0]]!
        let e = tokens.map { exp(relative[$0]! - top) }
        let sum = e.reduce(0, +)
        let target = PositionTarget(
            position: prompt.count - 1, tokens: tokens, probabilities: e.map { $0 / sum }, isComplete: tokens.count == V
        )
        return HarvestRecord(text: prompt, promptLength: prompt.count, targets: [target], usage: cost(responses))
    }
}
