// DefendedAPI: the endpoint clients call — each query validated, then checked against the policy, then
// the whole call admitted by the ledger against the account's budget, then answered by the teacher
// under the defence pipeline. Not a network service, and not an attacker: those call it.
import LabCore

public final class DefendedAPI {
    public let teacher: any TeacherAPI
    public var policy: APIPolicy
    public var defences: DefencePipeline
    public let ledger: Ledger
    /// Seeds the server's randomness (defence noise, completions without a client seed).
    public let seed: UInt64
    /// Calls answered so far; call i draws its server randomness from stream i of `seed`.
    public private(set) var callsServed: UInt64 = 0

    public init(
        teacher: any TeacherAPI, policy: APIPolicy = APIPolicy(), defences: DefencePipeline = .none,
        ledger: Ledger = Ledger(), seed: UInt64 = 0
    ) {
        self.teacher = teacher
        self.policy = policy
        self.defences = defences
        self.ledger = ledger
        self.seed = seed
    }

    /// Answers all `queries` for `account`, or none: a query the validation or the policy refuses, an
    /// unknown account, or a budget the call's worst case would exceed throws `APIRefusal` before
    /// anything is served or charged. Responses come back in query order with their usage and cost.
    public func call(_ queries: [Query], account: String) throws -> [Response] {
        let V = teacher.vocabularySize, T = teacher.contextLength
        for (i, q) in queries.enumerated() {
            try q.validate(vocabularySize: V, contextLength: T, index: i)
            try policy.check(q, index: i)
        }
        // Completions may stop early at their stop token, so the ledger reserves the most each can use.
        let worstCase = queries.map { Metered(inputTokens: $0.prompt.count, outputTokens: $0.maxOutputTokens) }
        var stream = LabRNG(seed: seed, stream: "call-\(callsServed)")
        let callSeed = stream.next()
        let (responses, usages) = try ledger.charge(account: account, worstCase: worstCase) {
            () throws -> ([Response], [Metered]) in
            let answered = queries.isEmpty ? [] : try teacher.answer(queries, defences: defences, seed: callSeed)
            return (
                answered,
                answered.map {
                    Metered(
                        inputTokens: $0.usage.inputTokens, outputTokens: $0.usage.outputTokens, flops: $0.usage.flops)
                }
            )
        }
        callsServed += 1
        return zip(responses, usages).map { response, usage in
            var r = response
            r.usage = usage
            return r
        }
    }

    /// One query as a call of one.
    public func call(_ query: Query, account: String) throws -> Response {
        try call([query], account: account)[0]
    }
}
