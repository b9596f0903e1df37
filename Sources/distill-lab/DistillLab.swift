// distill-lab: the command-line face of DistillLab. Thin by design: each subcommand parses and
// validates its flags, then calls the library; errors a user can cause print one or two lines.
import ArgumentParser
import Foundation
import LabAPI
import LabAttacks
import LabCore
import LabData
import LabDefences
import LabModel

@main
struct DistillLabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distill-lab",
        abstract: "A lab for model extraction by distillation, and the defences against it.",
        subcommands: [
            Train.self, Tokenize.self, Sample.self, Eval.self, Logprobs.self, Bench.self, Defences.self, Validate.self,
            Run.self, Merge.self, Demo.self,
            Steal.self, AttackCommand.self, CampaignCommand.self, ServeCommand.self,
        ]
    )

    static func main() {
        // Before anything touches BLAS: move to OpenBLAS's fast kernel where the CPU has one.
        BLASKernel.ensureFastKernel()
        // Line-buffered stdout, so result lines interleave sensibly with progress on stderr.
        setvbuf(stdout, nil, _IOLBF, 0)
        main(attachingNegativeValues(Array(CommandLine.arguments.dropFirst())))
    }

    /// `--lr -0.01` becomes `--lr=-0.01`: the argument parser would read "-0.01" as a flag and report a
    /// missing value, so a negative number after an option is attached to it (the error then names the flag
    /// and its range if the value is not allowed).
    static func attachingNegativeValues(_ arguments: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            if a == "--" {
                out += arguments[i...]
                break
            }
            if a.hasPrefix("--"), !a.contains("="), i + 1 < arguments.count, isNegativeNumber(arguments[i + 1]) {
                out.append(a + "=" + arguments[i + 1])
                i += 2
                continue
            }
            out.append(a)
            i += 1
        }
        return out
    }

    static func isNegativeNumber(_ s: String) -> Bool {
        guard s.hasPrefix("-"), let second = s.dropFirst().first else { return false }
        return second.isNumber || (second == "." && Double(s) != nil)
    }
}

/// Threads for BLAS and for the lab's own loops.
struct ThreadOptions: ParsableArguments {
    @Option(
        help:
            "Worker threads for products and kernels (default: all cores; at most \(ThreadOptions.multipleOfCores)× the cores). Results do not depend on it."
    )
    var threads: Int?

    /// More workers than this many per core only make them wait on each other.
    static let multipleOfCores = 4

    func validate() throws {
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1 (got \(t))") }
    }

    /// The worker count to use: --threads, capped at a small multiple of the cores (with a note on stderr).
    var resolved: Int {
        let cores = max(1, ProcessInfoCores.active)
        guard let t = threads else { return cores }
        let cap = Self.multipleOfCores * cores
        if t > cap {
            FileHandle.standardError.write(
                Data(
                    "note: --threads \(t) capped at \(cap) (\(Self.multipleOfCores) × the \(cores) cores); more workers than that only wait on each other\n"
                        .utf8))
            return cap
        }
        return t
    }

    /// Runs a command's work with `resolved` workers (BLAS single-threaded beneath them).
    func scope<R>(_ body: () throws -> R) rethrows -> R {
        BLAS.useSingleThreadedBLAS()
        return try Parallel.withWorkers(resolved, body)
    }
}

// The library's closed choices, parsed by the argument parser itself: `--help` lists the values and a wrong
// one is refused naming the flag and every allowed value. The library's types do not depend on the argument
// parser; only this executable conforms them.
extension CorpusSpec.Kind: ExpressibleByArgument {}
extension Tokenizer.Kind: ExpressibleByArgument {}
extension Split: ExpressibleByArgument {}
extension BudgetUnit: ExpressibleByArgument {}
extension Rounding.Domain: ExpressibleByArgument {}

/// `steal --logit-bias`: the API's logit-bias policy (the cap comes from `--bias-cap`).
enum LogitBiasChoice: String, CaseIterable, ExpressibleByArgument {
    case allowed, capped
    case refusedWithLogprobs = "refused-with-logprobs"
    case refused

    func mode(cap: Float) -> APIPolicy.LogitBiasMode {
        switch self {
        case .allowed: .allowed
        case .capped: .capped(magnitude: cap)
        case .refusedWithLogprobs: .refusedWithLogprobs
        case .refused: .refused
        }
    }
}
