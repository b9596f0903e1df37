// Service+Routes: the HTTP surface — OpenAI-compatible /v1/models and /v1/completions, the lab's extensions
// (/v1/x-lab/distribution, /v1/x-lab/label), /v1/usage, the admin endpoints, /metrics, the dashboard — each
// a thin translation: authenticate, parse, admit at the gateway, queue for the batcher, render. No model code.
import Foundation
import HTTPTypes
import Hummingbird
import LabAPI
import LabCore
import LabModel
import Logging
import NIOCore

extension Service {
    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/v1/models") { request, _ in await self.handle("models", request) { _ in try self.models(request) }
        }
        router.post("/v1/completions") { request, _ in
            await self.handle("completions", request) { try await self.completions(&$0) }
        }
        router.post("/v1/x-lab/distribution") { request, _ in
            await self.handle("x-lab-distribution", request) { try await self.scoring(&$0, kind: .distribution) }
        }
        router.post("/v1/x-lab/label") { request, _ in
            await self.handle("x-lab-label", request) { try await self.scoring(&$0, kind: .label) }
        }
        router.get("/v1/usage") { request, _ in await self.handle("usage", request) { try self.usage(&$0) } }
        router.post("/admin/keys") { request, _ in
            await self.handle("admin-keys", request) { try await self.createKey(&$0) }
        }
        router.post("/admin/bans") { request, _ in await self.handle("admin-bans", request) { try await self.ban(&$0) }
        }
        router.get("/admin/summary") { request, _ in
            await self.handle("admin-summary", request) { try self.summary(&$0) }
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(string: self.metrics.exposition)))
        }
        router.get("/dashboard") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: Dashboard.html(model: self.modelName))))
        }
        router.get("/health") { _, _ in Service.json(["status": "ok", "model": self.modelName]) }
    }

    /// Runs one handler: errors become OpenAI error objects, every answer is counted and logged (never the key).
    func handle(_ endpoint: String, _ request: Request, _ body: (inout Request) async throws -> Response) async
        -> Response
    {
        let start = ContinuousClock.now
        var request = request
        var response: Response
        do {
            response = try await body(&request)
        } catch let error as ServiceError {
            response = Self.errorResponse(error)
            metrics.refusal(error.code ?? error.type)
        } catch let error as APIRefusal {
            response = Self.errorResponse(.badRequest(nil, error.description, code: "policy_refusal"))
            metrics.refusal("policy_refusal")
        } catch is NIOTooManyBytesError {
            let e = ServiceError(
                status: 413,
                message: "the request body exceeds \(config.limits.maxBodyBytes) bytes; send a smaller request",
                code: "request_too_large")
            response = Self.errorResponse(e)
            metrics.refusal("request_too_large")
        } catch {
            logger.error("request failed", metadata: ["endpoint": "\(endpoint)", "error": "\(error)"])
            response = Self.errorResponse(
                ServiceError(
                    status: 500, message: "the server failed to answer; the request was not charged",
                    type: "server_error"))
            metrics.refusal("server_error")
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        metrics.request(endpoint: endpoint, status: Int(response.status.code), seconds: seconds)
        logger.debug(
            "request",
            metadata: ["endpoint": "\(endpoint)", "status": "\(response.status.code)", "ms": "\(Int(seconds * 1000))"])
        return response
    }

    static func errorResponse(_ error: ServiceError) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let r = error.retryAfter {
            headers[HTTPField.Name("Retry-After")!] = String(Int(r.rounded(.up)))
            headers[HTTPField.Name("retry-after-ms")!] = String(Int((r * 1000).rounded(.up)))
        }
        return Response(
            status: .init(code: error.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: error.body)))
    }

    static func json(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func json<T: Encodable>(encodable value: T) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    // MARK: Authentication

    /// The account of the request's bearer key: 401 without one or for an unknown one.
    func authenticate(_ request: Request) throws -> StoredAccount {
        guard let header = request.headers[.authorization] else { throw ServiceError.missingKey }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw ServiceError.missingKey }
        let key = parts[1].trimmingCharacters(in: .whitespaces)
        guard let account = try keys.account(hash: LedgerStore.hash(key: key), store: store) else {
            throw ServiceError.unknownKey
        }
        return account
    }

    func requireAdmin(_ request: Request) throws -> StoredAccount {
        let account = try authenticate(request)
        guard account.admin else { throw ServiceError.adminOnly }
        return account
    }

    func readBody(_ request: inout Request) async throws -> WireObject {
        let buffer = try await request.collectBody(upTo: config.limits.maxBodyBytes)
        return try WireObject(body: Data(buffer.readableBytesView))
    }

    func checkModel(_ name: String) throws {
        guard name == modelName else {
            throw ServiceError(
                status: 404, message: "the model '\(name)' does not exist; this server serves '\(modelName)'",
                param: "model", code: "model_not_found")
        }
    }

    // MARK: Endpoints

    func models(_ request: Request) throws -> Response {
        _ = try authenticate(request)
        return Self.json([
            "object": "list",
            "data": [
                [
                    "id": modelName, "object": "model", "created": Int(started.timeIntervalSince1970),
                    "owned_by": "distill-lab",
                    "x_lab": [
                        "vocabulary_size": teacher.vocabularySize, "context_length": teacher.contextLength,
                        "tokenizer": model.tokenizer.kind.rawValue,
                        "inference_flops_per_token": model.model.config.inferenceFlopsPerToken(sequenceLength: 0),
                        "attention_flops_coefficient": 4.0
                            * Double(model.model.config.layers * model.model.config.width),
                    ],
                ]
            ],
        ])
    }

    /// Admits `queries` for `account` at the gateway, then has the batcher answer and charge them. With `stream`,
    /// returns once the request's reservation is durable; the tokens and the settled answer reach `stream`.
    func serve(
        _ queries: [Query], account: StoredAccount, endpoint: String, requestID: String, stream: StreamTap? = nil
    ) async throws -> BatchResult {
        for (i, q) in queries.enumerated() {
            try q.validate(vocabularySize: teacher.vocabularySize, contextLength: teacher.contextLength, index: i)
            try policy.check(q, index: i)
        }
        switch try gateway.admit(queries, account: account.id) {
        case .admitted: break
        case let .banned(since): throw ServiceError.banned(since: since)
        case let .rateLimited(after): throw ServiceError.rateLimited(after, quota: false)
        case let .quotaExhausted(after): throw ServiceError.rateLimited(after, quota: true)
        }
        let result = try await batcher.submit(
            BatchJob(
                queries: queries, requestID: requestID, account: account.id, accountName: account.name,
                endpoint: endpoint, stream: stream))
        if stream != nil { return result }
        metrics.served(
            inputTokens: result.charge.usage.inputTokens, outputTokens: result.charge.usage.outputTokens,
            picodollars: result.charge.usage.cost.picodollars)
        return result
    }

    static func requestID(_ prefix: String) -> String {
        prefix + "-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    func completions(_ request: inout Request) async throws -> Response {
        let account = try authenticate(request)
        let body = try await readBody(&request)
        let tokenizer = model.tokenizer
        let parsed = try CompletionRequest(
            body, tokenizer: tokenizer, vocabularySize: teacher.vocabularySize, contextLength: teacher.contextLength,
            policy: policy, maxChoices: config.limits.maxChoices)
        try checkModel(parsed.model)
        let id = Self.requestID("cmpl")
        if IncrementalStream.fits(parsed, tokenizer: tokenizer) {
            let stream = IncrementalStream(
                id: id, created: Int(Date().timeIntervalSince1970), model: modelName, request: parsed,
                tokenizer: tokenizer)
            stream.begin()
            let metrics = self.metrics
            let tap = StreamTap(
                tokens: { stream.send($0) },
                done: { result in
                    if case let .success(answer) = result {
                        let u = answer.charge.usage
                        metrics.served(
                            inputTokens: u.inputTokens, outputTokens: u.outputTokens, picodollars: u.cost.picodollars)
                    }
                    stream.finish(result)
                })
            _ = try await serve(
                parsed.queries(tokenizer: tokenizer), account: account, endpoint: "completions", requestID: id,
                stream: tap)
            return Response(
                status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: ResponseBody(asyncSequence: stream.events))
        }
        let result = try await serve(
            parsed.queries(tokenizer: tokenizer), account: account, endpoint: "completions", requestID: id)
        let render = CompletionRendering(
            tokenizer: tokenizer, request: parsed, stopToken: parsed.stopToken(tokenizer: tokenizer))
        let choices = render.choices(result.responses)
        if parsed.stream {
            let chunks = CompletionStream.chunks(
                id: id, created: Int(Date().timeIntervalSince1970), model: modelName, choices: choices,
                usage: parsed.includeUsage ? UsageBody(result.charge.usage) : nil)
            return Response(
                status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: .init(byteBuffer: ByteBuffer(bytes: try CompletionStream.events(chunks))))
        }
        return try Self.json(
            encodable: CompletionBody(
                id: id, created: Int(Date().timeIntervalSince1970), model: modelName, choices: choices,
                usage: UsageBody(result.charge.usage)))
    }

    func scoring(_ request: inout Request, kind: QueryKind) async throws -> Response {
        let account = try authenticate(request)
        let body = try await readBody(&request)
        let tokenizer = model.tokenizer
        let parsed = try ExtensionRequest(
            body, tokenizer: tokenizer, vocabularySize: teacher.vocabularySize, contextLength: teacher.contextLength,
            maxChoices: config.limits.maxChoices)
        try checkModel(parsed.model)
        let id = Self.requestID(kind == .label ? "label" : "dist")
        let queries = parsed.prompts.map {
            kind == .label
                ? Query.label($0, logitBias: parsed.logitBias) : Query.distribution($0, logitBias: parsed.logitBias)
        }
        let result = try await serve(queries, account: account, endpoint: "x-lab-\(kind.rawValue)", requestID: id)
        let data = result.responses.enumerated().map { i, r -> ExtensionChoice in
            if kind == .label {
                return ExtensionChoice(
                    index: i,
                    label: r.tokens.first.map {
                        TokenBody(token: Int($0), text: tokenizer.symbol(for: Int($0)) ?? "", logprob: nil)
                    },
                    distribution: nil)
            }
            return ExtensionChoice(
                index: i, label: nil,
                distribution: r.distribution.map {
                    TokenBody(
                        token: Int($0.token), text: tokenizer.symbol(for: Int($0.token)) ?? "",
                        logprob: CompletionRendering.finite($0.logprob))
                })
        }
        return try Self.json(
            encodable: ExtensionBody(
                id: id, object: "x_lab.\(kind.rawValue)", model: modelName, data: data,
                usage: UsageBody(result.charge.usage)))
    }

    func usageObject(_ u: AccountUsage) -> [String: Any] {
        var o: [String: Any] = [
            "account": u.account.name, "id": u.account.id, "admin": u.account.admin, "requests": u.usage.queries,
            "prompt_tokens": u.usage.inputTokens, "completion_tokens": u.usage.outputTokens,
            "cost_picodollars": u.usage.cost.picodollars,
            "cost_dollars": NSDecimalNumber(decimal: u.usage.cost.dollars).doubleValue,
            "teacher_flops": u.usage.flops,
        ]
        o["banned_at"] = u.account.bannedAt ?? NSNull()
        o["last_request"] = u.lastRequest ?? NSNull()
        return o
    }

    /// Own usage; an admin sees every account (or one, with ?account=NAME). The store's `requests` counts
    /// served HTTP requests (ledger rows).
    func usage(_ request: inout Request) throws -> Response {
        let account = try authenticate(request)
        let asked = request.uri.queryParameters.get("account")
        if let asked, asked != account.name, !account.admin { throw ServiceError.adminOnly }
        if account.admin {
            let all = try store.usage()
            let rows = asked.map { name in all.filter { $0.account.name == name } } ?? all
            return Self.json(["object": "list", "data": rows.map(usageObject)])
        }
        guard let own = try store.usage(account: account.id).first else { throw ServiceError.unknownKey }
        return Self.json(usageObject(own).merging(["object": "usage"]) { a, _ in a })
    }

    func createKey(_ request: inout Request) async throws -> Response {
        _ = try requireAdmin(request)
        let body = try await readBody(&request)
        try body.rejectUnknown(allowed: ["name", "admin"])
        guard let name = try body.string("name") else {
            throw ServiceError.badRequest("name", "'name' is missing; name the new account")
        }
        let admin = try body.bool("admin") ?? false
        do {
            let (account, key) = try store.createAccount(name: name, admin: admin)
            logger.notice(
                "account created",
                metadata: ["account": "\(account.id)", "name": "\(account.name)", "admin": "\(admin)"])
            return Self.json(["object": "api_key", "id": account.id, "name": account.name, "admin": admin, "key": key])
        } catch let error as LabError {
            throw ServiceError.badRequest("name", error.description)
        }
    }

    func ban(_ request: inout Request) async throws -> Response {
        _ = try requireAdmin(request)
        let body = try await readBody(&request)
        try body.rejectUnknown(allowed: ["account", "reason"])
        guard let name = try body.string("account") else {
            throw ServiceError.badRequest("account", "'account' is missing; name the account to ban")
        }
        guard let target = try store.accounts().first(where: { $0.name == name }) else {
            throw ServiceError(
                status: 404, message: "no account called '\(name)'", param: "account", code: "account_not_found")
        }
        try gateway.ban(account: target.id, reason: try body.string("reason") ?? "operator")
        metrics.operatorBan()
        logger.notice("account banned by operator", metadata: ["account": "\(target.id)"])
        return Self.json(["object": "ban", "account": name])
    }

    func summary(_ request: inout Request) throws -> Response {
        _ = try requireAdmin(request)
        let accounts = try store.usage().map { u -> [String: Any] in
            var o = usageObject(u)
            o["suspicion"] = gateway.suspicion(account: u.account.id)
            return o
        }
        let alarms = try store.alarms().map { a -> [String: Any] in
            ["account": a.account, "detector": a.detector, "time": a.time, "served": a.served, "bans": a.bans]
        }
        return Self.json([
            "model": modelName, "uptime_seconds": Date().timeIntervalSince(started),
            "requests_per_minute": try store.requestsPerMinute(),
            "detectors": gateway.detectorNames, "accounts": accounts, "alarms": alarms,
            "now": Date().timeIntervalSince1970,
        ])
    }
}
