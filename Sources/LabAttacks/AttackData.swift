// AttackData: the text around an attack — the held-out windows fidelity is measured on (never shown to
// the attacker), held-out text for perplexity, task problems, and the attacker's own corpus for a given
// source (the teacher's train split, a fresh sample of the same source, or a related source).
// Not the attack: it only resolves text; strategies decide what to send.
import Foundation
import LabAPI
import LabCore
import LabData
import LabModel

/// Where an attacker's own text comes from.
public enum CorpusSource: Equatable, Sendable {
    /// The teacher's train split: public data the teacher was trained on.
    case train
    /// A new sample of the same source under the attacker's seed: for Markov a fresh run of the same
    /// chain, for grammar and tasks the same generator under another seed.
    case fresh
    /// A related source (Markov only): every context's next-symbol distribution is
    /// (1 − mix)·teacher source's + mix·another random chain's of the same shape; mix 0 is `fresh`.
    case related(mix: Double)
    /// The attacker's part of a text corpus split with `attacker_fraction`: disjoint from the teacher's
    /// train, validation and test text.
    case split
    /// A UTF-8 file of the attacker's, encoded with the teacher's tokenizer.
    case file(path: String)

    public var summary: String {
        switch self {
        case .train: return "train"
        case .fresh: return "fresh"
        case let .related(mix): return "related(mix=\(show(mix)))"
        case .split: return "split"
        case let .file(path): return "file:\(path)"
        }
    }
}

public struct AttackData {
    /// Windows the fidelity metrics are computed on, at every position: prompts the attacker never sees.
    public var heldOut: [[Int32]]
    /// Held-out text on which the student's perplexity is reported beside the teacher's (nil: skipped).
    public var testTokens: [Int]?
    /// The source's entropy rate in nats per token, where known exactly.
    public var entropyRate: Double?
    /// The tokenizer, needed to score `examples`.
    public var tokenizer: Tokenizer?
    /// Task problems scored by exact match (tasks corpora).
    public var examples: [TaskExample]?
    /// The attacker's own text for a source, under a seed.
    public var attackerText: (CorpusSource, UInt64) throws -> [Int32]

    public init(
        heldOut: [[Int32]], testTokens: [Int]? = nil, entropyRate: Double? = nil, tokenizer: Tokenizer? = nil,
        examples: [TaskExample]? = nil, attackerText: @escaping (CorpusSource, UInt64) throws -> [Int32]
    ) {
        self.heldOut = heldOut
        self.testTokens = testTokens
        self.entropyRate = entropyRate
        self.tokenizer = tokenizer
        self.examples = examples
        self.attackerText = attackerText
    }

    /// Held-out windows from `corpus`'s test split (the first `windows` non-overlapping ones of `length`
    /// tokens), its test text for perplexity, and attacker text resolved from `corpus` and `spec`.
    public init(corpus: Corpus, spec: CorpusSpec?, windows: Int, length: Int) throws {
        guard windows >= 1, length >= 1 else {
            throw LabError.invalidConfig(
                key: "evaluation.prompts", message: "needs at least one window of at least one token")
        }
        let test = corpus.test
        let available = test.count / length
        guard available >= 1 else {
            throw LabError.invalidConfig(
                key: "evaluation.length", message: "is \(length); the test split has only \(test.count) tokens")
        }
        let heldOut = (0..<min(windows, available)).map { w in test[(w * length)..<((w + 1) * length)].map { Int32($0) }
        }
        self.init(
            heldOut: heldOut, testTokens: test, entropyRate: corpus.entropyRate, tokenizer: corpus.tokenizer,
            examples: corpus.examples,
            attackerText: { source, seed in try AttackData.text(source, seed: seed, corpus: corpus, spec: spec) })
    }

    /// The attacker's text for `source` from a corpus: see `CorpusSource`.
    static func text(_ source: CorpusSource, seed: UInt64, corpus: Corpus, spec: CorpusSpec?) throws -> [Int32] {
        switch source {
        case .train:
            return corpus.train.map { Int32($0) }
        case .fresh:
            if let chain = corpus.markovSource {
                var rng = LabRNG(seed: seed, stream: "attacker-fresh")
                return chain.generate(count: corpus.train.count, rng: &rng).map { Int32($0 + 1) }
            }
            guard var other = spec, other.kind != .text else {
                throw LabError.invalidConfig(
                    key: "strategy.source",
                    message:
                        "'fresh' needs a generated corpus (markov, grammar or tasks) with its spec; use 'train' for a text corpus"
                )
            }
            var rng = LabRNG(seed: seed, stream: "attacker-fresh")
            other.seed = rng.next()
            let built = try other.build()
            guard built.tokenizer == corpus.tokenizer else {
                throw LabError.message(
                    "the fresh sample's tokenizer differs from the teacher's corpus; use source 'train'")
            }
            return built.train.map { Int32($0) }
        case .split:
            guard !corpus.attacker.isEmpty else {
                throw LabError.invalidConfig(
                    key: "strategy.source",
                    message:
                        "'split' needs a text corpus with an attacker part; set teacher.corpus.attacker_fraction (e.g. 0.45)"
                )
            }
            return corpus.attacker.map { Int32($0) }
        case let .file(path):
            return corpus.tokenizer.encode(try TextCorpus.read(path)).map { Int32($0) }
        case let .related(mix):
            guard let chain = corpus.markovSource, let spec, spec.kind == .markov else {
                throw LabError.invalidConfig(
                    key: "strategy.source",
                    message: "'related' is defined for markov corpora only; use 'fresh' or 'train'")
            }
            var rng = LabRNG(seed: seed, stream: "attacker-related")
            let other = try MarkovSource.random(
                symbolCount: chain.symbolCount, order: chain.order, concentration: spec.concentration, rng: &rng)
            let mixed = zip(chain.transitions, other.transitions).map { (1 - mix) * $0 + mix * $1 }
            let related = try MarkovSource(symbolCount: chain.symbolCount, order: chain.order, transitions: mixed)
            return related.generate(count: corpus.train.count, rng: &rng).map { Int32($0 + 1) }
        }
    }
}
