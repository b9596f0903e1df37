// ServiceConfig: the `distill-lab serve` configuration file — teacher checkpoint, policy and prices, defences,
// gateway limits, detectors, batching, listen address, database — read from YAML with a closed schema and
// every error located (file:line:column, key, fix) like an experiment file. Not the running service (Service).
import Foundation
import LabAPI
import LabCampaigns
import LabCore
import LabExperiments
import Yams

/// One serve configuration, defaults filled. Relative paths are resolved against the file's directory.
public struct ServiceConfig: Decodable, @unchecked Sendable {
    /// Checkpoint directory of the teacher (model.safetensors, config.json, tokenizer.json).
    public var teacher: String
    /// The model id clients name; default: the checkpoint directory's last component.
    public var modelName: String?
    public var listen = Listen()
    /// SQLite file of accounts, keys, the ledger, alarms and bans (created when missing).
    public var database = "serve.sqlite"
    /// Policy (surfaces, top-logprob cap, logit-bias handling) and prices, as in experiment files.
    public var api = APISpec()
    /// Defence pipeline in the experiment files' part syntax (a KGW watermark's key is its `key` parameter).
    public var defences: [DefenceSpec] = []
    /// Per-key token buckets, daily quotas, ban delay (LabSimulation.GatewayConfig's keys).
    public var gateway = GatewayConfig()
    public var detectors = DetectorSection()
    public var batching = Batching()
    public var limits = Limits()
    /// Seeds the server's randomness (defence noise, completions without a client seed).
    public var seed: UInt64 = 0
    /// Per-account watermark keys: when set, the `kgw` stage of `defences` is keyed for each account by
    /// LabForensics' AccountKeys (SHA-256 of the provider secret ‖ 0 ‖ the account's name); nil: one key for all.
    public var accountWatermarks: AccountWatermarks?

    /// `account_watermarks: {secret_env: VAR}` — the provider secret is read from the environment variable
    /// `VAR` at start-up, never written in the file.
    public struct AccountWatermarks: Decodable, Sendable, Equatable {
        public var secretEnvironment: String
        public init(secretEnvironment: String) { self.secretEnvironment = secretEnvironment }
        enum CodingKeys: String, CodingKey { case secretEnvironment = "secret_env" }
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let path = decoder.codingPath.map(\.stringValue)
            guard c.contains(.secretEnvironment) else {
                throw SpecIssue(
                    path + ["secret_env"], "is missing; the provider secret is read from an environment variable",
                    fix: "add e.g. `secret_env: DISTILL_LAB_WATERMARK_SECRET`")
            }
            secretEnvironment = try c.decode(String.self, forKey: .secretEnvironment)
            let allowed = CharacterSet(
                charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
            guard !secretEnvironment.isEmpty, secretEnvironment.unicodeScalars.allSatisfy(allowed.contains),
                secretEnvironment.first?.isNumber == false
            else {
                throw SpecIssue(
                    path + ["secret_env"],
                    "is '\(secretEnvironment)'; allowed: an environment variable's name (letters, digits, '_')",
                    fix: "name the variable that holds the secret, not the secret, e.g. DISTILL_LAB_WATERMARK_SECRET")
            }
        }
    }

    public struct Listen: Decodable, Sendable, Equatable {
        public var host = "127.0.0.1"
        /// 0 asks the system for a free port (the chosen one is printed on start).
        public var port = 8080
        public init() {}
        enum CodingKeys: String, CodingKey { case host, port }
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            host = try c.decodeIfPresent(String.self, forKey: .host) ?? host
            port = try c.decodeIfPresent(Int.self, forKey: .port) ?? port
            guard (0...65535).contains(port) else {
                throw SpecIssue(
                    decoder.codingPath.map(\.stringValue) + ["port"], "is \(port); a TCP port is 0...65535",
                    fix: "use 8080, or 0 for any free port")
            }
            guard !host.isEmpty else {
                throw SpecIssue(decoder.codingPath.map(\.stringValue) + ["host"], "is empty", fix: "use 127.0.0.1")
            }
        }
    }

    /// Detectors on live traffic: `ban` lists detectors whose alarms ban (after the gateway's delay),
    /// `monitor` those that only log alarms; `settings` their parameters (DetectorSettings' keys);
    /// `benign_prompts` a text file of logged benign prompts (one a line) that fingerprint and clustering
    /// read as the defender's picture of benign traffic.
    public struct DetectorSection: Decodable, Sendable {
        public var ban: [String] = []
        public var monitor: [String] = []
        public var settings = DetectorSettings()
        public var benignPrompts: String?
        /// Topics the benign prompts are clustered into (k-means on their features).
        public var benignTopics = 4
        public init() {}
        enum CodingKeys: String, CodingKey {
            case ban, monitor, settings, benignPrompts = "benign_prompts", benignTopics = "benign_topics"
        }
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let path = decoder.codingPath.map(\.stringValue)
            ban = try c.decodeIfPresent([String].self, forKey: .ban) ?? []
            monitor = try c.decodeIfPresent([String].self, forKey: .monitor) ?? []
            settings = try c.decodeIfPresent(DetectorSettings.self, forKey: .settings) ?? settings
            benignPrompts = try c.decodeIfPresent(String.self, forKey: .benignPrompts)
            benignTopics = try c.decodeIfPresent(Int.self, forKey: .benignTopics) ?? benignTopics
            for (key, names) in [("ban", ban), ("monitor", monitor)] {
                for (i, name) in names.enumerated() where !DetectorRegistry.names.contains(name) {
                    throw SpecIssue(
                        path + [key, String(i)], "'\(name)' is not a detector",
                        fix: "use one of \(DetectorRegistry.names.joined(separator: ", "))")
                }
            }
            let needsTopics = (ban + monitor).filter { $0 == "fingerprint" || $0 == "clustering" }
            if let first = needsTopics.first, benignPrompts == nil {
                throw SpecIssue(
                    path + ["benign_prompts"],
                    "is missing; the '\(first)' detector compares traffic with benign topics",
                    fix: "name a text file of benign prompts, one a line, or drop '\(first)'")
            }
            guard benignTopics >= 1 else {
                throw SpecIssue(path + ["benign_topics"], "is \(benignTopics); must be at least 1")
            }
        }
    }

    /// How concurrent requests share teacher passes.
    public struct Batching: Decodable, Sendable, Equatable {
        /// How long the first waiting request waits for others to join its batch; 0 serves at once.
        public var windowMilliseconds = 5.0
        /// Most queries (prompts × n) in one teacher pass; 1 turns batching off.
        public var maxBatch = 64
        public init() {}
        enum CodingKeys: String, CodingKey { case windowMilliseconds = "window_ms", maxBatch = "max_batch" }
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let path = decoder.codingPath.map(\.stringValue)
            windowMilliseconds = try c.decodeIfPresent(Double.self, forKey: .windowMilliseconds) ?? windowMilliseconds
            maxBatch = try c.decodeIfPresent(Int.self, forKey: .maxBatch) ?? maxBatch
            guard windowMilliseconds >= 0, windowMilliseconds <= 1000 else {
                throw SpecIssue(
                    path + ["window_ms"], "is \(windowMilliseconds); must be in 0...1000 milliseconds",
                    fix: "5 is a good start; 0 turns waiting off")
            }
            guard maxBatch >= 1, maxBatch <= 4096 else {
                throw SpecIssue(path + ["max_batch"], "is \(maxBatch); must be in 1...4096", fix: "64")
            }
        }
    }

    /// What one request may ask for.
    public struct Limits: Decodable, Sendable, Equatable {
        /// Largest request body accepted; larger ones get 413.
        public var maxBodyBytes = 1 << 20
        /// Most prompts × n in one request.
        public var maxChoices = 64
        /// Seconds an idle (or stalled) connection is kept open.
        public var idleTimeoutSeconds = 30.0
        public init() {}
        enum CodingKeys: String, CodingKey {
            case maxBodyBytes = "max_body_bytes", maxChoices = "max_choices", idleTimeoutSeconds =
                "idle_timeout_seconds"
        }
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let path = decoder.codingPath.map(\.stringValue)
            maxBodyBytes = try c.decodeIfPresent(Int.self, forKey: .maxBodyBytes) ?? maxBodyBytes
            maxChoices = try c.decodeIfPresent(Int.self, forKey: .maxChoices) ?? maxChoices
            idleTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .idleTimeoutSeconds) ?? idleTimeoutSeconds
            guard maxBodyBytes >= 1024 else {
                throw SpecIssue(path + ["max_body_bytes"], "is \(maxBodyBytes); must be at least 1024 bytes")
            }
            guard maxChoices >= 1 else {
                throw SpecIssue(path + ["max_choices"], "is \(maxChoices); must be at least 1")
            }
            guard idleTimeoutSeconds > 0, idleTimeoutSeconds.isFinite else {
                throw SpecIssue(
                    path + ["idle_timeout_seconds"], "is \(idleTimeoutSeconds); must be a positive number of seconds")
            }
        }
    }

    enum CodingKeys: String, CodingKey {
        case teacher, modelName = "model_name", listen, database, api, defences, gateway, detectors, batching, limits,
            seed, accountWatermarks = "account_watermarks"
    }

    public init(teacher: String) { self.teacher = teacher }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        teacher = try c.decode(String.self, forKey: .teacher)
        modelName = try c.decodeIfPresent(String.self, forKey: .modelName)
        listen = try c.decodeIfPresent(Listen.self, forKey: .listen) ?? listen
        database = try c.decodeIfPresent(String.self, forKey: .database) ?? database
        api = try c.decodeIfPresent(APISpec.self, forKey: .api) ?? api
        defences = try c.decodeIfPresent([DefenceSpec].self, forKey: .defences) ?? []
        gateway = try c.decodeIfPresent(GatewayConfig.self, forKey: .gateway) ?? gateway
        detectors = try c.decodeIfPresent(DetectorSection.self, forKey: .detectors) ?? detectors
        batching = try c.decodeIfPresent(Batching.self, forKey: .batching) ?? batching
        limits = try c.decodeIfPresent(Limits.self, forKey: .limits) ?? limits
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0
        accountWatermarks = try c.decodeIfPresent(AccountWatermarks.self, forKey: .accountWatermarks)
        if accountWatermarks != nil, defences.filter({ $0.name == "kgw" }).count != 1 {
            throw SpecIssue(
                ["account_watermarks"],
                "asks for per-account watermark keys, but `defences` has \(defences.filter { $0.name == "kgw" }.count) kgw stages; it needs exactly one",
                fix: "add one `- kgw: {gamma: 0.25, delta: 2.0}` to defences (its key is replaced per account)",
                atKey: true)
        }
        if let name = modelName, name.isEmpty || name.contains(where: { $0 == "/" || $0.isWhitespace }) {
            throw SpecIssue(
                ["model_name"], "is '\(name)'; a model id is one word without '/' or spaces",
                fix: "e.g. distill-teacher")
        }
    }

    /// Reads `path`; every error is an `ExperimentError` located in the file.
    public static func load(path: String) throws -> ServiceConfig {
        let source = try YAMLSource.load(path: path)
        var config = try NodeDecoder.decode(
            ServiceConfig.self, from: source.root, path: [], root: source.root, file: path)
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        func resolve(_ p: String) -> String {
            p.hasPrefix("/") ? p : base.appendingPathComponent(p).standardizedFileURL.path
        }
        config.teacher = resolve(config.teacher)
        config.database = resolve(config.database)
        config.detectors.benignPrompts = config.detectors.benignPrompts.map(resolve)
        config.file = path
        config.source = source
        return config
    }

    /// The file it was read from (nil when built in code) and its parse, to locate later errors.
    public internal(set) var file: String?
    var source: YAMLSource?

    /// An error about `path` located in the file (at the value written there, or its nearest written
    /// ancestor) when the config was read from one.
    func issue(_ path: [String], _ message: String, fix: String? = nil) -> Error {
        let key = path.joined(separator: ".")
        guard let file, let root = source?.root else {
            return LabError.invalidConfig(key: key, message: message + (fix.map { "; \($0)" } ?? ""))
        }
        var node = root, mark = root.mark
        for component in path {
            if let mapping = node.mapping, let child = mapping[component] {
                node = child
            } else if let sequence = node.sequence, let i = Int(component), sequence.indices.contains(i) {
                node = sequence[i]
            } else {
                break
            }
            mark = node.mark ?? mark
        }
        return ExperimentError(
            file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, key: key, message: message, fix: fix)
    }
}
