// Detector tests: the volume window's exact semantics; PRADA against a naive re-implementation of Juuti et
// al.'s Algorithm 1 (same distances, same test points, same W) and on streams built to be non-normal or
// not; the fingerprint on random, natural and single-topic streams; clustering on a crowd of look-alikes.
import Foundation
import LabCore
import XCTest

@testable import LabAPI
@testable import LabAttacks
@testable import LabCampaigns
@testable import LabDefences

final class DetectorTests: XCTestCase {
    let mixture = CampaignFixture.world.mixture

    func observe(_ d: any Detector, _ prompts: [[Int32]], account: Int = 0) -> Int? {
        var alarmAt: Int?
        for (i, p) in prompts.enumerated()
        where d.observe(DetectorObservation(account: account, time: Double(i), features: PromptFeatures(prompt: p))) {
            alarmAt = alarmAt ?? i + 1
        }
        return alarmAt
    }

    func natural(_ count: Int, seed: UInt64, source: Int? = nil) -> [[Int32]] {
        var rng = LabRNG(seed: seed)
        return (0..<count).map { _ in
            mixture.window(
                source: source ?? rng.categorical(mixture.weights), split: .validation, length: 8 + rng.int(below: 25),
                rng: &rng)
        }
    }

    func randomTokens(_ count: Int, seed: UInt64) throws -> [[Int32]] {
        var rng = LabRNG(seed: seed)
        let source = RandomTokens()
        try source.prepare(StrategySetup(vocabularySize: mixture.vocabularySize, lengths: 8...32, seed: 0) { _ in [] })
        return (0..<count).map { _ in source.prompt(proxy: 0, rng: &rng) }
    }

    func testVolumeAlarmsOnTheFirstWindowOverTheLimit() {
        let d = VolumeDetector(config: .init(windowSeconds: 100, maxRequests: 3))
        func at(_ t: Double, _ a: Int = 0) -> Bool {
            d.observe(DetectorObservation(account: a, time: t, features: PromptFeatures(prompt: [1])))
        }
        // Never 4 within 100 s.
        XCTAssertEqual([0, 40, 80, 120, 160].map { at($0) }, [false, false, false, false, false])
        XCTAssertTrue(at(170))  // 80, 120, 160, 170: four within 100 s
        XCTAssertFalse(at(171))  // alarms once
        XCTAssertFalse(at(0, 1))
    }

    /// Algorithm 1 of Juuti et al. 2019 written out naively — every distance recomputed from the stored
    /// vectors, a fresh sort and Shapiro–Wilk at each test point — must give the detector's W at the same
    /// points: every 10 distances once there are more than 100.
    func testPRADAMatchesANaiveAlgorithm1() throws {
        let prompts = natural(260, seed: 4)
        let d = PRADADetector(config: .init())
        _ = observe(d, prompts)
        var growing: [SIMD64<Float>] = []
        var added: [Double] = []
        var distances: [Double] = []
        var threshold = 0.0
        var expected: [(Int, Double)] = []
        for p in prompts {
            let c = PromptFeatures(prompt: p).counts
            let x = c / (c * c).sum().squareRoot()
            guard !growing.isEmpty else {
                growing.append(x)
                continue
            }
            let dmin = growing.map { y -> Double in
                let v = x - y
                return Double((v * v).sum())
            }.min()!.squareRoot()
            distances.append(dmin)
            if dmin > threshold {
                growing.append(x)
                added.append(dmin)
                let mean = added.reduce(0, +) / Double(added.count)
                let std = (added.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(added.count)).squareRoot()
                threshold = max(threshold, mean - std)
            }
            if distances.count > 100, (distances.count - 100) % 10 == 0 {
                expected.append((distances.count, try ShapiroWilk.test(distances).w))
            }
        }
        XCTAssertEqual(d.tests.map(\.distances), expected.map(\.0))
        XCTAssertEqual(d.tests.map(\.distances).first, 110)
        for (got, want) in zip(d.tests, expected) {
            XCTAssertEqual(got.w, want.1, accuracy: 1e-4, "at \(want.0) distances")
        }
    }

    /// A stream that resends earlier prompts half of the time has a spike of zero distances: far from
    /// normal, W < 0.9 at the first test (110 distances: the 111th prompt, the first has no distance).
    /// Independent natural windows stay above δ = 0.9.
    func testPRADAAlarmsOnASpikyStreamNotOnIndependentNaturalText() {
        var rng = LabRNG(seed: 8)
        var sent: [[Int32]] = []
        for p in natural(300, seed: 9) {
            sent.append(!sent.isEmpty && rng.uniform() < 0.5 ? sent[rng.int(below: sent.count)] : p)
        }
        XCTAssertEqual(observe(PRADADetector(config: .init()), sent), 111)
        XCTAssertNil(observe(PRADADetector(config: .init()), natural(300, seed: 10)))
    }

    func testFingerprintFlagsRandomTokensNotNaturalOrSingleTopicText() throws {
        let topics = DetectorTopics(profiles: mixture.topicProfiles(prompts: 300, lengths: PromptLengths(), seed: 1))
        func detector() -> FingerprintDetector { FingerprintDetector(config: .init(), topics: topics) }
        let alarm = observe(detector(), try randomTokens(200, seed: 2))
        XCTAssertNotNil(alarm)
        XCTAssertLessThanOrEqual(alarm ?? .max, 100)
        XCTAssertNil(observe(detector(), natural(300, seed: 3)))
        for s in mixture.sources.indices {
            XCTAssertNil(observe(detector(), natural(300, seed: 4, source: s)), mixture.sources[s].name)
        }
    }

    /// Twelve random-token proxies of 15 queries each — too few for the per-account fingerprint — among 30
    /// natural-text users: one sweep flags the proxies and none of the users; natural proxies pass.
    /// 30 honest users (accounts 0..<30) and 12 proxies (30..<42) sending random tokens or natural text.
    func crowd(_ d: ClusteringDetector, strategy: String) throws {
        for u in 0..<30 {
            _ = observe(
                d,
                natural(10 + 5 * (u % 4), seed: 100 + UInt64(u), source: u % 3 == 0 ? u % mixture.sources.count : nil),
                account: u)
        }
        for p in 0..<12 {
            let prompts =
                strategy == "random" ? try randomTokens(15, seed: 200 + UInt64(p)) : natural(15, seed: 300 + UInt64(p))
            _ = observe(d, prompts, account: 30 + p)
        }
    }

    func testClusteringAgainstAReferenceSample() throws {
        let topics = DetectorTopics(profiles: mixture.topicProfiles(prompts: 300, lengths: PromptLengths(), seed: 1))
        let exact = ClusteringDetector(config: .init(), topics: topics)
        try crowd(exact, strategy: "random")
        let exactAlarms = exact.sweep(time: 3600)
        // A sample at least as large as the fingerprinted accounts is the exact detector, bit for bit.
        var all = ClusteringDetector.Config()
        all.referenceAccounts = 42
        let whole = ClusteringDetector(config: all, topics: topics)
        try crowd(whole, strategy: "random")
        XCTAssertEqual(whole.sweep(time: 3600), exactAlarms)
        for a in 0..<42 {
            XCTAssertEqual(whole.statistic(account: a), exact.statistic(account: a), "account \(a)")
            XCTAssertEqual(whole.neighbours(account: a), exact.neighbours(account: a), "account \(a)")
        }
        // A sample of 20: the 20 ids with the lowest hashes, the same on every call; neighbours only among them.
        var some = ClusteringDetector.Config()
        some.referenceAccounts = 20
        let sampled = ClusteringDetector(config: some, topics: topics)
        try crowd(sampled, strategy: "random")
        let members = Array(0..<42)
        let sample = sampled.referenceSample(members)
        XCTAssertEqual(sample.count, 20)
        XCTAssertEqual(sample, sampled.referenceSample(members))
        XCTAssertEqual(sample, sample.sorted())
        // Adding accounts only drops sampled ones whose hash is beaten; none enters but the new ones.
        let grown = sampled.referenceSample(Array(0..<84))
        XCTAssertEqual(grown.count, 20)
        XCTAssertTrue(Set(grown.filter { $0 < 42 }).isSubset(of: Set(sample)))
        let alarms = Set(sampled.sweep(time: 3600))
        let inSample = Set(sample)
        var seenFewer = false
        for a in 0..<42 {
            let own = inSample.contains(a) ? 1 : 0
            XCTAssertLessThanOrEqual(sampled.neighbours(account: a), 20 - own, "account \(a)")
            XCTAssertLessThanOrEqual(sampled.neighbours(account: a), exact.neighbours(account: a), "account \(a)")
            seenFewer = seenFewer || sampled.neighbours(account: a) < exact.neighbours(account: a)
        }
        XCTAssertTrue(seenFewer, "a 20-account sample of 42 found every neighbour of every account")
        XCTAssertEqual(alarms.filter { $0 < 30 }.count, 0, "honest users flagged against the sample")
        XCTAssertGreaterThan(alarms.filter { $0 >= 30 }.count, 0, "no proxy flagged against the sample")
    }

    /// The detectors on their own worker change nothing: two gateways, one pipelined, see the same traffic (30
    /// honest accounts, 12 proxies sending random tokens, over a day, every detector banning after two hours)
    /// and give the same answer to every request, the same alarm log and the same bans.
    func testPipelinedDetectorsGiveTheSynchronousOutcome() throws {
        let topics = DetectorTopics(profiles: mixture.topicProfiles(prompts: 300, lengths: PromptLengths(), seed: 1))
        func gateway(pipelined: Bool) throws -> Gateway {
            var volume = VolumeDetector.Config()
            volume.maxRequests = 14
            var clustering = ClusteringDetector.Config()
            clustering.sweepSeconds = 1800
            let detectors: [(detector: any Detector, bans: Bool)] = [
                (VolumeDetector(config: volume), true), (PRADADetector(config: .init()), true),
                (FingerprintDetector(config: .init(), topics: topics), true),
                (ClusteringDetector(config: clustering, topics: topics), true),
            ]
            return try Gateway(
                config: GatewayConfig(rateLimit: nil, banDelaySeconds: 7200), api: nil, detectors: detectors,
                pipelined: pipelined)
        }
        let sync = try gateway(pipelined: false), piped = try gateway(pipelined: true)
        XCTAssertFalse(sync.isPipelined)
        XCTAssertTrue(piped.isPipelined)
        for g in [sync, piped] { for _ in 0..<42 { _ = try g.openAccount(at: 0) } }
        var rng = LabRNG(seed: 5)
        var prompts = (0..<30).map { natural(150, seed: 100 + UInt64($0)) }
        prompts += try (0..<12).map { try randomTokens(150, seed: 200 + UInt64($0)) }
        var next = [Int](repeating: 0, count: 42)
        var time = 0.0
        var banned = 0
        for _ in 0..<4000 {
            time += 20 * rng.uniform()
            let a = rng.int(below: 42)
            let query = Query.completion(prompts[a][next[a] % 150], maxNewTokens: 4)
            next[a] += 1
            let answers = try [sync, piped].map { g -> String in
                switch try g.submit(query, account: a, at: time) {
                case .served: return "served"
                case let .refused(r):
                    return "\(r)"
                }
            }
            XCTAssertEqual(answers[0], answers[1], "request at \(time) s from account \(a)")
            if answers[0].hasPrefix("banned") { banned += 1 }
        }
        try sync.advance(to: time + 3600)
        try piped.advance(to: time + 3600)
        XCTAssertGreaterThan(banned, 100, "the traffic must meet bans for the comparison to mean anything")
        XCTAssertEqual(piped.alarms, sync.alarms)
        XCTAssertGreaterThan(
            Set(sync.alarms.map(\.detector)).count, 1, "\(sync.alarms.map { ($0.detector, $0.account, $0.time) })")
        XCTAssertEqual(piped.accounts.map(\.banAt), sync.accounts.map(\.banAt))
        for name in sync.detectorNames {
            let (s, p) = (sync.detector(named: name)!, piped.detector(named: name)!)
            XCTAssertEqual((0..<42).map { p.statistic(account: $0) }, (0..<42).map { s.statistic(account: $0) }, name)
        }
    }

    func testClusteringFlagsACrowdOfLookAlikesAndNotHonestUsers() throws {
        let topics = DetectorTopics(profiles: mixture.topicProfiles(prompts: 300, lengths: PromptLengths(), seed: 1))
        for (strategy, flagged) in [("random", 12), ("natural", 0)] {
            let d = ClusteringDetector(config: .init(), topics: topics)
            try crowd(d, strategy: strategy)
            let alarms = Set(d.sweep(time: 3600))
            XCTAssertEqual(alarms.filter { $0 >= 30 }.count, flagged, strategy)
            XCTAssertEqual(alarms.filter { $0 < 30 }.count, 0, "\(strategy): honest users flagged")
        }
    }
}
