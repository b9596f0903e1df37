// Batcher: the one thread that owns the teacher. Concurrent requests wait up to a short window to join one
// batch; the batch is answered by one `TeacherAPI.answer` call (one batched forward for scoring queries, one
// batched KV-cached decode for completions), its charges are committed to the store in one transaction, and
// only then are the waiting requests resumed. Not HTTP (Routes) and not admission (LiveGateway).
import Foundation
import LabAPI
import LabCore

/// A request's queries and what the ledger should record for it once they are answered.
struct BatchJob: Sendable {
    var queries: [Query]
    var requestID: String
    var account: Int64
    var endpoint: String
}

/// What a finished job gives back: the answers (with priced usage) and the charge committed for them.
struct BatchResult: Sendable {
    var responses: [Response]
    var charge: ChargeRow
}

final class Batcher: @unchecked Sendable {
    private let teacher: any TeacherAPI
    private let defences: DefencePipeline
    private let prices: PriceTable
    private let store: LedgerStore
    private let window: Double
    private let maxBatch: Int
    private let seed: UInt64
    /// Worker count for the teacher's forward passes and decodes on the batch thread.
    private let workers: Int
    private let condition = NSCondition()
    private var pending: [(job: BatchJob, done: CheckedContinuation<BatchResult, Error>)] = []
    private var stopping = false
    private var thread: Thread?
    private var batches: UInt64 = 0
    /// Jobs in the previous batch.
    private var lastJobs = 0
    private let onBatch: @Sendable (_ queries: Int, _ seconds: Double) -> Void

    init(
        teacher: any TeacherAPI, defences: DefencePipeline, prices: PriceTable, store: LedgerStore,
        batching: ServiceConfig.Batching, seed: UInt64, workers: Int,
        onBatch: @escaping @Sendable (Int, Double) -> Void = { _, _ in }
    ) {
        self.teacher = teacher
        self.defences = defences
        self.prices = prices
        self.store = store
        window = batching.windowMilliseconds / 1000
        maxBatch = batching.maxBatch
        self.seed = seed
        self.workers = workers
        self.onBatch = onBatch
    }

    func start() {
        let t = Thread { [self] in Parallel.withWorkers(workers) { loop() } }
        t.name = "teacher"
        t.stackSize = 8 << 20
        thread = t
        t.start()
    }

    /// Answers `job` in some batch; throws what the teacher or the store threw.
    func submit(_ job: BatchJob) async throws -> BatchResult {
        try await withCheckedThrowingContinuation { done in
            condition.lock()
            if stopping {
                condition.unlock()
                done.resume(throwing: LabError.message("the server is shutting down"))
                return
            }
            pending.append((job, done))
            condition.signal()
            condition.unlock()
        }
    }

    /// Finishes the jobs already queued, then ends the thread.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while pending.isEmpty && !stopping { condition.wait() }
            if pending.isEmpty && stopping {
                condition.unlock()
                return
            }
            // The first job waits up to the window for others, unless the batch is already full — and only
            // when the last batch showed concurrent traffic: a lone client pays no window. Under load, jobs
            // also queue while a batch computes, so batches form without any waiting.
            let deadline = Date().addingTimeInterval(lastJobs > 1 ? window : 0)
            while !stopping && queued() < maxBatch && Date() < deadline { _ = condition.wait(until: deadline) }
            var taken: [(job: BatchJob, done: CheckedContinuation<BatchResult, Error>)] = []
            var size = 0
            while let next = pending.first, taken.isEmpty || size + next.job.queries.count <= maxBatch {
                taken.append(next)
                size += next.job.queries.count
                pending.removeFirst()
            }
            condition.unlock()
            lastJobs = taken.count
            run(taken)
        }
    }

    private func queued() -> Int { pending.reduce(0) { $0 + $1.job.queries.count } }

    private func run(_ taken: [(job: BatchJob, done: CheckedContinuation<BatchResult, Error>)]) {
        let start = Date()
        var server = LabRNG(seed: seed, stream: "batch-\(batches)")
        batches += 1
        let queries = taken.flatMap(\.job.queries)
        do {
            let answered = try teacher.answer(queries, defences: defences, seed: server.next())
            var results: [BatchResult] = []
            var offset = 0
            let now = Date().timeIntervalSince1970
            for (job, _) in taken {
                var responses = Array(answered[offset..<(offset + job.queries.count)])
                offset += job.queries.count
                var total = Usage.zero
                for i in responses.indices {
                    let u = responses[i].usage
                    responses[i].usage.cost = prices.cost(inputTokens: u.inputTokens, outputTokens: u.outputTokens)
                    total = total + responses[i].usage
                }
                results.append(
                    BatchResult(
                        responses: responses,
                        charge: ChargeRow(
                            requestID: job.requestID, account: job.account, time: now,
                            endpoint: job.endpoint, usage: total)))
            }
            // The charges are durable before any response of the batch can leave.
            try store.commit(results.map(\.charge))
            onBatch(queries.count, Date().timeIntervalSince(start))
            for (i, (_, done)) in taken.enumerated() { done.resume(returning: results[i]) }
        } catch {
            for (_, done) in taken { done.resume(throwing: error) }
        }
    }
}
