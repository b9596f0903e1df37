// BoundaryMapping: learning which prompts a guarded API refuses at the least cost. The attacker knows the alphabet
// of topic symbols, not which are forbidden; it probes with prompts and reads refusals. Naive: one probe per
// symbol. Adaptive group testing (Dorfman 1943; binary splitting, Hwang 1972): probe several symbols in one
// prompt, split only the groups that were refused. Not a jailbreak: it maps the boundary, it does not cross it.
import LabCore
import LabData

/// What a mapping run learned and paid.
public struct BoundaryMap: Sendable {
    /// The symbols the attacker concluded trigger a refusal.
    public var refused: Set<Character>
    /// Probes sent (one query each).
    public var queries: Int
    /// (queries so far, the estimate then): the estimate after each probe, for queries-to-accuracy curves.
    public var trace: [(queries: Int, refused: Set<Character>)]
    /// Every probe prompt and whether it was refused, in order: the account's traffic as a detector sees it.
    public var probes: [(prompt: String, refused: Bool)]
}

public enum BoundaryMapping {
    /// Asks the oracle about prompts (text ending in "="); true means refused.
    public typealias Oracle = ([String]) throws -> [Bool]

    /// The probe prompt for a set of symbols: each once, or a lone symbol twice (a request names at least two
    /// mentions in the world's data).
    static func probe(_ symbols: [Character]) -> String {
        (symbols.count == 1 ? String(repeating: symbols[0], count: 2) : String(symbols)) + "="
    }

    /// One probe per candidate, in the given order.
    public static func naive(candidates: [Character], oracle: Oracle) throws -> BoundaryMap {
        var map = BoundaryMap(refused: [], queries: 0, trace: [], probes: [])
        for c in candidates {
            let prompt = probe([c])
            let refused = try oracle([prompt])[0]
            map.queries += 1
            map.probes.append((prompt, refused))
            if refused { map.refused.insert(c) }
            map.trace.append((map.queries, map.refused))
        }
        return map
    }

    /// Adaptive group testing: candidates in groups of at most `groupSize` (one prompt each); a refused group is
    /// halved, the first half probed, and the second half probed only when the first was refused too (otherwise
    /// it must hold the trigger). A lone symbol reached that way is concluded refused.
    public static func groupTesting(candidates: [Character], groupSize: Int, oracle: Oracle) throws -> BoundaryMap {
        precondition(groupSize >= 1, "groupTesting: groupSize must be at least 1")
        var map = BoundaryMap(refused: [], queries: 0, trace: [], probes: [])
        func ask(_ group: [Character]) throws -> Bool {
            let prompt = probe(group)
            let refused = try oracle([prompt])[0]
            map.queries += 1
            map.probes.append((prompt, refused))
            return refused
        }
        func record() { map.trace.append((map.queries, map.refused)) }
        /// `group` is known to be refused.
        func split(_ group: [Character]) throws {
            if group.count == 1 {
                map.refused.insert(group[0])
                record()
                return
            }
            let half = group.count / 2
            let left = Array(group[..<half]), right = Array(group[half...])
            let leftRefused = try ask(left)
            record()
            if leftRefused {
                try split(left)
                let rightRefused = try ask(right)
                record()
                if rightRefused { try split(right) }
            } else {
                try split(right)
            }
        }
        var start = 0
        while start < candidates.count {
            let group = Array(candidates[start..<min(candidates.count, start + groupSize)])
            let refused = try ask(group)
            record()
            if refused { try split(group) }
            start += groupSize
        }
        return map
    }

    /// Share of `prompts` whose refusal the map predicts (refused iff the prompt holds a mapped symbol) equal to
    /// `truth`.
    public static func accuracy(_ refused: Set<Character>, prompts: [String], truth: [Bool]) -> Double {
        guard !prompts.isEmpty else { return 0 }
        var right = 0
        for (p, t) in zip(prompts, truth) where p.contains(where: refused.contains) == t { right += 1 }
        return Double(right) / Double(prompts.count)
    }

    /// The fewest queries after which the map's accuracy reaches `target`, or nil if it never does.
    public static func queriesToReach(
        _ target: Double, map: BoundaryMap, prompts: [String], truth: [Bool]
    ) -> Int? {
        if accuracy([], prompts: prompts, truth: truth) >= target { return 0 }
        return map.trace.first { accuracy($0.refused, prompts: prompts, truth: truth) >= target }?.queries
    }
}
