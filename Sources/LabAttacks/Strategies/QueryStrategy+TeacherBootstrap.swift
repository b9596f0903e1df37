// Teacher-bootstrap prompts: the teacher's own sampled completions, reused as prompts — the attacker
// needs no data, only a seed token, and queries land where the teacher's text lives (the self-instruct
// style of bootstrapping a transfer set from the target, e.g. Alpaca; Krishna et al. 2020 discuss it).
// Completions bought for this are charged to the attack; a completion harvest refills the pool for free.
import LabAPI
import LabCore

public final class TeacherBootstrap: RegisteredStrategy {
    public static let registryName = "teacher_bootstrap"
    public static let reference =
        "the teacher's own completions as prompts, seeded by random tokens (self-instruct-style bootstrapping)"
    public enum Declared {
        public static let seedLength = PartParameter.int(
            "seed_length", 1, atLeast: 1, meaning: "random tokens that seed each bought completion")
        public static let reuse = PartParameter.int(
            "reuse", 4, atLeast: 1, meaning: "prompts cut from each pooled text before it is dropped")
        public static let temperature = PartParameter.double(
            "temperature", 1, valid: { $0 >= 0 && $0.isFinite }, "must be 0 (greedy) or positive",
            meaning: "sampling temperature of the bought completions")
    }
    public static let parameterDocs = [Declared.seedLength.doc, Declared.reuse.doc, Declared.temperature.doc]
    public let seedLength: Int
    public let reuse: Int
    public let temperature: Float

    /// Texts to cut prompts from, each with the prompts it may still give.
    var pool: [(text: [Int32], left: Int)] = []
    var rng = LabRNG(seed: 0)
    var vocabularySize = 2
    var lengths = 1...1

    public init(
        seedLength: Int = Declared.seedLength.defaultValue, reuse: Int = Declared.reuse.defaultValue,
        temperature: Float = Float(Declared.temperature.defaultValue)
    ) {
        self.seedLength = seedLength
        self.reuse = reuse
        self.temperature = temperature
    }

    public convenience init(parameters p: inout AttackParameters) throws {
        self.init(
            seedLength: try p.read(Declared.seedLength), reuse: try p.read(Declared.reuse),
            temperature: Float(try p.read(Declared.temperature)))
    }

    public var parameters: [(key: String, value: String)] {
        [("seed_length", String(seedLength)), ("reuse", String(reuse)), ("temperature", show(Double(temperature)))]
    }

    public func prepare(_ setup: StrategySetup) throws {
        guard seedLength < setup.lengths.upperBound else {
            throw LabError.invalidConfig(
                key: "strategy.teacher_bootstrap.seed_length",
                message:
                    "is \(seedLength); it must be below the longest prompt (\(setup.lengths.upperBound)) so that completions add tokens"
            )
        }
        rng = LabRNG(seed: setup.seed, stream: "teacher-bootstrap")
        vocabularySize = setup.vocabularySize
        lengths = setup.lengths
        pool = []
    }

    public func prompts(count: Int, round: StrategyRound) throws -> [[Int32]] {
        var out: [[Int32]] = []
        while out.count < count {
            if pool.isEmpty, try !buy(completions: (count - out.count + reuse - 1) / reuse, round: round) { break }
            // Oldest text first, a random window of a random length from it.
            let n = min(rng.length(in: lengths), pool[0].text.count)
            let start = rng.int(below: pool[0].text.count - n + 1)
            out.append(Array(pool[0].text[start..<(start + n)]))
            pool[0].left -= 1
            if pool[0].left == 0 { pool.removeFirst() }
        }
        return out
    }

    /// Buys up to `n` completions of random seeds, as long as each fits under the stop line; false when none did.
    func buy(completions n: Int, round: StrategyRound) throws -> Bool {
        let newTokens = lengths.upperBound - seedLength
        let groups: [[Query]] = (0..<max(1, n)).map { _ in
            let seed = (0..<seedLength).map { _ in Int32(rng.int(below: vocabularySize)) }
            return [.completion(seed, maxNewTokens: newTokens, temperature: temperature, seed: rng.next())]
        }
        let answers = try round.client.serve(groups)
        for (group, answer) in zip(groups, answers) {
            round.overhead = round.overhead + answer[0].usage
            pool.append((group[0].prompt + answer[0].tokens, reuse))
        }
        return !answers.isEmpty
    }

    /// A completion harvest's texts are the teacher's own: they join the pool at no extra cost.
    public func observe(_ records: [HarvestRecord]) {
        for r in records where r.text.count > r.promptLength { pool.append((r.text, reuse)) }
    }
}
