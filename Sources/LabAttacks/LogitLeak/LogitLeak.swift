// LogitLeak: the logit-leak stealing attack of Carlini et al. 2024 ("Stealing Part of a Production
// Language Model", §4 hidden-dimension and layer extraction, §5 logits from top-k logprobs plus logit bias).
// Not a distillation attack (no student is trained) and not the paper's logprob-free binary search (§6).
import Foundation
import LabAPI
import LabCore
import LabModel

/// How the attacker turns API answers into full next-token logit vectors.
public enum LogitLeakMode: String, Codable, CaseIterable, Sendable {
    /// One `distribution` query per vector: all V log-probabilities (the leakiest surface).
    case full
    /// Carlini et al. §5: completion queries with k top logprobs and a logit bias B on a block of k tokens
    /// (a fixed reference token R and k − 1 others). When B lifts the block above every unbiased token, the
    /// top k are exactly the block, and logprob(i) − logprob(R) = z_i − z_R, the logit of i relative to R.
    /// ⌈(V − 1)/(k − 1)⌉ queries per vector.
    case topKBias = "topk-bias"
    /// Completion queries with k top logprobs and no bias: k of V entries per vector; the other V − k are
    /// only bounded above by the k-th, and are filled with it. One query per vector.
    case topK = "topk"
}

/// Everything the attacker chooses. Defaults: Carlini et al.'s setting scaled down — top-20 logprobs (the
/// OpenAI cap) and a bias of 100 (the OpenAI bias cap).
public struct LogitLeakOptions: Codable, Equatable, Sendable {
    public var mode: LogitLeakMode = .full
    /// n, logit vectors harvested (one random prompt each). The gap shows only if n exceeds the hidden
    /// width d, which the attacker does not know: take n well above any plausible d, and check that the
    /// estimate does not move when n grows (Carlini et al. Fig. 2).
    public var vectors: Int = 256
    /// Tokens per random prompt, each uniform over the vocabulary.
    public var promptLength: Int = 8
    /// k, top logprobs asked per query in the top-k modes; the API refuses k above its policy's cap.
    public var topK: Int = 20
    /// B, the logit bias put on each token of a block (topk-bias). It must exceed the teacher's logit range
    /// for the block to fill the top k; entries that still miss the top k are counted as unrecovered.
    public var bias: Float = 100
    /// R, the token every topk-bias query biases alongside its block, so each answer relates its block to R.
    public var referenceToken: Int = 0
    /// Queries sent per API call (the ledger admits each call whole or not at all).
    public var batchSize: Int = 64
    /// Seeds the prompts.
    public var seed: UInt64 = 0

    public init(mode: LogitLeakMode = .full, vectors: Int = 256, seed: UInt64 = 0) {
        self.mode = mode
        self.vectors = vectors
        self.seed = seed
    }

    enum CodingKeys: String, CodingKey {
        case mode, vectors, promptLength = "prompt_length", topK = "top_k", bias, referenceToken = "reference_token"
        case batchSize = "batch_size", seed
    }

    /// API queries spent on one vector over a vocabulary of V tokens.
    public func queriesPerVector(vocabularySize V: Int) -> Int {
        switch mode {
        case .full, .topK: return 1
        case .topKBias: return (V - 1 + topK - 2) / (topK - 1)
        }
    }

    /// Throws `LabError.invalidConfig` naming the first option that cannot work against a teacher with
    /// `vocabularySize` tokens and `contextLength` positions.
    public func validate(vocabularySize V: Int, contextLength T: Int) throws {
        func check(_ ok: Bool, _ key: String, _ message: @autoclosure () -> String) throws {
            if !ok { throw LabError.invalidConfig(key: key, message: message()) }
        }
        try check(
            vectors >= 2, "vectors",
            "is \(vectors); the SVD needs at least 2 logit vectors (and more than the hidden width)")
        try check(promptLength >= 1, "prompt_length", "is \(promptLength); a prompt needs at least one token")
        // Completions generate one token, which must fit in the context too.
        let room = mode == .full ? T : T - 1
        try check(
            promptLength <= room, "prompt_length",
            "is \(promptLength); the teacher's context of \(T) leaves room for \(room)")
        try check(batchSize >= 1, "batch_size", "is \(batchSize); must be at least 1")
        switch mode {
        case .full: break
        case .topK: try check(topK >= 1, "top_k", "is \(topK); must be at least 1")
        case .topKBias:
            try check(
                topK >= 2, "top_k",
                "is \(topK); topk-bias needs k ≥ 2 (the reference token plus at least one more per query)")
            try check(
                bias > 0 && bias.isFinite, "bias",
                "is \(bias); must be a positive finite logit bias (Carlini et al. use the API's cap)")
            try check((0..<V).contains(referenceToken), "reference_token", "is \(referenceToken); must be in 0..<\(V)")
        }
    }
}

/// The stacked vectors an attack bought, and what they cost.
public struct LogitHarvest: Sendable {
    public let mode: LogitLeakMode
    /// n, rows of `matrix`.
    public let vectors: Int
    public let vocabularySize: Int
    /// (n, V) row-major: each row the recovered logits with its mean subtracted. Log-probabilities (and
    /// logits relative to a reference token) differ from the logits W·h by a per-row constant, which
    /// would add up to one to the rank; subtracting the row mean removes it exactly, leaving (I − 11ᵀ/V)·W·h,
    /// still of rank ≤ C. The price: W is recoverable only up to a constant added to each of its columns.
    public var matrix: [Double]
    /// Entries the answers did not determine (withheld by top-k, rounded to probability 0, or a biased
    /// token that missed the top k), filled with the smallest recovered logit of their row before centring.
    public let unrecoveredEntries: Int
    /// The ledger's figures for every query of the harvest, summed.
    public let usage: Usage
}

/// The hidden width the spectrum points at, by Carlini et al.'s rule (Algorithm 1): the number of
/// singular values above the largest multiplicative gap between neighbours.
public struct WidthEstimate: Codable, Equatable, Sendable {
    /// d̂: the index i maximising ln s_i − ln s_{i+1} (1-based), among the first m singular values.
    public var width: Int
    /// ln(s_d̂ / s_d̂+1), the gap found.
    public var logGap: Double
    /// The largest of the other gaps: a sharp answer has logGap ≫ runnerUpLogGap.
    public var runnerUpLogGap: Double
    /// m = min(n, V − 1): the singular values the rule searched. Centred rows are orthogonal to the
    /// all-ones vector, so an (n, V) matrix has at most V − 1 nonzero ones; the structural zero is skipped.
    public var searched: Int
    /// True when the gap is at the end of the searched spectrum: the vectors may not outnumber the width;
    /// harvest more.
    public var saturated: Bool
    /// A second opinion, not Carlini et al.'s: the number of singular values above the Gavish–Donoho hard
    /// threshold ω(β)·median(s) for noise of unknown level (Gavish & Donoho 2014, "The Optimal Hard
    /// Threshold for Singular Values is 4/√3"; β = m / max(n, V − 1) the aspect ratio). It counts every
    /// direction that stands out of the noise bulk, however unevenly the signal's own spectrum falls, but
    /// it reads the noise level off the median singular value, so it holds only while d < m/2.
    public var bulkEdgeWidth: Int

    enum CodingKeys: String, CodingKey {
        case width, logGap = "log_gap", runnerUpLogGap = "runner_up_log_gap", searched, saturated, bulkEdgeWidth =
            "bulk_edge_width"
    }
}

/// How close the recovered projection is to the teacher's.
public struct ProjectionAlignment: Codable, Equatable, Sendable {
    /// d, the width of the recovered projection (the estimate's).
    public var width: Int
    /// min over G (d, C) and c (C) of ‖Ŵ·G + 1·cᵀ − W‖_F / ‖W‖_F: the headline error. The constant column
    /// is the per-row constant every logprob surface hides (see `LogitHarvest.matrix`).
    public var rmsError: Double
    /// min over G of ‖Ŵ·G − W‖_F / ‖W‖_F, without the constant: bounded below by the share of W's norm in
    /// its column means, which centred logits cannot see.
    public var linearRMSError: Double

    enum CodingKeys: String, CodingKey {
        case width, rmsError = "rms_error", linearRMSError = "linear_rms_error"
    }
}

/// One run's report.
public struct LogitLeakResult: Codable, Equatable, Sendable {
    public var options: LogitLeakOptions
    public var vocabularySize: Int
    public var estimate: WidthEstimate
    /// The whole spectrum, descending (min(n, V) values).
    public var singularValues: [Double]
    /// The ledger's figures for the harvest.
    public var usage: Usage
    public var queriesPerVector: Int
    public var unrecoveredEntries: Int
    /// The teacher's width C when the caller knew it (a lab teacher); nil against a black box.
    public var trueWidth: Int?
    /// Against the teacher's wte when the caller gave it.
    public var alignment: ProjectionAlignment?

    /// Whether the estimate is exactly the true width (nil when that is unknown).
    public var widthFound: Bool? { trueWidth.map { $0 == estimate.width } }

    enum CodingKeys: String, CodingKey {
        case options, vocabularySize = "vocab_size", estimate, singularValues = "singular_values", usage
        case queriesPerVector = "queries_per_vector", unrecoveredEntries = "unrecovered_entries"
        case trueWidth = "true_width", alignment
    }
}

/// A teacher's output projection W = wte, (V, C) row-major in Double: the truth an attack is scored against.
public struct OutputProjection: Sendable {
    public let values: [Double]
    public let vocabularySize: Int
    public let width: Int

    public init(values: [Double], vocabularySize: Int, width: Int) {
        precondition(
            values.count == vocabularySize * width,
            "OutputProjection: \(values.count) values for (\(vocabularySize), \(width))")
        self.values = values
        self.vocabularySize = vocabularySize
        self.width = width
    }

    /// The tied unembedding of `model`: logits = ln_f(x) · wteᵀ with no bias, so W = wte.
    public init(model: GPT) {
        let c = model.config
        let p = model.parameters.pointer + model.layout.tokenEmbedding
        self.init(
            values: (0..<(c.vocabularySize * c.width)).map { Double(p[$0]) }, vocabularySize: c.vocabularySize,
            width: c.width)
    }
}

/// The attack, start to finish: `LogitLeakAttack(options).run(against: api, account: "attacker")`.
public struct LogitLeakAttack: Sendable {
    public var options: LogitLeakOptions

    public init(_ options: LogitLeakOptions = LogitLeakOptions()) { self.options = options }

    /// Harvests through `api` (every query through its policy, defences and ledger, charged to `account`),
    /// then estimates the width and, when `truth` is given, scores the recovered projection against it.
    /// Throws `APIRefusal` when the API refuses a query (e.g. logit bias with logprobs) or the budget runs
    /// out, and `LabError.invalidConfig` for options the teacher cannot serve.
    public func run(against api: DefendedAPI, account: String, truth: OutputProjection? = nil) throws -> LogitLeakResult
    {
        let harvest = try LogitLeak.harvest(api: api, account: account, options: options)
        let spectrum = try LogitLeak.spectrum(of: harvest)
        let estimate = LogitLeak.estimateWidth(
            singularValues: spectrum.singularValues, vectors: harvest.vectors, vocabularySize: harvest.vocabularySize)
        var alignment: ProjectionAlignment?
        if let truth {
            guard truth.vocabularySize == harvest.vocabularySize else {
                throw LabError.invalidConfig(
                    key: "truth",
                    message: "has \(truth.vocabularySize) rows; the teacher's vocabulary has \(harvest.vocabularySize)")
            }
            alignment = LogitLeak.align(spectrum: spectrum, width: estimate.width, truth: truth)
        }
        return LogitLeakResult(
            options: options, vocabularySize: harvest.vocabularySize, estimate: estimate,
            singularValues: spectrum.singularValues, usage: harvest.usage,
            queriesPerVector: options.queriesPerVector(vocabularySize: harvest.vocabularySize),
            unrecoveredEntries: harvest.unrecoveredEntries, trueWidth: truth?.width, alignment: alignment)
    }
}

/// The attack's steps one by one, for experiments that look inside: `harvest`, `spectrum`,
/// `estimateWidth`, `recoveredProjection`, `align`.
public enum LogitLeak {}
