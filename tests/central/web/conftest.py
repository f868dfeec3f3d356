"""Central web fixtures: ``webkit``, a receiver and the staff web on loopback, staff accounts, sample records."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import types

import aiohttp
import pytest
from aiohttp import web

from central.catalogue_objects import objects_for
from central.local import LocalReceiver, start_local_receiver
from central.web import heartbeats, records, staff
from central.web.app import WebOptions, build_web_app
from central.web.records import Document

PASSWORD = "sohoa-test-pw"
ROLES = ("viewer", "archivist", "administrator")
PDF_NAME = "xa-tan-lap/0000000001/uuid-00000000-0000-4000-8000-000000000001/data/doc1.pdf"

# Sample record files: one per mode; the public one a Quyết định.
SAMPLES = (
    ("H01.001.2024.001", "01", "Quyết định về việc cấp giấy chứng nhận quyền sử dụng đất",
     {"doc_type": "Quyết định", "issuer": "Ủy ban nhân dân xã Tân Lập", "start_date": "2024-01-05"}),
    ("H01.001.2024.002", "02", "Hồ sơ hộ tịch năm 2024", {"doc_type": "Tờ trình", "issuer": "Ủy ban nhân dân xã Tân Lập"}),
    ("H01.001.2024.003", "03", "Hồ sơ mật về an ninh", {"doc_type": "Báo cáo", "issuer": "Công an xã"}),
)


@dataclass
class Site:
    rx: LocalReceiver
    web_url: str
    runner: web.AppRunner
    state: object

    async def close(self) -> None:
        await self.runner.cleanup()
        await self.rx.close()


async def start_site(root: Path, *, backends=None, red_after_s: float = 6 * 3600, rx_root: Path | None = None,
                     member_check=None, feed_every_s: float = 0, poll_s: float = 30.0) -> Site:
    """A receiver (on *backends*) and the web over its state, PDFs read from its store's objects."""
    rx = await start_local_receiver(rx_root or root / "rx", backends=backends, member_check=member_check)
    state = rx.core.state
    app = build_web_app(state, WebOptions(red_after_s=red_after_s, objects=objects_for(rx.core.store),
                                          feed_every_s=feed_every_s, poll_s=poll_s))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return Site(rx, f"http://127.0.0.1:{runner.addresses[0][1]}/", runner, state)


def add_staff(state) -> None:
    for role in ROLES:
        staff.add_user(state, role, role, PASSWORD)


def add_samples(state, device_id: str, *, pdf_key: str = "", store=None, pdf: bytes = b"") -> None:
    """Three record files of *device_id*, one per mode; with *store*, *pdf* is its document's object."""
    if store is not None:
        objects_for(store).put(pdf_key, pdf)
    heartbeats.set_place(state, device_id, commune="Tân Lập", district="Cẩm Khê", province="Phú Thọ")
    for code, mode, title, fields in SAMPLES:
        docs = [Document(1, {"title": {"value": title, "confidence": 0.93}, "doc_type": {"value": fields["doc_type"],
                                                                                         "confidence": 0.88}},
                         pdf_key=pdf_key)]
        records.add_record(state, file_code=code, device_id=device_id, mode=mode, title=title, fields=fields,
                           documents=docs, pages=3, ocr_text=f"{title} nội dung trang một")


async def ingest_real(site: Site, tmp: Path, modes: tuple[str, ...], device_id: str = "xa-that") -> list:
    """Real packages (one per mode) sent by a simulated station over HTTP, ingested and fed to the web.

    Returns the :class:`central.demo_station.Package` list, in *modes*' order.
    """
    import asyncio

    from central.demo_station import Station, build_packages
    from central.ingest import IngestWorker
    from central.web import catalogue_feed
    from sync.keys import raw_public

    core = site.rx.core
    pkgs = await asyncio.to_thread(build_packages, tmp / "sip", len(modes), modes=modes,
                                   secret_key=raw_public(core.archive_key.public_key()))
    station = Station(tmp / "stations", device_id)
    await station.enroll(site.rx.url, core.state.mint_token(device_id, ttl_s=600))
    for pkg in pkgs:
        await station.send([site.rx.url], station.seal(pkg.members(), pages=pkg.pages,
                                                       documents=pkg.documents))
    totals = await asyncio.to_thread(IngestWorker(core.state, core.store, core.archive_key).run, until_idle=True)
    if totals["failed"]:
        raise RuntimeError(f"ingest failed: {totals}")
    await asyncio.to_thread(catalogue_feed.feed, core.state)
    return pkgs


def session(jar_unsafe: bool = True) -> aiohttp.ClientSession:
    # An unsafe jar keeps cookies of 127.0.0.1 (an IP address), as a browser does.
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=jar_unsafe))


async def login(s: aiohttp.ClientSession, url: str, user: str, password: str = PASSWORD) -> int:
    async with s.post(url + "login", data={"user": user, "password": password}, allow_redirects=False) as r:
        await r.read()
        return r.status


async def csrf_token(s: aiohttp.ClientSession, url: str) -> str:
    async with s.get(url) as r:
        page = await r.text()
    m = re.search(r'name="csrf_token" value="([^"]+)"', page)
    return m.group(1) if m else ""


def now() -> float:
    return time.time()


@pytest.fixture
def webkit():
    """The helpers above, for test modules (which cannot import a conftest by name)."""
    return types.SimpleNamespace(start_site=start_site, add_staff=add_staff, add_samples=add_samples,
                                 ingest_real=ingest_real,
                                 session=session, login=login, csrf_token=csrf_token, now=now,
                                 PASSWORD=PASSWORD, ROLES=ROLES, SAMPLES=SAMPLES, PDF_NAME=PDF_NAME)
