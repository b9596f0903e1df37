// Trains a teacher on a Markov source whose entropy rate is known exactly, reports how close its held-out
// loss comes to that floor, and saves it as a checkpoint that Hugging Face `transformers` can open.
// Usage: TrainTeacher [STEPS] [OUTPUT-DIRECTORY]    (defaults: 400 steps, checkpoints/example-teacher)
import Foundation
import LabData
import LabModel

let arguments = CommandLine.arguments.dropFirst()
let steps = arguments.first.flatMap(Int.init) ?? 400
let output = URL(fileURLWithPath: arguments.dropFirst().first ?? "checkpoints/example-teacher")

do {
    let spec = CorpusSpec.markov(symbols: 16, order: 2)
    let corpus = try spec.build()
    var training = TrainingConfig()
    training.steps = steps
    training.batchSize = 16
    training.learningRate = 0.005
    training.evalInterval = 0
    let architecture = ModelArchitecture(contextLength: 32, width: 64, layers: 2, heads: 4)
    let (teacher, history) = try LanguageModel.train(
        corpus: corpus, spec: spec, architecture: architecture, training: training)
    let loss = history.finalValidationLoss.map { Double($0) } ?? .nan
    let floor = corpus.entropyRate ?? .nan
    print(
        String(
            format: "teacher: %d steps, validation loss %.4f nats/token, source entropy rate %.4f (gap %.4f)",
            steps, loss, floor, loss - floor))
    try teacher.save(to: output)
    print("saved to \(output.path) (model.safetensors, config.json, tokenizer.json)")
} catch {
    FileHandle.standardError.write(Data("TrainTeacher: \(error)\n".utf8))
    exit(1)
}
