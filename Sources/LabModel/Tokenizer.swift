// Tokenizer: character-level (grapheme clusters), word-level and byte-level BPE vocabularies with a reserved
// <unk> at id 0. Character and word vocabularies are plain symbol lists a researcher can read line by line;
// BPE (BytePairEncoding, for real text) is saved in Hugging Face's tokenizer.json format. No normalization.
import LabCore

/// Maps text to token ids and back. Id 0 is always `<unk>`; every other id is one symbol.
///
/// - Character level: one token per `Character` (extended grapheme cluster), so any UTF-8 text works,
///   emoji and combining marks included. Decoding concatenates symbols.
/// - Word level: text is split on whitespace, and every punctuation or symbol character becomes a token
///   of its own ("dog." → "dog", "."). Decoding joins tokens with single spaces, so the original spacing
///   is not recovered; that is the price of a word vocabulary.
///
/// Symbols compare by Swift's `String` equality (canonical equivalence): "é" precomposed and "e" plus a
/// combining accent are one symbol, and decoding writes the spelling stored in the vocabulary.
public struct Tokenizer: Sendable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case character = "char"
        case word = "word"
        /// Byte-level BPE (GPT-2's pre-tokenizer and byte alphabet), learned by `BytePairEncoding.train`.
        case bpe = "bpe"
    }

    /// The reserved unknown token's spelling, written into tokenizer.json and produced by `decode` for id 0.
    public static let unknownToken = "<unk>"
    /// The reserved unknown token's id.
    public static let unknownID = 0
    /// The file name checkpoints use for the vocabulary.
    public static let fileName = "tokenizer.json"

    public let kind: Kind
    /// Every symbol in id order, `<unk>` first: `vocabulary[id]` is the spelling of `id`.
    public let vocabulary: [String]
    /// String-keyed lookup; canonical-equivalent spellings share one entry.
    let ids: [String: Int]
    /// The merges and token bytes of a `.bpe` tokenizer (whose `vocabulary` holds byte-level spellings).
    public let bytePairEncoding: BytePairEncoding?

    /// A tokenizer over an explicit symbol list, for sources whose alphabet is known in advance
    /// (Markov symbols, grammar words, task characters). `symbols` gets ids 1, 2, ... in the order
    /// given; `<unk>` is added at id 0 and must not be listed.
    ///
    /// Throws `LabError.invalidConfig(key: "symbols", ...)` for an empty or duplicated symbol, a
    /// character-level symbol that is not exactly one `Character`, or a word-level symbol that contains
    /// whitespace (it could never be produced by splitting).
    public init(kind: Kind, symbols: [String]) throws {
        var ids: [String: Int] = [Self.unknownToken: Self.unknownID]
        for (offset, symbol) in symbols.enumerated() {
            // Named by id, which is also its index in tokenizer.json's "vocab" list.
            let position = "symbol \(Self.quoted(symbol)) (id \(offset + 1))"
            if symbol == Self.unknownToken {
                throw LabError.invalidConfig(
                    key: "symbols",
                    message: "\(position) is the reserved unknown token; it always has id 0 and is added automatically")
            }
            if symbol.isEmpty {
                throw LabError.invalidConfig(key: "symbols", message: "\(position) is empty")
            }
            switch kind {
            case .character where symbol.count != 1:
                throw LabError.invalidConfig(
                    key: "symbols",
                    message:
                        "\(position) is \(symbol.count) characters; a character-level symbol is exactly one character")
            case .word where symbol.contains(where: \.isWhitespace):
                throw LabError.invalidConfig(
                    key: "symbols",
                    message:
                        "\(position) contains whitespace; word-level symbols are split on whitespace and could never be produced"
                )
            default: break
            }
            if let earlier = ids[symbol] {
                throw LabError.invalidConfig(
                    key: "symbols", message: "\(position) repeats the symbol that already has id \(earlier)")
            }
            ids[symbol] = offset + 1
        }
        guard kind != .bpe else {
            throw LabError.invalidConfig(
                key: "symbols", message: "a BPE vocabulary comes from merges; build it with Tokenizer.bytePairEncoding")
        }
        self.kind = kind
        self.vocabulary = [Self.unknownToken] + symbols
        self.ids = ids
        self.bytePairEncoding = nil
    }

    /// A byte-level BPE tokenizer: id 0 is `<unk>` (never produced), then the tokens of `model` by id,
    /// spelled with GPT-2's byte-to-unicode alphabet as tokenizer.json writes them.
    public init(bytePairEncoding model: BytePairEncoding) {
        var vocabulary: [String] = []
        var ids: [String: Int] = [:]
        for (id, bytes) in model.tokens.enumerated() {
            let spelling =
                bytes.map(ByteLevel.spelling(of:)) ?? (id == Self.unknownID ? Self.unknownToken : "<reserved-\(id)>")
            vocabulary.append(spelling)
            if ids[spelling] == nil { ids[spelling] = id }
        }
        self.kind = .bpe
        self.vocabulary = vocabulary
        self.ids = ids
        self.bytePairEncoding = model
    }

    /// A byte-level BPE tokenizer learned on `text` (see `BytePairEncoding.train`): `vocabularySize` counts
    /// `<unk>` and the 256 bytes, so it is at least 257.
    public static func bytePairEncoding(trainedOn text: String, vocabularySize: Int) throws -> Tokenizer {
        Tokenizer(bytePairEncoding: try BytePairEncoding.train(on: text, vocabularySize: vocabularySize))
    }

    /// A character-level tokenizer whose vocabulary is the characters of `corpus`, most frequent first.
    /// With `maxVocabulary` (counting `<unk>`), the rarest characters are left out and encode as `<unk>`.
    public static func characterLevel(from corpus: String, maxVocabulary: Int? = nil) throws -> Tokenizer {
        var counts: [String: Int] = [:]
        for character in corpus { counts[String(character), default: 0] += 1 }
        return try Tokenizer(kind: .character, symbols: rankedSymbols(counts, maxVocabulary: maxVocabulary))
    }

    /// A word-level tokenizer whose vocabulary is the words and punctuation marks of `corpus`, most
    /// frequent first. With `maxVocabulary` (counting `<unk>`), the rarest are left out and encode as `<unk>`.
    public static func wordLevel(from corpus: String, maxVocabulary: Int? = nil) throws -> Tokenizer {
        var counts: [String: Int] = [:]
        forEachWord(in: corpus) { counts[$0, default: 0] += 1 }
        return try Tokenizer(kind: .word, symbols: rankedSymbols(counts, maxVocabulary: maxVocabulary))
    }

    /// Number of token ids, `<unk>` included: the model's vocabulary size.
    public var vocabularySize: Int { vocabulary.count }

    /// The spelling of `id`, or nil when it is outside the vocabulary.
    public func symbol(for id: Int) -> String? {
        vocabulary.indices.contains(id) ? vocabulary[id] : nil
    }

    /// The id of one symbol, `unknownID` when it is not in the vocabulary.
    public func id(for symbol: String) -> Int { ids[symbol] ?? Self.unknownID }

    /// Token ids of `text`; characters or words outside the vocabulary become `unknownID`.
    public func encode(_ text: String) -> [Int] {
        var out: [Int] = []
        switch kind {
        case .character:
            out.reserveCapacity(text.utf8.count)
            for character in text { out.append(ids[String(character)] ?? Self.unknownID) }
        case .word:
            Self.forEachWord(in: text) { out.append(ids[$0] ?? Self.unknownID) }
        case .bpe:
            return bytePairEncoding?.encode(text) ?? []
        }
        return out
    }

    /// Text of `ids`. Id 0, and any id outside the vocabulary (a model with a padded output layer can
    /// sample one), decode as "<unk>" rather than trapping: decoding is used to show model output.
    public func decode(_ ids: [Int]) -> String {
        if kind == .bpe, let model = bytePairEncoding {
            // Bytes joined first, then read as UTF-8 (invalid sequences become U+FFFD, as Hugging Face's
            // ByteLevel decoder does): one character can span several tokens.
            var bytes: [UInt8] = []
            for id in ids {
                if model.tokens.indices.contains(id), let token = model.tokens[id] {
                    bytes.append(contentsOf: token)
                } else {
                    bytes.append(contentsOf: Self.unknownToken.utf8)
                }
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        let pieces = ids.lazy.map { self.symbol(for: $0) ?? Self.unknownToken }
        return kind == .character ? pieces.joined() : pieces.joined(separator: " ")
    }

    // MARK: - Helpers

    /// Calls `body` with each word-level token of `text`: maximal runs of non-space, non-punctuation
    /// characters, and each punctuation or symbol character on its own.
    static func forEachWord(in text: String, _ body: (String) -> Void) {
        var word = ""
        for character in text {
            if character.isWhitespace {
                if !word.isEmpty {
                    body(word)
                    word = ""
                }
            } else if character.isPunctuation || character.isSymbol {
                if !word.isEmpty {
                    body(word)
                    word = ""
                }
                body(String(character))
            } else {
                word.append(character)
            }
        }
        if !word.isEmpty { body(word) }
    }

    /// Symbols by descending count, ties by Unicode scalar order, cut to `maxVocabulary - 1` (one id is `<unk>`).
    static func rankedSymbols(_ counts: [String: Int], maxVocabulary: Int?) throws -> [String] {
        if let maxVocabulary, maxVocabulary < 2 {
            throw LabError.invalidConfig(
                key: "max_vocabulary", message: "is \(maxVocabulary); it counts <unk>, so it must be at least 2")
        }
        // The scalar order, not String's `<`, is the tie-break because it is the one a reader of the
        // JSON file can check and it does not depend on the platform's collation.
        let ranked = counts.sorted { a, b in
            a.value != b.value
                ? a.value > b.value
                : a.key.unicodeScalars.lexicographicallyPrecedes(b.key.unicodeScalars) { $0.value < $1.value }
        }.map(\.key)
        guard let maxVocabulary else { return ranked }
        return Array(ranked.prefix(maxVocabulary - 1))
    }

    static func quoted(_ symbol: String) -> String {
        "\"" + symbol.unicodeScalars.map { $0.escaped(asASCII: false) }.joined() + "\""
    }
}

extension Tokenizer: Equatable {
    public static func == (a: Tokenizer, b: Tokenizer) -> Bool {
        a.kind == b.kind && a.vocabulary == b.vocabulary && a.bytePairEncoding == b.bytePairEncoding
    }
}
