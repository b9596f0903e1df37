// CampaignBenchmark: the detection-only scale run — a day of 16,000 honest users (about a million requests)
// and a 1,000-account random-token campaign through the gateway with all four detectors banning, no teacher.
// It checks the run first (volume, detections), warms up on a small copy, then times the real one: wall
// and CPU seconds, requests per second. Not a test: it lives behind `distill-lab campaign --benchmark`.
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
    /// The benchmark's cell; `scale` multiplies users and budget (1 is the real run).
    public static func config(scale: Double = 1) -> CampaignConfig {
        var c = CampaignConfig()
        c.mode = .detectionOnly
        c.horizonHours = 24
        c.population.users = Int(16_000 * scale)
        c.attack.accounts = max(1, Int(1000 * scale))
        c.attack.budgetQueries = Int(100_000 * scale)
        c.attack.strategy = "random_tokens"
        c.defence = CampaignDefenceConfig(detectors: ["volume", "prada", "fingerprint", "clustering"])
        return c
    }

    /// Verifies, warms up, times. Throws `LabError.numerical` when the run does not do what it claims
    /// (fewer than a million requests, or a campaign no detector saw).
    public static func run(progress: (String) -> Void = { _ in }) throws -> CampaignBenchmarkReport {
        let config = Self.config()
        progress("building the benign world (corpora and teacher)")
        let world = try CampaignWorld(config: config)
        progress("warm-up at 1/20 scale")
        _ = try CampaignSimulation.run(config: Self.config(scale: 0.05), seed: 1, world: world)
        progress(
            "timed run: \(config.population.users) users, \(config.attack.accounts) proxy accounts, 24 simulated hours")
        let cpu0 = cpuSeconds(), wall0 = DispatchTime.now().uptimeNanoseconds
        let run = try CampaignSimulation.run(config: config, seed: 0, world: world)
        let wall = Double(DispatchTime.now().uptimeNanoseconds - wall0) / 1e9, cpu = cpuSeconds() - cpu0
        let o = run.outcome
        guard o.requests >= 1_000_000 else {
            throw LabError.numerical("benchmark handled \(o.requests) requests; it must handle at least 1,000,000")
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
