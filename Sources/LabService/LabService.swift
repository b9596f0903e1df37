import GRDB
// LabService: the teacher as a real HTTP service (OpenAI-compatible completions, API keys, a durable
// SQLite ledger, live detectors, batching, metrics, a dashboard). It serves the lab's teacher; it is
// not a general model server and holds no research logic of its own.
import Hummingbird
import Logging
import Metrics
import Prometheus
