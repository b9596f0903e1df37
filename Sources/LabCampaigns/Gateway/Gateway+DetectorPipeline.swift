// The gateway's detectors on threads of their own. An alarm bans only `ban_delay` after the request (or sweep)
// that raised it, so the requests before then need no answer from the detectors: the gateway hands each served
// request's features to one serial worker per detector and goes on, and waits for the workers only when a pending
// request is old enough that an alarm from it could ban the account of the request at hand. Each worker observes
// in the gateway's order and runs its detector's sweeps at their scheduled places in that order, so every
// detector sees exactly the sequence it sees without the workers, and the alarms are put back in the order they
// rise one request at a time, with the same served counts: the same bans, the same alarm log, the same outcome,
// on the other core. Not for a gateway whose
// proof-of-work reads suspicion on every request, nor with no ban delay (those stay synchronous).
import Dispatch
import LabCore

/// One item of the detectors' stream, in the gateway's order.
enum DetectorWork: Sendable {
    /// A served request: the account, its time and its prompt's features.
    case observe(account: Int, time: Double, features: PromptFeatures)
    /// The sweep of detector `detector` scheduled at `time`.
    case sweep(detector: Int, time: Double)
}

/// An alarm as a worker found it: what `Gateway.raise` needs, with the account's served count at that point
/// of the stream.
struct DetectorAlarm: Sendable {
    var account: Int
    var detector: Int
    var time: Double
    var served: Int
}

/// The detectors' workers while a pipelined gateway runs: one serial lane per detector, each reading the whole
/// stream, so the detectors also run beside each other. Only a lane's queue touches its detector and its
/// `found`; the gateway reads `found` after `queue.sync`, which orders every write before it.
final class DetectorPipeline: @unchecked Sendable {
    final class Lane: @unchecked Sendable {
        let detector: any Detector
        /// The detector's index in the gateway.
        let index: Int
        let queue: DispatchQueue
        /// Batches the lane may have queued and not yet processed: the gateway waits for one to free before
        /// queuing more, so the items in flight stay bounded (at most 32 batches) however far ahead it runs.
        let slots = DispatchSemaphore(value: 32)
        /// Requests observed per account so far in the stream: the gateway's `served` of that account there.
        var observed: [Int] = []
        /// Alarms found and not yet collected, with the position in the stream of the item that raised them.
        var found: [(item: Int, alarm: DetectorAlarm)] = []

        init(detector: any Detector, index: Int) {
            self.detector = detector
            self.index = index
            queue = DispatchQueue(label: "distill-lab.gateway.detector.\(detector.name)")
        }

        func process(_ batch: [DetectorWork], first: Int) {
            for (offset, item) in batch.enumerated() {
                switch item {
                case let .observe(account, time, features):
                    while observed.count <= account { observed.append(0) }
                    observed[account] += 1
                    if detector.observe(DetectorObservation(account: account, time: time, features: features)) {
                        let alarm = DetectorAlarm(
                            account: account, detector: index, time: time, served: observed[account])
                        found.append((first + offset, alarm))
                    }
                case let .sweep(d, time) where d == index:
                    for account in detector.sweep(time: time) {
                        let served = account < observed.count ? observed[account] : 0
                        found.append(
                            (first + offset, DetectorAlarm(account: account, detector: d, time: time, served: served)))
                    }
                case .sweep:
                    continue
                }
            }
        }
    }

    let lanes: [Lane]
    /// The worker count the detectors' own parallel regions (the clustering sweep) run with: the gateway's
    /// creator's scope, carried to the lanes' threads.
    let workers: Int
    /// Items handed over so far (the stream position of the next batch's first item); the gateway's thread only.
    var submitted = 0

    init(detectors: [any Detector], workers: Int) {
        lanes = detectors.enumerated().map { Lane(detector: $0.element, index: $0.offset) }
        self.workers = workers
    }

    /// Queues `batch` on every lane behind everything queued before it.
    func submit(_ batch: [DetectorWork]) {
        let first = submitted, workers = workers
        submitted += batch.count
        for lane in lanes {
            lane.slots.wait()
            lane.queue.async {
                Parallel.withWorkers(workers) { lane.process(batch, first: first) }
                lane.slots.signal()
            }
        }
    }

    /// Waits for everything queued and returns the alarms found since the last call in the order the detectors
    /// would have raised them one request at a time: by stream position, then detector, then as found.
    func collect() -> [DetectorAlarm] {
        var all: [(item: Int, detector: Int, rank: Int, alarm: DetectorAlarm)] = []
        for lane in lanes {
            let found = lane.queue.sync {
                let found = lane.found
                lane.found = []
                return found
            }
            for (rank, f) in found.enumerated() { all.append((f.item, lane.index, rank, f.alarm)) }
        }
        all.sort { ($0.item, $0.detector, $0.rank) < ($1.item, $1.detector, $1.rank) }
        return all.map(\.alarm)
    }
}
