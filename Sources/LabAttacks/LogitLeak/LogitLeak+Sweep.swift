// LogitLeak sweep: the attack over a grid — teachers × harvest modes × logit noise σ × rounding × seeds —
// under one API policy, each cell with its own ledger, and the noise level where the width is lost (tables: LabExperiments).
// Not a general experiment runner (LabExperiments): the grid the logit-leak measurements need, no more.
import Foundation
import LabAPI
import LabCore
import LabDefences

/// A teacher to attack in a sweep.
public struct LogitLeakSubject {
    /// How tables name it, e.g. "random C=64 V=512".
    public var label: String
    /// Builds the teacher for one seed (a random teacher re-initialises per seed; a checkpoint ignores it)
    /// and, when known, its output projection.
    public var make: (_ seed: UInt64) throws -> (teacher: any TeacherAPI, truth: OutputProjection?)

    public init(
        label: String, make: @escaping (_ seed: UInt64) throws -> (teacher: any TeacherAPI, truth: OutputProjection?)
    ) {
        self.label = label
        self.make = make
    }

    /// `LogitLeak.randomTeacher` of this width and vocabulary, seeded per cell.
    public static func random(
        width: Int, vocabularySize: Int, layers: Int = 2, contextLength: Int = 16,
        finalLayerNormBiasStd: Double = 0.1
    ) -> LogitLeakSubject {
        LogitLeakSubject(label: "random C=\(width) V=\(vocabularySize)") { seed in
            let t = try LogitLeak.randomTeacher(
                width: width, vocabularySize: vocabularySize, layers: layers, contextLength: contextLength,
                finalLayerNormBiasStd: finalLayerNormBiasStd, seed: seed)
            return (t, OutputProjection(model: t.model))
        }
    }
}

/// The grid. Every combination of subject, mode (with each k for the top-k modes), noise, rounding and
/// seed is one cell.
public struct LogitLeakSweep {
    public var subjects: [LogitLeakSubject]
    public var modes: [LogitLeakMode] = [.full]
    /// k of the top-k modes (each a cell of its own; full mode ignores it).
    public var topK: [Int] = [20]
    /// σ of Gaussian noise added to each reported logit (`GaussianNoise` on logits); 0 is no noise.
    public var noise: [Double] = [0]
    /// Decimals of `Rounding` on the reported values; nil is no rounding.
    public var rounding: [Int?] = [nil]
    public var roundingDomain: Rounding.Domain = .logprobs
    /// The API's policy in every cell (logit-bias mode, top-logprobs cap).
    public var policy = APIPolicy()
    public var seeds: [UInt64] = [0]
    /// The attacker's options; each cell sets `mode` and `seed`.
    public var options = LogitLeakOptions()

    public init(subjects: [LogitLeakSubject]) { self.subjects = subjects }

    /// One cell's outcome, flattened for tables.
    public struct Cell: Codable, Equatable, Sendable {
        public var subject: String
        public var trueWidth: Int?
        public var vocabularySize: Int
        public var mode: LogitLeakMode
        /// k in the top-k modes; nil in full mode.
        public var topK: Int?
        public var noise: Double
        public var rounding: Int?
        public var seed: UInt64
        /// The API's refusal, when it refused the harvest (then the result is nil).
        public var refusal: String?
        public var result: LogitLeakResult?

        enum CodingKeys: String, CodingKey {
            case subject, trueWidth = "true_width", vocabularySize = "vocab_size", mode, topK = "top_k", noise,
                rounding, seed, refusal, result
        }

        /// "full", or "topk-bias k=20": how the vectors were bought.
        public var harvest: String { mode.rawValue + (topK.map { " k=\($0)" } ?? "") }
    }

    /// Where the width stops being found, for one subject, mode, rounding and seed, along the noise grid.
    /// Per seed, because the level hinges on the teacher's weakest logit direction, which varies by seed.
    public struct Threshold: Codable, Equatable, Sendable {
        public var subject: String
        public var mode: LogitLeakMode
        public var topK: Int?
        public var rounding: Int?
        public var seed: UInt64
        /// Largest-gap rule: the largest σ > 0 of the grid such that it and every smaller σ found the exact
        /// width (nil: not even the smallest).
        public var foundUpTo: Double?
        /// Largest-gap rule: the smallest σ such that it and every larger σ missed it (nil: the largest found it).
        public var lostFrom: Double?
        /// The same two for the Gavish–Donoho count (`WidthEstimate.bulkEdgeWidth`).
        public var bulkEdgeFoundUpTo: Double?
        public var bulkEdgeLostFrom: Double?
        /// From the noise-free cell (σ = 0), when the grid has one: s_C, the weakest signal singular value,
        /// and G = max_{i<C} ln(s_i / s_{i+1}), the largest gap inside the signal.
        public var weakestSingularValue: Double?
        public var largestSignalLogGap: Double?
        /// Predictions from those, full mode only, where each centred entry carries independent N(0, σ²)
        /// noise, so the noise is an (n, V − 1) Gaussian matrix whose singular values reach σ(√n + √(V − 1))
        /// (its bulk edge). The largest-gap rule keeps C while ln(s_C / edge) beats G, i.e. up to
        /// σ ≈ s_C / ((√n + √(V − 1))·e^G);
        public var predictedLargestGap: Double?
        /// and the C-th direction separates from the bulk at all up to σ = s_C / (n(V − 1))^¼, the
        /// spiked-matrix phase transition (Benaych-Georges & Nadakuditi 2012), which a bulk-edge count
        /// like Gavish–Donoho's approaches.
        public var predictedDetectable: Double?

        enum CodingKeys: String, CodingKey {
            case subject, mode, topK = "top_k", rounding, seed, foundUpTo = "found_up_to", lostFrom = "lost_from"
            case bulkEdgeFoundUpTo = "bulk_edge_found_up_to", bulkEdgeLostFrom = "bulk_edge_lost_from"
            case weakestSingularValue = "weakest_singular_value", largestSignalLogGap = "largest_signal_log_gap"
            case predictedLargestGap = "predicted_largest_gap", predictedDetectable = "predicted_detectable"
        }
    }

    public struct Report: Codable, Sendable {
        public var cells: [Cell]
        public var thresholds: [Threshold]

        /// The report with every spectrum rounded to `digits` significant digits: plenty to plot or to
        /// read a gap from, at a fraction of the size of a committed JSON file.
        public func rounded(significantDigits digits: Int = 6) -> Report {
            func round(_ x: Double) -> Double {
                guard x.isFinite, abs(x) > 1e-290 else { return x }
                let scale = pow(10, Double(digits) - 1 - floor(log10(abs(x))))
                return (x * scale).rounded() / scale
            }
            var out = self
            out.cells = cells.map { cell in
                var c = cell
                if let s = c.result?.singularValues { c.result?.singularValues = s.map(round) }
                return c
            }
            return out
        }
    }

    /// Runs every cell in order, calling `progress` after each. A refusal by the API is recorded in its
    /// cell; any other error ends the sweep.
    public func run(progress: ((Cell) -> Void)? = nil) throws -> Report {
        var cells: [Cell] = []
        for subject in subjects {
            for seed in seeds {
                let (teacher, truth) = try subject.make(seed)
                for (mode, k) in modes.flatMap({ m in m == .full ? [(m, nil)] : topK.map { (m, Optional($0)) } }) {
                    for r in rounding {
                        for sigma in noise {
                            var stages: [any Defence] = []
                            if sigma > 0 { stages.append(GaussianNoise(scale: sigma, domain: .logits)) }
                            if let r { stages.append(Rounding(decimals: r, domain: roundingDomain)) }
                            let ledger = Ledger()
                            try ledger.open("attacker")
                            let api = DefendedAPI(
                                teacher: teacher, policy: policy, defences: DefencePipeline(stages), ledger: ledger,
                                seed: seed)
                            var options = self.options
                            options.mode = mode
                            options.seed = seed
                            if let k { options.topK = k }
                            var cell = Cell(
                                subject: subject.label, trueWidth: truth?.width, vocabularySize: teacher.vocabularySize,
                                mode: mode, topK: k, noise: sigma, rounding: r, seed: seed)
                            do {
                                cell.result = try LogitLeakAttack(options).run(
                                    against: api, account: "attacker", truth: truth)
                            } catch let refusal as APIRefusal {
                                cell.refusal = refusal.description
                            }
                            cells.append(cell)
                            progress?(cell)
                        }
                    }
                }
            }
        }
        return Report(cells: cells, thresholds: Self.thresholds(cells, vectors: options.vectors))
    }

    /// `Threshold`s of every (subject, mode, rounding, seed) with a known width and some σ > 0.
    static func thresholds(_ cells: [Cell], vectors n: Int) -> [Threshold] {
        func key(_ c: Cell) -> String { "\(c.subject)|\(c.harvest)|\(c.rounding.map(String.init) ?? "-")|\(c.seed)" }
        var keys: [String] = []
        for c in cells where c.trueWidth != nil && !keys.contains(key(c)) { keys.append(key(c)) }
        var out: [Threshold] = []
        for k in keys {
            let group = cells.filter { key($0) == k }
            // The noise-free cell is its own row of the table; the edges are read along σ > 0.
            let noisy = group.filter { $0.noise > 0 }.sorted { $0.noise < $1.noise }
            guard let first = group.first, let c = first.trueWidth, !noisy.isEmpty else { continue }
            func edges(_ exact: (LogitLeakResult) -> Bool) -> (Double?, Double?) {
                let hit = noisy.map { $0.result.map(exact) == true }
                var upTo: Double?, from: Double?
                for (i, cell) in noisy.enumerated() {
                    if hit[i] { upTo = cell.noise } else { break }
                }
                for (i, cell) in noisy.enumerated().reversed() {
                    if !hit[i] { from = cell.noise } else { break }
                }
                return (upTo, from)
            }
            let (foundUpTo, lostFrom) = edges { $0.widthFound == true }
            let (edgeUpTo, edgeFrom) = edges { $0.estimate.bulkEdgeWidth == $0.trueWidth }
            var t = Threshold(
                subject: first.subject, mode: first.mode, topK: first.topK, rounding: first.rounding, seed: first.seed,
                foundUpTo: foundUpTo, lostFrom: lostFrom, bulkEdgeFoundUpTo: edgeUpTo, bulkEdgeLostFrom: edgeFrom)
            if let s = group.first(where: { $0.noise == 0 })?.result?.singularValues, s.count > c {
                let g = (1..<max(2, c)).map { log(s[$0 - 1] / s[$0]) }.max() ?? 0
                t.weakestSingularValue = s[c - 1]
                t.largestSignalLogGap = g
                if first.mode == .full {
                    let V1 = Double(first.vocabularySize - 1)
                    t.predictedLargestGap = s[c - 1] / ((Double(n).squareRoot() + V1.squareRoot()) * exp(g))
                    t.predictedDetectable = s[c - 1] / pow(Double(n) * V1, 0.25)
                }
            }
            out.append(t)
        }
        return out
    }
}
