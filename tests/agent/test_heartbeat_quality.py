"""The quality figures of a station's heartbeat (design §5.15), counted from a real journal's page analyses."""

from __future__ import annotations

import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from firmware_agent.journal import Journal
from sync.heartbeat import HeartbeatError, check_heartbeat, encode, sign


def _pages(journal: Journal, analyses: list[dict | None]) -> None:
    job = journal.start_job("hotfolder:test", "", "test")
    for i, analysis in enumerate(analyses, 1):
        path = journal.page_path(job, i, ".jpg")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\xff\xd8")
        pid = journal.add_page(job, i, path, width=10, height=10, dpi=300, channels=3)
        if analysis is not None:
            journal.mark_processed(pid, path, None, analysis)


def test_quality_since_counts_pages_per_warning_and_blank_pages(tmp_path):
    journal = Journal(tmp_path)
    before = time.time() - 1
    blur = {"code": "blur", "measure": 0.1, "limit": 0.3}
    dark = {"code": "too_dark", "measure": 0.9, "limit": 0.8}
    _pages(journal, [{"blank": False, "warnings": [blur]}, {"blank": False, "warnings": [blur, dark]},
                     {"blank": True, "warnings": []}, {"blank": False}, None])  # the last one not processed yet
    q = journal.quality_since(before)
    assert q == {"pages_processed_today": 4, "pages_warned_today": 2, "pages_blank_today": 1,
                 "warnings_today": {"blur": 2, "too_dark": 1}}
    assert journal.quality_since(time.time() + 60)["pages_processed_today"] == 0

    key = Ed25519PrivateKey.generate()
    now = time.time()
    body = encode({"v": 1, "device": "dev-q", "seq": 1, "sent_at": now, **q})
    assert check_heartbeat(body, sign("dev-q", key, body), "dev-q", key.public_key(), now=now).report[
        "warnings_today"] == {"blur": 2, "too_dark": 1}
    for wrong in ({"blur": "2"}, {"blur": True}, ["blur"], {f"c{i}": 1 for i in range(51)}):
        body = encode({"v": 1, "device": "dev-q", "seq": 2, "sent_at": now, "warnings_today": wrong})
        try:
            check_heartbeat(body, sign("dev-q", key, body), "dev-q", key.public_key(), now=now)
        except HeartbeatError as exc:
            assert exc.kind == "bad_heartbeat" and "warnings_today" in exc.reason
        else:
            raise AssertionError(f"accepted warnings_today={wrong!r}")


def test_a_running_stations_heartbeat_carries_its_quality_and_room_ratings(tmp_path):
    """The report the uploader sends, from a real agent with every subsystem (wiring): the journal's counts."""
    import asyncio

    from firmware_agent.agent import Agent
    from firmware_agent.config import load_config
    from firmware_agent.wiring import optional_sources

    cfg = load_config(None, {
        "agent": {"state_dir": str(tmp_path / "state"), "device_id": "h49-test-0008", "min_free_mb": 10},
        "scanner": {"device": "test:1", "test_picture": "Grid", "poll_ms": 50, "width_mm": 60.0, "height_mm": 80.0,
                    "profiles": {"default": {"resolution": 200, "mode": "gray"}}},
        "web": {"port": 0},
        "records": {"enabled": True},
        "sync": {"endpoint": "http://127.0.0.1:9/", "backoff_min_s": 60.0},  # nobody answers: offline
    })

    async def main():
        agent = Agent(cfg)
        agent.sources.extend(optional_sources(cfg, agent))
        await agent.start()
        try:
            _pages(agent.journal, [{"blank": True, "warnings": []},
                                   {"blank": False, "warnings": [{"code": "low_contrast", "measure": 0.1,
                                                                  "limit": 0.2}]}])
            (uploader,) = [s for s in agent.sources if hasattr(s, "heartbeat")]
            return uploader.heartbeat.report()
        finally:
            await agent.stop()
    report = asyncio.run(main())
    assert (report["pages_processed_today"], report["pages_warned_today"], report["pages_blank_today"]) == (2, 1, 1)
    assert report["warnings_today"] == {"low_contrast": 1}
    climate = report["climate"]
    assert {"ratings", "pi", "mold"} <= set(climate)  # no sensor here: no rating, no PI, said as such
    assert climate["pi"] is None and climate["mold"] is None
