// Calibrated proof-of-work (Dziedzic, Kaleem, Lu, Papernot 2022, "Increasing the Cost of Model Extraction
// with Calibrated Proof of Work"): before each answer the client solves a HashCash-style puzzle whose
// difficulty grows with how suspicious its account looks, so honest users pay little and extractors much.
// Simulated, not computed: a puzzle of b bits costs its expected 2^b hash evaluations, counted exactly.
import LabCore

public struct ProofOfWorkConfig: Equatable, Sendable {
    /// Whose suspicion score sets the difficulty: a detector's registry name, or "max" over all running ones.
    /// The paper calibrates on PATE privacy leakage; here any detector's score in [0, 1] plays that role.
    public var scoreFrom = "max"
    /// Difficulty at suspicion 0 (every request pays it: honest users' floor).
    public var minBits = 8
    /// Difficulty at suspicion 1; between the two, bits = min + round((max − min) · score).
    public var maxBits = 26
    /// The client's hash rate (one CPU core running SHA-256 is of order 10⁷ per second).
    public var hashesPerSecond = 1e7
    /// What a CPU-hour costs the client, to price the work in dollars.
    public var dollarsPerCPUHour = 0.04

    public init() {}

    public func validate(detectors: [String]) throws {
        func fail(_ key: String, _ message: String) -> LabError {
            LabError.invalidConfig(key: "defence.proof_of_work.\(key)", message: message)
        }
        guard scoreFrom == "max" || detectors.contains(scoreFrom) else {
            throw fail(
                "score_from",
                "is '\(scoreFrom)'; use 'max' or one of the running detectors (\(detectors.joined(separator: ", ")))")
        }
        guard (0...62).contains(minBits) else { throw fail("min_bits", "is \(minBits); must be in 0...62") }
        guard (minBits...62).contains(maxBits) else {
            throw fail("max_bits", "is \(maxBits); must be in min_bits (\(minBits))...62")
        }
        guard hashesPerSecond > 0, hashesPerSecond.isFinite else {
            throw fail("hashes_per_second", "is \(hashesPerSecond); must be positive")
        }
        guard dollarsPerCPUHour >= 0, dollarsPerCPUHour.isFinite else {
            throw fail("dollars_per_cpu_hour", "is \(dollarsPerCPUHour); must be 0 or more")
        }
    }
}

/// Work charged for one request.
public struct ProofOfWorkCharge: Equatable, Sendable {
    public var bits: Int
    /// Expected hash evaluations, 2^bits.
    public var hashes: UInt64
    /// Seconds the client spends solving before it can send again.
    public var seconds: Double
}

public struct ProofOfWork: Sendable {
    public let config: ProofOfWorkConfig

    public init(config: ProofOfWorkConfig) { self.config = config }

    /// The puzzle for an account whose suspicion is `score` (clamped to [0, 1]).
    public func charge(score: Double) -> ProofOfWorkCharge {
        let s = min(1, max(0, score.isFinite ? score : 1))
        let bits = config.minBits + Int((Double(config.maxBits - config.minBits) * s).rounded())
        let hashes = UInt64(1) << UInt64(bits)
        return ProofOfWorkCharge(bits: bits, hashes: hashes, seconds: Double(hashes) / config.hashesPerSecond)
    }

    /// Dollars of `hashes` evaluations at the configured CPU price.
    public func dollars(hashes: UInt64) -> Double {
        Double(hashes) / config.hashesPerSecond / 3600 * config.dollarsPerCPUHour
    }
}

extension ProofOfWorkConfig: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case scoreFrom = "score_from", minBits = "min_bits", maxBits = "max_bits", hashesPerSecond = "hashes_per_second"
        case dollarsPerCPUHour = "dollars_per_cpu_hour"
    }

    public init(from decoder: Decoder) throws {
        try ConfigKeys.reject(
            unknownIn: decoder, allowed: CodingKeys.allCases.map(\.rawValue), section: "defence.proof_of_work")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        scoreFrom = try c.decodeIfPresent(String.self, forKey: .scoreFrom) ?? scoreFrom
        minBits = try c.decodeIfPresent(Int.self, forKey: .minBits) ?? minBits
        maxBits = try c.decodeIfPresent(Int.self, forKey: .maxBits) ?? maxBits
        hashesPerSecond = try c.decodeIfPresent(Double.self, forKey: .hashesPerSecond) ?? hashesPerSecond
        dollarsPerCPUHour = try c.decodeIfPresent(Double.self, forKey: .dollarsPerCPUHour) ?? dollarsPerCPUHour
    }
}
