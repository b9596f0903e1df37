// The reports the CLI writes outside the runner: the benign-cost table as Markdown, CSV and JSON, and one
// attack's curve as Markdown and CSV.
import Foundation
import LabAPI
import LabAttacks
import LabData
import LabDefences
import LabExperiments
import LabModel
import TestSupport
import XCTest

final class ReportTests: XCTestCase {
    func testReportWritesMarkdownCSVAndJSON() throws {
        let teacher = try BigramTeacher.random(vocabularySize: 8, contextLength: 16, seed: 1)
        let options = BenignCostOptions(prompts: 4, promptLength: 3, completionTokens: 4)
        let rows = try BenignCost.defaultsTable(
            teacher: teacher, benignTokens: Array(0..<8) + Array(0..<8), options: options)
        XCTAssertEqual(rows.map(\.defence), ["none"] + DefenceRegistry.names)
        let report = BenignCostReport(
            teacher: "bigram", vocabularySize: 8, contextLength: 16, options: options, rows: rows)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("benign-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try report.write(to: dir)
        XCTAssertEqual(files.map(\.lastPathComponent), ["benign_cost.md", "benign_cost.csv", "benign_cost.json"])
        let csv = try String(contentsOf: files[1], encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.count, rows.count + 1)
        let back = try JSONDecoder().decode(BenignCostReport.self, from: Data(contentsOf: files[2]))
        XCTAssertEqual(back.rows, rows)
        XCTAssertTrue(report.markdown.contains("| none |"))
        XCTAssertNotNil(
            Fixture.error { try BenignCostOptions(promptLength: 10, completionTokens: 10).validate(contextLength: 16) })
    }

    func testACurveRendersOneRowPerMilestone() throws {
        var spec = CorpusSpec.markov(symbols: 4, order: 1, concentration: 0.5, seed: 2)
        spec.trainTokens = 3_000
        spec.validationTokens = 200
        spec.testTokens = 400
        let corpus = try spec.build()
        let gpt = try GPT(
            config: GPTConfig(
                vocabularySize: corpus.tokenizer.vocabularySize, contextLength: 16, width: 8, layers: 1, heads: 2),
            seed: 1)
        let target = try ExtractionTarget(
            teacher: LanguageModel(model: gpt, tokenizer: corpus.tokenizer, corpusSpec: spec), corpus: corpus,
            spec: spec)
        let attack = AttackConfig(
            strategy: .ownCorpus(.fresh), harvest: .distribution,
            student: StudentSpec(width: 8, layers: 1, heads: 2, batchSize: 8), budget: .queries([20, 40]),
            promptLength: 1...8)
        let curve = try attack.run(against: target)
        XCTAssertTrue(curve.markdownTable.contains("| 40 |"))
        XCTAssertEqual(curve.csv.split(separator: "\n").count, 3)
    }
}
