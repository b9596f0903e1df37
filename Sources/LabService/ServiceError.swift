// ServiceError: every refusal the HTTP service sends, in OpenAI's error-object shape
// ({"error": {"message", "type", "param", "code"}}) with its status and, for 429, how long to wait.
// Not the lab's own failures: an unexpected error becomes a 500 with no internals in the message.
import Foundation

public struct ServiceError: Error, Sendable, CustomStringConvertible {
    public var status: Int
    public var message: String
    public var type: String
    /// The request field at fault, when one is.
    public var param: String?
    public var code: String?
    /// Seconds until a retry can succeed (sent as Retry-After and retry-after-ms).
    public var retryAfter: Double?

    public init(
        status: Int, message: String, type: String = "invalid_request_error", param: String? = nil, code: String? = nil,
        retryAfter: Double? = nil
    ) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.retryAfter = retryAfter
    }

    public var description: String { "\(status) \(code ?? type): \(message)" }

    static func badRequest(_ param: String?, _ message: String, code: String? = nil) -> ServiceError {
        ServiceError(status: 400, message: message, param: param, code: code)
    }

    static let missingKey = ServiceError(
        status: 401, message: "no API key: send it as 'Authorization: Bearer KEY'", code: "invalid_api_key")
    static let unknownKey = ServiceError(
        status: 401, message: "incorrect API key provided; ask the operator for a key (distill-lab serve keys create)",
        code: "invalid_api_key")
    static let adminOnly = ServiceError(
        status: 403, message: "this endpoint needs an admin key", type: "permission_error", code: "admin_only")

    static func banned(since: Double) -> ServiceError {
        let when = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: since))
        return ServiceError(
            status: 403, message: "this account was banned at \(when) for its usage pattern", type: "permission_error",
            code: "account_banned")
    }

    static func rateLimited(_ seconds: Double, quota: Bool) -> ServiceError {
        ServiceError(
            status: 429,
            message: quota
                ? "daily request quota exhausted; it resets in \(Int(seconds.rounded(.up))) s"
                : "rate limit reached for requests; retry after \(String(format: "%.3f", seconds)) s",
            type: "requests", code: quota ? "quota_exceeded" : "rate_limit_exceeded", retryAfter: seconds)
    }

    /// The JSON body.
    var body: Data {
        var error: [String: Any] = [
            "message": message, "type": type, "param": param ?? NSNull(), "code": code ?? NSNull(),
        ]
        if let r = retryAfter { error["retry_after_seconds"] = r }
        return (try? JSONSerialization.data(withJSONObject: ["error": error], options: [.sortedKeys]))
            ?? Data("{\"error\":{}}".utf8)
    }
}
