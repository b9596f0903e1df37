// Boundary mapping against an exact oracle (group testing finds the same boundary as one probe per symbol, with
// fewer probes) and the jailbreak rewrites' shapes.
import LabCore
import LabData
import XCTest

@testable import LabAttacks

final class SafetyAttackTests: XCTestCase {
    let symbols = Array("abcdefghijklABCDEFGHIJKL")

    func oracle(_ forbidden: Set<Character>) -> BoundaryMapping.Oracle {
        { prompts in prompts.map { $0.contains(where: forbidden.contains) } }
    }

    func testGroupTestingFindsTheBoundaryWithFewerProbesThanNaive() throws {
        var rng = LabRNG(seed: 5)
        for _ in 0..<20 {
            var forbidden: Set<Character> = []
            while forbidden.count < 3 { forbidden.insert(symbols[rng.int(below: symbols.count)]) }
            let naive = try BoundaryMapping.naive(candidates: symbols, oracle: oracle(forbidden))
            let group = try BoundaryMapping.groupTesting(candidates: symbols, groupSize: 4, oracle: oracle(forbidden))
            XCTAssertEqual(naive.refused, forbidden)
            XCTAssertEqual(naive.queries, symbols.count)
            XCTAssertEqual(group.refused, forbidden)
            XCTAssertLessThan(group.queries, naive.queries)
            // 6 groups; a group of 4 holding one forbidden symbol costs at most 4 more probes (halves and quarters).
            XCTAssertLessThanOrEqual(group.queries, 6 + 3 * 4)
            XCTAssertEqual(group.probes.count, group.queries)
        }
    }

    func testAccuracyAndQueriesToReach() throws {
        let forbidden: Set<Character> = ["b", "K"]
        let prompts = ["ab=", "cd=", "aK=", "ef="]
        let truth = [true, false, true, false]
        XCTAssertEqual(BoundaryMapping.accuracy(forbidden, prompts: prompts, truth: truth), 1)
        XCTAssertEqual(BoundaryMapping.accuracy([], prompts: prompts, truth: truth), 0.5)
        let map = try BoundaryMapping.naive(candidates: symbols, oracle: oracle(forbidden))
        XCTAssertEqual(BoundaryMapping.queriesToReach(1, map: map, prompts: prompts, truth: truth), 23)
        XCTAssertEqual(BoundaryMapping.queriesToReach(0.75, map: map, prompts: prompts, truth: truth), 2)
    }

    func testJailbreakRewrites() throws {
        let world = try SafetyWorld(SafetyWorldConfig())
        let f = world.forbidden[0]
        let allowed = world.allowedTopics
        let r = SafetyRequest(mentions: [
            .init(topic: allowed[0], alias: false), .init(topic: f, alias: false),
            .init(topic: allowed[1], alias: false),
        ])
        let alias = JailbreakFamily.alias.apply(r, world: world, benign: [])
        XCTAssertEqual(alias.mentions.map(\.alias), [false, true, false])
        let split = JailbreakFamily.split.apply(r, world: world, benign: [])
        XCTAssertEqual(split.mentions.last?.topic, f)
        XCTAssertEqual(split.breaks, [2])
        let prefix = JailbreakFamily.prefix.apply(r, world: world, benign: [allowed[2], allowed[3]])
        XCTAssertEqual(prefix.mentions.count, 5)
        XCTAssertEqual(prefix.breaks, [2])
        XCTAssertEqual(world.forbiddenTopic(of: prefix), f)
        XCTAssertEqual(JailbreakFamily.none.apply(r, world: world, benign: []), r)
    }
}
