// The boundary-probe detector's contract: accounts whose probe rate is at most the benign ceiling alarm at most
// alpha of the time, whatever their length; a prober well above it alarms at the first checkpoints; the tail is
// the exact binomial one; and adding the detector left existing campaign settings' encoding unchanged.
import Foundation
import LabCore
import XCTest

@testable import LabCampaigns

final class BoundaryProbeDetectorTests: XCTestCase {
    func observe(_ d: BoundaryProbeDetector, account: Int, count: Int, rate: Double, rng: inout LabRNG) -> Int? {
        var alarm: Int?
        for i in 0..<count {
            let o = DetectorObservation(
                account: account, time: Double(i), features: PromptFeatures(prompt: [1, 2]),
                refused: rng.uniform() < rate, guardScore: 0)
            if d.observe(o), alarm == nil { alarm = i + 1 }
        }
        return alarm
    }

    func testFalsePositiveRateOnBenignOnlyTrafficIsWithinAlpha() {
        var config = BoundaryProbeDetector.Config()
        config.alpha = 0.05
        let d = BoundaryProbeDetector(config: config)
        var rng = LabRNG(seed: 11)
        let accounts = 2000
        var alarms = 0
        for a in 0..<accounts where observe(d, account: a, count: 256, rate: config.benignRate, rng: &rng) != nil {
            alarms += 1
        }
        // alpha = 0.05 over 2,000 accounts: 100 expected at the bound; 3σ above it is 129.
        XCTAssertLessThanOrEqual(alarms, 129, "\(alarms) of \(accounts) honest accounts alarmed")
    }

    func testAProberAlarmsEarly() {
        let d = BoundaryProbeDetector(config: BoundaryProbeDetector.Config())
        var rng = LabRNG(seed: 2)
        let at = observe(d, account: 0, count: 64, rate: 0.7, rng: &rng)
        XCTAssertNotNil(at)
        XCTAssertLessThanOrEqual(at ?? 99, 16)
        XCTAssertEqual(d.suspicion(account: 0), 1)
        XCTAssertNotNil(d.statistic(account: 0))
        XCTAssertNil(d.statistic(account: 5))
    }

    func testTailIsTheExactBinomialOne() {
        for (n, k, p) in [(8, 4, 0.1), (16, 0, 0.3), (20, 20, 0.5), (12, 5, 0.25)] {
            var naive = 0.0
            for i in k...n {
                var choose = 1.0
                for j in 0..<i { choose = choose * Double(n - j) / Double(j + 1) }
                naive += choose * pow(p, Double(i)) * pow(1 - p, Double(n - i))
            }
            XCTAssertEqual(BoundaryProbeDetector.binomialUpperTail(n: n, k: k, p: p), naive, accuracy: 1e-12)
        }
    }

    func testSettingsThatNeverNameItEncodeAsBefore() throws {
        let encoded = String(decoding: try JSONEncoder().encode(DetectorSettings()), as: UTF8.self)
        XCTAssertFalse(encoded.contains("boundary_probe"), encoded)
        var settings = DetectorSettings()
        settings[BoundaryProbeDetector.self].alpha = 0.02
        XCTAssertTrue(String(decoding: try JSONEncoder().encode(settings), as: UTF8.self).contains("boundary_probe"))
    }
}
