// LedgerStore: the service's durable state in one SQLite file (GRDB, WAL mode) — accounts and their hashed
// API keys, one ledger row per served request (committed before its response is sent), alarms and bans.
// Not the in-memory Ledger of the simulations, and not the gateway's admission logic (LiveGateway).
import Foundation
import GRDB
import LabAPI
import LabCore
import LabExperiments

/// An API key holder as the store keeps it. The key itself is never stored, only its SHA-256.
public struct StoredAccount: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var admin: Bool
    public var createdAt: Double
    /// Unix seconds from which the account is banned; nil in good standing.
    public var bannedAt: Double?
    public var banReason: String?
}

/// One served request's charge: the ledger row. `requestID` is the response's `id`.
public struct ChargeRow: Sendable, Equatable {
    public var requestID: String
    public var account: Int64
    /// Unix seconds.
    public var time: Double
    public var endpoint: String
    public var usage: Usage
}

/// One account's totals.
public struct AccountUsage: Sendable, Equatable {
    public var account: StoredAccount
    public var usage: Usage
    public var lastRequest: Double?
}

public struct StoredAlarm: Sendable, Equatable {
    public var account: Int64
    public var detector: String
    public var time: Double
    public var served: Int
    public var bans: Bool
}

public final class LedgerStore: Sendable {
    let pool: DatabasePool
    public let path: String
    /// Unix seconds when the database was created: time zero of the gateway's clock.
    public let epoch: Double

    /// Opens (creating when missing) the database at `path`; throws `LabError.file` naming it when it cannot.
    public init(path: String) throws {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(10)
        do {
            pool = try DatabasePool(path: path, configuration: config)
            try Self.migrator.migrate(pool)
            epoch = try pool.write { db -> Double in
                if let value = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'epoch'"),
                    let e = Double(value)
                {
                    return e
                }
                let now = Date().timeIntervalSince1970
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('epoch', ?)", arguments: [String(now)])
                return now
            }
        } catch let error as DatabaseError {
            throw LabError.file(
                path: path,
                message:
                    "cannot open the service database (\(error.message ?? "\(error)")); check the path and permissions, or delete a corrupt file"
            )
        }
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                    CREATE TABLE accounts (
                        id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, key_hash TEXT NOT NULL UNIQUE,
                        admin INTEGER NOT NULL, created_at REAL NOT NULL, banned_at REAL, ban_reason TEXT);
                    CREATE TABLE charges (
                        id INTEGER PRIMARY KEY, request_id TEXT NOT NULL UNIQUE, account_id INTEGER NOT NULL REFERENCES accounts(id),
                        time REAL NOT NULL, endpoint TEXT NOT NULL, queries INTEGER NOT NULL, input_tokens INTEGER NOT NULL,
                        output_tokens INTEGER NOT NULL, cost_picodollars INTEGER NOT NULL, flops REAL NOT NULL);
                    CREATE INDEX charges_account_time ON charges (account_id, time);
                    CREATE INDEX charges_time ON charges (time);
                    CREATE TABLE alarms (
                        id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts(id), detector TEXT NOT NULL,
                        time REAL NOT NULL, served INTEGER NOT NULL, bans INTEGER NOT NULL);
                    """)
        }
        return m
    }

    /// SHA-256 of a key, hex: what the store keeps and looks keys up by.
    public static func hash(key: String) -> String { SHA256.hex(Data(key.utf8)) }

    /// A fresh key: "dl-" and 40 hex digits (160 bits) from the system's random source.
    public static func newKey() -> String {
        var g = SystemRandomNumberGenerator()
        return "dl-" + (0..<20).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &g)) }.joined()
    }

    /// Creates an account called `name` and returns its key (shown once; only its hash is stored).
    /// Throws `LabError.invalidConfig` naming the account when the name is taken or malformed.
    public func createAccount(name: String, admin: Bool) throws -> (StoredAccount, key: String) {
        guard !name.isEmpty, name.count <= 64, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) })
        else {
            throw LabError.invalidConfig(
                key: "name", message: "'\(name)' is not an account name; use 1–64 letters, digits, '-', '_' or '.'")
        }
        let key = Self.newKey()
        let now = Date().timeIntervalSince1970
        do {
            let id = try pool.write { db -> Int64 in
                try db.execute(
                    sql: "INSERT INTO accounts (name, key_hash, admin, created_at) VALUES (?, ?, ?, ?)",
                    arguments: [name, Self.hash(key: key), admin, now])
                return db.lastInsertedRowID
            }
            return (StoredAccount(id: id, name: name, admin: admin, createdAt: now), key)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw LabError.invalidConfig(
                key: "name", message: "an account called '\(name)' already exists; choose another name")
        }
    }

    static func account(_ row: Row) -> StoredAccount {
        StoredAccount(
            id: row["id"], name: row["name"], admin: row["admin"], createdAt: row["created_at"],
            bannedAt: row["banned_at"], banReason: row["ban_reason"])
    }

    /// The account whose key hashes to `keyHash`, or nil.
    public func account(keyHash: String) throws -> StoredAccount? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM accounts WHERE key_hash = ?", arguments: [keyHash]).map(
                Self.account)
        }
    }

    public func account(id: Int64) throws -> StoredAccount? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM accounts WHERE id = ?", arguments: [id]).map(Self.account)
        }
    }

    public func accounts() throws -> [StoredAccount] {
        try pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM accounts ORDER BY id").map(Self.account) }
    }

    /// Records the ban of `account` from `time` (the earliest ban stands).
    public func ban(account: Int64, at time: Double, reason: String) throws {
        try pool.write { db in
            try db.execute(
                sql:
                    "UPDATE accounts SET banned_at = ?, ban_reason = ? WHERE id = ? AND (banned_at IS NULL OR banned_at > ?)",
                arguments: [time, reason, account, time])
        }
    }

    /// Commits every row in one transaction (one fsync for a whole batch); returns once it is durable.
    /// Inserts `rows` and replaces the usage of the rows already committed under `settling`'s request ids (a
    /// streamed request's reservation, settled to what it was served), in one transaction.
    public func commit(_ rows: [ChargeRow], settling: [ChargeRow] = []) throws {
        guard !rows.isEmpty || !settling.isEmpty else { return }
        try pool.write { db in
            let update = try db.cachedStatement(
                sql: """
                    UPDATE charges SET queries = ?, input_tokens = ?, output_tokens = ?, cost_picodollars = ?, flops = ?
                    WHERE request_id = ?
                    """)
            for r in settling {
                try update.execute(arguments: [
                    r.usage.queries, r.usage.inputTokens, r.usage.outputTokens, r.usage.cost.picodollars, r.usage.flops,
                    r.requestID,
                ])
                guard db.changesCount == 1 else {
                    throw LabError.message("no reserved charge for request \(r.requestID) to settle")
                }
            }
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO charges (request_id, account_id, time, endpoint, queries, input_tokens, output_tokens, cost_picodollars, flops)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            for r in rows {
                try statement.execute(arguments: [
                    r.requestID, r.account, r.time, r.endpoint, r.usage.queries, r.usage.inputTokens,
                    r.usage.outputTokens, r.usage.cost.picodollars, r.usage.flops,
                ])
            }
        }
    }

    public func record(_ alarm: StoredAlarm) throws {
        try pool.write { db in
            try db.execute(
                sql: "INSERT INTO alarms (account_id, detector, time, served, bans) VALUES (?, ?, ?, ?, ?)",
                arguments: [alarm.account, alarm.detector, alarm.time, alarm.served, alarm.bans])
        }
    }

    public func alarms() throws -> [StoredAlarm] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM alarms ORDER BY time, id").map {
                StoredAlarm(
                    account: $0["account_id"], detector: $0["detector"], time: $0["time"], served: $0["served"],
                    bans: $0["bans"])
            }
        }
    }

    /// Totals of `account`, or of every account when nil (accounts without requests included).
    public func usage(account: Int64? = nil) throws -> [AccountUsage] {
        try pool.read { db in
            let filter = account == nil ? "" : "WHERE a.id = ?"
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT a.*, COUNT(c.id) AS q, COALESCE(SUM(c.input_tokens), 0) AS i, COALESCE(SUM(c.output_tokens), 0) AS o,
                           COALESCE(SUM(c.cost_picodollars), 0) AS p, COALESCE(SUM(c.flops), 0) AS f, MAX(c.time) AS last
                    FROM accounts a LEFT JOIN charges c ON c.account_id = a.id \(filter) GROUP BY a.id ORDER BY a.id
                    """, arguments: account.map { [$0] } ?? [])
            return rows.map { row in
                let queries: Int = row["q"]
                return AccountUsage(
                    account: Self.account(row),
                    usage: Usage(
                        queries: queries, inputTokens: row["i"], outputTokens: row["o"],
                        cost: Money(picodollars: row["p"]), flops: row["f"]),
                    lastRequest: row["last"])
            }
        }
    }

    /// Every ledger row (tests and reconciliation), in commit order.
    public func charges() throws -> [ChargeRow] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM charges ORDER BY id").map {
                ChargeRow(
                    requestID: $0["request_id"], account: $0["account_id"], time: $0["time"], endpoint: $0["endpoint"],
                    usage: Usage(
                        queries: $0["queries"], inputTokens: $0["input_tokens"], outputTokens: $0["output_tokens"],
                        cost: Money(picodollars: $0["cost_picodollars"]), flops: $0["flops"]))
            }
        }
    }

    /// Ledger rows committed since `time` (Unix seconds), per minute over the window.
    public func requestsPerMinute(window seconds: Double = 60) throws -> Double {
        let since = Date().timeIntervalSince1970 - seconds
        let n = try pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM charges WHERE time >= ?", arguments: [since]) ?? 0
        }
        return Double(n) * 60 / seconds
    }

    /// Whether the journal is in WAL mode (it is for a DatabasePool).
    public func journalMode() throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }
}
