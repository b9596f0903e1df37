// Text corpus and CorpusSpec tests: contiguous splits of a temp file, clear file errors, and the closed
// snake_case config schema (defaults, unknown keys, keys of another kind, encode/decode round trip).
import Foundation
import LabCore
import LabModel
import XCTest

@testable import LabData

final class TextCorpusTests: XCTestCase {
    private func temporaryFile(_ data: Data) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("text-corpus-\(UUID().uuidString).txt")
        try data.write(to: url)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    func testSplitsAreContiguousAndCoverTheFile() throws {
        let text = String(repeating: "To be, or not to be: that is the question. Ça va? 👋🏽\n", count: 40)
        let path = try temporaryFile(Data(text.utf8))
        for kind in [Tokenizer.Kind.character, .word] {
            let corpus = try CorpusSpec.text(path: path, tokenizer: kind).build()
            let all = corpus.tokenizer.encode(text)
            XCTAssertEqual(corpus.train + corpus.validation + corpus.test, all)
            XCTAssertEqual(corpus.validation.count, Int((Double(all.count) * 0.05).rounded()))
            XCTAssertEqual(corpus.test.count, Int((Double(all.count) * 0.05).rounded()))
            XCTAssertFalse(all.contains(Tokenizer.unknownID))
            XCTAssertEqual(corpus.tokenizer.kind, kind)
        }
        var spec = CorpusSpec.text(path: path, tokenizer: .word, maxVocabulary: 5)
        (spec.validationFraction, spec.testFraction) = (0.2, 0.3)
        let corpus = try spec.build()
        let total = corpus.train.count + corpus.validation.count + corpus.test.count
        XCTAssertTrue(isClose(Double(corpus.test.count) / Double(total), 0.3, atol: 0.01, rtol: 0))
        XCTAssertEqual(corpus.tokenizer.vocabularySize, 5)
        XCTAssertTrue(corpus.train.contains(Tokenizer.unknownID))
    }

    func testFileErrorsNameThePathAndTheProblem() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent(
            "no-such-corpus-\(UUID().uuidString).txt"
        ).path
        let cases: [(path: String, expected: String)] = [
            (missing, "no such file"),
            (try temporaryFile(Data()), "empty"),
            (try temporaryFile(Data(" \n\t ".utf8)), "empty"),
            (try temporaryFile(Data([0x66, 0x6F, 0xFF, 0xFE, 0x80, 0x6F])), "UTF-8"),
            (try temporaryFile(Data("ab".utf8)), "too few"),
            (FileManager.default.temporaryDirectory.path, "directory"),
        ]
        for (path, expected) in cases {
            XCTAssertThrowsError(try CorpusSpec.text(path: path).build(), expected) { error in
                guard case let LabError.file(errorPath, message) = error else {
                    return XCTFail("\(expected): \(error)")
                }
                XCTAssertEqual(errorPath, path)
                XCTAssertTrue(message.contains(expected), "'\(message)' should mention \(expected)")
            }
        }
        var spec = CorpusSpec.text(path: missing)
        spec.validationFraction = 0.6
        spec.testFraction = 0.5
        XCTAssertThrowsError(try spec.build()) { error in
            guard case LabError.invalidConfig(key: "test_fraction", _) = error else { return XCTFail("\(error)") }
        }
    }
}

final class CorpusSpecTests: XCTestCase {
    private func decode(_ json: String) throws -> CorpusSpec {
        try JSONDecoder().decode(CorpusSpec.self, from: Data(json.utf8))
    }

    private func errorKey(_ json: String) -> String? {
        do {
            _ = try decode(json)
            return nil
        } catch let LabError.invalidConfig(key, _) { return key } catch { return "\(error)" }
    }

    func testDefaultsAndSnakeCaseKeys() throws {
        let markov = try decode(#"{"kind": "markov"}"#)
        XCTAssertEqual(markov, .markov())
        XCTAssertEqual(
            [markov.symbols, markov.order, markov.trainTokens, markov.validationTokens, markov.testTokens],
            [16, 2, 200_000, 20_000, 20_000])
        XCTAssertEqual(markov.concentration, 0.3)

        let tasks = try decode(
            #"{"kind": "tasks", "seed": 7, "task": "addition", "digits": [2, 5], "length": 4, "train_tokens": 1000}"#)
        XCTAssertEqual(tasks.seed, 7)
        XCTAssertEqual(tasks.task, .addition)
        XCTAssertEqual(tasks.digits, 2...5)
        XCTAssertEqual(tasks.length, 4...4)
        XCTAssertEqual(tasks.trainTokens, 1000)

        let text = try decode(
            #"{"kind": "text", "path": "a.txt", "tokenizer": "word", "max_vocabulary": 500, "test_fraction": 0.1}"#)
        XCTAssertEqual(text.path, "a.txt")
        XCTAssertEqual(text.tokenizer, .word)
        XCTAssertEqual(text.maxVocabulary, 500)
        XCTAssertEqual(text.testFraction, 0.1)
    }

    func testClosedSchemaNamesTheKey() {
        XCTAssertEqual(errorKey(#"{"seed": 1}"#), "kind")
        XCTAssertEqual(errorKey(#"{"kind": "zipf"}"#), "kind")
        XCTAssertEqual(errorKey(#"{"kind": "markov", "symbol": 8}"#), "symbol")
        XCTAssertEqual(errorKey(#"{"kind": "markov", "path": "a.txt"}"#), "path")
        XCTAssertEqual(errorKey(#"{"kind": "text", "path": "a.txt", "train_tokens": 5}"#), "train_tokens")
        XCTAssertEqual(errorKey(#"{"kind": "markov", "order": "two"}"#), "order")
        XCTAssertEqual(errorKey(#"{"kind": "markov", "seed": -1}"#), "seed")
        XCTAssertEqual(errorKey(#"{"kind": "tasks", "task": "division"}"#), "task")
        XCTAssertEqual(errorKey(#"{"kind": "tasks", "digits": [5, 2]}"#), "digits")
        XCTAssertEqual(errorKey(#"{"kind": "tasks", "digits": [1, 2, 3]}"#), "digits")
        do {
            _ = try decode(#"{"kind": "markov", "path": "a.txt"}"#)
        } catch {
            XCTAssertTrue("\(error)".contains("belongs to kind text"), "\(error)")
        }
    }

    func testEncodeWritesTheResolvedKeysOfItsKindAndRoundTrips() throws {
        var tasks = CorpusSpec.tasks(.sorting, length: 3...9, seed: 2)
        tasks.testTokens = 123
        for spec in [
            CorpusSpec.markov(symbols: 8, order: 3, concentration: 1.5, seed: 9), .grammar(seed: 4), tasks,
            .text(path: "x.txt", tokenizer: .word),
        ] {
            let data = try JSONEncoder().encode(spec)
            let keys = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any]).keys
            // Optional keys left unset are not written: max_vocabulary, and source beside a path.
            XCTAssertEqual(
                Set(keys), Set(CorpusSpec.keys(for: spec.kind).filter { $0 != "max_vocabulary" && $0 != "source" }))
            XCTAssertEqual(try JSONDecoder().decode(CorpusSpec.self, from: data), spec)
        }
    }
}
