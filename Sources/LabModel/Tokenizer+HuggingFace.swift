// Tokenizer+HuggingFace: a byte-level BPE tokenizer as Hugging Face's tokenizer.json (BPE model, ByteLevel
// pre-tokenizer and decoder, no normalizer, no added tokens), written by hand so keys, vocabulary and merges
// come in one fixed order, and read back. Not a general tokenizer.json reader: other pipelines are refused.
import Foundation
import LabCore

extension Tokenizer {
    /// The pre-tokenizer and decoder configuration the lab reproduces exactly (see `ByteLevel`).
    static let byteLevelSettings =
        #"{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}"#

    /// tokenizer.json for a `.bpe` tokenizer: the keys in the order `tokenizers` itself writes them, the
    /// vocabulary in id order (one entry per line), the merges in rank order as "left right".
    /// `tokenizers.Tokenizer.from_file` and `transformers.PreTrainedTokenizerFast(tokenizer_file=...)` load it.
    public func huggingFaceJSON() -> Data {
        var out = "{\n"
        out += "  \"version\": \"1.0\",\n"
        out += "  \"truncation\": null,\n"
        out += "  \"padding\": null,\n"
        out += "  \"added_tokens\": [],\n"
        out += "  \"normalizer\": null,\n"
        out += "  \"pre_tokenizer\": \(Self.byteLevelSettings),\n"
        out += "  \"post_processor\": null,\n"
        out += "  \"decoder\": \(Self.byteLevelSettings),\n"
        out += "  \"model\": {\n"
        out += "    \"type\": \"BPE\",\n"
        out += "    \"dropout\": null,\n"
        out += "    \"unk_token\": null,\n"
        out += "    \"continuing_subword_prefix\": null,\n"
        out += "    \"end_of_word_suffix\": null,\n"
        out += "    \"fuse_unk\": false,\n"
        out += "    \"byte_fallback\": false,\n"
        out += "    \"ignore_merges\": false,\n"
        out += "    \"vocab\": {\n"
        out += vocabulary.enumerated().map { "      \(Self.jsonString($0.element)): \($0.offset)" }.joined(
            separator: ",\n")
        out += "\n    },\n"
        out += "    \"merges\": ["
        let merges = bytePairEncoding?.merges ?? []
        if !merges.isEmpty {
            out +=
                "\n"
                + merges.map { "      " + Self.jsonString(vocabulary[$0.left] + " " + vocabulary[$0.right]) }.joined(
                    separator: ",\n") + "\n    "
        }
        out += "]\n"
        out += "  }\n"
        out += "}\n"
        return Data(out.utf8)
    }

    static func jsonString(_ s: String) -> String { JSONText.quote(s) }
}

/// The part of a Hugging Face tokenizer.json the lab reads, with the settings it can reproduce checked.
struct HuggingFaceTokenizerFile: Decodable {
    struct Stage: Decodable {
        var type: String
        var addPrefixSpace: Bool?
        var useRegex: Bool?
        enum CodingKeys: String, CodingKey { case type, addPrefixSpace = "add_prefix_space", useRegex = "use_regex" }
    }
    struct AddedToken: Decodable {
        var content: String
        var id: Int
    }
    struct Model: Decodable {
        var type: String
        var vocab: [String: Int]
        var merges: [[String]]
        var byteFallback: Bool?
        var ignoreMerges: Bool?
        var dropout: Double?
        enum CodingKeys: String, CodingKey {
            case type, vocab, merges, byteFallback = "byte_fallback", ignoreMerges = "ignore_merges", dropout
        }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            type = try c.decode(String.self, forKey: .type)
            vocab = try c.decode([String: Int].self, forKey: .vocab)
            byteFallback = try c.decodeIfPresent(Bool.self, forKey: .byteFallback)
            ignoreMerges = try c.decodeIfPresent(Bool.self, forKey: .ignoreMerges)
            dropout = try c.decodeIfPresent(Double.self, forKey: .dropout)
            // Merges are written "left right" (tokenizers < 0.20) or ["left", "right"] (later versions).
            if let pairs = try? c.decode([[String]].self, forKey: .merges) {
                merges = pairs
            } else {
                merges = try c.decode([String].self, forKey: .merges).map {
                    $0.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
                }
            }
        }
    }

    var model: Model
    var preTokenizer: Stage?
    var addedTokens: [AddedToken]?
    var hasNormalizer: Bool

    enum CodingKeys: String, CodingKey {
        case model, preTokenizer = "pre_tokenizer", addedTokens = "added_tokens", normalizer
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(Model.self, forKey: .model)
        preTokenizer = try c.decodeIfPresent(Stage.self, forKey: .preTokenizer)
        addedTokens = try c.decodeIfPresent([AddedToken].self, forKey: .addedTokens)
        hasNormalizer = c.contains(.normalizer) ? !(try c.decodeNil(forKey: .normalizer)) : false
    }

    /// The tokenizer, or `LabError.message` naming the key the lab cannot reproduce and what it expects.
    func tokenizer() throws -> Tokenizer {
        guard model.type == "BPE" else {
            throw LabError.message(
                "\"model.type\" is \"\(model.type)\"; this lab reads byte-level \"BPE\" tokenizer.json files")
        }
        guard let pre = preTokenizer, pre.type == "ByteLevel", pre.addPrefixSpace != true, pre.useRegex != false else {
            throw LabError.message(
                "\"pre_tokenizer\" must be {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": true}, the GPT-2 split this lab implements"
            )
        }
        guard !hasNormalizer else {
            throw LabError.message("\"normalizer\" must be null; this lab does not normalize text")
        }
        if let added = addedTokens, !added.isEmpty {
            throw LabError.message(
                "\"added_tokens\" must be empty; this lab does not split out special tokens (found \(Tokenizer.quoted(added[0].content)))"
            )
        }
        guard model.byteFallback != true, model.ignoreMerges != true, model.dropout == nil else {
            throw LabError.message("\"model\": byte_fallback, ignore_merges and dropout must be off")
        }
        let count = model.vocab.count
        var tokens = [[UInt8]?](repeating: nil, count: count)
        var seen = [Bool](repeating: false, count: count)
        for (spelling, id) in model.vocab {
            guard (0..<count).contains(id), !seen[id] else {
                throw LabError.message(
                    "\"model.vocab\": id \(id) of \(Tokenizer.quoted(spelling)) is repeated or outside 0..<\(count); ids must be 0, 1, … without gaps"
                )
            }
            seen[id] = true
            if id == Tokenizer.unknownID && spelling == Tokenizer.unknownToken { continue }
            guard let bytes = ByteLevel.bytes(ofSpelling: spelling) else {
                throw LabError.message(
                    "\"model.vocab\": \(Tokenizer.quoted(spelling)) (id \(id)) has a character outside GPT-2's byte-level alphabet"
                )
            }
            tokens[id] = bytes
        }
        var merges: [BytePairEncoding.Merge] = []
        merges.reserveCapacity(model.merges.count)
        for (rank, pair) in model.merges.enumerated() {
            guard pair.count == 2, let left = model.vocab[pair[0]], let right = model.vocab[pair[1]],
                let result = model.vocab[pair[0] + pair[1]]
            else {
                throw LabError.message(
                    "\"model.merges\"[\(rank)] (\(pair.map(Tokenizer.quoted).joined(separator: " "))) is not two vocabulary tokens whose concatenation is in the vocabulary"
                )
            }
            merges.append(.init(left: left, right: right, result: result))
        }
        do {
            return Tokenizer(bytePairEncoding: try BytePairEncoding(tokens: tokens, merges: merges))
        } catch let LabError.invalidConfig(key, message) {
            throw LabError.message("\"model.\(key)\" \(message)")
        }
    }
}
