"""`sohoa demo`: the whole appliance on SANE's virtual test scanner.

Interactive (`make demo`): scans one feeder batch, processes and stages it,
then serves the status page until Ctrl-C. With ``--once`` it scans N pages
(refilling the feeder as often as needed), waits until everything downstream
is finished, prints one JSON object as its last stdout line and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path

from firmware_agent import exit_codes
from firmware_agent.messages import CATALOGUE

DEMO_PASSWORD = "sohoa-demo"
# A job paused because the scanner's driver was stopped and restarted is pressed again
# this many times at most (SANE's test backend hangs now and then; see drivers/sane_scanner.py).
RESTARTED = frozenset({"driver_failed", "hung"})
MAX_RESTARTS = 3

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the appliance on SANE's test scanner")
    p.add_argument("--pages", type=int, default=10,
                   help="pages to scan (default 10: one feeder load); 0 with --once only finishes waiting work")
    p.add_argument("--once", action="store_true", help="scan, wait for processing, print a JSON line, exit")
    p.add_argument("--state-dir", type=Path, default=Path(".demo-state"), help="where the demo keeps its state")
    p.add_argument("--port", type=int, default=8080, help="status page port (0 = any free port)")
    p.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds (--once)")
    p.add_argument("--no-records", action="store_true",
                   help="stage loose pages instead of building record packages (capture and processing only)")
    p.set_defaults(func=cmd_demo)


def demo_config(state_dir: Path, port: int, *, records: bool = True):
    from firmware_agent.config import load_config
    from sync.passwords import hash_password

    here = Path(__file__).resolve().parents[2] / "drivers" / "sane_test_config"
    os.environ.setdefault("SANE_CONFIG_DIR", str(here))
    os.environ.setdefault("NUMBA_CACHE_DIR", str(state_dir / "numba-cache"))
    return load_config(None, {
        "agent": {"state_dir": str(state_dir), "device_id": "demo-commune-0001", "min_free_mb": 50},
        "hotfolder": {"path": str(state_dir / "hotfolder"), "settle_s": 0.5, "dpi": 200},
        "records": {"enabled": records},
        # 200 dpi colour: the TT 05/2025 minimum for administrative papers; it keeps the
        # demo (capture, clean-up, OCR of 20 pages) within a minute on two cores.
        "scanner": {"device": "test:0", "test_picture": "Color pattern", "poll_ms": 200,
                    "profiles": {"default": {"resolution": 200}},
                    "width_mm": 200.0, "height_mm": 200.0, "buttons": {"bool-soft-select-soft-detect": "default"},
                    # The test scanner gives a page in well under a second: a driver that has not
                    # answered in 20 s is hung (its reader threads sometimes are, see
                    # drivers/sane_scanner.py), and is restarted then rather than after 90 s.
                    "hang_s": 20.0},
        "web": {"port": port, "password_hash": hash_password(DEMO_PASSWORD)},
        "batch": {"max_age_s": 5.0},
    })


def cmd_demo(args: argparse.Namespace) -> int:
    from sync.logs import setup_logging

    if args.pages < 0 or (args.pages == 0 and not args.once):
        print("--pages must be at least 1 (0 only with --once)", file=sys.stderr)
        return exit_codes.USAGE
    args.state_dir.mkdir(parents=True, exist_ok=True)
    # In --once mode stdout is for the JSON line; the log goes to stderr.
    setup_logging("info", stream=sys.stderr if args.once else sys.stdout)
    cfg = demo_config(args.state_dir.resolve(), 0 if args.once and args.port == 8080 else args.port,
                      records=not args.no_records)
    from firmware_agent.demo_receiver import DemoReceiverError
    from sync.enroll import EnrollError

    try:
        return asyncio.run(_demo(cfg, args))
    except KeyboardInterrupt:
        return 0
    except (DemoReceiverError, EnrollError) as exc:
        print(f"{CATALOGUE['cli.demo.receiver_failed'].text}: {exc}", file=sys.stderr)
        return 1


async def _demo(cfg, args: argparse.Namespace) -> int:
    import dataclasses

    from firmware_agent.agent import Agent
    from firmware_agent.commands.run import keep_signal_handlers
    from firmware_agent.demo_receiver import DemoReceiver
    from firmware_agent.wiring import optional_sources

    # Ctrl-C or SIGTERM at any moment ends the demo through agent.stop(), not a traceback.
    stop = asyncio.Event()
    keeper = asyncio.create_task(keep_signal_handlers(stop))
    agent = Agent(cfg)  # takes the state folder's lock first: a second demo on it stops here
    receiver = None
    try:
        # The archive beside the station: `sohoa-central serve` in a process of its own.
        receiver = await DemoReceiver.start(cfg.state_path / "demo-receiver")
        sync = await receiver.enroll(cfg.sync, cfg.state_path, cfg.agent.device_id)
        agent.sources.append(receiver)
        agent.sources.extend(optional_sources(dataclasses.replace(cfg, sync=sync), agent))
    except BaseException:
        if receiver is not None:
            await receiver.stop()
        agent.journal.close()
        agent.lock.release()
        keeper.cancel()
        raise
    await agent.start()
    print(f"{CATALOGUE['cli.status_page'].text}: {agent.address}  ({CATALOGUE['cli.demo.password'].text}: "
          f"{DEMO_PASSWORD})",
          file=sys.stderr if args.once else sys.stdout, flush=True)
    try:
        flow = asyncio.create_task(_demo_flow(agent, cfg, args))
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({flow, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not flow.done():
            flow.cancel()
            print(CATALOGUE["cli.demo.stopped"].text, file=sys.stderr, flush=True)
            return 130
        stopped.cancel()
        summary = flow.result()
        if args.once:
            print(json.dumps(summary, ensure_ascii=False), flush=True)
            return 0 if not summary["errors"] else 1
        print(json.dumps(summary, ensure_ascii=False, indent=1), flush=True)
        print(CATALOGUE["cli.demo.running"].format(address=agent.address).text, flush=True)
        await stop.wait()
        return 0
    finally:
        keeper.cancel()
        await agent.stop()


async def _demo_flow(agent, cfg, args: argparse.Namespace) -> dict:
    t0 = time.monotonic()
    scanned, restarts = await scan_pages(agent, args.pages, deadline=t0 + args.timeout)
    if cfg.records.enabled and args.pages:
        # After the scanner's pages, so they do not join the stack's last record file.
        await asyncio.to_thread(feed_demo_stack, agent.hotfolder.path)
    await wait_downstream(agent, deadline=t0 + args.timeout)
    return demo_summary(agent, scanned, time.monotonic() - t0, restarts)


async def scan_pages(agent, pages: int, *, deadline: float) -> tuple[int, int]:
    """Trigger feeder jobs until *pages* images are captured (the test feeder holds 10 sheets).

    Returns the pages captured and how many times a job was pressed again after its driver
    had been restarted.
    """
    worker = agent.scanners[0]
    if pages == 0:
        return 0, 0
    start_pages = agent.journal.page_counts()
    base = sum(v for k, v in start_pages.items() if k != "today")
    restarts = 0
    while True:
        counts = agent.journal.page_counts()
        done = sum(v for k, v in counts.items() if k != "today") - base
        if done >= pages:
            return done, restarts
        if time.monotonic() > deadline:
            raise TimeoutError(f"demo scanned only {done} of {pages} pages before the deadline")
        before = worker.jobs_finished
        result = agent.request_scan("demo", max_pages=pages - done)
        if not result["ok"]:
            raise RuntimeError(result["error"])
        while worker.state.paused_job is not None:
            # a paused job is resumed by this press once the worker takes it
            if time.monotonic() > deadline:
                raise TimeoutError("scanner did not take up its paused job in time")
            await asyncio.sleep(0.05)
        while worker.jobs_finished == before and worker.state.paused_job is None:
            if time.monotonic() > deadline:
                raise TimeoutError("scanner did not finish its job in time")
            await asyncio.sleep(0.05)
        if worker.state.paused_job is not None:
            code = worker.state.state
            if code in RESTARTED and restarts < MAX_RESTARTS:
                # The driver was stopped and opened again with every page kept; an operator
                # would press the button once more, and so does the demo.
                restarts += 1
                log.warning("demo: scanner %s (%s), pressing again (%d of %d)", code,
                            worker.state.last_error, restarts, MAX_RESTARTS)
                continue
            raise RuntimeError(f"scanner stopped: {worker.snapshot()['message']['text']}")


def feed_demo_stack(folder: Path) -> None:
    """Drop the generated Vietnamese demo stack (cover sheets, documents) into the hot folder."""
    from firmware_agent.records.samples import write_demo_stack

    staging = folder / ".demo-stack"  # written aside, then moved in whole, as a copier would
    staging.mkdir(parents=True, exist_ok=True)
    for path in write_demo_stack(staging, dpi=200):
        path.rename(folder / path.name)


async def wait_downstream(agent, *, deadline: float) -> None:
    """Wait for pages, then records, then close the last batch, then uploads (in flow order)."""
    while not agent.pipeline_idle():
        if time.monotonic() > deadline:
            raise TimeoutError("processing did not finish in time")
        await asyncio.sleep(0.1)
    by_name = {src.name: src for src in agent.sources}
    if "records" in by_name:
        await by_name["records"].wait_idle(deadline - time.monotonic())
    await agent.batching.close_now()
    if "sync" in by_name:
        await by_name["sync"].wait_idle(deadline - time.monotonic())


def demo_summary(agent, scanned: int, seconds: float, restarts: int = 0) -> dict:
    counts = agent.journal.page_counts()
    batches = agent.journal.batches.counts()
    failed_pages = counts.get("failed", 0)
    errors, recovered = [], 0
    for e in agent.journal.recent_events(50):
        if e["level"] != "error":
            continue
        if e["code"] in RESTARTED and recovered < restarts:
            recovered += 1  # the demo pressed again and the job went on: said below, not an error
            continue
        errors.append(e["message"])
    summary = {
        "pages_scanned": scanned,
        "pages_processed": sum(v for k, v in counts.items() if k not in ("captured", "failed", "today")),
        "batches_staged": sum(v for k, v in batches.items() if k != "open"),
        "errors": failed_pages + len(errors),
        "error_messages": errors[:10],
        "driver_restarts": restarts,
        "seconds": round(seconds, 2),
        "state_dir": str(agent.journal.state_dir),
    }
    for src in agent.sources:
        summary.update(src.demo_summary())
    by_name = {s.name: s for s in agent.sources}
    if "sync" in by_name:
        summary["batches_acknowledged"] = by_name["sync"].status()["batches_acknowledged"]
    if "demo_receiver" in by_name and "packages" in summary:
        # The appliance deletes its copies once receipts are verified; show the packages
        # as the archive received them instead.
        received = by_name["demo_receiver"].extract_packages(
            agent.cfg.agent.device_id, by_name["sync"].device_key().public_key(),
            agent.journal.state_dir / "received-packages", only={Path(p).name for p in summary["packages"]})
        summary["packages"] = [str(p) for p in received]
    return summary
