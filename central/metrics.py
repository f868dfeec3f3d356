"""The receiver's ``/metrics`` through the Prometheus client library (text format 0.0.4).

One registry per receiver (never the library's global one), with one
collector that reads the receiver's counters and its state when scraped:
counters are counters (``_total``), figures that go up and down are gauges,
every family has its HELP and TYPE, and ``sohoa_build_info`` says which
release and which backends answer (design 5.12; docs/sync.md, docs/central.md).
"""

from __future__ import annotations

from importlib import metadata

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # "text/plain; version=0.0.4; charset=utf-8"

COUNTERS = {
    "accepted": "Batches accepted into the log.",
    "rejected": "Batches and requests refused (see sohoa-central rejections).",
    "auth_failures": "Requests whose Authorization was refused.",
    "checksum_mismatch": "PATCH bodies refused with 460 (Upload-Checksum mismatch).",
    "disk_full": "Writes refused for lack of room (answered 507).",
    "bytes_received": "PATCH body bytes acknowledged.",
    "verified_while_uploading": "Batches checked from the received buffers as they arrived.",
    "verified_after_upload": "Batches checked by reading the stored bytes back after the last one.",
    "takeovers": "PATCHes of a silent client replaced by its retry.",
    "checks_restarted": "Batch checks voided by a failed PATCH and started again.",
    "rejections_unrecorded": "Refusals whose row could not be written.",
    "enroll_refused": "Enrollments refused.",
    "enroll_limited": "Enrollments answered 429 (too many failures).",
    "header_timeouts": "Connections closed with 408: request head too slow.",
    "idle_closed": "Idle connections closed.",
    "body_timeouts": "PATCH or enrollment bodies that stalled (408).",
    "lock_busy": "Upload or device locks found held by another PATCH or node.",
    "patch_waits": "PATCHes that waited for one of the node's slots (receiver.patches_in_flight).",
    "patches_refused_busy": "PATCHes answered 503 after waiting patch_wait_s for a slot.",
}
STORE_COUNTERS = {
    "s3_parts": "S3 multipart parts uploaded.",
    "s3_part_bytes": "Bytes uploaded as S3 multipart parts.",
    "s3_incomplete_parts": "Incomplete-part objects written (a chunk remainder under 5 MiB).",
    "s3_completed": "S3 multipart uploads completed at their archive name.",
    "s3_reads": "Objects read back from S3 (incomplete parts on another node, checks after upload).",
}
GAUGES = {
    "devices": "Enrolled devices not revoked.",
    "open_uploads": "Uploads created and not yet accepted.",
    "rejections": "Refusal rows kept.",
    "multipart_uploads_open": "Uploads with S3 bookkeeping (multipart uploads not yet archived).",
}


def _version() -> str:
    try:
        return metadata.version("sohoa")
    except metadata.PackageNotFoundError:
        return "unknown"


class ReceiverCollector:
    """Reads *core* (a :class:`central.receiver_core.ReceiverCore`) at each scrape; *up* gives backend health."""

    def __init__(self, core, up):
        self.core, self.up = core, up

    def collect(self):
        core = self.core
        info = GaugeMetricFamily("sohoa_build_info", "The receiver's release and backends (always 1).",
                                 labels=["version", "state_backend", "object_backend"])
        info.add_metric([_version(), core.state.backend, getattr(core.store, "backend", type(core.store).__name__)], 1)
        yield info
        for key, text in COUNTERS.items():
            yield CounterMetricFamily(f"sohoa_receiver_{key}", text, value=core.counters.get(key, 0))
        store_counters = getattr(core.store, "counters", {})
        for key, text in STORE_COUNTERS.items():
            yield CounterMetricFamily(f"sohoa_receiver_{key}", text, value=store_counters.get(key, 0))
        errors = CounterMetricFamily("sohoa_receiver_backend_errors", "Requests answered 503: a backend was "
                                     "unreachable.", labels=["backend"])
        for backend, n in sorted(core.backend_errors.items()):
            errors.add_metric([backend], n)
        yield errors
        yield CounterMetricFamily("sohoa_receiver_state_pool_timeouts", "Waits for a free database connection of "
                                  "this node's pool that timed out (answered 503; raise state.pool_max).",
                                  value=getattr(core.state, "pool_timeouts", 0))
        up = GaugeMetricFamily("sohoa_receiver_backend_up", "1 when the backend answered the last health probe.",
                               labels=["backend"])
        for backend, ok in sorted(self.up().items()):
            up.add_metric([backend], 1 if ok else 0)
        yield up
        try:
            counts = core.state.counts()
        except Exception:  # the state is down: its gauges are left out, backend_up says why
            return
        for key, text in GAUGES.items():
            yield GaugeMetricFamily(f"sohoa_receiver_{key}", text, value=counts[key])
        yield GaugeMetricFamily("sohoa_receiver_log_size", "Leaves in the Merkle log (accepted batches).",
                                value=counts["accepted"])
        try:
            fixity = core.state.fixity_counts()
        except Exception:  # the state is down: as above
            return
        yield from fixity_families(fixity)


def fixity_families(f: dict):
    """Two copies and the audit (design 5.14 F7), from the state database: every node reports the same."""
    for key, text in (("objects", "Objects registered to be kept in two copies."),
                      ("preserved", "Objects with both copies written and verified."),
                      ("unpreserved", "Objects registered whose second copy is not verified yet.")):
        yield GaugeMetricFamily(f"sohoa_fixity_{key}", text, value=f[key])
    yield CounterMetricFamily("sohoa_audit_checked", "Objects audited (both copies read).", value=f["checked"])
    yield CounterMetricFamily("sohoa_audit_bytes", "Bytes read by the audit.", value=f["bytes"])
    yield CounterMetricFamily("sohoa_audit_unavailable", "Objects the audit could not read (a store did not "
                              "answer).", value=f["unavailable"])
    families = {"mismatch": CounterMetricFamily("sohoa_audit_mismatches", "Copies whose SHA-256 or size differed "
                                                "from the expected hash.", labels=["copy"]),
                "missing": CounterMetricFamily("sohoa_audit_missing", "Copies not found.", labels=["copy"]),
                "repaired": CounterMetricFamily("sohoa_audit_repaired", "Copies rewritten from the good copy and "
                                                "read back.", labels=["copy"])}
    totals = {(name, copy): 0 for name in families for copy in ("primary", "replica")}
    unrepairable = 0
    for (copy, problem, action), n in f["findings"].items():
        if copy in ("primary", "replica") and problem in families:
            totals[(problem, copy)] += n
        if action == "repaired" and copy in ("primary", "replica"):
            totals[("repaired", copy)] += n
        if action == "unrepairable":
            unrepairable += n
    for (name, copy), n in sorted(totals.items()):
        families[name].add_metric([copy], n)
    yield from families.values()
    yield CounterMetricFamily("sohoa_audit_unrepairable", "Findings with no good copy to repair from.",
                              value=unrepairable)
    yield GaugeMetricFamily("sohoa_audit_pass_progress", "The audit pass under way: objects checked / objects "
                            "(1 when none is under way).", value=f["pass_progress"])
    yield GaugeMetricFamily("sohoa_audit_last_pass_finished_timestamp_seconds", "When the last audit pass "
                            "finished (Unix time; 0: never).", value=f["last_pass_finished"])


def registry_for(core, up) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ReceiverCollector(core, up))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
