"""`sohoa-central replicate` and `sohoa-central audit` (design 5.14).

Both open the state and the two stores the configuration names, run, and
print one JSON object last (counters of the run; the audit's pass totals).
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time

from central.messages import CATALOGUE
from sync.logs import setup_logging

EX_TEMPFAIL = 75  # sysexits: try again later (a store or the database did not answer)


def _open(args, cfg):
    from central.backends import open_primary_objects, open_replica_objects, open_state
    state = open_state(cfg, args.root)
    return state, open_primary_objects(cfg, args.root), open_replica_objects(cfg)


def _stop_on_signals(stop: threading.Event) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())


def run_replicate(args, cfg) -> int:
    from central import migrate
    from central.backend_errors import BackendUnavailable
    from central.fixity import Replicator

    setup_logging("info", sys.stderr)  # one format with the station, journald priorities
    started = time.monotonic()
    if not cfg.replica.url:
        print(CATALOGUE["fixity.no_replica"].text, file=sys.stderr)
        return 2
    state, primary, replica = _open(args, cfg)
    try:
        migrate.check(state.schema_version(), state.backend)
        rep = Replicator(state, primary, replica)
        if args.once:
            try:
                counters = rep.run_once()
            except BackendUnavailable as exc:
                print(f"{exc}", file=sys.stderr)
                return EX_TEMPFAIL
            counts = state.fixity_counts()
            print(json.dumps({**counters, "objects": counts["objects"], "preserved": counts["preserved"],
                              "unpreserved": counts["unpreserved"],
                              "seconds": round(time.monotonic() - started, 3)}), flush=True)
            return 0 if counts["unpreserved"] == 0 else EX_TEMPFAIL
        stop = threading.Event()
        _stop_on_signals(stop)
        rep.run(stop, interval_s=args.interval)
        print(json.dumps(rep.counters), flush=True)
        return 0
    finally:
        state.close()


def run_audit(args, cfg) -> int:
    from central import migrate
    from central.audit import Auditor
    from central.backend_errors import BackendUnavailable
    from central.fixity import Replicator
    from central.web import audit as trail

    setup_logging("info", sys.stderr)  # one format with the station, journald priorities
    state, primary, replica = _open(args, cfg)
    try:
        migrate.check(state.schema_version(), state.backend)
        stop = threading.Event()
        _stop_on_signals(stop)
        auditor = Auditor(state, primary, replica, rate=args.rate or cfg.audit.rate_objects_per_s, stop=stop)
        while True:
            run_started = time.monotonic()
            try:
                if replica is not None:  # what was accepted since the last run is registered (F1) and copied
                    Replicator(state, primary, replica).run_once()
                else:
                    Replicator(state, primary, None).register()
                done = auditor.run_pass(limit=args.limit)
                # The staff web's audit trail is checked in every run too (design 5.15): a broken chain is a
                # finding no second copy repairs.
                chain = trail.verify(state)
            except BackendUnavailable as exc:
                print(f"{exc}", file=sys.stderr)
                return EX_TEMPFAIL
            if chain.first_bad is not None:
                print(CATALOGUE["cli.audit_chain_broken"].format(seq=chain.first_bad).text, file=sys.stderr,
                      flush=True)
            print(json.dumps({k: done[k] for k in ("id", "total", "checked", "bytes", "mismatches", "missing",
                                                   "repaired", "unrepairable", "unavailable")}
                             | {"finished": done["finished_at"] is not None,
                                "audit_trail": {"checked": chain.checked, "first_bad": chain.first_bad},
                                "seconds": round(time.monotonic() - run_started, 3)}), flush=True)
            if not args.continuous or stop.is_set():
                break
        # A store did not answer and nothing was read, or the run gave up part way (F6): try again later.
        unreachable = done["unavailable"] > 0 and (done["checked"] == 0 or done["finished_at"] is None)
        return EX_TEMPFAIL if unreachable else (1 if done["unrepairable"] or chain.first_bad is not None else 0)
    finally:
        state.close()
