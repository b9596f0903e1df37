import LabCore
import LabModel
// Grammar and task corpus tests: readable deterministic sentences; task lines whose answers are right,
// held-out test prompts, and exact-match scoring of completions.
import XCTest

@testable import LabData

final class GrammarTests: XCTestCase {
    private func small(_ spec: CorpusSpec) -> CorpusSpec {
        var spec = spec
        (spec.trainTokens, spec.validationTokens, spec.testTokens) = (3_000, 500, 500)
        return spec
    }

    func testSentencesAreReadableWordsAndDeterministic() throws {
        let corpus = try small(.grammar(seed: 1)).build()
        XCTAssertEqual(corpus, try small(.grammar(seed: 1)).build())
        XCTAssertNotEqual(corpus.train, try small(.grammar(seed: 2)).build().train)
        XCTAssertNil(corpus.entropyRate)
        XCTAssertEqual(corpus.tokenizer.kind, .word)

        let text = corpus.tokenizer.decode(corpus.test)
        print("grammar sample: \(text.prefix(160))")
        XCTAssertFalse(corpus.test.contains(Tokenizer.unknownID))
        XCTAssertTrue(text.hasSuffix(" ."), "a split ends on a whole sentence")
        let sentences = text.dropLast(2).components(separatedBy: " . ")
        XCTAssertGreaterThan(sentences.count, 10)
        let determiners: Set<String> = ["the", "a", "every"]
        for sentence in sentences {
            let words = sentence.split(separator: " ").map(String.init)
            XCTAssertTrue(determiners.contains(words[0]), "'\(sentence)' should open with a determiner")
            XCTAssertTrue(words.allSatisfy { $0.allSatisfy(\.isLowercase) }, "'\(sentence)'")
            XCTAssertGreaterThanOrEqual(words.count, 3)
        }
    }
}

final class TaskTests: XCTestCase {
    private func build(_ task: CorpusSpec.Task, seed: UInt64 = 0) throws -> Corpus {
        var spec = CorpusSpec.tasks(task, digits: 1...4, length: 2...6, seed: seed)
        (spec.trainTokens, spec.validationTokens, spec.testTokens) = (4_000, 600, 600)
        return try spec.build()
    }

    /// Every line of a split, parsed back into (prompt, answer).
    private func lines(_ corpus: Corpus, _ split: Split) -> [TaskExample] {
        let text = corpus.tokenizer.decode(corpus.tokens(split))
        XCTAssertTrue(text.hasSuffix("\n"))
        return text.split(separator: "\n").map { line -> TaskExample in
            let line = String(line)
            guard let operator_ = line.firstIndex(where: { $0 == "=" || $0 == ">" }) else {
                return TaskExample(prompt: line, answer: "")
            }
            let cut = line.index(after: operator_)
            return TaskExample(prompt: String(line[..<cut]), answer: String(line[cut...]))
        }
    }

    /// The answer computed here, independently of the generator.
    private func solve(_ prompt: String) -> String? {
        if prompt.hasSuffix("=") {
            let operands = prompt.dropLast().split(separator: "+").compactMap { Int($0) }
            return operands.count == 2 ? String(operands[0] + operands[1]) : nil
        }
        let body = prompt.dropLast()
        if body.allSatisfy(\.isLetter) { return String(body.reversed()) }
        if body.allSatisfy(\.isNumber) { return String(body.sorted()) }
        return nil
    }

    func testEveryLineIsCorrect() throws {
        for task in CorpusSpec.Task.allCases {
            let corpus = try build(task)
            XCTAssertEqual(corpus, try build(task))
            for split in Split.allCases {
                for line in lines(corpus, split) {
                    // A traced solution's answer is what follows its think block (ReasoningTraceTests checks the steps).
                    let answer = task == .additionSteps ? ReasoningCompletion(parsing: line.answer).answer : line.answer
                    XCTAssertEqual(solve(line.prompt), answer, "\(task) \(split): \(line.prompt)\(line.answer)")
                    switch task {
                    case .addition, .additionSteps: XCTAssertTrue(line.prompt.hasSuffix("="))
                    case .reversal: XCTAssertTrue(line.prompt.dropLast().allSatisfy(\.isLetter))
                    case .sorting: XCTAssertTrue(line.prompt.dropLast().allSatisfy(\.isNumber))
                    case .mixed: break
                    }
                }
            }
            // The scoring examples are exactly the test split's lines.
            XCTAssertEqual(corpus.examples, lines(corpus, .test))
        }
        let addition = try build(.addition)
        let operands = lines(addition, .train).flatMap { $0.prompt.dropLast().split(separator: "+") }
        XCTAssertTrue(operands.allSatisfy { $0.count <= 4 && ($0.count == 1 || $0.first != "0") })
        XCTAssertTrue(operands.contains { $0.count == 4 } && operands.contains { $0.count == 1 })
    }

    func testTestPromptsAreHeldOut() throws {
        let corpus = try build(.mixed)
        let test = Set(try XCTUnwrap(corpus.examples).map(\.prompt))
        XCTAssertEqual(test.count, corpus.examples?.count, "test problems are distinct")
        let validation = lines(corpus, .validation).map(\.prompt)
        XCTAssertTrue(test.isDisjoint(with: validation))
        XCTAssertTrue(test.isDisjoint(with: lines(corpus, .train).map(\.prompt)))
        XCTAssertTrue(Set(validation).isDisjoint(with: lines(corpus, .train).map(\.prompt)))
    }

    func testExactMatchAccuracy() throws {
        let examples = try XCTUnwrap(try build(.mixed).examples)
        XCTAssertEqual(exactMatchAccuracy(examples: examples) { self.solve($0)! }, 1)
        // Text after the first newline is ignored; a missing newline is fine too.
        XCTAssertEqual(exactMatchAccuracy(examples: examples) { self.solve($0)! + "\n12+3=15\n" }, 1)
        XCTAssertEqual(exactMatchAccuracy(examples: examples) { self.solve($0)! + "0" }, 0)
        XCTAssertEqual(exactMatchAccuracy(examples: examples) { _ in "" }, 0)
        let half = [TaskExample(prompt: "1+1=", answer: "2"), TaskExample(prompt: "ab>", answer: "ba")]
        XCTAssertEqual(exactMatchAccuracy(examples: half) { $0 == "1+1=" ? "2\n" : "ab\n" }, 0.5)
    }

    func testTooSmallProblemSpaceIsAConfigError() {
        // 1-digit addition has 100 problems; 20,000 test tokens would need about 3,000 distinct ones.
        var spec = CorpusSpec.tasks(.addition, digits: 1...1)
        (spec.trainTokens, spec.validationTokens, spec.testTokens) = (1_000, 100, 20_000)
        XCTAssertThrowsError(try spec.build()) { error in
            guard case LabError.invalidConfig(key: "test_tokens", _) = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try CorpusSpec.tasks(.addition, digits: 0...3).build()) { error in
            guard case LabError.invalidConfig(key: "digits", _) = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try CorpusSpec.tasks(.sorting, length: 1...1000).build()) { error in
            guard case LabError.invalidConfig(key: "length", _) = error else { return XCTFail("\(error)") }
        }
    }
}
