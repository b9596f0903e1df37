// BytePairEncoding: a byte-level BPE model — every token is a byte string, the 256 single bytes are always in
// the vocabulary, and a ranked list of merges joins adjacent tokens — applied the way Hugging Face's BPE model
// applies it. Not the pre-tokenizer (ByteLevel), the trainer (BytePairEncoding+Training) or the file format.
import LabCore

/// A byte-level BPE vocabulary and its merges.
///
/// Encoding a pre-token starts from its bytes and repeatedly joins the adjacent pair whose merge has the
/// lowest rank (its index in `merges`), leftmost first among equal ranks, until no adjacent pair has a merge.
/// That is GPT-2's `bpe()` and `tokenizers`' `Word::merge_all` (without dropout), so ids match either.
public struct BytePairEncoding: Sendable, Equatable {
    /// One merge: the ids of the left and right tokens, and the id of the token they make.
    public struct Merge: Sendable, Equatable {
        public var left: Int
        public var right: Int
        public var result: Int
    }

    /// `tokens[id]`: the bytes of token `id`, nil for an id that is not a byte string (a reserved token such as
    /// `<unk>`, which encoding never produces).
    public let tokens: [[UInt8]?]
    /// `byteToken[b]`: the id of the single-byte token `b`.
    public let byteToken: [Int]
    /// The merges in rank order.
    public let merges: [Merge]
    /// (left << 32 | right) → (rank, result).
    let ranks: [UInt64: (rank: Int, result: Int)]

    public static func == (a: BytePairEncoding, b: BytePairEncoding) -> Bool {
        a.tokens == b.tokens && a.merges == b.merges
    }

    /// Validates and indexes a vocabulary and merges. Throws `LabError.invalidConfig(key: "merges" / "vocab")`
    /// when a byte has no token, a merge names an id outside the vocabulary, or a merge's result is not the
    /// concatenation of its two tokens.
    public init(tokens: [[UInt8]?], merges: [Merge]) throws {
        var byteToken = [Int](repeating: -1, count: 256)
        for (id, bytes) in tokens.enumerated() {
            if let bytes, bytes.count == 1, byteToken[Int(bytes[0])] < 0 { byteToken[Int(bytes[0])] = id }
        }
        if let missing = byteToken.firstIndex(of: -1) {
            throw LabError.invalidConfig(
                key: "vocab",
                message:
                    "has no token for byte \(missing) (spelled \"\(ByteLevel.unicode[missing])\"); a byte-level vocabulary holds all 256 bytes"
            )
        }
        var ranks: [UInt64: (rank: Int, result: Int)] = [:]
        for (rank, merge) in merges.enumerated() {
            let valid = tokens.indices
            guard valid.contains(merge.left), valid.contains(merge.right), valid.contains(merge.result),
                let a = tokens[merge.left], let b = tokens[merge.right], let joined = tokens[merge.result]
            else {
                throw LabError.invalidConfig(
                    key: "merges", message: "merge \(rank) names a token outside the byte-level vocabulary")
            }
            guard a + b == joined else {
                throw LabError.invalidConfig(
                    key: "merges",
                    message:
                        "merge \(rank) joins \"\(ByteLevel.spelling(of: a))\" and \"\(ByteLevel.spelling(of: b))\" into \"\(ByteLevel.spelling(of: joined))\", which is not their concatenation"
                )
            }
            let key = Self.key(merge.left, merge.right)
            // A pair listed twice keeps its first (lowest) rank, as tokenizers does.
            if ranks[key] == nil { ranks[key] = (rank, merge.result) }
        }
        self.tokens = tokens
        self.byteToken = byteToken
        self.merges = merges
        self.ranks = ranks
    }

    @inline(__always) static func key(_ left: Int, _ right: Int) -> UInt64 {
        UInt64(left) << 32 | UInt64(UInt32(right))
    }

    /// The ids of one pre-token.
    public func encode<C: Collection>(word bytes: C) -> [Int] where C.Element == UInt8 {
        var ids = bytes.map { byteToken[Int($0)] }
        while ids.count > 1 {
            var best: (rank: Int, result: Int)?
            var bestPair: (Int, Int) = (0, 0)
            for k in 0..<(ids.count - 1) {
                if let m = ranks[Self.key(ids[k], ids[k + 1])], m.rank < best?.rank ?? Int.max {
                    best = m
                    bestPair = (ids[k], ids[k + 1])
                }
            }
            guard let best else { break }
            // Join every occurrence of the pair, left to right, without overlaps.
            var out: [Int] = []
            out.reserveCapacity(ids.count)
            var k = 0
            while k < ids.count {
                if k + 1 < ids.count, ids[k] == bestPair.0, ids[k + 1] == bestPair.1 {
                    out.append(best.result)
                    k += 2
                } else {
                    out.append(ids[k])
                    k += 1
                }
            }
            ids = out
        }
        return ids
    }

    /// The ids of `text`: pre-tokenized by `ByteLevel`, each piece encoded (repeated pieces from a cache).
    public func encode(_ text: String) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(text.utf8.count / 3 + 1)
        var cache: [ArraySlice<UInt8>: [Int]] = [:]
        ByteLevel.preTokenize(text) { piece in
            if let hit = cache[piece] {
                out.append(contentsOf: hit)
            } else {
                let ids = encode(word: piece)
                cache[piece] = ids
                out.append(contentsOf: ids)
            }
        }
        return out
    }

    /// The bytes of `ids`; ids without bytes (reserved tokens, ids outside the vocabulary) contribute nothing.
    public func bytes(_ ids: [Int]) -> [UInt8] {
        var out: [UInt8] = []
        for id in ids where tokens.indices.contains(id) {
            if let bytes = tokens[id] { out.append(contentsOf: bytes) }
        }
        return out
    }
}
