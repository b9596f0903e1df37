// EditDistance: Levenshtein distance and the "did you mean" suggestion of unknown-key errors.
// Not a fuzzy matcher: one closest candidate, only when it is close enough to be a plausible typo. In LabCore so
// that config types outside the experiment runner (the simulation rooms') suggest the same way.
public enum EditDistance {
    /// The number of single-character insertions, deletions and substitutions turning `a` into `b`.
    public static func levenshtein(_ a: String, _ b: String) -> Int {
        let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var previous = Array(0...y.count)
        var current = [Int](repeating: 0, count: y.count + 1)
        for i in 1...x.count {
            current[0] = i
            for j in 1...y.count {
                let substitution = previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1)
                current[j] = min(substitution, previous[j] + 1, current[j - 1] + 1)
            }
            swap(&previous, &current)
        }
        return previous[y.count]
    }

    /// The candidate closest to `word` (case-insensitive), if within a third of its length (at least 2 edits
    /// allowed) — close enough to be a typo rather than a different word. Ties go to the earlier candidate.
    public static func suggestion(for word: String, among candidates: [String]) -> String? {
        let lower = word.lowercased()
        // A candidate the word starts with, or that starts with the word, is the likely intent ("logarithmic" → "log").
        if lower.count >= 2,
            let prefix = candidates.first(where: {
                lower.hasPrefix($0.lowercased()) || $0.lowercased().hasPrefix(lower)
            })
        {
            return prefix
        }
        var best: (String, Int)?
        for c in candidates {
            let d = levenshtein(lower, c.lowercased())
            if let (_, bestDistance) = best, d >= bestDistance { continue }
            best = (c, d)
        }
        guard let (candidate, distance) = best else { return nil }
        return distance <= max(2, word.count / 3) ? candidate : nil
    }

    /// "did you mean 'x'? " (or nothing) followed by "allowed: a, b, c".
    public static func hint(for word: String, among candidates: [String], noun: String = "allowed") -> String {
        let mean = suggestion(for: word, among: candidates).map { "did you mean '\($0)'? " } ?? ""
        return mean
            + (candidates.isEmpty ? "nothing is allowed here" : "\(noun): \(candidates.joined(separator: ", "))")
    }
}
