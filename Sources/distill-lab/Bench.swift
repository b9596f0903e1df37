// `distill-lab bench`: sgemm peak, then training, inference and decode throughput.
import ArgumentParser
import Foundation
import LabCore
import LabModel

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the engine's throughput against the machine's sgemm peak.")

    @OptionGroup var threads: ThreadOptions
    @Option(
        help:
            "Configs to run, comma-separated: tiny, small, tiny-b8, nanogpt, bpe; or all (tiny and small).")
    var config: String = "all"
    @Option(help: "Modes: train, infer, decode, or all (comma-separated).")
    var mode: String = "all"
    @Option(help: "Minimum seconds timed per measurement.")
    var seconds: Double = 5
    @Option(help: "Attention kernel: gemm or fused.")
    var attention: String = "gemm"
    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func validate() throws {
        let names = BenchmarkConfig.named.map(\.name)
        guard config == "all" || config.split(separator: ",").allSatisfy({ names.contains(String($0)) }) else {
            throw ValidationError(
                "--config must be all or a comma-separated list of \(names.joined(separator: ", ")) (got '\(config)')")
        }
        guard AttentionKernel(rawValue: attention) != nil else {
            throw ValidationError("--attention must be gemm or fused")
        }
        guard seconds > 0, seconds <= 3600 else {
            throw ValidationError("--seconds must be in (0, 3600] (got \(seconds))")
        }
        let modes = mode.split(separator: ",").map(String.init)
        guard mode == "all" || (!modes.isEmpty && modes.allSatisfy({ ["train", "infer", "decode"].contains($0) }))
        else {
            throw ValidationError("--mode must be train, infer, decode (comma-separated) or all (got '\(mode)')")
        }
    }

    func run() throws {
        try threads.scope {
            let configs: [BenchmarkConfig] =
                config == "all"
                ? [.tiny, .small]
                : config.split(separator: ",").compactMap { name in BenchmarkConfig.named.first { $0.name == name } }
            let modes: Set<String> =
                mode == "all" ? ["train", "infer", "decode"] : Set(mode.split(separator: ",").map(String.init))
            let peak = try EngineBenchmark.sgemmPeak(seconds: min(2, seconds))
            if !json {
                print(BLASKernel.summary + "; attention kernel \(attention)")
                print(String(format: "sgemm peak (1024³): %.1f GFLOP/s", peak))
            }
            var report = BenchmarkReport(
                kernel: BLAS.coreName, blasThreads: BLAS.threads, workers: Parallel.workers, sgemmPeakGflops: peak,
                configs: [])
            for c in configs {
                let r = try EngineBenchmark.run(
                    c, peak: peak, seconds: seconds, modes: modes,
                    attention: AttentionKernel(rawValue: attention) ?? .gemm)
                report.configs.append(r)
                if !json {
                    for m in r.results {
                        print(
                            String(
                                format: "%-6@ %-7@ %10.0f tok/s  %8.2f ms/step  %6.1f GFLOP/s  %5.1f%% of peak",
                                c.name as NSString, m.mode as NSString, m.tokensPerSecond, m.stepMilliseconds, m.gflops,
                                m.fractionOfPeak * 100))
                    }
                    print(String(format: "%-6@ peak RSS so far %.0f MiB", c.name as NSString, r.peakRSSMebibytes))
                }
            }
            if json {
                let enc = JSONEncoder()
                enc.keyEncodingStrategy = .convertToSnakeCase
                enc.outputFormatting = [.sortedKeys]
                print(String(data: try enc.encode(report), encoding: .utf8)!)
            }
        }
    }
}
