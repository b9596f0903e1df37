// BytePairEncoding+Training: learns byte-level BPE merges from a text, deterministically — the most frequent
// adjacent pair first, ties broken by the smaller (left id, right id) — with incremental pair counts and a heap.
// Not Hugging Face's trainer (its tie-break and id order differ); only the encoding of the result matches theirs.
import LabCore

extension BytePairEncoding {
    /// Ids the lab's BPE vocabularies use: 0 is reserved (`<unk>`, never produced by encoding), 1…256 are the
    /// bytes 0…255 in order, and every learned token follows in the order it was learned.
    public static let firstByteID = 1

    /// Learns merges on `text` until the vocabulary (reserved id 0 and the 256 bytes included) holds
    /// `vocabularySize` tokens, or no adjacent pair occurs at least twice.
    ///
    /// The text is pre-tokenized by `ByteLevel` and pairs never cross a pre-token boundary. Each step joins the
    /// pair with the highest count over the whole text; among pairs with equal counts, the one whose
    /// (left id, right id) is lexicographically smallest. Ids are assigned by that same order, so the result
    /// depends on nothing but the text and the size. A merge whose bytes equal an existing token's reuses
    /// that token's id (and does not grow the vocabulary).
    public static func train(on text: String, vocabularySize: Int) throws -> BytePairEncoding {
        let minimum = 256 + firstByteID
        guard vocabularySize >= minimum else {
            throw LabError.invalidConfig(
                key: "max_vocabulary",
                message:
                    "is \(vocabularySize); a byte-level BPE vocabulary holds <unk> and the 256 bytes, so it needs at least \(minimum)"
            )
        }
        var tokens: [[UInt8]?] = [nil] + (0..<256).map { [UInt8($0)] }
        var idOfBytes: [[UInt8]: Int] = [:]
        for id in 1..<tokens.count { if let bytes = tokens[id] { idOfBytes[bytes] = id } }

        // Distinct pre-tokens and their counts, in order of first appearance (any order gives the same merges).
        var wordIndex: [ArraySlice<UInt8>: Int] = [:]
        var words: [[Int32]] = []
        var counts: [Int] = []
        ByteLevel.preTokenize(text) { piece in
            if let w = wordIndex[piece] {
                counts[w] += 1
            } else {
                wordIndex[piece] = words.count
                words.append(piece.map { Int32(Int($0) + firstByteID) })
                counts.append(1)
            }
        }

        var pairCount: [UInt64: Int] = [:]
        var wordsWithPair: [UInt64: [Int32]] = [:]
        for (w, word) in words.enumerated() where word.count > 1 {
            for k in 0..<(word.count - 1) {
                let p = key(Int(word[k]), Int(word[k + 1]))
                pairCount[p, default: 0] += counts[w]
                wordsWithPair[p, default: []].append(Int32(w))
            }
        }
        var heap = PairHeap()
        for (p, n) in pairCount { heap.push(count: n, pair: p) }

        var merges: [Merge] = []
        var lastTouched = [Int](repeating: -1, count: words.count)
        while tokens.count < vocabularySize, let (count, pair) = heap.pop() {
            // Stale entries (the pair's count changed after they were pushed) are skipped.
            guard pairCount[pair] == count else { continue }
            guard count >= 2 else { break }
            let left = Int(pair >> 32), right = Int(pair & 0xFFFF_FFFF)
            guard let a = tokens[left], let b = tokens[right] else { break }
            let joined = a + b
            let result: Int
            if let existing = idOfBytes[joined] {
                result = existing
            } else {
                result = tokens.count
                tokens.append(joined)
                idOfBytes[joined] = result
            }
            merges.append(Merge(left: left, right: right, result: result))

            var changed: Set<UInt64> = []
            for w32 in wordsWithPair[pair] ?? [] {
                let w = Int(w32)
                guard lastTouched[w] != merges.count else { continue }
                lastTouched[w] = merges.count
                let word = words[w]
                guard word.count > 1 else { continue }
                var contains = false
                for k in 0..<(word.count - 1) where word[k] == Int32(left) && word[k + 1] == Int32(right) {
                    contains = true
                    break
                }
                guard contains else { continue }
                let n = counts[w]
                for k in 0..<(word.count - 1) {
                    let p = key(Int(word[k]), Int(word[k + 1]))
                    pairCount[p, default: 0] -= n
                    changed.insert(p)
                }
                var joinedWord: [Int32] = []
                joinedWord.reserveCapacity(word.count)
                var k = 0
                while k < word.count {
                    if k + 1 < word.count, word[k] == Int32(left), word[k + 1] == Int32(right) {
                        joinedWord.append(Int32(result))
                        k += 2
                    } else {
                        joinedWord.append(word[k])
                        k += 1
                    }
                }
                words[w] = joinedWord
                if joinedWord.count > 1 {
                    for k in 0..<(joinedWord.count - 1) {
                        let p = key(Int(joinedWord[k]), Int(joinedWord[k + 1]))
                        pairCount[p, default: 0] += n
                        changed.insert(p)
                        wordsWithPair[p, default: []].append(w32)
                    }
                }
            }
            wordsWithPair[pair] = nil
            for p in changed {
                let n = pairCount[p] ?? 0
                if n > 0 { heap.push(count: n, pair: p) } else { pairCount[p] = nil }
            }
        }
        return try BytePairEncoding(tokens: tokens, merges: merges)
    }
}

/// A binary max-heap of (count, pair): higher count first, then the smaller pair key (left id, then right id).
struct PairHeap {
    private var items: [(count: Int, pair: UInt64)] = []

    private static func before(_ x: (count: Int, pair: UInt64), _ y: (count: Int, pair: UInt64)) -> Bool {
        x.count != y.count ? x.count > y.count : x.pair < y.pair
    }

    mutating func push(count: Int, pair: UInt64) {
        items.append((count, pair))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Self.before(items[i], items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (Int, UInt64)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count, Self.before(items[l], items[m]) { m = l }
                if r < items.count, Self.before(items[r], items[m]) { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return (top.count, top.pair)
    }
}
