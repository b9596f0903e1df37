// TextCorpus: a UTF-8 file or a built-in corpus (NamedCorpus), tokenized by characters, words or byte-level BPE
// and split into train / attacker / validation / test parts that never overlap. Not shuffled within a file:
// neighbouring text is correlated, so a file is cut at line boundaries; a built-in corpus's documents are shuffled.
import Foundation
import LabCore
import LabModel

/// Builds `kind: text` corpora.
///
/// - A file with a character or word tokenizer and no attacker part (the original behaviour): the vocabulary
///   is built from the whole file (as nanoGPT's shakespeare_char does) and the token stream is cut contiguously.
/// - Otherwise the text is first cut into parts — a file at line boundaries in order, a built-in corpus by
///   whole documents after a shuffle under the corpus seed — holding about `1 − attacker − validation − test`,
///   `attacker_fraction`, `validation_fraction` and `test_fraction` of its bytes. A BPE vocabulary is learned on
///   the train part only, so held-out text shapes neither the teacher nor its tokenizer.
public enum TextCorpus {
    static func build(_ spec: CorpusSpec) throws -> Corpus {
        if let source = spec.source { return try build(spec, named: try NamedCorpus.named(source)) }
        guard let path = spec.path, !path.isEmpty else {
            throw LabError.invalidConfig(
                key: "path", message: "is missing; a text corpus needs the path of a UTF-8 file or a built-in `source:`"
            )
        }
        let text = try read(path)
        let data = (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data(text.utf8)
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        let origin = CorpusOrigin(
            name: URL(fileURLWithPath: path).lastPathComponent, sha256: SHA256.hex(data), bytes: data.count)
        if spec.tokenizer != .bpe && spec.attackerFraction == 0 && spec.trainOn == .teacher {
            var corpus = try contiguous(text, spec: spec, path: path, name: name)
            corpus.origin = origin
            return corpus
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { String($0) + "\n" }
        // The piece after the last newline: empty, or a last line without a newline of its own.
        if text.hasSuffix("\n") { lines.removeLast() } else { lines[lines.count - 1].removeLast() }
        let parts = partition(lines, spec)
        return try assemble(parts: parts, whole: text, spec: spec, label: name, origin: origin, location: path)
    }

    /// A built-in corpus: its documents shuffled under the corpus seed, then cut into parts by whole documents.
    static func build(_ spec: CorpusSpec, named: NamedCorpus) throws -> Corpus {
        var (documents, origin) = try named.documents()
        var rng = spec.rng("documents")
        for i in stride(from: documents.count - 1, to: 0, by: -1) {
            documents.swapAt(i, rng.int(below: i + 1))
        }
        let parts = partition(documents, spec)
        return try assemble(
            parts: parts, whole: documents.joined(), spec: spec, label: named.name, origin: origin,
            location: named.directory)
    }

    /// The original split: the whole file's tokens, cut contiguously by token counts.
    static func contiguous(_ text: String, spec: CorpusSpec, path: String, name: String) throws -> Corpus {
        let tokenizer = try makeTokenizer(spec, whole: text, train: text)
        let tokens = tokenizer.encode(text)
        let validationCount = Int((Double(tokens.count) * spec.validationFraction).rounded())
        let testCount = Int((Double(tokens.count) * spec.testFraction).rounded())
        let trainCount = tokens.count - validationCount - testCount
        guard trainCount >= 1, validationCount >= 1, testCount >= 1 else {
            throw LabError.file(
                path: path,
                message:
                    "has only \(tokens.count) \(spec.tokenizer == .word ? "word" : "character") tokens, too few to split into train / validation / test at fractions \(1 - spec.validationFraction - spec.testFraction) / \(spec.validationFraction) / \(spec.testFraction); use a longer file or larger fractions"
            )
        }
        return Corpus(
            name: "text-\(name)-\(spec.tokenizer.rawValue)",
            tokenizer: tokenizer,
            train: Array(tokens[..<trainCount]),
            validation: Array(tokens[trainCount..<trainCount + validationCount]),
            test: Array(tokens[(trainCount + validationCount)...])
        )
    }

    static func makeTokenizer(_ spec: CorpusSpec, whole: String, train: String) throws -> Tokenizer {
        switch spec.tokenizer {
        case .character: return try Tokenizer.characterLevel(from: whole, maxVocabulary: spec.maxVocabulary)
        case .word: return try Tokenizer.wordLevel(from: whole, maxVocabulary: spec.maxVocabulary)
        case .bpe:
            return try Tokenizer.bytePairEncoding(
                trainedOn: train, vocabularySize: spec.maxVocabulary ?? CorpusSpec.defaultBPEVocabulary)
        }
    }

    /// Units (lines or documents) in order, cut into train, attacker, validation and test parts by cumulative
    /// UTF-8 size: a unit goes to the part its first byte falls in, so no unit is ever split.
    static func partition(_ units: [String], _ spec: CorpusSpec) -> [String] {
        let total = Double(units.reduce(0) { $0 + $1.utf8.count })
        let trainFraction = 1 - spec.attackerFraction - spec.validationFraction - spec.testFraction
        let bounds = [trainFraction, trainFraction + spec.attackerFraction, 1 - spec.testFraction].map { $0 * total }
        var parts = ["", "", "", ""]
        var offset = 0.0
        for unit in units {
            let part = bounds.firstIndex(where: { offset < $0 }) ?? 3
            parts[part] += unit
            offset += Double(unit.utf8.count)
        }
        return parts
    }

    /// Tokenizes the four parts; every part but the attacker's must hold tokens.
    static func assemble(
        parts: [String], whole: String, spec: CorpusSpec, label: String, origin: CorpusOrigin, location: String
    ) throws -> Corpus {
        let tokenizer = try makeTokenizer(spec, whole: whole, train: parts[0])
        let tokens = parts.map(tokenizer.encode)
        for (index, name) in [
            (0, "train"), (spec.trainOn == .attacker ? 1 : 2, "attacker"), (2, "validation"), (3, "test"),
        ] where tokens[index].isEmpty {
            throw LabError.file(
                path: location,
                message:
                    "leaves the \(name) part empty at fractions attacker \(spec.attackerFraction), validation \(spec.validationFraction), test \(spec.testFraction); use a longer text or larger fractions"
            )
        }
        let size = spec.tokenizer == .bpe ? "\(tokenizer.vocabularySize)" : ""
        let swap = spec.trainOn == .attacker
        var corpus = Corpus(
            name: "text-\(label)-\(spec.tokenizer.rawValue)\(size)\(swap ? "-attacker" : "")", tokenizer: tokenizer,
            train: tokens[swap ? 1 : 0], validation: tokens[2], test: tokens[3])
        corpus.attacker = tokens[swap ? 0 : 1]
        corpus.origin = origin
        return corpus
    }

    /// The file's text, or `LabError.file` saying what is wrong with it and what to do.
    public static func read(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        try FileRead.checkPermissions(path, what: "the text corpus")
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw LabError.file(
                path: path,
                message:
                    "no such file; check the corpus 'path' (relative paths start at \(FileManager.default.currentDirectoryPath))"
            )
        }
        guard !isDirectory.boolValue else {
            throw LabError.file(path: path, message: "is a directory; point the corpus 'path' at one UTF-8 text file")
        }
        let data: Data
        data = try FileRead.data(path, what: "the text corpus", fix: "check the corpus path")
        guard var text = String(bytes: data, encoding: .utf8) else {
            throw LabError.file(
                path: path, message: "is not valid UTF-8 text; convert it first (e.g. `iconv -f LATIN1 -t UTF-8`)")
        }
        // A byte-order mark is an encoding marker, not text; keeping it would add a symbol to the vocabulary.
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        guard text.contains(where: { !$0.isWhitespace }) else {
            throw LabError.file(
                path: path, message: "is empty (or only whitespace); a text corpus needs some text to split")
        }
        return text
    }
}
