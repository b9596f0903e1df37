// Benign population tests: the mixture puts every source in one vocabulary and its teacher is a proper
// bigram model; users' rates are log-normal (heavy-tailed) and their arrivals Poisson; the same seed gives
// the same users and prompts; resends happen at the configured rate.
import Foundation
import LabCore
import XCTest

@testable import LabAPI
@testable import LabAttacks
@testable import LabCampaigns
@testable import LabDefences

final class BenignPopulationTests: XCTestCase {
    let mixture = CampaignFixture.world.mixture

    func testMixtureSharesOneVocabularyAndItsTeacherRowsAreDistributions() throws {
        XCTAssertEqual(mixture.sources.map(\.name), ["grammar", "markov", "tasks"])
        XCTAssertEqual(mixture.weights.reduce(0, +), 1, accuracy: 1e-12)
        for s in mixture.sources { XCTAssertFalse(s.validation.contains(0), "\(s.name) has <unk> tokens") }
        let teacher = try mixture.bigramTeacher()
        let V = teacher.vocabularySize
        XCTAssertEqual(V, mixture.vocabularySize)
        for a in 0..<V {
            let total = (0..<V).reduce(0.0) { $0 + exp(Double(teacher.table[a * V + $1])) }
            XCTAssertEqual(total, 1, accuracy: 1e-5)
        }
    }

    func testRatesAreHeavyTailedAndArrivalsPoisson() throws {
        var config = BenignPopulationConfig()
        config.users = 4000
        let population = try BenignPopulation(config: config, mixture: mixture, seed: 1)
        let perDay = population.users.map { $0.rate * 86_400 }.sorted()
        let median = perDay[perDay.count / 2], p99 = perDay[perDay.count * 99 / 100]
        // log-normal(σ = 1.5): median 20, 99th percentile 20·e^(1.5·2.326) ≈ 655.
        XCTAssertEqual(median, 20, accuracy: 2)
        XCTAssertEqual(p99 / median, exp(1.5 * 2.326), accuracy: 8)
        // Exponential gaps: mean 1/rate and coefficient of variation 1.
        var t = 0.0
        var gaps: [Double] = []
        for _ in 0..<4000 {
            let next = population.nextArrival(user: 0, after: t)
            gaps.append(next - t)
            t = next
        }
        let mean = gaps.reduce(0, +) / Double(gaps.count)
        let sd = (gaps.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(gaps.count)).squareRoot()
        XCTAssertEqual(mean * population.users[0].rate, 1, accuracy: 0.05)
        XCTAssertEqual(sd / mean, 1, accuracy: 0.05)
    }

    func testSameSeedSameUsersAndResendsAtTheirRate() throws {
        var config = BenignPopulationConfig()
        config.users = 3
        config.repeatProbability = 0.3
        let a = try BenignPopulation(config: config, mixture: mixture, seed: 7)
        let b = try BenignPopulation(config: config, mixture: mixture, seed: 7)
        let pa = (0..<500).map { _ in a.prompt(user: 1) }
        XCTAssertEqual(pa, (0..<500).map { _ in b.prompt(user: 1) })
        var resent = 0
        var seen = Set<[Int32]>()
        for p in pa where !seen.insert(p).inserted { resent += 1 }
        XCTAssertEqual(Double(resent) / 500, 0.3, accuracy: 0.06)
        XCTAssertThrowsError(
            try BenignPopulation(
                config: {
                    var c = config
                    c.topicFocus = 2
                    return c
                }(), mixture: mixture, seed: 0))
    }
}
