// DefencePipelines: the defence pipeline each account's answers pass through. One shared pipeline, or — with
// `account_watermarks:` — the config's pipeline with its kgw stage keyed per account by LabForensics'
// AccountKeys (SHA-256 of the provider secret ‖ 0 ‖ the account's name), so a suspect student can be traced
// to the accounts whose text it learned (LabForensics' Provenance re-derives the same keys). Not detection.
import Foundation
import LabAPI
import LabCore
import LabDefences
import LabForensics

final class DefencePipelines: @unchecked Sendable {
    let shared: DefencePipeline
    /// The provider secret, the index of the kgw stage, and its template (γ, δ, context width, V).
    private let perAccount: (secret: String, stage: Int, template: KGWWatermark)?
    private var built: [String: DefencePipeline] = [:]
    private let lock = NSLock()

    /// `secret` nil: every account gets `shared`. Otherwise `shared` must hold exactly one kgw stage.
    init(shared: DefencePipeline, secret: String?) throws {
        self.shared = shared
        guard let secret else {
            perAccount = nil
            return
        }
        let stages = shared.defences.indices.filter { shared.defences[$0] is KGWDefence }
        guard stages.count == 1, let stage = stages.first, let kgw = shared.defences[stage] as? KGWDefence else {
            throw LabError.invalidConfig(
                key: "account_watermarks", message: "needs exactly one kgw stage in defences (found \(stages.count))")
        }
        perAccount = (secret, stage, kgw.watermark)
    }

    var isPerAccount: Bool { perAccount != nil }

    /// The watermark key `account`'s answers carry: its derived key, or the shared kgw stage's (nil: none).
    func watermarkKey(account: String) throws -> UInt64? {
        if let p = perAccount { return try AccountKeys.key(secret: p.secret, account: account) }
        return shared.defences.compactMap { ($0 as? KGWDefence)?.watermark.key }.first
    }

    /// The pipeline `account`'s answers pass through (built once per account).
    func pipeline(account: String) throws -> DefencePipeline {
        guard let p = perAccount else { return shared }
        lock.lock()
        defer { lock.unlock() }
        if let done = built[account] { return done }
        var stages = shared.defences
        stages[p.stage] = KGWDefence(
            watermark: try AccountKeys.watermark(p.template, secret: p.secret, account: account))
        let pipeline = DefencePipeline(stages)
        built[account] = pipeline
        return pipeline
    }
}
