// The attacker's own text on real corpora: `source: split` gives exactly the corpus's attacker part (disjoint
// from what the teacher trains and is evaluated on), `source: file:PATH` encodes the attacker's file with the
// teacher's tokenizer, and both are read from an experiment's strategy parameters with located errors.
import Foundation
import LabCore
import LabData
import LabModel
import XCTest

@testable import LabAPI
@testable import LabAttacks

final class OwnTextSourceTests: XCTestCase {
    private func splitCorpus() throws -> (Corpus, CorpusSpec, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("own-text-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("corpus.txt")
        let lines = (0..<300).map { "line \($0) of the corpus, with words and numbers \($0 * 7)." }
        try Data(lines.joined(separator: "\n").utf8).write(to: file)
        var spec = CorpusSpec.text(path: file.path, tokenizer: .bpe, maxVocabulary: 400)
        (spec.attackerFraction, spec.validationFraction, spec.testFraction) = (0.45, 0.05, 0.05)
        return (try spec.build(), spec, directory)
    }

    func testSplitIsTheAttackerPartAndNeverTheTeachersText() throws {
        let (corpus, spec, _) = try splitCorpus()
        let text = try AttackData.text(.split, seed: 0, corpus: corpus, spec: spec)
        XCTAssertEqual(text.map(Int.init), corpus.attacker)
        let attackerLines = Set(corpus.tokenizer.decode(corpus.attacker).split(separator: "\n"))
        for part in [corpus.train, corpus.validation, corpus.test] {
            XCTAssertTrue(attackerLines.isDisjoint(with: Set(corpus.tokenizer.decode(part).split(separator: "\n"))))
        }
        // Without an attacker part, `split` is an error that says which key to set.
        var plain = spec
        plain.attackerFraction = 0
        XCTAssertThrowsError(try AttackData.text(.split, seed: 0, corpus: try plain.build(), spec: plain)) { error in
            XCTAssertTrue("\(error)".contains("attacker_fraction"), "\(error)")
        }
    }

    func testFileIsEncodedWithTheTeachersTokenizer() throws {
        let (corpus, spec, directory) = try splitCorpus()
        let own = directory.appendingPathComponent("mine.txt")
        try Data("the attacker's own words, 123 — and some more.\n".utf8).write(to: own)
        let text = try AttackData.text(.file(path: own.path), seed: 0, corpus: corpus, spec: spec)
        XCTAssertEqual(corpus.tokenizer.decode(text.map(Int.init)), "the attacker's own words, 123 — and some more.\n")
        XCTAssertThrowsError(
            try AttackData.text(.file(path: own.path + ".missing"), seed: 0, corpus: corpus, spec: spec)
        ) { error in
            XCTAssertTrue("\(error)".contains(".missing"), "\(error)")
        }
    }

    func testStrategyParametersReadSplitAndFile() throws {
        XCTAssertEqual((try StrategyRegistry.make(.ownCorpus(.split)) as? OwnCorpus)?.source, .split)
        XCTAssertEqual(
            (try StrategyRegistry.make(.ownCorpus(.file(path: "/tmp/x.txt"))) as? OwnCorpus)?.source,
            .file(path: "/tmp/x.txt"))
        XCTAssertThrowsError(try StrategyRegistry.make(StrategySpec("own_corpus", ["source": .string("file:")]))) {
            error in
            XCTAssertTrue("\(error)".contains("file:PATH"), "\(error)")
        }
        XCTAssertThrowsError(try StrategyRegistry.make(StrategySpec("own_corpus", ["source": .string("held-out")]))) {
            error in
            XCTAssertTrue("\(error)".contains("split"), "\(error)")
        }
    }
}
