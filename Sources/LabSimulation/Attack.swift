// Attack: one extraction run — rounds of prompts from the strategy, bought through the defended API in
// the harvest mode, under a stop line at each budget milestone; at every milestone the student is
// trained on the harvest so far and evaluated, which yields the anytime fidelity-versus-cost curve.
// Not a sweep over seeds or defences (the experiment runner does that) and not the metrics' arithmetic.
import Foundation
import LabCore
import LabModel

public final class Attack {
    public let config: AttackConfig
    public let target: ExtractionTarget
    /// The label of a progress bar on standard error; nil runs silently. The bar counts training steps,
    /// where the time goes: their total is estimated from the first round's records per unit of spend.
    public var progressLabel: String?
    /// Called after each milestone's point is measured (for a CLI to print rows as they come).
    public var onPoint: ((CurvePoint) -> Void)?

    public private(set) var harvest = Harvest()
    /// The API the attack calls, with its ledger (open after `run` starts).
    public private(set) var api: DefendedAPI?
    /// The student as trained so far.
    public private(set) var student: GPT?

    public static let account = "attacker"

    public init(config: AttackConfig, target: ExtractionTarget) {
        self.config = config
        self.target = target
    }

    public func run() throws -> AnytimeCurve {
        try config.validate()
        let teacher = target.teacher
        let V = teacher.vocabularySize, T = teacher.contextLength
        let environment = AttackEnvironment(vocabularySize: V, contextLength: T, policy: target.policy)
        let strategy = try StrategyRegistry.make(config.strategy)
        let mode = try HarvestRegistry.make(config.harvest, environment: environment)
        let loss = try DistillationLoss(config.student.loss)
        let lengths = config.promptLength
        let roomForPrompt = mode.maxPromptLength(contextLength: T)
        guard lengths.upperBound <= roomForPrompt else {
            throw LabError.invalidConfig(key: "prompt_length", message: "reaches \(lengths.upperBound) tokens; harvest \(mode.name) leaves room for at most \(roomForPrompt) in the teacher's context of \(T)")
        }
        if config.budget.unit == .dollars, target.prices.cost(inputTokens: 1, outputTokens: 1) == .zero {
            throw LabError.invalidConfig(key: "budget.unit", message: "is dollars but the API's prices are zero; budget in queries or tokens")
        }
        if mode is EchoHarvest, lengths.upperBound < 2 {
            throw LabError.invalidConfig(key: "prompt_length", message: "echo reports positions after the first token; prompts need at least 2 tokens")
        }

        // The student: its own architecture, the teacher's vocabulary, room for the longest text it reads.
        let studentConfig = try config.student.config(vocabularySize: V, teacherContext: T, teacher: target.teacherConfig)
        let evalLength = config.evaluation.length ?? lengths.upperBound
        let longestText = max(lengths.upperBound + ((mode as? CompletionHarvest).map { $0.maxNewTokens - 1 } ?? 0), evalLength)
        guard studentConfig.contextLength >= longestText else {
            throw LabError.invalidConfig(key: "student.context_length", message: "is \(studentConfig.contextLength); the student must read texts of \(longestText) tokens (longest prompt, completion, evaluation window)")
        }
        var seeds = LabRNG(seed: config.seed, stream: "attack")
        let student = try GPT(config: studentConfig, seed: config.student.seed ?? seeds.next())
        self.student = student
        let distiller = Distiller(student: student, loss: loss, batchSize: config.student.batchSize, learningRate: config.student.learningRate,
                                  weightDecay: config.student.weightDecay, seed: seeds.next())

        // The lab's yardstick, computed once and never charged to the attacker.
        let data = try target.attackData(windows: config.evaluation.prompts, length: evalLength)
        let evaluator = try FidelityEvaluator(teacher: teacher, data: data, perplexityTokens: config.evaluation.perplexityTokens,
                                              taskExamples: config.evaluation.taskExamples)

        let ledger = Ledger(prices: target.prices)
        try ledger.open(Self.account, budget: config.budget.ledgerBudget)
        let api = DefendedAPI(teacher: teacher, policy: target.policy, defences: target.defences, ledger: ledger, seed: target.apiSeed)
        self.api = api
        let measures = config.budget.measures
        let client = AttackerClient(api: api, account: Self.account, unit: config.budget.unit, cap: measures[0])
        let strategySeed = seeds.next()
        try strategy.prepare(StrategySetup(vocabularySize: V, lengths: lengths, seed: strategySeed,
                                           text: { source in try data.attackerText(source, strategySeed) }))

        harvest = Harvest()
        var reporter: ProgressReporter?
        var status = ""
        func report() {
            if reporter == nil, let label = progressLabel, client.spentMeasure > 0 {
                let perMeasure = Double(harvest.records.count) / Double(client.spentMeasure)
                var total = measures.reduce(0) { $0 + self.segmentSteps(records: Int(perMeasure * Double($1))) }
                if strategy.isAdaptive { total += Int(config.student.epochs * perMeasure * Double(measures.last!) / Double(config.student.batchSize)) }
                reporter = ProgressReporter(total: max(1, total), label: label)
            }
            reporter?.update(distiller.steps, detail: "\(config.budget.unit.show(client.spentMeasure))\(status)")
        }
        var studentInferenceFlops = 0.0
        var points: [CurvePoint] = []
        var attackSeconds = 0.0
        let spec = config.student
        for (i, milestone) in measures.enumerated() {
            let segmentStart = Date()
            client.cap = milestone
            // Harvest up to the milestone, a round at a time.
            while true {
                let before = client.spentMeasure
                let round = StrategyRound(client: client, student: student, coverage: mode.coverage)
                let prompts = try strategy.prompts(count: config.roundSize, round: round)
                harvest.addOverhead(round.overhead)
                studentInferenceFlops += round.studentFlops
                let groups = prompts.map { mode.queries(for: $0, vocabularySize: V) }
                let answers = try client.serve(groups)
                let records = zip(prompts, answers).map { mode.record(prompt: $0, responses: $1, vocabularySize: V) }
                for r in records { harvest.append(r) }
                strategy.observe(records)
                report()
                let exhausted = prompts.count < config.roundSize || answers.count < prompts.count || client.spentMeasure == before
                if exhausted { break }
                // An adaptive strategy ranks the next round with a student that has seen this one.
                if strategy.isAdaptive, !records.isEmpty {
                    let steps = Int((spec.epochs * Double(records.count) / Double(spec.batchSize)).rounded(.up))
                    try distiller.train(on: harvest.trainable, steps: steps, learningRate: { _ in spec.learningRate }, onStep: { _ in report() })
                }
            }
            // Train on everything bought so far: warm-up, then a cosine to a tenth of the peak.
            let trainable = harvest.trainable
            if !trainable.isEmpty {
                let steps = segmentSteps(records: trainable.count)
                let warmup = min(spec.warmupSteps, steps / 10)
                var schedule = TrainingConfig()
                schedule.steps = steps
                schedule.warmupSteps = warmup
                schedule.learningRate = spec.learningRate
                schedule.minLearningRateFraction = 0.1
                try distiller.train(on: trainable, steps: steps, learningRate: schedule.learningRate(at:), onStep: { loss in
                    status = String(format: " · milestone %d/%d · loss %.4f", i + 1, measures.count, loss) + (points.last.map { String(format: " · agreement %.4f", $0.fidelity.agreement) } ?? "")
                    report()
                })
            }
            attackSeconds += Date().timeIntervalSince(segmentStart)
            let fidelity = try evaluator.evaluate(student: student)
            let usage = client.spent
            let cost = AttackCost(usage: usage, studentTrainingFlops: distiller.trainingFlops, studentInferenceFlops: studentInferenceFlops,
                                  wallSeconds: attackSeconds, teacherTrainingFlops: target.teacherTrainingFlops,
                                  computeDollarsPerExaflop: target.computeDollarsPerExaflop)
            let point = CurvePoint(milestone: config.budget.milestones[i], spent: show(measure: client.spentMeasure), records: harvest.records.count,
                                   targets: harvest.targetCount, trainingSteps: distiller.steps, fidelity: fidelity, cost: cost)
            points.append(point)
            onPoint?(point)
        }
        reporter?.finish(detail: points.last.map { String(format: "agreement %.4f", $0.fidelity.agreement) } ?? "")
        return AnytimeCurve(attack: config, strategy: strategy.summary, harvest: mode.summary, loss: loss.summary, defences: target.defences.summary,
                            studentWidth: studentConfig.width, studentLayers: studentConfig.layers, studentParameters: studentConfig.parameterCount,
                            teacher: evaluator.reference, points: points)
    }

    /// Steps of one milestone's training on `records` records: `epochs` passes, within [min_steps, max_steps].
    func segmentSteps(records: Int) -> Int {
        let s = config.student
        return min(s.maxSteps, max(s.minSteps, Int((s.epochs * Double(records) / Double(s.batchSize)).rounded(.up))))
    }

    /// A measure in the budget's unit as the curve reports it: dollars as dollars.
    func show(measure: Int64) -> Double {
        config.budget.unit == .dollars ? Double(measure) / 1e12 : Double(measure)
    }
}

extension AttackConfig {
    /// Runs this attack against `target` and returns its anytime curve.
    public func run(against target: ExtractionTarget, progressLabel: String? = nil) throws -> AnytimeCurve {
        let attack = Attack(config: self, target: target)
        attack.progressLabel = progressLabel
        return try attack.run()
    }
}
