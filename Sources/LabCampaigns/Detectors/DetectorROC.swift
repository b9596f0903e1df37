// DetectorROC: a detector's receiver operating characteristic over accounts — its continuous score for every
// attacker account (positives) against every honest account (negatives) — with the area under it and the
// true-positive rate at a fixed false-positive rate. Ties are one threshold: tied accounts enter together
// (a diagonal step), so the AUC counts a tie as half, and nothing depends on the order accounts were listed.
// Not the alarms: an alarm may need more than a score above a threshold (clustering's crowd test).
import Foundation

public struct ROCPoint: Equatable, Sendable {
    public var fpr: Double
    public var tpr: Double

    public init(fpr: Double, tpr: Double) {
        self.fpr = fpr
        self.tpr = tpr
    }
}

public struct DetectorROC: Equatable, Sendable {
    /// From (0, 0) to (1, 1): one point per distinct score, thresholds descending (alarm when score ≥ t).
    public var points: [ROCPoint]
    /// Area under `points` (trapezoids): P(score of an attacker > score of an honest account) + ½ P(tie).
    public var auc: Double

    /// The false-positive rates the campaign kind reports TPR at (and its ROC plots draw).
    public static let reportedFPRs: [Double] = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1]

    /// The ROC of `positives` (attacker accounts' scores) against `negatives` (honest accounts'); larger is
    /// more suspicious, -infinity (or NaN) for an account the detector never scored. Nil when either is empty.
    public init?(positives: [Double], negatives: [Double]) {
        guard !positives.isEmpty, !negatives.isEmpty else { return nil }
        func clean(_ x: Double) -> Double { x.isNaN ? -.infinity : x }
        let pos = positives.map(clean).sorted(by: >), neg = negatives.map(clean).sorted(by: >)
        let thresholds = Array(Set(pos + neg)).sorted(by: >)
        var points = [ROCPoint(fpr: 0, tpr: 0)]
        var i = 0, j = 0
        var auc = 0.0
        for t in thresholds {
            while i < pos.count, pos[i] >= t { i += 1 }
            while j < neg.count, neg[j] >= t { j += 1 }
            let p = ROCPoint(fpr: Double(j) / Double(neg.count), tpr: Double(i) / Double(pos.count))
            let q = points[points.count - 1]
            auc += (p.fpr - q.fpr) * (p.tpr + q.tpr) / 2
            points.append(p)
        }
        self.points = points
        self.auc = auc
    }

    /// The largest TPR of a threshold whose FPR is at most `fpr` (0 when only the empty alarm set qualifies).
    /// No interpolation between thresholds: a real detector must pick one.
    public func tpr(atFPR fpr: Double) -> Double {
        points.filter { $0.fpr <= fpr + 1e-12 }.map(\.tpr).max() ?? 0
    }
}
