// Antidistillation sampling (Savani et al. 2025, "Antidistillation Sampling") as a defence stage: every
// served distribution becomes softmax(log p_teacher / τ + λ·b), b the proxy student's penalty, so sampled
// completions poison a student trained on them. Not the penalty's arithmetic (AntiDistillationProxy.swift).
import Foundation
import LabAPI
import LabCore
import LabData
import LabModel

/// The paper's Algorithm 1: the next token is drawn from softmax(log p(· | c; θ_T) / τ + λ · b(· | c)),
/// where b (see `AntidistillationProxy`) is, to first order, how much a student trained on each
/// candidate token would raise its downstream loss.
///
/// Parameters (the paper's names):
/// - τ `temperature`: the teacher's sampling temperature, applied to its log-probabilities before the
///   penalty (1 leaves the teacher as it is).
/// - λ `lambda`: the penalty multiplier; λ = 0 with τ = 1 is plain sampling, larger λ poisons more and
///   costs the teacher's own quality more (the paper's trade-off curve sweeps λ).
/// - ε `epsilon`: the finite-difference step along the downstream-loss gradient g (see the proxy).
/// - the proxy student θ_P and its downstream data: `proxy` names a checkpoint directory; g is its
///   loss gradient on the first `target_tokens` tokens of the `target_split` of the corpus the proxy was
///   trained on (saved in the checkpoint). Without `proxy`, a randomly initialised one-layer GPT of the
///   teacher's vocabulary with loss on seeded random tokens stands in — enough for contract tests and
///   for the registry to build at its defaults, *not* a defence: name a trained proxy in an experiment.
///
/// Like `kgw`, the stage acts on every distribution the API serves, so completions are sampled from
/// the adjusted distribution and reported logprobs are the adjusted ones (reporting the clean
/// distribution beside poisoned text would let an attacker undo the penalty). Withheld tokens stay
/// withheld; the adjusted values are renormalised to the row's previous total. Rows with an empty
/// context get no penalty (the proxy has nothing to read).
public struct AntidistillationSampling: RegisteredDefence {
    public static let registryName = "antidistillation"
    public static let reference =
        "sample from softmax(log p/τ + λ·b), b a proxy student's finite-difference loss penalty — Savani et al. 2025"
    public enum Declared {
        public static let temperature = PartParameter.double(
            "temperature", 1, valid: { $0 > 0 }, "must be > 0 (1 leaves the teacher unchanged)",
            meaning: "τ, the teacher's temperature before the penalty")
        public static let lambda = PartParameter.double(
            "lambda", 1, "must be a finite number (0 turns the penalty off)",
            meaning: "λ, the penalty multiplier (0 with τ = 1: plain sampling)")
        public static let epsilon = PartParameter.double(
            "epsilon", 0.01, valid: { $0 > 0 }, "must be > 0 (the finite-difference step, e.g. 0.01)",
            meaning: "ε, the finite-difference step along the proxy's downstream-loss gradient")
        public static let proxy = PartParameter.string(
            "proxy", absent: "none (random stand-in)",
            meaning: "checkpoint directory of the proxy student θ_P (the teacher's vocabulary)")
        public static let targetSplit = PartParameter.choice(
            "target_split", Split.validation,
            meaning: "split of the proxy's corpus the downstream loss ℓ is measured on")
        public static let targetTokens = PartParameter.int(
            "target_tokens", 4096, atLeast: 2, meaning: "tokens of that split in ℓ")
        public static let proxySeed = PartParameter.uint64(
            "proxy_seed", 0, meaning: "seed of the random stand-in proxy and its tokens (used only without `proxy`)")
    }
    public static let parameterDocs = [
        Declared.temperature.doc, Declared.lambda.doc, Declared.epsilon.doc, Declared.proxy.doc,
        Declared.targetSplit.doc, Declared.targetTokens.doc, Declared.proxySeed.doc,
    ]

    public let temperature: Double
    public let lambda: Double
    public let proxy: AntidistillationProxy
    /// How the proxy was obtained, for `parameters`.
    private(set) var proxySource: (path: String?, split: String, tokens: Int, seed: UInt64)

    /// A stage around a built proxy (the programmatic route: experiments and tests that hold a GPT).
    public init(proxy: AntidistillationProxy, temperature: Double = 1, lambda: Double) throws {
        guard temperature > 0, temperature.isFinite else {
            throw LabError.invalidConfig(
                key: "defences.antidistillation.temperature",
                message: "is \(temperature); must be > 0 (1 leaves the teacher unchanged)")
        }
        guard lambda.isFinite else {
            throw LabError.invalidConfig(
                key: "defences.antidistillation.lambda",
                message: "is \(lambda); must be a finite number (0 turns the penalty off)")
        }
        self.proxy = proxy
        self.temperature = temperature
        self.lambda = lambda
        proxySource = (nil, "custom", 0, 0)
    }

    public init(parameters p: inout DefenceParameters, environment: DefenceEnvironment) throws {
        let tau = try p.read(Declared.temperature)
        let lambda = try p.read(Declared.lambda)
        let epsilon = try p.read(Declared.epsilon)
        let path = try p.read(Declared.proxy)
        let split = try p.read(Declared.targetSplit)
        let count = try p.read(Declared.targetTokens)
        let seed = try p.read(Declared.proxySeed)
        let model: GPT
        var windows: [[Int32]] = []
        if let path {
            let lm = try LanguageModel.load(from: URL(fileURLWithPath: path))
            guard lm.model.config.vocabularySize == environment.vocabularySize else {
                throw LabError.invalidConfig(
                    key: "defences.antidistillation.proxy",
                    message:
                        "\(path) has \(lm.model.config.vocabularySize) tokens; the teacher has \(environment.vocabularySize); the proxy must share its vocabulary"
                )
            }
            guard let spec = lm.corpusSpec else {
                throw LabError.invalidConfig(
                    key: "defences.antidistillation.proxy",
                    message:
                        "\(path) does not record the corpus it was trained on, so the downstream loss has no data; train the proxy with distill-lab train"
                )
            }
            let tokens = Array(try spec.build().tokens(split).prefix(count)).map(
                Int32.init)
            model = lm.model
            windows = Self.windows(tokens, length: model.config.contextLength + 1)
        } else {
            let config = GPTConfig(
                vocabularySize: environment.vocabularySize, contextLength: min(environment.contextLength, 64),
                width: 32,
                layers: 1, heads: 2)
            model = try GPT(config: config, seed: seed)
            var rng = LabRNG(seed: seed, stream: "antidistillation-stand-in-target")
            let tokens = (0..<count).map { _ in Int32(rng.int(below: environment.vocabularySize)) }
            windows = Self.windows(tokens, length: config.contextLength + 1)
        }
        let built: AntidistillationProxy
        do {
            built = try AntidistillationProxy(proxy: model, target: windows, epsilon: epsilon)
        } catch let LabError.invalidConfig(k, message) {
            throw LabError.invalidConfig(key: "defences.antidistillation.\(k)", message: message)
        }
        try self.init(proxy: built, temperature: tau, lambda: lambda)
        proxySource = (path, split.rawValue, count, seed)
    }

    /// Consecutive windows of `length` tokens overlapping by one (each target token is scored once): the
    /// shape `AntidistillationProxy` takes its downstream data in, with `length` = proxy context + 1.
    public static func windows(_ tokens: [Int32], length: Int) -> [[Int32]] {
        var out: [[Int32]] = []
        var start = 0
        while start + 1 < tokens.count {
            out.append(Array(tokens[start..<min(tokens.count, start + length)]))
            start += length - 1
        }
        return out
    }

    public var parameters: [(key: String, value: String)] {
        [
            ("temperature", show(temperature)), ("lambda", show(lambda)), ("epsilon", show(proxy.epsilon)),
            ("proxy", proxySource.path ?? (proxySource.split == "custom" ? "custom" : "none")),
            ("target_split", proxySource.split), ("target_tokens", String(proxySource.tokens)),
            ("proxy_seed", String(proxySource.seed)),
        ]
    }

    public func apply(to rows: inout [DistributionRow]) throws {
        guard let V = rows.first?.vocabularySize else { return }
        guard V == proxy.vocabularySize else {
            throw LabError.message(
                "the antidistillation proxy has \(proxy.vocabularySize) tokens, the teacher has \(V); train the proxy on the teacher's tokenizer"
            )
        }
        // λ = 0 and τ = 1 is the identity; skipping the proxy keeps it exact and free.
        let penalties = lambda == 0 ? [] : try proxy.penalties(contexts: rows.map(\.context))
        for r in rows.indices {
            let tokens = rows[r].reportedTokens.filter { rows[r].values[$0] > 0 }
            var total = 0.0
            for i in tokens { total += rows[r].values[i] }
            guard total > 0, total.isFinite else { continue }
            var mx = -Double.infinity
            var score = rows[r].values
            for i in tokens {
                score[i] = log(rows[r].values[i]) / temperature + (lambda == 0 ? 0 : lambda * penalties[r][i])
                mx = max(mx, score[i])
            }
            var sum = 0.0
            for i in tokens { sum += exp(score[i] - mx) }
            for i in tokens { rows[r].values[i] = total * exp(score[i] - mx) / sum }
        }
    }
}
