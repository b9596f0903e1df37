// TeacherCache: trained teachers on disk, filed by the content hash of their TeacherSpec, reused across cells,
// runs, shards and experiments. An entry is a checkpoint directory plus teacher.json, built in a temporary
// directory and renamed into place, so a killed run never leaves an entry that looks finished.
// Not an eviction policy: delete the directory (or an entry) to reclaim space.
import Foundation
import LabCore
import LabData
import LabModel

/// What training a teacher produced, apart from its weights: deterministic numbers (used in results) and
/// the wall time (used only in manifests).
public struct TeacherRecord: Codable, Equatable, Sendable {
    public var hash: String
    public var spec: TeacherSpec
    public var vocabularySize: Int
    public var parameters: Int
    public var finalTrainLoss: Double?
    public var finalValidationLoss: Double?
    public var trainingTokens: Int
    public var trainingFlops: Double
    /// Wall-clock seconds of training, on the machine that trained it.
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case hash, spec, vocabularySize = "vocabulary_size", parameters, finalTrainLoss = "final_train_loss"
        case finalValidationLoss = "final_validation_loss", trainingTokens = "training_tokens", trainingFlops =
            "training_flops", seconds
    }
}

/// A teacher ready to serve: the model, the corpus it was trained on, and its record.
public final class TrainedTeacher {
    public let model: LanguageModel
    public let corpus: Corpus
    public let record: TeacherRecord
    /// False when this process trained it.
    public let fromCache: Bool

    init(model: LanguageModel, corpus: Corpus, record: TeacherRecord, fromCache: Bool) {
        self.model = model
        self.corpus = corpus
        self.record = record
        self.fromCache = fromCache
    }
}

public final class TeacherCache {
    /// Bump when checkpoints or records change shape, or training changes numerically: old entries are ignored.
    public static let format = 1
    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    /// `$DISTILL_LAB_CACHE`, else `.distill-lab-cache` in the working directory (git-ignored in the repository).
    public static var defaultDirectory: URL {
        if let env = ProcessInfo.processInfo.environment["DISTILL_LAB_CACHE"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(
            ".distill-lab-cache")
    }

    var teachersDirectory: URL { directory.appendingPathComponent("teachers") }

    public func entry(_ hash: String) -> URL { teachersDirectory.appendingPathComponent(hash) }

    /// The cached teacher with this hash, or nil when there is none. A damaged entry is an error that says
    /// which directory to delete.
    public func load(hash: String, corpus: Corpus) throws -> TrainedTeacher? {
        let dir = entry(hash)
        let recordURL = dir.appendingPathComponent("teacher.json")
        guard FileManager.default.fileExists(atPath: recordURL.path) else { return nil }
        do {
            let record = try JSONDecoder().decode(TeacherRecord.self, from: Data(contentsOf: recordURL))
            let model = try LanguageModel.load(from: dir.appendingPathComponent("checkpoint"))
            guard record.hash == hash, model.tokenizer.vocabularySize == corpus.tokenizer.vocabularySize else {
                throw LabError.message("the entry does not match its spec")
            }
            return TrainedTeacher(model: model, corpus: corpus, record: record, fromCache: true)
        } catch {
            throw LabError.file(
                path: dir.path,
                message:
                    "cached teacher is damaged (\(DecodingErrorText.describe(error))); delete this directory and run again to retrain it"
            )
        }
    }

    /// Holds the entry `hash` for training: a second process asking for it waits here until the first has
    /// filed it (then loads it instead of training again).
    public func lockEntry(_ hash: String, log: (String) -> Void) throws -> FileLock {
        try FileLock(
            path: teachersDirectory.appendingPathComponent(".\(hash).lock").path,
            what: "teacher cache entry \(hash.prefix(12))", wait: true,
            hint: "",
            onWait: { pid in
                log(
                    "waiting for distill-lab process \(pid.map(String.init) ?? "?") to finish training teacher \(hash.prefix(12))"
                )
            })
    }

    /// Trains the teacher `spec` describes on `corpus` and files it under `hash` (unless another process
    /// filed it first, in which case that entry is used).
    public func train(_ spec: TeacherSpec, hash: String, corpus: Corpus, progress: ProgressReporter?) throws
        -> TrainedTeacher
    {
        let start = Date()
        let (model, history) = try LanguageModel.train(
            corpus: corpus, spec: spec.corpus, architecture: spec.model, training: spec.training, progress: progress)
        let V = corpus.tokenizer.vocabularySize
        let record = TeacherRecord(
            hash: hash, spec: spec, vocabularySize: V, parameters: model.model.config.parameterCount,
            finalTrainLoss: history.records.last.map { Double($0.trainLoss) },
            finalValidationLoss: history.finalValidationLoss.map(Double.init),
            trainingTokens: spec.trainingTokens, trainingFlops: spec.trainingFlops(vocabularySize: V),
            seconds: Date().timeIntervalSince(start))
        let fm = FileManager.default
        let temporary = teachersDirectory.appendingPathComponent(
            ".tmp-\(hash.prefix(16))-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
        do {
            try fm.createDirectory(at: temporary, withIntermediateDirectories: true)
            try model.save(to: temporary.appendingPathComponent("checkpoint"))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(encoder.encode(record), to: temporary.appendingPathComponent("teacher.json"))
        } catch {
            try? fm.removeItem(at: temporary)
            throw LabError.file(
                path: temporary.path,
                message:
                    "cannot write the teacher cache (\(error.localizedDescription)); check space and permissions, or set DISTILL_LAB_CACHE"
            )
        }
        if rename(temporary.path, entry(hash).path) != 0 {
            // Another run filed the same teacher meanwhile (rename cannot replace a non-empty directory): use theirs.
            try? fm.removeItem(at: temporary)
            if let existing = try load(hash: hash, corpus: corpus) { return existing }
            throw LabError.file(
                path: entry(hash).path, message: "cannot file the trained teacher (errno \(errno)); check permissions")
        }
        return TrainedTeacher(model: model, corpus: corpus, record: record, fromCache: false)
    }
}

/// Whole-file writes that readers see complete or not at all: a temporary file in the same directory, flushed
/// to disk, then renamed over the target.
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        let dir = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let temporary = dir.appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
        )
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw LabError.file(
                path: temporary.path, message: "cannot create (check the directory exists and is writable)")
        }
        do {
            let handle = try FileHandle(forWritingTo: temporary)
            try handle.write(contentsOf: data)
            try handle.synchronize()
            try handle.close()
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw LabError.file(path: url.path, message: "cannot write (\(error.localizedDescription))")
        }
        guard rename(temporary.path, url.path) == 0 else {
            let code = errno
            try? FileManager.default.removeItem(at: temporary)
            throw LabError.file(path: url.path, message: "cannot rename into place (errno \(code))")
        }
    }

    public static func write(_ text: String, to url: URL) throws {
        try write(Data(text.utf8), to: url)
    }
}
