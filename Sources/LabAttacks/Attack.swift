// Attack: one extraction run — rounds of prompts from the strategy, bought through the defended API in
// the harvest mode, under a stop line at each budget milestone; at every milestone the student is
// trained on the harvest so far and evaluated, which yields the anytime fidelity-versus-cost curve.
// Not a sweep over seeds or defences (the experiment runner does that) and not the metrics' arithmetic.
import Foundation
import LabAPI
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
        let run = try prepare()
        var points: [CurvePoint] = []
        for (i, milestone) in run.measures.enumerated() {
            let segmentStart = Date()
            run.client.cap = milestone
            try harvest(run)
            try train(run, milestone: i, points: points)
            run.attackSeconds += Date().timeIntervalSince(segmentStart)
            let point = try measure(run, milestone: config.budget.milestones[i])
            points.append(point)
            onPoint?(point)
        }
        run.reporter?.finish(detail: points.last.map { String(format: "agreement %.4f", $0.fidelity.agreement) } ?? "")
        let c = run.distiller.student.config
        return AnytimeCurve(
            attack: config, strategy: run.strategy.summary, harvest: run.mode.summary, loss: run.distiller.loss.summary,
            defences: target.defences.summary, studentWidth: c.width, studentLayers: c.layers,
            studentParameters: c.parameterCount,
            teacher: run.evaluator.reference, points: points, plan: run.mode.chosenPlan)
    }

    /// Everything one run holds while it goes.
    final class Run {
        let strategy: any QueryStrategy
        let mode: any HarvestMode
        let distiller: Distiller
        let evaluator: FidelityEvaluator
        let client: AttackerClient
        /// The milestones in the unit's integer measure.
        let measures: [Int64]
        var studentInferenceFlops = 0.0
        var attackSeconds = 0.0
        var reporter: ProgressReporter?
        /// The progress bar's detail after the spend: milestone, loss, last agreement.
        var status = ""

        init(
            strategy: any QueryStrategy, mode: any HarvestMode, distiller: Distiller, evaluator: FidelityEvaluator,
            client: AttackerClient, measures: [Int64]
        ) {
            self.strategy = strategy
            self.mode = mode
            self.distiller = distiller
            self.evaluator = evaluator
            self.client = client
            self.measures = measures
        }
    }

    /// Validates everything against the teacher before anything is spent, then builds the parts, the
    /// student, the evaluator (which scores the teacher once), the API with its ledger, and the client.
    func prepare() throws -> Run {
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
            throw LabError.invalidConfig(
                key: "prompt_length",
                message:
                    "reaches \(lengths.upperBound) tokens; harvest \(mode.name) leaves room for at most \(roomForPrompt) in the teacher's context of \(T)"
            )
        }
        if config.budget.unit == .dollars, target.prices.cost(inputTokens: 1, outputTokens: 1) == .zero {
            throw LabError.invalidConfig(
                key: "budget.unit", message: "is dollars but the API's prices are zero; budget in queries or tokens")
        }
        if mode is EchoHarvest, lengths.upperBound < 2 {
            throw LabError.invalidConfig(
                key: "prompt_length",
                message: "echo reports positions after the first token; prompts need at least 2 tokens")
        }

        // The student: its own architecture, the teacher's vocabulary, room for the longest text it reads.
        let studentConfig = try config.student.config(
            vocabularySize: V, teacherContext: T, teacher: target.teacherConfig)
        let evalLength = config.evaluation.length ?? lengths.upperBound
        let longestText = max(
            lengths.upperBound
                + ((mode as? CompletionHarvest).map { $0.maxNewTokens - 1 }
                    ?? (mode as? AdaptiveHarvest).map { $0.completionTokens - 1 } ?? 0),
            evalLength)
        guard studentConfig.contextLength >= longestText else {
            throw LabError.invalidConfig(
                key: "student.context_length",
                message:
                    "is \(studentConfig.contextLength); the student must read texts of \(longestText) tokens (longest prompt, completion, evaluation window)"
            )
        }
        var seeds = LabRNG(seed: config.seed, stream: "attack")
        let student = try GPT(config: studentConfig, seed: config.student.seed ?? seeds.next())
        self.student = student
        let distiller = Distiller(
            student: student, loss: loss, batchSize: config.student.batchSize,
            learningRate: config.student.learningRate,
            weightDecay: config.student.weightDecay, seed: seeds.next())

        // The lab's yardstick, computed once and never charged to the attacker.
        let data = try target.attackData(windows: config.evaluation.prompts, length: evalLength)
        let evaluator = try FidelityEvaluator(
            teacher: teacher, data: data, perplexityTokens: config.evaluation.perplexityTokens,
            taskExamples: config.evaluation.taskExamples)

        let ledger = Ledger(prices: target.prices)
        try ledger.open(Self.account, budget: config.budget.ledgerBudget)
        let api = DefendedAPI(
            teacher: target.servedTeacher ?? teacher, policy: target.policy, defences: target.defences, ledger: ledger,
            seed: target.apiSeed)
        self.api = api
        let measures = config.budget.measures
        let client = AttackerClient(api: api, account: Self.account, unit: config.budget.unit, cap: measures[0])
        let strategySeed = seeds.next()
        try strategy.prepare(
            StrategySetup(
                vocabularySize: V, lengths: lengths, seed: strategySeed,
                text: { source in try data.attackerText(source, strategySeed) }))
        harvest = Harvest()
        return Run(
            strategy: strategy, mode: mode, distiller: distiller, evaluator: evaluator, client: client,
            measures: measures)
    }

    /// Buys rounds of prompts until the strategy or the stop line says no more; an adaptive strategy's
    /// student is trained after each round, so the next round is ranked by a student that has seen it.
    func harvest(_ run: Run) throws {
        let V = target.teacher.vocabularySize, spec = config.student
        while true {
            let before = run.client.spentMeasure
            let round = StrategyRound(client: run.client, student: run.distiller.student, coverage: run.mode.coverage)
            let prompts = try run.strategy.prompts(count: config.roundSize, round: round)
            harvest.addOverhead(round.overhead)
            run.studentInferenceFlops += round.studentFlops
            let answers = try run.client.serve(prompts.map { run.mode.queries(for: $0, vocabularySize: V) })
            let records = zip(prompts, answers).map { run.mode.record(prompt: $0, responses: $1, vocabularySize: V) }
            for r in records { harvest.append(r) }
            run.strategy.observe(records)
            report(run)
            if prompts.count < config.roundSize || answers.count < prompts.count || run.client.spentMeasure == before {
                return
            }
            if run.strategy.isAdaptive, !records.isEmpty {
                let steps = Int((spec.epochs * Double(records.count) / Double(spec.batchSize)).rounded(.up))
                try run.distiller.train(
                    on: harvest.trainable, steps: steps, learningRate: { _ in spec.learningRate },
                    onStep: { _ in self.report(run) })
            }
        }
    }

    /// Trains on everything bought so far: `segmentSteps` steps, warm-up then a cosine to a tenth of the peak.
    func train(_ run: Run, milestone i: Int, points: [CurvePoint]) throws {
        let trainable = harvest.trainable
        guard !trainable.isEmpty else { return }
        var schedule = TrainingConfig()
        schedule.steps = segmentSteps(records: trainable.count)
        schedule.warmupSteps = min(config.student.warmupSteps, schedule.steps / 10)
        schedule.learningRate = config.student.learningRate
        schedule.minLearningRateFraction = 0.1
        let agreement = points.last.map { String(format: " · agreement %.4f", $0.fidelity.agreement) } ?? ""
        try run.distiller.train(
            on: trainable, steps: schedule.steps, learningRate: schedule.learningRate(at:),
            onStep: { loss in
                run.status =
                    String(format: " · milestone %d/%d · loss %.4f", i + 1, run.measures.count, loss) + agreement
                self.report(run)
            })
    }

    /// The student's fidelity and the attack's cumulative cost now.
    func measure(_ run: Run, milestone: Double) throws -> CurvePoint {
        let fidelity = try run.evaluator.evaluate(student: run.distiller.student)
        let cost = AttackCost(
            usage: run.client.spent, studentTrainingFlops: run.distiller.trainingFlops,
            studentInferenceFlops: run.studentInferenceFlops,
            wallSeconds: run.attackSeconds, teacherTrainingFlops: target.teacherTrainingFlops,
            computeDollarsPerExaflop: target.computeDollarsPerExaflop)
        return CurvePoint(
            milestone: milestone, spent: show(measure: run.client.spentMeasure), records: harvest.records.count,
            targets: harvest.targetCount, trainingSteps: run.distiller.steps, fidelity: fidelity, cost: cost)
    }

    /// Updates the bar, creating it once the first round shows how many records a unit of spend buys.
    func report(_ run: Run) {
        guard let label = progressLabel else { return }
        if run.reporter == nil, run.client.spentMeasure > 0 {
            let perMeasure = Double(harvest.records.count) / Double(run.client.spentMeasure)
            var total = run.measures.reduce(0) { $0 + segmentSteps(records: Int(perMeasure * Double($1))) }
            if run.strategy.isAdaptive {
                total += Int(
                    config.student.epochs * perMeasure * Double(run.measures.last!) / Double(config.student.batchSize))
            }
            run.reporter = ProgressReporter(total: max(1, total), label: label)
        }
        run.reporter?.update(
            run.distiller.steps, detail: "\(config.budget.unit.show(run.client.spentMeasure))\(run.status)")
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
