// Markov corpus tests: determinism by seed, the exact entropy rate against hand-computed chains, and
// the generator and the formula checked against each other through the empirical log-loss of the truth.
import Foundation
import LabCore
import XCTest

@testable import LabData

final class MarkovTests: XCTestCase {
    /// Entropy of one distribution in nats, written out independently of MarkovSource.
    private func h(_ p: [Double]) -> Double { p.reduce(0) { $1 > 0 ? $0 - $1 * log($1) : $0 } }

    func testSameSeedSameDataDifferentSeedDifferentData() throws {
        var spec = CorpusSpec.markov(seed: 3)
        (spec.trainTokens, spec.validationTokens, spec.testTokens) = (5_000, 1_000, 1_000)
        let a = try spec.build(), b = try spec.build()
        XCTAssertEqual(a, b)
        spec.seed = 4
        let c = try spec.build()
        XCTAssertNotEqual(a.train, c.train)
        XCTAssertNotEqual(a.markovSource?.transitions, c.markovSource?.transitions)
        // Each split has its own stream: a longer train split leaves the chain and the test split alone.
        spec.seed = 3
        spec.trainTokens = 7_000
        let d = try spec.build()
        XCTAssertEqual(d.test, a.test)
        XCTAssertEqual(d.markovSource, a.markovSource)
        XCTAssertEqual(Array(d.train.prefix(5_000)), a.train)
    }

    func testTokenizerIsExactlyTheSymbolsAndUnkNeverOccurs() throws {
        var spec = CorpusSpec.markov(symbols: 5, order: 1)
        (spec.trainTokens, spec.validationTokens, spec.testTokens) = (2_000, 300, 300)
        let corpus = try spec.build()
        XCTAssertEqual(corpus.tokenizer.vocabulary, ["<unk>", "a", "b", "c", "d", "e"])
        for split in Split.allCases {
            XCTAssertEqual(corpus.tokens(split).count, spec.tokens(split))
            XCTAssertTrue(corpus.tokens(split).allSatisfy { (1...5).contains($0) }, "\(split)")
        }
    }

    func testTwoStateChainEntropyRateByHand() throws {
        // P = [[0.9, 0.1], [0.4, 0.6]]: π solves π0·0.1 = π1·0.4, so π = (0.8, 0.2).
        let source = try MarkovSource(symbolCount: 2, order: 1, transitions: [0.9, 0.1, 0.4, 0.6])
        XCTAssertLessThanOrEqual(maxToleranceRatio(source.stationary, [0.8, 0.2], atol: 1e-12, rtol: 0), 1)
        let expected = 0.8 * h([0.9, 0.1]) + 0.2 * h([0.4, 0.6])
        XCTAssertTrue(
            isClose(source.entropyRate, expected, atol: 1e-12, rtol: 0), "\(source.entropyRate) vs \(expected)")
    }

    func testPeriodicChainAndIIDSource() throws {
        // 0 → 1 → {0, 2} → 1: period 2, π = (1/4, 1/2, 1/4). From uniform, plain power iteration would
        // oscillate between (1/3, 1/3, 1/3) and (1/6, 2/3, 1/6); the lazy step must still converge.
        let periodic = try MarkovSource(symbolCount: 3, order: 1, transitions: [0, 1, 0, 0.5, 0, 0.5, 0, 1, 0])
        XCTAssertLessThanOrEqual(maxToleranceRatio(periodic.stationary, [0.25, 0.5, 0.25], atol: 1e-11, rtol: 0), 1)
        XCTAssertTrue(isClose(periodic.entropyRate, 0.5 * log(2.0), atol: 1e-11, rtol: 0))
        // Order 0 is an i.i.d. source: its rate is the entropy of its one row.
        let iid = try MarkovSource(symbolCount: 3, order: 0, transitions: [0.5, 0.25, 0.25])
        XCTAssertTrue(isClose(iid.entropyRate, h([0.5, 0.25, 0.25]), atol: 1e-12, rtol: 0))
    }

    func testOrderTwoChainThatIgnoresItsOlderSymbolMatchesOrderOne() throws {
        // The same process written two ways: an order-2 table whose rows depend only on the newest
        // symbol must have the order-1 chain's stationary marginals and entropy rate.
        var rng = LabRNG(seed: 11)
        let first = try MarkovSource.random(symbolCount: 4, order: 1, concentration: 0.5, rng: &rng)
        var rows: [Double] = []
        for context in 0..<16 { rows += first.transitions[(context % 4) * 4..<(context % 4) * 4 + 4] }
        let second = try MarkovSource(symbolCount: 4, order: 2, transitions: rows)
        XCTAssertTrue(
            isClose(second.entropyRate, first.entropyRate, atol: 1e-10, rtol: 0),
            "\(second.entropyRate) vs \(first.entropyRate)")
        let newest = (0..<4).map { s in (0..<4).reduce(0.0) { $0 + second.stationary[$1 * 4 + s] } }
        XCTAssertLessThanOrEqual(maxToleranceRatio(newest, first.stationary, atol: 1e-10, rtol: 0), 1)
    }

    func testEmpiricalLogLossOfTheTruthMatchesTheEntropyRate() throws {
        var spec = CorpusSpec.markov(seed: 0)  // the default: V = 16, k = 2, concentration 0.3
        (spec.trainTokens, spec.validationTokens, spec.testTokens) = (1_000, 1_000, 100_000)
        let corpus = try spec.build()
        let source = try XCTUnwrap(corpus.markovSource)
        let rate = try XCTUnwrap(corpus.entropyRate)
        XCTAssertLessThan(rate, log(16.0))

        // −log P_true(x_t | previous k) at every test position with a full context.
        let symbols = corpus.test.map { $0 - 1 }
        var losses: [Double] = []
        for t in source.order..<symbols.count {
            let context = source.context(endingWith: symbols[(t - source.order)..<t])
            losses.append(-log(source.probability(of: symbols[t], inContext: context)))
        }
        // Batch means: the losses are serially correlated through the context, so the standard error
        // comes from the spread of 50 long block averages, not from per-token variance.
        let blocks = 50, size = losses.count / blocks
        let means = (0..<blocks).map { b in losses[(b * size)..<((b + 1) * size)].reduce(0, +) / Double(size) }
        let mean = means.reduce(0, +) / Double(blocks)
        let variance = means.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(blocks - 1)
        let standardError = (variance / Double(blocks)).squareRoot()
        let z = (mean - rate) / standardError
        print(
            "markov default (V=16, k=2, concentration 0.3, seed 0): entropy rate \(rate) nats/token; empirical true-model loss on \(losses.count) test tokens \(mean) ± \(standardError) (z = \(z))"
        )
        XCTAssertLessThan(abs(z), 4)
        XCTAssertLessThan(standardError, 0.01)
    }

    func testDirichletRowsAreDistributionsWithTheRightMean() {
        var rng = LabRNG(seed: 5)
        var mean = [Double](repeating: 0, count: 4)
        let draws = 4_000
        for _ in 0..<draws {
            let p = rng.dirichlet(count: 4, concentration: 0.3)
            XCTAssertTrue(isClose(p.reduce(0, +), 1, atol: 1e-12, rtol: 0))
            for i in 0..<4 { mean[i] += p[i] / Double(draws) }
        }
        // Each component has mean 1/4 and variance (1/4)(3/4)/(1.2 + 1) ≈ 0.085, so SE ≈ 0.0046.
        XCTAssertLessThanOrEqual(maxToleranceRatio(mean, [0.25, 0.25, 0.25, 0.25], atol: 0.02, rtol: 0), 1)
        // Tiny concentrations must not underflow to an all-zero row.
        let sparse = rng.dirichlet(count: 16, concentration: 0.001)
        XCTAssertTrue(isClose(sparse.reduce(0, +), 1, atol: 1e-12, rtol: 0))
    }

    func testInvalidSpecsNameTheKey() {
        func key(_ spec: CorpusSpec) -> String? {
            do {
                _ = try spec.build()
                return nil
            } catch let LabError.invalidConfig(key, _) { return key } catch { return "\(error)" }
        }
        XCTAssertEqual(key(.markov(symbols: 1)), "symbols")
        XCTAssertEqual(key(.markov(symbols: 63)), "symbols")
        XCTAssertEqual(key(.markov(order: -1)), "order")
        XCTAssertEqual(key(.markov(order: 9)), "order")
        XCTAssertEqual(key(.markov(concentration: 0)), "concentration")
        XCTAssertEqual(key(.markov(concentration: .nan)), "concentration")
        var spec = CorpusSpec.markov()
        spec.testTokens = 0
        XCTAssertEqual(key(spec), "test_tokens")
        XCTAssertThrowsError(try MarkovSource(symbolCount: 2, order: 1, transitions: [0.5, 0.4, 1, 0])) { error in
            guard case LabError.invalidConfig(key: "transitions", _) = error else { return XCTFail("\(error)") }
        }
    }
}
