// Benign-cost tests: the undefended pipeline costs nothing, known defences cost what can be computed by
// hand (label-only: KL = −log p_top, top-1 kept), and the report writes its three files.
import Foundation
import LabAPI
import LabCore
import LabDefences
import TestSupport
import XCTest

final class BenignCostTests: XCTestCase {
    func testBaselineIsFreeAndLabelOnlyCostsMinusLogTopProbability() throws {
        let teacher = try BigramTeacher.random(vocabularySize: 10, scale: 1.5, contextLength: 32, seed: 3)
        var rng = LabRNG(seed: 1)
        let tokens = (0..<500).map { _ in rng.int(below: 10) }
        let options = BenignCostOptions(prompts: 20, promptLength: 6, completionTokens: 10, seed: 2)
        let rows = try BenignCost.table(
            teacher: teacher,
            pipelines: [
                ("label_only", DefencePipeline([LabelOnly()])),
                ("temperature", DefencePipeline([TemperatureScaling(temperature: 1)])),
            ],
            benignTokens: tokens, options: options)
        XCTAssertEqual(rows.map(\.defence), ["none", "label_only", "temperature"])
        let none = rows[0]
        XCTAssertEqual(none.positions, 120)
        XCTAssertEqual(none.meanKL, 0, accuracy: 1e-12)
        XCTAssertEqual(none.meanTotalVariation, 0, accuracy: 1e-12)
        XCTAssertEqual(none.top1Agreement, 1)
        XCTAssertEqual(none.perplexityIncrease, 0)
        // Temperature 1 is the identity: same text (same client seeds), same numbers.
        XCTAssertEqual(rows[2].textPerplexity, none.textPerplexity, accuracy: 1e-9)
        // Label-only: KL(one-hot ‖ p) = −log p_top at each position; TV = 1 − p_top.
        let prompts = try BenignCost.prompts(from: tokens, count: 20, length: 6, seed: 2)
        let logits = try teacher.logits(prompts: prompts)
        var kl = 0.0, tv = 0.0
        for l in logits {
            for t in 0..<6 {
                let z = (0..<10).map { Double(l[t * 10 + $0]) }
                let top = exp(z.max()!) / z.map(exp).reduce(0, +)
                kl -= log(top)
                tv += 1 - top
            }
        }
        XCTAssertEqual(rows[1].meanKL, kl / 120, accuracy: 1e-9)
        XCTAssertEqual(rows[1].meanTotalVariation, tv / 120, accuracy: 1e-9)
        XCTAssertEqual(rows[1].top1Agreement, 1)
        // Greedy text is more likely under the teacher than sampled text.
        XCTAssertLessThan(rows[1].perplexityIncrease, 0)
    }
}
