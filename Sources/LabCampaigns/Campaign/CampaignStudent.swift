// CampaignStudent: the seam between a campaign's harvest and a fidelity number — the records the proxies
// bought, a `CampaignDistiller` protocol, and the bigram distiller: a student counted from the teacher's
// sampled tokens (soft top-k mass when bought), scored against the teacher on held-out text by top-1
// agreement and KL — Bayes-optimal for a bigram teacher. The neural student is CampaignStudent+Distiller.
import Foundation
import LabAPI
import LabAttacks
import LabCore

/// One served extraction query.
public struct CampaignRecord: Equatable, Sendable {
    public var prompt: [Int32]
    /// The teacher's sampled continuation.
    public var completion: [Int32]
    /// At each generated position, the reported top-k (empty when none were bought).
    public var topLogprobs: [[TokenLogprob]]

    public init(prompt: [Int32], completion: [Int32], topLogprobs: [[TokenLogprob]] = []) {
        self.prompt = prompt
        self.completion = completion
        self.topLogprobs = topLogprobs
    }
}

/// How close a student came to the teacher.
public struct CampaignFidelity: Codable, Equatable, Sendable {
    /// Share of held-out positions where the student's most likely next token is the teacher's.
    public var agreement: Double
    /// Mean KL(teacher ‖ student), nats per position.
    public var klTeacherStudent: Double
    public var positions: Int

    enum CodingKeys: String, CodingKey { case agreement, klTeacherStudent = "kl_teacher_student", positions }
}

/// Trains a student from a harvest and scores it against the teacher on held-out prompts.
public protocol CampaignDistiller {
    var name: String { get }
    func fidelity(records: [CampaignRecord], teacher: any TeacherAPI, evaluation: [[Int32]]) throws -> CampaignFidelity
}

/// A next-token table indexed by the previous token: the teacher's sampled transitions counted (or, with
/// top-k logprobs, their reported probabilities added), add-`smoothing` per cell. It is the Bayes-optimal
/// student for a bigram teacher, so its fidelity measures what the harvest covered, not the learner.
public struct BigramDistiller: CampaignDistiller {
    public let name = "bigram_counts"
    public var smoothing = 0.01

    public init(smoothing: Double = 0.01) { self.smoothing = smoothing }

    /// (V, V) probabilities: row a is the student's P(· | a).
    public func table(records: [CampaignRecord], vocabularySize V: Int) -> [Double] {
        var counts = [Double](repeating: 0, count: V * V)
        for r in records {
            var previous = r.prompt.last
            for (j, token) in r.completion.enumerated() {
                guard let p = previous else { break }
                if j < r.topLogprobs.count, !r.topLogprobs[j].isEmpty {
                    for entry in r.topLogprobs[j] { counts[Int(p) * V + Int(entry.token)] += exp(entry.logprob) }
                } else {
                    counts[Int(p) * V + Int(token)] += 1
                }
                previous = token
            }
        }
        for a in 0..<V {
            let total = counts[(a * V)..<((a + 1) * V)].reduce(0, +) + Double(V) * smoothing
            for b in 0..<V { counts[a * V + b] = (counts[a * V + b] + smoothing) / total }
        }
        return counts
    }

    public func fidelity(records: [CampaignRecord], teacher: any TeacherAPI, evaluation: [[Int32]]) throws
        -> CampaignFidelity
    {
        let V = teacher.vocabularySize
        let student = table(records: records, vocabularySize: V)
        let logits = try teacher.logits(prompts: evaluation)
        var agree = 0, positions = 0
        var kl = 0.0
        var teacherRow = [Double](repeating: 0, count: V)
        for (b, prompt) in evaluation.enumerated() {
            for t in prompt.indices {
                logits[b].withUnsafeBufferPointer {
                    Softmax.probabilities(floatShifted: $0.baseAddress! + t * V, count: V, into: &teacherRow)
                }
                let s = Int(prompt[t]) * V
                var bestT = 0, bestS = 0
                for v in 0..<V {
                    let p = teacherRow[v]
                    if p > teacherRow[bestT] { bestT = v }
                    if student[s + v] > student[s + bestS] { bestS = v }
                    if p > 0 { kl += p * log(p / student[s + v]) }
                }
                if bestT == bestS { agree += 1 }
                positions += 1
            }
        }
        return CampaignFidelity(
            agreement: Double(agree) / Double(max(1, positions)), klTeacherStudent: kl / Double(max(1, positions)),
            positions: positions)
    }
}
