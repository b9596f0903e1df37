// Tokenizer tests: round trips (characters, words, Unicode), <unk> handling, vocabulary order, and the
// tokenizer.json format, including refusal of corrupted files with a message naming the problem.
import Foundation
import LabCore
import XCTest

@testable import LabModel

final class TokenizerTests: XCTestCase {
    func testCharacterRoundTripAndFrequencyOrder() throws {
        let text = "hello world"
        let tokenizer = try Tokenizer.characterLevel(from: text)
        XCTAssertEqual(tokenizer.decode(tokenizer.encode(text)), text)
        // l×3, o×2, then the singletons by Unicode scalar: " " (U+20) before the letters.
        XCTAssertEqual(tokenizer.vocabulary, ["<unk>", "l", "o", " ", "d", "e", "h", "r", "w"])
        XCTAssertEqual(tokenizer.vocabularySize, 9)
        XCTAssertEqual(tokenizer.symbol(for: 1), "l")
        XCTAssertNil(tokenizer.symbol(for: 9))
        XCTAssertFalse(tokenizer.encode(text).contains(Tokenizer.unknownID))
    }

    func testCharacterLevelIsOverGraphemeClusters() throws {
        let text = "héllo 👋🏽 naïve 日本語\ne\u{301}\r\n🇫🇷"
        let tokenizer = try Tokenizer.characterLevel(from: text)
        XCTAssertEqual(tokenizer.decode(tokenizer.encode(text)), text)
        XCTAssertEqual(tokenizer.encode(text).count, text.count)
        // A skin-toned emoji and a flag are one token each, not their scalars.
        XCTAssertEqual(tokenizer.encode("👋🏽").count, 1)
        XCTAssertEqual(tokenizer.encode("🇫🇷").count, 1)
        XCTAssertNotEqual(tokenizer.encode("👋🏽"), [Tokenizer.unknownID])
    }

    func testUnknownCharactersAndWordsMapToZero() throws {
        let chars = try Tokenizer.characterLevel(from: "abc")
        XCTAssertEqual(chars.encode("axbz"), [chars.id(for: "a"), 0, chars.id(for: "b"), 0])
        XCTAssertEqual(chars.decode([0, chars.id(for: "c")]), "<unk>c")
        // Ids beyond the vocabulary (a padded output layer) decode as <unk> instead of trapping.
        XCTAssertEqual(chars.decode([99, -1]), "<unk><unk>")

        let words = try Tokenizer.wordLevel(from: "the dog runs")
        XCTAssertEqual(words.encode("the cat runs"), [words.id(for: "the"), 0, words.id(for: "runs")])
    }

    func testMaxVocabularyDropsTheRarest() throws {
        let tokenizer = try Tokenizer.characterLevel(from: "aaabbc", maxVocabulary: 3)
        XCTAssertEqual(tokenizer.vocabulary, ["<unk>", "a", "b"])
        XCTAssertEqual(tokenizer.encode("abc"), [1, 2, 0])
        XCTAssertThrowsError(try Tokenizer.characterLevel(from: "abc", maxVocabulary: 1)) { error in
            guard case LabError.invalidConfig(key: "max_vocabulary", _) = error else { return XCTFail("\(error)") }
        }
    }

    func testWordLevelSplitsPunctuationAndJoinsWithSpaces() throws {
        let text = "The dog, the cat.\n  And   the dog!"
        let tokenizer = try Tokenizer.wordLevel(from: text)
        let ids = tokenizer.encode(text)
        XCTAssertEqual(
            ids.map { tokenizer.symbol(for: $0) ?? "?" },
            ["The", "dog", ",", "the", "cat", ".", "And", "the", "dog", "!"])
        XCTAssertEqual(tokenizer.decode(ids), "The dog , the cat . And the dog !")
        // "the" ×2 and "dog" ×2 come first, tied and ordered by scalar.
        XCTAssertEqual(Array(tokenizer.vocabulary.prefix(3)), ["<unk>", "dog", "the"])
        // Text already in the decoded spacing round-trips exactly.
        let normal = "the dog sees a cat ."
        let grammar = try Tokenizer.wordLevel(from: normal)
        XCTAssertEqual(grammar.decode(grammar.encode(normal)), normal)
    }

    func testExplicitSymbols() throws {
        let tokenizer = try Tokenizer(kind: .character, symbols: ["x", "y", "\n"])
        XCTAssertEqual(tokenizer.encode("yx\n"), [2, 1, 3])
        func key(_ body: @autoclosure () throws -> Tokenizer) -> String? {
            do {
                _ = try body()
                return nil
            } catch let LabError.invalidConfig(key, _) { return key } catch { return "\(error)" }
        }
        XCTAssertEqual(key(try Tokenizer(kind: .character, symbols: ["a", "a"])), "symbols")
        XCTAssertEqual(key(try Tokenizer(kind: .character, symbols: ["ab"])), "symbols")
        XCTAssertEqual(key(try Tokenizer(kind: .word, symbols: ["<unk>"])), "symbols")
        XCTAssertEqual(key(try Tokenizer(kind: .word, symbols: ["two words"])), "symbols")
        XCTAssertEqual(key(try Tokenizer(kind: .word, symbols: [""])), "symbols")
    }

    func testSaveLoadRoundTrip() throws {
        let directory = try temporaryDirectory()
        for tokenizer in [
            try Tokenizer.characterLevel(from: "héllo 👋🏽\n\"quoted\" \\ /path\t"),
            try Tokenizer.wordLevel(from: "the small dog sees a red ball near the river ."),
        ] {
            let url = directory.appendingPathComponent("\(tokenizer.kind.rawValue).json")
            try tokenizer.save(to: url)
            XCTAssertEqual(try Tokenizer.load(from: url), tokenizer)
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]
            XCTAssertEqual(json?["type"] as? String, tokenizer.kind.rawValue)
            XCTAssertEqual(json?["unk_token"] as? String, "<unk>")
            XCTAssertEqual(json?["vocab"] as? [String], tokenizer.vocabulary)
        }
        // A checkpoint directory: the file inside it is tokenizer.json.
        let tokenizer = try Tokenizer.characterLevel(from: "abc")
        try tokenizer.save(to: directory)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("tokenizer.json").path))
        XCTAssertEqual(try Tokenizer.load(from: directory), tokenizer)
    }

    func testLoadRefusesCorruptedFiles() throws {
        let directory = try temporaryDirectory()
        let valid = #"{"type":"char","unk_token":"<unk>","vocab":["<unk>","a","b"]}"#
        XCTAssertEqual(
            try Tokenizer.load(from: write(valid, to: directory, as: "valid.json")).vocabulary, ["<unk>", "a", "b"])
        let cases: [(content: String, expected: String)] = [
            (String(valid.prefix(30)), "JSON"),
            (#"{"type":"bpe","unk_token":"<unk>","vocab":["<unk>","a"]}"#, "\"type\""),
            (#"{"type":"char","unk_token":"<unk>","vocab":["a","<unk>"]}"#, "\"vocab\"[0]"),
            (#"{"type":"char","unk_token":"<unk>","vocab":["<unk>","a","a"]}"#, "already has id 1"),
            (#"{"type":"char","unk_token":"<unk>","vocab":["<unk>","ab"]}"#, "exactly one character"),
            (#"{"type":"char","unk_token":"[UNK]","vocab":["<unk>","a"]}"#, "\"unk_token\""),
            (#"{"type":"char","vocab":["<unk>","a"]}"#, "\"unk_token\" is missing"),
            (#"{"type":"char","unk_token":"<unk>","vocab":"ab"}"#, "wrong type"),
        ]
        for (index, (content, expected)) in cases.enumerated() {
            let url = try write(content, to: directory, as: "bad\(index).json")
            XCTAssertThrowsError(try Tokenizer.load(from: url), "case \(index)") { error in
                guard case let LabError.file(path, message) = error else { return XCTFail("case \(index): \(error)") }
                XCTAssertEqual(path, url.path)
                XCTAssertTrue(message.contains(expected), "case \(index): '\(message)' should mention \(expected)")
            }
        }
        let missing = directory.appendingPathComponent("missing.json")
        XCTAssertThrowsError(try Tokenizer.load(from: missing)) { error in
            guard case let LabError.file(path, message) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, missing.path)
            XCTAssertTrue(message.contains("no such file"))
        }
    }

    private func write(_ content: String, to directory: URL, as name: String) throws -> URL {
        let url = directory.appendingPathComponent(name)
        try Data(content.utf8).write(to: url)
        return url
    }

    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tokenizer-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}
