// The `safety` kind: a teacher with a safety boundary and the attacks on it — refusal and false-refusal rates of
// the aligned teacher and its classifier, boundary mapping (naive against group testing), jailbreaks past the
// model and the classifier, students that keep, filter or jailbreak-replace refusals, and the boundary-probe
// detector against honest users. It only reads YAML: LabAttacks's SafetyStudy and LabCampaigns's
// BoundaryProbeTrial compute everything.
import Foundation
import LabAttacks
import LabCampaigns
import LabCore
import LabData
import LabDefences
import LabModel

public enum SafetyKind: ExperimentKind {
    public struct Settings: Decodable {
        public var study = SafetyStudyConfig()
        public var detection = BoundaryProbeTrialConfig()

        enum Keys: String, CodingKey { case safety }
        enum SectionKeys: String, CodingKey {
            case world, teacher, policy, evaluationRequests = "evaluation_requests", mapping
            case jailbreakRequests = "jailbreak_requests", stripping, detection
        }
        enum TeacherKeys: String, CodingKey {
            case contextLength = "context_length", width, layers, heads, pretrainSteps = "pretrain_steps"
            case alignSteps = "align_steps", batchSize = "batch_size", learningRate = "learning_rate"
            case alignLearningRate = "align_learning_rate", pretrainTokens = "pretrain_tokens"
            case alignTokens = "align_tokens", classifierPrompts = "classifier_prompts"
            case classifierThreshold = "classifier_threshold"
        }
        enum PolicyKeys: String, CodingKey {
            case billRefusals = "bill_refusals", classifier, maxNewTokens = "max_new_tokens"
        }
        enum MappingKeys: String, CodingKey {
            case requests, groupSize = "group_size", accuracyTarget = "accuracy_target"
        }
        enum StrippingKeys: String, CodingKey {
            case harvestQueries = "harvest_queries", forbiddenShare = "forbidden_share", steps
            case learningRate = "learning_rate", student
        }
        enum StudentKeys: String, CodingKey { case contextLength = "context_length", width, layers, heads }
        enum DetectionKeys: String, CodingKey {
            case users, requestsPerDayMedian = "requests_per_day_median", requestsPerDaySigma = "requests_per_day_sigma"
            case horizonDays = "horizon_days", benignForbiddenShare = "benign_forbidden_share"
            case benignRate = "benign_rate", alpha, minRequests = "min_requests", nearScore = "near_score"
        }

        public init(from decoder: Decoder) throws {
            let top = try decoder.container(keyedBy: Keys.self)
            guard top.contains(.safety) else { return }
            let s = try top.nestedContainer(keyedBy: SectionKeys.self, forKey: .safety)
            study.world = try s.decodeIfPresent(SafetyWorldConfig.self, forKey: .world) ?? study.world
            study.evaluationRequests =
                try s.decodeIfPresent(Int.self, forKey: .evaluationRequests) ?? study.evaluationRequests
            study.jailbreakRequests =
                try s.decodeIfPresent(Int.self, forKey: .jailbreakRequests) ?? study.jailbreakRequests
            if s.contains(.teacher) {
                let t = try s.nestedContainer(keyedBy: TeacherKeys.self, forKey: .teacher)
                var r = study.teacher
                r.architecture.contextLength =
                    try t.decodeIfPresent(Int.self, forKey: .contextLength) ?? r.architecture.contextLength
                r.architecture.width = try t.decodeIfPresent(Int.self, forKey: .width) ?? r.architecture.width
                r.architecture.layers = try t.decodeIfPresent(Int.self, forKey: .layers) ?? r.architecture.layers
                r.architecture.heads = try t.decodeIfPresent(Int.self, forKey: .heads) ?? r.architecture.heads
                r.pretrainSteps = try t.decodeIfPresent(Int.self, forKey: .pretrainSteps) ?? r.pretrainSteps
                r.alignSteps = try t.decodeIfPresent(Int.self, forKey: .alignSteps) ?? r.alignSteps
                r.batchSize = try t.decodeIfPresent(Int.self, forKey: .batchSize) ?? r.batchSize
                r.learningRate = try t.decodeIfPresent(Float.self, forKey: .learningRate) ?? r.learningRate
                r.alignLearningRate =
                    try t.decodeIfPresent(Float.self, forKey: .alignLearningRate) ?? r.alignLearningRate
                r.pretrainTokens = try t.decodeIfPresent(Int.self, forKey: .pretrainTokens) ?? r.pretrainTokens
                r.alignTokens = try t.decodeIfPresent(Int.self, forKey: .alignTokens) ?? r.alignTokens
                r.classifierPrompts = try t.decodeIfPresent(Int.self, forKey: .classifierPrompts) ?? r.classifierPrompts
                r.classifierThreshold =
                    try t.decodeIfPresent(Double.self, forKey: .classifierThreshold) ?? r.classifierThreshold
                study.teacher = r
            }
            if s.contains(.policy) {
                let p = try s.nestedContainer(keyedBy: PolicyKeys.self, forKey: .policy)
                study.policy.billRefusals =
                    try p.decodeIfPresent(Bool.self, forKey: .billRefusals) ?? study.policy.billRefusals
                study.policy.classifier =
                    try p.decodeIfPresent(Bool.self, forKey: .classifier) ?? study.policy.classifier
                study.policy.maxNewTokens =
                    try p.decodeIfPresent(Int.self, forKey: .maxNewTokens) ?? study.policy.maxNewTokens
            }
            if s.contains(.mapping) {
                let m = try s.nestedContainer(keyedBy: MappingKeys.self, forKey: .mapping)
                study.mappingRequests = try m.decodeIfPresent(Int.self, forKey: .requests) ?? study.mappingRequests
                study.groupSize = try m.decodeIfPresent(Int.self, forKey: .groupSize) ?? study.groupSize
                study.accuracyTarget =
                    try m.decodeIfPresent(Double.self, forKey: .accuracyTarget) ?? study.accuracyTarget
            }
            if s.contains(.stripping) {
                let m = try s.nestedContainer(keyedBy: StrippingKeys.self, forKey: .stripping)
                study.harvestQueries = try m.decodeIfPresent(Int.self, forKey: .harvestQueries) ?? study.harvestQueries
                study.harvestForbiddenShare =
                    try m.decodeIfPresent(Double.self, forKey: .forbiddenShare) ?? study.harvestForbiddenShare
                study.studentSteps = try m.decodeIfPresent(Int.self, forKey: .steps) ?? study.studentSteps
                study.studentLearningRate =
                    try m.decodeIfPresent(Float.self, forKey: .learningRate) ?? study.studentLearningRate
                if m.contains(.student) {
                    let a = try m.nestedContainer(keyedBy: StudentKeys.self, forKey: .student)
                    study.student.contextLength =
                        try a.decodeIfPresent(Int.self, forKey: .contextLength) ?? study.student.contextLength
                    study.student.width = try a.decodeIfPresent(Int.self, forKey: .width) ?? study.student.width
                    study.student.layers = try a.decodeIfPresent(Int.self, forKey: .layers) ?? study.student.layers
                    study.student.heads = try a.decodeIfPresent(Int.self, forKey: .heads) ?? study.student.heads
                }
            }
            if s.contains(.detection) {
                let d = try s.nestedContainer(keyedBy: DetectionKeys.self, forKey: .detection)
                var c = detection
                c.population.users = try d.decodeIfPresent(Int.self, forKey: .users) ?? c.population.users
                c.population.requestsPerDayMedian =
                    try d.decodeIfPresent(Double.self, forKey: .requestsPerDayMedian)
                    ?? c.population.requestsPerDayMedian
                c.population.requestsPerDaySigma =
                    try d.decodeIfPresent(Double.self, forKey: .requestsPerDaySigma) ?? c.population.requestsPerDaySigma
                c.horizonDays = try d.decodeIfPresent(Double.self, forKey: .horizonDays) ?? c.horizonDays
                c.benignForbiddenShare =
                    try d.decodeIfPresent(Double.self, forKey: .benignForbiddenShare) ?? c.benignForbiddenShare
                c.detector.benignRate = try d.decodeIfPresent(Double.self, forKey: .benignRate) ?? c.detector.benignRate
                c.detector.alpha = try d.decodeIfPresent(Double.self, forKey: .alpha) ?? c.detector.alpha
                c.detector.minRequests = try d.decodeIfPresent(Int.self, forKey: .minRequests) ?? c.detector.minRequests
                c.detector.nearScore = try d.decodeIfPresent(Double.self, forKey: .nearScore) ?? c.detector.nearScore
                detection = c
            }
        }
    }

    /// The resolved cell: every parameter by its YAML path (booleans as 0 / 1), hashed and saved; the configs are
    /// carried beside them for `run`.
    public struct Resolved: Encodable {
        public var study: SafetyStudyConfig
        public var detection: BoundaryProbeTrialConfig
        public var seed: UInt64

        var parameters: [String: Double] {
            let s = study, t = s.teacher, d = detection, w = s.world
            return [
                "world.topics": Double(w.topics), "world.forbidden_topics": Double(w.forbiddenTopics),
                "world.secret_length": Double(w.secretLength), "world.min_mentions": Double(w.minMentions),
                "world.max_mentions": Double(w.maxMentions), "world.forbidden_share": w.forbiddenShare,
                "world.alias_share": w.aliasShare, "world.segment_share": w.segmentShare,
                "world.refusal_share": w.refusalShare, "world.replay_share": w.replayShare,
                "world.align_aliases": w.alignAliases ? 1 : 0,
                "world.align_segments": w.alignSegments ? 1 : 0,
                "teacher.context_length": Double(t.architecture.contextLength),
                "teacher.width": Double(t.architecture.width), "teacher.layers": Double(t.architecture.layers),
                "teacher.heads": Double(t.architecture.heads), "teacher.pretrain_steps": Double(t.pretrainSteps),
                "teacher.align_steps": Double(t.alignSteps), "teacher.batch_size": Double(t.batchSize),
                "teacher.learning_rate": Double(t.learningRate),
                "teacher.align_learning_rate": Double(t.alignLearningRate),
                "teacher.pretrain_tokens": Double(t.pretrainTokens), "teacher.align_tokens": Double(t.alignTokens),
                "teacher.classifier_prompts": Double(t.classifierPrompts),
                "teacher.classifier_threshold": t.classifierThreshold,
                "policy.bill_refusals": s.policy.billRefusals ? 1 : 0, "policy.classifier": s.policy.classifier ? 1 : 0,
                "policy.max_new_tokens": Double(s.policy.maxNewTokens),
                "evaluation_requests": Double(s.evaluationRequests), "jailbreak_requests": Double(s.jailbreakRequests),
                "mapping.requests": Double(s.mappingRequests), "mapping.group_size": Double(s.groupSize),
                "mapping.accuracy_target": s.accuracyTarget, "stripping.harvest_queries": Double(s.harvestQueries),
                "stripping.forbidden_share": s.harvestForbiddenShare, "stripping.steps": Double(s.studentSteps),
                "stripping.learning_rate": Double(s.studentLearningRate),
                "stripping.student.context_length": Double(s.student.contextLength),
                "stripping.student.width": Double(s.student.width),
                "stripping.student.layers": Double(s.student.layers),
                "stripping.student.heads": Double(s.student.heads), "detection.users": Double(d.population.users),
                "detection.requests_per_day_median": d.population.requestsPerDayMedian,
                "detection.requests_per_day_sigma": d.population.requestsPerDaySigma,
                "detection.horizon_days": d.horizonDays, "detection.benign_forbidden_share": d.benignForbiddenShare,
                "detection.benign_rate": d.detector.benignRate, "detection.alpha": d.detector.alpha,
                "detection.min_requests": Double(d.detector.minRequests), "detection.near_score": d.detector.nearScore,
            ]
        }

        enum CodingKeys: String, CodingKey { case safety, seed }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(parameters, forKey: .safety)
            try c.encode(seed, forKey: .seed)
        }
    }

    public static let name = "safety"
    public static let summary =
        "a teacher with a safety boundary: refusal rates, boundary mapping, jailbreaks, safety stripping by distillation, boundary-probe detection"
    public static let version = 1
    public static let reads: [SharedSection] = []
    public static let settingsKeys = ["safety"]
    public static let seedMeaning =
        "the world (which topics are forbidden, their secrets, the facts), every model's initialisation and batches, the attacker's probe order and requests, and the honest users"

    static let detectionAccounts = ["mapper-naive", "mapper-group", "jailbreaker", "harvester"]

    public static let outputs: [OutputDoc] =
        SafetyStudy.metricDocs.map { OutputDoc($0.name, $0.isCost ? .cost : .metric, $0.meaning) } + [
            OutputDoc("detection.fpr", .metric, "boundary_probe: alarmed honest users / honest users"),
            OutputDoc("detection.benign_evaluated", .metric, "honest users with enough requests for a checkpoint"),
            OutputDoc("detection.benign_probe_rate", .metric, "share of honest requests refused or near the threshold"),
            OutputDoc("detection.tpr", .metric, "boundary_probe: alarmed attacking accounts / attacking accounts"),
        ]
        + detectionAccounts.flatMap { a in
            [
                OutputDoc("detection.\(a).detected", .metric, "1 if the \(a) account alarmed"),
                OutputDoc(
                    "detection.\(a).requests_until_alarm", .metric, "requests the \(a) account sent up to its alarm"),
                OutputDoc("detection.\(a).requests", .metric, "requests the \(a) account sent"),
            ]
        }

    public static func resolve(_ cell: CellInput<Settings>, in context: ValidationContext) throws -> Resolved {
        let s = cell.settings
        do {
            try s.study.validate()
            try s.detection.validate()
        } catch let LabError.invalidConfig(key, message) {
            var parts = key.split(separator: ".").map(String.init)
            // Library keys name the detection section's population and detector without the YAML's flattening.
            if parts.first == "population" || parts.first == "detectors" { parts = ["detection", parts.last ?? key] }
            throw SpecIssue(["safety"] + parts, message)
        }
        return Resolved(study: s.study, detection: s.detection, seed: cell.seed)
    }

    public static func run(_ cell: Resolved, in context: RunContext) throws -> CellResult {
        let o = try SafetyStudy.run(cell.study, seed: cell.seed)
        let d = try BoundaryProbeTrial.run(
            cell.detection, world: o.world, attackTraffic: o.attackTraffic, serve: o.serve, seed: cell.seed)
        var metrics = o.metrics.filter { name, _ in !SafetyStudy.metricDocs.contains { $0.name == name && $0.isCost } }
            .map { CellResult.Entry($0.name, $0.value) }
        metrics += [
            .init("detection.fpr", d.fpr), .init("detection.benign_evaluated", Double(d.benignEvaluated)),
            .init("detection.benign_probe_rate", d.benignProbeRate), .init("detection.tpr", d.tpr),
        ]
        for a in detectionAccounts {
            let r = d.attackers.first { $0.account == a }
            metrics += [
                .init("detection.\(a).detected", r.map { $0.untilAlarm == nil ? 0 : 1 }),
                .init("detection.\(a).requests_until_alarm", r?.untilAlarm.map(Double.init)),
                .init("detection.\(a).requests", r.map { Double($0.requests) }),
            ]
        }
        let costs = o.metrics.filter { name, _ in SafetyStudy.metricDocs.contains { $0.name == name && $0.isCost } }
            .map { CellResult.Entry($0.name, $0.value) }
        return CellResult(metrics: metrics, costs: costs)
    }
}
