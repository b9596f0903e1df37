// The `watermark` kind: KGW calibration and power (Kirchenbauer et al. 2023) on text a cached teacher samples —
// clean texts (the curve point δ = 0) scored for the key give the detector's false-positive rate at z ≥ 2, 3, 4,
// beside the normal tail the paper's test assumes and the exact binomial null; watermarked texts (+δ on the green
// list, one point per δ) give its power. Green lists, scoring, sampling and tail probabilities are LabDefences'
// (Watermark/); this file reads the section and counts. Not the served-distribution defence (`kgw` in `defences:`).
import Foundation
import LabCore
import LabDefences
import LabModel

public enum WatermarkKind: ExperimentKind {
    /// How keys are drawn for a cell's texts.
    public enum KeyMode: String, Codable, CaseIterable, Sendable {
        /// One key per cell (a deployed detector): texts that share (context, token) tuples share their luck.
        case fixed
        /// A fresh key per text: the null distribution the test's p-values are exact for (probability over keys).
        case perText = "per_text"
    }

    /// Where δ enters relative to the sampling temperature τ.
    public typealias BiasOrder = KGWBiasOrder

    /// The z thresholds every point reports (the paper detects at z = 4).
    public static let thresholds: [Double] = [2, 3, 4]

    /// `watermark:` — the watermark, the sampling, the workload and the detector.
    public struct Options: Codable, Equatable, Sendable {
        /// γ, the green fraction (the detector's null uses ⌊γV⌋/V).
        public var gamma = 0.25
        /// δ of the watermarked texts, one curve point each; the point δ = 0 (clean text) always comes first.
        public var deltas: [Double] = [2]
        /// h, previous tokens seeding the green list.
        public var contextWidth = 1
        /// Sampling temperature τ of every text.
        public var temperature = 1.0
        /// Whether δ is added before or after τ (see `BiasOrder`).
        public var biasOrder = BiasOrder.beforeTemperature
        /// T, tokens generated (and scored) per text.
        public var length = 32
        /// Tokens of each prompt (a window of the teacher's validation split): context only, never scored.
        public var promptLength = 1
        /// Texts sampled without the watermark: the false-positive rate's denominator.
        public var cleanTexts = 1000
        /// Texts sampled with it, per δ: the power's denominator.
        public var watermarkedTexts = 200
        public var keys = KeyMode.fixed
        /// Score each (context, token) tuple once per text (Fernandez et al. 2023).
        public var deduplicate = false
        /// Sequences sampled together (memory: one KV cache of this many sequences).
        public var batchSize = 256

        public init() {}

        /// How this section's texts are sampled.
        var sampling: KGWSampling.Settings {
            KGWSampling.Settings(
                temperature: temperature, biasOrder: biasOrder, gamma: gamma, length: length, batchSize: batchSize)
        }

        enum CodingKeys: String, CodingKey {
            case gamma, deltas, contextWidth = "context_width", temperature, biasOrder = "bias_order", length,
                promptLength = "prompt_length"
            case cleanTexts = "clean_texts", watermarkedTexts = "watermarked_texts", keys, deduplicate, batchSize =
                "batch_size"
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            if let v = try c.decodeIfPresent(Double.self, forKey: .gamma) { gamma = v }
            if let v = try c.decodeIfPresent([Double].self, forKey: .deltas) { deltas = v }
            if let v = try c.decodeIfPresent(Int.self, forKey: .contextWidth) { contextWidth = v }
            if let v = try c.decodeIfPresent(Double.self, forKey: .temperature) { temperature = v }
            biasOrder =
                try c.decodeChoice(BiasOrder.self, forKey: .biasOrder, at: ["watermark", "bias_order"]) ?? biasOrder
            if let v = try c.decodeIfPresent(Int.self, forKey: .length) { length = v }
            if let v = try c.decodeIfPresent(Int.self, forKey: .promptLength) { promptLength = v }
            if let v = try c.decodeIfPresent(Int.self, forKey: .cleanTexts) { cleanTexts = v }
            if let v = try c.decodeIfPresent(Int.self, forKey: .watermarkedTexts) { watermarkedTexts = v }
            keys = try c.decodeChoice(KeyMode.self, forKey: .keys, at: ["watermark", "keys"]) ?? keys
            if let v = try c.decodeIfPresent(Bool.self, forKey: .deduplicate) { deduplicate = v }
            if let v = try c.decodeIfPresent(Int.self, forKey: .batchSize) { batchSize = v }
        }
    }

    public struct Settings: Decodable {
        public var watermark = Options()
        enum Keys: String, CodingKey { case watermark }
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            watermark = try c.decodeIfPresent(Options.self, forKey: .watermark) ?? Options()
        }
    }

    public struct Resolved: Encodable {
        public var teacher: TeacherSpec
        public var watermark: Options
        /// Prompts, sampling streams and keys.
        public var seed: UInt64
    }

    public static let name = "watermark"
    public static let summary =
        "KGW watermark: false-positive rate on clean teacher text beside the normal tail, and power on watermarked text, per δ"
    public static let version = 2
    public static let reads: [SharedSection] = [.teacher]
    public static let settingsKeys = ["watermark"]
    public static let curveAxis: String? = "delta"
    public static let seedMeaning =
        "the prompts, the sampling streams and the watermark keys; the teacher is trained with `teacher.training.seed`"
    public static let outputs: [OutputDoc] =
        thresholds.flatMap { th -> [OutputDoc] in
            let z = thresholdLabel(th)
            return [
                OutputDoc(
                    "rate_z\(z)", .metric,
                    "share of the point's texts with z ≥ \(z): the false-positive rate at δ = 0, the power (TPR) at δ > 0"
                ),
                OutputDoc("rate_z\(z)_low", .metric, "Clopper–Pearson 95% lower bound of rate_z\(z)"),
                OutputDoc("rate_z\(z)_high", .metric, "Clopper–Pearson 95% upper bound of rate_z\(z)"),
                OutputDoc(
                    "normal_tail_z\(z)", .metric, "P(Z ≥ \(z)), the paper's prediction of the false-positive rate"),
                OutputDoc(
                    "binomial_null_z\(z)", .metric,
                    "the exact null rate of z ≥ \(z): P(Binomial(T, γ) reaches that green count), averaged over the texts' T"
                ),
            ]
        } + [
            OutputDoc("z_mean", .metric, "mean z of the point's texts (0 under the null)"),
            OutputDoc("z_sd", .metric, "sample sd of z (1 under the null)"),
            OutputDoc("green_fraction", .metric, "green share of the scored tokens"),
            OutputDoc(
                "green_fraction_bound", .metric,
                "Kirchenbauer et al. Thm 4.2's lower bound on its expectation, γαS̄ / (1 + (α − 1)γ), α = e^δ' with δ' = δ/τ (bias before temperature) or δ (after)"
            ),
            OutputDoc(
                "mean_entropy", .metric,
                "mean Shannon entropy, nats, of the tempered unwatermarked next-token distribution at the texts' positions"
            ),
            OutputDoc(
                "mean_spike_entropy", .metric,
                "mean spike entropy Σ p/(1 + ζp), ζ = (1−γ)(α−1)/(1+(α−1)γ), of the same distributions (Kirchenbauer et al. Def. 4.1)"
            ),
            OutputDoc("scored_tokens", .metric, "mean tokens scored per text (fewer than length with deduplication)"),
            OutputDoc("texts", .cost, "texts sampled at the point"),
            OutputDoc("generated_tokens", .cost, "tokens sampled from the teacher at the point"),
        ]

    static let maxTexts = 1_000_000

    public static func resolve(_ cell: CellInput<Settings>, in context: ValidationContext) throws -> Resolved {
        let teacher = try cell.requireTeacher()
        let probe = try context.validate(teacher)
        let V = probe.vocabularySize, T = teacher.model.contextLength
        let w = cell.settings.watermark
        let p = ["watermark"]
        guard w.gamma > 0, w.gamma < 1, Int((w.gamma * Double(V)).rounded(.down)) >= 1 else {
            throw SpecIssue(
                p + ["gamma"], "is \(w.gamma); allowed range [\(1.0 / Double(V)), 1) (⌊γ·V⌋ ≥ 1 green token of \(V))")
        }
        for (i, d) in w.deltas.enumerated() {
            guard d > 0, d <= 50 else {
                throw SpecIssue(
                    p + ["deltas", String(i)],
                    "is \(d); allowed range (0, 50] (a logit bonus; δ = 0, clean text, is always measured)")
            }
            if w.deltas[..<i].contains(d) {
                throw SpecIssue(p + ["deltas", String(i)], "is \(d), listed twice; allowed: distinct values")
            }
        }
        guard w.temperature > 0, w.temperature <= 100 else {
            throw SpecIssue(p + ["temperature"], "is \(w.temperature); allowed range (0, 100]")
        }
        guard (1..<T).contains(w.promptLength) else {
            throw SpecIssue(
                p + ["prompt_length"],
                "is \(w.promptLength); allowed range 1...\(T - 1) (the teacher's context_length \(T) less one generated token)",
                related: [["teacher", "model", "context_length"]])
        }
        guard w.length >= 1, w.length <= T - w.promptLength else {
            throw SpecIssue(
                p + ["length"],
                "is \(w.length); allowed range 1...\(T - w.promptLength) (prompt_length + length ≤ context_length \(T))",
                related: [p + ["prompt_length"], ["teacher", "model", "context_length"]])
        }
        guard (1...w.promptLength).contains(w.contextWidth) else {
            throw SpecIssue(
                p + ["context_width"],
                "is \(w.contextWidth); allowed range 1...\(w.promptLength) (the prompt must seed the first green list)",
                related: [p + ["prompt_length"]])
        }
        guard (0...maxTexts).contains(w.cleanTexts) else {
            throw SpecIssue(p + ["clean_texts"], "is \(w.cleanTexts); allowed range 0...\(maxTexts)")
        }
        guard (0...maxTexts).contains(w.watermarkedTexts) else {
            throw SpecIssue(p + ["watermarked_texts"], "is \(w.watermarkedTexts); allowed range 0...\(maxTexts)")
        }
        guard w.cleanTexts >= 1 || (w.watermarkedTexts >= 1 && !w.deltas.isEmpty) else {
            throw SpecIssue(
                p + ["clean_texts"], "is 0 and no watermarked text is asked for; allowed: at least one text",
                related: [p + ["watermarked_texts"]])
        }
        guard (1...4096).contains(w.batchSize) else {
            throw SpecIssue(p + ["batch_size"], "is \(w.batchSize); allowed range 1...4096")
        }
        if let validation = probe.splitTokens[.validation], validation < w.promptLength {
            throw SpecIssue(
                ["teacher", "corpus"],
                "has a validation split of \(validation) tokens, shorter than one prompt of \(w.promptLength)")
        }
        return Resolved(teacher: teacher, watermark: w, seed: cell.seed)
    }

    public static func run(_ cell: Resolved, in context: RunContext) throws -> CellResult {
        let trained = try context.teacher(cell.teacher)
        let model = trained.model.model
        let V = model.config.vocabularySize
        let w = cell.watermark
        var keyStream = LabRNG(seed: cell.seed, stream: "watermark-keys")
        let fixedKey = keyStream.next()
        let validation = trained.corpus.validation
        var points: [CellResult.Point] = []
        // δ = 0 is the clean text; every point samples its own texts from its own prompts, streams and keys.
        for (delta, count) in [(0.0, w.cleanTexts)] + w.deltas.map({ ($0, w.watermarkedTexts) }) {
            let label = thresholdLabel(delta)
            var promptRNG = LabRNG(seed: cell.seed, stream: "watermark-prompts-\(label)")
            let prompts = (0..<count).map { _ -> [Int32] in
                let start = promptRNG.int(below: validation.count - w.promptLength + 1)
                return validation[start..<(start + w.promptLength)].map(Int32.init)
            }
            let marks = try (0..<count).map { i -> KGWWatermark in
                var key = fixedKey
                if w.keys == .perText {
                    var r = LabRNG(seed: cell.seed, stream: "watermark-key-\(label)-\(i)")
                    key = r.next()
                }
                return try KGWWatermark(
                    gamma: w.gamma, delta: Float(delta), key: key, contextWidth: w.contextWidth, vocabularySize: V)
            }
            let sampled = try KGWSampling.sample(
                model: model, prompts: prompts, watermarks: marks, delta: delta, settings: w.sampling, seed: cell.seed,
                stream: label)
            let scores: [WatermarkScore]
            if w.keys == .fixed, let first = marks.first {
                scores = try KGWDetector(watermark: first).scores(
                    texts: sampled.texts, prompts: prompts, deduplicate: w.deduplicate)
            } else {
                scores = try sampled.texts.indices.map {
                    try KGWDetector(watermark: marks[$0]).score(
                        tokens: sampled.texts[$0], prompt: prompts[$0], deduplicate: w.deduplicate)
                }
            }
            points.append(
                point(
                    label: label, delta: delta, scores: scores, sampled: sampled, gamma: marks.first?.effectiveGamma,
                    options: w))
        }
        return CellResult(curve: points)
    }

    /// One curve point: detection rates at every threshold with their intervals and predictions, and the
    /// texts' z, green share and entropies.
    static func point(
        label: String, delta: Double, scores: [WatermarkScore], sampled: KGWSampling.Sampled, gamma: Double?,
        options w: Options
    ) -> CellResult.Point {
        let n = scores.count
        var metrics: [CellResult.Entry] = []
        for th in thresholds {
            let z = thresholdLabel(th)
            let hits = scores.filter { $0.z >= th }.count
            let (low, high) = WatermarkStatistics.clopperPearson(successes: hits, trials: n)
            metrics += [
                .init("rate_z\(z)", n > 0 ? Double(hits) / Double(n) : nil),
                .init("rate_z\(z)_low", n > 0 ? low : nil),
                .init("rate_z\(z)_high", n > 0 ? high : nil),
                .init("normal_tail_z\(z)", WatermarkStatistics.normalTail(th)),
                .init(
                    "binomial_null_z\(z)",
                    n > 0
                        ? scores.reduce(0.0) { $0 + WatermarkStatistics.exactNullRate($1, threshold: th) } / Double(n)
                        : nil),
            ]
        }
        func mean(_ x: [Double]) -> Double? { x.isEmpty ? nil : x.reduce(0, +) / Double(x.count) }
        let zs = scores.map(\.z)
        var sd: Double?
        if zs.count >= 2, let m = mean(zs) {
            sd = (zs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(zs.count - 1)).squareRoot()
        }
        let scored = scores.reduce(0) { $0 + $1.scored }
        let green: Double? = scored > 0 ? Double(scores.reduce(0) { $0 + $1.green }) / Double(scored) : nil
        let positions = Double(sampled.positions)
        let spike: Double? = sampled.positions > 0 ? sampled.spikeEntropy / positions : nil
        let alpha = exp(w.sampling.effectiveDelta(delta))
        var bound: Double?
        if let g = gamma, let s = spike { bound = g * alpha * s / (1 + (alpha - 1) * g) }
        metrics += [
            .init("z_mean", mean(zs)), .init("z_sd", sd), .init("green_fraction", green),
            .init("green_fraction_bound", bound),
            .init("mean_entropy", sampled.positions > 0 ? sampled.entropy / positions : nil),
            .init("mean_spike_entropy", spike),
            .init("scored_tokens", mean(scores.map { Double($0.scored) })),
        ]
        return CellResult.Point(
            label: label, metrics: metrics,
            costs: [
                .init("texts", Double(n)), .init("generated_tokens", Double(sampled.texts.reduce(0) { $0 + $1.count })),
            ])
    }

    /// "2", "0.5": a threshold or a δ as a label.
    static func thresholdLabel(_ th: Double) -> String {
        th == th.rounded() && abs(th) < 1e9 ? String(Int(th)) : String(th)
    }
}
