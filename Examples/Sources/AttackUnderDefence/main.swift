// Trains a small teacher, puts it behind the API with a defence (top-5 logprobs by default), and runs one
// extraction attack: an attacker buys next-token distributions with its own prompts and distils a student,
// evaluated at each budget milestone. Prints fidelity against what was spent, beside the undefended run.
// Usage: AttackUnderDefence [DEFENCE]    (DEFENCE: a registered defence name, e.g. top_k, label_only, rounding)
import Foundation
import LabCore
import LabData
import LabModel
import LabSimulation

let defence = CommandLine.arguments.dropFirst().first ?? "top_k"

do {
    let spec = CorpusSpec.markov(symbols: 16, order: 2)
    let corpus = try spec.build()
    var training = TrainingConfig()
    training.steps = 300
    training.batchSize = 16
    training.learningRate = 0.005
    training.evalInterval = 0
    let (teacher, _) = try LanguageModel.train(
        corpus: corpus, spec: spec,
        architecture: ModelArchitecture(contextLength: 32, width: 64, layers: 2, heads: 4),
        training: training)
    let attack = AttackConfig(
        strategy: .ownCorpus(.fresh),  // or .randomTokens, .teacherBootstrap(), .active(poolFactor: 4)
        harvest: .distribution,  // or .topK(5), .echo(17), .completion(maxNewTokens: 16), .label, .logitBias(k: 5)
        student: StudentSpec(
            width: 32, layers: 1, heads: 2, loss: LossSpec("soft"), batchSize: 64, learningRate: 0.006, epochs: 2),
        budget: .queries([300, 1_000]),  // or .tokens([...]), .dollars([0.01, 0.1])
        promptLength: 1...8,
        evaluation: EvaluationSpec(prompts: 32, perplexityTokens: 1024))
    try attack.validate()
    for defences in [[], [DefenceSpec(defence)]] {
        let target = try ExtractionTarget(teacher: teacher, corpus: corpus, spec: spec, defences: defences)
        let curve = try attack.run(against: target)
        print("defences: \(curve.defences)")
        for point in curve.points {
            print(
                String(
                    format: "  %6.0f queries  $%.6f  agreement %.3f  KL(teacher‖student) %.3f",
                    point.spent, Double(point.cost.dollars.picodollars) / 1e12,
                    point.fidelity.agreement, point.fidelity.klTeacherStudent))
        }
    }
} catch {
    FileHandle.standardError.write(Data("AttackUnderDefence: \(error)\n".utf8))
    exit(1)
}
