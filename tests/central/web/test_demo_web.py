"""`sohoa-central demo` without --once: started as a user starts it, used over real HTTP as each demo account,
then stopped with Ctrl-C (SIGINT)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[3]
READY = re.compile(r"Central web: (http://127\.0\.0\.1:[0-9]+/)")


def _start(tmp_path: Path) -> tuple[subprocess.Popen, str, str]:
    out = open(tmp_path / "demo.out", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "central.cli", "demo", "--port", "0", "--stations", "2",
                             "--batches", "2"], cwd=ROOT, stdout=out, stderr=open(tmp_path / "demo.err", "w"),
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        text = (tmp_path / "demo.out").read_text()
        m = READY.search(text)
        if m:
            time.sleep(0.3)  # the accounts line follows the URL line
            return proc, m.group(1), (tmp_path / "demo.out").read_text()
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    proc.kill()
    raise AssertionError("demo never printed its URL: " + (tmp_path / "demo.err").read_text()[-3000:])


async def _as(url: str, user: str) -> dict:
    """What *user* sees: the search API's rows, and the status of each record file's page and export."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        async with s.post(url + "login", data={"user": user, "password": "sohoa-demo"},
                          allow_redirects=False) as r:
            assert r.status in (302, 303), (user, r.status)
        async with s.get(url + "api/search", params={"q": ""}) as r:
            everything = await r.json()
        async with s.get(url + "api/search", params={"q": "quyet dinh"}) as r:
            quyet = await r.json()
        pages, exports = {}, {}
        for row in everything["results"]:
            async with s.get(url + f"record/{row['file_code']}") as r:
                pages[row["mode"]] = (r.status, await r.text())
            async with s.get(url + f"record/{row['file_code']}/export") as r:
                await r.read()
                exports[row["mode"]] = (r.status, r.headers.get("Content-Type", ""))
        async with s.get(url + "admin") as r:
            admin = r.status
        async with s.get(url + "api/stations") as r:
            stations = await r.json()
    return {"all": everything, "quyet": quyet, "pages": pages, "exports": exports, "admin": admin,
            "stations": stations}


def test_demo_serves_the_web_to_each_account_until_ctrl_c(tmp_path):
    proc, url, printed = _start(tmp_path)
    try:
        assert "viewer" in printed and "archivist" in printed and "admin" in printed and "sohoa-demo" in printed
        seen = {user: asyncio.run(_as(url, user)) for user in ("viewer", "archivist", "admin")}
    finally:
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=60)
    assert rc == 0, (tmp_path / "demo.err").read_text()[-3000:]

    viewer, archivist, admin = seen["viewer"], seen["archivist"], seen["admin"]
    # Four record files came through the stations, the receiver and ingest: public, conditional, secret, public.
    modes = sorted(r["mode"] for r in viewer["all"]["results"])
    assert modes == ["01", "01", "02", "03"], viewer["all"]
    assert len(viewer["stations"]["stations"]) == 2 and viewer["stations"]["totals"]["red"] == 0
    # "quyet dinh" without diacritics finds the public Quyết định; the viewer reads it.
    assert viewer["quyet"]["total"] >= 1
    assert all(r["mode"] == "01" for r in viewer["quyet"]["results"])
    assert viewer["pages"]["01"][0] == 200 and "Quyết định" in viewer["pages"]["01"][1]
    # The viewer is refused the conditional and the secret record file, and every export.
    assert viewer["pages"]["02"][0] == 403 and viewer["pages"]["03"][0] == 403
    assert {s for s, _ in viewer["exports"].values()} == {403}
    assert viewer["admin"] == 403
    # The archivist reads the conditional one and exports it; the secret one stays refused.
    assert archivist["pages"]["02"][0] == 200 and archivist["pages"]["03"][0] == 403
    assert archivist["exports"]["02"][0] == 200 and archivist["exports"]["03"][0] == 403
    assert archivist["admin"] == 403
    # The administrator has the admin page; secret content is for nobody on this server.
    assert admin["admin"] == 200 and admin["pages"]["03"][0] == 403
