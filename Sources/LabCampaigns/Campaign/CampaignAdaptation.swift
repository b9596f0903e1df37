// CampaignAdaptation: what an adaptive extraction campaign does against the gateway's defences, each switch
// off by default — pacing learned from 429s (multiplicative back-off, slow probing up), prompts edited from
// the proxy's own earlier ones so that PRADA's minimum distances spread out, and accounts retired after a few
// queries, each new one drawing from another prompt family, so that no account gathers the evidence
// fingerprint and clustering threshold. Public reports describe campaigns that "avoid detection thresholds"
// and "simulate organic query patterns"; this is one concrete reading of that. Not the non-adaptive pacing
// (Proxy) nor the cost accounting (CampaignOutcome: accounts and dollars include every retired account).
import Foundation
import LabCore

public struct CampaignAdaptation: Equatable, Sendable {
    /// Ignore the published limits: start at `probe_requests_per_minute`, double the gap after each 429 and
    /// shorten it by `probe_step` after every `probe_every` requests served in a row.
    public var learnLimits = false
    public var probeRequestsPerMinute = 60.0
    public var probeEvery = 20
    public var probeStep = 0.8
    /// Share of extraction queries that are an earlier prompt of the same account with a random number of
    /// token edits (half-normal around `shape_edits`), spreading PRADA's minimum distances into a bell.
    public var shapeFraction = 0.0
    public var shapeEdits = 4.0
    /// Retire an account after this many served queries and open a fresh one (nil: keep it).
    public var accountQueries: Int?
    /// Prompt families: each account draws its extraction prompts from one of them (random tokens: one of
    /// `families` blocks of the vocabulary; natural text: one of the mixture's sources), the next account from
    /// the next family.
    public var families = 1

    public init() {}

    public func validate() throws {
        func fail(_ key: String, _ message: String) -> LabError {
            LabError.invalidConfig(key: "attack.adapt.\(key)", message: message)
        }
        guard probeRequestsPerMinute > 0, probeRequestsPerMinute.isFinite else {
            throw fail("probe_requests_per_minute", "is \(probeRequestsPerMinute); must be positive")
        }
        guard probeEvery >= 1 else { throw fail("probe_every", "is \(probeEvery); must be at least 1") }
        guard probeStep > 0, probeStep < 1 else { throw fail("probe_step", "is \(probeStep); must be in (0, 1)") }
        guard (0...1).contains(shapeFraction) else {
            throw fail("shape_fraction", "is \(shapeFraction); must be in [0, 1]")
        }
        guard shapeEdits >= 1, shapeEdits.isFinite else {
            throw fail("shape_edits", "is \(shapeEdits); must be at least 1")
        }
        if let q = accountQueries, q < 1 {
            throw fail("account_queries", "is \(q); must be at least 1, or omitted to keep each account")
        }
        guard (1...64).contains(families) else { throw fail("families", "is \(families); must be in 1...64") }
    }
}

extension CampaignAdaptation: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case learnLimits = "learn_limits", probeRequestsPerMinute = "probe_requests_per_minute"
        case probeEvery = "probe_every", probeStep = "probe_step", shapeFraction = "shape_fraction"
        case shapeEdits = "shape_edits", accountQueries = "account_queries", families
    }

    public init(from decoder: Decoder) throws {
        try ConfigKeys.reject(
            unknownIn: decoder, allowed: CodingKeys.allCases.map(\.rawValue), section: "attack.adapt")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        learnLimits = try c.decodeIfPresent(Bool.self, forKey: .learnLimits) ?? learnLimits
        probeRequestsPerMinute =
            try c.decodeIfPresent(Double.self, forKey: .probeRequestsPerMinute) ?? probeRequestsPerMinute
        probeEvery = try c.decodeIfPresent(Int.self, forKey: .probeEvery) ?? probeEvery
        probeStep = try c.decodeIfPresent(Double.self, forKey: .probeStep) ?? probeStep
        shapeFraction = try c.decodeIfPresent(Double.self, forKey: .shapeFraction) ?? shapeFraction
        shapeEdits = try c.decodeIfPresent(Double.self, forKey: .shapeEdits) ?? shapeEdits
        accountQueries = try c.decodeIfPresent(Int.self, forKey: .accountQueries)
        families = try c.decodeIfPresent(Int.self, forKey: .families) ?? families
        try validate()
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(learnLimits, forKey: .learnLimits)
        try c.encode(probeRequestsPerMinute, forKey: .probeRequestsPerMinute)
        try c.encode(probeEvery, forKey: .probeEvery)
        try c.encode(probeStep, forKey: .probeStep)
        try c.encode(shapeFraction, forKey: .shapeFraction)
        try c.encode(shapeEdits, forKey: .shapeEdits)
        try c.encodeIfPresent(accountQueries, forKey: .accountQueries)
        try c.encode(families, forKey: .families)
    }
}
