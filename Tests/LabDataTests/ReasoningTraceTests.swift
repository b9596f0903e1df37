// Reasoning-trace tests: the column steps of addition_steps checked against an oracle that adds digit by digit
// on its own, the step checker naming the first wrong step, completions parsed back, answer scoring, and the
// corpus's trace lines, direct lines and held-out problems.
import LabCore
import LabModel
import XCTest

@testable import LabData

final class ReasoningTraceTests: XCTestCase {
    func testStepsSpellColumnAdditionWithCarries() {
        let p = AdditionProblem(a: 347, b: 85)
        XCTAssertEqual(p.prompt, "347+85=")
        XCTAssertEqual(p.steps, ["7+5+0=12", "4+8+1=13", "3+0+1=04"])
        XCTAssertEqual(p.tracedSolution, "[7+5+0=12;4+8+1=13;3+0+1=04;]432")
        XCTAssertEqual(p.directSolution, "[]432")
        // A final carry is the answer's leading digit, with no step of its own.
        XCTAssertEqual(AdditionProblem(a: 99, b: 1).tracedSolution, "[9+1+0=10;9+0+1=10;]100")
        XCTAssertEqual(AdditionProblem(a: 0, b: 0).tracedSolution, "[0+0+0=00;]0")
    }

    func testStepsAgreeWithAnIndependentDigitOracle() {
        var rng = LabRNG(seed: 3, stream: "oracle")
        for _ in 0..<500 {
            let a = rng.int(below: 1_000_000), b = rng.int(below: 1_000)
            let p = AdditionProblem(a: a, b: b)
            // Oracle: the units digit of each step, read units first, plus the last carry, spell the sum.
            var digits = p.steps.map { String($0.last!) }
            if p.steps.last!.dropLast().last == "1" { digits.append("1") }
            XCTAssertEqual(String(digits.reversed().joined().drop { $0 == "0" }).ifEmpty("0"), String(a + b))
            XCTAssertEqual(p.check(steps: p.steps), .valid)
            XCTAssertEqual(ReasoningCompletion(parsing: p.tracedSolution + "\n7+7=").steps, p.steps)
            XCTAssertEqual(AdditionProblem(prompt: p.prompt), p)
        }
    }

    func testCheckerNamesTheFirstWrongStep() {
        let p = AdditionProblem(a: 347, b: 85)
        var steps = p.steps
        steps[1] = "4+8+0=12"
        steps[2] = "9+9+9=99"
        XCTAssertEqual(p.check(steps: steps), .wrongStep(index: 1, expected: "4+8+1=13", found: "4+8+0=12"))
        XCTAssertEqual(p.check(steps: steps).firstWrongStep, 1)
        XCTAssertEqual(p.check(steps: Array(p.steps.prefix(2))), .missingStep(index: 2, expected: "3+0+1=04"))
        XCTAssertEqual(p.check(steps: p.steps + ["0+0+0=00"]), .extraStep(index: 3, found: "0+0+0=00"))
        XCTAssertEqual(p.check(steps: []).firstWrongStep, 0)
        XCTAssertFalse(p.check(steps: []).isValid)
    }

    func testCompletionsParseIntoStepsAndAnswer() {
        XCTAssertEqual(
            ReasoningCompletion(parsing: "[1+2+0=03;]3\nxx"), ReasoningCompletion(steps: ["1+2+0=03"], answer: "3"))
        XCTAssertEqual(ReasoningCompletion(parsing: "[]42"), ReasoningCompletion(steps: [], answer: "42"))
        XCTAssertEqual(ReasoningCompletion(parsing: "42\n"), ReasoningCompletion(steps: nil, answer: "42"))
        // An unclosed think block is no trace: the whole line is the (wrong) answer.
        XCTAssertEqual(ReasoningCompletion(parsing: "[1+2"), ReasoningCompletion(steps: nil, answer: "[1+2"))
        XCTAssertNil(AdditionProblem(prompt: "1+2"))
        XCTAssertNil(AdditionProblem(prompt: "+2="))
        XCTAssertNil(AdditionProblem(prompt: "1+2+3="))
        XCTAssertNil(AdditionProblem(prompt: "99999999999999999999+1="))
    }

    func testAnswerAccuracyScoresOnlyTheAnswer() {
        let problems = [AdditionProblem(a: 12, b: 30), AdditionProblem(a: 5, b: 5)]
        XCTAssertEqual(answerAccuracy(problems: problems) { AdditionProblem(prompt: $0)!.tracedSolution + "\n" }, 1)
        // A wrong trace with the right answer still scores; a right trace with a wrong answer does not.
        XCTAssertEqual(answerAccuracy(problems: problems) { "[nonsense;]" + AdditionProblem(prompt: $0)!.answer }, 1)
        XCTAssertEqual(answerAccuracy(problems: problems) { _ in "[0+0+0=00;]42" }, 0.5)
        // Forcing a direct answer: the prompt carries "[]" and the model writes only the answer.
        var seen: [String] = []
        let forced = answerAccuracy(problems: problems, forcing: "[]") { prompt in
            seen.append(prompt)
            return AdditionProblem(prompt: String(prompt.dropLast(2)))!.answer + "\n"
        }
        XCTAssertEqual(forced, 1)
        XCTAssertEqual(seen, ["12+30=[]", "5+5=[]"])
        XCTAssertEqual(answerAccuracy(problems: [], complete: { _ in "" }), 0)
    }

    func testCorpusWritesTracesAndOneDirectLineInFour() throws {
        var spec = CorpusSpec.tasks(.additionSteps, digits: 1...3)
        (spec.trainTokens, spec.validationTokens, spec.testTokens) = (8_000, 1_000, 1_000)
        let corpus = try spec.build()
        XCTAssertEqual(corpus, try spec.build())
        XCTAssertEqual(corpus.tokenizer.vocabularySize, 17)  // <unk>, newline, + = [ ] ;, ten digits
        let train = corpus.tokenizer.decode(corpus.train).split(separator: "\n").map(String.init)
        var direct = 0
        for (i, line) in train.enumerated() {
            let cut = line.index(after: line.firstIndex(of: "=")!)
            let problem = try XCTUnwrap(AdditionProblem(prompt: String(line[..<cut])), line)
            let completion = ReasoningCompletion(parsing: String(line[cut...]))
            XCTAssertEqual(completion.answer, problem.answer, line)
            if i % 4 == 3 {
                XCTAssertEqual(completion.steps, [], line)
                direct += 1
            } else {
                XCTAssertEqual(problem.check(steps: try XCTUnwrap(completion.steps)), .valid, line)
            }
        }
        XCTAssertGreaterThan(direct, 20)
        let examples = try XCTUnwrap(corpus.examples)
        XCTAssertTrue(examples.allSatisfy { AdditionProblem(prompt: $0.prompt)?.tracedSolution == $0.answer })
        let trainPrompts = Set(train.map { String($0[...$0.firstIndex(of: "=")!]) })
        XCTAssertTrue(trainPrompts.isDisjoint(with: examples.map(\.prompt)), "test problems are held out")
        XCTAssertEqual(Set(examples.map(\.prompt)).count, examples.count)
    }
}

extension String {
    fileprivate func ifEmpty(_ replacement: String) -> String { isEmpty ? replacement : self }
}
