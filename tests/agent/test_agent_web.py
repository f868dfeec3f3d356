"""The assembled agent over real loopback HTTP: status, metrics, login-guarded actions, hot folder."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from PIL import Image

from firmware_agent.agent import Agent
from firmware_agent.config import load_config
from sync.passwords import hash_password
from firmware_agent.wiring import optional_sources

PASSWORD = "correct horse battery"


def config(tmp_path, records=False, **web):
    return load_config(None, {
        "agent": {"state_dir": str(tmp_path / "state"), "min_free_mb": 10},
        "scanner": {"device": "test:1", "test_picture": "Grid", "poll_ms": 50, "width_mm": 60.0, "height_mm": 80.0,
                    "profiles": {"default": {"resolution": 200, "mode": "gray"}}},
        "hotfolder": {"path": str(tmp_path / "inbox"), "settle_s": 0.2},
        "web": {"port": 0, "password_hash": hash_password(PASSWORD), **web},
        "batch": {"max_age_s": 0.0},
        "records": {"enabled": records},
    })


async def until(predicate, timeout=30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if await asyncio.to_thread(predicate):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


@pytest.fixture
def run(tmp_path, web_client):
    def runner(body, records=False, **web):
        async def main():
            cfg = config(tmp_path, records, **web)
            agent = Agent(cfg)
            agent.sources.extend(optional_sources(cfg, agent))
            await agent.start()
            try:
                async with web_client(agent.address) as http:
                    await body(agent, http)
            finally:
                await agent.stop()
        asyncio.run(main())
    return runner


def test_status_page_json_and_metrics(run):
    async def body(agent, http):
        assert agent.address.startswith("http://127.0.0.1:")
        async with http.get("/") as r:
            html = await r.text()
            assert r.status == 200 and "Trạm số hóa" in html and "/api/status" in html
        await until(lambda: agent.scanners[0].state.state == "ready")
        async with http.get("/api/status") as r:
            status = await r.json()
        assert status["scanners"][0]["device"] == "test:1"
        assert status["scanners"][0]["message"]["vi"] == "Sẵn sàng"
        assert status["disk"]["free_bytes"] > 0 and "today" in status["pages"]
        async with http.get("/metrics") as r:
            text = await r.text()
        assert 'sohoa_scanner_up{device="test:1",state="ready"} 1' in text
        assert "sohoa_disk_free_bytes" in text
        # the optional subsystems plug into the same page, status and metrics
        assert "climate" in status and "records" in status
        assert "sohoa_climate_" in text and "sohoa_records_" in text
        async with http.get("/climate") as r:
            assert r.status == 200
    run(body, records=True)


def test_scan_action_needs_a_login(run, web_login):
    async def body(agent, http):
        async with http.post("/api/scan", json={}) as r:
            assert r.status == 401 and "Cần đăng nhập" in await r.text()
        status, answer = await web_login(http, "wrong")
        assert status == 401 and "Sai mật khẩu" in answer["error"]
        status, answer = await web_login(http, PASSWORD)
        assert status == 200 and answer["role"] == "technician"
        token = {"X-CSRF-Token": answer["csrf_token"]}
        async with http.post("/api/scan", data="not json", headers=token) as r:
            assert r.status == 400
        async with http.post("/api/scan", json={"profile": "nope"}, headers=token) as r:
            assert r.status == 409
        assert agent.journal.recent_jobs() == []
        async with http.post("/api/scan", json={}, headers=token) as r:
            assert r.status == 202
        await until(lambda: agent.journal.page_counts().get("batched", 0) == 10
                    and agent.journal.recent_jobs(1)[0].state != "running")
        job = agent.journal.recent_jobs(1)[0]
        assert job.trigger == "web" and job.state == "done" and job.pages == 10
        async with http.get("/api/status") as r:
            status = await r.json()
        assert status["pages"]["today"] == 10 and status["jobs"][0]["pages"] == 10
    run(body)


def test_actions_are_refused_when_no_password_is_set(run, web_login):
    async def body(agent, http):
        async with http.post("/api/scan", json={}) as r:
            assert r.status == 403
            assert "sohoa passwd" in await r.text()
        status, answer = await web_login(http, PASSWORD)
        assert status == 401
        async with http.get("/login") as r:
            assert "sohoa passwd" in await r.text()
        assert agent.journal.recent_jobs() == []
    run(body, password_hash="")


def test_hot_folder_file_becomes_processed_pages(run, tmp_path):
    async def body(agent, http):
        inbox = tmp_path / "inbox"
        frames = [Image.fromarray(np.full((300, 200), 200 + i, np.uint8)) for i in range(3)]
        tmp = inbox / ".copier-writing.tif"
        frames[0].save(tmp, save_all=True, append_images=frames[1:], dpi=(300, 300))
        tmp.rename(inbox / "scan0001.tif")
        (inbox / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
        await until(lambda: agent.journal.page_counts().get("batched", 0) == 3)
        job = agent.journal.recent_jobs(5)
        taken = [j for j in job if j.source.startswith("hotfolder:scan0001.tif")]
        assert len(taken) == 1 and taken[0].pages == 3 and taken[0].state == "done"
        await until(lambda: (inbox / ".rejected" / "broken.jpg").exists())
        assert all(j.pages == 0 for j in job if "broken" in j.source)
    run(body)
