// Service: everything `distill-lab serve` runs, assembled from a ServiceConfig — the checkpoint's teacher and
// tokenizer, the defence pipeline, the store, the live gateway with its detectors, the batcher, metrics, the
// logger — and the Hummingbird application around them. Not the routes' logic (Service+Routes.swift).
import Foundation
import Hummingbird
import LabAPI
import LabCampaigns
import LabCore
import LabData
import LabDefences
import LabModel
import Logging
import NIOCore
import Prometheus

public final class Service: @unchecked Sendable {
    public let config: ServiceConfig
    public let modelName: String
    let model: LanguageModel
    let teacher: GPTTeacher
    let policy: APIPolicy
    public let store: LedgerStore
    let gateway: LiveGateway
    let batcher: Batcher
    /// The defence pipeline of each account (one shared, or keyed per account).
    let pipelines: DefencePipelines
    let metrics: ServiceMetrics
    let logger: Logger
    let keys = KeyCache()
    let started = Date()

    /// Loads everything `config` names, or throws a located error; `serve --check` stops here.
    public init(
        config: ServiceConfig, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        logger: Logger = Logger(label: "distill-lab.serve"), workers: Int = Parallel.defaultWorkers
    ) throws {
        self.config = config
        self.logger = logger
        let lm: LanguageModel
        do {
            lm = try LanguageModel.load(from: URL(fileURLWithPath: config.teacher))
        } catch {
            throw config.issue(
                ["teacher"], "cannot load the checkpoint at \(config.teacher): \(error)",
                fix: "name a checkpoint directory (distill-lab train --out DIR writes one)")
        }
        model = lm
        modelName = config.modelName ?? URL(fileURLWithPath: config.teacher).lastPathComponent
        teacher = GPTTeacher(lm, maxBatch: config.batching.maxBatch)
        let V = teacher.vocabularySize, T = teacher.contextLength
        var policy = config.api.policy
        if policy.maxLogprobs > V { policy.maxLogprobs = V }
        self.policy = policy
        let defences: DefencePipeline
        do {
            defences = try DefenceRegistry.pipeline(
                config.defences, environment: DefenceEnvironment(vocabularySize: V, contextLength: T))
        } catch {
            throw config.issue(
                ["defences"], "\(error)", fix: "known defences: \(DefenceRegistry.names.joined(separator: ", "))")
        }
        var secret: String?
        if let watermarks = config.accountWatermarks {
            guard let value = ProcessInfo.processInfo.environment[watermarks.secretEnvironment], !value.isEmpty else {
                throw config.issue(
                    ["account_watermarks", "secret_env"],
                    "the environment variable \(watermarks.secretEnvironment) is not set; it holds the provider secret every account's watermark key is derived from",
                    fix:
                        "export \(watermarks.secretEnvironment)=SECRET (keep it: provenance tests re-derive the keys from it)"
                )
            }
            secret = value
        }
        do {
            pipelines = try DefencePipelines(shared: defences, secret: secret)
        } catch {
            throw config.issue(["account_watermarks"], "\(error)", fix: "add one kgw stage to defences")
        }
        var detectors: [(detector: any Detector, bans: Bool)] = []
        let names = config.detectors.ban.map { ($0, true) } + config.detectors.monitor.map { ($0, false) }
        if !names.isEmpty {
            let topics = try Self.benignTopics(config: config, tokenizer: lm.tokenizer)
            for (name, bans) in names {
                detectors.append(
                    (
                        try DetectorRegistry.make(
                            name, settings: config.detectors.settings, context: DetectorContext(benignTopics: topics)),
                        bans
                    ))
            }
        }
        do {
            store = try LedgerStore(path: config.database)
        } catch {
            throw config.issue(["database"], "\(error)", fix: "name a writable path for the SQLite file")
        }
        let metrics = ServiceMetrics(registry: registry)
        self.metrics = metrics
        let log = logger
        do {
            gateway = try LiveGateway(config: config.gateway, detectors: detectors, store: store) { alarm in
                metrics.alarm(detector: alarm.detector, bans: alarm.bans)
                log.warning(
                    "detector alarm",
                    metadata: [
                        "account": "\(alarm.account)", "detector": "\(alarm.detector)",
                        "served": "\(alarm.served)", "bans": "\(alarm.bans)",
                    ])
            }
        } catch {
            throw config.issue(["gateway"], "\(error)")
        }
        batcher = Batcher(
            teacher: teacher, pipelines: pipelines, prices: config.api.prices, store: store, batching: config.batching,
            seed: config.seed, workers: workers
        ) {
            metrics.batch(queries: $0, seconds: $1)
        }
    }

    /// One line for `serve --check`: the teacher, defences, detectors and limits in force.
    public var summary: String {
        let defences = config.defences.map(\.name) + (pipelines.isPerAccount ? ["(kgw key per account)"] : [])
        let limit =
            config.gateway.rateLimit.map {
                "\($0.requestsPerMinute) req/min burst \($0.burst)" + ($0.queriesPerDay.map { ", \($0)/day" } ?? "")
            } ?? "no rate limit"
        return
            "V \(teacher.vocabularySize), context \(teacher.contextLength); defences [\(defences.joined(separator: ", "))]; "
            + "detectors ban [\(config.detectors.ban.joined(separator: ", "))] monitor [\(config.detectors.monitor.joined(separator: ", "))]; "
            + "\(limit); batching \(config.batching.windowMilliseconds) ms × \(config.batching.maxBatch); database \(config.database)"
    }

    /// The defender's benign topics: the prompts of `detectors.benign_prompts` (one a line) clustered into
    /// `benign_topics` profiles of their normalised n-gram features (k-means, seeded, 20 rounds).
    static func benignTopics(config: ServiceConfig, tokenizer: Tokenizer) throws -> DetectorTopics {
        guard let path = config.detectors.benignPrompts else {
            return DetectorTopics(profiles: [SIMD64<Float>(repeating: 1.0 / 64)])
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw config.issue(
                ["detectors", "benign_prompts"], "cannot read \(path) as UTF-8 text",
                fix: "name a text file of benign prompts, one a line")
        }
        let points = text.split(separator: "\n").map { line -> SIMD64<Float> in
            let c = PromptFeatures(prompt: tokenizer.encode(String(line)).map(Int32.init)).counts
            return c / max(1, c.sum())
        }.filter { $0.sum() > 0 }
        let k = config.detectors.benignTopics
        guard points.count >= k else {
            throw config.issue(
                ["detectors", "benign_prompts"],
                "has \(points.count) non-empty prompts, fewer than benign_topics (\(k))",
                fix: "add prompts or lower benign_topics")
        }
        var centres = (0..<k).map { points[$0 * points.count / k] }
        var assignment = [Int](repeating: 0, count: points.count)
        for _ in 0..<20 {
            for (i, p) in points.enumerated() {
                assignment[i] =
                    centres.indices.min {
                        PromptFeatures.distance(p, centres[$0]) < PromptFeatures.distance(p, centres[$1])
                    } ?? 0
            }
            for c in centres.indices {
                let members = points.indices.filter { assignment[$0] == c }
                guard !members.isEmpty else { continue }
                let sum = members.reduce(SIMD64<Float>(repeating: 0)) { $0 + points[$1] }
                centres[c] = sum / sum.sum()
            }
        }
        return DetectorTopics(profiles: centres)
    }

    /// Builds the Hummingbird application; `onRunning` gets the bound port once the server listens.
    public func application(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        router.middlewares.add(MetricsMiddleware())
        addRoutes(to: router)
        return Application(
            router: router,
            server: .http1(
                configuration: .init(idleTimeout: .milliseconds(Int64(config.limits.idleTimeoutSeconds * 1000)))),
            configuration: .init(
                address: .hostname(config.listen.host, port: config.listen.port), serverName: "distill-lab"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    /// Serves until SIGINT or SIGTERM, then lets in-flight requests finish (their charges committed) and stops.
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        batcher.start()
        let app = application(onRunning: onRunning)
        let ticker = Task.detached { [gateway] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                try? gateway.tick()
            }
        }
        defer {
            ticker.cancel()
            batcher.stop()
        }
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }
}

/// Key hash → account, for accounts already looked up; bans are read from the gateway, not from here.
final class KeyCache: @unchecked Sendable {
    private let lock = NSLock()
    private var accounts: [String: StoredAccount] = [:]

    func account(hash: String, store: LedgerStore) throws -> StoredAccount? {
        lock.lock()
        if let a = accounts[hash] {
            lock.unlock()
            return a
        }
        lock.unlock()
        guard let a = try store.account(keyHash: hash) else { return nil }
        lock.lock()
        accounts[hash] = a
        lock.unlock()
        return a
    }
}
