// Provenance at campaign scale, simulated: K proxy accounts among N feed a student with given shares of its
// training tokens (the rest the attacker's own clean text); the student's text is traced with Provenance.trace.
// The teacher is a random-bigram model and the student a counted bigram model; not a GPT pipeline. Follows Sander et al. 2024.
import Foundation
import LabCore
import LabDefences

public enum ProvenanceCampaign {
    public struct Config: Sendable, Equatable, Codable {
        public var vocabularySize = 128
        /// Scale of the teacher's N(0, 1) bigram logits (higher: lower entropy, weaker watermark).
        public var teacherScale = 2.0
        public var gamma = 0.25
        public var delta = 2.0
        public var accounts = 1000
        public var proxies = 1
        /// Share of the student's training tokens served to each proxy; 1 − proxies·share is the attacker's own text.
        public var proxyShare = 1.0
        public var trainingTokens = 30_000
        public var suspectTokens = 400
        public var alpha = 0.05
        public init() {}
    }

    public struct Outcome: Sendable, Equatable, Codable {
        /// Accused proxies / K.
        public var identificationRate: Double
        /// Accused honest accounts / (N − K).
        public var falseAccusationRate: Double
        /// 1 when any honest account was accused.
        public var anyFalseAccusation: Double
        /// Median log10 p of the proxies' keys.
        public var proxyLog10P: Double
    }

    public static func run(_ c: Config, seed: UInt64) throws -> Outcome {
        guard c.accounts >= 1, c.proxies >= 1, c.proxies <= c.accounts else {
            throw LabError.invalidConfig(
                key: "proxies", message: "is \(c.proxies) with \(c.accounts) accounts; need 1 ≤ proxies ≤ accounts")
        }
        guard c.proxyShare > 0, Double(c.proxies) * c.proxyShare <= 1 + 1e-9 else {
            throw LabError.invalidConfig(
                key: "proxy_share",
                message: "is \(c.proxyShare); need 0 < proxies × proxy_share ≤ 1 (the rest is the attacker's own text)")
        }
        guard c.trainingTokens >= 2, c.suspectTokens >= 2 else {
            throw LabError.invalidConfig(
                key: "training_tokens", message: "training_tokens and suspect_tokens must be at least 2")
        }
        let V = c.vocabularySize
        let template = try KGWWatermark(gamma: c.gamma, delta: Float(c.delta), key: 0, vocabularySize: V)
        let secret = "provider-\(seed)"
        let accounts = (0..<c.accounts).map { "account-\($0)" }
        var rng = LabRNG(seed: seed, stream: "provenance-campaign")
        let proxies = Array(accounts.shuffled(using: &rng).prefix(c.proxies))
        let teacher = (0..<(V * V)).map { _ in c.teacherScale * rng.normal() }
        func row(_ prev: Int32, _ w: KGWWatermark?) -> [Double] {
            var l = (0..<V).map { Float(teacher[Int(prev) * V + $0]) }
            if let w { l.withUnsafeMutableBufferPointer { w.bias(logits: $0.baseAddress!, context: [prev][...]) } }
            let m = l.max() ?? 0
            let e = l.map { exp(Double($0 - m)) }, s = e.reduce(0, +)
            return e.map { $0 / s }
        }
        func sample(_ n: Int, _ w: KGWWatermark?, _ rng: inout LabRNG) -> [Int32] {
            var t: [Int32] = [Int32(rng.int(below: V))]
            while t.count < n, let last = t.last { t.append(Int32(rng.categorical(row(last, w)))) }
            return t
        }
        var counts = [Double](repeating: 0.01, count: V * V)
        func learn(_ t: [Int32]) { for i in 1..<max(1, t.count) { counts[Int(t[i - 1]) * V + Int(t[i])] += 1 } }
        let perProxy = Int(c.proxyShare * Double(c.trainingTokens))
        for p in proxies where perProxy >= 2 {
            learn(sample(perProxy, try AccountKeys.watermark(template, secret: secret, account: p), &rng))
        }
        let own = c.trainingTokens - perProxy * c.proxies
        if own >= 2 { learn(sample(own, nil, &rng)) }
        // The student samples its counted bigram.
        var suspect: [Int32] = [Int32(rng.int(below: V))]
        while suspect.count < c.suspectTokens, let last = suspect.last {
            suspect.append(Int32(rng.categorical(Array(counts[(Int(last) * V)..<(Int(last) * V + V)]))))
        }
        let report = try Provenance.trace(
            texts: [suspect], accounts: accounts, secret: secret, watermark: template, alpha: c.alpha)
        let proxySet = Set(proxies)
        let accused = report.accused
        let hits = accused.filter { proxySet.contains($0) }.count, false_ = accused.count - hits
        let proxyP = report.rows.filter { proxySet.contains($0.account) }.map { log10(max($0.pValue, 1e-300)) }.sorted()
        let honest = c.accounts - c.proxies
        return Outcome(
            identificationRate: Double(hits) / Double(c.proxies),
            falseAccusationRate: honest == 0 ? 0 : Double(false_) / Double(honest),
            anyFalseAccusation: false_ > 0 ? 1 : 0, proxyLog10P: proxyP[proxyP.count / 2])
    }
}
