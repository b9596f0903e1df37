// GrammarCorpus: English-like sentences from a small probabilistic context-free grammar, word tokens.
// Readable on purpose ("the small dog sees a red ball near the river ."), so a sample from a student
// can be judged by eye; not a model of English, and its entropy rate is not computed.
import LabCore
import LabModel

/// Builds `kind: grammar` corpora. Sentences are concatenated into one stream per split; each ends in
/// "." and a split ends on a whole sentence. The vocabulary is the grammar's terminals (fixed, listed
/// in rule order), so it does not depend on the seed or on what happened to be sampled.
enum GrammarCorpus {
    struct Production {
        let weight: Double
        let symbols: [String]
        /// Whether expanding it can re-enter the same nonterminal. Such productions are not chosen deeper
        /// than `maxDepth`, which bounds sentence length without changing the common case.
        var recursive = false
    }

    /// Nonterminals are the upper-case names with rules; every other symbol is a word.
    /// No vowel-initial nouns or adjectives, so "a" is always grammatical; verbs are all third person
    /// singular because every noun phrase is singular.
    static let rules: [(name: String, productions: [Production])] = [
        (
            "S",
            [
                Production(weight: 0.7, symbols: ["CLAUSE", "."]),
                Production(weight: 0.3, symbols: ["CLAUSE", "CONJ", "CLAUSE", "."]),
            ]
        ),
        ("CLAUSE", [Production(weight: 1, symbols: ["NP", "VP"])]),
        (
            "NP",
            [
                Production(weight: 0.4, symbols: ["DET", "N"]),
                Production(weight: 0.15, symbols: ["DET", "SIZE", "N"]),
                Production(weight: 0.15, symbols: ["DET", "QUALITY", "N"]),
                // Size before colour or mood, as English orders adjectives ("the big red ball").
                Production(weight: 0.1, symbols: ["DET", "SIZE", "QUALITY", "N"]),
                Production(weight: 0.2, symbols: ["NP", "PP"], recursive: true),
            ]
        ),
        (
            "VP",
            [
                Production(weight: 0.4, symbols: ["VT", "NP"]),
                Production(weight: 0.15, symbols: ["VT", "NP", "PP"]),
                Production(weight: 0.2, symbols: ["VI"]),
                Production(weight: 0.15, symbols: ["VI", "PP"]),
                Production(weight: 0.1, symbols: ["VI", "ADV"]),
            ]
        ),
        ("PP", [Production(weight: 1, symbols: ["P", "NP"])]),
        ("DET", words(["the": 0.55, "a": 0.3, "every": 0.15])),
        (
            "N",
            words(["dog", "cat", "bird", "child", "farmer", "ball", "river", "house", "tree", "garden", "hill", "boat"])
        ),
        ("SIZE", words(["small", "big", "tall", "little"])),
        ("QUALITY", words(["red", "green", "brown", "happy", "quiet"])),
        ("VT", words(["sees", "chases", "likes", "finds", "watches", "follows"])),
        ("VI", words(["sleeps", "runs", "waits", "sings", "jumps"])),
        ("ADV", words(["quickly", "slowly", "today", "again"])),
        ("P", words(["near", "under", "behind", "with", "on"])),
        ("CONJ", words(["and": 0.5, "but": 0.3, "while": 0.2])),
    ]

    /// Deeper than this, recursive productions are not chosen.
    static let maxDepth = 6

    static let table: [String: [Production]] = Dictionary(uniqueKeysWithValues: rules.map { ($0.name, $0.productions) })

    /// Every word the grammar can write, in rule order: the tokenizer's symbols, so word i has id i + 1.
    static let vocabulary: [String] = {
        var seen: Set<String> = [], out: [String] = []
        for (_, productions) in rules {
            for production in productions {
                for symbol in production.symbols where table[symbol] == nil && seen.insert(symbol).inserted {
                    out.append(symbol)
                }
            }
        }
        return out
    }()

    static func words(_ list: [String]) -> [Production] { list.map { Production(weight: 1, symbols: [$0]) } }
    static func words(_ weighted: KeyValuePairs<String, Double>) -> [Production] {
        weighted.map { Production(weight: $0.value, symbols: [$0.key]) }
    }

    /// The rules with names resolved to integers, so that sampling does no string hashing: a symbol
    /// n >= 0 is nonterminal `rules[n]`, and n < 0 is the word with token id -n.
    struct Compiled {
        /// Per nonterminal: each production's symbols.
        var expansions: [[[Int]]] = []
        /// Per nonterminal: production weights, and the same with recursive productions zeroed.
        var weights: [[Double]] = []
        var shallowWeights: [[Double]] = []
    }

    static let compiled: Compiled = {
        let nonterminal = Dictionary(uniqueKeysWithValues: rules.enumerated().map { ($0.element.name, $0.offset) })
        let word = Dictionary(uniqueKeysWithValues: vocabulary.enumerated().map { ($0.element, $0.offset + 1) })
        var compiled = Compiled()
        for (_, productions) in rules {
            compiled.expansions.append(productions.map { $0.symbols.map { nonterminal[$0] ?? -(word[$0] ?? 0) } })
            compiled.weights.append(productions.map(\.weight))
            compiled.shallowWeights.append(productions.map { $0.recursive ? 0 : $0.weight })
        }
        return compiled
    }()

    /// Appends the token ids of one sentence (rule "S", the first) to `out`.
    static func sentence(into out: inout [Int], rng: inout LabRNG) {
        expand(0, depth: 0, into: &out, rng: &rng)
    }

    static func expand(_ symbol: Int, depth: Int, into out: inout [Int], rng: inout LabRNG) {
        guard symbol >= 0 else {
            out.append(-symbol)
            return
        }
        let weights = depth < maxDepth ? compiled.weights[symbol] : compiled.shallowWeights[symbol]
        for child in compiled.expansions[symbol][rng.categorical(weights)] {
            expand(child, depth: depth + 1, into: &out, rng: &rng)
        }
    }

    static func build(_ spec: CorpusSpec) throws -> Corpus {
        let tokenizer = try Tokenizer(kind: .word, symbols: vocabulary)
        func split(_ split: Split) -> [Int] {
            var rng = spec.rng(split.rawValue)
            var tokens: [Int] = []
            tokens.reserveCapacity(spec.tokens(split) + 64)
            while tokens.count < spec.tokens(split) { sentence(into: &tokens, rng: &rng) }
            return tokens
        }
        return Corpus(
            name: "grammar-s\(spec.seed)",
            tokenizer: tokenizer,
            train: split(.train), validation: split(.validation), test: split(.test)
        )
    }
}
