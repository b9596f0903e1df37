// The `teacher` kind: train a teacher (or load it from the cache) from corpus + model + training, and report
// how well it learned its corpus — validation and test loss, perplexity, and for Markov sources the gap to
// the exact entropy rate. Not an attack: nothing queries the teacher through an API.
import Foundation
import LabCore
import LabData
import LabModel

public enum TeacherKind: ExperimentKind {
    public typealias Settings = NoSettings

    /// A resolved teacher cell: the spec with the cell's seed as its training seed.
    public struct Resolved: Encodable {
        public var teacher: TeacherSpec
    }

    public static let name = "teacher"
    public static let summary = "train (or load from the cache) a teacher; loss, perplexity and gap to the entropy rate"
    public static let version = 1
    public static let reads: [SharedSection] = [.teacher]
    public static let settingsKeys: [String] = []
    public static let seedMeaning =
        "the training seed (initialisation and batch order); the corpus keeps its own `teacher.corpus.seed`, so every seed sees the same data"
    public static let outputs = [
        OutputDoc("validation_loss", .metric, "mean next-token cross-entropy on the validation split, nats/token"),
        OutputDoc("test_loss", .metric, "mean next-token cross-entropy on the test split, nats/token"),
        OutputDoc("test_perplexity", .metric, "exp(test_loss)"),
        OutputDoc(
            "entropy_rate", .metric, "the source's exact entropy rate, nats/token (Markov corpora; null otherwise)"),
        OutputDoc(
            "gap_to_entropy_rate", .metric, "(test_loss − entropy_rate) / entropy_rate; 0.03 is 3% above the floor"),
        OutputDoc("final_train_loss", .metric, "training loss at the last step, nats/token"),
        OutputDoc(
            "exact_match", .metric, "greedy exact-match accuracy on test problems (tasks corpora; null otherwise)"),
        OutputDoc("parameters", .metric, "number of model parameters (tied unembedding counted once)"),
        OutputDoc(
            "test_bits_per_byte", .metric,
            "test_loss in bits per UTF-8 byte of the test text (text corpora only): comparable across tokenizers",
            onlyWhenReported: true),
        OutputDoc("training_flops", .cost, "training FLOPs, 6N + 12·L·C·T per token"),
        OutputDoc("training_tokens", .cost, "tokens processed in training: steps × batch × sequence length"),
    ]

    public static func resolve(_ cell: CellInput<NoSettings>, in context: ValidationContext) throws -> Resolved {
        var teacher = try cell.requireTeacher()
        if cell.isWritten(["teacher", "training", "seed"]) {
            throw SpecIssue(
                ["teacher", "training", "seed"], "is set, but the teacher kind takes its training seed from `seeds`",
                fix: "remove it and list the seeds under `seeds:`", atKey: true)
        }
        teacher.training.seed = cell.seed
        _ = try context.validate(teacher)
        return Resolved(teacher: teacher)
    }

    public static func run(_ cell: Resolved, in context: RunContext) throws -> CellResult {
        let trained = try context.teacher(cell.teacher)
        let validation = try trained.model.evaluate(on: trained.corpus, split: .validation)
        let test = try trained.model.evaluate(on: trained.corpus, split: .test)
        let r = trained.record
        var metrics: [CellResult.Entry] = [
            .init("validation_loss", validation.loss),
            .init("test_loss", test.loss),
            .init("test_perplexity", test.perplexity),
            .init("entropy_rate", test.entropyRate),
            .init("gap_to_entropy_rate", test.relativeGapToEntropyRate),
            .init("final_train_loss", r.finalTrainLoss),
            .init("exact_match", test.exactMatch),
            .init("parameters", Double(r.parameters)),
        ]
        // Only text corpora have it, so the other kinds' cells keep exactly the metrics they had.
        if let bytesPerToken = trained.corpus.bytesPerToken(.test) {
            metrics.append(.init("test_bits_per_byte", test.loss / log(2) / bytesPerToken))
        }
        return CellResult(
            metrics: metrics,
            costs: [
                .init("training_flops", r.trainingFlops),
                .init("training_tokens", Double(r.trainingTokens)),
            ])
    }
}
