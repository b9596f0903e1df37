// The watermark schemes a provider can key per account and trace: KGW (a δ-shifted green list, Kirchenbauer et
// al. 2023) and the distortion-free Gumbel sampler (Aaronson 2022), each with its exact de-duplicated test.
// Not the schemes themselves (LabDefences/Watermark) nor the correction over accounts (Provenance.swift).
import Foundation
import LabCore
import LabDefences

/// A scheme with its parameters; the key of a template is ignored when tracing (each account has its own).
public enum ProvenanceScheme: Sendable, Equatable {
    case kgw(KGWWatermark)
    case gumbel(GumbelWatermark)

    /// The name a config file uses.
    public var name: String {
        switch self {
        case .kgw: "kgw"
        case .gumbel: "gumbel"
        }
    }

    public var vocabularySize: Int {
        switch self {
        case .kgw(let w): w.vocabularySize
        case .gumbel(let w): w.vocabularySize
        }
    }

    /// The same scheme and parameters under `key`.
    public func withKey(_ key: UInt64) throws -> ProvenanceScheme {
        switch self {
        case .kgw(let w):
            .kgw(
                try KGWWatermark(
                    gamma: w.gamma, delta: w.delta, key: key, contextWidth: w.contextWidth,
                    vocabularySize: w.vocabularySize))
        case .gumbel(let w):
            .gumbel(try GumbelWatermark(key: key, contextWidth: w.contextWidth, vocabularySize: w.vocabularySize))
        }
    }

    /// One key's evidence: the de-duplicated test's statistic and exact p-value.
    public struct Evidence: Sendable, Equatable {
        /// The KGW score (nil for Gumbel).
        public var score: WatermarkScore?
        public var scored: Int
        public var statistic: Double
        public var pValue: Double
    }

    /// The de-duplicated test of `texts` (each `prompts` entry as context only) under this key.
    public func evidence(texts: [[Int32]], prompts: [[Int32]]? = nil) throws -> Evidence {
        switch self {
        case .kgw(let w):
            let s = try KGWDetector(watermark: w).aggregate(texts: texts, prompts: prompts, deduplicate: true)
            return Evidence(score: s, scored: s.scored, statistic: Double(s.green), pValue: s.binomialPValue)
        case .gumbel(let w):
            var tally = GumbelTally(watermark: w, deduplicate: true)
            for (i, text) in texts.enumerated() {
                do { try tally.add(tokens: text, prompt: prompts?[i] ?? []) } catch {
                    throw LabError.message("text \(i): \(error)")
                }
            }
            let s = tally.score
            return Evidence(score: nil, scored: s.scored, statistic: s.statistic, pValue: s.pValue)
        }
    }

    /// The served next-token distribution after `context` for a teacher whose next-token probabilities are `p`:
    /// KGW's δ-shifted softmax of log p; for Gumbel the point mass on the keyed choice. Used to measure what a
    /// scheme costs an honest user (what they receive against what the teacher would have given).
    public func served(probabilities p: [Double], context: ArraySlice<Int32>) -> [Double] {
        switch self {
        case .kgw(let w):
            var logits = p.map { Float($0 > 0 ? log($0) : -1e30) }
            logits.withUnsafeMutableBufferPointer { w.bias(logits: $0.baseAddress!, context: context) }
            let m = Double(logits.max() ?? 0)
            let e = logits.map { exp(Double($0) - m) }, s = e.reduce(0, +)
            return e.map { $0 / s }
        case .gumbel(let w):
            guard let t = w.sample(probabilities: p, context: context) else { return p }
            var out = [Double](repeating: 0, count: p.count)
            out[Int(t)] = 1
            return out
        }
    }
}
