// DetectorROC: the area under a perfect, an indifferent and a reversed scorer; TPR at a fixed FPR read off
// hand-made scores; tied scores entering together (half credit in the AUC, no split of a tied block) and the
// same curve whatever order accounts are listed in.
import LabCampaigns
import XCTest

final class DetectorROCTests: XCTestCase {
    func testPerfectIndifferentAndReversedScorers() throws {
        let perfect = try XCTUnwrap(DetectorROC(positives: [5, 6, 7], negatives: [1, 2, 3, 4]))
        XCTAssertEqual(perfect.auc, 1, accuracy: 1e-12)
        XCTAssertEqual(perfect.tpr(atFPR: 0), 1)
        let indifferent = try XCTUnwrap(DetectorROC(positives: [0.3, 0.3], negatives: [0.3, 0.3, 0.3]))
        XCTAssertEqual(indifferent.auc, 0.5, accuracy: 1e-12)
        XCTAssertEqual(indifferent.points, [ROCPoint(fpr: 0, tpr: 0), ROCPoint(fpr: 1, tpr: 1)])
        XCTAssertEqual(indifferent.tpr(atFPR: 0.01), 0, "a tied block cannot be split to meet the FPR")
        let reversed = try XCTUnwrap(DetectorROC(positives: [1, 2], negatives: [3, 4]))
        XCTAssertEqual(reversed.auc, 0, accuracy: 1e-12)
        // Never evaluated (nil in the outcome, -infinity here) ranks below every score.
        // 2 beats 1 and -inf; -inf loses to 1 and ties -inf: 2.5 / 4.
        let unscored = try XCTUnwrap(DetectorROC(positives: [-.infinity, 2], negatives: [1, -.infinity]))
        XCTAssertEqual(unscored.auc, 0.625, accuracy: 1e-12)
        XCTAssertNil(DetectorROC(positives: [], negatives: [1]))
        XCTAssertNil(DetectorROC(positives: [1], negatives: []))
    }

    func testTPRAtFixedFPROnHandMadeScores() throws {
        // Thresholds 0.9, 0.85, 0.8, 0.7, 0.5, 0.4, 0.3, 0.2, 0.1 give (FPR, TPR) = (0, .25), (.2, .25), (.2, .5),
        // (.2, .75), (.4, .75), (.6, .75), (.6, 1), (.8, 1), (1, 1). Pairs won: 5 + 4 + 4 + 2 = 15 of 20.
        let roc = try XCTUnwrap(DetectorROC(positives: [0.9, 0.8, 0.7, 0.3], negatives: [0.85, 0.5, 0.4, 0.2, 0.1]))
        XCTAssertEqual(roc.auc, 0.75, accuracy: 1e-12)
        XCTAssertEqual(roc.points.count, 10)
        XCTAssertEqual(roc.tpr(atFPR: 0.001), 0.25)
        XCTAssertEqual(roc.tpr(atFPR: 0.01), 0.25)
        XCTAssertEqual(roc.tpr(atFPR: 0.2), 0.75)
        XCTAssertEqual(roc.tpr(atFPR: 0.5), 0.75)
        XCTAssertEqual(roc.tpr(atFPR: 0.6), 1)
    }

    func testTiesEnterTogetherWhateverTheOrder() throws {
        // Scores 1, 1, 0 against 1, 0, 0, 0: one threshold at 1 gives (1/4, 2/3), then (1, 1). AUC by pairs:
        // each 1 ties one honest 1 (½) and beats three 0s; the 0 ties three 0s (3 × ½): 8.5 / 12.
        let roc = try XCTUnwrap(DetectorROC(positives: [1, 1, 0], negatives: [1, 0, 0, 0]))
        XCTAssertEqual(roc.auc, 8.5 / 12, accuracy: 1e-12)
        XCTAssertEqual(roc.points[1].fpr, 0.25)
        XCTAssertEqual(roc.points[1].tpr, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(roc.tpr(atFPR: 0.1), 0)
        for (p, n) in [([0.0, 1, 1], [0.0, 0, 0, 1]), ([1, 0, 1], [0, 1, 0, 0]), ([0, 1, 1], [0, 0, 1, 0])] {
            XCTAssertEqual(try XCTUnwrap(DetectorROC(positives: p, negatives: n)), roc)
        }
    }
}
