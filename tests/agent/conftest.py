"""Fixtures for the agent tests: a station whose batches the tests move with the real tasks, and a
client that talks to the status page as a script would (log in, keep the cookie, send the token)."""

from __future__ import annotations

import types
from pathlib import Path

import aiohttp
import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from firmware_agent.capture_file import CAPTURE_SUFFIX, derived_path, write_capture_atomic
from firmware_agent.journal import Journal
from firmware_agent.page_tasks import BatchTask
from firmware_agent.pageio import write_image_atomic
from firmware_agent.sync_settings import SyncSettings
from firmware_agent.uploader_task import UploaderTask
from sync.batch import open_batch
from sync.keys import public_b64, save_public

DEVICE = "race-0001"


class Station:
    """A state folder with processed pages, an enrolled identity and the three actors."""

    def __init__(self, root: Path, pages: int):
        self.root = root
        self.device_id = DEVICE
        self.journal = Journal(root)
        self.archive = X25519PrivateKey.generate()
        keys = root / "keys"
        keys.mkdir(parents=True, exist_ok=True)
        save_public(keys / "archive_x25519.pub", public_b64(self.archive))
        save_public(keys / "log_ed25519.pub", public_b64(Ed25519PrivateKey.generate()))
        self.uploader = UploaderTask(SyncSettings(), self.journal, root, DEVICE)
        job = self.journal.start_job("scanner:test", "default", "test")
        self.names = []
        for seq in range(1, pages + 1):
            self.add_page(job, seq)

    def add_page(self, job: int, seq: int) -> None:
        raw = self.journal.page_path(job, seq, CAPTURE_SUFFIX)
        write_capture_atomic(raw, np.full((8, 8), seq % 250, np.uint8))
        pid = self.journal.add_page(job, seq, raw, width=8, height=8, dpi=300, channels=1)
        colour = derived_path(raw, ".png")
        write_image_atomic(colour, np.full((8, 8), seq % 250, np.uint8), dpi=300)
        self.journal.mark_processed(pid, colour, None, {})
        self.names.append(f"job-{job:06d}-{seq:05d}.png")

    # the three actors, each as the agent runs it
    def stage(self) -> None:
        BatchTask(self.journal, max_pages=10**6, max_age_s=10**6, stage_pages=True).step()

    def close(self) -> None:
        BatchTask(self.journal, max_pages=1, max_age_s=0, stage_pages=False).step(force_close=True)

    def seal(self) -> None:
        self.uploader.seal_staged()

    def finish(self) -> None:
        self.stage()
        self.close()
        self.seal()

    def archived(self) -> dict[int, list[str]]:
        """seq -> member names, read from the sealed files with the archive's key."""
        device_public = self.uploader.device_key().public_key()
        out = {}
        for path in sorted((self.root / "sealed").glob("*.sohoa")):
            with open(path, "rb") as fh:
                opened = open_batch(fh, archive_private=self.archive, device_public=device_public,
                                    device_id=DEVICE)
            out[opened.manifest["seq"]] = [m["name"] for m in opened.manifest["members"]]
        return out

    def check(self) -> None:
        archived = self.archived()
        names = sorted(n for members in archived.values() for n in members)
        assert names == sorted(self.names), "every page in exactly one sealed batch"
        journal: dict[int, list[str]] = {}
        for batch_id, name in self.journal.read("SELECT batch_id, name FROM batch_members"):
            journal.setdefault(batch_id, []).append(name)
        assert sorted(sorted(v) for v in journal.values()) == sorted(sorted(v) for v in archived.values())
        states = self.journal.read("SELECT state, COUNT(*) FROM batches GROUP BY state")
        assert {st: n for st, n in states} == {"sealed": len(archived)}
        assert not list((self.root / "outbox").glob("batch-*/*")), "a member file left outside its batch"


def archived_batches(state: Path, device_id: str = "demo-commune-0001") -> dict[int, list[str]]:
    """seq -> member names of every batch the demo's receiver archived, opened as the archive would."""
    import sqlite3

    from sync.keys import load_or_create

    rx = state / "demo-receiver"
    archive = load_or_create(rx / "keys" / "archive_x25519.pem", X25519PrivateKey)
    device = load_or_create(state / "keys" / "device_ed25519.pem", Ed25519PrivateKey).public_key()
    db = sqlite3.connect(rx / "receiver.sqlite3")
    logged = db.execute("SELECT COUNT(*), COUNT(DISTINCT batch) FROM log").fetchone()
    db.close()
    assert logged[0] == logged[1], "a batch entered the receiver's log twice"
    out: dict[int, list[str]] = {}
    files = sorted((rx / "archive").rglob("*.sohoa"))
    assert len(files) == logged[0], "every logged batch is archived, once"
    for path in files:
        with open(path, "rb") as fh:
            opened = open_batch(fh, archive_private=archive, device_public=device, device_id=device_id)
        out[opened.manifest["seq"]] = [m["name"] for m in opened.manifest["members"]]
    return out


@pytest.fixture
def stations():
    """``stations.Station(root, pages)``: for test modules (which cannot import a conftest by name)."""
    return types.SimpleNamespace(Station=Station, DEVICE=DEVICE, archived_batches=archived_batches)


class ManualClock:
    """A monotonic clock the test moves by hand (the guard's sessions and guess limits read it)."""

    def __init__(self, start: float = 1000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def client(base_url: str, *, local_ip: str | None = None) -> aiohttp.ClientSession:
    """A client with its own cookie jar; ``unsafe`` because the page is served on an IP address."""
    connector = aiohttp.TCPConnector(local_addr=(local_ip, 0)) if local_ip else None
    return aiohttp.ClientSession(base_url, cookie_jar=aiohttp.CookieJar(unsafe=True), connector=connector)


async def login(http: aiohttp.ClientSession, password: str) -> tuple[int, dict]:
    """``POST /login`` as a script: the form field, answered in JSON (``csrf_token`` on success)."""
    async with http.post("/login", data={"password": password}, headers={"Accept": "application/json"}) as r:
        return r.status, await r.json()


@pytest.fixture
def manual_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def web_client():
    """``web_client(base_url, local_ip=None)``: a session with its own cookie jar (and source address)."""
    return client


@pytest.fixture
def web_login():
    """``await web_login(http, password)`` -> ``(status, json)``."""
    return login


@pytest.fixture
def browser():
    """Headless Chromium from Debian's packages, driven by Selenium (installed by ``make test``)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
