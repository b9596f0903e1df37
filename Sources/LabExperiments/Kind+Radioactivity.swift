// The `radioactivity` kind: Sander et al. 2024's dose-response — a student trained on a mix in which a chosen
// share of the tokens is KGW-watermarked teacher text, tested for the watermark in reading and generation mode,
// with and without de-duplication, against its own key and against many keys it never saw (the test's null).
// The mix, the tests and the statistics are LabForensics' and LabDefences' (RadioactivityDose, Radioactivity, KGW*); this file
// only wires them to a cell. Not a detector of distillation through an API (that is the `attack` kind's).
import Foundation
import LabAPI
import LabAttacks
import LabCore
import LabData
import LabDefences
import LabForensics
import LabModel

public enum RadioactivityKind: ExperimentKind {
    /// The KGW watermark the teacher serves with (its key comes from the seed).
    public struct Watermark: Encodable, Equatable {
        public var gamma = 0.25
        public var delta = 3.0
        public var contextWidth = 1

        enum CodingKeys: String, CodingKey { case gamma, delta, contextWidth = "context_width" }
    }

    /// `radioactivity.scrub` — what the attacker does to the harvested text before training (LabAttacks'
    /// `WatermarkScrub`): `method` none / drop / resample, `fraction`, `context_width` (the h it assumes),
    /// `own_tokens` (its own unwatermarked text, the start of the source's train split).
    public struct Scrub: Encodable, Equatable {
        public var method = "none"
        public var fraction = 0.25
        public var contextWidth = 1
        public var ownTokens = 50_000

        enum CodingKeys: String, CodingKey {
            case method, fraction, contextWidth = "context_width", ownTokens = "own_tokens"
        }

        var scrub: WatermarkScrub {
            WatermarkScrub(
                method: WatermarkScrub.Method(rawValue: method) ?? .none, fraction: fraction, contextWidth: contextWidth
            )
        }
    }

    /// `radioactivity:` — the dose, the watermark, the texts, the scoring and the student.
    public struct Settings: Decodable {
        public var dose = 0.1
        public var watermark = Watermark()
        public var trainingTokens = 20_000
        public var promptLength = 1
        public var textTokens = 63
        public var scoredTexts = 20
        public var nullKeys = 100
        public var scrub = Scrub()
        public var student = SmallNetwork(
            contextLength: 16, width: 32, layers: 1, heads: 2, steps: 200, batchSize: 8, learningRate: 0.01)

        enum Keys: String, CodingKey { case radioactivity }
        enum SectionKeys: String, CodingKey {
            case dose, watermark, trainingTokens = "training_tokens", promptLength = "prompt_length", textTokens =
                "text_tokens"
            case scoredTexts = "scored_texts", nullKeys = "null_keys", student, scrub
        }

        public init(from decoder: Decoder) throws {
            let top = try decoder.container(keyedBy: Keys.self)
            guard top.contains(.radioactivity) else { return }
            let s = try top.nestedContainer(keyedBy: SectionKeys.self, forKey: .radioactivity)
            dose = try s.decodeIfPresent(Double.self, forKey: .dose) ?? dose
            if s.contains(.watermark) {
                let w = try s.nestedContainer(keyedBy: Watermark.CodingKeys.self, forKey: .watermark)
                watermark.gamma = try w.decodeIfPresent(Double.self, forKey: .gamma) ?? watermark.gamma
                watermark.delta = try w.decodeIfPresent(Double.self, forKey: .delta) ?? watermark.delta
                watermark.contextWidth =
                    try w.decodeIfPresent(Int.self, forKey: .contextWidth) ?? watermark.contextWidth
            }
            trainingTokens = try s.decodeIfPresent(Int.self, forKey: .trainingTokens) ?? trainingTokens
            promptLength = try s.decodeIfPresent(Int.self, forKey: .promptLength) ?? promptLength
            textTokens = try s.decodeIfPresent(Int.self, forKey: .textTokens) ?? textTokens
            scoredTexts = try s.decodeIfPresent(Int.self, forKey: .scoredTexts) ?? scoredTexts
            nullKeys = try s.decodeIfPresent(Int.self, forKey: .nullKeys) ?? nullKeys
            if s.contains(.student) {
                try student.decode(try s.nestedContainer(keyedBy: PathKey.self, forKey: .student))
            }
            if s.contains(.scrub) {
                let c = try s.nestedContainer(keyedBy: Scrub.CodingKeys.self, forKey: .scrub)
                scrub.method = try c.decodeIfPresent(String.self, forKey: .method) ?? scrub.method
                scrub.fraction = try c.decodeIfPresent(Double.self, forKey: .fraction) ?? scrub.fraction
                scrub.contextWidth = try c.decodeIfPresent(Int.self, forKey: .contextWidth) ?? scrub.contextWidth
                scrub.ownTokens = try c.decodeIfPresent(Int.self, forKey: .ownTokens) ?? scrub.ownTokens
            }
        }
    }

    public struct Resolved: Encodable {
        public var teacher: TeacherSpec
        public var dose: Double
        public var watermark: Watermark
        /// The watermark's key: drawn from the seed, so each seed is a fresh key (and fresh texts).
        public var key: UInt64
        public var trainingTokens: Int
        public var promptLength: Int
        public var textTokens: Int
        public var scoredTexts: Int
        public var nullKeys: Int
        public var student: SmallNetwork
        /// Nil when the attacker trains on the harvest as bought (and then absent from the cell's hash).
        public var scrub: Scrub?
        public var seed: UInt64

        enum CodingKeys: String, CodingKey {
            case teacher, dose, watermark, key, trainingTokens = "training_tokens", promptLength = "prompt_length",
                textTokens = "text_tokens"
            case scoredTexts = "scored_texts", nullKeys = "null_keys", student, scrub, seed
        }
    }

    public static let name = "radioactivity"
    public static let summary =
        "watermark radioactivity dose-response: a student trained on a watermarked share of its data, tested in reading and generation mode"
    public static let version = 1
    public static let reads: [SharedSection] = [.teacher]
    public static let settingsKeys = ["radioactivity"]
    /// One student gives four tests: the curve's points.
    public static let curveAxis: String? = "test"
    public static let seedMeaning =
        "the watermark key, the null keys, the served texts, the mix's order and the student's initialisation and batches; the teacher is trained with `teacher.training.seed`"
    public static let outputs = [
        OutputDoc(
            "p_value", .metric, "exact binomial p-value of the student's green count under the cell's key (test point)"),
        OutputDoc("log10_p", .metric, "log10 of p_value (floored at 1e-300), what tables average"),
        OutputDoc("z", .metric, "the one-proportion z-score of the green count"),
        OutputDoc("scored", .metric, "tuples scored (distinct (window, token) tuples with de-duplication)"),
        OutputDoc("green_fraction", .metric, "green tuples / scored tuples (γ = 0.25 expected under the null)"),
        OutputDoc(
            "null_ks", .metric,
            "Kolmogorov–Smirnov distance between the p-values under `null_keys` unseen keys and U(0, 1)"),
        OutputDoc("null_below_05", .metric, "fraction of unseen keys with p < 0.05 (0.05 if the null holds)"),
        OutputDoc("null_below_01", .metric, "fraction of unseen keys with p < 0.01 (0.01 if the null holds)"),
        OutputDoc(
            "student_loss", .metric, "the student's next-token cross-entropy on the clean test split, nats (cell level)"
        ),
        OutputDoc(
            "watermarked_share", .metric,
            "the share of the student's training tokens that are watermarked, as mixed (cell level)"),
        OutputDoc("scored_positions", .cost, "positions read or written before de-duplication"),
        OutputDoc(
            "scrub_rewritten_share", .metric,
            "share of the harvested generated tokens the scrub rewrote (cells with `scrub`; cell level)"),
        OutputDoc("scrub_dropped_texts", .metric, "harvested texts the scrub dropped (cells with `scrub`; cell level)"),
        OutputDoc(
            "texts_bought", .cost,
            "watermarked texts the attacker bought for its training mix, dropped ones included (cells with `scrub`)"),
    ]

    public static func resolve(_ cell: CellInput<Settings>, in context: ValidationContext) throws -> Resolved {
        let teacher = try cell.requireTeacher()
        let probe = try context.validate(teacher)
        let T = teacher.model.contextLength, V = probe.vocabularySize
        let s = cell.settings
        let base = ["radioactivity"]
        func check(_ ok: Bool, _ path: [String], _ message: String) throws {
            if !ok { throw SpecIssue(base + path, message) }
        }
        try check(
            (0...1).contains(s.dose), ["dose"],
            "is \(s.dose); allowed range 0...1 (the watermarked share of the training tokens)")
        do {
            _ = try KGWWatermark(
                gamma: s.watermark.gamma, delta: Float(s.watermark.delta), key: 0,
                contextWidth: s.watermark.contextWidth, vocabularySize: V)
        } catch let LabError.invalidConfig(key, message) {
            throw SpecIssue(base + ["watermark", key], message)
        }
        try check(
            (1...10_000_000).contains(s.trainingTokens), ["training_tokens"],
            "is \(s.trainingTokens); allowed range 1...10000000")
        try check(
            (1...T).contains(s.promptLength), ["prompt_length"],
            "is \(s.promptLength); allowed range 1...\(T) (the teacher's context_length)")
        try check(
            s.textTokens >= 1 && s.textTokens <= T - s.promptLength, ["text_tokens"],
            "is \(s.textTokens); allowed range 1...\(max(1, T - s.promptLength)) (prompt_length + text_tokens ≤ context_length \(T))"
        )
        try check(
            (1...100_000).contains(s.scoredTexts), ["scored_texts"], "is \(s.scoredTexts); allowed range 1...100000")
        try check((0...100_000).contains(s.nullKeys), ["null_keys"], "is \(s.nullKeys); allowed range 0...100000")
        try s.student.check(base + ["student"], maxContext: 2048)
        try check(
            WatermarkScrub.Method(rawValue: s.scrub.method) != nil, ["scrub", "method"],
            "is '\(s.scrub.method)'; one of \(WatermarkScrub.Method.allCases.map(\.rawValue).joined(separator: ", "))")
        do { try s.scrub.scrub.validate() } catch let LabError.invalidConfig(key, message) {
            throw SpecIssue(base + ["scrub", key], message)
        }
        try check(s.scrub.ownTokens >= 1, ["scrub", "own_tokens"], "is \(s.scrub.ownTokens); must be at least 1")
        try check(
            s.scrub.method == "none" || s.dose == 1, ["scrub", "method"],
            "is \(s.scrub.method) with dose \(s.dose); the attacker scrubs what it bought from the watermarked API, so set dose: 1"
        )
        try check(
            s.promptLength < s.student.contextLength, ["prompt_length"],
            "is \(s.promptLength); the student writes after prompts in generation mode, so it must be below the student's context_length \(s.student.contextLength)"
        )
        if let validation = probe.splitTokens[.validation], validation <= s.promptLength {
            throw SpecIssue(
                ["teacher", "corpus", "validation_tokens"],
                "is \(validation); prompts of \(s.promptLength) tokens are cut from it")
        }
        if let test = probe.splitTokens[.test], test <= s.student.contextLength {
            throw SpecIssue(
                ["teacher", "corpus", "test_tokens"],
                "is \(test); the student is evaluated on windows of \(s.student.contextLength + 1) tokens")
        }
        var rng = LabRNG(seed: cell.seed, stream: "radioactivity-key")
        return Resolved(
            teacher: teacher, dose: s.dose, watermark: s.watermark, key: rng.next(), trainingTokens: s.trainingTokens,
            promptLength: s.promptLength, textTokens: s.textTokens, scoredTexts: s.scoredTexts, nullKeys: s.nullKeys,
            student: s.student, scrub: s.scrub.method == "none" ? nil : s.scrub, seed: cell.seed)
    }

    public static func run(_ cell: Resolved, in context: RunContext) throws -> CellResult {
        let trained = try context.teacher(cell.teacher)
        let corpus = trained.corpus
        let V = corpus.tokenizer.vocabularySize
        let w = cell.watermark
        func watermark(_ key: UInt64) throws -> KGWWatermark {
            try KGWWatermark(
                gamma: w.gamma, delta: Float(w.delta), key: key, contextWidth: w.contextWidth, vocabularySize: V)
        }
        let marked = try watermark(cell.key)
        var keys = LabRNG(seed: cell.seed, stream: "radioactivity-null-keys")
        var unseen: [KGWWatermark] = []
        while unseen.count < cell.nullKeys {
            let k = keys.next()
            if k != cell.key { unseen.append(try watermark(k)) }
        }

        // Whole texts, as the teacher served them: enough of each pool for its part of the mix.
        let length = cell.promptLength + cell.textTokens
        let markedTokens = Int((cell.dose * Double(cell.trainingTokens)).rounded())
        func count(_ tokens: Int) -> Int { tokens == 0 ? 0 : tokens / length + 1 }
        let teacher = GPTTeacher(trained.model)
        // A scrubbing attacker buys enough that what it keeps still fills the mix, then scrubs it all.
        let scrub = cell.scrub?.scrub ?? WatermarkScrub()
        let bought = try serve(
            teacher, watermark: marked, count: scrub.textsToBuy(count(markedTokens)), cell: cell, stream: "watermarked",
            from: corpus.validation)
        let scrubbed = scrub.scrub(
            bought, promptLength: cell.promptLength, own: Array(corpus.train.prefix(cell.scrub?.ownTokens ?? 0)),
            vocabularySize: V, seed: cell.seed)
        let wmTexts = scrubbed.texts
        let cleanTexts = try serve(
            teacher, watermark: nil, count: count(cell.trainingTokens - markedTokens), cell: cell, stream: "clean",
            from: corpus.validation)
        let stream = try RadioactivityDose.mix(
            watermarked: wmTexts, clean: cleanTexts, share: cell.dose, tokens: cell.trainingTokens, seed: cell.seed)
        let share = Double(wmTexts.reduce(0) { $0 + $1.count }) / Double(stream.count)

        let student = try GPT(config: cell.student.architecture.config(vocabularySize: V), seed: cell.seed)
        var batches = try BatchSampler(
            tokens: stream, batchSize: cell.student.batchSize, sequenceLength: cell.student.contextLength,
            seed: cell.seed)
        _ = try Trainer(model: student, config: cell.student.training(seed: cell.seed)).train(data: &batches)
        let loss = try LanguageModel(model: student, tokenizer: corpus.tokenizer).meanLoss(tokens: corpus.test)

        // Reading mode: fresh watermarked texts the student reads; generation mode: texts the student writes.
        let probe = try serve(
            teacher, watermark: marked, count: cell.scoredTexts, cell: cell, stream: "probe", from: corpus.validation)
        let reading = try Radioactivity.reading(student: student, texts: probe, watermarks: [marked] + unseen)
        var rng = LabRNG(seed: cell.seed, stream: "radioactivity-generation-prompts")
        // The student writes at most its context: enough prompts that both modes score about as many positions.
        let room = max(1, cell.student.contextLength - cell.promptLength)
        let written = (cell.scoredTexts * cell.textTokens + room - 1) / room
        let prompts = (0..<written).map { _ -> [Int32] in
            let s = rng.int(below: corpus.validation.count - cell.promptLength)
            return corpus.validation[s..<(s + cell.promptLength)].map(Int32.init)
        }
        let texts = try Sampler(model: student).generate(
            prompts: prompts, maxNewTokens: room, options: SamplingOptions(temperature: 1), seed: rng.next())
        let generation = try ([marked] + unseen).map {
            try Radioactivity.generation(texts: texts, prompts: prompts, watermark: $0)
        }

        func point(_ label: String, _ reports: [RadioactivityReport], dedup: Bool) -> CellResult.Point {
            let scores = reports.map { dedup ? $0.deduplicated : $0.all }
            let own = scores[0], null = scores.dropFirst().map(\.binomialPValue)
            return CellResult.Point(
                label: label,
                metrics: [
                    .init("p_value", own.binomialPValue), .init("log10_p", log10(max(own.binomialPValue, 1e-300))),
                    .init("z", own.z),
                    .init("scored", Double(own.scored)), .init("green_fraction", own.greenFraction),
                    .init("null_ks", null.isEmpty ? nil : ksUniform(null)),
                    .init(
                        "null_below_05",
                        null.isEmpty ? nil : Double(null.filter { $0 < 0.05 }.count) / Double(null.count)),
                    .init(
                        "null_below_01",
                        null.isEmpty ? nil : Double(null.filter { $0 < 0.01 }.count) / Double(null.count)),
                ], costs: [.init("scored_positions", Double(reports[0].all.scored))])
        }
        let scrubMetrics: [CellResult.Entry] =
            cell.scrub == nil
            ? []
            : [
                .init("scrub_rewritten_share", scrubbed.rewrittenShare),
                .init("scrub_dropped_texts", Double(scrubbed.dropped)),
            ]
        return CellResult(
            metrics: [.init("student_loss", loss), .init("watermarked_share", share)] + scrubMetrics,
            costs: cell.scrub == nil ? [] : [.init("texts_bought", Double(bought.count))],
            curve: [
                point("reading-dedup", reading, dedup: true), point("reading-all", reading, dedup: false),
                point("generation-dedup", generation, dedup: true), point("generation-all", generation, dedup: false),
            ])
    }

    /// `count` texts of prompt + completion, sampled at temperature 1 from the teacher behind the KGW stage (or
    /// none); prompts are windows of `from` at places seeded by the cell's seed and `stream`.
    static func serve(
        _ teacher: GPTTeacher, watermark: KGWWatermark?, count: Int, cell: Resolved, stream: String, from tokens: [Int]
    ) throws -> [[Int32]] {
        guard count > 0 else { return [] }
        let ledger = Ledger()
        try ledger.open("owner")
        var rng = LabRNG(seed: cell.seed, stream: "radioactivity-\(stream)")
        let api = DefendedAPI(
            teacher: teacher, defences: DefencePipeline(watermark.map { [KGWDefence(watermark: $0)] } ?? []),
            ledger: ledger, seed: rng.next())
        let queries = (0..<count).map { _ -> Query in
            let s = rng.int(below: tokens.count - cell.promptLength)
            return .completion(
                tokens[s..<(s + cell.promptLength)].map(Int32.init), maxNewTokens: cell.textTokens, seed: rng.next())
        }
        let out = try api.call(queries, account: "owner")
        return zip(queries, out).map { $0.prompt + $1.tokens }
    }

    /// sup |F_n(p) − p|: the Kolmogorov–Smirnov distance of the empirical distribution of `values` from U(0, 1).
    static func ksUniform(_ values: [Double]) -> Double {
        let sorted = values.sorted(), n = Double(values.count)
        var d = 0.0
        for (i, p) in sorted.enumerated() {
            d = max(d, Double(i + 1) / n - p, p - Double(i) / n)
        }
        return d
    }
}
