"""The ingest worker's /metrics (design 5.13): a real `sohoa-central ingest` process scraped over HTTP.

Both backends; what is asserted is what an operator's Prometheus would read:
the batches, packages, documents and pages the worker ingested (counted
against the catalogue), a refused batch under its reason, the queue's depth
from the database, the seconds-per-batch histogram, and promtool's check.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import urllib.request

from central import ingest_queue
from central.catalogue import table_counts
from central.ingest_metrics import failure_reason
from central.services import ROOT, free_port


def _scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return r.read().decode()


def _value(text: str, name: str, labels: str = "") -> float:
    m = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", text, re.M)
    assert m, f"{name}{labels} not in the scrape"
    return float(m.group(1))


def _corrupt(site, name: str) -> None:
    """Cut an accepted batch's archived object short: the worker must refuse it (a real failure)."""
    data = site.backend.archived_bytes(site.root, name)
    if not site.backend.shared:
        (site.root / "archive" / name).write_bytes(data[: len(data) // 2])
    else:
        site.backend.seaweed.client().put_object(Bucket=site.backend.bucket, Key=f"{site.backend.prefix}/archive/{name}",
                                                 Body=data[: len(data) // 2])


def test_a_real_scrape_counts_what_the_worker_ingested(ingest_site):
    site = ingest_site
    last = site.sent[-1]
    (name,) = [n for n in site.backend.archived(site.root) if n.startswith(f"{last.device_id}/{last.seq:010d}-")]
    _corrupt(site, name)
    port = free_port()
    argv = [sys.executable, "-m", "central.cli", "ingest", *site.cli(), "--metrics-port", str(port),
            "--poll-s", "0.2", "--lease-s", "30"]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        text = ""
        end = time.monotonic() + 120
        while time.monotonic() < end:
            try:
                text = _scrape(url)
            except OSError:
                text = ""
            if text and _value(text, "sohoa_ingest_queue_batches", '{state="queued"}') == 0 and \
                    _value(text, "sohoa_ingest_queue_batches", '{state="claimed"}') == 0 and \
                    _value(text, "sohoa_ingest_batches_total", '{result="done"}') > 0:
                break
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.3)
        else:
            raise AssertionError(f"the queue never emptied: {text[-2000:]}")
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    state, _store = site.open()
    try:
        counts = table_counts(state)
        (failed,) = ingest_queue.failures(state)
        queue = ingest_queue.counts(state)
        pages = state._all("SELECT COALESCE(SUM(pages), 0) AS n FROM cat_files")[0]["n"]
        documents = state._all("SELECT COALESCE(SUM(documents), 0) AS n FROM cat_files")[0]["n"]
    finally:
        state.close()
    done = len(site.sent) - 1
    assert _value(text, "sohoa_ingest_batches_total", '{result="done"}') == done == queue["done"]
    assert _value(text, "sohoa_ingest_batches_total", '{result="failed"}') == 1 == queue["failed"]
    assert _value(text, "sohoa_ingest_packages_total") == counts["cat_files"] > 0
    assert _value(text, "sohoa_ingest_pages_total") == pages > 0
    assert _value(text, "sohoa_ingest_documents_total") == documents > 0
    reason = failure_reason(failed["error"])
    assert reason != "other" and failed["seq"] == last.seq
    assert _value(text, "sohoa_ingest_failures_total", f'{{reason="{reason}"}}') == 1
    assert _value(text, "sohoa_ingest_queue_batches", '{state="done"}') == done
    assert _value(text, "sohoa_ingest_queue_batches", '{state="failed"}') == 1
    assert _value(text, "sohoa_ingest_backend_up") == 1
    assert _value(text, "sohoa_ingest_batch_seconds_count") == done
    assert _value(text, "sohoa_ingest_batch_seconds_bucket", '{le="+Inf"}') == done
    assert _value(text, "sohoa_ingest_batch_seconds_sum") > 0
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) is installed by make test"
    check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr


def test_failure_reasons_are_a_bounded_set():
    assert failure_reason("sip_check: EAD.xml missing") == "sip_check"
    assert failure_reason("internal: KeyError: 'x'") == "internal"
    assert failure_reason("chain: prev does not name the last accepted batch") == "chain"
    assert failure_reason("no colon here but spaces") == "other"
    assert failure_reason("") == "other"
