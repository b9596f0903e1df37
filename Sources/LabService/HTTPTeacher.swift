// HTTPTeacher: a served teacher reached over the wire as a `TeacherAPI` — scoring through the lab's
// /v1/x-lab/distribution extension, decoding one step at a time (the caller draws every token, as the
// protocol requires), honouring 429 with Retry-After. So the lab's attacks run unchanged against a live
// server, whose gateway, defences and ledger apply. Not a general OpenAI client.
import Foundation
import FoundationNetworking
import LabAPI
import LabCore
import LabExperiments

#if canImport(FoundationNetworking)
#endif

public final class HTTPTeacher: TeacherAPI, @unchecked Sendable {
    public let endpoint: URL
    public let model: String
    public let vocabularySize: Int
    public let contextLength: Int
    /// Score every prefix of a prompt (echo harvests read every position) or only the whole prompt (the
    /// other positions are left uniform, and not bought).
    public var allPositions: Bool
    /// Most prompts per HTTP request (the server's limits.max_choices).
    public var maxPromptsPerRequest: Int
    /// Most waits on 429 per request before giving up.
    public var maxRetries = 10_000
    /// What the wire cost so far: requests sent, 429s waited out, seconds spent waiting.
    public private(set) var requests = 0
    public private(set) var rateLimited = 0
    public private(set) var waitedSeconds = 0.0
    private let key: String
    private let perToken: Double
    private let attentionCoefficient: Double
    private let session: URLSession

    /// Connects to `endpoint` (the base URL, e.g. http://127.0.0.1:8080) with `apiKey` and reads the model's
    /// vocabulary and context from GET /v1/models.
    public init(endpoint: URL, apiKey: String, allPositions: Bool = false, maxPromptsPerRequest: Int = 64) throws {
        self.endpoint = endpoint
        key = apiKey
        self.allPositions = allPositions
        self.maxPromptsPerRequest = max(1, maxPromptsPerRequest)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 120
        session = URLSession(configuration: configuration)
        let models = try Self.send(
            session: session, request: Self.request(endpoint, "/v1/models", key: apiKey, body: nil), retries: 0
        ).json
        guard let first = (models["data"] as? [[String: Any]])?.first, let id = first["id"] as? String,
            let lab = first["x_lab"] as? [String: Any],
            let V = lab["vocabulary_size"] as? Int, let T = lab["context_length"] as? Int
        else {
            throw HTTPTeacherError(
                url: endpoint.absoluteString, status: 200,
                message:
                    "GET /v1/models did not describe a distill-lab model (no x_lab block); is this a `distill-lab serve` endpoint?"
            )
        }
        model = id
        vocabularySize = V
        contextLength = T
        perToken = lab["inference_flops_per_token"] as? Double ?? 0
        attentionCoefficient = lab["attention_flops_coefficient"] as? Double ?? 0
    }

    public func inferenceFlops(positions n: Int) -> Double {
        guard n > 0 else { return 0 }
        return Double(n) * perToken + attentionCoefficient * Double(n) * Double(n + 1) / 2
    }

    struct Reply {
        var status: Int
        var json: [String: Any]
        var retryAfter: Double?
    }

    static func request(_ endpoint: URL, _ path: String, key: String, body: [String: Any]?) throws -> URLRequest {
        var r = URLRequest(url: endpoint.appendingPathComponent(path))
        r.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
        if let body {
            r.httpMethod = "POST"
            r.httpBody = try JSONSerialization.data(withJSONObject: body)
            r.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        return r
    }

    /// Sends `request`, sleeping out 429s (retry-after-ms, else Retry-After) up to `retries` times; throws on
    /// any other non-200 with the server's message.
    static func send(session: URLSession, request: URLRequest, retries: Int, onWait: (Double) -> Void = { _ in }) throws
        -> Reply
    {
        var attempt = 0
        while true {
            let reply = try exchange(session: session, request: request)
            if reply.status == 200 { return reply }
            let message = (reply.json["error"] as? [String: Any])?["message"] as? String ?? "HTTP \(reply.status)"
            if reply.status == 429, attempt < retries {
                let wait = max(0.001, reply.retryAfter ?? 1)
                onWait(wait)
                Thread.sleep(forTimeInterval: wait)
                attempt += 1
                continue
            }
            throw HTTPTeacherError(url: request.url?.absoluteString ?? "?", status: reply.status, message: message)
        }
    }

    static func exchange(session: URLSession, request: URLRequest) throws -> Reply {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<(Data, HTTPURLResponse?), Error> = .failure(
            LabError.message("no answer"))
        session.dataTask(with: request) { data, response, error in
            if let error {
                result = .failure(error)
            } else {
                result = .success((data ?? Data(), response as? HTTPURLResponse))
            }
            done.signal()
        }.resume()
        done.wait()
        let data: Data, response: HTTPURLResponse?
        do {
            (data, response) = try result.get()
        } catch {
            throw HTTPTeacherError(
                url: request.url?.absoluteString ?? "?", status: nil, message: error.localizedDescription)
        }
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        let headers = response?.allHeaderFields ?? [:]
        func header(_ name: String) -> String? {
            headers.first { String(describing: $0.key).lowercased() == name }.map { String(describing: $0.value) }
        }
        let retry =
            header("retry-after-ms").flatMap(Double.init).map { $0 / 1000 }
            ?? header("retry-after").flatMap(Double.init)
        return Reply(status: response?.statusCode ?? 0, json: json, retryAfter: retry)
    }

    /// Next-token log-probabilities after each prompt, as V floats (unreported entries at −1e9).
    func distributions(_ prompts: [[Int32]]) throws -> [[Float]] {
        var out: [[Float]] = []
        for start in stride(from: 0, to: prompts.count, by: maxPromptsPerRequest) {
            let chunk = Array(prompts[start..<min(prompts.count, start + maxPromptsPerRequest)])
            let body: [String: Any] = ["model": model, "prompt": chunk.map { $0.map(Int.init) }]
            let reply = try Self.send(
                session: session, request: Self.request(endpoint, "/v1/x-lab/distribution", key: key, body: body),
                retries: maxRetries
            ) {
                self.rateLimited += 1
                self.waitedSeconds += $0
            }
            requests += 1
            guard let data = reply.json["data"] as? [[String: Any]], data.count == chunk.count else {
                throw LabError.message(
                    "\(endpoint): the distribution reply holds \((reply.json["data"] as? [Any])?.count ?? 0) rows for \(chunk.count) prompts"
                )
            }
            for row in data {
                var v = [Float](repeating: -1e9, count: vocabularySize)
                for entry in row["distribution"] as? [[String: Any]] ?? [] {
                    if let t = entry["token"] as? Int, t >= 0, t < vocabularySize, let lp = entry["logprob"] as? Double
                    {
                        v[t] = Float(max(lp, -1e9))
                    }
                }
                out.append(v)
            }
        }
        return out
    }

    public func logits(prompts: [[Int32]]) throws -> [[Float]] {
        let V = vocabularySize
        if allPositions {
            let prefixes = prompts.flatMap { p in (1...p.count).map { Array(p[0..<$0]) } }
            let rows = try distributions(prefixes)
            var out: [[Float]] = []
            var r = 0
            for p in prompts {
                out.append(Array(rows[r..<(r + p.count)].joined()))
                r += p.count
            }
            return out
        }
        let last = try distributions(prompts)
        return zip(prompts, last).map { p, row in [Float](repeating: 0, count: (p.count - 1) * V) + row }
    }

    public func decode(prompts: [[Int32]], maxNewTokens: Int, choose: StepChooser) throws -> [[Int32]] {
        var contexts = prompts
        var out = prompts.map { _ in [Int32]() }
        for _ in 0..<maxNewTokens {
            let rows = try distributions(contexts)
            let V = vocabularySize
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: rows.count * V)
            defer { buffer.deallocate() }
            for (i, row) in rows.enumerated() {
                row.withUnsafeBufferPointer { (buffer + i * V).update(from: $0.baseAddress!, count: V) }
            }
            let chosen = try choose(Array(prompts.indices), contexts, rows.indices.map { buffer + $0 * V })
            for (i, t) in chosen.enumerated() {
                contexts[i].append(t)
                out[i].append(t)
            }
        }
        return out
    }
}

/// A request the server did not answer with 200: `status` nil when nothing answered at all (refused, timed out).
public struct HTTPTeacherError: Error, CustomStringConvertible, Sendable {
    public var url: String
    public var status: Int?
    public var message: String

    public var description: String { "\(url): " + (status.map { "\($0): " } ?? "") + message }
}

/// LabExperiments' hook for `endpoint:` in attack experiments: opens an `HTTPTeacher`, sorting failures into
/// unreachable, refused key and not-a-teacher so the experiment's error names the key to fix.
public struct HTTPTeacherConnector: RemoteTeacherConnector {
    public init() {}

    public func connect(url: URL, apiKey: String, allPositions: Bool) throws -> any TeacherAPI {
        do {
            return try HTTPTeacher(endpoint: url, apiKey: apiKey, allPositions: allPositions)
        } catch let error as HTTPTeacherError {
            switch error.status {
            case nil: throw RemoteTeacherError(.unreachable, error.message)
            case 401?, 403?: throw RemoteTeacherError(.rejectedKey, "HTTP \(error.status ?? 0): \(error.message)")
            default: throw RemoteTeacherError(.notATeacher, error.description)
            }
        }
    }
}
