// CellStore: the cells directory — one JSON file per finished cell, named by the cell's content hash, written
// atomically (temporary file + rename), so a file that exists is complete and a killed run leaves at worst a
// temporary file that is never read. Resume and merge are both "which hashes have a file". Not the results
// writers, which assemble these files into tables.
import Foundation
import LabCore

/// A finished cell as stored: the result, plus when and how long (the timing goes to manifests only).
public struct CellRecord: Codable, Equatable, Sendable {
    public var hash: String
    public var kind: String
    /// Index and labels when the cell was computed (informative; results take them from the current plan).
    public var index: Int
    public var labels: [String]
    public var result: CellResult
    /// Wall-clock seconds the cell took, teacher training included when this cell triggered it.
    public var seconds: Double
    /// Which shard computed it ("1/1" for an unsharded run).
    public var shard: String
    /// The git commit of the lab that computed it ("unknown" outside a repository), so a grid finished
    /// across several runs or shards says which code made each cell.
    public var commit: String?
}

public struct CellStore {
    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    func url(_ hash: String) -> URL { directory.appendingPathComponent("\(hash).json") }

    public func contains(_ hash: String) -> Bool {
        FileManager.default.fileExists(atPath: url(hash).path)
    }

    /// The stored record, or nil when the cell has not finished. A file that exists but does not decode was
    /// edited or damaged by hand: an error naming it.
    public func record(_ hash: String) throws -> CellRecord? {
        let u = url(hash)
        guard FileManager.default.fileExists(atPath: u.path) else { return nil }
        do {
            let record = try JSONDecoder().decode(CellRecord.self, from: Data(contentsOf: u))
            guard record.hash == hash else { throw LabError.message("it holds cell \(record.hash)") }
            return record
        } catch {
            throw LabError.file(
                path: u.path,
                message:
                    "is not a valid cell record (\(DecodingErrorText.describe(error))); delete it to recompute the cell"
            )
        }
    }

    public func write(_ record: CellRecord) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(encoder.encode(record), to: url(record.hash))
    }

    /// Hashes of every finished cell in the directory.
    public func hashes() -> Set<String> {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return Set(names.filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.map { String($0.dropLast(5)) })
    }

    /// Removes the finished cells with these hashes (for `run --fresh --shard`).
    public func remove(_ hashes: Set<String>) throws {
        for hash in hashes where contains(hash) { try FileManager.default.removeItem(at: url(hash)) }
    }

    /// Removes every finished cell and leftover temporary file (for `run --fresh`).
    public func clear() throws {
        guard FileManager.default.fileExists(atPath: directory.path) else { return }
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path)
        where name.hasSuffix(".json") || name.contains(".tmp-") {
            try FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
    }
}
