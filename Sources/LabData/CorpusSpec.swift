// CorpusSpec: the typed description of a corpus (kind, parameters with defaults, seed, split sizes) and
// its validation; `build()` hands off to one builder per kind. Not a registry: four kinds, one switch.
import LabCore
import LabModel

/// What to build. Every field has a default; only the fields of `kind` are read (and, in a config file,
/// only they are allowed — see CorpusSpec+Codable). Same spec, same corpus, on every machine.
public struct CorpusSpec: Equatable, Sendable {
    public enum Kind: String, Codable, CaseIterable, Sendable {
        /// Random order-k Markov chain with an exactly known entropy rate.
        case markov
        /// English-like sentences from a small probabilistic context-free grammar, word tokens.
        case grammar
        /// Algorithmic problems (addition, reversal, sorting), character tokens, exact-match answers.
        case tasks
        /// A UTF-8 file the user points at, or a built-in corpus (`NamedCorpus`), split into disjoint parts.
        case text
    }

    /// Which algorithmic task a `tasks` corpus holds.
    public enum Task: String, Codable, CaseIterable, Sendable {
        /// "123+45=168": operands with `digits` digits each (drawn independently).
        case addition
        /// "abcd>dcba": `length` lowercase letters.
        case reversal
        /// "3141>1134": `length` decimal digits, sorted ascending.
        case sorting
        /// "347+85=[7+5+0=12;4+8+1=13;3+0+1=04;]432": addition with the column steps and carries written
        /// out in a think block (`ThinkMarkers`, `AdditionProblem`); one in four training problems is written
        /// answered directly ("[]432"). Test problems (and their exact match) always carry the full trace.
        case additionSteps = "addition_steps"
        /// Each problem is one of the first three, uniformly. Reversal uses letters and sorting digits, so the
        /// shared ">" is never ambiguous.
        case mixed
    }

    public var kind: Kind
    /// Drives every random choice; each split draws from its own named stream, so changing one split's
    /// size leaves the others (and, for Markov, the chain itself) unchanged.
    public var seed: UInt64 = 0

    // Split sizes in tokens (markov, grammar, tasks). Grammar and tasks end on a whole sentence or
    // problem, so a split can run a few tokens over.
    public var trainTokens = 200_000
    public var validationTokens = 20_000
    public var testTokens = 20_000

    // markov
    /// V, the number of symbols (2...62: a-z, A-Z, 0-9); the model vocabulary is V + 1 with <unk>.
    public var symbols = 16
    /// k, the number of previous symbols the next one depends on.
    public var order = 2
    /// Symmetric Dirichlet concentration of each context's next-symbol distribution (smaller = peakier).
    public var concentration = 0.3

    // tasks
    public var task: Task = .mixed
    /// Digits per addition operand, inclusive range.
    public var digits: ClosedRange<Int> = 1...3
    /// Letters (reversal) or digits (sorting) per problem, inclusive range.
    public var length: ClosedRange<Int> = 1...8

    // text
    /// The UTF-8 file; relative paths resolve against the working directory. Exclusive with `source`.
    public var path: String?
    /// A built-in corpus by name (`NamedCorpus.all`), read where its Debian package installs it.
    public var source: String?
    public var tokenizer: Tokenizer.Kind = .character
    /// Cap on the vocabulary, <unk> included; rarer symbols encode as <unk>. Nil keeps every symbol.
    /// For `bpe` it is the vocabulary size the merges are learned up to (default `defaultBPEVocabulary`).
    public var maxVocabulary: Int?
    /// Fraction of the text set aside as the attacker's own (`Corpus.attacker`), between train and validation.
    public var attackerFraction = 0.0
    /// Which part a model built on this corpus trains on: `teacher` (the train part) or `attacker` (the
    /// attacker's part, with the tokenizer still learned on the train part): the no-teacher baseline of a
    /// split, evaluated on the same held-out text with the same vocabulary.
    public var trainOn: TrainingPart = .teacher

    public enum TrainingPart: String, Codable, CaseIterable, Sendable { case teacher, attacker }
    /// Fractions of the file's tokens in the validation and test splits (taken from the end, in that
    /// order); train is the rest, at the start of the file.
    public var validationFraction = 0.05
    public var testFraction = 0.05

    public static let maxMarkovSymbols = MarkovCorpus.alphabet.count
    public static let maxDigits = 18  // two 18-digit operands and their sum fit in Int64
    public static let maxLength = 256
    /// BPE vocabulary sizes (<unk> and the 256 bytes included) and the default.
    public static let bpeVocabulary = 257...16_384
    public static let defaultBPEVocabulary = 1024

    public init(kind: Kind, seed: UInt64 = 0) {
        self.kind = kind
        self.seed = seed
    }

    public static func markov(symbols: Int = 16, order: Int = 2, concentration: Double = 0.3, seed: UInt64 = 0)
        -> CorpusSpec
    {
        var spec = CorpusSpec(kind: .markov, seed: seed)
        spec.symbols = symbols
        spec.order = order
        spec.concentration = concentration
        return spec
    }

    public static func grammar(seed: UInt64 = 0) -> CorpusSpec { CorpusSpec(kind: .grammar, seed: seed) }

    public static func tasks(
        _ task: Task = .mixed, digits: ClosedRange<Int> = 1...3, length: ClosedRange<Int> = 1...8, seed: UInt64 = 0
    ) -> CorpusSpec {
        var spec = CorpusSpec(kind: .tasks, seed: seed)
        spec.task = task
        spec.digits = digits
        spec.length = length
        return spec
    }

    public static func text(path: String, tokenizer: Tokenizer.Kind = .character, maxVocabulary: Int? = nil)
        -> CorpusSpec
    {
        var spec = CorpusSpec(kind: .text)
        spec.path = path
        spec.tokenizer = tokenizer
        spec.maxVocabulary = maxVocabulary
        return spec
    }

    /// Split sizes as a value, in split order.
    public func tokens(_ split: Split) -> Int {
        switch split {
        case .train: return trainTokens
        case .validation: return validationTokens
        case .test: return testTokens
        }
    }

    /// Throws `LabError.invalidConfig` naming the first key of this kind that is out of range.
    /// (Whether a text file exists is checked by `build()`, which reports it as `LabError.file`.)
    public func validate() throws {
        func check(_ ok: Bool, _ key: String, _ message: @autoclosure () -> String) throws {
            if !ok { throw LabError.invalidConfig(key: key, message: message()) }
        }
        if kind != .text {
            try check(trainTokens >= 1, "train_tokens", "is \(trainTokens); must be at least 1")
            try check(validationTokens >= 1, "validation_tokens", "is \(validationTokens); must be at least 1")
            try check(testTokens >= 1, "test_tokens", "is \(testTokens); must be at least 1")
            // Tokens are held as 32-bit ids while the splits are generated (and as Int in batch sampling).
            try MemoryLimit.check(
                Double(trainTokens) * 12 + Double(validationTokens) * 12 + Double(testTokens) * 12,
                for: "a corpus of \(trainTokens) + \(validationTokens) + \(testTokens) tokens", key: "train_tokens",
                fix: "Lower train_tokens, validation_tokens or test_tokens.")
        }
        switch kind {
        case .markov:
            try check(
                (2...Self.maxMarkovSymbols).contains(symbols), "symbols",
                "is \(symbols); must be in 2...\(Self.maxMarkovSymbols) (one character each from a-z, A-Z, 0-9)")
            try check(
                concentration > 0 && concentration.isFinite, "concentration",
                "is \(concentration); the Dirichlet concentration must be positive and finite (0.3 gives peaked rows, 1 is uniform over the simplex)"
            )
            _ = try MarkovSource.contextCount(symbolCount: symbols, order: order)
        case .grammar:
            break
        case .tasks:
            try check(
                digits.lowerBound >= 1 && digits.upperBound <= Self.maxDigits, "digits",
                "is [\(digits.lowerBound), \(digits.upperBound)]; operands need 1...\(Self.maxDigits) digits")
            try check(
                length.lowerBound >= 1 && length.upperBound <= Self.maxLength, "length",
                "is [\(length.lowerBound), \(length.upperBound)]; problems need 1...\(Self.maxLength) characters")
        case .text:
            let names = NamedCorpus.all.map(\.name).joined(separator: ", ")
            try check(
                path != nil || source != nil, "path",
                "is missing; a text corpus needs the path of a UTF-8 file, or `source:` naming a built-in corpus (\(names))"
            )
            try check(
                path == nil || source == nil, "source", "is given together with 'path'; a text corpus reads one of them"
            )
            try check(path.map { !$0.isEmpty } ?? true, "path", "is empty; give the path of a UTF-8 file")
            if let source { _ = try NamedCorpus.named(source) }
            if let maxVocabulary {
                if tokenizer == .bpe {
                    try check(
                        Self.bpeVocabulary.contains(maxVocabulary), "max_vocabulary",
                        "is \(maxVocabulary); a BPE vocabulary counts <unk> and the 256 bytes: allowed range \(Self.bpeVocabulary.lowerBound)...\(Self.bpeVocabulary.upperBound)"
                    )
                } else {
                    try check(
                        maxVocabulary >= 2, "max_vocabulary",
                        "is \(maxVocabulary); it counts <unk>, so it must be at least 2")
                }
            }
            try check(
                attackerFraction >= 0 && attackerFraction < 1, "attacker_fraction",
                "is \(attackerFraction); must be in [0, 1)")
            try check(
                trainOn == .teacher || attackerFraction > 0, "train_on",
                "is attacker, but attacker_fraction is 0; set attacker_fraction (e.g. 0.45)")
            try check(
                validationFraction > 0 && validationFraction < 1, "validation_fraction",
                "is \(validationFraction); must be in (0, 1)")
            try check(testFraction > 0 && testFraction < 1, "test_fraction", "is \(testFraction); must be in (0, 1)")
            try check(
                validationFraction + testFraction + attackerFraction < 1, "test_fraction",
                "attacker_fraction + validation_fraction + test_fraction = \(attackerFraction + validationFraction + testFraction); together they must leave some text for train"
            )
        }
    }

    /// Validates, then builds the corpus. Deterministic: same spec, same corpus.
    public func build() throws -> Corpus {
        try validate()
        switch kind {
        case .markov: return try MarkovCorpus.build(self)
        case .grammar: return try GrammarCorpus.build(self)
        case .tasks: return try TaskCorpus.build(self)
        case .text: return try TextCorpus.build(self)
        }
    }

    /// A RNG for one named purpose, independent of every other purpose under the same seed.
    func rng(_ stream: String) -> LabRNG { LabRNG(seed: seed, stream: "\(kind.rawValue).\(stream)") }
}
