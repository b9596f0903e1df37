// Parallel: the lab's own parallel loops for the work that is not a BLAS call
// (attention, LayerNorm, GELU, losses, AdamW) and for splitting products across cores
// (`BLAS.parallelSgemm`). They run between single-threaded BLAS calls, never during one, so
// there is one set of threads on the cores, not two fighting over them.
//
// A training step opens a few hundred short parallel regions (tens of microseconds each).
// Waking a sleeping thread for each costs about as much as the region itself, so the lab keeps
// its own workers: after a region they spin briefly waiting for the next one, then sleep.
// Chunk `i` always covers the same indices whichever thread runs it, so results do not depend
// on scheduling. Work whose result depends on how it is cut — a reduction's partial sums, the
// shapes of split BLAS calls — is cut into `fixedChunks` pieces fixed by the problem, never by the
// worker count, so every result is the same at any --threads.
import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

public enum Parallel {
    /// The worker count outside any `withWorkers` scope: the machine's active cores.
    public static let defaultWorkers = max(1, ProcessInfoCores.active)

    /// Worker count for the lab's own loops on the calling thread: the innermost `withWorkers` scope's,
    /// else `defaultWorkers`. Regions run by the pool's helpers (and nested regions) see their caller's.
    public static var workers: Int {
        let stored = Int(bitPattern: pthread_getspecific(WorkerScope.key))
        return stored > 0 ? stored : defaultWorkers
    }

    /// Runs `body` with `workers` set to `n` (at least 1) on the calling thread, then restores the
    /// previous value. A run, a cell or a test picks its worker count this way; nothing is process-wide,
    /// so cells side by side on their own threads each keep theirs.
    public static func withWorkers<R>(_ n: Int, _ body: () throws -> R) rethrows -> R {
        let saved = pthread_getspecific(WorkerScope.key)
        pthread_setspecific(WorkerScope.key, UnsafeRawPointer(bitPattern: max(1, n)))
        defer { pthread_setspecific(WorkerScope.key, saved) }
        return try body()
    }

    /// Pieces a reduction or a split product is cut into, whatever the worker count: the order of
    /// additions (and each BLAS call's shape) depends only on the problem. Two, so that two workers
    /// (the reference machine's cores) run exactly the split they always ran.
    public static let fixedChunks = 2

    /// The chunk count `forFixedChunks` uses for `count` items of at least `minimumPerChunk` each.
    @inlinable
    public static func fixedChunkCount(_ count: Int, minimumPerChunk: Int = 1) -> Int {
        min(fixedChunks, max(1, count / max(1, minimumPerChunk)))
    }

    /// Runs `body(chunk, range)` for each of `fixedChunkCount(count, minimumPerChunk)` contiguous
    /// chunks of `0..<count` (chunk `c` covers `count·c/chunks ..< count·(c+1)/chunks`), spread over
    /// the workers; with fewer workers than chunks a worker runs several, in order. The chunks, and so
    /// the result, do not depend on `workers`.
    @inlinable
    public static func forFixedChunks(_ count: Int, minimumPerChunk: Int = 1, _ body: (Int, Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = fixedChunkCount(count, minimumPerChunk: minimumPerChunk)
        let range = { (c: Int) in (count * c / chunks)..<(count * (c + 1) / chunks) }
        let w = min(workers, chunks)
        if w <= 1 {
            for c in 0..<chunks { body(c, range(c)) }
            return
        }
        perform(w) { worker in
            var c = worker
            while c < chunks {
                body(c, range(c))
                c += w
            }
        }
    }

    /// Runs `body(range)` over `0..<count` split into at most `workers` contiguous chunks. Only for
    /// work where each index's result is computed on its own (element-wise, per row), so that how
    /// the indices are cut cannot change any number; reductions use `forFixedChunks`.
    /// Runs inline when the work is too small to be worth a thread (`count < minimumPerChunk * 2`).
    @inlinable
    public static func forChunks(_ count: Int, minimumPerChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        let chunks = min(workers, max(1, count / max(1, minimumPerChunk)))
        if chunks <= 1 || count <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        perform(chunks) { c in
            let lo = count * c / chunks
            let hi = count * (c + 1) / chunks
            if lo < hi { body(lo..<hi) }
        }
    }

    /// Runs `body(i)` for every `i` in `0..<count`, items spread over the workers in interleaved
    /// order (good for uneven items such as causal-attention heads).
    @inlinable
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        let w = min(workers, count)
        if w <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        perform(w) { worker in
            var i = worker
            while i < count {
                body(i)
                i += w
            }
        }
    }

    /// Runs `body(0) … body(n − 1)` concurrently and returns when all have finished; the caller
    /// runs `body(0)`. Uses the lab's spinning workers when they are free (one region at a time,
    /// process-wide); a region opened while another runs — nested, or from another thread — goes
    /// to Dispatch instead, so callers never wait on each other.
    public static func perform(_ n: Int, _ body: (Int) -> Void) {
        if n <= 1 {
            if n == 1 { body(0) }
            return
        }
        let scope = workers
        if let pool = WorkerPool.shared(size: n), pool.tryRun(n, scope: scope, body) { return }
        DispatchQueue.concurrentPerform(iterations: n) { i in withWorkers(scope) { body(i) } }
    }
}

/// The thread-local slot behind `Parallel.workers` (0, unset, reads as the default).
enum WorkerScope {
    static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
}

/// Persistent worker threads for `Parallel.perform`. Worker `w` (1…) runs item `w` of each region
/// (if there is one) and then acknowledges it; the caller runs item 0 and waits for every worker. Between regions a worker spins on the region counter for a short while
/// (about the gap between two kernels of a training step), then sleeps on a condition variable.
final class WorkerPool: @unchecked Sendable {
    /// Workers beside the caller.
    let helpers: Int
    private let generation = Atomic<Int>(0)
    private let pending = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    /// The region's body and item count; written by the caller before `generation` is bumped
    /// (release) and read by workers after they see the bump (acquire).
    private nonisolated(unsafe) var body: ((Int) -> Void)?
    private nonisolated(unsafe) var items = 0
    /// The caller's worker count, which the helpers take for the region (nested regions see it).
    private nonisolated(unsafe) var scope = 1
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private nonisolated(unsafe) var sleepers = 0

    /// Spin iterations before a worker sleeps (each one an atomic load; roughly 50–100 µs).
    static let spinLimit = 1 << 15

    private static let lock = Mutex<WorkerPool?>(nil)

    /// The process's pool, created on first use with `size − 1` workers; nil when a region needs
    /// more workers than the pool has (then Dispatch runs it).
    static func shared(size: Int) -> WorkerPool? {
        lock.withLock { pool in
            if let p = pool { return p.helpers >= size - 1 ? p : nil }
            let p = WorkerPool(helpers: max(size, Parallel.workers) - 1)
            pool = p
            return p
        }
    }

    private init(helpers: Int) {
        self.helpers = helpers
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
        for w in 1...max(1, helpers) where helpers > 0 {
            let thread = Thread { [unowned self] in self.workerLoop(w) }
            thread.name = "distill-lab worker \(w)"
            thread.start()
        }
    }

    /// Runs one region on the pool; false (nothing run) when another region holds it.
    func tryRun(_ n: Int, scope: Int, _ work: (Int) -> Void) -> Bool {
        guard n - 1 <= helpers, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else { return false }
        withoutActuallyEscaping(work) { work in
            body = work
            items = n
            self.scope = scope
            // Every worker acknowledges every region (those past `n` without running anything), so
            // none can lag into the next region and read its body.
            pending.store(helpers, ordering: .relaxed)
            generation.wrappingAdd(1, ordering: .releasing)
            pthread_mutex_lock(&mutex)
            if sleepers > 0 { pthread_cond_broadcast(&condition) }
            pthread_mutex_unlock(&mutex)
            work(0)
            var spins = 0
            while pending.load(ordering: .acquiring) > 0 {
                spins += 1
                if spins & 1023 == 0 { sched_yield() }
            }
            body = nil
        }
        busy.store(false, ordering: .releasing)
        return true
    }

    private func workerLoop(_ w: Int) {
        var seen = 0
        while true {
            var spins = 0
            var current = generation.load(ordering: .acquiring)
            while current == seen && spins < WorkerPool.spinLimit {
                spins += 1
                current = generation.load(ordering: .acquiring)
            }
            if current == seen {
                pthread_mutex_lock(&mutex)
                sleepers += 1
                while generation.load(ordering: .acquiring) == seen { pthread_cond_wait(&condition, &mutex) }
                sleepers -= 1
                pthread_mutex_unlock(&mutex)
                current = generation.load(ordering: .acquiring)
            }
            seen = current
            if w < items, let work = body { Parallel.withWorkers(scope) { work(w) } }
            pending.wrappingSubtract(1, ordering: .releasing)
        }
    }
}

/// Core count without Foundation in hot code paths.
public enum ProcessInfoCores {
    public static var active: Int {
        #if canImport(Glibc)
            return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
            return 2
        #endif
    }
}
