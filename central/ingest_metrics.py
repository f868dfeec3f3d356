"""The ingest worker's ``/metrics`` (design 5.13, "Metrics"): Prometheus text format 0.0.4.

What this worker did is counted in the process (batches by result, packages,
documents, pages, failures by reason, seconds per ingested batch); the queue as
every worker sees it is read from the state database when scraped. The listener
is prometheus-client's own HTTP server in a thread, on loopback by default and
without credentials, like the receiver's metrics listener.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily

from central import ingest_queue

RESULTS = ("done", "failed", "lost", "released")
# From a one-package batch (~0.1 s) to a batch of hundreds of packages with OCR text to read.
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


def failure_reason(error: str) -> str:
    """The label of a failure: the batch check's code, ``sip_check`` or ``internal`` (a bounded set)."""
    code = error.split(":", 1)[0].strip()
    return code if code and len(code) <= 40 and code.replace("_", "").isalnum() else "other"


class _Queue:
    """``sohoa_ingest_queue_batches{state}`` and ``sohoa_ingest_backend_up``, read from the state when scraped."""

    def __init__(self, state):
        self.state = state

    def collect(self):
        up = GaugeMetricFamily("sohoa_ingest_backend_up", "1 when the state database answered this scrape.")
        try:
            counts = ingest_queue.counts(self.state)
        except Exception:  # the state is down: the queue's gauge is left out, backend_up says why
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        queue = GaugeMetricFamily("sohoa_ingest_queue_batches", "Accepted batches in the ingest queue, by state "
                                  "(queued: waiting; claimed: a worker has it; done; failed).", labels=["state"])
        for name in ("queued", "claimed", "done", "failed"):
            queue.add_metric([name], counts.get(name, 0))
        yield queue


class IngestMetrics:
    """The worker's metrics in a registry of their own; :meth:`observe` takes each step's outcome."""

    def __init__(self, state):
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.batches = Counter("sohoa_ingest_batches", "Batches this worker finished, by result (done; failed: "
                               "refused for good; lost: another worker had it; released: given back, a "
                               "backend was down).", ["result"], registry=r)
        for result in RESULTS:
            self.batches.labels(result)
        self.packages = Counter("sohoa_ingest_packages", "SIP_hoso packages ingested (stored and catalogued).",
                                registry=r)
        self.documents = Counter("sohoa_ingest_documents", "Documents catalogued.", registry=r)
        self.pages = Counter("sohoa_ingest_pages", "Pages catalogued.", registry=r)
        self.failures = Counter("sohoa_ingest_failures", "Batches marked failed, by reason (the batch check's "
                                "code, sip_check, internal).", ["reason"], registry=r)
        self.seconds = Histogram("sohoa_ingest_batch_seconds", "Seconds from claim to commit of each ingested "
                                 "batch.", buckets=BUCKETS, registry=r)
        r.register(_Queue(state))

    def observe(self, outcome) -> None:
        self.batches.labels(outcome.result).inc()
        if outcome.result == "done":
            self.packages.inc(outcome.packages)
            self.documents.inc(outcome.documents)
            self.pages.inc(outcome.pages)
            self.seconds.observe(outcome.seconds)
        elif outcome.result == "failed":
            self.failures.labels(failure_reason(outcome.error)).inc()

    def serve(self, host: str, port: int):
        """Start the listener (port 0: a free one); returns the server (``server_port``, ``shutdown()``)."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return server
