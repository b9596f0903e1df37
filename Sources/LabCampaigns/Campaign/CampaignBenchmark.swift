// CampaignBenchmark: the detection-only scale run — by default a day of 16,000 honest users (about a million
// requests) and a 1,000-account random-token campaign through the gateway with all four detectors banning, no
// teacher; `CampaignBenchmark.Scale` sets the requests and the proxy accounts. It checks the run first (volume,
// detections), warms up on a small copy, then times the real one: wall and CPU seconds, requests per second,
// peak resident memory. Not a test: it lives behind `distill-lab campaign --benchmark`.
import Foundation
import LabCore

public struct CampaignBenchmarkReport: Sendable {
    public var requests: Int
    public var wallSeconds: Double
    public var cpuSeconds: Double
    public var requestsPerSecond: Double
    public var peakResidentMebibytes: Double
    public var outcome: CampaignOutcome
}

public enum CampaignBenchmark {
    /// How big the run is: the requests it must handle and the proxy accounts the campaign opens at the start.
    /// Honest users number 16,000 per million requests (about 58 requests each in the day) and the attack's
    /// budget is a tenth of the requests, split evenly over the proxies; the default is the million-request run.
    public struct Scale: Equatable, Sendable {
        public var requests: Int
        public var accounts: Int
        /// The detectors in force, all banning.
        public var detectors: [String]
        /// The clustering detector's `reference_accounts` (nil: neighbours among every fingerprinted account).
        public var clusteringReference: Int?

        public static let allDetectors = ["volume", "prada", "fingerprint", "clustering"]

        public init(
            requests: Int = 1_000_000, accounts: Int = 1000, detectors: [String] = Scale.allDetectors,
            clusteringReference: Int? = nil
        ) {
            self.requests = requests
            self.accounts = accounts
            self.detectors = detectors
            self.clusteringReference = clusteringReference
        }

        /// Honest users: 16,000 per million requests.
        public var users: Int { Int((Double(requests) * 0.016).rounded()) }
        /// The campaign's query budget: a tenth of the requests.
        public var budgetQueries: Int { requests / 10 }

        /// Throws `LabError.invalidConfig` naming the flag when the run cannot be built or would not be a campaign.
        public func validate() throws {
            guard (1000...100_000_000).contains(requests) else {
                throw LabError.invalidConfig(
                    key: "--requests", message: "is \(requests); must be in 1,000...100,000,000 (default 1,000,000)")
            }
            guard accounts >= 1, accounts <= budgetQueries else {
                throw LabError.invalidConfig(
                    key: "--accounts",
                    message:
                        "is \(accounts); must be in 1...\(budgetQueries) (the budget, a tenth of --requests, gives each proxy at least one query)"
                )
            }
            for name in detectors where !DetectorRegistry.names.contains(name) {
                throw LabError.invalidConfig(
                    key: "--detectors",
                    message: "names '\(name)'; known: \(DetectorRegistry.names.joined(separator: ", "))")
            }
            guard !detectors.isEmpty else {
                throw LabError.invalidConfig(key: "--detectors", message: "is empty; name at least one detector")
            }
            if let r = clusteringReference {
                guard detectors.contains(ClusteringDetector.registryName) else {
                    throw LabError.invalidConfig(
                        key: "--clustering-reference",
                        message: "is set but --detectors leaves out clustering; add clustering or drop the flag")
                }
                var c = ClusteringDetector.Config()
                c.referenceAccounts = r
                do { try c.validate() } catch {
                    throw LabError.invalidConfig(
                        key: "--clustering-reference",
                        message: "is \(r); must exceed the clustering detector's min_neighbours (\(c.minNeighbours))")
                }
            }
        }

        /// The same run shrunk by `factor` (users, budget and accounts), for the warm-up.
        func scaled(by factor: Double) -> Scale {
            Scale(
                requests: max(1000, Int(Double(requests) * factor)), accounts: max(1, Int(Double(accounts) * factor)),
                detectors: detectors, clusteringReference: clusteringReference)
        }
    }

    /// The benchmark's cell at `scale`.
    public static func config(_ scale: Scale = Scale()) -> CampaignConfig {
        var c = CampaignConfig()
        c.mode = .detectionOnly
        c.horizonHours = 24
        c.population.users = scale.users
        c.attack.accounts = scale.accounts
        c.attack.budgetQueries = scale.budgetQueries
        c.attack.strategy = "random_tokens"
        c.defence = CampaignDefenceConfig(detectors: scale.detectors)
        c.detectors[ClusteringDetector.self].referenceAccounts = scale.clusteringReference
        return c
    }

    /// Verifies, warms up, times. Throws `LabError.numerical` when the run does not do what it claims
    /// (fewer requests than `scale.requests`, or a campaign no detector saw).
    public static func run(scale: Scale = Scale(), progress: (String) -> Void = { _ in }) throws
        -> CampaignBenchmarkReport
    {
        try scale.validate()
        let config = Self.config(scale)
        progress("building the benign world (corpora and teacher)")
        let world = try CampaignWorld(config: config)
        progress("warm-up at 1/20 scale")
        _ = try CampaignSimulation.run(config: Self.config(scale.scaled(by: 0.05)), seed: 1, world: world)
        progress(
            "timed run: \(config.population.users) users, \(config.attack.accounts) proxy accounts, 24 simulated hours")
        let cpu0 = cpuSeconds(), wall0 = DispatchTime.now().uptimeNanoseconds
        let run = try CampaignSimulation.run(config: config, seed: 0, world: world)
        let wall = Double(DispatchTime.now().uptimeNanoseconds - wall0) / 1e9, cpu = cpuSeconds() - cpu0
        let o = run.outcome
        guard o.requests >= scale.requests else {
            throw LabError.numerical(
                "benchmark handled \(o.requests) requests; it must handle at least \(scale.requests)")
        }
        guard o.detectors.contains(where: { $0.attackerAccountsAlarmed > 0 }) else {
            throw LabError.numerical(
                "benchmark campaign was not detected by any detector; the run is not doing what it measures")
        }
        return CampaignBenchmarkReport(
            requests: o.requests, wallSeconds: wall, cpuSeconds: cpu, requestsPerSecond: Double(o.requests) / wall,
            peakResidentMebibytes: peakResidentMebibytes(), outcome: o)
    }

    /// User plus system CPU seconds of this process.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    static func peakResidentMebibytes() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024  // kilobytes on Linux
    }
}
