// Defence contracts, one test per defence: rounding lands on the grid, top-k returns exactly k, label-only
// one label per row of a batch, noise has its stated σ, reverse sigmoid matches hand-computed vectors, MAD
// stays within ε and keeps the top-1, misinformation triggers only under its threshold; plus the registry.
import Foundation
import LabAPI
import LabCore
import LabDefences
import TestSupport
import XCTest

final class DefenceContractTests: XCTestCase {

    // MARK: Rounding

    func testRoundingLeavesEveryValueOnTheGrid() throws {
        var worst = 0.0, checked = 0
        for decimals in [0, 1, 2, 3, 4] {
            for domain in Rounding.Domain.allCases {
                var rows = Fixture.randomRows(count: 100, V: 40, seed: UInt64(decimals))
                try Rounding(decimals: decimals, domain: domain).apply(to: &rows)
                let scale = pow(10, Double(decimals))
                for row in rows {
                    for v in row.values {
                        // The grid value itself (a probability, or a logprob); a zero has no logprob.
                        guard domain == .probabilities || v > 0 else { continue }
                        let x = (domain == .probabilities ? v : log(v)) * scale
                        XCTAssertLessThanOrEqual(
                            abs(x - x.rounded()), 1e-9 * max(1, abs(x)), "d=\(decimals) \(domain): \(v) is off the grid"
                        )
                        worst = max(worst, abs(x - x.rounded()) / max(1, abs(x)))
                        checked += 1
                    }
                }
            }
        }
        print(
            "rounding: \(checked) values on the grid of d = 0...4 decimals (probabilities and logprobs); worst relative offset \(worst)"
        )
    }

    func testRoundingThroughTheAPIReportsGridValues() throws {
        let teacher = try BigramTeacher.random(vocabularySize: 16, seed: 5)
        let ledger = Ledger()
        try ledger.open("a")
        let api = DefendedAPI(teacher: teacher, defences: DefencePipeline([Rounding(decimals: 2)]), ledger: ledger)
        let r = try api.call(.distribution([1, 2, 3]), account: "a")
        XCTAssertEqual(r.distribution.count, 16)
        for e in r.distribution where e.logprob > -.infinity {
            let x = exp(e.logprob) * 100
            XCTAssertEqual(x, x.rounded(), accuracy: 1e-9)
        }
    }

    // MARK: Top-k

    func testTopKReturnsExactlyK() throws {
        let V = 30
        var flat = Fixture.rows([[Double](repeating: 1.0 / Double(V), count: V)])  // all tied
        for k in [1, 3, 5, V] {
            var rows = Fixture.randomRows(count: 50, V: V, seed: UInt64(k)) + flat
            try TopK(k: k).apply(to: &rows)
            for row in rows {
                XCTAssertEqual(row.reportedTokens.count, k)
                // The kept entries are the k largest of the teacher's, unchanged (not renormalised).
                let expected = row.original.indices.sorted {
                    row.original[$0] > row.original[$1] || (row.original[$0] == row.original[$1] && $0 < $1)
                }.prefix(k)
                XCTAssertEqual(Set(row.reportedTokens), Set(expected))
                for i in row.reportedTokens { XCTAssertEqual(row.values[i], row.original[i]) }
                for i in 0..<V where !row.isReported(i) { XCTAssertEqual(row.values[i], 0) }
            }
        }
        print("top_k: 51 rows (50 random, 1 all-tied) × k ∈ {1, 3, 5, 30}: every row reports exactly k")
        try TopK(k: 4, renormalise: true).apply(to: &flat)
        XCTAssertEqual(flat[0].values.reduce(0, +), 1, accuracy: 1e-12)
    }

    func testTopKThroughEverySurface() throws {
        let teacher = try BigramTeacher.random(vocabularySize: 20, seed: 6)
        let ledger = Ledger()
        try ledger.open("a")
        let api = DefendedAPI(teacher: teacher, defences: DefencePipeline([TopK(k: 3)]), ledger: ledger)
        let rs = try api.call(
            [
                .distribution([4]), .echo([1, 2, 3, 4], logprobs: 10),
                .completion([7], maxNewTokens: 6, logprobs: 20, seed: 1),
            ], account: "a")
        XCTAssertEqual(rs[0].distribution.count, 3)
        XCTAssertEqual(rs[1].topLogprobs.map(\.count), [3, 3, 3])
        XCTAssertEqual(rs[2].topLogprobs.map(\.count), [3, 3, 3, 3, 3, 3])
        // Completions are drawn from what is served: every token is one of the three reported.
        for (t, token) in rs[2].tokens.enumerated() {
            XCTAssertTrue(rs[2].topLogprobs[t].contains { $0.token == token })
        }
    }

    // MARK: Label-only

    func testLabelOnlyReturnsOneLabelPerRowOfABatch() throws {
        // Row b peaks at token b: ART's ClassLabels would set all of 0..<B in every row.
        let V = 10, B = 8
        let dists: [[Double]] = (0..<B).map { b in (0..<V).map { $0 == b ? 0.5 : 0.5 / Double(V - 1) } }
        var rows = Fixture.rows(dists)
        try LabelOnly().apply(to: &rows)
        for (b, row) in rows.enumerated() {
            XCTAssertEqual(row.reportedTokens, [b])
            XCTAssertEqual(row.values.filter { $0 != 0 }, [1])
            XCTAssertEqual(row.values[b], 1)
        }
        XCTAssertEqual(rows.reduce(0) { $0 + $1.values.reduce(0, +) }, Double(B))
        print("label_only: a batch of \(B) rows with labels 0..<\(B) reports \(rows.map(\.reportedTokens))")
        // Through the API: a batch of label queries and a batch of distribution queries.
        let teacher = try BigramTeacher.random(vocabularySize: 16, seed: 8)
        let ledger = Ledger()
        try ledger.open("a")
        let api = DefendedAPI(teacher: teacher, defences: DefencePipeline([LabelOnly()]), ledger: ledger)
        let prompts: [[Int32]] = (0..<16).map { [Int32($0)] }
        let truth = try teacher.logits(prompts: prompts).map { row in Fixture.argmax(row.map(Double.init)) }
        let labels = try api.call(prompts.map { .label($0) }, account: "a")
        XCTAssertEqual(labels.map(\.tokens), truth.map { [Int32($0)] })
        let dist = try api.call(prompts.map { .distribution($0) }, account: "a")
        XCTAssertEqual(dist.map { $0.distribution.map(\.token) }, truth.map { [Int32($0)] })
        XCTAssertTrue(dist.allSatisfy { $0.distribution[0].logprob == 0 })
    }

    // MARK: High confidence

    func testHighConfidenceReportsOnlyValuesAtOrAboveTheCutoff() throws {
        var rows = Fixture.rows([[0.6, 0.25, 0.15], [0.3, 0.3, 0.4], [0.2, 0.2, 0.2, 0.2, 0.2]])
        try HighConfidence(cutoff: 0.25).apply(to: &rows)
        XCTAssertEqual(rows[0].values, [0.6, 0.25, 0])
        XCTAssertEqual(rows[0].reportedTokens, [0, 1])
        XCTAssertEqual(rows[1].values, [0.3, 0.3, 0.4])
        XCTAssertEqual(rows[2].reportedTokens, [])
        XCTAssertNil(rows[2].served)
    }

    // MARK: Noise

    /// σ̂² = Σ_rows Σ_i (d_i − d̄_row)² / (rows·(V − 1)) is unbiased for σ² when d_i = n_i + c_row with
    /// i.i.d. n_i: the per-row constant c (the renormalisation) drops out with the row mean.
    func estimatedStandardDeviation(_ rows: [DistributionRow], difference: (Double, Double) -> Double) -> (
        sigma: Double, samples: Int
    ) {
        var ss = 0.0, n = 0
        for row in rows {
            let d = zip(row.values, row.original).map { difference($0, $1) }
            let mean = d.reduce(0, +) / Double(d.count)
            ss += d.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
            n += d.count - 1
        }
        return ((ss / Double(n)).squareRoot(), n)
    }

    func testNoiseHasTheStatedStandardDeviation() throws {
        // Within 4 standard errors of the stated σ (Laplace: σ = b√2). SE(σ̂) = σ √((2 + κ) / 4n), κ the
        // excess kurtosis (0 Gaussian, 3 Laplace). Over 30 other seeds the Laplace-on-logits case gave
        // (σ̂ − σ)/SE of mean −0.14 and sd 1.13: unbiased, the SE about right.
        let cases: [(defence: any Defence, sigma: Double, kurtosis: Double, domain: NoiseDomain)] = [
            (GaussianNoise(scale: 0.7, domain: .logits), 0.7, 0, .logits),
            (LaplaceNoise(scale: 0.5, domain: .logits), 0.5 * 2.0.squareRoot(), 3, .logits),
            (GaussianNoise(scale: 0.004, domain: .probabilities), 0.004, 0, .probabilities),
            (LaplaceNoise(scale: 0.003, domain: .probabilities), 0.003 * 2.0.squareRoot(), 3, .probabilities),
        ]
        for c in cases {
            // Probabilities: a uniform 0.1 over 10 tokens is 17σ above 0, so nothing clips, and the
            // renormalisation divides by 1 + Σn ≈ 1 ± 0.015, a bias of under 0.1% on σ̂.
            let V = c.domain == .probabilities ? 10 : 20
            var rows =
                c.domain == .probabilities
                ? Fixture.rows([[Double]](repeating: [Double](repeating: 0.1, count: 10), count: 1500), seed: 11)
                : Fixture.randomRows(count: 800, V: V, seed: 12)
            try c.defence.apply(to: &rows)
            let (sigma, n) = estimatedStandardDeviation(rows) { q, p in c.domain == .logits ? log(q) - log(p) : q - p }
            let se = c.sigma * ((2 + c.kurtosis) / (4 * Double(n))).squareRoot()
            XCTAssertEqual(
                sigma, c.sigma, accuracy: 4 * se, "\(c.defence.summary): σ̂ = \(sigma) from \(n) draws, SE \(se)")
            print(
                String(
                    format: "noise %@: stated σ %.5f, measured σ̂ %.5f from %d draws (SE %.5f, %+.2f SE)",
                    c.defence.summary, c.sigma, sigma, n, se, (sigma - c.sigma) / se))
            for row in rows { XCTAssertEqual(row.values.reduce(0, +), 1, accuracy: 1e-12) }
        }
        // Zero noise leaves the distribution as it was.
        var rows = Fixture.randomRows(count: 5, V: 8, seed: 2)
        try GaussianNoise(scale: 0).apply(to: &rows)
        for row in rows { XCTAssertLessThan(maxToleranceRatio(row.values, row.original, atol: 1e-15, rtol: 1e-12), 1) }
    }

    func testNoiseOnProbabilitiesClipsAndRenormalisesAsART() throws {
        var rows = Fixture.randomRows(count: 200, V: 50, spread: 3, seed: 13)
        try GaussianNoise(scale: 0.2).apply(to: &rows)
        for row in rows {
            XCTAssertTrue(row.values.allSatisfy { $0 >= 0 })
            XCTAssertEqual(row.values.reduce(0, +), 1, accuracy: 1e-12)
        }
        // Each row and stage has its own stream: two rows with one distribution get different noise.
        var twins = Fixture.rows([[0.5, 0.5], [0.5, 0.5]])
        try GaussianNoise(scale: 0.1).apply(to: &twins)
        XCTAssertNotEqual(twins[0].values, twins[1].values)
    }

    // MARK: Reverse sigmoid

    func testReverseSigmoidMatchesThePublishedFormulaOnHandComputedVectors() throws {
        // γ = 1 makes s(γ s⁻¹(y)) = y, so r = β (y − ½), computable by hand.
        // β = 1, y = (0.9, 0.1): r = (0.4, −0.4), y − r = (0.5, 0.5), α = 1.
        // β = ½, y = (0.6, 0.3, 0.1): r = (0.05, −0.1, −0.2), y − r = (0.55, 0.4, 0.3), α = 1/1.25.
        // β = 2, y = (0.95, 0.05): r = (0.9, −0.9), y − r = (0.05, 0.95): the top class flips.
        // β = 3, y = (0.95, 0.05): y − r = (−0.4, 1.4), clipped to (0, 1).
        // ART's defaults β = 1, γ = 0.1, y = (0.7, 0.2, 0.1): r(0.7) = s(0.1 ln(0.7/0.3)) − ½
        //   = s(0.0847298) − ½ = 0.0211698; r(0.2) = s(0.1 ln 0.25) − ½ = −0.0346020;
        //   r(0.1) = s(0.1 ln(1/9)) − ½ = −0.0547107; y − r = (0.6788302, 0.2346020, 0.1547107), Σ = 1.0681429.
        let cases: [(beta: Double, gamma: Double, y: [Double], expected: [Double])] = [
            (1, 1, [0.9, 0.1], [0.5, 0.5]),
            (0.5, 1, [0.6, 0.3, 0.1], [0.44, 0.32, 0.24]),
            (2, 1, [0.95, 0.05], [0.05, 0.95]),
            (3, 1, [0.95, 0.05], [0, 1]),
            (1, 0.1, [0.7, 0.2, 0.1], [0.6788302 / 1.0681429, 0.2346020 / 1.0681429, 0.1547107 / 1.0681429]),
        ]
        for c in cases {
            var rows = Fixture.rows([c.y])
            let defence = ReverseSigmoid(beta: c.beta, gamma: c.gamma)
            try defence.apply(to: &rows)
            XCTAssertLessThan(
                maxToleranceRatio(rows[0].values, c.expected, atol: 2e-7, rtol: 0), 1,
                "β=\(c.beta) γ=\(c.gamma): \(rows[0].values) vs \(c.expected)")
            print(
                "reverse sigmoid β=\(c.beta) γ=\(c.gamma) y=\(c.y): \(rows[0].values.map { String(format: "%.7f", $0) }) (hand: \(c.expected.map { String(format: "%.7f", $0) }))"
            )
        }
        XCTAssertEqual(ReverseSigmoid(beta: 1, gamma: 0.1).perturbation(0.7), 0.0211698, accuracy: 1e-7)
    }

    // MARK: Temperature

    func testTemperatureFlattensAndSharpens() throws {
        var rows = Fixture.rows([[0.64, 0.36]])
        try TemperatureScaling(temperature: 2).apply(to: &rows)
        XCTAssertEqual(rows[0].values[0], 0.8 / 1.4, accuracy: 1e-12)  // √0.64 : √0.36 = 0.8 : 0.6
        var one = Fixture.rows([[0.64, 0.36]])
        try TemperatureScaling(temperature: 1).apply(to: &one)
        XCTAssertEqual(one[0].values[0], 0.64, accuracy: 1e-12)
        var sharp = Fixture.rows([[0.64, 0.36]])
        try TemperatureScaling(temperature: 0.5).apply(to: &sharp)
        XCTAssertEqual(sharp[0].values[0], 0.4096 / (0.4096 + 0.1296), accuracy: 1e-12)
    }

    // MARK: MAD

    /// The cosine between the proxy-gradient residuals ỹ − s and y − s.
    func cosine(_ a: [Double], _ b: [Double], _ s: [Double]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for i in a.indices {
            dot += (a[i] - s[i]) * (b[i] - s[i])
            na += (a[i] - s[i]) * (a[i] - s[i])
            nb += (b[i] - s[i]) * (b[i] - s[i])
        }
        return dot / (na * nb).squareRoot()
    }

    func testMADStaysWithinEpsilonAndKeepsTheTopToken() throws {
        var worstRatio = 0.0, rowsChecked = 0, cosines = 0.0
        for epsilon in [0.05, 0.2, 0.5, 1.0, 2.0] {
            for spread in [0.5, 2.0, 4.0] {
                var rows = Fixture.randomRows(count: 100, V: 25, spread: spread, seed: UInt64(epsilon * 100 + spread))
                let mad = PredictionPoisoning(epsilon: epsilon)
                try mad.apply(to: &rows)
                let uniform = [Double](repeating: 1.0 / 25, count: 25)
                for row in rows {
                    let y = row.original, yt = row.values
                    let l1 = zip(yt, y).reduce(0) { $0 + abs($1.0 - $1.1) }
                    XCTAssertLessThanOrEqual(l1, epsilon + 1e-12, "ε=\(epsilon)")
                    worstRatio = max(worstRatio, l1 / epsilon)
                    rowsChecked += 1
                    XCTAssertEqual(Fixture.argmax(yt), Fixture.argmax(y), "ε=\(epsilon): top-1 changed")
                    XCTAssertTrue(yt.allSatisfy { $0 >= 0 })
                    XCTAssertEqual(yt.reduce(0, +), 1, accuracy: 1e-12)
                    // The proxy gradient turned, and at least as far as MAD's own heuristic (best vertex,
                    // then the line search) turns it.
                    let c = cosine(yt, y, uniform)
                    cosines += c
                    XCTAssertLessThan(c, 1 - 1e-9)
                    XCTAssertLessThanOrEqual(
                        c, cosine(paperMAD(y, epsilon: epsilon, proxy: uniform), y, uniform) + 1e-9)
                }
            }
        }
        print(
            String(
                format:
                    "mad: %d rows, ε in {0.05 … 2}: max ‖ỹ − y‖₁/ε = %.6f, top-1 kept in all, mean cos(proxy gradients) %.3f",
                rowsChecked, worstRatio, cosines / Double(rowsChecked)))
        // A softened-teacher proxy obeys the same two constraints.
        var rows = Fixture.randomRows(count: 50, V: 25, spread: 2, seed: 99)
        try PredictionPoisoning(epsilon: 0.3, proxyTemperature: 3).apply(to: &rows)
        for row in rows {
            XCTAssertLessThanOrEqual(zip(row.values, row.original).reduce(0) { $0 + abs($1.0 - $1.1) }, 0.3 + 1e-12)
            XCTAssertEqual(Fixture.argmax(row.values), Fixture.argmax(row.original))
        }
    }

    /// Orekondy et al.'s heuristic as the paper states it: the vertex e_k of largest angle at the vertex
    /// itself, then the largest step toward it within ε that keeps the top-1 token.
    func paperMAD(_ y: [Double], epsilon: Double, proxy s: [Double]) -> [Double] {
        let top = Fixture.argmax(y)
        var best = -1, bestCos = 2.0
        for k in y.indices {
            var e = [Double](repeating: 0, count: y.count)
            e[k] = 1
            let c = cosine(e, y, s)
            if c < bestCos { (best, bestCos) = (k, c) }
        }
        var alpha = min(1, epsilon / (2 * (1 - y[best])))
        if best != top { alpha = min(alpha, (y[top] - y[best]) / (1 + y[top] - y[best]) * (1 - 1e-9)) }
        return y.indices.map { (1 - alpha) * y[$0] + ($0 == best ? alpha : 0) }
    }

    // MARK: Adaptive misinformation

    func testMisinformationTriggersOnlyUnderItsThreshold() throws {
        let dists: [[Double]] = [[0.7, 0.2, 0.1], [0.5, 0.3, 0.2], [0.49, 0.31, 0.2], [0.4, 0.35, 0.25]]
        var rows = Fixture.rows(dists)
        try AdaptiveMisinformation(threshold: 0.5).apply(to: &rows)
        XCTAssertEqual(rows[0].values, dists[0])
        XCTAssertEqual(rows[1].values, dists[1])  // S = τ is not under the threshold
        // Below: ŷ ∝ 1/y, the teacher's preferences inverted.
        for r in [2, 3] {
            let inv = dists[r].map { 1 / $0 }
            let expected = inv.map { $0 / inv.reduce(0, +) }
            XCTAssertLessThan(maxToleranceRatio(rows[r].values, expected, atol: 1e-12, rtol: 1e-12), 1)
            XCTAssertEqual(Fixture.argmax(rows[r].values), 2)
        }
        // Over many random rows, changed exactly where the top probability is under the threshold.
        var many = Fixture.randomRows(count: 300, V: 12, spread: 1.5, seed: 21)
        try AdaptiveMisinformation(threshold: 0.4, source: .uniform).apply(to: &many)
        var triggered = 0
        for row in many {
            let under = row.original.max()! < 0.4
            XCTAssertEqual(row.values != row.original, under)
            if under {
                triggered += 1
                XCTAssertTrue(row.values.allSatisfy { abs($0 - 1.0 / 12) < 1e-12 })
            }
        }
        print(
            "misinformation: threshold 0.4, \(triggered) of 300 rows under it were changed, the other \(300 - triggered) left bit-identical"
        )
        XCTAssertGreaterThan(triggered, 20)
        XCTAssertLessThan(triggered, 280)
        // The paper's soft switch: α = 1 / (1 + e^{ν(S − τ)}).
        let soft = AdaptiveMisinformation(threshold: 0.5, sharpness: 20)
        XCTAssertEqual(soft.weight(topProbability: 0.5), 0.5, accuracy: 1e-12)
        XCTAssertEqual(soft.weight(topProbability: 0.7), 1 / (1 + exp(4)), accuracy: 1e-12)
    }

    func testMisinformationFromAModelUsesThatModelsDistribution() throws {
        let teacher = try BigramTeacher.random(vocabularySize: 6, scale: 0.3, seed: 1)  // flat: always triggers
        let liar = try BigramTeacher.random(vocabularySize: 6, scale: 3, seed: 2)
        var rows = [
            DistributionRow(probabilities: softmax(try teacher.logits(prompts: [[3]])[0]), context: [3], seed: 1)
        ]
        try AdaptiveMisinformation(threshold: 0.9, source: .model(liar)).apply(to: &rows)
        let expected = softmax(try liar.logits(prompts: [[3]])[0])
        XCTAssertLessThan(maxToleranceRatio(rows[0].values, expected, atol: 1e-7, rtol: 1e-6), 1)
    }

    func softmax(_ z: [Float]) -> [Double] {
        let m = Double(z.max()!)
        let e = z.map { exp(Double($0) - m) }
        return e.map { $0 / e.reduce(0, +) }
    }

    // MARK: Pipeline and registry

    func testPipelineAppliesStagesInOrder() throws {
        // top-k then renormalising temperature 1 reports k entries summing to 1; the other order reports
        // the k largest of a renormalised full row, which sum to less than 1.
        var a = Fixture.randomRows(count: 10, V: 20, seed: 3)
        var b = a
        try DefencePipeline([TopK(k: 3), TemperatureScaling(temperature: 1)]).apply(to: &a)
        try DefencePipeline([TemperatureScaling(temperature: 1), TopK(k: 3)]).apply(to: &b)
        for (x, y) in zip(a, b) {
            XCTAssertEqual(x.values.reduce(0, +), 1, accuracy: 1e-12)
            XCTAssertLessThan(y.values.reduce(0, +), 1)
            XCTAssertEqual(x.reportedTokens, y.reportedTokens)
        }
        XCTAssertEqual(
            DefencePipeline([TopK(k: 3), LabelOnly()]).summary, "top_k(k=3, renormalise=false) → label_only")
    }

    func testRegistryBuildsEveryDefenceAtItsDefaultsAndRejectsBadParameters() throws {
        let env = DefenceEnvironment(vocabularySize: 50, contextLength: 64)
        XCTAssertEqual(Set(DefenceRegistry.names).count, DefenceRegistry.names.count)
        for name in DefenceRegistry.names {
            let d = try DefenceRegistry.make(DefenceSpec(name), environment: env)
            XCTAssertEqual(d.name, name)
            let type = DefenceRegistry.kind(named: name)!
            XCTAssertEqual(
                d.parameters.map(\.key), type.parameterDocs.map(\.key),
                "\(name): documented parameters differ from the ones it reports")
            var rows = Fixture.randomRows(count: 4, V: 50, seed: 4)
            try d.apply(to: &rows)
        }
        func key(_ spec: DefenceSpec) -> String? {
            if case let LabError.invalidConfig(k, _)? = Fixture.error({
                try DefenceRegistry.make(spec, environment: env)
            }) as? LabError {
                return k
            }
            return nil
        }
        XCTAssertEqual(key(DefenceSpec("top_k", ["kk": .number(3)])), "defences.top_k.kk")
        XCTAssertEqual(key(DefenceSpec("top_k", ["k": .number(0)])), "defences.top_k.k")
        XCTAssertEqual(key(DefenceSpec("top_k", ["k": .number(2.5)])), "defences.top_k.k")
        XCTAssertEqual(key(DefenceSpec("gaussian_noise", ["on": .string("logprobs")])), "defences.gaussian_noise.on")
        XCTAssertEqual(key(DefenceSpec("mad", ["epsilon": .number(3)])), "defences.mad.epsilon")
        XCTAssertEqual(
            key(DefenceSpec("misinformation", ["source": .string("checkpoint")])), "defences.misinformation.checkpoint")
        XCTAssertEqual(key(DefenceSpec("label_only", ["k": .number(1)])), "defences.label_only.k")
        XCTAssertEqual(key(DefenceSpec("no_such_defence")), "defences.no_such_defence")
        XCTAssertEqual(key(DefenceSpec("kgw", ["gamma": .number(1.5)])), "defences.kgw.gamma")
        XCTAssertEqual(key(DefenceSpec("kgw", ["key": .number(-1)])), "defences.kgw.key")
    }

    func testDefenceSpecsDecodeFromConfigShapes() throws {
        let json = #"["label_only", {"top_k": {"k": 3, "renormalise": true}}, {"rounding": null}]"#
        let specs = try JSONDecoder().decode([DefenceSpec].self, from: Data(json.utf8))
        XCTAssertEqual(
            specs,
            [
                DefenceSpec("label_only"), DefenceSpec("top_k", ["k": .number(3), "renormalise": .bool(true)]),
                DefenceSpec("rounding"),
            ])
        let pipeline = try DefenceRegistry.pipeline(
            specs, environment: DefenceEnvironment(vocabularySize: 10, contextLength: 8))
        XCTAssertEqual(pipeline.defences.map(\.name), ["label_only", "top_k", "rounding"])
        XCTAssertNotNil(
            Fixture.error { try JSONDecoder().decode(DefenceSpec.self, from: Data(#"{"a": {}, "b": {}}"#.utf8)) })
    }
}
