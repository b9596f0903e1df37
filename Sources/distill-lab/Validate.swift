// `distill-lab validate FILE`: reads an experiment file and checks everything that can be checked without
// training — schema, ranges, grid, tables, plots, every cell — then prints the plan, or one located error.
import ArgumentParser
import Foundation
import LabExperiments

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Check an experiment file without running it; print its cells, or the first error with file:line:column.")

    @Argument(help: "Experiment file (YAML).") var file: String?
    @Flag(help: "List every cell with its labels and hash.") var cells = false
    @Flag(help: "List the experiment kinds, the sections they read and their metrics and costs, then exit.") var kinds =
        false

    func validate() throws {
        if !kinds && file == nil {
            throw ValidationError(
                "give an experiment file, e.g. distill-lab validate Experiments/quickstart.yaml (or --kinds)")
        }
    }

    func run() throws {
        if kinds {
            print(KindDocumentation.markdown)
            return
        }
        guard let file else { return }
        let experiment = try Experiment.load(path: file)
        print(ExperimentSummary.text(experiment))
        if cells {
            for cell in experiment.cells {
                print(
                    "  \(cell.index)\t\(cell.hash.prefix(12))\t"
                        + zip(experiment.axes, cell.labels).map { "\($0.0.name)=\($0.1)" }.joined(separator: " "))
            }
        }
    }
}
