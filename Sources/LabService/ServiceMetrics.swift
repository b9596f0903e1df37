// ServiceMetrics: the service's Prometheus series (swift-prometheus) — requests by endpoint and status, tokens,
// spend, refusals by reason, alarms, bans, request latency and batch sizes — and their text exposition for
// GET /metrics. Not the ledger: these are operational counts, the store holds the money.
import Foundation
import Prometheus

final class ServiceMetrics: Sendable {
    let registry: PrometheusCollectorRegistry

    init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    static let latencyBuckets: [Duration] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10].map { .milliseconds(Int64($0 * 1000)) }

    func request(endpoint: String, status: Int, seconds: Double) {
        registry.makeCounter(name: "distill_requests_total", labels: [("endpoint", endpoint), ("status", String(status))],
                             help: "HTTP requests answered, by endpoint and status").increment()
        registry.makeDurationHistogram(name: "distill_request_duration_seconds", labels: [("endpoint", endpoint)], buckets: Self.latencyBuckets,
                                       help: "Time from a request's arrival to its response").recordNanoseconds(Int64(seconds * 1e9))
    }

    func refusal(_ reason: String) {
        registry.makeCounter(name: "distill_refusals_total", labels: [("reason", reason)], help: "Requests refused, by reason").increment()
    }

    func served(inputTokens: Int, outputTokens: Int, picodollars: Int64) {
        registry.makeCounter(name: "distill_tokens_total", labels: [("direction", "input")], help: "Tokens billed").increment(by: Int64(inputTokens))
        registry.makeCounter(name: "distill_tokens_total", labels: [("direction", "output")], help: "Tokens billed").increment(by: Int64(outputTokens))
        registry.makeCounter(name: "distill_spend_picodollars_total", help: "Dollars billed, in picodollars").increment(by: picodollars)
    }

    func alarm(detector: String, bans: Bool) {
        registry.makeCounter(name: "distill_alarms_total", labels: [("detector", detector)], help: "Detector alarms").increment()
        if bans { registry.makeCounter(name: "distill_bans_total", help: "Bans scheduled by detectors or operators").increment() }
    }

    func operatorBan() {
        registry.makeCounter(name: "distill_bans_total", help: "Bans scheduled by detectors or operators").increment()
    }

    func batch(queries: Int, seconds: Double) {
        registry.makeValueHistogram(name: "distill_batch_queries", buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
                                    help: "Queries per teacher batch").record(Double(queries))
        registry.makeDurationHistogram(name: "distill_batch_duration_seconds", buckets: Self.latencyBuckets,
                                       help: "Teacher time per batch, ledger commit included").recordNanoseconds(Int64(seconds * 1e9))
    }

    var exposition: String { registry.emitToString() }
}
