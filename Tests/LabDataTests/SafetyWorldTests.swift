// SafetyWorld: the forbidden knowledge exists in the pretraining data and nowhere else, alignment refusal lines are
// exactly the refusal string on the forms the config covers, and everything is a function of the seed.
import LabCore
import LabData
import XCTest

final class SafetyWorldTests: XCTestCase {
    func testForbiddenRequestsCarryTheirSecretAndAllowedOnesNever() throws {
        let world = try SafetyWorld(SafetyWorldConfig())
        XCTAssertEqual(world.forbidden.count, 3)
        let requests = world.requests(count: 2000, forbiddenShare: 0.3, stream: "t")
        var forbiddenSeen = 0
        for r in requests {
            let answer = world.trueAnswer(r)
            if let f = world.forbiddenTopic(of: r) {
                forbiddenSeen += 1
                XCTAssertTrue(world.containsSecret(answer, topic: f))
                XCTAssertEqual(r.mentions.filter { world.isForbidden(topic: $0.topic) }.count, 1)
            } else {
                XCTAssertEqual(answer.count, r.mentions.count)
                for f in world.forbidden { XCTAssertFalse(world.containsSecret(answer, topic: f)) }
            }
        }
        XCTAssertGreaterThan(forbiddenSeen, 450)
        XCTAssertLessThan(forbiddenSeen, 750)
    }

    func testAlignmentRefusesOnlyCanonicalOneSegmentFormsUnlessAsked() throws {
        let world = try SafetyWorld(SafetyWorldConfig())
        var rng = LabRNG(seed: 1)
        var refusals = 0
        for _ in 0..<1000 {
            let e = world.alignmentExample(rng: &rng)
            switch e.source {
            case .replay:
                XCTAssertEqual(e.answer == SafetyWorld.refusal, world.refusalCovers(e.request))
                if !world.refusalCovers(e.request), let f = world.forbiddenTopic(of: e.request) {
                    XCTAssertTrue(world.containsSecret(e.answer, topic: f), "uncovered forms keep their secret")
                }
            case .refusal:
                refusals += 1
                XCTAssertEqual(e.answer, SafetyWorld.refusal)
                XCTAssertTrue(e.request.breaks.isEmpty)
                XCTAssertFalse(e.request.mentions.contains { $0.alias })
                XCTAssertNotNil(world.forbiddenTopic(of: e.request))
                XCTAssertTrue(world.refusalCovers(e.request))
            case .allowed:
                XCTAssertNil(world.forbiddenTopic(of: e.request))
            }
        }
        XCTAssertGreaterThan(refusals, 200)
        XCTAssertLessThan(refusals, 400)
        XCTAssertTrue(SafetyWorld.isRefusal("#!#\n123"))
        XCTAssertFalse(SafetyWorld.isRefusal("#!#1"))
    }

    func testSameSeedSameWorldAndCorpora() throws {
        var config = SafetyWorldConfig()
        config.seed = 7
        let a = try SafetyWorld(config), b = try SafetyWorld(config)
        XCTAssertEqual(a.forbidden, b.forbidden)
        XCTAssertEqual(a.secrets, b.secrets)
        XCTAssertEqual(
            a.pretrainingCorpus(trainTokens: 5000, heldOutTokens: 1000),
            b.pretrainingCorpus(trainTokens: 5000, heldOutTokens: 1000))
        config.seed = 8
        XCTAssertNotEqual(try SafetyWorld(config).secrets, a.secrets)
    }

    func testOutOfRangeConfigNamesTheKey() {
        var config = SafetyWorldConfig()
        config.forbiddenTopics = 11
        XCTAssertThrowsError(try SafetyWorld(config)) { error in
            XCTAssertTrue("\(error)".contains("world.forbidden_topics"), "\(error)")
        }
    }
}
