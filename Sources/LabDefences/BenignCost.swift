// BenignCost: what a defence pipeline costs honest users on benign prompts — how far its served
// distributions move from the teacher's (KL, TV, top-1, rows withheld) and how much worse its sampled
// text reads under the teacher (perplexity). Not an attack metric: nothing about what an attacker learns.
import Foundation
import LabAPI
import LabCore

public struct BenignCostOptions: Codable, Equatable, Sendable {
    /// Benign prompts, windows of the teacher's validation split.
    public var prompts: Int = 200
    /// Tokens per prompt; the distributions are measured at every one of its positions.
    public var promptLength: Int = 16
    /// Tokens sampled (temperature 1) after each prompt for the perplexity of honest text.
    public var completionTokens: Int = 32
    public var seed: UInt64 = 0

    public init(prompts: Int = 200, promptLength: Int = 16, completionTokens: Int = 32, seed: UInt64 = 0) {
        self.prompts = prompts
        self.promptLength = promptLength
        self.completionTokens = completionTokens
        self.seed = seed
    }

    enum CodingKeys: String, CodingKey {
        case prompts, promptLength = "prompt_length", completionTokens = "completion_tokens", seed
    }

    public func validate(contextLength T: Int) throws {
        guard prompts >= 1 else {
            throw LabError.invalidConfig(key: "prompts", message: "is \(prompts); must be at least 1")
        }
        guard promptLength >= 1 else {
            throw LabError.invalidConfig(key: "prompt_length", message: "is \(promptLength); must be at least 1")
        }
        guard completionTokens >= 1 else {
            throw LabError.invalidConfig(
                key: "completion_tokens", message: "is \(completionTokens); must be at least 1")
        }
        guard promptLength <= T, completionTokens <= T, promptLength + completionTokens <= T else {
            throw LabError.invalidConfig(
                key: "completion_tokens",
                message:
                    "prompt_length \(promptLength) + completion_tokens \(completionTokens) exceeds the teacher's context length \(T); shorten one"
            )
        }
        // Prompts and completions are held as token ids for every prompt at once.
        try MemoryLimit.check(
            Double(prompts) * Double(promptLength + completionTokens) * 64, for: "\(prompts) benign prompts",
            key: "prompts")
    }
}

/// One pipeline's benign cost.
public struct BenignCostRow: Codable, Equatable, Sendable {
    /// The pipeline's stages, "none" for the undefended teacher.
    public var defence: String
    /// Every parameter of every stage, defaults included.
    public var parameters: String
    /// Positions (next-token distributions) measured.
    public var positions: Int
    /// Fraction of positions at which the defence reports nothing (e.g. all below a high-confidence cutoff).
    public var withheldRate: Double
    /// Mean KL(served ‖ teacher) in nats over positions with a report: served is the reported values
    /// renormalised, the distribution an honest user samples from. (This direction stays finite when a
    /// defence withholds tokens; KL(teacher ‖ served) would be infinite for top-k or label-only.)
    public var meanKL: Double
    /// Mean total variation ½ Σ |served − teacher| over positions with a report.
    public var meanTotalVariation: Double
    /// Fraction of all positions whose reported top-1 token is the teacher's (a withheld row counts as a miss).
    public var top1Agreement: Double
    /// Change of the top-1 rate from the undefended API's (which is 1): `top1Agreement − 1`.
    public var top1Change: Double
    /// Perplexity, under the undefended teacher, of the completions the defended API samples.
    public var textPerplexity: Double
    /// `textPerplexity` minus the undefended API's on the same prompts and client seeds.
    public var perplexityIncrease: Double
    /// `perplexityIncrease` relative to the undefended perplexity.
    public var relativePerplexityIncrease: Double

    enum CodingKeys: String, CodingKey {
        case defence, parameters, positions, withheldRate = "withheld_rate", meanKL = "mean_kl", meanTotalVariation =
            "mean_total_variation"
        case top1Agreement = "top1_agreement", top1Change = "top1_change", textPerplexity = "text_perplexity"
        case perplexityIncrease = "perplexity_increase", relativePerplexityIncrease = "relative_perplexity_increase"
    }

    public init(
        defence: String, parameters: String, positions: Int, withheldRate: Double, meanKL: Double,
        meanTotalVariation: Double,
        top1Agreement: Double, textPerplexity: Double, perplexityIncrease: Double, relativePerplexityIncrease: Double
    ) {
        self.defence = defence
        self.parameters = parameters
        self.positions = positions
        self.withheldRate = withheldRate
        self.meanKL = meanKL
        self.meanTotalVariation = meanTotalVariation
        self.top1Agreement = top1Agreement
        top1Change = top1Agreement - 1
        self.textPerplexity = textPerplexity
        self.perplexityIncrease = perplexityIncrease
        self.relativePerplexityIncrease = relativePerplexityIncrease
    }
}

public enum BenignCost {
    /// `count` windows of `length` tokens from `tokens`, at offsets drawn from `seed`.
    public static func prompts(from tokens: [Int], count: Int, length: Int, seed: UInt64) throws -> [[Int32]] {
        guard tokens.count >= length, length >= 1 else {
            throw LabError.message("benign prompts need at least \(length) tokens; the split has \(tokens.count)")
        }
        var rng = LabRNG(seed: seed, stream: "benign-prompts")
        return (0..<count).map { _ in
            let start = rng.int(below: tokens.count - length + 1)
            return tokens[start..<(start + length)].map(Int32.init)
        }
    }

    /// The first draw of stream `stream` of `seed`.
    static func derivedSeed(_ seed: UInt64, _ stream: String) -> UInt64 {
        var rng = LabRNG(seed: seed, stream: stream)
        return rng.next()
    }

    /// The distribution metrics and the honest text of one pipeline (perplexity not yet compared).
    struct Measurement {
        var positions = 0, withheld = 0, agreeing = 0
        var kl = 0.0, tv = 0.0
        var nll = 0.0, scoredTokens = 0
        var perplexity: Double { exp(nll / Double(max(1, scoredTokens))) }
    }

    static func measure(
        teacher: any TeacherAPI, pipeline: DefencePipeline, prompts: [[Int32]], options: BenignCostOptions
    ) throws -> Measurement {
        let V = teacher.vocabularySize
        var m = Measurement()
        // Distributions at every prompt position, each row with a seed fixed by (prompt, position).
        let logits = try teacher.logits(prompts: prompts)
        var rows: [DistributionRow] = []
        for (b, prompt) in prompts.enumerated() {
            for t in prompt.indices {
                let p = logits[b].withUnsafeBufferPointer {
                    ServingMath.probabilities($0.baseAddress! + t * V, V: V, bias: [:])
                }
                rows.append(
                    DistributionRow(
                        probabilities: p, context: prompt[0...t],
                        seed: derivedSeed(options.seed, "benign-row-\(b)-\(t)")))
            }
        }
        try pipeline.apply(to: &rows)
        for row in rows {
            m.positions += 1
            let p = row.original
            if let top = row.top, top == RowMath.argmax(p) { m.agreeing += 1 }
            guard let q = row.served else {
                m.withheld += 1
                continue
            }
            for i in 0..<V {
                if q[i] > 0 { m.kl += q[i] * log(q[i] / p[i]) }
                m.tv += 0.5 * abs(q[i] - p[i])
            }
        }
        // Honest text: completions at temperature 1 with the same client seeds for every pipeline, so the
        // undefended and defended texts share their random draws and their difference is less noisy.
        let queries = prompts.enumerated().map { b, prompt in
            Query.completion(
                prompt, maxNewTokens: options.completionTokens, temperature: 1,
                seed: derivedSeed(options.seed, "benign-completion-\(b)"))
        }
        let responses = try teacher.answer(queries, defences: pipeline, seed: options.seed)
        let texts = zip(prompts, responses).map { $0 + $1.tokens }
        let scores = try teacher.logits(prompts: texts)
        for (b, text) in texts.enumerated() {
            for t in prompts[b].count..<text.count {
                let p = scores[b].withUnsafeBufferPointer {
                    ServingMath.probabilities($0.baseAddress! + (t - 1) * V, V: V, bias: [:])
                }
                m.nll -= log(p[Int(text[t])])
                m.scoredTokens += 1
            }
        }
        return m
    }

    /// The benign cost of each pipeline, the undefended teacher first (the baseline of the perplexity
    /// increase). `pipelines` pairs a label with each pipeline.
    public static func table(
        teacher: any TeacherAPI, pipelines: [(label: String, pipeline: DefencePipeline)], benignTokens: [Int],
        options: BenignCostOptions, progress: ProgressReporter? = nil
    ) throws -> [BenignCostRow] {
        try options.validate(contextLength: teacher.contextLength)
        let prompts = try self.prompts(
            from: benignTokens, count: options.prompts, length: options.promptLength, seed: options.seed)
        let baseline = try measure(teacher: teacher, pipeline: .none, prompts: prompts, options: options)
        var out: [BenignCostRow] = []
        for (n, entry) in ([("none", DefencePipeline.none)] + pipelines).enumerated() {
            let m =
                n == 0
                ? baseline : try measure(teacher: teacher, pipeline: entry.pipeline, prompts: prompts, options: options)
            let reported = max(1, m.positions - m.withheld)
            let parameters = entry.pipeline.defences.map { d in
                d.parameters.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
            }.joined(separator: "; ")
            out.append(
                BenignCostRow(
                    defence: entry.label, parameters: parameters, positions: m.positions,
                    withheldRate: Double(m.withheld) / Double(max(1, m.positions)),
                    meanKL: m.kl / Double(reported), meanTotalVariation: m.tv / Double(reported),
                    top1Agreement: Double(m.agreeing) / Double(max(1, m.positions)),
                    textPerplexity: m.perplexity, perplexityIncrease: m.perplexity - baseline.perplexity,
                    relativePerplexityIncrease: (m.perplexity - baseline.perplexity) / baseline.perplexity))
            progress?.update(n + 1, detail: entry.label)
        }
        progress?.finish()
        return out
    }

    /// The table for every registered defence at its default parameters.
    public static func defaultsTable(
        teacher: any TeacherAPI, benignTokens: [Int], options: BenignCostOptions,
        progress: ProgressReporter? = nil
    ) throws -> [BenignCostRow] {
        let env = DefenceEnvironment(vocabularySize: teacher.vocabularySize, contextLength: teacher.contextLength)
        let pipelines = try DefenceRegistry.names.map { name in
            (label: name, pipeline: try DefenceRegistry.pipeline([DefenceSpec(name)], environment: env))
        }
        return try table(
            teacher: teacher, pipelines: pipelines, benignTokens: benignTokens, options: options, progress: progress)
    }
}
