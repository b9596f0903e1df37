// `distill-lab steal`: the logit-leak attack of Carlini et al. 2024 against a checkpoint or a random GPT,
// one run or a grid (comma-separated widths, modes, noise levels, roundings; several seeds). Thin: the
// flags become a `LogitLeakSweep`; the attack and the tables are the library's.
import ArgumentParser
import Foundation
import LabAPI
import LabAttacks
import LabCore
import LabDefences
import LabExperiments
import LabModel

struct Steal: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find a teacher's hidden width and output projection from its logits (Carlini et al. 2024).",
        discussion: """
            Harvests n next-token logit vectors through the defended API (full distributions, or rebuilt from \
            top-k logprobs plus logit bias), finds the width at the largest gap in the log singular values, and \
            scores the recovered projection against the teacher's wte after the best alignment. Lists (a,b,c) in \
            --random-width, --mode, --top-k, --noise and --rounding make a grid; one row per cell, averaged over --seeds.
            """)

    @OptionGroup var threads: ThreadOptions
    @Option(help: "Checkpoint directory of the teacher.") var teacher: String?
    @Option(help: "Random-init GPT teacher(s) of this width (comma-separated for a sweep).") var randomWidth: String?
    @Option(help: "Vocabulary of the random teacher.") var vocab: Int = 512
    @Option(help: "Layers of the random teacher.") var layers: Int = 2
    @Option(help: "Context length of the random teacher.") var context: Int = 16
    @Option(help: "Std of the random teacher's final LayerNorm bias (0: GPT-2 init, whose logits have rank C − 1).")
    var lnfBiasStd: Double = 0.1
    @Option(
        name: [.customLong("vectors"), .customLong("queries")],
        help:
            "n, logit vectors to harvest (in topk-bias mode each costs ⌈(V−1)/(k−1)⌉ queries; default 2·V, at least 64)."
    )
    var vectors: Int?
    @Option(help: "Harvest mode(s): full, topk-bias, topk (comma-separated).") var mode: String = "full"
    @Option(help: "k, top logprobs per query in the topk modes (comma-separated; at most --max-logprobs).") var topK:
        String = "20"
    @Option(help: "B, the logit bias on each block token (topk-bias).") var bias: Float = 100
    @Option(help: "Tokens per random prompt.") var promptLength: Int = 8
    @Option(help: "σ of Gaussian noise on the served logits (comma-separated; 0 = none).") var noise: String = "0"
    @Option(help: "Round reported values to d decimals (comma-separated; 'none' = no rounding).") var rounding: String =
        "none"
    @Option(help: "What rounding applies to.") var roundOn: Rounding.Domain = .logprobs
    @Option(help: "API logit-bias policy.") var logitBias: LogitBiasChoice = .allowed
    @Option(help: "Bias cap for --logit-bias capped.") var biasCap: Float = 100
    @Option(help: "API cap on top logprobs per position.") var maxLogprobs: Int = 20
    @Option(help: "Seeds (teacher init for random teachers, prompts, server noise): this many, from --seed.") var seeds:
        Int = 1
    @Option(help: "First seed.") var seed: UInt64 = 0
    @Option(help: "Write sweep.json and sweep.md into this directory.") var out: String?
    @Flag(help: "Print JSON instead of text.") var json = false

    func validate() throws {
        guard (teacher == nil) != (randomWidth == nil) else {
            throw ValidationError("give exactly one of --teacher DIR and --random-width W")
        }
        guard (1...Self.maximumSeeds).contains(seeds) else {
            throw ValidationError("--seeds must be in 1...\(Self.maximumSeeds) (got \(seeds))")
        }
        for (flag, value) in [
            ("--vocab", vocab), ("--layers", layers), ("--context", context), ("--prompt-length", promptLength),
            ("--max-logprobs", maxLogprobs),
        ] {
            guard (1...GPTConfig.maximumDimension).contains(value) else {
                throw ValidationError("\(flag) must be in 1...\(GPTConfig.maximumDimension) (got \(value))")
            }
        }
        if let vectors, !(1...GPTConfig.maximumDimension).contains(vectors) {
            throw ValidationError("--vectors must be in 1...\(GPTConfig.maximumDimension) (got \(vectors))")
        }
        guard promptLength <= context else {
            throw ValidationError("--prompt-length \(promptLength) must fit the context (--context \(context))")
        }
        guard lnfBiasStd >= 0, lnfBiasStd.isFinite else {
            throw ValidationError("--lnf-bias-std must be 0 or more (got \(lnfBiasStd))")
        }
        _ = try parsedModes()
        _ = try parsedNoise()
        _ = try parsedRounding()
        _ = try parsedWidths()
        _ = try parsedTopK()
        _ = try policy()
    }

    func parsedModes() throws -> [LogitLeakMode] {
        try list(mode).map {
            guard let m = LogitLeakMode(rawValue: $0) else {
                throw ValidationError("--mode '\($0)' is not one of full, topk-bias, topk")
            }
            return m
        }
    }

    func parsedNoise() throws -> [Double] {
        try list(noise).map {
            guard let s = Double($0), s >= 0, s.isFinite else {
                throw ValidationError("--noise '\($0)' is not a standard deviation ≥ 0")
            }
            return s
        }
    }

    func parsedRounding() throws -> [Int?] {
        try list(rounding).map {
            if $0 == "none" { return nil }
            guard let d = Int($0), (0...12).contains(d) else {
                throw ValidationError("--rounding '\($0)' is not 'none' or decimals in 0...12")
            }
            return d
        }
    }

    func parsedTopK() throws -> [Int] {
        try list(topK).map {
            guard let k = Int($0), k >= 1 else {
                throw ValidationError("--top-k '\($0)' is not a positive number of logprobs")
            }
            return k
        }
    }

    func parsedWidths() throws -> [Int] {
        guard let randomWidth else { return [] }
        return try list(randomWidth).map {
            guard let w = Int($0), w >= 1 else {
                throw ValidationError("--random-width '\($0)' is not a positive width")
            }
            do {
                // Heads 1: the random teacher's shape is checked (and its memory bounded) before anything is built.
                try GPTConfig(vocabularySize: vocab, contextLength: context, width: w, layers: layers, heads: 1)
                    .validate()
            } catch let error as LabError {
                throw ValidationError("--random-width \(w): \(error.description)")
            }
            return w
        }
    }

    func policy() throws -> APIPolicy {
        let p = APIPolicy(maxLogprobs: maxLogprobs, logitBias: logitBias.mode(cap: biasCap))
        try p.validate()
        return p
    }

    /// More seeds than this is a typo, not a study.
    static let maximumSeeds = 10_000

    func list(_ s: String) -> [String] { s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }

    func run() throws {
        try threads.scope {
            var subjects: [LogitLeakSubject] = []
            var V = vocab
            if let teacher {
                let lm = try loadModel(teacher)
                let t = GPTTeacher(lm)
                V = t.vocabularySize
                subjects = [
                    LogitLeakSubject(label: "\(teacher) (C=\(t.model.config.width) V=\(V))") { _ in
                        (t, OutputProjection(model: t.model))
                    }
                ]
            } else {
                subjects = try parsedWidths().map {
                    .random(
                        width: $0, vocabularySize: vocab, layers: layers, contextLength: context,
                        finalLayerNormBiasStd: lnfBiasStd)
                }
            }
            var sweep = LogitLeakSweep(subjects: subjects)
            sweep.modes = try parsedModes()
            sweep.noise = try parsedNoise()
            sweep.rounding = try parsedRounding()
            sweep.roundingDomain = roundOn
            sweep.policy = try policy()
            sweep.seeds = (0..<UInt64(seeds)).map { seed + $0 }
            sweep.options.vectors = vectors ?? max(64, 2 * V)
            // The harvest holds n logit vectors of V floats, and the SVD a few copies.
            try MemoryLimit.check(
                Double(sweep.options.vectors) * Double(V) * 4 * 4,
                for: "harvesting \(sweep.options.vectors) logit vectors of \(V) entries",
                key: "--vectors", fix: "Lower --vectors or --vocab.")
            sweep.topK = try parsedTopK()
            sweep.options.bias = bias
            sweep.options.promptLength = promptLength

            let harvests = sweep.modes.reduce(0) { $0 + ($1 == .full ? 1 : sweep.topK.count) }
            let cellCount = subjects.count * harvests * sweep.noise.count * sweep.rounding.count * seeds
            let progress = cellCount > 1 ? ProgressReporter(total: cellCount, label: "steal") : nil
            var done = 0
            let report = try sweep.run { _ in
                done += 1
                progress?.update(done)
            }
            progress?.finish()
            if let out { try report.write(to: URL(fileURLWithPath: out)) }

            if json {
                let enc = JSONEncoder()
                enc.outputFormatting = [.sortedKeys, .prettyPrinted]
                // One cell prints its result alone; a grid (or a refusal) the whole report.
                if cellCount == 1, let result = report.cells.first?.result {
                    print(String(decoding: try enc.encode(result), as: UTF8.self))
                } else {
                    print(String(decoding: try enc.encode(report), as: UTF8.self))
                }
            } else if cellCount == 1, let cell = report.cells.first {
                print(describe(cell))
            } else {
                print(report.markdown)
            }
        }
    }

    /// One run in a few lines: the width, the spectrum around the gap, the cost, the error.
    func describe(_ cell: LogitLeakSweep.Cell) -> String {
        guard let r = cell.result else { return "\(cell.subject): the API refused the harvest: \(cell.refusal ?? "")" }
        let e = r.estimate
        var lines = [
            "\(cell.subject), \(cell.harvest), noise σ \(cell.noise)"
                + (cell.rounding.map { ", rounding \($0) dp" } ?? "")
        ]
        let truth = r.trueWidth.map { " (true width \($0): \($0 == e.width ? "exact" : "missed"))" } ?? ""
        lines.append(
            "recovered width \(e.width)\(truth); ln gap \(String(format: "%.2f", e.logGap)), next largest \(String(format: "%.2f", e.runnerUpLogGap)); searched \(e.searched) singular values"
                + (e.saturated ? " — saturated: harvest more vectors" : ""))
        let lo = max(0, e.width - 3), hi = min(r.singularValues.count, e.width + 3)
        let around = (lo..<hi).map { "s\($0 + 1)=\(String(format: "%.3e", r.singularValues[$0]))" }.joined(
            separator: " ")
        lines.append(
            "spectrum: s1=\(String(format: "%.3e", r.singularValues.first ?? 0)) … \(around) … s\(r.singularValues.count)=\(String(format: "%.3e", r.singularValues.last ?? 0))"
        )
        lines.append(
            "cost: \(r.usage.queries) queries (\(r.queriesPerVector) per vector × \(r.options.vectors) vectors), \(r.usage.inputTokens) input + \(r.usage.outputTokens) output tokens, \(r.usage.cost)"
                + (r.unrecoveredEntries > 0 ? "; \(r.unrecoveredEntries) entries unrecovered (filled)" : ""))
        if let a = r.alignment {
            lines.append(
                "recovered projection (width \(a.width)) vs wte after best alignment: RMS error \(String(format: "%.3e", a.rmsError)) of ‖W‖ (\(String(format: "%.3e", a.linearRMSError)) without the per-column constant)"
            )
        }
        return lines.joined(separator: "\n")
    }
}
