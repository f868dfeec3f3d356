"""``sohoa-central demo`` (without ``--once``): the central archive on one box, then its staff web until Ctrl-C.

What a newcomer runs first (design 5.15): a receiver on SQLite and files in a
temporary folder, several simulated stations (:mod:`central.demo_station`)
that enroll and send real sealed batches of real SIP_hoso packages over HTTP
(public, conditional and secret record files; at least one *Quyết định*),
one ingest pass, the web's records fed from the catalogue, demo staff
accounts, and the staff web on ``--port``. Each station sends its current
heartbeat over HTTP, signed, as an appliance does; the two weeks before today
(which no process was running to receive) are written into the daily history
directly, so the commune page's charts have something to draw.

The secret record files are encrypted to the archive key, as a station
encrypts them; ingest checks them and the catalogue keeps their code, mode and
counts only, and the web code holds no key and shows nothing more (A03).
"""

from __future__ import annotations

import asyncio
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

from central.messages import CATALOGUE

PASSWORD = "sohoa-demo"
ACCOUNTS = (("viewer", "viewer"), ("archivist", "archivist"), ("admin", "administrator"))
MODES = ("01", "02", "03", "01")  # package n of the run gets MODES[n % 4] (n = 3 is a decision, a public one)
HISTORY_DAYS = 14


def run_web_demo(args) -> int:
    from central.web.cli_web import DEFAULT_WEB_PORT

    port = DEFAULT_WEB_PORT if args.port is None else args.port
    with tempfile.TemporaryDirectory(prefix="sohoa-central-demo-") as tmp:
        return asyncio.run(_main(Path(tmp), port, max(1, min(args.stations, 100)),
                                 max(1, args.batches)))


def _say(text: str) -> None:
    print(f"demo: {text}", file=sys.stderr, flush=True)


async def _main(tmp: Path, port: int, n_stations: int, n_batches: int) -> int:
    from aiohttp import web

    from central.catalogue_objects import objects_for
    from central.ingest import IngestWorker
    from central.local import start_local_receiver
    from central.web import catalogue_feed, staff
    from central.web.app import WebOptions, build_web_app

    rx = await start_local_receiver(tmp / "central")
    runner = None
    try:
        core = rx.core
        stations = await _send(tmp, rx, n_stations, n_batches)
        _say("ingesting")
        totals = await asyncio.to_thread(IngestWorker(core.state, core.store, core.archive_key).run, until_idle=True)
        fed = await asyncio.to_thread(catalogue_feed.feed, core.state)
        _say(f"ingested {totals['packages']} packages ({totals['failed']} failed); {fed} record files in the web")
        await _heartbeats(rx, stations)
        for name, role in ACCOUNTS:
            staff.add_user(core.state, name, role, PASSWORD)
        app = build_web_app(core.state, WebOptions(objects=objects_for(core.store), feed_every_s=30.0))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
        print(CATALOGUE["cli.web_ready"].format(url=url).text, flush=True)
        print(CATALOGUE["demo.accounts"].format(users=", ".join(n for n, _ in ACCOUNTS), password=PASSWORD).text,
              flush=True)
        print(CATALOGUE["demo.stop_hint"].text, flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        return 0 if totals["failed"] == 0 else 1
    finally:
        if runner is not None:
            await runner.cleanup()
        await rx.close()  # closes the state too


async def _send(tmp: Path, rx, n_stations: int, n_batches: int) -> list:
    from central.demo_station import PLACES, Station, build_packages
    from central.web import heartbeats
    from sync.keys import raw_public

    count = n_stations * n_batches
    _say(f"building {count} SIP_hoso packages")
    archive = raw_public(rx.core.archive_key.public_key())
    packages = await asyncio.to_thread(build_packages, tmp / "sip", count, modes=MODES, secret_key=archive)
    stations = []
    for i in range(n_stations):
        s = Station(tmp / "stations", f"xa-demo-{i + 1:02d}")
        await s.enroll(rx.url, rx.core.state.mint_token(s.device_id, ttl_s=600))
        commune, district, province = PLACES[i % len(PLACES)]
        heartbeats.set_place(rx.core.state, s.device_id, commune=commune if i < len(PLACES) else f"{commune} {i}",
                             district=district, province=province)
        stations.append(s)
    _say(f"{n_stations} stations sending {count} batches")

    async def run(i: int, station) -> None:
        for b in range(n_batches):
            pkg = packages[i * n_batches + b]
            batch = station.seal(pkg.members(), pages=pkg.pages, documents=pkg.documents)
            await station.send([rx.url], batch)
    await asyncio.gather(*(run(i, s) for i, s in enumerate(stations)))
    return stations


def _report(i: int, day: int, at: float, rnd: random.Random) -> dict:
    """Station *i*'s report *day* days ago: plausible counts and a room drifting around its band."""
    processed = 120 + 40 * i + rnd.randint(-30, 30)
    t_c = round(22.0 + 3.5 * (i == 1) + rnd.uniform(-2.5, 2.5), 1)
    rh = round(55.0 + 8 * (i == 1) + rnd.uniform(-6, 6), 1)
    alerts = (["humidity_high"] if rh > 60 else []) + (["temperature_high"] if t_c > 25 else [])
    # page warnings as a station's analysis finds them: a few blurred or light pages, now and then a dark run
    warnings = {"blur": rnd.randint(0, 4 + 2 * i), "too_light": rnd.randint(0, 3)}
    if (day + i) % 5 == 0:
        warnings["too_dark"] = rnd.randint(3, 9)
    warnings = {k: v for k, v in warnings.items() if v}
    held = ([{"file_code": f"#{100 + i}", "reason": "needs_confirmation"}] * (1 + (day + i) % 3 if i % 2 else 0)
            + [{"file_code": f"#{200 + i}", "reason": "coversheet_damaged"}] * ((day + i) % 4 == 0))
    pi = round(30.0 + 25 * (i != 1) + rnd.uniform(-5, 5) + (rh < 55) * 10, 1)  # IPI: ≥75 good, 45-75 ok, <45 risk
    mold = round(max(0.0, (rh - 62) / 400), 6)  # mould risk per day only above about 62 % RH
    return {"seq": int(at * 1000), "sent_at": at, "queue_depth": (i + day) % 3, "oldest_unsent_s": 600.0 * (i % 2),
            "pages_today": processed + rnd.randint(0, 10), "pages_processed_today": processed,
            "pages_warned_today": min(processed, sum(warnings.values())), "pages_blank_today": rnd.randint(0, 5),
            "warnings_today": warnings, "files_today": max(1, processed // 25), "held": held,
            "scanner": "ready", "disk_free_bytes": (80 - 7 * i) * 2**30, "version": "demo",
            "climate": {"rating": "risk" if alerts or mold else "good", "pi": pi, "mold": mold, "alerts": alerts,
                        "ratings": {"natural_aging": "good" if pi >= 75 else "ok" if pi >= 45 else "risk",
                                    "mold": "risk" if mold > 0 else "good"},
                        "t_c": t_c, "rh_pct": rh}}


async def _heartbeats(rx, stations: list) -> None:
    """Two weeks of history written directly; today's report sent over HTTP, signed, as a station does."""
    from central.web import heartbeats
    from sync import heartbeat

    now = time.time()
    for i, s in enumerate(stations):
        rnd = random.Random(i)
        for day in range(HISTORY_DAYS, 0, -1):
            at = now - day * 86400
            report = {"v": 1, "device": s.device_id, **_report(i, day, at, rnd)}
            heartbeats.record(rx.core.state, heartbeat.Heartbeat(s.device_id, report["seq"], at, report), now=at)
        status = await heartbeat.send(rx.url, s.device_id, s.key, _report(i, 0, time.time(), rnd))
        if status != 204:
            _say(f"{s.device_id}: heartbeat answered {status}")

