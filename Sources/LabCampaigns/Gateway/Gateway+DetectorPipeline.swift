// The gateway's detectors on a thread of their own. An alarm bans only `ban_delay` after the request (or sweep)
// that raised it, so the requests before then need no answer from the detectors: the gateway hands each served
// request's prompt to a serial worker and goes on, and waits for the worker only when a pending request is old
// enough that an alarm from it could ban the account of the request at hand. The worker featurises and observes
// in the gateway's order and runs the sweeps at their scheduled places in that order, so every detector sees
// exactly the sequence it sees without the worker, and the alarms come back in the same order with the same
// served counts: the same bans, the same alarm log, the same outcome, on a second core. Not for a gateway whose
// proof-of-work reads suspicion on every request, nor with no ban delay (those stay synchronous).
import Dispatch
import LabCore

/// One item of the detectors' stream, in the gateway's order.
enum DetectorWork: Sendable {
    /// A served request: the account, its time and its prompt (featurised on the worker).
    case observe(account: Int, time: Double, prompt: [Int32])
    /// The sweep of detector `detector` scheduled at `time`.
    case sweep(detector: Int, time: Double)
}

/// An alarm as the worker found it: what `Gateway.raise` needs, with the account's served count at that point
/// of the stream.
struct DetectorAlarm: Sendable {
    var account: Int
    var detector: Int
    var time: Double
    var served: Int
}

/// The serial worker that owns the detectors while a pipelined gateway runs. Only the worker's queue touches
/// the detectors and `found`; the gateway reads `found` after `queue.sync`, which orders every write before it.
final class DetectorPipeline: @unchecked Sendable {
    let detectors: [any Detector]
    let queue = DispatchQueue(label: "distill-lab.gateway.detectors")
    /// The worker count the detectors' own parallel regions (the clustering sweep) run with: the gateway's
    /// creator's scope, carried to the worker's thread.
    let workers: Int
    /// Requests observed per account so far in the stream: the gateway's `served` of that account at that point.
    var observed: [Int] = []
    var found: [DetectorAlarm] = []

    init(detectors: [any Detector], workers: Int) {
        self.detectors = detectors
        self.workers = workers
    }

    /// Queues `batch` behind everything queued before it.
    func submit(_ batch: [DetectorWork]) {
        queue.async { self.process(batch) }
    }

    /// Waits for everything queued and returns the alarms found since the last call, in stream order.
    func collect() -> [DetectorAlarm] {
        queue.sync {
            let alarms = found
            found = []
            return alarms
        }
    }

    func process(_ batch: [DetectorWork]) {
        Parallel.withWorkers(workers) {
            for item in batch {
                switch item {
                case let .observe(account, time, prompt):
                    while observed.count <= account { observed.append(0) }
                    observed[account] += 1
                    let o = DetectorObservation(account: account, time: time, features: PromptFeatures(prompt: prompt))
                    for d in detectors.indices where detectors[d].observe(o) {
                        found.append(
                            DetectorAlarm(account: account, detector: d, time: time, served: observed[account]))
                    }
                case let .sweep(d, time):
                    for account in detectors[d].sweep(time: time) {
                        let served = account < observed.count ? observed[account] : 0
                        found.append(DetectorAlarm(account: account, detector: d, time: time, served: served))
                    }
                }
            }
        }
    }
}
