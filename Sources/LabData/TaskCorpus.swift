// TaskCorpus: algorithmic problems (addition, reversal, sorting, traced addition), one "prompt answer\n" line each, in
// character tokens, with the test problems kept as (prompt, answer) pairs for exact-match scoring.
// It does not decode: the caller's model completes prompts, and this file only checks the answers.
import LabCore
import LabModel

/// One held-out problem: the model sees `prompt` ("123+45=") and should continue with `answer` ("168")
/// followed by a newline.
public struct TaskExample: Codable, Equatable, Hashable, Sendable {
    public var prompt: String
    public var answer: String

    public init(prompt: String, answer: String) {
        self.prompt = prompt
        self.answer = answer
    }

    /// The line as it appears in the token stream.
    public var line: String { prompt + answer + "\n" }
}

extension TaskExample {
    /// An `addition_steps` problem: the answer is the whole traced solution "[steps]sum".
    public init(_ problem: AdditionProblem) {
        self.init(prompt: problem.prompt, answer: problem.tracedSolution)
    }
}

/// Fraction of `examples` whose completion, read up to its first newline, equals the answer exactly.
/// `complete` receives a prompt and returns the model's continuation (without the prompt), decoded
/// greedily or however the caller chooses; text after the first "\n" is ignored, so a model that
/// keeps writing further problems is not penalised for it. An empty list scores 0.
public func exactMatchAccuracy(examples: [TaskExample], complete: (String) throws -> String) rethrows -> Double {
    guard !examples.isEmpty else { return 0 }
    var correct = 0
    for example in examples {
        let continuation = try complete(example.prompt)
        if continuation.prefix(while: { $0 != "\n" }) == example.answer[...] { correct += 1 }
    }
    return Double(correct) / Double(examples.count)
}

/// Builds `kind: tasks` corpora.
///
/// Test problems are distinct, and no test or validation prompt appears in train (nor a test prompt in
/// validation), so exact match on `Corpus.examples` measures generalisation, not recall. When the
/// problem space is too small to hold out that many distinct problems, building fails naming the key.
enum TaskCorpus {
    static let digitCharacters = Array("0123456789")
    static let letterCharacters = Array("abcdefghijklmnopqrstuvwxyz")

    /// The tokenizer's symbols for a task: only the characters it can write, newline first.
    static func symbols(for task: CorpusSpec.Task) -> [String] {
        let characters: [Character]
        switch task {
        case .addition: characters = ["\n", "+", "="] + digitCharacters
        case .reversal: characters = ["\n", ">"] + letterCharacters
        case .sorting: characters = ["\n", ">"] + digitCharacters
        case .mixed: characters = ["\n", "+", "=", ">"] + digitCharacters + letterCharacters
        case .additionSteps:
            characters =
                ["\n", "+", "=", ThinkMarkers.open, ThinkMarkers.close, ThinkMarkers.stepEnd] + digitCharacters
        }
        return characters.map { String($0) }
    }

    static func example(_ task: CorpusSpec.Task, digits: ClosedRange<Int>, length: ClosedRange<Int>, rng: inout LabRNG)
        -> TaskExample
    {
        func draw(_ range: ClosedRange<Int>) -> Int { range.lowerBound + rng.int(below: range.count) }
        switch task {
        case .addition, .additionSteps:
            // Uniform over d-digit numbers without leading zeros (0 counts as a 1-digit number).
            func operand() -> Int {
                let d = draw(digits)
                if d == 1 { return rng.int(below: 10) }
                var low = 1
                for _ in 1..<d { low *= 10 }
                return low + rng.int(below: 9 * low)
            }
            let a = operand(), b = operand()
            if task == .additionSteps { return TaskExample(AdditionProblem(a: a, b: b)) }
            return TaskExample(prompt: "\(a)+\(b)=", answer: String(a + b))
        case .reversal:
            let text = String((0..<draw(length)).map { _ in letterCharacters[rng.int(below: letterCharacters.count)] })
            return TaskExample(prompt: text + ">", answer: String(text.reversed()))
        case .sorting:
            let text = String((0..<draw(length)).map { _ in digitCharacters[rng.int(below: digitCharacters.count)] })
            return TaskExample(prompt: text + ">", answer: String(text.sorted()))
        case .mixed:
            let kinds: [CorpusSpec.Task] = [.addition, .reversal, .sorting]
            return example(kinds[rng.int(below: kinds.count)], digits: digits, length: length, rng: &rng)
        }
    }

    /// One in `directEvery` training problems of `addition_steps` is written answered directly ("[]432"), so
    /// that a model trained on the corpus can be asked to answer without thinking (a prompt ending in "[]").
    static let directEvery = 4

    /// The training line of the `index`-th problem: its direct form for every `directEvery`-th trace problem.
    static func directLine(_ problem: TaskExample, index: Int, task: CorpusSpec.Task) -> String {
        guard task == .additionSteps, index % directEvery == directEvery - 1,
            let parsed = AdditionProblem(prompt: problem.prompt)
        else { return problem.line }
        return problem.prompt + parsed.directSolution + "\n"
    }

    static func build(_ spec: CorpusSpec) throws -> Corpus {
        let tokenizer = try Tokenizer(kind: .character, symbols: symbols(for: spec.task))
        var heldOut: Set<String> = []

        /// Problems until the split holds at least its token budget. `holdOut` records each prompt, which
        /// makes the split's problems distinct and keeps them out of the splits drawn after it.
        func problems(_ split: Split, holdOut: Bool) throws -> (examples: [TaskExample], tokens: [Int]) {
            var rng = spec.rng(split.rawValue)
            var examples: [TaskExample] = [], tokens: [Int] = []
            tokens.reserveCapacity(spec.tokens(split) + 64)
            // A long run of rejected draws means the space of problems is (nearly) used up; the chance
            // of this many in a row while a tenth of the space is still free is 0.9^10000 ≈ 1e-458.
            let maxConsecutiveRejections = 10_000
            var rejections = 0
            while tokens.count < spec.tokens(split) {
                let problem = example(spec.task, digits: spec.digits, length: spec.length, rng: &rng)
                if heldOut.contains(problem.prompt) {
                    rejections += 1
                    if rejections >= maxConsecutiveRejections {
                        let key = split == .train ? "test_tokens" : "\(split.rawValue)_tokens"
                        throw LabError.invalidConfig(
                            key: key,
                            message:
                                "the \(spec.task.rawValue) task with digits [\(spec.digits.lowerBound), \(spec.digits.upperBound)] and length [\(spec.length.lowerBound), \(spec.length.upperBound)] has too few distinct problems to fill the \(split.rawValue) split while holding out the test (and validation) problems; lower test_tokens / validation_tokens or widen digits / length"
                        )
                    }
                    continue
                }
                rejections = 0
                if holdOut { heldOut.insert(problem.prompt) }
                examples.append(problem)
                tokens += tokenizer.encode(
                    split == .train ? directLine(problem, index: examples.count - 1, task: spec.task) : problem.line)
            }
            return (examples, tokens)
        }

        let test = try problems(.test, holdOut: true)
        let validation = try problems(.validation, holdOut: true)
        let train = try problems(.train, holdOut: false)
        return Corpus(
            name: "tasks-\(spec.task.rawValue)-s\(spec.seed)",
            tokenizer: tokenizer,
            train: train.tokens, validation: validation.tokens, test: test.tokens,
            examples: test.examples
        )
    }
}
