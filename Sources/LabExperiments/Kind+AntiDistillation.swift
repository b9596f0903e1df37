// The `anti_distillation` kind: a teacher that defends itself against distillation — the nasty teacher (Ma et
// al. 2021) or antidistillation sampling (Savani et al. 2025) — against students distilled from it: the
// teacher's own quality beside the students' loss, accuracy and agreement. The defences are LabDefences'
// (NastyTeacher, AntidistillationProxy, AntidistillationSampling) and the students LabAttacks'
// (AntiDistillationTrial); this file only reads the section and wires them to a cell.
import Foundation
import LabAPI
import LabAttacks
import LabCore
import LabData
import LabDefences
import LabModel

public enum AntiDistillationKind: ExperimentKind {
    /// What the teacher does to defend itself.
    public enum TeacherDefence: Encodable, Equatable {
        /// The normally trained teacher, sampled as it is.
        case none
        /// Ma et al. 2021: a teacher trained from scratch on CE − ω·τ²·KL(adversary/τ ‖ teacher/τ), the
        /// adversary being the normal teacher. ω `weight`, τ `temperature`; `steps` of training (nil: the
        /// normal teacher's schedule, as in the paper).
        case nastyTeacher(weight: Double, temperature: Double, steps: Int?)
        /// Savani et al. 2025: the normal teacher sampled from softmax(log p/τ + λ·b), b a proxy student's
        /// finite-difference penalty. λ `lambda`, τ `temperature`, ε `epsilon`.
        case sampling(lambda: Double, temperature: Double, epsilon: Double)

        static let names = ["none", "nasty_teacher", "antidistillation"]

        var name: String {
            switch self {
            case .none: return "none"
            case .nastyTeacher: return "nasty_teacher"
            case .sampling: return "antidistillation"
            }
        }

        enum NastyKeys: String, CodingKey { case weight, temperature, steps }
        enum SamplingKeys: String, CodingKey { case lambda, temperature, epsilon }

        /// `none`, a bare name (its defaults), or `{name: {parameter: value}}` as a defence stage is written.
        init(from decoder: Decoder, path: [String]) throws {
            if let c = try? decoder.singleValueContainer(), let name = try? c.decode(String.self) {
                try self.init(name: name, path: path, parameters: nil)
                return
            }
            let c = try decoder.container(keyedBy: PathKey.self)
            guard c.allKeys.count == 1, let key = c.allKeys.first else {
                throw SpecIssue(
                    path, "a defence is a name or a mapping with one key (the name); got \(c.allKeys.count) keys",
                    fix: "write e.g. `{nasty_teacher: {weight: 0.004}}`")
            }
            try self.init(
                name: key.stringValue, path: path,
                parameters: c.decodeNil(forKey: key) ? nil : try c.superDecoder(forKey: key))
        }

        init(name: String, path: [String], parameters: Decoder?) throws {
            switch name {
            case "none":
                self = .none
            case "nasty_teacher":
                let c = try parameters?.container(keyedBy: NastyKeys.self)
                let weight = try c?.decodeIfPresent(Double.self, forKey: .weight) ?? 0.004
                let tau = try c?.decodeIfPresent(Double.self, forKey: .temperature) ?? 4
                let steps = try c?.decodeIfPresent(Int.self, forKey: .steps)
                if let steps, !TeacherSpec.Limits.steps.contains(steps) {
                    throw SpecIssue(path + [name, "steps"], "is \(steps); allowed range 1...10000000")
                }
                do { _ = try NastyTeacherObjective(temperature: tau, weight: weight) } catch let LabError.invalidConfig(
                    key, message)
                {
                    throw SpecIssue(path + [name, String(key.split(separator: ".").last ?? "")], message)
                }
                self = .nastyTeacher(weight: weight, temperature: tau, steps: steps)
            case "antidistillation":
                let c = try parameters?.container(keyedBy: SamplingKeys.self)
                let lambda = try c?.decodeIfPresent(Double.self, forKey: .lambda) ?? 1
                let tau = try c?.decodeIfPresent(Double.self, forKey: .temperature) ?? 1
                let epsilon = try c?.decodeIfPresent(Double.self, forKey: .epsilon) ?? 0.01
                guard lambda.isFinite else {
                    throw SpecIssue(
                        path + [name, "lambda"], "is \(lambda); must be a finite number (0 turns the penalty off)")
                }
                guard tau > 0, tau.isFinite else {
                    throw SpecIssue(
                        path + [name, "temperature"], "is \(tau); allowed range (0, ∞) (1 leaves the teacher unchanged)"
                    )
                }
                guard epsilon > 0, epsilon.isFinite else {
                    throw SpecIssue(path + [name, "epsilon"], "is \(epsilon); allowed range (0, ∞) (e.g. 0.01)")
                }
                self = .sampling(lambda: lambda, temperature: tau, epsilon: epsilon)
            default:
                throw SpecIssue(
                    path, "unknown defence '\(name)'",
                    fix: EditDistance.hint(for: name, among: Self.names, noun: "defences"))
            }
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: PathKey.self)
            switch self {
            case .none:
                try c.encode([String: Double](), forKey: PathKey(stringValue: name))
            case let .nastyTeacher(weight, tau, steps):
                var parameters = ["weight": weight, "temperature": tau]
                if let steps { parameters["steps"] = Double(steps) }
                try c.encode(parameters, forKey: PathKey(stringValue: name))
            case let .sampling(lambda, tau, epsilon):
                try c.encode(
                    ["lambda": lambda, "temperature": tau, "epsilon": epsilon], forKey: PathKey(stringValue: name))
            }
        }
    }

    /// The text the teacher serves: completions of prompts cut from the validation split.
    public struct Texts: Encodable, Equatable {
        public var prompts = 100
        public var promptLength = 4
        public var completionTokens = 56

        enum CodingKeys: String, CodingKey {
            case prompts, promptLength = "prompt_length", completionTokens = "completion_tokens"
        }
    }

    /// `anti_distillation:` — the defence, the served text, the proxy (antidistillation sampling), the students.
    public struct Settings: Decodable {
        public var defence: TeacherDefence = .none
        public var texts = Texts()
        public var proxy = SmallNetwork(
            contextLength: 16, width: 16, layers: 1, heads: 2, steps: 150, batchSize: 8, learningRate: 0.01)
        /// Validation tokens the proxy's downstream loss ℓ is measured on.
        public var targetTokens = 2048
        public var student = SmallNetwork()
        /// τ of the soft-label student; nil: the nasty teacher's τ, else 4.
        public var distillationTemperature: Double?

        enum Keys: String, CodingKey { case antiDistillation = "anti_distillation" }
        enum SectionKeys: String, CodingKey {
            case defence, texts, proxy, targetTokens = "target_tokens", student, distillationTemperature =
                "distillation_temperature"
        }

        public init(from decoder: Decoder) throws {
            let top = try decoder.container(keyedBy: Keys.self)
            guard top.contains(.antiDistillation) else { return }
            let s = try top.nestedContainer(keyedBy: SectionKeys.self, forKey: .antiDistillation)
            let base = ["anti_distillation"]
            if s.contains(.defence) {
                defence = try TeacherDefence(from: try s.superDecoder(forKey: .defence), path: base + ["defence"])
            }
            if s.contains(.texts) {
                let t = try s.nestedContainer(keyedBy: Texts.CodingKeys.self, forKey: .texts)
                texts.prompts = try t.decodeIfPresent(Int.self, forKey: .prompts) ?? texts.prompts
                texts.promptLength = try t.decodeIfPresent(Int.self, forKey: .promptLength) ?? texts.promptLength
                texts.completionTokens =
                    try t.decodeIfPresent(Int.self, forKey: .completionTokens) ?? texts.completionTokens
            }
            if s.contains(.proxy) { try proxy.decode(try s.nestedContainer(keyedBy: PathKey.self, forKey: .proxy)) }
            if s.contains(.student) {
                try student.decode(try s.nestedContainer(keyedBy: PathKey.self, forKey: .student))
            }
            targetTokens = try s.decodeIfPresent(Int.self, forKey: .targetTokens) ?? targetTokens
            distillationTemperature = try s.decodeIfPresent(Double.self, forKey: .distillationTemperature)
        }
    }

    public struct Resolved: Encodable {
        public var teacher: TeacherSpec
        public var defence: TeacherDefence
        public var texts: Texts
        /// Present for antidistillation sampling only (it is what the penalty reads).
        public var proxy: SmallNetwork?
        public var targetTokens: Int?
        public var student: SmallNetwork
        /// τ of the soft-label student; nil where no soft-label student is trained (antidistillation sampling
        /// acts on sampled text, its threat model).
        public var distillationTemperature: Double?
        public var seed: UInt64

        enum CodingKeys: String, CodingKey {
            case teacher, defence, texts, proxy, targetTokens = "target_tokens", student, distillationTemperature =
                "distillation_temperature", seed
        }
    }

    public static let name = "anti_distillation"
    public static let summary =
        "a teacher's own quality against its distilled students' (nasty teacher, antidistillation sampling)"
    public static let version = 1
    public static let reads: [SharedSection] = [.teacher]
    public static let settingsKeys = ["anti_distillation"]
    public static let seedMeaning =
        "the nasty teacher's and the proxy's training, the served text's prompts and sampling, and the students' initialisation and batches; the normal teacher is trained with `teacher.training.seed`"
    public static let outputs = [
        OutputDoc(
            "teacher_test_loss", .metric,
            "the served teacher's next-token cross-entropy on the test split, nats (the nasty teacher's own weights for nasty_teacher)"
        ),
        OutputDoc("teacher_test_accuracy", .metric, "the served teacher's top-1 accuracy on the test split"),
        OutputDoc(
            "text_source_nll", .metric,
            "the true Markov source's mean NLL of the served completions, nats/token, probabilities floored at 1e-12 (Markov corpora; null otherwise)"
        ),
        OutputDoc("text_teacher_nll", .metric, "the normal teacher's mean NLL of the served completions, nats/token"),
        OutputDoc(
            "soft_student_loss", .metric,
            "test cross-entropy of a student distilled on the served teacher's soft labels at τ (null for antidistillation sampling)"
        ),
        OutputDoc("soft_student_accuracy", .metric, "that student's top-1 accuracy on the test split"),
        OutputDoc(
            "soft_student_agreement", .metric,
            "that student's top-1 agreement with the normal teacher on the test split"),
        OutputDoc("text_student_loss", .metric, "test cross-entropy of a student trained on the served completions"),
        OutputDoc("text_student_accuracy", .metric, "that student's top-1 accuracy on the test split"),
        OutputDoc(
            "text_student_agreement", .metric,
            "that student's top-1 agreement with the normal teacher on the test split"),
        OutputDoc("entropy_rate", .metric, "the source's entropy rate, nats/token (Markov corpora)"),
        OutputDoc("sampled_tokens", .cost, "completion tokens the teacher served"),
        OutputDoc("student_tokens", .cost, "tokens each student trained on: steps × batch × context"),
    ]

    public static func resolve(_ cell: CellInput<Settings>, in context: ValidationContext) throws -> Resolved {
        let teacher = try cell.requireTeacher()
        let probe = try context.validate(teacher)
        let T = teacher.model.contextLength
        let s = cell.settings
        let base = ["anti_distillation"]
        try s.student.check(base + ["student"], maxContext: T)
        let texts = s.texts
        guard (1...100_000).contains(texts.prompts) else {
            throw SpecIssue(base + ["texts", "prompts"], "is \(texts.prompts); allowed range 1...100000")
        }
        guard (1...T).contains(texts.promptLength) else {
            throw SpecIssue(
                base + ["texts", "prompt_length"],
                "is \(texts.promptLength); allowed range 1...\(T) (the teacher's context_length)")
        }
        guard texts.completionTokens >= 1, texts.completionTokens <= T - texts.promptLength else {
            throw SpecIssue(
                base + ["texts", "completion_tokens"],
                "is \(texts.completionTokens); allowed range 1...\(max(1, T - texts.promptLength)) (prompt_length + completion_tokens ≤ context_length \(T))"
            )
        }
        if let validation = probe.splitTokens[.validation], validation <= texts.promptLength {
            throw SpecIssue(
                ["teacher", "corpus", "validation_tokens"],
                "is \(validation); the prompts are cut from it and need more than \(texts.promptLength) tokens")
        }
        if let test = probe.splitTokens[.test], test <= s.student.contextLength {
            throw SpecIssue(
                ["teacher", "corpus", "test_tokens"],
                "is \(test); the students are evaluated on windows of \(s.student.contextLength + 1) tokens")
        }
        if let train = probe.splitTokens[.train], train <= s.student.contextLength {
            throw SpecIssue(
                ["teacher", "corpus", "train_tokens"],
                "is \(train); the soft-label student reads windows of \(s.student.contextLength + 1) tokens")
        }
        var proxy: SmallNetwork?, targetTokens: Int?, tau: Double?
        switch s.defence {
        case .none:
            tau = s.distillationTemperature ?? 4
        case let .nastyTeacher(_, nastyTau, _):
            tau = s.distillationTemperature ?? nastyTau
        case .sampling:
            try s.proxy.check(base + ["proxy"], maxContext: T)
            guard s.targetTokens >= 2 else {
                throw SpecIssue(base + ["target_tokens"], "is \(s.targetTokens); allowed range 2 or more")
            }
            proxy = s.proxy
            targetTokens = s.targetTokens
        }
        if let tau, !(tau > 0 && tau.isFinite) {
            throw SpecIssue(base + ["distillation_temperature"], "is \(tau); allowed range (0, ∞)")
        }
        return Resolved(
            teacher: teacher, defence: s.defence, texts: texts, proxy: proxy, targetTokens: targetTokens,
            student: s.student,
            distillationTemperature: tau, seed: cell.seed)
    }

    public static func run(_ cell: Resolved, in context: RunContext) throws -> CellResult {
        let trained = try context.teacher(cell.teacher)
        let corpus = trained.corpus, normal = trained.model.model
        var served = normal
        var stages: [any Defence] = []
        switch cell.defence {
        case .none:
            break
        case let .nastyTeacher(weight, tau, steps):
            var training = cell.teacher.training
            training.seed = cell.seed
            training.steps = steps ?? training.steps
            training.evalInterval = 0
            let (nasty, _) = try NastyTeacher.train(
                corpus: corpus, spec: cell.teacher.corpus, adversary: normal, architecture: cell.teacher.model,
                training: training, objective: try NastyTeacherObjective(temperature: tau, weight: weight))
            served = nasty.model
        case let .sampling(lambda, tau, epsilon):
            guard let shape = cell.proxy, let count = cell.targetTokens else {
                throw LabError.message("antidistillation cell without a proxy")
            }
            // The proxy is a small model of the same corpus, trained (and cached) like a teacher.
            let proxySpec = TeacherSpec(
                corpus: cell.teacher.corpus, model: shape.architecture, training: shape.training(seed: cell.seed))
            let proxyModel = try context.teacher(proxySpec).model.model
            let target = AntidistillationSampling.windows(
                corpus.validation.prefix(count).map(Int32.init), length: shape.contextLength + 1)
            let proxy = try AntidistillationProxy(proxy: proxyModel, target: target, epsilon: epsilon)
            stages = [try AntidistillationSampling(proxy: proxy, temperature: tau, lambda: lambda)]
        }
        let texts = try AntiDistillationTrial.serve(
            served, stages: stages, prompts: cell.texts.prompts, promptLength: cell.texts.promptLength,
            completionTokens: cell.texts.completionTokens, validation: corpus.validation, seed: cell.seed)
        let p = cell.texts.promptLength
        let teacherQuality = try AntiDistillationTrial.quality(
            served, normal: normal, tokens: corpus.test, length: served.config.contextLength)

        let V = normal.config.vocabularySize
        let studentConfig = cell.student.architecture.config(vocabularySize: V)
        var soft: (loss: Double, accuracy: Double, agreement: Double)?
        if let tau = cell.distillationTemperature {
            let student = try GPT(config: studentConfig, seed: cell.seed)
            try AntiDistillationTrial.distil(
                student, from: served, tokens: corpus.train, tau: Float(tau),
                training: cell.student.training(seed: cell.seed))
            soft = try AntiDistillationTrial.quality(
                student, normal: normal, tokens: corpus.test, length: cell.student.contextLength)
        }
        let student = try GPT(config: studentConfig, seed: cell.seed)
        var batches = try BatchSampler(
            tokens: texts.flatMap { $0 }.map(Int.init), batchSize: cell.student.batchSize,
            sequenceLength: cell.student.contextLength, seed: cell.seed)
        _ = try Trainer(model: student, config: cell.student.training(seed: cell.seed)).train(data: &batches)
        let fromText = try AntiDistillationTrial.quality(
            student, normal: normal, tokens: corpus.test, length: cell.student.contextLength)

        return CellResult(
            metrics: [
                .init("teacher_test_loss", teacherQuality.loss),
                .init("teacher_test_accuracy", teacherQuality.accuracy),
                .init(
                    "text_source_nll",
                    corpus.markovSource.map { AntiDistillationTrial.sourceNLL($0, texts: texts, from: p) }),
                .init("text_teacher_nll", try AntiDistillationTrial.teacherNLL(normal, texts: texts, from: p)),
                .init("soft_student_loss", soft?.loss),
                .init("soft_student_accuracy", soft?.accuracy),
                .init("soft_student_agreement", soft?.agreement),
                .init("text_student_loss", fromText.loss),
                .init("text_student_accuracy", fromText.accuracy),
                .init("text_student_agreement", fromText.agreement),
                .init("entropy_rate", corpus.entropyRate),
            ],
            costs: [
                .init("sampled_tokens", Double(cell.texts.prompts * cell.texts.completionTokens)),
                .init(
                    "student_tokens", Double(cell.student.steps * cell.student.batchSize * cell.student.contextLength)),
            ])
    }
}
