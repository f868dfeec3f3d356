"""Logs under systemd carry their syslog priority, so `journalctl -p warning` shows the faults.

The station and the central receiver share one format (sync/logs.py). The journal
stream is recognised as systemd names it (JOURNAL_STREAM=dev:inode of the stream),
here a real file whose device and inode the test puts in the variable. A scanner
that cannot be found is logged as a warning by the running agent.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from sync.logs import setup_logging

ROOT = Path(__file__).resolve().parents[2]


def _log_through(path: Path, monkeypatch, *, journal: bool) -> list[str]:
    with open(path, "w", encoding="utf-8") as stream:
        st = os.fstat(stream.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}" if journal else "1:1")
        handler = setup_logging("debug", stream)
        try:
            log = logging.getLogger("sohoa.test")
            log.debug("detail")
            log.info("job %d started", 7, extra={"job_id": 7})
            log.warning("scanner gone")
            try:
                raise OSError("disk\nfull")
            except OSError:
                log.error("write failed", exc_info=True)
            log.critical("state lost")
        finally:
            logging.getLogger().removeHandler(handler)
    return path.read_text(encoding="utf-8").splitlines()


def test_journal_stream_lines_start_with_their_priority(tmp_path, monkeypatch):
    lines = _log_through(tmp_path / "journal", monkeypatch, journal=True)
    assert [line[:3] for line in lines] == ["<7>", "<6>", "<4>", "<3>", "<2>"]
    assert lines[1] == "<6>info    sohoa.test: job 7 started job_id=7"
    # the traceback is folded into its entry: one line, one priority
    assert lines[3].startswith("<3>error   sohoa.test: write failed | Traceback") and "OSError: disk | full" in lines[3]
    # what `journalctl -p warning` keeps: priority 4 and lower numbers
    assert [line for line in lines if int(line[1]) <= 4] == lines[2:]


def test_other_streams_get_the_time_and_no_priority(tmp_path, monkeypatch):
    lines = _log_through(tmp_path / "file", monkeypatch, journal=False)
    assert len(lines) == 5
    for line in lines:
        assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (debug|info|warning|error|critical) +sohoa\.test: ", line)


def test_central_receiver_logs_in_the_same_format(tmp_path):
    """`sohoa-central serve` under a journal stream: a refused request is logged at priority 4."""
    import urllib.error
    import urllib.request

    err = tmp_path / "stderr"
    with open(err, "w") as stream:
        st = os.fstat(stream.fileno())
        env = {**os.environ, "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}", "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen([sys.executable, "-m", "central", "serve", "--root", str(tmp_path / "rx"),
                                 "--port", "0", "--metrics-port", "0", "--no-sip-check"],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stream)
        try:
            end = time.monotonic() + 60
            while time.monotonic() < end and not (m := re.search(r"on (http://127\.0\.0\.1:\d+/)files/",
                                                                 err.read_text())):
                time.sleep(0.1)
            assert m, err.read_text()
            request = urllib.request.Request(m.group(1) + "files/", method="POST",
                                             headers={"Authorization": "Signature nonsense", "Tus-Resumable": "1.0.0"})
            try:
                urllib.request.urlopen(request, timeout=30)
            except urllib.error.HTTPError as exc:
                assert exc.code in (400, 401, 403)
            while time.monotonic() < end and "<4>" not in err.read_text():
                time.sleep(0.1)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    lines = [line for line in err.read_text().splitlines() if not line.startswith("sohoa receiver: ")]
    assert any(line.startswith("<4>warning ") and "auth refused" in line for line in lines), lines
    assert all(re.match(r"<[2-7]>(debug|info|warning|error|critical) +\S+: ", line) for line in lines), lines


def test_a_missing_scanner_is_a_warning(tmp_path, monkeypatch, caplog):
    """The agent with a scanner name nobody has: 'Scanner not found' at warning, in the journal format."""
    from firmware_agent.agent import Agent
    from firmware_agent.config import load_config

    cfg = load_config(None, {"agent": {"state_dir": str(tmp_path / "state"), "min_free_mb": 10},
                             "scanner": {"device": "test:99", "reopen_s": 0.2},
                             "web": {"port": 0}, "records": {"enabled": False}, "climate": {"enabled": False}})

    async def main():
        agent = Agent(cfg)
        await agent.start()
        try:
            end = time.monotonic() + 30
            while time.monotonic() < end and agent.scanners[0].state.state != "unplugged":
                await asyncio.sleep(0.05)
            assert agent.scanners[0].state.state == "unplugged"
        finally:
            await agent.stop()

    with caplog.at_level(logging.INFO, logger="sohoa.scan"):
        asyncio.run(main())
    found = [r for r in caplog.records if r.name == "sohoa.scan" and "Scanner not found" in r.getMessage()]
    assert found and all(r.levelno == logging.WARNING for r in found)
