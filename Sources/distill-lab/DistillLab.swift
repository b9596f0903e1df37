// distill-lab: the command-line face of DistillLab. Thin by design: each subcommand parses and
// validates its flags, then calls the library; errors a user can cause print one or two lines.
import ArgumentParser
import Foundation
import LabCore

@main
struct DistillLabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distill-lab",
        abstract: "A lab for model extraction by distillation, and the defences against it.",
        subcommands: [Train.self, Tokenize.self, Sample.self, Eval.self, Logprobs.self, Bench.self, Defences.self, Validate.self, Run.self, Merge.self, Demo.self,
                      Steal.self, AttackCommand.self, CampaignCommand.self]
    )

    static func main() {
        // Before anything touches BLAS: move to OpenBLAS's fast kernel where the CPU has one.
        BLASKernel.ensureFastKernel()
        // Line-buffered stdout, so result lines interleave sensibly with progress on stderr.
        setvbuf(stdout, nil, _IOLBF, 0)
        main(nil)
    }
}

/// Threads for BLAS and for the lab's own loops.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Worker threads for products and kernels (default: all cores).")
    var threads: Int?

    func validate() throws {
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1 (got \(t))") }
    }

    func apply() {
        Parallel.workers = threads ?? ProcessInfoCores.active
        BLAS.useSingleThreadedBLAS()
    }
}
