// RunContext: what a kind may use while running a cell — corpora, teachers and any value a kind memoises, built
// or loaded once and kept for the next cells, the teacher cache on disk, and a place to report progress. Not the
// runner's bookkeeping (which cells are done), which kinds never see.
import Foundation
import LabCore
import LabData
import LabModel

public final class RunContext {
    public let cache: TeacherCache
    /// Progress bars for long steps inside a cell (teacher training); off in tests.
    public let showProgress: Bool
    /// Lines for the user (standard error), e.g. "training teacher 3f2a… (500 steps)".
    public let log: (String) -> Void
    /// Reaches teachers served elsewhere (`endpoint:` in attack cells); nil when the program passed none.
    public let remoteTeachers: (any RemoteTeacherConnector)?

    var corpora: [String: Corpus] = [:]
    var teachers: [String: TrainedTeacher] = [:]
    /// Most recently used first; a few teachers stay in memory, the rest are reloaded from the cache.
    var teacherOrder: [String] = []
    static let teachersInMemory = 4

    /// What kinds built with `memo`, most recently used first.
    var memos: [(key: String, value: Any)] = []
    static let memosInMemory = 4

    /// Teachers this context trained, and loaded from disk: for the manifest.
    public private(set) var trained: [TeacherRecord] = []
    public private(set) var loadedFromCache: [String] = []

    public init(
        cache: TeacherCache, showProgress: Bool = true, log: @escaping (String) -> Void = { _ in },
        remoteTeachers: (any RemoteTeacherConnector)? = nil
    ) {
        self.cache = cache
        self.showProgress = showProgress
        self.log = log
        self.remoteTeachers = remoteTeachers
    }

    /// The corpus `spec` describes, built once per run.
    public func corpus(_ spec: CorpusSpec) throws -> Corpus {
        let key = try CanonicalJSON.string(spec)
        if let c = corpora[key] { return c }
        let c = try spec.build()
        if corpora.count >= 8 { corpora.removeAll() }
        corpora[key] = c
        return c
    }

    /// The teacher `spec` describes: from memory, else from the cache, else trained now and cached.
    public func teacher(_ spec: TeacherSpec) throws -> TrainedTeacher {
        let hash = try spec.contentHash()
        if let t = teachers[hash] {
            touch(hash)
            return t
        }
        let corpus = try self.corpus(spec.corpus)
        let teacher: TrainedTeacher
        if let cached = try cache.load(hash: hash, corpus: corpus) {
            loadedFromCache.append(hash)
            teacher = cached
        } else {
            // One process trains each entry: shards started together queue on the entry's lock, then read it.
            let entryLock = try cache.lockEntry(hash, log: log)
            defer { withExtendedLifetime(entryLock) {} }
            if let cached = try cache.load(hash: hash, corpus: corpus) {
                loadedFromCache.append(hash)
                teacher = cached
            } else {
                log(
                    "training teacher \(hash.prefix(12)) (\(spec.corpus.kind.rawValue), width \(spec.model.width), \(spec.model.layers) layers, \(spec.training.steps) steps)"
                )
                // A nested bar only on a terminal, where it redraws in place; in logs it would bury the cell lines.
                let progress =
                    showProgress && isatty(STDERR_FILENO) != 0
                    ? ProgressReporter(total: spec.training.steps, label: "  teacher \(hash.prefix(8))") : nil
                teacher = try cache.train(spec, hash: hash, corpus: corpus, progress: progress)
                trained.append(teacher.record)
            }
        }
        teachers[hash] = teacher
        touch(hash)
        while teacherOrder.count > Self.teachersInMemory, let old = teacherOrder.popLast() { teachers[old] = nil }
        return teacher
    }

    /// A value a kind builds once and reuses in later cells of the run (e.g. the campaign kind's benign world
    /// and teacher): `build` runs the first time `key` is asked for, or again once it has dropped out of the
    /// few kept. Keys are the kind's to choose; prefix them with its name. The value must not depend on
    /// anything but the key, so that reusing it cannot change a cell's numbers.
    public func memo<T>(_ key: String, build: () throws -> T) rethrows -> T {
        if let i = memos.firstIndex(where: { $0.key == key }), let value = memos[i].value as? T {
            memos.insert(memos.remove(at: i), at: 0)
            return value
        }
        let value = try build()
        memos.removeAll { $0.key == key }
        memos.insert((key, value), at: 0)
        if memos.count > Self.memosInMemory { memos.removeLast() }
        return value
    }

    func touch(_ hash: String) {
        teacherOrder.removeAll { $0 == hash }
        teacherOrder.insert(hash, at: 0)
    }
}
