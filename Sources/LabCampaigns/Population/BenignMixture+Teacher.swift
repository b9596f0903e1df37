// BenignMixture+Teacher: the campaign experiments' default teacher — the mixture's own bigram model, fitted
// by counting the train splits (each source weighted by its share), served through the same TeacherAPI as a
// GPT. Instant and exact, so a sweep of many cells spends its time on the gateway, not on forward passes;
// not a model worth stealing for its own sake (a GPT teacher plugs in through TeacherAPI).
import Foundation
import LabAPI
import LabCore

extension BenignMixture {
    /// A `BigramTeacher` whose row a is log P(b | a) of the mixture's train text, add-`smoothing` per count.
    public func bigramTeacher(smoothing: Double = 0.1, contextLength: Int = 64) throws -> BigramTeacher {
        guard smoothing > 0, smoothing.isFinite else {
            throw LabError.invalidConfig(
                key: "teacher.smoothing", message: "is \(smoothing); add-α smoothing needs α > 0")
        }
        let V = vocabularySize
        let pairs = Double(sources.reduce(0) { $0 + max(0, $1.train.count - 1) })
        var counts = [Double](repeating: 0, count: V * V)
        for source in sources where source.train.count > 1 {
            // Pseudo-counts: each source contributes its weight's share of all the train bigrams, whatever its length.
            let w = source.weight * pairs / Double(source.train.count - 1)
            for (a, b) in zip(source.train, source.train.dropFirst()) { counts[Int(a) * V + Int(b)] += w }
        }
        var table = [Float](repeating: 0, count: V * V)
        for a in 0..<V {
            let total = counts[(a * V)..<((a + 1) * V)].reduce(0, +) + Double(V) * smoothing
            for b in 0..<V { table[a * V + b] = Float(log((counts[a * V + b] + smoothing) / total)) }
        }
        return try BigramTeacher(table: table, vocabularySize: V, contextLength: contextLength)
    }
}
