// `distill-lab serve CONFIG`: the teacher as an HTTP service (OpenAI-compatible completions, keys, durable
// ledger, detectors, dashboard, /metrics); `serve --check CONFIG` validates without listening; `serve keys`
// creates and lists API keys in the service's database. Thin: everything is LabService.
import ArgumentParser
import Foundation
import LabCore
import LabService
import Logging
import Metrics
import Prometheus

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract:
            "Serve the teacher over HTTP (OpenAI-compatible /v1/completions), with keys, a durable ledger, detectors and a dashboard.",
        subcommands: [ServeRun.self, ServeKeys.self],
        defaultSubcommand: ServeRun.self)
}

/// Runs `body` on the concurrency pool and waits for it: the root command is synchronous.
func blocking(_ body: @escaping @Sendable () async throws -> Void) throws {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var failure: Error?
    Task {
        do { try await body() } catch { failure = error }
        done.signal()
    }
    done.wait()
    if let failure { throw failure }
}

struct ServeRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Serve CONFIG until SIGINT or SIGTERM (the default of `serve`).")

    @Argument(help: "Serve configuration (YAML); docs/service.md describes its keys.") var config: String
    @Flag(help: "Validate the configuration (and load the checkpoint) without listening.") var check = false
    @Option(help: "Override listen.port (0: any free port; the chosen one is printed).") var port: Int?
    @Option(help: "Override listen.host.") var host: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel = "info"
    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        if let p = port, !(0...65535).contains(p) { throw ValidationError("--port must be in 0...65535 (got \(p))") }
        if Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() throws {
        try threads.scope {
            var cfg = try ServiceConfig.load(path: config)
            if let port { cfg.listen.port = port }
            if let host { cfg.listen.host = host }
            let level = Logger.Level(rawValue: logLevel) ?? .info
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            let service = try Service(config: cfg, registry: registry, workers: threads.resolved)
            if check {
                print("\(config): ok — model '\(service.modelName)', \(service.summary)")
                return
            }
            let host = cfg.listen.host, database = cfg.database
            try blocking {
                try await service.run { port in
                    print(
                        "distill-lab serve: listening on http://\(host):\(port) (model \(service.modelName), database \(database))"
                    )
                    fflush(stdout)
                }
            }
            print("distill-lab serve: stopped")
        }
    }
}

struct ServeKeys: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Create or list API keys in the service's database.",
        subcommands: [Create.self, List.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create accounts and print their keys (shown once; only SHA-256 hashes are stored).")
        @Argument(help: "Serve configuration (YAML): names the database.") var config: String
        @Option(help: "Account name; with --count, the prefix of names NAME-0, NAME-1, ...") var name: String
        @Flag(help: "An admin account: reads every account's usage, alarms, the dashboard; creates keys and bans.")
        var admin = false
        @Option(help: "How many accounts to create.") var count = 1
        @Flag(help: "Print JSON lines {\"name\", \"key\"} instead of NAME<TAB>KEY.") var json = false

        func validate() throws {
            if count < 1 || count > 100_000 { throw ValidationError("--count must be in 1...100000 (got \(count))") }
        }

        func run() throws {
            let cfg = try ServiceConfig.load(path: config)
            let store = try LedgerStore(path: cfg.database)
            for i in 0..<count {
                let (account, key) = try store.createAccount(name: count == 1 ? name : "\(name)-\(i)", admin: admin)
                if json {
                    let line = try JSONSerialization.data(
                        withJSONObject: ["name": account.name, "key": key, "admin": admin], options: [.sortedKeys])
                    print(String(decoding: line, as: UTF8.self))
                } else {
                    print("\(account.name)\t\(key)")
                }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List accounts with their usage and bans (never keys).")
        @Argument(help: "Serve configuration (YAML): names the database.") var config: String

        func run() throws {
            let cfg = try ServiceConfig.load(path: config)
            let store = try LedgerStore(path: cfg.database)
            print("id\tname\tadmin\trequests\tprompt_tokens\tcompletion_tokens\tspend\tbanned_at")
            for u in try store.usage() {
                print(
                    "\(u.account.id)\t\(u.account.name)\t\(u.account.admin)\t\(u.usage.queries)\t\(u.usage.inputTokens)\t\(u.usage.outputTokens)\t\(u.usage.cost)\t\(u.account.bannedAt.map { String($0) } ?? "-")"
                )
            }
        }
    }
}
