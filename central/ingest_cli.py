"""`sohoa-central ingest` and `sohoa-central export` (design 5.13): the commands around the ingest worker."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path

from central import ingest_queue, migrate
from central.backends import open_state, open_store
from central.export import export, parse_batch
from central.ingest import IngestWorker
from central.ingest_metrics import IngestMetrics
from central.messages import CATALOGUE
from sync.keys import load_private
from sync.logs import setup_logging


def _open_backends(args: argparse.Namespace, cfg):
    """State (schema checked), store and the archive key, for the commands that read the archive."""
    state = open_state(cfg, args.root)
    try:
        migrate.check(state.schema_version(), state.backend)
        path = cfg.keys_dir(args.root) / "archive_x25519.pem"
        if not path.exists():
            raise FileNotFoundError(CATALOGUE["ingest.no_archive_key"].format(path=path).text)
        return state, open_store(cfg, args.root, state), load_private(path)
    except BaseException:
        state.close()
        raise


def run_ingest(args: argparse.Namespace, cfg) -> int:
    """`sohoa-central ingest` with the configuration *cfg* (command-line options already over it)."""
    setup_logging("info", sys.stderr)  # one format with the station, journald priorities
    try:
        state, store, key = _open_backends(args, cfg)
    except FileNotFoundError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    try:
        if args.status:
            ingest_queue.enqueue(state)
            n = ingest_queue.counts(state)
            print(CATALOGUE["ingest.status"].format(queued=n["queued"], claimed=n["claimed"], done=n["done"],
                                                    failed=n["failed"]).text)
            for r in ingest_queue.failures(state):
                print(f"{r['device_id']}\tseq {r['seq']}\tattempts {r['attempts']}\t{r['error']}")
            return 0
        if args.retry_failed:
            print(CATALOGUE["ingest.retried"].format(n=ingest_queue.retry_failed(state)).text, file=sys.stderr)
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())  # the batch in hand is finished, then the worker stops

        def said(o) -> None:
            if o.result == "done":
                print(CATALOGUE["ingest.batch_done"].format(device=o.device_id, seq=o.seq, packages=o.packages,
                                                            documents=o.documents, pages=o.pages).text,
                      file=sys.stderr, flush=True)
            elif o.result == "failed":
                print(CATALOGUE["ingest.batch_failed"].format(device=o.device_id, seq=o.seq, error=o.error).text,
                      file=sys.stderr, flush=True)
        metrics, server = None, None
        if args.metrics_port is not None:
            metrics = IngestMetrics(state)
            server = metrics.serve(args.metrics_host, args.metrics_port)
            print(f"sohoa ingest: metrics on http://{_host(args.metrics_host)}:{server.server_port}/metrics",
                  file=sys.stderr, flush=True)

        def outcome(o) -> None:
            if metrics is not None:
                metrics.observe(o)
            said(o)
        started = time.monotonic()
        worker = IngestWorker(state, store, key, lease_s=args.lease_s, spool=Path(args.root) / "ingest-spool")
        try:
            totals = worker.run(until_idle=args.once, poll_s=args.poll_s, stop=stop, on_outcome=outcome)
        finally:
            worker.close()
            if server is not None:
                server.shutdown()
        if args.once:
            print(json.dumps({**totals, "seconds": round(time.monotonic() - started, 3)}), flush=True)
        return 1 if totals["failed"] else 0
    finally:
        state.close()


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def run_export(args: argparse.Namespace, cfg) -> int:
    """`sohoa-central export`."""
    batch = None
    if args.batch is not None:
        try:
            batch = parse_batch(args.batch)
        except ValueError:
            print(CATALOGUE["export.bad_batch"].format(value=args.batch).text, file=sys.stderr)
            return 2
    try:
        state, store, _key = _open_backends(args, cfg)
    except FileNotFoundError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    try:
        result = export(state, store, args.out, file_code=args.file_code, batch=batch, since=args.since)
    finally:
        state.close()
    for problem in result.problems:
        print(CATALOGUE["export.problem"].format(detail=problem).text, file=sys.stderr)
    if not result.selected:
        print(CATALOGUE["export.nothing"].text, file=sys.stderr)
    else:
        print(CATALOGUE["export.written"].format(n=len(result.exported), out=args.out, secret=result.secret).text,
              file=sys.stderr)
    print(json.dumps(result.to_dict(), ensure_ascii=False))
    return 1 if result.problems or not result.selected else 0
