// The `campaign` kind: one proxy-account extraction campaign (LabCampaigns's CampaignSimulation) — honest users
// and the attacker's proxies through one gateway for a simulated horizon, the defence in force, every detector's
// operating point, and (in full mode) the fidelity of the student the harvest trained. This file only reads the
// sections into a CampaignConfig and turns the outcome's flat metrics into a row; the simulation, its metrics
// and their meanings are LabCampaigns'. Not a teacher of the runner's kind: a campaign's teacher is the bigram
// model of its own benign world (`campaign.world`), so the kind reads none of the shared sections.
import Foundation
import LabCampaigns
import LabCore

public enum CampaignKind: ExperimentKind {
    /// `campaign:` (LabCampaigns' CampaignConfig as that type reads it), and optionally `gateway:` and
    /// `detectors:` written at the top level, where they read as `campaign.gateway` and `campaign.detectors`.
    public struct Settings: Decodable {
        public var campaign = CampaignConfig()

        enum Keys: String, CodingKey { case campaign, gateway, detectors }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            campaign = try c.decodeIfPresent(CampaignConfig.self, forKey: .campaign) ?? CampaignConfig()
            if let gateway = try c.decodeIfPresent(GatewayConfig.self, forKey: .gateway) { campaign.gateway = gateway }
            if let detectors = try c.decodeIfPresent(DetectorSettings.self, forKey: .detectors) {
                campaign.detectors = detectors
            }
        }
    }

    public struct Resolved: Encodable {
        /// Every default filled; `gateway` and `detectors` merged in from the top level.
        public var campaign: CampaignConfig
        /// The cell's seed: what `CampaignSimulation.run` draws every stream from.
        public var seed: UInt64
    }

    public static let name = "campaign"
    public static let summary =
        "proxy-account extraction campaigns through a gateway: the attacker's fidelity and cost, detectors' operating points, honest users' false bans"
    public static let version = 1
    public static let reads: [SharedSection] = []
    public static let settingsKeys = ["campaign", "gateway", "detectors"]
    public static let seedMeaning =
        "the honest population (rates, topics, prompts), the proxies (prompts, pacing), the defender's logged profile, the API's sampling, the evaluation windows and the GPT student's initialisation and batches; the benign text and its bigram teacher keep `campaign.world.seed`"
    public static let outputs = CampaignOutcome.metricDocs.map {
        OutputDoc($0.name, $0.isCost ? .cost : .metric, $0.meaning)
    }

    public static func resolve(_ cell: CellInput<Settings>, in context: ValidationContext) throws -> Resolved {
        for section in ["gateway", "detectors"]
        where cell.isWritten([section]) && cell.isWritten(["campaign", section]) {
            throw SpecIssue(
                [section], "is written both at the top level and as campaign.\(section); one would silently win",
                fix: "keep one of them", atKey: true)
        }
        let config = cell.settings.campaign
        // The config's own cross-section checks, now that the top-level sections are merged in; its keys are
        // relative to the campaign section, except where gateway or detectors were written at the top level.
        do {
            try config.validate()
        } catch let LabError.invalidConfig(key, message) {
            let parts = key.split(separator: ".").map(String.init)
            let topLevel = parts.first.map { ["gateway", "detectors"].contains($0) && cell.isWritten([$0]) } ?? false
            throw SpecIssue(topLevel ? parts : ["campaign"] + parts, message)
        }
        return Resolved(campaign: config, seed: cell.seed)
    }

    public static func run(_ cell: Resolved, in context: RunContext) throws -> CellResult {
        let config = cell.campaign
        // The benign text and its teacher depend on the world and the smoothing alone: built once per run.
        struct WorldKey: Encodable {
            var world: BenignMixtureSpec
            var teacherSmoothing: Double
        }
        let key =
            "campaign.world "
            + (try CanonicalJSON.string(WorldKey(world: config.world, teacherSmoothing: config.teacherSmoothing)))
        let world = try context.memo(key) { try CampaignWorld(config: config) }
        let outcome = try CampaignSimulation.run(config: config, seed: cell.seed, world: world).outcome
        let costs = Set(CampaignOutcome.metricDocs.filter(\.isCost).map(\.name))
        let entries = outcome.metrics.map { CellResult.Entry($0.name, $0.value) }
        return CellResult(
            metrics: entries.filter { !costs.contains($0.name) }, costs: entries.filter { costs.contains($0.name) })
    }
}
