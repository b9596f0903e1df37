// The recipe for a new detector (docs/extending.md), proven: a detector written outside the library — its
// type with its Config, and one line in a list of kinds — is built by name with parameters set through the
// campaign's DetectorSettings, reads its section from a config file, rejects an unknown key, and meets the
// contract the gateway relies on (alarm once, suspicion in [0, 1] reaching 1 at the alarm, no statistic for
// an account it never saw).
import Foundation
import LabAPI
import LabCampaigns
import LabCore
import XCTest

/// A detector as a researcher writes it: an account alarms once it has sent more than `limit` requests.
final class LifetimeVolume: RegisteredDetector {
    static let registryName = "lifetime_volume"
    static let reference = "total requests per account above a limit (a recipe example)"

    struct Config: DetectorConfig {
        var limit = 1000

        init() {}

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            for key in c.allKeys where key.stringValue != "limit" {
                throw LabError.invalidConfig(
                    key: "detectors.lifetime_volume.\(key.stringValue)", message: "unknown; lifetime_volume takes limit"
                )
            }
            limit = try c.decodeIfPresent(Int.self, forKey: AnyKey(stringValue: "limit")) ?? limit
            try validate()
        }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: AnyKey.self)
            try c.encode(limit, forKey: AnyKey(stringValue: "limit"))
        }

        func validate() throws {
            guard limit >= 1 else {
                throw LabError.invalidConfig(
                    key: "detectors.lifetime_volume.limit", message: "is \(limit); must be at least 1")
            }
        }
    }

    let config: Config
    var counts: [Int: Int] = [:]

    init(config: Config, context: DetectorContext) { self.config = config }

    var parameters: [(key: String, value: String)] { [("limit", String(config.limit))] }

    func observe(_ observation: DetectorObservation) -> Bool {
        counts[observation.account, default: 0] += 1
        return counts[observation.account] == config.limit + 1
    }

    func suspicion(account: Int) -> Double { min(1, Double(counts[account] ?? 0) / Double(config.limit + 1)) }
    func statistic(account: Int) -> Double? { counts[account].map(Double.init) }
}

final class DetectorRecipeTests: XCTestCase {
    let kinds: [any RegisteredDetector.Type] = DetectorRegistry.kinds + [LifetimeVolume.self]
    let context = DetectorContext(benignTopics: DetectorTopics(profiles: [SIMD64<Float>(repeating: 1)]))

    func testTheNewDetectorIsBuiltByNameWithItsSettings() throws {
        var settings = DetectorSettings()
        settings[LifetimeVolume.self].limit = 3
        let detector = try DetectorRegistry.make("lifetime_volume", settings: settings, context: context, kinds: kinds)
        XCTAssertEqual(detector.summary, "lifetime_volume(limit=3)")
        XCTAssertThrowsError(
            try DetectorRegistry.make("lifetime_volume", settings: settings, context: context),
            "unknown without the registry line")
        // Its section reads like any config section, unknown keys named.
        XCTAssertEqual(try JSONDecoder().decode(LifetimeVolume.Config.self, from: Data(#"{"limit": 7}"#.utf8)).limit, 7)
        XCTAssertThrowsError(try JSONDecoder().decode(LifetimeVolume.Config.self, from: Data(#"{"limt": 7}"#.utf8))) {
            error in
            guard case let LabError.invalidConfig(key, _)? = error as? LabError else { return XCTFail("\(error)") }
            XCTAssertEqual(key, "detectors.lifetime_volume.limt")
        }
    }

    func testEveryDetectorMeetsTheGatewaysContract() throws {
        var settings = DetectorSettings()
        settings[LifetimeVolume.self].limit = 3
        settings[VolumeDetector.self] = VolumeDetector.Config(windowSeconds: 60, maxRequests: 3)
        for kind in kinds {
            let detector = try DetectorRegistry.make(
                kind.registryName, settings: settings, context: context, kinds: kinds)
            XCTAssertEqual(detector.name, kind.registryName)
            XCTAssertNil(
                detector.statistic(account: 5), "\(kind.registryName): a statistic for an account it never saw")
            var alarms = 0
            for i in 0..<200 {
                let prompt = [Int32](repeating: 1, count: 8)
                if detector.observe(
                    DetectorObservation(account: 0, time: Double(i), features: PromptFeatures(prompt: prompt)))
                {
                    alarms += 1
                }
                let s = detector.suspicion(account: 0)
                XCTAssertTrue((0...1).contains(s), "\(kind.registryName): suspicion \(s)")
            }
            XCTAssertLessThanOrEqual(alarms, 1, "\(kind.registryName): alarmed more than once")
            if alarms == 1 { XCTAssertEqual(detector.suspicion(account: 0), 1, accuracy: 1e-9, kind.registryName) }
        }
    }
}
