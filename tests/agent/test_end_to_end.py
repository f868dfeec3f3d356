"""The real (non-demo) path, as the README tells a technician to set it up:
receiver on its own, one-time token, `sohoa enroll`, `sohoa run`, a Scan from the
status page, and the batch accepted by the receiver with a verified receipt.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from central.services import free_port

ROOT = Path(__file__).resolve().parents[2]


def sohoa(*args, package="firmware_agent", **kw):
    """`sohoa ...` (the station), or with package="central" `sohoa-central ...`."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", package, *args], capture_output=True, text=True,
                          env=env, timeout=120, **kw)


def start(*args, log: Path, package="firmware_agent"):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", package, *args], stdout=open(log, "w"),
                            stderr=subprocess.STDOUT, env=env)


def wait_http(url: str, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not come up")


def agent_port(log: Path, timeout: float = 60.0) -> int:
    """The status page's port, as the agent prints it (it binds port 0: no race for a free port)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        m = re.search(r"Status page: http://127\.0\.0\.1:(\d+)/", log.read_text(encoding="utf-8", errors="replace"))
        if m:
            return int(m.group(1))
        time.sleep(0.1)
    raise AssertionError("the agent did not print its address: " + log.read_text()[-2000:])


def status(port: int) -> dict:
    return json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=5))


def test_enroll_run_scan_and_receipt(tmp_path):
    rx_port, metrics_port = free_port(), free_port()
    rx_root = tmp_path / "rx"
    receiver = start("serve", "--root", str(rx_root), "--host", "127.0.0.1", "--port", str(rx_port),
                     "--metrics-port", str(metrics_port), log=tmp_path / "rx.log", package="central")
    agent = None
    try:
        wait_http(f"http://127.0.0.1:{metrics_port}/metrics")  # served on its own loopback listener
        token = sohoa("token", "xa-01", "--root", str(rx_root), package="central").stdout.strip()
        password_hash = sohoa("passwd", input="technician-pass\n").stdout.strip()
        config = tmp_path / "sohoa.toml"
        config.write_text(f"""
[agent]
device_id = "xa-01"
state_dir = "{tmp_path / 'state'}"
min_free_mb = 50
[scanner]
device = "test:1"
test_picture = "Grid"
width_mm = 100.0
height_mm = 100.0
[scanner.profiles.default]
resolution = 200
[records]
enabled = false
[batch]
max_age_s = 1.0
[web]
port = 0
{password_hash}
[sync]
endpoint = "http://127.0.0.1:{rx_port}/"
""", encoding="utf-8")
        enrolled = sohoa("enroll", "--config", str(config), "--receiver", f"http://127.0.0.1:{rx_port}/",
                         "--token", token)
        assert enrolled.returncode == 0, enrolled.stdout + enrolled.stderr
        again = sohoa("enroll", "--config", str(config), "--receiver", f"http://127.0.0.1:{rx_port}/",
                      "--token", token)
        assert again.returncode != 0  # a token works once

        agent = start("run", "--config", str(config), log=tmp_path / "agent.log")
        web_port = agent_port(tmp_path / "agent.log")
        wait_http(f"http://127.0.0.1:{web_port}/api/status")
        # as a script logs in: the password form field, a JSON answer, then the cookie and the token
        login = urllib.request.Request(f"http://127.0.0.1:{web_port}/login", data=b"password=technician-pass",
                                       method="POST", headers={"Accept": "application/json"})
        with urllib.request.urlopen(login, timeout=30) as answer:
            token = json.load(answer)["csrf_token"]
            cookie = answer.headers["Set-Cookie"].split(";")[0]
        req = urllib.request.Request(f"http://127.0.0.1:{web_port}/api/scan", data=b"{}", method="POST", headers={
            "Content-Type": "application/json", "Cookie": cookie, "X-CSRF-Token": token})
        assert urllib.request.urlopen(req, timeout=5).status == 202

        end = time.monotonic() + 90
        while time.monotonic() < end and status(web_port)["sync"]["batches_acknowledged"] < 1:
            time.sleep(0.5)
        s = status(web_port)
        assert s["sync"]["batches_acknowledged"] >= 1, (tmp_path / "agent.log").read_text()[-3000:]
        assert s["pages"].get("batched") == 10
        devices = sohoa("devices", "--root", str(rx_root), package="central").stdout
        assert "xa-01" in devices and "last seq" in devices
        assert list((rx_root / "archive" / "xa-01").glob("*.sohoa"))
        # The station's heartbeat after its batch (design §5.15): what the agent said about itself.
        import sqlite3
        report = None
        while time.monotonic() < end and report is None:
            with sqlite3.connect(rx_root / "receiver.sqlite3") as db:
                row = db.execute("SELECT report FROM heartbeats_latest WHERE device_id='xa-01'").fetchone()
            if row is not None and json.loads(row[0])["pages_today"] >= 10 and json.loads(row[0])["queue_depth"] == 0:
                report = json.loads(row[0])
            else:
                time.sleep(0.5)
        assert report is not None, (tmp_path / "agent.log").read_text()[-3000:]
        assert report["scanner"] and report["disk_free_bytes"] > 0 and report["version"]
    finally:
        for proc in (agent, receiver):
            if proc is not None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
    assert agent.returncode == 0, (tmp_path / "agent.log").read_text()[-3000:]  # a clean stop on SIGTERM
