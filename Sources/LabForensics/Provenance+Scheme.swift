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

    /// h, the context window both schemes hash.
    public var contextWidth: Int {
        switch self {
        case .kgw(let w): w.contextWidth
        case .gumbel(let w): w.contextWidth
        }
    }

    /// The distinct (h-token window, token) tuples of some texts, in order of first occurrence, grouped by window
    /// so a key hashes each window once. Equal windows are equal token sequences, so the set is the one every
    /// key's de-duplicated tally finds (which compares keyed window hashes; they differ only on a 2⁻⁶⁴ collision).
    public struct DistinctTuples: Sendable {
        /// Distinct windows, h tokens each.
        public var windows: [[Int32]] = []
        /// For each window, the distinct tokens that followed it.
        public var tokens: [[Int32]] = []
        public var count: Int { tokens.reduce(0) { $0 + $1.count } }

        /// Every token of `texts` with a full h-token window (from its prompt where needed; prompt tokens are
        /// context only). Throws on a token outside 0..<V, naming the text and position.
        public init(texts: [[Int32]], prompts: [[Int32]]?, contextWidth h: Int, vocabularySize V: Int) throws {
            var index: [[Int32]: Int] = [:]
            var seen = Set<[Int32]>()
            for (n, text) in texts.enumerated() {
                try forEachWatermarkedToken(
                    in: text, prompt: prompts?[n] ?? [], contextWidth: h, vocabularySize: V, label: "text \(n): "
                ) { token, slice in
                    let window = Array(slice)
                    guard seen.insert(window + [token]).inserted else { return }
                    if let w = index[window] {
                        tokens[w].append(token)
                    } else {
                        index[window] = windows.count
                        windows.append(window)
                        tokens.append([token])
                    }
                }
            }
        }
    }

    /// The de-duplicated test of `tuples` under this key; the same as `evidence(texts:prompts:)` on the texts
    /// they came from.
    public func evidence(_ tuples: DistinctTuples) throws -> Evidence {
        switch self {
        case .kgw(let w):
            var green = 0
            for (window, tokens) in zip(tuples.windows, tuples.tokens) {
                let c = w.contextHash(window[...]) ?? 0
                for t in tokens where w.isGreen(token: t, contextHash: c) { green += 1 }
            }
            let s = WatermarkScore(green: green, scored: tuples.count, gamma: w.effectiveGamma)
            return Evidence(score: s, scored: s.scored, statistic: Double(green), pValue: s.binomialPValue)
        case .gumbel(let w):
            var sum = 0.0
            for (window, tokens) in zip(tuples.windows, tuples.tokens) {
                let c = w.contextHash(window[...]) ?? 0
                for t in tokens { sum += -log1p(-w.uniform(token: t, contextHash: c)) }
            }
            let s = GumbelScore(statistic: sum, scored: tuples.count)
            return Evidence(score: nil, scored: s.scored, statistic: s.statistic, pValue: s.pValue)
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
