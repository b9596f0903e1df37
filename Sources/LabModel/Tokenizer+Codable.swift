// Tokenizer+Codable: the tokenizer.json format, {"type":"char"|"word","unk_token":"<unk>","vocab":[...]} for
// character and word vocabularies and Hugging Face's format for BPE (Tokenizer+HuggingFace), and file save/load
// with errors that name what is wrong. Either format is recognised on reading; nothing else is accepted.
import Foundation
import LabCore

extension Tokenizer: Codable {
    enum CodingKeys: String, CodingKey {
        case type, unkToken = "unk_token", vocab
    }

    public func encode(to encoder: Encoder) throws {
        if kind == .bpe {
            // The same content as `huggingFaceJSON()`, whose fixed key order files and checkpoints use.
            var container = encoder.container(keyedBy: HuggingFaceKeys.self)
            try container.encode("1.0", forKey: .version)
            try container.encode([String](), forKey: .addedTokens)
            try container.encodeNil(forKey: .normalizer)
            let byteLevel = ByteLevelStage()
            try container.encode(byteLevel, forKey: .preTokenizer)
            try container.encode(byteLevel, forKey: .decoder)
            var model = container.nestedContainer(keyedBy: HuggingFaceKeys.self, forKey: .model)
            try model.encode("BPE", forKey: .type)
            try model.encode(
                Dictionary(vocabulary.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { a, _ in a }),
                forKey: .vocab)
            try model.encode(
                (bytePairEncoding?.merges ?? []).map { vocabulary[$0.left] + " " + vocabulary[$0.right] },
                forKey: .merges)
            return
        }
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .type)
        try container.encode(Self.unknownToken, forKey: .unkToken)
        try container.encode(vocabulary, forKey: .vocab)
    }

    /// Decodes and validates; a semantic problem (wrong unk token, duplicate symbol) throws `LabError`
    /// so that `load(from:)` can report it with the path.
    public init(from decoder: Decoder) throws {
        if let probe = try? decoder.container(keyedBy: HuggingFaceKeys.self), probe.contains(.model) {
            self = try HuggingFaceTokenizerFile(from: decoder).tokenizer()
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let typeName = try container.decode(String.self, forKey: .type)
        guard let kind = Kind(rawValue: typeName) else {
            let known = Kind.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: " or ")
            throw LabError.message("\"type\" is \(Self.quoted(typeName)); expected \(known)")
        }
        guard kind != .bpe else {
            throw LabError.message(
                "\"type\" is \"bpe\", but a BPE tokenizer is stored in Hugging Face's format (a \"model\" with \"vocab\" and \"merges\"), not as a symbol list; re-save it from the checkpoint"
            )
        }
        let unk = try container.decode(String.self, forKey: .unkToken)
        guard unk == Self.unknownToken else {
            throw LabError.message(
                "\"unk_token\" is \(Self.quoted(unk)); this lab reserves \(Self.quoted(Self.unknownToken))")
        }
        let vocab = try container.decode([String].self, forKey: .vocab)
        guard vocab.first == Self.unknownToken else {
            let first = vocab.first.map(Self.quoted) ?? "missing (the list is empty)"
            throw LabError.message(
                "\"vocab\"[0] is \(first); id 0 must be the unknown token \(Self.quoted(Self.unknownToken))")
        }
        do {
            try self.init(kind: kind, symbols: Array(vocab.dropFirst()))
        } catch let LabError.invalidConfig(_, message) {
            throw LabError.message("\"vocab\": \(message)")
        }
    }

    /// Writes tokenizer.json to `url` atomically (temp file + rename). If `url` is an existing directory
    /// the file is `tokenizer.json` inside it, as in a checkpoint directory.
    public func save(to url: URL) throws {
        let target = Self.resolve(url)
        let encoder = JSONEncoder()
        // One symbol per line, keys in a fixed order: the file diffs cleanly and reads by eye.
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = kind == .bpe ? huggingFaceJSON() : try encoder.encode(self)
        do {
            try data.write(to: target, options: .atomic)
        } catch {
            throw LabError.file(
                path: target.path,
                message:
                    "cannot write the tokenizer (\(error.localizedDescription)); check that the directory exists and is writable"
            )
        }
    }

    /// Reads a tokenizer.json written by `save(to:)` (or by hand). If `url` is a directory, reads
    /// `tokenizer.json` inside it. Throws `LabError.file` naming the problem: missing file, invalid JSON,
    /// a missing or mistyped key, an unknown type, id 0 not `<unk>`, a duplicated or malformed symbol.
    public static func load(from url: URL) throws -> Tokenizer {
        let target = resolve(url)
        let path = target.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw LabError.file(
                path: path, message: "no such file; pass the tokenizer.json written with the checkpoint")
        }
        let data: Data
        data = try FileRead.data(
            path, what: "the tokenizer file", fix: "pass the tokenizer.json written with the checkpoint")
        do {
            return try JSONDecoder().decode(Tokenizer.self, from: data)
        } catch let LabError.message(message) {
            throw LabError.file(path: path, message: "not a valid tokenizer: \(message)")
        } catch let DecodingError.keyNotFound(key, _) {
            throw LabError.file(
                path: path,
                message:
                    "not a valid tokenizer: key \"\(key.stringValue)\" is missing (expected \"type\", \"unk_token\" and \"vocab\")"
            )
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw LabError.file(
                path: path,
                message:
                    "not a valid tokenizer: \"\(key)\" has the wrong type (\"type\" and \"unk_token\" are strings, \"vocab\" a list of strings)"
            )
        } catch {
            throw LabError.file(
                path: path,
                message:
                    "not a valid tokenizer: the file is not well-formed JSON (it may be truncated); re-save it from the checkpoint"
            )
        }
    }

    enum HuggingFaceKeys: String, CodingKey {
        case version, addedTokens = "added_tokens", normalizer, preTokenizer = "pre_tokenizer", decoder, model, type,
            vocab, merges
    }

    struct ByteLevelStage: Encodable {
        let type = "ByteLevel"
        let addPrefixSpace = false
        let trimOffsets = true
        let useRegex = true
        enum CodingKeys: String, CodingKey {
            case type, addPrefixSpace = "add_prefix_space", trimOffsets = "trim_offsets", useRegex = "use_regex"
        }
    }

    static func resolve(_ url: URL) -> URL {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            return url.appendingPathComponent(fileName)
        }
        return url
    }
}
