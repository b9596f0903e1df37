// TextCorpus: any UTF-8 file, tokenized by characters or words and split contiguously (train first,
// then validation, then test). Not shuffled: neighbouring text is correlated, and a contiguous split
// keeps held-out text genuinely unseen.
import Foundation
import LabCore
import LabModel

/// Builds `kind: text` corpora. The vocabulary is built from the whole file (as nanoGPT's
/// shakespeare_char does), most frequent first, so only `max_vocabulary` can make <unk> appear.
enum TextCorpus {
    static func build(_ spec: CorpusSpec) throws -> Corpus {
        guard let path = spec.path, !path.isEmpty else {
            throw LabError.invalidConfig(key: "path", message: "is missing; a text corpus needs the path of a UTF-8 file")
        }
        let text = try read(path)
        let tokenizer: Tokenizer
        switch spec.tokenizer {
        case .character: tokenizer = try Tokenizer.characterLevel(from: text, maxVocabulary: spec.maxVocabulary)
        case .word: tokenizer = try Tokenizer.wordLevel(from: text, maxVocabulary: spec.maxVocabulary)
        }
        let tokens = tokenizer.encode(text)
        let validationCount = Int((Double(tokens.count) * spec.validationFraction).rounded())
        let testCount = Int((Double(tokens.count) * spec.testFraction).rounded())
        let trainCount = tokens.count - validationCount - testCount
        guard trainCount >= 1, validationCount >= 1, testCount >= 1 else {
            throw LabError.file(path: path, message: "has only \(tokens.count) \(spec.tokenizer == .word ? "word" : "character") tokens, too few to split into train / validation / test at fractions \(1 - spec.validationFraction - spec.testFraction) / \(spec.validationFraction) / \(spec.testFraction); use a longer file or larger fractions")
        }
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return Corpus(
            name: "text-\(name)-\(spec.tokenizer.rawValue)",
            tokenizer: tokenizer,
            train: Array(tokens[..<trainCount]),
            validation: Array(tokens[trainCount ..< trainCount + validationCount]),
            test: Array(tokens[(trainCount + validationCount)...])
        )
    }

    /// The file's text, or `LabError.file` saying what is wrong with it and what to do.
    static func read(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        try FileRead.checkPermissions(path, what: "the text corpus")
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw LabError.file(path: path, message: "no such file; check the corpus 'path' (relative paths start at \(FileManager.default.currentDirectoryPath))")
        }
        guard !isDirectory.boolValue else {
            throw LabError.file(path: path, message: "is a directory; point the corpus 'path' at one UTF-8 text file")
        }
        let data: Data
        data = try FileRead.data(path, what: "the text corpus", fix: "check the corpus path")
        guard var text = String(bytes: data, encoding: .utf8) else {
            throw LabError.file(path: path, message: "is not valid UTF-8 text; convert it first (e.g. `iconv -f LATIN1 -t UTF-8`)")
        }
        // A byte-order mark is an encoding marker, not text; keeping it would add a symbol to the vocabulary.
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        guard text.contains(where: { !$0.isWhitespace }) else {
            throw LabError.file(path: path, message: "is empty (or only whitespace); a text corpus needs some text to split")
        }
        return text
    }
}
