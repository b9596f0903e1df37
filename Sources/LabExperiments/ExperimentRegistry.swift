// ExperimentRegistry: the map from `kind:` in an experiment file to the type that runs it — adding a kind is a
// new file plus one line here. Not a plugin system: the list is fixed at compile time (tests pass their own).
public enum ExperimentRegistry {
    /// Every kind, one line each.
    public static let kinds: [any ExperimentKind.Type] = [
        TeacherKind.self,      // teacher: train (or load from the cache) a teacher; loss, perplexity, gap to entropy rate
        DefenceCostKind.self,  // defence_cost: what a defence pipeline costs honest users (LabDefences's BenignCost)
        AttackKind.self,       // attack: extraction fidelity versus cost at budget milestones (LabAttacks's Attack)
        CampaignKind.self,     // campaign: proxy accounts against a gateway's limits and detectors (LabCampaigns's CampaignSimulation)
        LogitLeakKind.self,    // logit_leak: hidden width and projection from logit vectors (LabAttacks's LogitLeakAttack)
        WatermarkKind.self,    // watermark: KGW false-positive rate on clean text and power on watermarked text
        AntiDistillationKind.self,  // anti_distillation: teacher quality against distilled students (nasty teacher, antidistillation sampling)
        RadioactivityKind.self,     // radioactivity: watermark dose-response of a student, reading and generation mode (LabForensics's Radioactivity)
        ForensicsKind.self,         // forensics: tracing a student to the proxy accounts that fed it (LabForensics's ProvenanceCampaign)
    ]

    public static func kind(named name: String, in kinds: [any ExperimentKind.Type] = kinds) -> (any ExperimentKind.Type)? {
        kinds.first { $0.name == name }
    }
}
