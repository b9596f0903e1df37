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

    static let latencyBuckets: [Duration] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10].map {
        .milliseconds(Int64($0 * 1000))
    }

    /// "distill_<name>_<unit>", as Prometheus names series.
    static func name(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "distill", metricName: name, unitName: unit, helpText: help)
    }

    static let requests = name("requests", "total", "HTTP requests answered, by endpoint and status")
    static let duration = name("request_duration", "seconds", "Time from a request's arrival to its response")
    static let refusals = name("refusals", "total", "Requests refused, by reason")
    static let tokens = name("tokens", "total", "Tokens billed")
    static let spend = name("spend_picodollars", "total", "Dollars billed, in picodollars")
    static let alarms = name("alarms", "total", "Detector alarms")
    static let bans = name("bans", "total", "Bans scheduled by detectors or operators")
    static let batchQueries = name("batch", "queries", "Queries per teacher batch")
    static let batchDuration = name("batch_duration", "seconds", "Teacher time per batch, ledger commit included")

    func request(endpoint: String, status: Int, seconds: Double) {
        registry.makeCounter(descriptor: Self.requests, labels: [("endpoint", endpoint), ("status", String(status))])
            .increment()
        registry.makeDurationHistogram(
            descriptor: Self.duration, labels: [("endpoint", endpoint)], buckets: Self.latencyBuckets
        )
        .recordNanoseconds(Int64(seconds * 1e9))
    }

    func refusal(_ reason: String) {
        registry.makeCounter(descriptor: Self.refusals, labels: [("reason", reason)]).increment()
    }

    func served(inputTokens: Int, outputTokens: Int, picodollars: Int64) {
        registry.makeCounter(descriptor: Self.tokens, labels: [("direction", "input")]).increment(
            by: Int64(inputTokens))
        registry.makeCounter(descriptor: Self.tokens, labels: [("direction", "output")]).increment(
            by: Int64(outputTokens))
        registry.makeCounter(descriptor: Self.spend).increment(by: picodollars)
    }

    func alarm(detector: String, bans: Bool) {
        registry.makeCounter(descriptor: Self.alarms, labels: [("detector", detector)]).increment()
        if bans { registry.makeCounter(descriptor: Self.bans).increment() }
    }

    func operatorBan() {
        registry.makeCounter(descriptor: Self.bans).increment()
    }

    func batch(queries: Int, seconds: Double) {
        registry.makeValueHistogram(descriptor: Self.batchQueries, buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256]).record(
            Double(queries))
        registry.makeDurationHistogram(descriptor: Self.batchDuration, buckets: Self.latencyBuckets).recordNanoseconds(
            Int64(seconds * 1e9))
    }

    var exposition: String { registry.emitToString() }
}
