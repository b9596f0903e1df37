// MarkovCorpus: a corpus drawn from a random MarkovSource, with its exact entropy rate attached.
// The chain and each split come from separate seeded streams; nothing here estimates anything.
import LabCore
import LabModel

/// Builds `kind: markov` corpora. Symbol s is the character `alphabet[s]` and token id s + 1: the
/// tokenizer is character-level over exactly the V symbols, with <unk> at id 0 (so the model vocabulary
/// is V + 1). <unk> never occurs in the data; a model that learns anything gives it vanishing mass.
///
/// The corpus's `entropyRate` is the source's, in nats per token: the floor on the expected per-token
/// loss of any model on these splits, which no model (the true chain included) can beat on average.
enum MarkovCorpus {
    static let alphabet: [Character] = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

    static func build(_ spec: CorpusSpec) throws -> Corpus {
        var chainRNG = spec.rng("chain")
        let source = try MarkovSource.random(
            symbolCount: spec.symbols, order: spec.order, concentration: spec.concentration, rng: &chainRNG)
        let tokenizer = try Tokenizer(kind: .character, symbols: alphabet.prefix(spec.symbols).map { String($0) })
        // Each split is an independent stationary run, so its statistics are those of the entropy rate
        // from its first token, and the test split does not depend on how long train is.
        func split(_ split: Split) -> [Int] {
            var rng = spec.rng(split.rawValue)
            return source.generate(count: spec.tokens(split), rng: &rng).map { $0 + 1 }
        }
        return Corpus(
            name: "markov-v\(spec.symbols)-k\(spec.order)-c\(spec.concentration)-s\(spec.seed)",
            tokenizer: tokenizer,
            train: split(.train), validation: split(.validation), test: split(.test),
            entropyRate: source.entropyRate,
            markovSource: source
        )
    }
}
