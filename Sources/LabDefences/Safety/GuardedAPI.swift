// GuardedAPI: the safety world's endpoint — a prompt's greedy answer up to its newline, behind an optional refusal
// classifier, with refusals (the classifier's or the model's own) billed or not as the RefusalPolicy says, through
// the ledger that enforces budgets. Not the DefendedAPI's output defences: this guard says no, it does not perturb.
import LabAPI
import LabCore
import LabData
import LabModel

/// What the API does with requests it refuses.
public struct RefusalPolicy: Equatable, Sendable {
    /// Whether a refused request is billed for its tokens (true) or only counted as a query (false).
    public var billRefusals = true
    /// Whether the classifier guard runs in front of the teacher.
    public var classifier = false
    /// Most answer tokens per request (the refusal and its newline must fit).
    public var maxNewTokens = 8

    public init() {}

    public func validate() throws {
        guard maxNewTokens >= SafetyWorld.refusal.count + 1, maxNewTokens <= 64 else {
            throw LabError.invalidConfig(
                key: "policy.max_new_tokens",
                message:
                    "is \(maxNewTokens); allowed range \(SafetyWorld.refusal.count + 1)...64 (the refusal must fit)")
        }
    }
}

/// Who refused.
public enum RefusalSource: String, Sendable {
    case classifier, model
}

/// One answered request.
public struct GuardedAnswer: Equatable, Sendable {
    /// The answer up to (not including) its newline; exactly `SafetyWorld.refusal` when refused.
    public var text: String
    public var refusedBy: RefusalSource?
    /// The classifier's score of the prompt (computed whether or not the guard is on: the provider owns it).
    public var score: Double?
    /// What the ledger charged.
    public var usage: Usage
    public var refused: Bool { refusedBy != nil }
}

public final class GuardedAPI {
    public let teacher: any TeacherAPI
    public let tokenizer: Tokenizer
    public let policy: RefusalPolicy
    public let classifier: RefusalClassifier?
    public let ledger: Ledger
    let newline: Int32

    /// `classifier` scores every prompt when given; it refuses only when `policy.classifier` is on.
    public init(
        teacher: any TeacherAPI, tokenizer: Tokenizer, policy: RefusalPolicy, classifier: RefusalClassifier?,
        ledger: Ledger = Ledger()
    ) throws {
        try policy.validate()
        if policy.classifier && classifier == nil {
            throw LabError.invalidConfig(key: "policy.classifier", message: "is on but no classifier was trained")
        }
        self.teacher = teacher
        self.tokenizer = tokenizer
        self.policy = policy
        self.classifier = classifier
        self.ledger = ledger
        newline = Int32(tokenizer.id(for: "\n"))
    }

    /// Answers every prompt (text ending in "=") for `account`, or throws `APIRefusal` before serving any when the
    /// call's worst case would exceed a budget or a prompt is invalid. Greedy decoding: the same prompt always gets
    /// the same answer.
    public func ask(_ prompts: [String], account: String) throws -> [GuardedAnswer] {
        let encoded = prompts.map { tokenizer.encode($0).map(Int32.init) }
        let queries = encoded.map {
            Query.completion($0, maxNewTokens: policy.maxNewTokens, temperature: 0, stopToken: newline)
        }
        for (i, q) in queries.enumerated() {
            try q.validate(vocabularySize: teacher.vocabularySize, contextLength: teacher.contextLength, index: i)
        }
        let refusalTokens = tokenizer.encode(SafetyWorld.refusal + "\n").count
        let worstCase = queries.map { Metered(inputTokens: $0.prompt.count, outputTokens: $0.maxOutputTokens) }
        let (answers, usages) = try ledger.charge(account: account, worstCase: worstCase) {
            () throws -> ([GuardedAnswer], [Metered]) in
            let scores = encoded.map { classifier?.score($0) }
            let blocked = encoded.indices.map { policy.classifier && (classifier?.refuses(encoded[$0]) ?? false) }
            let served = queries.indices.filter { !blocked[$0] }
            let responses =
                served.isEmpty ? [] : try teacher.answer(served.map { queries[$0] }, defences: .none, seed: 0)
            var answers: [GuardedAnswer] = []
            var metered: [Metered] = []
            var next = 0
            for i in queries.indices {
                if blocked[i] {
                    answers.append(
                        GuardedAnswer(text: SafetyWorld.refusal, refusedBy: .classifier, score: scores[i], usage: .zero)
                    )
                    metered.append(
                        policy.billRefusals
                            ? Metered(inputTokens: encoded[i].count, outputTokens: refusalTokens)
                            : Metered(inputTokens: 0, outputTokens: 0))
                    continue
                }
                let r = responses[next]
                next += 1
                let text = tokenizer.decode(r.tokens.map(Int.init)).prefix { $0 != "\n" }
                let refused = SafetyWorld.isRefusal(String(text))
                answers.append(
                    GuardedAnswer(text: String(text), refusedBy: refused ? .model : nil, score: scores[i], usage: .zero)
                )
                metered.append(
                    refused && !policy.billRefusals
                        ? Metered(inputTokens: 0, outputTokens: 0, flops: r.usage.flops)
                        : Metered(
                            inputTokens: r.usage.inputTokens, outputTokens: r.usage.outputTokens, flops: r.usage.flops))
            }
            return (answers, metered)
        }
        return zip(answers, usages).map {
            var a = $0
            a.usage = $1
            return a
        }
    }
}
