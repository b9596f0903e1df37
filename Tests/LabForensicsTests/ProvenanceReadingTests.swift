// Reading-mode provenance on a GPT student (Provenance.trace(student:…)), and the simulated campaign's
// counter-moves and options: a GPT trained on one account's KGW text names that account among 200 from its
// predictions on clean provider text, a GPT trained on clean text names nobody; resampling every harvested
// token erases the trace; bad options are refused with the key named. Not the grid (Experiments/forensics*.yaml).
import Foundation
import LabCore
import LabData
import LabDefences
import LabForensics
import LabModel
import XCTest

final class ProvenanceReadingTests: XCTestCase {
    static let secret = "provider-secret"

    /// A tiny GPT trained for 80 steps on `texts` (V = 48, one layer).
    static func student(_ texts: [[Int32]], seed: UInt64) throws -> GPT {
        let gpt = try GPT(
            config: GPTConfig(vocabularySize: 48, contextLength: 16, width: 16, layers: 1, heads: 2), seed: seed)
        var training = TrainingConfig()
        training.steps = 80
        training.batchSize = 8
        training.learningRate = 2e-2
        training.warmupSteps = 5
        training.evalInterval = 0
        var batches = try BatchSampler(
            tokens: texts.flatMap { $0 }.map(Int.init), batchSize: 8, sequenceLength: 16, seed: seed + 1)
        _ = try Trainer(model: gpt, config: training).train(data: &batches)
        return gpt
    }

    func testReadingModeOnAGPTStudentNamesItsAccountOnly() throws {
        let V = 48, teacher = ProvenanceTests.Bigram(V: V, scale: 2, seed: 6)
        let accounts = (0..<200).map { "acct-\($0)" }, proxy = accounts[123]
        let template = try KGWWatermark(gamma: 0.25, delta: 3, key: 0, vocabularySize: V)
        let mark = try AccountKeys.watermark(template, secret: Self.secret, account: proxy)
        let served = (0..<30).map { teacher.sample(length: 200, watermark: mark, seed: 100 + UInt64($0)) }
        let clean = (0..<30).map { teacher.sample(length: 200, watermark: nil, seed: 300 + UInt64($0)) }
        // The provider reads the suspect on its own unwatermarked text: with h = 1 every context is one token,
        // so any text visits the contexts whose green lists a key fixes.
        let probe = (0..<10).map { teacher.sample(length: 100, watermark: nil, seed: 500 + UInt64($0)) }

        let distilled = try Self.student(served, seed: 2)
        let report = try Provenance.trace(
            student: distilled, texts: probe, accounts: accounts, secret: Self.secret, watermark: template)
        print(
            "reading mode, distilled GPT: top \(report.rows[0].account) p \(report.rows[0].pValue) over \(report.rows[0].scored) tuples; next p \(report.rows[1].pValue)"
        )
        XCTAssertEqual(report.mode, .reading)
        XCTAssertEqual(report.rows[0].account, proxy)
        XCTAssertEqual(report.accused, [proxy])

        let control = try Provenance.trace(
            student: try Self.student(clean, seed: 2), texts: probe, accounts: accounts, secret: Self.secret,
            watermark: template)
        print("reading mode, clean GPT: smallest p \(control.rows[0].pValue)")
        XCTAssertEqual(control.accused, [])
        XCTAssertThrowsError(
            try Provenance.trace(
                student: distilled, texts: probe, accounts: accounts, secret: Self.secret,
                watermark: try KGWWatermark(key: 0, vocabularySize: 64)))
    }

    /// The campaign's GPT student, read in reading mode: trained 150 steps on one proxy's whole harvest it names the
    /// proxy among 100 accounts; it needs the KGW scheme.
    func testCampaignGPTStudentInReadingMode() throws {
        var c = ProvenanceCampaign.Config()
        c.accounts = 100
        c.trainingTokens = 10_000
        c.suspectTokens = 1000
        c.responseTokens = 50
        c.student = .gpt
        c.studentSteps = 150
        let o = try ProvenanceCampaign.run(c, seed: 2)
        print("campaign GPT student, reading mode: log10 p of the proxy \(o.proxyLog10P)")
        XCTAssertEqual(o.identificationRate, 1)
        XCTAssertEqual(o.anyFalseAccusation, 0)
        c.scheme = .gumbel
        XCTAssertThrowsError(try ProvenanceCampaign.run(c, seed: 2))
    }

    /// Tracing de-duplicates once over token windows and then scores each key; that must equal each key's own
    /// de-duplicated tally over the texts (hashed windows), for both schemes, with repeats, prompts and h = 2.
    func testDistinctTuplesScoreAsEachKeysOwnTally() throws {
        var rng = LabRNG(seed: 3)
        let texts = (0..<6).map { _ in (0..<80).map { _ in Int32(rng.int(below: 5)) } }
        let prompts = (0..<6).map { _ in [Int32(rng.int(below: 5)), Int32(rng.int(below: 5))] }
        for h in [1, 2] {
            let tuples = try ProvenanceScheme.DistinctTuples(
                texts: texts, prompts: prompts, contextWidth: h, vocabularySize: 16)
            for key in [UInt64(1), 99, 12345] {
                for scheme in [
                    ProvenanceScheme.kgw(try KGWWatermark(key: key, contextWidth: h, vocabularySize: 16)),
                    .gumbel(try GumbelWatermark(key: key, contextWidth: h, vocabularySize: 16)),
                ] {
                    let a = try scheme.evidence(tuples), b = try scheme.evidence(texts: texts, prompts: prompts)
                    XCTAssertEqual(a.scored, b.scored)
                    XCTAssertLessThan(a.scored, 6 * 80)
                    XCTAssertEqual(a.statistic, b.statistic, accuracy: 1e-9 * max(1, b.statistic))
                    XCTAssertEqual(a.pValue, b.pValue, accuracy: 1e-9)
                }
            }
        }
        XCTAssertThrowsError(
            try ProvenanceScheme.DistinctTuples(texts: [[0, 16]], prompts: nil, contextWidth: 1, vocabularySize: 16))
    }

    func testCampaignCounterMovesAndSchemes() throws {
        var c = ProvenanceCampaign.Config()
        c.accounts = 100
        c.proxies = 1
        c.proxyShare = 1
        c.trainingTokens = 20_000
        c.suspectTokens = 1000
        c.responseTokens = 50
        for scheme in ProvenanceCampaign.Scheme.allCases {
            c.scheme = scheme
            c.counterMove = .none
            let plain = try ProvenanceCampaign.run(c, seed: 1)
            c.counterMove = .resample
            c.counterRate = 1
            let erased = try ProvenanceCampaign.run(c, seed: 1)
            c.counterMove = .regenerate
            let regenerated = try ProvenanceCampaign.run(c, seed: 1)
            print(
                "\(scheme): log10 p of the proxy \(plain.proxyLog10P) as served, \(regenerated.proxyLog10P) regenerated, \(erased.proxyLog10P) all resampled"
            )
            XCTAssertEqual(plain.identificationRate, 1, "\(scheme)")
            // Regenerating through a model trained on the harvest keeps the bigram statistics, hence the trace.
            XCTAssertEqual(regenerated.identificationRate, 1, "\(scheme)")
            // Every token redrawn from the attacker's own unwatermarked model: nothing of the key is left.
            XCTAssertEqual(erased.identificationRate, 0, "\(scheme)")
            XCTAssertEqual(erased.anyFalseAccusation, 0, "\(scheme)")
            XCTAssertEqual(try ProvenanceCampaign.run(c, seed: 1), regenerated, "same config and seed, same outcome")
            c.counterRate = 0
        }
        c.counterMove = .regenerate
        c.responseTokens = 0
        XCTAssertThrowsError(try ProvenanceCampaign.run(c, seed: 1))
        c.counterMove = .none
        c.costAccounts = 1
        XCTAssertThrowsError(try ProvenanceCampaign.run(c, seed: 1))
    }
}
