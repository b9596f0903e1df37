// ServerHarness: the built `distill-lab serve` as a subprocess on a free loopback port, over a tiny trained
// checkpoint in a scratch directory, with keys created directly in its database, and a small HTTP client.
// Test support only: every request goes to 127.0.0.1, bounded in count and time.
import Foundation
import LabCore
import LabData
import LabModel
import LabService
import XCTest

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A scratch directory under the system's temporary directory, removed when the harness is released.
final class ServiceScratch {
    let url: URL
    init(_ name: String) {
        url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "distill-serve-\(name)-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    @discardableResult
    func file(_ name: String, _ text: String) -> String {
        let path = url.appendingPathComponent(name).path
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }
}

enum TinyTeacher {
    /// A 1-layer GPT trained a few steps on a 12-symbol Markov chain: small, fast, and its tokenizer is
    /// character-level like every checkpoint the lab writes.
    static func write(to directory: URL) throws {
        let corpus = try CorpusSpec.markov(symbols: 12, order: 1).build()
        var training = TrainingConfig()
        training.steps = 5
        training.batchSize = 4
        training.evalInterval = 0
        let (lm, _) = try LanguageModel.train(
            corpus: corpus, spec: nil,
            architecture: ModelArchitecture(contextLength: 48, width: 16, layers: 1, heads: 2),
            training: training)
        try lm.save(to: directory)
    }
}

/// One HTTP answer.
struct HTTPReply {
    var status: Int
    var headers: [String: String]
    var body: Data
    var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any]) ?? [:] }
    var errorObject: [String: Any]? { json["error"] as? [String: Any] }
}

final class ServerHarness {
    let scratch: ServiceScratch
    let configPath: String
    var process: Process?
    var port = 0
    var stderrPipe: Pipe?
    let session: URLSession

    /// Writes the checkpoint (or serves the one at `checkpoint`) and a config whose extra YAML lines are `extra`
    /// (top-level keys).
    init(_ name: String, extra: String = "", checkpoint: String? = nil) throws {
        scratch = ServiceScratch(name)
        if checkpoint == nil { try TinyTeacher.write(to: scratch.url.appendingPathComponent("ck")) }
        configPath = scratch.file(
            "serve.yaml",
            """
            teacher: \(checkpoint ?? "ck")
            model_name: tiny
            listen: {host: 127.0.0.1, port: 0}
            database: serve.sqlite
            \(extra)
            """)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 30
        configuration.httpMaximumConnectionsPerHost = 128
        session = URLSession(configuration: configuration)
    }

    deinit { stop(signal: SIGKILL) }

    /// Creates an account directly in the service's database and returns its key.
    func key(_ name: String, admin: Bool = false) throws -> String {
        let config = try ServiceConfig.load(path: configPath)
        return try LedgerStore(path: config.database).createAccount(name: name, admin: admin).key
    }

    var store: LedgerStore {
        get throws { try LedgerStore(path: try ServiceConfig.load(path: configPath).database) }
    }

    /// `distill-lab`, built beside the test bundle.
    static func binary() throws -> URL {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0])
        let candidates =
            [bundle.deletingLastPathComponent(), bundle.deletingLastPathComponent().deletingLastPathComponent()]
            .map { $0.appendingPathComponent("distill-lab") }
            + Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent().appendingPathComponent("distill-lab") }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            XCTFail(
                "distill-lab is not built next to the tests (looked in \(candidates.map(\.path))); run `swift build` first"
            )
            throw CocoaError(.fileNoSuchFile)
        }
        return found
    }

    /// Starts the server and waits (at most 60 s) for it to print its port.
    func start() throws {
        let p = Process()
        p.executableURL = try Self.binary()
        p.arguments = ["serve", configPath, "--threads", "1", "--log-level", "warning"]
        p.currentDirectoryURL = scratch.url
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        stderrPipe = err
        try p.run()
        process = p
        var text = ""
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, p.isRunning {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
            if let r = text.range(of: "127.0.0.1:"), let line = text[r.upperBound...].split(separator: " ").first,
                let n = Int(line)
            {
                port = n
                return
            }
        }
        let log = String(decoding: err.fileHandleForReading.availableData, as: UTF8.self)
        XCTFail("the server did not start: \(text) \(log)")
        throw CocoaError(.fileReadUnknown)
    }

    func stop(signal: Int32 = SIGTERM) {
        guard let p = process, p.isRunning else { return }
        kill(p.processIdentifier, signal)
        p.waitUntilExit()
    }

    var base: String { "http://127.0.0.1:\(port)" }

    func request(_ method: String, _ path: String, key: String?, body: Data? = nil, timeout: Double = 30) async throws
        -> HTTPReply
    {
        var r = URLRequest(url: URL(string: base + path)!)
        r.httpMethod = method
        r.timeoutInterval = timeout
        if let key { r.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        if let body {
            r.httpBody = body
            r.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await session.data(for: r)
        let http = response as? HTTPURLResponse
        var headers: [String: String] = [:]
        for (k, v) in http?.allHeaderFields ?? [:] {
            headers[String(describing: k).lowercased()] = String(describing: v)
        }
        return HTTPReply(status: http?.statusCode ?? 0, headers: headers, body: data)
    }

    func post(_ path: String, key: String?, json: [String: Any]) async throws -> HTTPReply {
        try await request("POST", path, key: key, body: try JSONSerialization.data(withJSONObject: json))
    }

    func complete(key: String, prompt: Any = "abc", maxTokens: Int = 4, extra: [String: Any] = [:]) async throws
        -> HTTPReply
    {
        var body: [String: Any] = ["model": "tiny", "prompt": prompt, "max_tokens": maxTokens]
        for (k, v) in extra { body[k] = v }
        return try await post("/v1/completions", key: key, json: body)
    }
}
