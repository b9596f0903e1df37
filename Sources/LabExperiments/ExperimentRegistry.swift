// ExperimentRegistry: the map from `kind:` in an experiment file to the type that runs it — adding a kind is a
// new file plus one line here. Not a plugin system: the list is fixed at compile time (tests pass their own).
public enum ExperimentRegistry {
    /// Every kind, one line each.
    public static let kinds: [any ExperimentKind.Type] = [
        TeacherKind.self,  // teacher: train (or load) a teacher; loss, perplexity, gap to the entropy rate
        DefenceCostKind.self,  // defence_cost: what a defence pipeline costs honest users (BenignCost)
        AttackKind.self,  // attack: extraction fidelity versus cost at budget milestones (Attack)
        CampaignKind.self,  // campaign: proxy accounts against a gateway's limits and detectors
        LogitLeakKind.self,  // logit_leak: hidden width and projection from logit vectors
        WatermarkKind.self,  // watermark: KGW false-positive rate on clean text, power on watermarked text
        AntiDistillationKind.self,  // anti_distillation: a self-defending teacher against its distilled students
        RadioactivityKind.self,  // radioactivity: a student's watermark dose-response, reading and generation mode
        ForensicsKind.self,  // forensics: trace a student to the proxy accounts that fed it
        ReasoningKind.self,  // reasoning: trace policies of a reasoning teacher against distilled students
        SafetyKind.self,  // safety: a teacher's safety boundary, mapped, jailbroken, stripped by distillation, probed
    ]

    public static func kind(named name: String, in kinds: [any ExperimentKind.Type] = kinds) -> (
        any ExperimentKind.Type
    )? {
        kinds.first { $0.name == name }
    }
}
