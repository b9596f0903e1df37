// `distill-lab tokenizer`: learns a byte-level BPE vocabulary on a text corpus's train part, writes it as
// Hugging Face's tokenizer.json and reports the time it took and the compression. Not a model trainer.
import ArgumentParser
import Foundation
import LabCore
import LabData
import LabModel

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "Learn a byte-level BPE tokenizer on a text corpus and write tokenizer.json.")

    @Option(help: "Built-in text corpus (fortunes).") var source: String?
    @Option(help: "UTF-8 text file, instead of --source.") var path: String?
    @Option(help: "Vocabulary size, <unk> and the 256 bytes included (257...16384).") var vocab: Int = CorpusSpec
        .defaultBPEVocabulary
    @Option(help: "Output file (tokenizer.json).") var out: String
    @Flag(help: "Print the report as JSON.") var json = false

    func validate() throws {
        guard (path == nil) != (source == nil) else {
            throw ValidationError("give one of --source NAME or --path FILE")
        }
        guard CorpusSpec.bpeVocabulary.contains(vocab) else {
            throw ValidationError(
                "--vocab is \(vocab); allowed range \(CorpusSpec.bpeVocabulary.lowerBound)...\(CorpusSpec.bpeVocabulary.upperBound)"
            )
        }
    }

    func run() throws {
        // The whole text: a built-in corpus's documents in file order, or the file.
        let text: String
        if let source {
            text = try NamedCorpus.named(source).documents().documents.joined()
        } else {
            text = try TextCorpus.read(path ?? "")
        }
        let start = Date()
        let tokenizer = try Tokenizer.bytePairEncoding(trainedOn: text, vocabularySize: vocab)
        let trainSeconds = Date().timeIntervalSince(start)
        let encodeStart = Date()
        let ids = tokenizer.encode(text)
        let encodeSeconds = Date().timeIntervalSince(encodeStart)
        try tokenizer.save(to: URL(fileURLWithPath: out))
        let bytes = text.utf8.count
        let report: [(String, String)] = [
            ("corpus", source ?? path ?? ""), ("bytes", String(bytes)),
            ("vocabulary", String(tokenizer.vocabularySize)),
            ("merges", String(tokenizer.bytePairEncoding?.merges.count ?? 0)),
            ("train_seconds", String(format: "%.2f", trainSeconds)),
            ("encode_seconds", String(format: "%.2f", encodeSeconds)), ("tokens", String(ids.count)),
            ("bytes_per_token", String(format: "%.3f", Double(bytes) / Double(max(1, ids.count)))), ("out", out),
        ]
        if json {
            print(
                "{"
                    + report.map { "\"\($0.0)\": \(Double($0.1) != nil ? $0.1 : "\"\($0.1)\"")" }.joined(
                        separator: ", ") + "}")
        } else {
            for (key, value) in report { print("\(key.padding(toLength: 16, withPad: " ", startingAt: 0)) \(value)") }
        }
    }
}
