// The scripting API as a researcher's Swift file uses it (the example in results/extraction/README.md):
// a teacher with its corpus, one AttackConfig value, `run(against:)`, a curve. Also checks that the
// attacker's own text is what its source says: never the held-out test split, fresh samples of the same
// chain, and a related chain that differs from it.
import Foundation
import LabCore
import LabData
import LabModel
import XCTest

@testable import LabAPI
@testable import LabAttacks
@testable import LabDefences

final class ScriptingTests: XCTestCase {
    func tinyTeacher() throws -> (LanguageModel, Corpus, CorpusSpec) {
        var spec = CorpusSpec.markov(symbols: 4, order: 1, concentration: 0.5, seed: 2)
        spec.trainTokens = 3_000
        spec.validationTokens = 200
        spec.testTokens = 400
        let corpus = try spec.build()
        let gpt = try GPT(
            config: GPTConfig(
                vocabularySize: corpus.tokenizer.vocabularySize, contextLength: 16, width: 8, layers: 1, heads: 2),
            seed: 1)
        return (LanguageModel(model: gpt, tokenizer: corpus.tokenizer, corpusSpec: spec), corpus, spec)
    }

    func testTheReadmeExampleRuns() throws {
        let (teacher, corpus, spec) = try tinyTeacher()

        // — as in the README —
        let target = try ExtractionTarget(
            teacher: teacher, corpus: corpus, spec: spec, defences: [DefenceSpec("top_k", ["k": .number(2)])])
        let attack = AttackConfig(
            strategy: .ownCorpus(.fresh),
            harvest: .distribution,
            student: StudentSpec(width: 8, layers: 1, heads: 2, loss: .soft(temperature: 2, alpha: 0.9), batchSize: 8),
            budget: .queries([30, 60]),
            promptLength: 1...8)
        let curve = try attack.run(against: target)
        // —

        XCTAssertEqual(curve.points.map(\.milestone), [30, 60])
        XCTAssertEqual(curve.defences, "top_k(k=2, renormalise=false)")
        XCTAssertEqual(curve.loss, "soft(τ=2, α=0.9, tail=bucket)")
        XCTAssertNotNil(curve.teacher.entropyRate)
        XCTAssertNotNil(curve.points[0].fidelity.studentPerplexity)
        let json = try JSONEncoder().encode(curve)
        XCTAssertEqual(try JSONDecoder().decode(AnytimeCurve.self, from: json), curve)
    }

    /// The README's example as written (never run here: it needs the trained checkpoint); compiling it
    /// keeps the example in step with the API.
    func readmeExample() throws {
        let teacher = try LanguageModel.load(from: URL(fileURLWithPath: "checkpoints/markov-teacher"))
        guard let spec = teacher.corpusSpec else {
            throw LabError.message("this checkpoint does not record its corpus")
        }
        let target = try ExtractionTarget(
            teacher: teacher, corpus: try spec.build(), spec: spec,
            defences: [DefenceSpec("top_k", ["k": .number(5)])])
        let attack = AttackConfig(
            strategy: .ownCorpus(.fresh),
            harvest: .distribution,
            student: StudentSpec(width: 64, layers: 2, heads: 4, loss: .soft(temperature: 2, alpha: 0.9)),
            budget: .queries([1_000, 3_000, 10_000]),
            promptLength: 1...16)
        let curve = try attack.run(against: target)
        print(curve.points.map(\.fidelity.agreement))
        _ = [StrategySpec.randomTokens, .teacherBootstrap(), .active(poolFactor: 4)]
        _ = [HarvestSpec.topK(5), .echo(17), .completion(maxNewTokens: 16), .label, .logitBias(k: 5)]
        _ = [AttackBudget.tokens([1, 2]), .dollars([0.01, 0.1])]
    }

    func testAttackerTextComesFromItsSource() throws {
        let (_, corpus, spec) = try tinyTeacher()
        let data = try AttackData(corpus: corpus, spec: spec, windows: 4, length: 8)
        XCTAssertEqual(data.heldOut.flatMap { $0 }.map(Int.init), Array(corpus.test.prefix(32)))
        XCTAssertEqual(try data.attackerText(.train, 0).map(Int.init), corpus.train)
        let fresh = try data.attackerText(.fresh, 5), again = try data.attackerText(.fresh, 5),
            other = try data.attackerText(.fresh, 6)
        XCTAssertEqual(fresh, again)
        XCTAssertNotEqual(fresh, other)
        XCTAssertNotEqual(fresh.map(Int.init), corpus.train)
        // A fresh sample follows the same chain: its bigram frequencies match the train split's.
        func bigrams(_ s: [Int]) -> [Double] {
            var counts = [Double](repeating: 0, count: 25)
            for (a, b) in zip(s, s.dropFirst()) { counts[a * 5 + b] += 1 }
            return counts.map { $0 / Double(s.count - 1) }
        }
        let tv = { (a: [Double], b: [Double]) in zip(a, b).reduce(0) { $0 + abs($1.0 - $1.1) } / 2 }
        let train = bigrams(corpus.train), freshCounts = bigrams(fresh.map(Int.init))
        let related = bigrams(try data.attackerText(.related(mix: 1), 5).map(Int.init))
        XCTAssertLessThan(tv(train, freshCounts), 0.05)
        XCTAssertGreaterThan(tv(train, related), 2 * tv(train, freshCounts))
        var grammar = CorpusSpec.grammar()
        (grammar.trainTokens, grammar.validationTokens, grammar.testTokens) = (300, 50, 50)
        let words = try AttackData(corpus: try grammar.build(), spec: grammar, windows: 1, length: 4)
        XCTAssertEqual(
            ExtractionFixture.invalidKey { try words.attackerText(.related(mix: 0.5), 0) }, "strategy.source")
        XCTAssertGreaterThan(try words.attackerText(.fresh, 1).count, 0)
    }
}
