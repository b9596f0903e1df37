// Corpus: a tokenizer and three token streams (train / validation / test), plus what is known exactly
// about the source (entropy rate, task answers). It is plain data: how it was built lives in CorpusSpec.
import LabCore
import LabModel

/// The three splits every corpus has. Each is one long token stream; models sample windows from it.
public enum Split: String, Codable, CaseIterable, Sendable {
    case train, validation, test
}

/// One corpus, ready for training and evaluation.
public struct Corpus: Sendable, Equatable {
    /// A short identifier that spells the parameters, e.g. "markov-v16-k2-c0.3-s0".
    public var name: String
    public var tokenizer: Tokenizer
    public var train: [Int]
    public var validation: [Int]
    public var test: [Int]
    /// Nats per token of the source, when known exactly (Markov sources): the floor on any model's
    /// expected validation or test loss. Nil when only estimates exist (grammar, tasks, text).
    public var entropyRate: Double?
    /// For algorithmic tasks: the test split's problems, for exact-match scoring with
    /// `exactMatchAccuracy(examples:complete:)`. Nil for other kinds.
    public var examples: [TaskExample]?
    /// For Markov corpora: the true source, so the Bayes-optimal predictor can be evaluated.
    public var markovSource: MarkovSource?
    /// Text corpora split with `attacker_fraction`: the attacker's own text, disjoint from train, validation
    /// and test (the teacher never trains on it). Empty otherwise.
    public var attacker: [Int] = []
    /// Text corpora: the source's name, hash and size, recorded in checkpoints.
    public var origin: CorpusOrigin?

    public init(
        name: String, tokenizer: Tokenizer, train: [Int], validation: [Int], test: [Int],
        entropyRate: Double? = nil, examples: [TaskExample]? = nil, markovSource: MarkovSource? = nil
    ) {
        self.name = name
        self.tokenizer = tokenizer
        self.train = train
        self.validation = validation
        self.test = test
        self.entropyRate = entropyRate
        self.examples = examples
        self.markovSource = markovSource
    }

    /// UTF-8 bytes per token of `split`, for text corpora (nil otherwise): turns nats per token into bits per
    /// byte, the unit in which models with different tokenizers compare.
    public func bytesPerToken(_ split: Split) -> Double? {
        let tokens = self.tokens(split)
        guard origin != nil, !tokens.isEmpty else { return nil }
        return Double(tokenizer.decode(tokens).utf8.count) / Double(tokens.count)
    }

    /// The token stream of `split`.
    public func tokens(_ split: Split) -> [Int] {
        switch split {
        case .train: return train
        case .validation: return validation
        case .test: return test
        }
    }
}
