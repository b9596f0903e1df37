// Watermark scrubbing: what an attacker who knows the teacher's text is KGW-watermarked (Kirchenbauer
// et al. 2023) does before distilling, without the key. It estimates which (context, token) pairs are
// green by how much more often the harvested text uses them than its own unwatermarked text does (the
// frequency contrast of Jovanović et al. 2024, "Watermark Stealing"), then either drops the texts that
// score highest or rewrites the highest-scoring tokens with draws from its own model (an h-gram model
// of its own text). Not a paraphraser and not key recovery: counts only.
import Foundation
import LabCore

public struct WatermarkScrub: Equatable, Sendable {
    public enum Method: String, CaseIterable, Sendable {
        /// Train on the harvest as bought.
        case none
        /// Drop the `fraction` of texts whose mean pair score is highest (buying more to keep the tokens).
        case drop
        /// Rewrite the `fraction` of generated tokens whose pair score is highest from the attacker's model.
        case resample
    }

    public var method: Method
    /// The share of texts dropped (`drop`) or of generated tokens rewritten (`resample`), in [0, 1).
    public var fraction: Double
    /// h, the context the attacker assumes the green lists depend on (the watermark's own is secret).
    public var contextWidth: Int

    public init(method: Method = .none, fraction: Double = 0.25, contextWidth: Int = 1) {
        self.method = method
        self.fraction = fraction
        self.contextWidth = contextWidth
    }

    /// Throws naming the key when a value is out of range.
    public func validate() throws {
        guard fraction >= 0, fraction < 1 else {
            throw LabError.invalidConfig(
                key: "fraction", message: "is \(fraction); the scrubbed share must be in [0, 1)")
        }
        guard (1...4).contains(contextWidth) else {
            throw LabError.invalidConfig(key: "context_width", message: "is \(contextWidth); allowed range 1...4")
        }
    }

    /// How many texts to buy so that `needed` are left after a drop.
    public func textsToBuy(_ needed: Int) -> Int {
        method == .drop ? Int((Double(needed) / (1 - fraction)).rounded(.up)) : needed
    }

    /// What scrubbing did: the texts to train on, the share of generated tokens rewritten, texts dropped.
    public struct Outcome: Sendable {
        public var texts: [[Int32]]
        public var rewrittenShare: Double
        public var dropped: Int
    }

    /// Scrubs `texts` (each a prompt of `promptLength` tokens and what the teacher generated after it),
    /// using `own`, the attacker's own unwatermarked text, as the reference; `seed` drives the rewrites.
    public func scrub(_ texts: [[Int32]], promptLength: Int, own: [Int], vocabularySize V: Int, seed: UInt64)
        -> Outcome
    {
        guard method != .none, fraction > 0, !texts.isEmpty else {
            return Outcome(texts: texts, rewrittenShare: 0, dropped: 0)
        }
        let model = NGramCounts(tokens: own.map(Int32.init), contextWidth: contextWidth, vocabularySize: V)
        let harvested = NGramCounts(texts: texts, contextWidth: contextWidth, vocabularySize: V)
        /// log p_harvest(token | context) − log p_own(token | context): high for likely-green pairs.
        func score(_ text: [Int32], _ i: Int) -> Double {
            let context = Array(text[max(0, i - contextWidth)..<i])
            return log(harvested.probability(text[i], after: context)) - log(model.probability(text[i], after: context))
        }
        let generated = texts.map { text in (max(promptLength, 1)..<text.count).map { score(text, $0) } }
        switch method {
        case .none:
            return Outcome(texts: texts, rewrittenShare: 0, dropped: 0)
        case .drop:
            let means = generated.map { $0.isEmpty ? -Double.infinity : $0.reduce(0, +) / Double($0.count) }
            let dropped = Int((Double(texts.count) * fraction).rounded())
            let order = texts.indices.sorted { means[$0] > means[$1] || (means[$0] == means[$1] && $0 < $1) }
            let gone = Set(order.prefix(dropped))
            return Outcome(
                texts: texts.indices.filter { !gone.contains($0) }.map { texts[$0] }, rewrittenShare: 0,
                dropped: dropped)
        case .resample:
            var all: [(score: Double, text: Int, position: Int)] = []
            for (t, scores) in generated.enumerated() {
                for (j, s) in scores.enumerated() { all.append((s, t, max(promptLength, 1) + j)) }
            }
            let count = Int((Double(all.count) * fraction).rounded())
            all.sort {
                $0.score > $1.score || ($0.score == $1.score && ($0.text, $0.position) < ($1.text, $1.position))
            }
            var marked = Set<Int>()
            for entry in all.prefix(count) { marked.insert(entry.text << 20 | entry.position) }
            var rng = LabRNG(seed: seed, stream: "watermark-scrub")
            var out = texts
            for t in out.indices {
                for i in max(promptLength, 1)..<out[t].count where marked.contains(t << 20 | i) {
                    let context = Array(out[t][max(0, i - contextWidth)..<i])
                    out[t][i] = model.sample(after: context, rng: &rng)
                }
            }
            return Outcome(texts: out, rewrittenShare: all.isEmpty ? 0 : Double(count) / Double(all.count), dropped: 0)
        }
    }
}

/// Add-one-smoothed counts of (h-gram context, token): the attacker's own model and the harvest's profile.
struct NGramCounts {
    let contextWidth: Int
    let vocabularySize: Int
    var counts: [[Int32]: [Double]] = [:]

    init(tokens: [Int32], contextWidth: Int, vocabularySize: Int) {
        self.init(texts: [tokens], contextWidth: contextWidth, vocabularySize: vocabularySize)
    }

    init(texts: [[Int32]], contextWidth: Int, vocabularySize: Int) {
        self.contextWidth = contextWidth
        self.vocabularySize = vocabularySize
        for text in texts where text.count > contextWidth {
            for i in contextWidth..<text.count where Int(text[i]) < vocabularySize {
                counts[Array(text[(i - contextWidth)..<i]), default: [Double](repeating: 0, count: vocabularySize)][
                    Int(text[i])] += 1
            }
        }
    }

    func probability(_ token: Int32, after context: [Int32]) -> Double {
        guard let row = counts[context], Int(token) < vocabularySize else { return 1 / Double(vocabularySize) }
        return (row[Int(token)] + 1) / (row.reduce(0, +) + Double(vocabularySize))
    }

    func sample(after context: [Int32], rng: inout LabRNG) -> Int32 {
        let row = counts[context] ?? [Double](repeating: 0, count: vocabularySize)
        return Int32(rng.categorical(row.map { $0 + 1 }))
    }
}
