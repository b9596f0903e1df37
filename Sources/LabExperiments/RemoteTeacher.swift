// RemoteTeacher: the hook through which an experiment's attacker reaches a teacher served elsewhere (`endpoint:`
// in an attack experiment) — a connector protocol that a higher layer implements (LabService's HTTP client) and
// the program running experiments passes in `RunOptions.remoteTeachers`, and the `endpoint:` section itself.
// Not an HTTP client: this room speaks no wire format.
import Foundation
import LabAPI
import LabCore

/// Opens a served teacher. `distill-lab` passes LabService's `HTTPTeacherConnector`; a program that passes none
/// can still validate and run every experiment that names no endpoint.
public protocol RemoteTeacherConnector: Sendable {
    /// The teacher served at `url`, reached with `apiKey`; `allPositions` asks for every prefix of a prompt
    /// to be scored (echo harvests). Throws `RemoteTeacherError` when the server cannot be used.
    func connect(url: URL, apiKey: String, allPositions: Bool) throws -> any TeacherAPI
}

/// Why a served teacher could not be used, as a connector reports it.
public struct RemoteTeacherError: Error, CustomStringConvertible, Sendable {
    public enum Reason: Sendable {
        /// Nothing answered at the URL (refused, timed out, unknown host).
        case unreachable
        /// The server refused the key (401 unknown key, 403 banned).
        case rejectedKey
        /// Something answered that is not a distill-lab teacher (no x_lab block, another status).
        case notATeacher
    }
    public var reason: Reason
    public var message: String

    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { message }
}

/// `endpoint:` — the served teacher the attacker's queries go to instead of the in-process one. The API key is
/// never written in the file: `api_key_env` names the environment variable that holds it.
public struct EndpointSpec: Codable, Equatable, Sendable {
    /// Base URL of a `distill-lab serve` process, e.g. http://127.0.0.1:8080.
    public var url: String
    /// The environment variable holding the API key (e.g. DISTILL_LAB_API_KEY).
    public var apiKeyEnvironment: String

    enum CodingKeys: String, CodingKey { case url, apiKeyEnvironment = "api_key_env" }

    public init(url: String, apiKeyEnvironment: String) {
        self.url = url
        self.apiKeyEnvironment = apiKeyEnvironment
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let path = decoder.codingPath.map(\.stringValue)
        guard c.contains(.url) else {
            throw SpecIssue(path + ["url"], "is missing", fix: "add e.g. `url: http://127.0.0.1:8080`")
        }
        guard c.contains(.apiKeyEnvironment) else {
            throw SpecIssue(
                path + ["api_key_env"], "is missing; the API key is read from an environment variable",
                fix: "add e.g. `api_key_env: DISTILL_LAB_API_KEY`")
        }
        url = try c.decode(String.self, forKey: .url)
        apiKeyEnvironment = try c.decode(String.self, forKey: .apiKeyEnvironment)
        guard let parsed = URL(string: url), parsed.scheme == "http" || parsed.scheme == "https", parsed.host != nil
        else {
            throw SpecIssue(
                path + ["url"], "is '\(url)'; allowed: an http:// or https:// base URL",
                fix: "e.g. http://127.0.0.1:8080 (what `distill-lab serve` prints on start)")
        }
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
        guard !apiKeyEnvironment.isEmpty, apiKeyEnvironment.unicodeScalars.allSatisfy(allowed.contains),
            apiKeyEnvironment.first?.isNumber == false
        else {
            throw SpecIssue(
                path + ["api_key_env"],
                "is '\(apiKeyEnvironment)'; allowed: an environment variable's name (letters, digits, '_')",
                fix: "name the variable, not the key, e.g. `api_key_env: DISTILL_LAB_API_KEY`")
        }
    }

    /// The served teacher, connected through `connector`; every failure names the key to change and the fix.
    func connect(
        with connector: (any RemoteTeacherConnector)?, allPositions: Bool,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> any TeacherAPI {
        guard let connector else {
            throw LabError.invalidConfig(
                key: "endpoint",
                message:
                    "this program cannot reach served teachers (no RemoteTeacherConnector in RunOptions.remoteTeachers); run the file with `distill-lab run`, or pass LabService's HTTPTeacherConnector()"
            )
        }
        guard let key = environment[apiKeyEnvironment], !key.isEmpty else {
            throw LabError.invalidConfig(
                key: "endpoint.api_key_env",
                message:
                    "the environment variable \(apiKeyEnvironment) is not set; export it with a key of the server at \(url) (`distill-lab serve keys create CONFIG --name NAME` prints one): export \(apiKeyEnvironment)=KEY"
            )
        }
        guard let parsed = URL(string: url) else {
            throw LabError.invalidConfig(key: "endpoint.url", message: "'\(url)' is not a URL")
        }
        do {
            return try connector.connect(url: parsed, apiKey: key, allPositions: allPositions)
        } catch let error as RemoteTeacherError {
            switch error.reason {
            case .unreachable:
                throw LabError.invalidConfig(
                    key: "endpoint.url",
                    message:
                        "nothing answers at \(url) (\(error.message)); start the server (`distill-lab serve CONFIG` prints the URL it listens on) or correct endpoint.url"
                )
            case .rejectedKey:
                throw LabError.invalidConfig(
                    key: "endpoint.api_key_env",
                    message:
                        "the server at \(url) refused the key in \(apiKeyEnvironment) (\(error.message)); export \(apiKeyEnvironment) with a key that server issued (`distill-lab serve keys create CONFIG --name NAME`)"
                )
            case .notATeacher:
                throw LabError.invalidConfig(
                    key: "endpoint.url",
                    message:
                        "\(url) is not a distill-lab teacher (\(error.message)); point endpoint.url at a `distill-lab serve` process"
                )
            }
        }
    }
}
