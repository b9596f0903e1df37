// Demo+Text: the classroom view of extraction on real text — a BPE teacher on the fortunes corpus and two students
// distilled from it through the API (full distributions, labels only) continue the same held-out prompts, side by
// side. A display, not a measurement: the numbers live in results/text-extraction/.
import Foundation
import LabAPI
import LabAttacks
import LabCore
import LabData
import LabDefences
import LabModel

extension Demo {
    /// text-extraction.yaml's teacher: the fortunes corpus split 45/45/5/5, 1,024-token BPE, width 64, 800 steps.
    public static var textTeacher: TeacherSpec {
        var corpus = CorpusSpec(kind: .text)
        corpus.source = "fortunes"
        corpus.tokenizer = .bpe
        corpus.maxVocabulary = 1024
        (corpus.attackerFraction, corpus.validationFraction, corpus.testFraction) = (0.45, 0.05, 0.05)
        var training = TrainingConfig()
        (training.steps, training.batchSize, training.learningRate, training.warmupSteps, training.evalInterval) = (
            800, 16, 0.003, 50, 0
        )
        return TeacherSpec(
            corpus: corpus, model: ModelArchitecture(contextLength: 64, width: 64, layers: 2, heads: 4),
            training: training)
    }

    /// Trains (or loads) the teacher, distils two students with `queries` queries of the attacker's own text each,
    /// and returns the teacher's and the students' continuations of `prompts` held-out prompts, as text.
    public static func textContinuations(
        cache: TeacherCache, queries: Int = 1000, prompts: Int = 3, promptTokens: Int = 12,
        newTokens: Int = 40, log: @escaping (String) -> Void
    ) throws -> String {
        let context = RunContext(cache: cache, showProgress: false, log: log)
        let spec = textTeacher
        let trained = try context.teacher(spec)
        let tokenizer = trained.model.tokenizer
        var students: [(String, GPT)] = []
        for (label, defences) in [
            ("student, full distributions", [DefenceSpec]()), ("student, labels only", [DefenceSpec("label_only")]),
        ] {
            log("distilling the \(label) from \(queries) queries")
            let target = try ExtractionTarget(
                teacher: trained.model, corpus: trained.corpus, spec: spec.corpus, defences: defences,
                teacherTrainingTokens: spec.trainingTokens)
            var config = AttackConfig(
                strategy: .ownCorpus(.split), harvest: .distribution,
                student: StudentSpec(
                    width: 64, layers: 2, heads: 4, loss: LossSpec("soft"), batchSize: 32, learningRate: 0.003,
                    epochs: 4))
            (config.student.minSteps, config.student.maxSteps) = (300, 1000)
            config.budget = .queries([queries])
            config.promptLength = 8...32
            config.evaluation = EvaluationSpec(prompts: 16, length: 32, perplexityTokens: 2048)
            let attack = Attack(config: config, target: target)
            _ = try attack.run()
            guard let student = attack.student else { throw LabError.message("the attack trained no student") }
            students.append((label, student))
        }
        // Held-out prompts: the first windows of the test part, which neither the teacher nor the attacker saw.
        let test = trained.corpus.test.map(Int32.init)
        let models: [(String, GPT)] = [("teacher", trained.model.model)] + students
        var out =
            "Continuations of held-out fortunes (temperature 0.7, \(newTokens) tokens; teacher: \(trained.corpus.name), students after \(queries) queries)\n"
        for p in 0..<prompts {
            let start = p * 997 % max(1, test.count - promptTokens)
            let prompt = Array(test[start..<(start + promptTokens)])
            out += "\n── prompt: \(tokenizer.decode(prompt.map(Int.init)).debugDescription)\n"
            for (name, model) in models {
                let text = try Sampler(model: model).generate(
                    prompts: [prompt], maxNewTokens: newTokens,
                    options: SamplingOptions(temperature: 0.7), seed: UInt64(p))[0]
                out +=
                    "   \(name.padding(toLength: 28, withPad: " ", startingAt: 0)) \(tokenizer.decode(text.map(Int.init)).debugDescription)\n"
            }
        }
        return out
    }
}
