// Benchmark: throughput of the engine on fixed configs, beside the machine's measured sgemm peak.
// Each measurement checks its result first (finite loss, correct product), warms up, then times
// whole steps; it reports medians. It is a library API so that `distill-lab bench` stays thin.
import Foundation
import LabCore

public struct BenchmarkConfig: Sendable {
    public var name: String
    public var model: GPTConfig
    public var batch: Int
    public init(name: String, model: GPTConfig, batch: Int) {
        self.name = name
        self.model = model
        self.batch = batch
    }
    public static let tiny = BenchmarkConfig(
        name: "tiny", model: GPTConfig(vocabularySize: 96, contextLength: 64, width: 128, layers: 4, heads: 4),
        batch: 32)
    public static let small = BenchmarkConfig(
        name: "small", model: GPTConfig(vocabularySize: 96, contextLength: 128, width: 256, layers: 6, heads: 8),
        batch: 16)
    /// `tiny` at a student's batch, where fixed per-step costs weigh more.
    public static let tinyBatch8 = BenchmarkConfig(name: "tiny-b8", model: tiny.model, batch: 8)
    /// nanoGPT's shakespeare_char recipe for a CPU (65 symbols, width 128, 4 layers, context 64, batch 12).
    public static let nanoGPT = BenchmarkConfig(
        name: "nanogpt", model: GPTConfig(vocabularySize: 65, contextLength: 64, width: 128, layers: 4, heads: 4),
        batch: 12)
    /// A byte-level BPE vocabulary of 2,048: the tied unembedding is as large as the four blocks together.
    public static let bpe = BenchmarkConfig(
        name: "bpe", model: GPTConfig(vocabularySize: 2048, contextLength: 128, width: 128, layers: 4, heads: 4),
        batch: 16)
    /// Every named config; scripts/torch_bench.py has the same shapes under the same names.
    public static let named: [BenchmarkConfig] = [tiny, small, tinyBatch8, nanoGPT, bpe]
}

public struct ThroughputResult: Codable, Sendable {
    public var mode: String
    public var tokensPerSecond: Double
    public var stepMilliseconds: Double
    public var gflops: Double
    public var fractionOfPeak: Double
}

public struct ConfigBenchmark: Codable, Sendable {
    public var config: String
    public var batch: Int
    public var contextLength: Int
    public var width: Int
    public var layers: Int
    public var heads: Int
    public var vocabularySize: Int
    public var results: [ThroughputResult]
    public var peakRSSMebibytes: Double
}

public struct BenchmarkReport: Codable, Sendable {
    public var kernel: String
    public var blasThreads: Int
    public var workers: Int
    public var sgemmPeakGflops: Double
    public var configs: [ConfigBenchmark]
    public init(kernel: String, blasThreads: Int, workers: Int, sgemmPeakGflops: Double, configs: [ConfigBenchmark]) {
        self.kernel = kernel
        self.blasThreads = blasThreads
        self.workers = workers
        self.sgemmPeakGflops = sgemmPeakGflops
        self.configs = configs
    }
}

public enum EngineBenchmark {
    /// Median (or, with `best`, minimum) of the timings of `body`, after `warmup` untimed calls, in seconds.
    public static func time(
        warmup: Int = 2, minimumSeconds: Double, minimumRepeats: Int = 3, best: Bool = false, _ body: () throws -> Void
    ) rethrows -> Double {
        for _ in 0..<warmup { try body() }
        var samples: [Double] = []
        let start = Date()
        while samples.count < minimumRepeats || Date().timeIntervalSince(start) < minimumSeconds {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try body()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            if samples.count >= 10_000 { break }
        }
        samples.sort()
        return best ? samples[0] : samples[samples.count / 2]
    }

    /// sgemm GFLOP/s on square n×n products (checked against a naive product on a few entries).
    public static func sgemmPeak(n: Int = 1024, seconds: Double = 1.0) throws -> Double {
        let a = FloatBuffer(count: n * n), b = FloatBuffer(count: n * n), c = FloatBuffer(count: n * n)
        var rng = LabRNG(seed: 7)
        for i in 0..<(n * n) {
            a[i] = rng.uniformFloat() - 0.5
            b[i] = rng.uniformFloat() - 0.5
        }
        BLAS.parallelSgemm(
            transA: false, transB: false, m: n, n: n, k: n, a: a.pointer, lda: n, b: b.pointer, ldb: n, c: c.pointer,
            ldc: n)
        for (i, j) in [(0, 0), (n / 2, n / 3), (n - 1, n - 1)] {
            var s = 0.0
            for k in 0..<n { s += Double(a[i * n + k]) * Double(b[k * n + j]) }
            guard isClose(Double(c[i * n + j]), s, atol: 1e-3, rtol: 1e-3) else {
                throw LabError.numerical("sgemm check failed: C[\(i),\(j)] = \(c[i * n + j]), expected \(s)")
            }
        }
        // The best of several runs: a peak is an upper bound, and this machine is shared.
        let t = time(minimumSeconds: seconds, best: true) {
            BLAS.parallelSgemm(
                transA: false, transB: false, m: n, n: n, k: n, a: a.pointer, lda: n, b: b.pointer, ldb: n,
                c: c.pointer, ldc: n)
        }
        return 2 * Double(n) * Double(n) * Double(n) / t / 1e9
    }

    /// Training, full-sequence inference and KV-cached decode throughput for one config.
    public static func run(
        _ bc: BenchmarkConfig, peak: Double, seconds: Double, modes: Set<String> = ["train", "infer", "decode"],
        attention: AttentionKernel = .gemm
    ) throws -> ConfigBenchmark {
        let cfg = bc.model
        let B = bc.batch, T = cfg.contextLength
        let gpt = try GPT(config: cfg, seed: 1)
        gpt.attentionKernel = attention
        var rng = LabRNG(seed: 2)
        let tokens = (0..<(B * T)).map { _ in Int32(rng.int(below: cfg.vocabularySize)) }
        let targets = (0..<(B * T)).map { _ in Int32(rng.int(below: cfg.vocabularySize)) }
        var results: [ThroughputResult] = []
        func record(_ mode: String, _ seconds: Double, tokens: Int, flopsPerToken: Double) {
            let tps = Double(tokens) / seconds
            let gf = tps * flopsPerToken / 1e9
            results.append(
                ThroughputResult(
                    mode: mode, tokensPerSecond: tps, stepMilliseconds: seconds * 1e3, gflops: gf,
                    fractionOfPeak: gf / peak))
        }
        if modes.contains("train") {
            let gradientStep = GradientStep(model: gpt, optimizer: AdamWConfig(learningRate: 1e-4))
            var step = 0
            let t = try time(minimumSeconds: seconds) {
                try gradientStep.take(step: step, learningRate: 1e-4, lossName: "benchmark training loss") {
                    try gpt.forward(tokens: tokens, batch: B, length: T)
                    return try gpt.loss(.hard(targets))
                }
                step += 1
            }
            record("train", t, tokens: B * T, flopsPerToken: cfg.trainingFlopsPerToken(sequenceLength: T))
        }
        if modes.contains("infer") {
            let t = try time(minimumSeconds: seconds) { try gpt.forward(tokens: tokens, batch: B, length: T) }
            record("infer", t, tokens: B * T, flopsPerToken: cfg.inferenceFlopsPerToken(sequenceLength: T))
        }
        if modes.contains("decode") {
            // Decode: B sequences, a 1-token prompt each, generate T−1 tokens with the KV cache.
            let sampler = Sampler(model: gpt)
            let prompts = (0..<B).map { [tokens[$0 * T]] }
            let t = try time(warmup: 1, minimumSeconds: seconds) {
                _ = try sampler.generate(
                    prompts: prompts, maxNewTokens: T - 1, options: SamplingOptions(temperature: 1), seed: 3)
            }
            record("decode", t, tokens: B * (T - 1), flopsPerToken: cfg.inferenceFlopsPerToken(sequenceLength: T / 2))
        }
        return ConfigBenchmark(
            config: bc.name, batch: B, contextLength: T, width: cfg.width, layers: cfg.layers, heads: cfg.heads,
            vocabularySize: cfg.vocabularySize, results: results, peakRSSMebibytes: ResourceUsage.peakRSSMebibytes)
    }
}

/// Peak resident memory of this process (getrusage ru_maxrss).
public enum ResourceUsage {
    public static var peakRSSMebibytes: Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}
