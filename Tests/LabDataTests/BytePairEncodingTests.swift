// Byte-level BPE tests: the GPT-2 pre-tokenizer on hand-checked cases, round trips over Unicode, deterministic
// training with the stated tie-break, the tokenizer.json format (stable bytes, refusals), and — when
// DISTILL_LAB_PYTHON is set — ids equal to Hugging Face tokenizers' and transformers' on thousands of strings.
import Foundation
import LabCore
import XCTest

@testable import LabModel

final class BytePairEncodingTests: XCTestCase {
    func testPreTokenizerSplitsLikeGPT2sRegex() {
        let cases: [(String, [String])] = [
            ("Hello world", ["Hello", " world"]),
            ("I'm here's they'll we've I'd", ["I", "'m", " here", "'s", " they", "'ll", " we", "'ve", " I", "'d"]),
            ("DON'T", ["DON", "'", "T"]),
            ("a  b", ["a", " ", " b"]),
            ("x\n\ny", ["x", "\n", "\n", "y"]),
            ("trailing   ", ["trailing", "   "]),
            ("123abc 45", ["123", "abc", " 45"]),
            (" !!?x", [" !!?", "x"]),
            ("\tword", ["\t", "word"]),
            ("naïve café", ["naïve", " café"]),
            ("e\u{301}", ["e", "\u{301}"]),
            ("日本語 テスト", ["日本語", " テスト"]),
            ("a\u{00A0}b", ["a", "\u{00A0}", "b"]),
            ("½ ⅷ", ["½", " ⅷ"]),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(ByteLevel.preTokens(text), expected, "pre-tokens of \(text.debugDescription)")
        }
    }

    func testByteAlphabetIsGPT2s() {
        XCTAssertEqual(ByteLevel.unicode[Int(UInt8(ascii: "A"))], "A")
        XCTAssertEqual(ByteLevel.unicode[0x20], "\u{120}")  // Ġ
        XCTAssertEqual(ByteLevel.unicode[0x0A], "\u{10A}")  // Ċ
        XCTAssertEqual(Set(ByteLevel.unicode).count, 256)
        for byte in 0..<256 { XCTAssertEqual(ByteLevel.byteOf[ByteLevel.unicode[byte]], UInt8(byte)) }
    }

    func testTrainingJoinsTheMostFrequentPairAndBreaksTiesByTheSmallerPair() throws {
        // Pairs (a,a), (a,b), (b,b) occur twice each: the smallest ids, (a,a), go first; then (b,b) beats
        // (aa,b) because b's id is below aa's; then aa+bb. " aabb"'s space pair occurs once: no merge.
        let model = try BytePairEncoding.train(on: "aabb aabb", vocabularySize: 1000)
        let spelled = model.merges.map { ByteLevel.spelling(of: model.tokens[$0.result] ?? []) }
        XCTAssertEqual(spelled, ["aa", "bb", "aabb"])
        XCTAssertEqual(model.tokens.count, 257 + 3)
        XCTAssertEqual(model.merges[0].result, 257)
    }

    func testTrainingIsDeterministicAndStopsAtTheVocabularySize() throws {
        let text = Self.sampleStrings(count: 400, seed: 3).joined(separator: "\n")
        let a = try Tokenizer.bytePairEncoding(trainedOn: text, vocabularySize: 500)
        let b = try Tokenizer.bytePairEncoding(trainedOn: text, vocabularySize: 500)
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.huggingFaceJSON(), b.huggingFaceJSON())
        XCTAssertEqual(a.vocabularySize, 500)
        XCTAssertLessThan(a.encode(text).count, text.utf8.count / 2)
        XCTAssertThrowsError(try BytePairEncoding.train(on: text, vocabularySize: 256)) { error in
            XCTAssertTrue("\(error)".contains("max_vocabulary"), "\(error)")
        }
    }

    func testRoundTripsOverUnicode() throws {
        let strings = Self.sampleStrings(count: 600, seed: 5)
        let tokenizer = try Tokenizer.bytePairEncoding(trainedOn: strings.joined(separator: " "), vocabularySize: 600)
        for s in strings + ["", " ", "\u{FFFD}", "<unk>", "\r\n\r\n", "👩‍👩‍👧 🇫🇷"] {
            let ids = tokenizer.encode(s)
            XCTAssertFalse(ids.contains(Tokenizer.unknownID))
            XCTAssertEqual(tokenizer.decode(ids), s)
        }
        // A character split across tokens decodes once its bytes are joined; a lone partial byte decodes as U+FFFD.
        let euro = tokenizer.encode("€")
        XCTAssertEqual(tokenizer.decode(euro), "€")
        XCTAssertEqual(tokenizer.decode([tokenizer.bytePairEncoding?.byteToken[0xE2] ?? 0]), "\u{FFFD}")
    }

    func testTokenizerJSONIsHuggingFacesFormatWithStableBytesAndLoadsBack() throws {
        let text = Self.sampleStrings(count: 300, seed: 7).joined(separator: "\n")
        let tokenizer = try Tokenizer.bytePairEncoding(trainedOn: text, vocabularySize: 400)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bpe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("tokenizer.json")
        try tokenizer.save(to: url)
        let bytes = try Data(contentsOf: url)
        XCTAssertEqual(bytes, tokenizer.huggingFaceJSON())
        let head = String(decoding: bytes.prefix(60), as: UTF8.self)
        XCTAssertTrue(head.hasPrefix("{\n  \"version\": \"1.0\",\n  \"truncation\": null,"), head)
        let json = try JSONSerialization.jsonObject(with: bytes) as? [String: Any]
        let model = json?["model"] as? [String: Any]
        XCTAssertEqual(model?["type"] as? String, "BPE")
        XCTAssertEqual((model?["vocab"] as? [String: Int])?.count, 400)
        XCTAssertEqual((model?["vocab"] as? [String: Int])?["<unk>"], 0)
        let loaded = try Tokenizer.load(from: url)
        XCTAssertEqual(loaded, tokenizer)
        XCTAssertEqual(loaded.huggingFaceJSON(), bytes)
        // The generic Codable path reads what it writes, too.
        XCTAssertEqual(try JSONDecoder().decode(Tokenizer.self, from: JSONEncoder().encode(tokenizer)), tokenizer)
    }

    func testLoadRefusesPipelinesTheLabCannotReproduce() throws {
        let tokenizer = try Tokenizer.bytePairEncoding(trainedOn: "hello hello world world", vocabularySize: 260)
        let original = String(decoding: tokenizer.huggingFaceJSON(), as: UTF8.self)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bpe-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        let edits: [(String, String, String)] = [
            ("\"add_prefix_space\": false", "\"add_prefix_space\": true", "pre_tokenizer"),
            ("\"normalizer\": null", "\"normalizer\": {\"type\": \"NFC\"}", "normalizer"),
            ("\"type\": \"BPE\"", "\"type\": \"WordPiece\"", "model.type"),
            ("\"added_tokens\": []", "\"added_tokens\": [{\"id\": 0, \"content\": \"<unk>\"}]", "added_tokens"),
        ]
        for (index, (from, to, key)) in edits.enumerated() {
            let url = directory.appendingPathComponent("t\(index).json")
            guard let range = original.range(of: from) else { return XCTFail("no \(from) in the file") }
            try Data(original.replacingCharacters(in: range, with: to).utf8).write(to: url)
            XCTAssertThrowsError(try Tokenizer.load(from: url)) { error in
                XCTAssertTrue("\(error)".contains(key) && "\(error)".contains(url.path), "\(error)")
            }
        }
    }

    /// Compares ids with Hugging Face over 3,000 strings: fortune-like English, every script and space class
    /// the pre-tokenizer distinguishes, contractions, digits, emoji; skipped without DISTILL_LAB_PYTHON.
    func testIdsEqualHuggingFaceTokenizersAndTransformers() throws {
        guard let python = ProcessInfo.processInfo.environment["DISTILL_LAB_PYTHON"], !python.isEmpty else {
            throw XCTSkip(
                "DISTILL_LAB_PYTHON is not set (bash scripts/pyenv.sh prints an interpreter with tokenizers installed)")
        }
        let strings = Self.sampleStrings(count: 3000, seed: 11)
        let tokenizer = try Tokenizer.bytePairEncoding(
            trainedOn: Self.sampleStrings(count: 3000, seed: 12).joined(separator: "\n"), vocabularySize: 2000)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bpe-parity-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        let tokenizerURL = directory.appendingPathComponent("tokenizer.json")
        let stringsURL = directory.appendingPathComponent("strings.json")
        let outURL = directory.appendingPathComponent("ids.json")
        try tokenizer.save(to: tokenizerURL)
        try JSONSerialization.data(withJSONObject: strings).write(to: stringsURL)

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("scripts/check_tokenizer_parity.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [
            script.path, "--tokenizer", tokenizerURL.path, "--strings", stringsURL.path, "--out", outURL.path,
        ]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            if process.terminationStatus == 1 {
                throw XCTSkip(
                    "the Python environment lacks tokenizers (pip install -r scripts/python/requirements-text.txt)")
            }
            return XCTFail("check_tokenizer_parity.py exited with \(process.terminationStatus)")
        }
        let result = try JSONSerialization.jsonObject(with: Data(contentsOf: outURL)) as? [String: Any]
        let theirs = try XCTUnwrap(result?["tokenizers"] as? [[Int]])
        let decoded = try XCTUnwrap(result?["decoded"] as? [String])
        let fast = result?["transformers"] as? [[Int]]
        XCTAssertEqual(theirs.count, strings.count)
        var mismatches = 0, fastMismatches = 0, decodeMismatches = 0
        var first: String?
        for (i, s) in strings.enumerated() {
            let ours = tokenizer.encode(s)
            if ours != theirs[i] {
                mismatches += 1
                if first == nil { first = "\(s.debugDescription): lab \(ours), tokenizers \(theirs[i])" }
            }
            if let fast, ours != fast[i] { fastMismatches += 1 }
            // Scalar by scalar: String's == would call canonical-equivalent spellings equal.
            if !tokenizer.decode(ours).unicodeScalars.elementsEqual(decoded[i].unicodeScalars) { decodeMismatches += 1 }
        }
        XCTAssertEqual(mismatches, 0, first ?? "")
        XCTAssertEqual(fastMismatches, 0)
        XCTAssertEqual(decodeMismatches, 0)
        let versions = result?["versions"] as? [String: Any]
        print(
            "BPE parity: \(strings.count) strings, \(strings.reduce(0) { $0 + tokenizer.encode($1).count }) tokens; mismatches tokenizers \(mismatches), transformers \(fast == nil ? "not installed" : String(fastMismatches)), decode \(decodeMismatches); versions \(versions ?? [:])"
        )
    }

    // MARK: Test strings

    /// Seeded strings that exercise every branch of the pre-tokenizer and multi-byte UTF-8.
    static func sampleStrings(count: Int, seed: UInt64) -> [String] {
        let pieces = [
            "the", "The", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "it's", "don't", "I'm", "we're",
            "you've", "she'll", "he'd", "O'Neil", "'S", "'LL", "rock'n'roll", "42", "3.14159", "1,000,000", "2nd",
            "½", "Ⅻ", "٣", "naïve", "café", "résumé", "Ångström", "e\u{301}", "ñ", "straße", "Œuvre", "日本語", "中文",
            "テスト", "한국어", "Ελληνικά", "русский", "עברית", "العربية", "हिन्दी", "ไทย", "👋🏽", "👩‍👩‍👧", "🇫🇷", "🙂",
            "€", "£5", "$10.00", "—", "–", "…", "«", "»", "“quoted”", "‘single’", "!", "?!", "...", "--", "()", "[x]",
            "{y}", "<tag>", "a@b.com", "http://x.org/a?b=c", "#hash", "100%", "C++", "x_y", "snake_case", "CamelCase",
            "\u{200B}", "\u{FEFF}", "\u{00AD}", "©", "™", "°C", "µs", "∑", "√2", "≠", "→", "♥", "\u{1F600}",
        ]
        let spaces = [
            " ", " ", " ", " ", "  ", "   ", "\n", "\n\n", "\t", " \n", "\r\n", "\u{00A0}", "\u{3000}", "\u{2028}",
            "\u{2003}", "",
        ]
        var rng = LabRNG(seed: seed, stream: "bpe-test-strings")
        return (0..<count).map { _ in
            var s = rng.int(below: 8) == 0 ? spaces[rng.int(below: spaces.count)] : ""
            for _ in 0..<(1 + rng.int(below: 12)) {
                s += pieces[rng.int(below: pieces.count)]
                s += spaces[rng.int(below: spaces.count)]
            }
            return s
        }
    }
}
