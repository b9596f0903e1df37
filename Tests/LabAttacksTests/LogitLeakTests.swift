// Logit-leak attack tests (Carlini et al. 2024): the exact width of small random teachers in full and
// top-k + logit-bias modes, the query count the ledger charges, the recovered projection, what noise and
// a refusing policy do, and the width rule and alignment against hand-built spectra and matrices.
import Foundation
import LabCore
import LabModel
import XCTest

@testable import LabAPI
@testable import LabAttacks
@testable import LabDefences

final class LogitLeakTests: XCTestCase {
    /// An API around `teacher` with one open, unlimited account "attacker".
    private func api(
        _ teacher: any TeacherAPI, policy: APIPolicy = APIPolicy(), defences: [any Defence] = [], seed: UInt64 = 5
    ) throws -> DefendedAPI {
        let ledger = Ledger()
        try ledger.open("attacker")
        return DefendedAPI(
            teacher: teacher, policy: policy, defences: DefencePipeline(defences), ledger: ledger, seed: seed)
    }

    private func teacher(width: Int, vocabularySize: Int, seed: UInt64 = 1, lnfBiasStd: Double = 0.1) throws
        -> GPTTeacher
    {
        try LogitLeak.randomTeacher(
            width: width, vocabularySize: vocabularySize, layers: 1, contextLength: 12,
            finalLayerNormBiasStd: lnfBiasStd, seed: seed)
    }

    func testFullDistributionsGiveTheExactWidthAndTheProjection() throws {
        for (C, V) in [(8, 64), (16, 96), (32, 128)] {
            let t = try teacher(width: C, vocabularySize: V)
            let a = try api(t)
            var options = LogitLeakOptions(mode: .full, vectors: C + 24, seed: 2)
            options.promptLength = 6
            let r = try LogitLeakAttack(options).run(
                against: a, account: "attacker", truth: OutputProjection(model: t.model))
            XCTAssertEqual(r.estimate.width, C, "C=\(C) V=\(V): spectrum \(r.singularValues.prefix(C + 2))")
            XCTAssertEqual(r.widthFound, true)
            // Float32 logits: the tail sits ~7 decades under the signal.
            XCTAssertGreaterThan(r.estimate.logGap, 8)
            XCTAssertFalse(r.estimate.saturated)
            let alignment = try XCTUnwrap(r.alignment)
            XCTAssertLessThan(alignment.rmsError, 1e-4, "C=\(C)")
            // Without the per-column constant, the column means of W are out of reach of centred logits.
            XCTAssertGreaterThan(alignment.linearRMSError, alignment.rmsError)
            // One distribution query per vector, every one charged.
            XCTAssertEqual(r.usage.queries, options.vectors)
            XCTAssertEqual(a.ledger.usage("attacker"), r.usage)
            XCTAssertEqual(r.usage.inputTokens, options.vectors * options.promptLength)
            XCTAssertEqual(r.unrecoveredEntries, 0)
        }
    }

    func testTopKWithLogitBiasRebuildsTheLogitsAtCeilVOverKMinusOneQueriesPerVector() throws {
        let C = 16, V = 64, k = 8
        let t = try teacher(width: C, vocabularySize: V)
        let a = try api(t, policy: APIPolicy(maxLogprobs: k, logitBias: .capped(magnitude: 100)))
        var options = LogitLeakOptions(mode: .topKBias, vectors: 40, seed: 3)
        options.topK = k
        options.promptLength = 5
        let r = try LogitLeakAttack(options).run(
            against: a, account: "attacker", truth: OutputProjection(model: t.model))
        XCTAssertEqual(r.estimate.width, C)
        XCTAssertEqual(r.unrecoveredEntries, 0)
        XCTAssertLessThan(try XCTUnwrap(r.alignment).rmsError, 1e-4)
        // ⌈(V − 1)/(k − 1)⌉ = ⌈63/7⌉ = 9 completion queries per vector, one output token each.
        XCTAssertEqual(r.queriesPerVector, 9)
        let ledger = try XCTUnwrap(a.ledger.usage("attacker"))
        XCTAssertEqual(ledger.queries, 40 * 9)
        XCTAssertEqual(ledger.outputTokens, 40 * 9)
        XCTAssertEqual(ledger.inputTokens, 40 * 9 * 5)
        XCTAssertEqual(ledger, r.usage)
    }

    func testTopKBiasLogitsEqualFullLogitsUpToTheRowConstant() throws {
        // The same prompts two ways: the rebuilt rows match the full distributions' rows to rounding.
        let t = try teacher(width: 8, vocabularySize: 40)
        var options = LogitLeakOptions(mode: .full, vectors: 6, seed: 9)
        options.topK = 5
        let full = try LogitLeak.harvest(api: try api(t), account: "attacker", options: options)
        options.mode = .topKBias
        let rebuilt = try LogitLeak.harvest(api: try api(t), account: "attacker", options: options)
        XCTAssertEqual(full.matrix.count, rebuilt.matrix.count)
        // Distribution queries run the padded batch forward, completions the KV-cached decode: the same
        // logits up to Float32 rounding.
        for (x, y) in zip(full.matrix, rebuilt.matrix) { XCTAssertEqual(x, y, accuracy: 1e-5) }
    }

    func testLargeLogitNoiseDestroysTheGap() throws {
        let C = 16, V = 96
        let t = try teacher(width: C, vocabularySize: V)
        let options = LogitLeakOptions(mode: .full, vectors: 64, seed: 4)
        let clean = try LogitLeakAttack(options).run(against: try api(t), account: "attacker")
        // Logits of a random-init GPT spread ~0.1; noise of σ = 1 on each drowns every direction.
        let noisy = try LogitLeakAttack(options).run(
            against: try api(t, defences: [GaussianNoise(scale: 1, domain: .logits)]),
            account: "attacker")
        XCTAssertEqual(clean.estimate.width, C)
        XCTAssertNotEqual(noisy.estimate.width, C)
        XCTAssertLessThan(noisy.estimate.logGap, 2, "the largest gap left is of noise-bulk size")
        XCTAssertGreaterThan(clean.estimate.logGap, 4 * noisy.estimate.logGap)
    }

    func testRefusingLogitBiasWithLogprobsBlocksTopKBiasAndChargesNothing() throws {
        let t = try teacher(width: 8, vocabularySize: 32)
        let a = try api(t, policy: APIPolicy(logitBias: .refusedWithLogprobs))
        let options = LogitLeakOptions(mode: .topKBias, vectors: 12, seed: 1)
        XCTAssertThrowsError(try LogitLeakAttack(options).run(against: a, account: "attacker")) { error in
            XCTAssertEqual(error as? APIRefusal, APIRefusal(query: 0, reason: .logitBiasWithLogprobs(.completion)))
        }
        XCTAssertEqual(a.ledger.usage("attacker"), .zero)
        // The same policy leaves the full-distribution surface (no bias) open.
        XCTAssertEqual(
            try LogitLeakAttack(LogitLeakOptions(mode: .full, vectors: 12)).run(against: a, account: "attacker")
                .estimate.width, 8)
    }

    func testTopKWithoutBiasLeavesMostEntriesUnrecovered() throws {
        let t = try teacher(width: 8, vocabularySize: 48)
        var options = LogitLeakOptions(mode: .topK, vectors: 30, seed: 2)
        options.topK = 5
        let r = try LogitLeakAttack(options).run(against: try api(t), account: "attacker")
        XCTAssertEqual(r.unrecoveredEntries, 30 * (48 - 5))
        XCTAssertEqual(r.usage.queries, 30)
    }

    func testGPT2InitialisationHasLogitRankCMinusOne() throws {
        // LayerNorm centres h; with ln_f's bias at GPT-2's zero init, W·h spans C − 1 dimensions only.
        let t = try teacher(width: 16, vocabularySize: 64, lnfBiasStd: 0)
        let r = try LogitLeakAttack(LogitLeakOptions(mode: .full, vectors: 48)).run(
            against: try api(t), account: "attacker")
        XCTAssertEqual(r.estimate.width, 15)
        XCTAssertGreaterThan(r.estimate.logGap, 8)
    }

    func testBudgetIsEnforcedThroughTheLedger() throws {
        let t = try teacher(width: 8, vocabularySize: 32)
        let ledger = Ledger()
        try ledger.open("attacker", budget: Budget(maxQueries: 50))
        let a = DefendedAPI(teacher: t, ledger: ledger)
        var options = LogitLeakOptions(mode: .full, vectors: 80)
        options.batchSize = 16
        XCTAssertThrowsError(try LogitLeakAttack(options).run(against: a, account: "attacker")) { error in
            guard case .budgetExceeded? = (error as? APIRefusal)?.reason else { return XCTFail("\(error)") }
        }
        XCTAssertLessThanOrEqual(try XCTUnwrap(ledger.usage("attacker")).queries, 50)
    }

    func testOptionsTheTeacherCannotServeAreRejectedByKey() throws {
        let t = try teacher(width: 8, vocabularySize: 32)
        func key(_ o: LogitLeakOptions) -> String? {
            do {
                _ = try LogitLeak.harvest(api: try api(t), account: "attacker", options: o)
                return nil
            } catch let LabError.invalidConfig(key, _) {
                return key
            } catch {
                return "\(error)"
            }
        }
        var o = LogitLeakOptions(mode: .topKBias)
        o.topK = 1
        XCTAssertEqual(key(o), "top_k")
        o = LogitLeakOptions(mode: .topKBias)
        o.promptLength = 12  // the context is 12 and a completion needs one more position
        XCTAssertEqual(key(o), "prompt_length")
        o = LogitLeakOptions(mode: .full, vectors: 1)
        XCTAssertEqual(key(o), "vectors")
    }

    // MARK: The rule and the alignment on hand-built inputs

    func testWidthRuleOnHandBuiltSpectra() {
        // The largest ratio of neighbours, by hand: 8/1e-5 between the 3rd and 4th.
        var e = LogitLeak.estimateWidth(singularValues: [10, 9, 8, 1e-5, 9e-6, 8e-6], vectors: 6, vocabularySize: 100)
        XCTAssertEqual(e.width, 3)
        XCTAssertEqual(e.logGap, log(8 / 1e-5), accuracy: 1e-12)
        XCTAssertEqual(e.runnerUpLogGap, log(9.0 / 8), accuracy: 1e-12)  // 9/8, twice
        // n ≥ V: the structural zero s_V of centred rows is skipped, not taken for an infinite gap.
        e = LogitLeak.estimateWidth(singularValues: [5, 4, 3, 1e-4, 0], vectors: 10, vocabularySize: 5)
        XCTAssertEqual(e.searched, 4)
        XCTAssertEqual(e.width, 3)
        // A gap at the end of the searched spectrum is flagged.
        e = LogitLeak.estimateWidth(singularValues: [5, 4, 3, 1e-4], vectors: 4, vocabularySize: 50)
        XCTAssertTrue(e.saturated)
    }

    func testGavishDonohoCountsSpikesAboveAGaussianBulk() throws {
        // Rank 5 of strength ~50 plus white N(0, 1) noise on a (200, 120) matrix: 5 spikes clear the edge.
        var rng = LabRNG(seed: 11)
        let n = 200, V = 121, d = 5
        let a = (0..<(n * d)).map { _ in rng.normal() }, b = (0..<(d * V)).map { _ in rng.normal() }
        var m = [Double](repeating: 0, count: n * V)
        for i in 0..<n {
            var row = (0..<V).map { j in (0..<d).reduce(0.0) { $0 + a[i * d + $1] * b[$1 * V + j] } + rng.normal() }
            _ = LogitLeak.fillAndCentre(&row)
            m.replaceSubrange((i * V)..<((i + 1) * V), with: row)
        }
        let s = try BLAS.svdDouble(m, rows: n, columns: V).s
        XCTAssertEqual(LogitLeak.estimateWidth(singularValues: s, vectors: n, vocabularySize: V).bulkEdgeWidth, d)
    }

    func testProjectionResidualAgainstTheClosedForm() {
        // Basis e1, e2 of R^4; M's rows outside span{e1, e2} are the residual.
        let basis: [[Double]] = [[1, 0, 0, 0], [1, 1, 0, 0]]
        let m: [Double] = [1, 2, 3, 4, 5, 6, 7, 8]  // (4, 2)
        let r = LogitLeak.projectionResidual(of: m, rows: 4, columns: 2, onto: basis)
        XCTAssertEqual(r, (25.0 + 36 + 49 + 64).squareRoot(), accuracy: 1e-12)
        // A dependent vector adds nothing.
        XCTAssertEqual(
            LogitLeak.projectionResidual(of: m, rows: 4, columns: 2, onto: basis + [[2, 1, 0, 0]]), r, accuracy: 1e-12)
    }

    func testRowsAreCentredAndGapsFilledWithTheRowMinimum() {
        var row: [Double] = [-1, .nan, -3, -.infinity]
        XCTAssertEqual(LogitLeak.fillAndCentre(&row), 2)
        // Filled: [-1, -3, -3, -3], mean -2.5.
        for (x, y) in zip(row, [1.5, -0.5, -0.5, -0.5]) { XCTAssertEqual(x, y, accuracy: 1e-15) }
    }

    func testBiasBlocksCoverEveryTokenButTheReferenceOnce() {
        let blocks = LogitLeak.biasBlocks(vocabularySize: 10, reference: 3, perQuery: 4)
        XCTAssertEqual(blocks, [[0, 1, 2, 4], [5, 6, 7, 8], [9]])
        XCTAssertEqual(LogitLeakOptions(mode: .topKBias).queriesPerVector(vocabularySize: 10), 1)
        var o = LogitLeakOptions(mode: .topKBias)
        o.topK = 5
        XCTAssertEqual(o.queriesPerVector(vocabularySize: 10), blocks.count)
    }
}
