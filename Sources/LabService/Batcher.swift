// Batcher: the one thread that owns the teacher. Concurrent requests wait up to a short window to join one
// batch; the batch is answered by one `TeacherAPI.answer` call (one batched forward for scoring queries, one
// batched KV-cached decode for completions), its charges are committed to the store in one transaction, and
// only then are the waiting requests resumed. A streamed request is charged its most before decoding starts and
// receives its tokens as they are decoded, its charge settled to what was generated in the batch's transaction.
// Not HTTP (Routes) and not admission (LiveGateway).
import Foundation
import LabAPI
import LabCore

/// A request's queries and what the ledger should record for it once they are answered.
struct BatchJob: Sendable {
    var queries: [Query]
    var requestID: String
    var account: Int64
    /// The account's name: what its per-account watermark key is derived from.
    var accountName: String
    var endpoint: String
    /// Where a streamed request's completion tokens go as they are decoded (nil: answered whole).
    var stream: StreamTap?
}

/// One completion token of a streamed request, as decoded: which of the request's completions (in query order)
/// it belongs to, and whether it is that completion's last (its max_tokens reached, or its stop token drawn).
struct StreamedToken: Sendable {
    var completion: Int
    var token: Int32
    var last: Bool
    /// The token's served log-probability (nil when a defence left it unreported) and the top-k, as a plain
    /// answer reports them; nil when the completion asked for no logprobs.
    var logprobs: (token: Double?, top: [TokenLogprob])?
}

/// A last pipeline stage that changes nothing and keeps the rows it saw: after a decoding step, the served rows
/// of that step's live sequences, from which a streamed token's logprobs are read as the plain answer reads them.
final class RowTap: Defence, @unchecked Sendable {
    let name = "row_tap"
    var parameters: [(key: String, value: String)] { [] }
    private(set) var rows: [DistributionRow] = []
    func apply(to rows: inout [DistributionRow]) throws { self.rows = rows }
}

/// A streamed request's sink. `tokens` is called on the teacher's thread at every decoding step with the
/// tokens drawn for the request; `done` once, with the finished answer (charge settled) or why decoding failed.
struct StreamTap: Sendable {
    var tokens: @Sendable ([StreamedToken]) -> Void
    var done: @Sendable (Result<BatchResult, Error>) -> Void
}

/// The batcher's teacher with a hook on each decoding step (what streamed requests are sent from); otherwise
/// the teacher itself, so answers are the same with or without a hook.
final class TappedTeacher: TeacherAPI, @unchecked Sendable {
    let inner: any TeacherAPI
    /// Called after each step's draws with the decode call's sequence indices and the tokens drawn.
    var onStep: ((_ sequences: [Int], _ chosen: [Int32]) -> Void)?

    init(_ inner: any TeacherAPI) { self.inner = inner }

    var vocabularySize: Int { inner.vocabularySize }
    var contextLength: Int { inner.contextLength }
    func inferenceFlops(positions: Int) -> Double { inner.inferenceFlops(positions: positions) }
    func logits(prompts: [[Int32]]) throws -> [[Float]] { try inner.logits(prompts: prompts) }

    func decode(prompts: [[Int32]], maxNewTokens: Int, choose: StepChooser) throws -> [[Int32]] {
        guard let onStep else { return try inner.decode(prompts: prompts, maxNewTokens: maxNewTokens, choose: choose) }
        return try inner.decode(prompts: prompts, maxNewTokens: maxNewTokens) { sequences, contexts, rows in
            let chosen = try choose(sequences, contexts, rows)
            onStep(sequences, chosen)
            return chosen
        }
    }
}

/// What a finished job gives back: the answers (with priced usage) and the charge committed for them.
struct BatchResult: Sendable {
    var responses: [Response]
    var charge: ChargeRow
}

final class Batcher: @unchecked Sendable {
    private let teacher: TappedTeacher
    private let pipelines: DefencePipelines
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
        teacher: any TeacherAPI, pipelines: DefencePipelines, prices: PriceTable, store: LedgerStore,
        batching: ServiceConfig.Batching, seed: UInt64, workers: Int,
        onBatch: @escaping @Sendable (Int, Double) -> Void = { _, _ in }
    ) {
        self.teacher = TappedTeacher(teacher)
        self.pipelines = pipelines
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

    /// Answers `job` in some batch; throws what the teacher or the store threw. A streamed job returns once its
    /// reservation (its most: every completion at max_tokens) is durable, with that charge and no responses;
    /// its tokens and its settled answer then arrive through its `StreamTap`.
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

    /// A streamed job's charge before decoding: every query at its most output tokens.
    private func reservation(_ job: BatchJob, time: Double) -> ChargeRow {
        var total = Usage.zero
        for q in job.queries {
            let n = q.prompt.count, out = q.maxOutputTokens
            total =
                total
                + Usage(
                    queries: 1, inputTokens: n, outputTokens: out,
                    cost: prices.cost(inputTokens: n, outputTokens: out),
                    flops: teacher.inferenceFlops(positions: q.kind == .completion ? n + out - 1 : n))
        }
        return ChargeRow(
            requestID: job.requestID, account: job.account, time: time, endpoint: job.endpoint, usage: total)
    }

    /// Routes each decoding step's draws to the streamed jobs among `group` (indices into `taken`): the decode
    /// call's sequences are the group's completion queries in order; a sequence past its end draws filler.
    /// Returns the row tap to append to the group's pipeline when a streamed job asks for logprobs.
    private func tap(_ taken: [(job: BatchJob, done: CheckedContinuation<BatchResult, Error>)], group: [Int])
        -> RowTap?
    {
        guard group.contains(where: { taken[$0].job.stream != nil }) else {
            teacher.onStep = nil
            return nil
        }
        let wantsLogprobs = group.contains { i in
            taken[i].job.stream != nil && taken[i].job.queries.contains { $0.kind == .completion && $0.logprobs != nil }
        }
        let rowTap = wantsLogprobs ? RowTap() : nil
        var owners: [(job: Int, completion: Int, query: Query)] = []
        for i in group {
            var c = 0
            for q in taken[i].job.queries where q.kind == .completion {
                owners.append((i, c, q))
                c += 1
            }
        }
        var produced = [Int](repeating: 0, count: owners.count)
        var finished = [Bool](repeating: false, count: owners.count)
        teacher.onStep = { sequences, chosen in
            var out: [Int: [StreamedToken]] = [:]
            // The pipeline saw the live sequences' rows in this order (as answerCompletions builds them).
            let rows = rowTap?.rows ?? []
            var r = 0
            for (n, j) in sequences.enumerated() where !finished[j] {
                defer { r += 1 }
                let owner = owners[j]
                produced[j] += 1
                finished[j] = produced[j] >= owner.query.maxNewTokens || chosen[n] == owner.query.stopToken
                guard taken[owner.job].job.stream != nil else { continue }
                var token = StreamedToken(completion: owner.completion, token: chosen[n], last: finished[j])
                if let k = owner.query.logprobs, rows.indices.contains(r) {
                    let row = rows[r], t = Int(chosen[n])
                    token.logprobs = (
                        row.isReported(t) ? log(row.values[t]) : nil,
                        row.rankedReported.prefix(k).map {
                            TokenLogprob(token: Int32($0), logprob: log(row.values[$0]))
                        }
                    )
                }
                out[owner.job, default: []].append(token)
            }
            for (i, tokens) in out { taken[i].job.stream?.tokens(tokens) }
        }
        return rowTap
    }

    private func run(_ taken: [(job: BatchJob, done: CheckedContinuation<BatchResult, Error>)]) {
        let start = Date()
        var server = LabRNG(seed: seed, stream: "batch-\(batches)")
        batches += 1
        let queries = taken.flatMap(\.job.queries)
        // Streamed jobs are charged their most before decoding, so their responses can leave with the first
        // token and a crash mid-stream still finds the row; the row is settled to the answer below.
        let streamed = taken.indices.filter { taken[$0].job.stream != nil }
        var reserved: [Int: ChargeRow] = [:]
        if !streamed.isEmpty {
            let now = Date().timeIntervalSince1970
            for i in streamed { reserved[i] = reservation(taken[i].job, time: now) }
            do {
                try store.commit(streamed.compactMap { reserved[$0] })
            } catch {
                for (_, done) in taken { done.resume(throwing: error) }
                return
            }
            for i in streamed {
                guard let charge = reserved[i] else { continue }
                taken[i].done.resume(returning: BatchResult(responses: [], charge: charge))
            }
        }
        do {
            // One teacher pass for the batch; with per-account watermarks, one per account in it (each account's
            // answers carry its own key), in the order the accounts first appear.
            var groups: [[Int]] = [Array(taken.indices)]
            if pipelines.isPerAccount {
                var byAccount: [String: Int] = [:]
                groups = []
                for (i, (job, _)) in taken.enumerated() {
                    if let g = byAccount[job.accountName] {
                        groups[g].append(i)
                    } else {
                        byAccount[job.accountName] = groups.count
                        groups.append([i])
                    }
                }
            }
            var answers = [[Response]](repeating: [], count: taken.count)
            for group in groups {
                var pipeline = try pipelines.pipeline(account: taken[group[0]].job.accountName)
                if let rowTap = tap(taken, group: group) { pipeline.defences.append(rowTap) }
                defer { teacher.onStep = nil }
                let answered = try teacher.answer(
                    group.flatMap { taken[$0].job.queries }, defences: pipeline, seed: server.next())
                var offset = 0
                for i in group {
                    answers[i] = Array(answered[offset..<(offset + taken[i].job.queries.count)])
                    offset += taken[i].job.queries.count
                }
            }
            var results: [BatchResult] = []
            let now = Date().timeIntervalSince1970
            for (i, (job, _)) in taken.enumerated() {
                var responses = answers[i]
                var total = Usage.zero
                for r in responses.indices {
                    let u = responses[r].usage
                    responses[r].usage.cost = prices.cost(inputTokens: u.inputTokens, outputTokens: u.outputTokens)
                    total = total + responses[r].usage
                }
                results.append(
                    BatchResult(
                        responses: responses,
                        charge: ChargeRow(
                            requestID: job.requestID, account: job.account, time: reserved[i]?.time ?? now,
                            endpoint: job.endpoint, usage: total)))
            }
            // The charges are durable before any response of the batch can leave (streamed ones settled).
            try store.commit(
                taken.indices.filter { reserved[$0] == nil }.map { results[$0].charge },
                settling: streamed.map { results[$0].charge })
            onBatch(queries.count, Date().timeIntervalSince(start))
            for (i, (job, done)) in taken.enumerated() {
                if let stream = job.stream {
                    stream.done(.success(results[i]))
                } else {
                    done.resume(returning: results[i])
                }
            }
        } catch {
            // A streamed job's reservation stands: its response has begun.
            for (job, done) in taken {
                if let stream = job.stream { stream.done(.failure(error)) } else { done.resume(throwing: error) }
            }
        }
    }
}
