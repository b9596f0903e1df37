// Harvest: the records an attack bought — the text a student reads, what the teacher revealed about the
// next token at some of its positions, and what each answer cost. Plain data: the asking is HarvestMode's,
// the training the Distiller's, the counting the Ledger's (a record keeps the ledger's figures).
import LabAPI

/// What the API revealed about the token after `text[0...position]` of a record.
public struct PositionTarget: Equatable, Sendable {
    /// Index into the record's text of the last token the prediction conditions on.
    public var position: Int
    /// Reported tokens, most likely first.
    public var tokens: [Int32]
    /// Their reported probabilities. They need not sum to 1 (rounding, top-k), and a 0 is a reported
    /// zero (a value rounded away), not a token left out.
    public var probabilities: [Double]
    /// Whether every token of the vocabulary is listed: a full distribution. Otherwise the mass of the
    /// unlisted tokens is unknown and a distiller must choose a tail rule.
    public var isComplete: Bool

    public init(position: Int, tokens: [Int32], probabilities: [Double], isComplete: Bool) {
        self.position = position
        self.tokens = tokens
        self.probabilities = probabilities
        self.isComplete = isComplete
    }

    /// A single token with probability 1: a label, or a token the teacher sampled.
    public static func oneHot(position: Int, token: Int32) -> PositionTarget {
        PositionTarget(position: position, tokens: [token], probabilities: [1], isComplete: false)
    }

    /// The listed token of largest probability (ties: the one listed first): the hard label the API implied.
    public var top: Int32? {
        var best: Int?
        for i in probabilities.indices where best == nil || probabilities[i] > probabilities[best!] { best = i }
        return best.map { tokens[$0] }
    }
}

/// One prompt's worth of harvest.
public struct HarvestRecord: Equatable, Sendable {
    /// What the student reads: the prompt, plus the teacher's completion when the harvest sampled one
    /// (all but its last token, which is only ever a target).
    public var text: [Int32]
    /// How many of `text`'s tokens the attacker wrote.
    public var promptLength: Int
    /// Targets in increasing position; may be empty (a defence withheld the answer).
    public var targets: [PositionTarget]
    /// What the queries that built this record cost: the ledger's usage of each, summed.
    public var usage: Usage

    public init(text: [Int32], promptLength: Int, targets: [PositionTarget], usage: Usage) {
        self.text = text
        self.promptLength = promptLength
        self.targets = targets
        self.usage = usage
    }
}

/// Everything one attack bought, in the order it was bought.
public struct Harvest: Sendable {
    public private(set) var records: [HarvestRecord] = []
    /// What was spent outside records: completions a strategy bought to make prompts from.
    public private(set) var overhead: Usage = .zero
    /// Positions with a target, summed over records.
    public private(set) var targetCount = 0

    public init() {}

    public mutating func append(_ record: HarvestRecord) {
        records.append(record)
        targetCount += record.targets.count
    }

    public mutating func addOverhead(_ usage: Usage) { overhead = overhead + usage }

    /// Records plus overhead: what the ledger charged the attacker's account.
    public var usage: Usage { records.reduce(overhead) { $0 + $1.usage } }

    /// The records that carry at least one target: the ones a distiller can learn from.
    public var trainable: [HarvestRecord] { records.filter { !$0.targets.isEmpty } }
}
