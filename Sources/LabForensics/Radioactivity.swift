// Radioactivity tests (Sander et al. 2024, "Watermarking Makes Language Models Radioactive"): does a
// suspect student carry a KGW watermark it learned from its training text? Reading mode for open models,
// generation mode for closed ones. Not the green lists or the statistics (Watermark*.swift).
import Foundation
import LabCore
import LabDefences
import LabModel

/// The evidence a test found, both ways of counting.
///
/// Without de-duplication every scored position counts, so a tuple (h-token context window, token)
/// that recurs is counted each time it recurs; recurrences are not independent draws under the null,
/// and on a clean model they spread the z-scores far wider than N(0, 1) (p-values pile up at 0 and 1).
/// With de-duplication each tuple counts once, the paper's fix, which makes the binomial null hold.
public struct RadioactivityReport: Sendable, Equatable, Codable {
    public enum Mode: String, Codable, Sendable {
        /// The student read watermarked text; its top-1 next-token predictions were scored.
        case reading
        /// The student wrote text; its own tokens were scored.
        case generation
    }
    public var mode: Mode
    /// Every scored position counted.
    public var all: WatermarkScore
    /// Each (context window, token) tuple counted once (the paper's test).
    public var deduplicated: WatermarkScore

    enum CodingKeys: String, CodingKey { case mode, all, deduplicated }
}

/// Sander et al.'s two settings. In both, the null hypothesis is "the student does not depend on the
/// key", under which each distinct tuple is green with probability γ, so the green count over distinct
/// tuples is Binomial(T, γ) and `WatermarkScore.binomialPValue` is exact.
public enum Radioactivity {
    /// Open-model reading mode: feeds each watermarked text through `student` (windows of its context
    /// length, batched) and scores its top-1 prediction after every prefix against the green list of
    /// that prefix's last h tokens. Ties in the argmax go to the lowest id. The prediction after the
    /// text's last token is scored too (it is a prediction in a watermarked context like any other).
    ///
    /// A window restarts the student's context, so predictions early in a window read less text than
    /// the full prefix — the green list still comes from the full prefix, so nothing is mis-scored;
    /// the student only sees less.
    public static func reading(student: GPT, texts: [[Int32]], watermark: KGWWatermark, batchSize: Int = 16) throws
        -> RadioactivityReport
    {
        try reading(student: student, texts: texts, watermarks: [watermark], batchSize: batchSize)[0]
    }

    /// Reading mode against several keys at once, one report per key in order: the student's predictions
    /// are computed once and scored under each key — e.g. keys the student never saw, whose p-values
    /// sample the test's null distribution.
    public static func reading(student: GPT, texts: [[Int32]], watermarks: [KGWWatermark], batchSize: Int = 16) throws
        -> [RadioactivityReport]
    {
        let V = student.config.vocabularySize, T = student.config.contextLength
        for watermark in watermarks where V != watermark.vocabularySize {
            throw LabError.message(
                "the student has \(V) tokens, the watermark \(watermark.vocabularySize); radioactivity needs the tokenizer the watermark was made with"
            )
        }
        // (text, start, length) of every window, grouped by length so a batch is one forward.
        var windows: [(text: Int, start: Int, length: Int)] = []
        for (i, text) in texts.enumerated() {
            var s = 0
            while s < text.count {
                windows.append((i, s, min(T, text.count - s)))
                s += T
            }
        }
        var all = watermarks.map { KGWTally(watermark: $0, deduplicate: false) }
        var dedup = watermarks.map { KGWTally(watermark: $0, deduplicate: true) }
        for (length, group) in Dictionary(grouping: windows, by: \.length).sorted(by: { $0.key > $1.key }) {
            // Sorted so the tallies see windows in a fixed order (dedup keeps the first occurrence; the
            // count does not depend on order, but reproducible traces are easier to debug).
            let ordered = group.sorted { ($0.text, $0.start) < ($1.text, $1.start) }
            var b = 0
            while b < ordered.count {
                let chunk = ordered[b..<min(ordered.count, b + max(1, batchSize))]
                let tokens = chunk.flatMap { texts[$0.text][$0.start..<($0.start + length)] }
                let logits = try student.forward(tokens: tokens, batch: chunk.count, length: length)
                for (j, w) in chunk.enumerated() {
                    for t in 0..<length {
                        let row = logits.baseAddress! + (j * length + t) * V
                        var best = 0
                        for v in 1..<V where row[v] > row[best] { best = v }
                        let context = texts[w.text][0...(w.start + t)]
                        for k in watermarks.indices {
                            try all[k].add(token: Int32(best), context: context)
                            try dedup[k].add(token: Int32(best), context: context)
                        }
                    }
                }
                b += chunk.count
            }
        }
        return watermarks.indices.map {
            RadioactivityReport(mode: .reading, all: all[$0].score, deduplicated: dedup[$0].score)
        }
    }

    /// Closed-model generation mode, for text the suspect wrote (e.g. bought from its API): scores the
    /// texts' own tokens, each text's prompt as context only.
    public static func generation(texts: [[Int32]], prompts: [[Int32]]? = nil, watermark: KGWWatermark) throws
        -> RadioactivityReport
    {
        let detector = KGWDetector(watermark: watermark)
        return RadioactivityReport(
            mode: .generation,
            all: try detector.aggregate(texts: texts, prompts: prompts, deduplicate: false),
            deduplicated: try detector.aggregate(texts: texts, prompts: prompts, deduplicate: true))
    }

    /// Generation mode on a student in hand: samples `maxNewTokens` after each prompt at `temperature`
    /// with the KV-cached sampler (seeded), then scores the generations as `generation(texts:)` does.
    public static func generation(
        student: GPT, prompts: [[Int32]], maxNewTokens: Int, temperature: Float = 1, seed: UInt64,
        watermark: KGWWatermark
    ) throws -> RadioactivityReport {
        guard student.config.vocabularySize == watermark.vocabularySize else {
            throw LabError.message(
                "the student has \(student.config.vocabularySize) tokens, the watermark \(watermark.vocabularySize); radioactivity needs the tokenizer the watermark was made with"
            )
        }
        let texts = try Sampler(model: student).generate(
            prompts: prompts, maxNewTokens: maxNewTokens,
            options: SamplingOptions(temperature: temperature), seed: seed)
        return try generation(texts: texts, prompts: prompts, watermark: watermark)
    }
}
