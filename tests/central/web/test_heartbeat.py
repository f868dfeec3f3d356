"""Station heartbeats through the real receiver (design §5.15, H1-H6), on both state backends."""

from __future__ import annotations

import html as htmllib
import json
import re
import time

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from central.web import heartbeats
from firmware_agent.heartbeat_sender import HeartbeatSender
from sync import heartbeat
from sync.auth import make_auth_header


def _report(seq: int, sent_at: float | None = None, **extra) -> dict:
    return {"seq": seq, "sent_at": time.time() if sent_at is None else sent_at, "queue_depth": 3,
            "oldest_unsent_s": 120.0, "pages_today": 40, "pages_processed_today": 38, "pages_warned_today": 4,
            "held": [{"file_code": "H01.001.2024.009", "reason": "low_confidence"}], "scanner": "ready",
            "disk_free_bytes": 10_000_000, "version": "test", "climate": {"rating": "good", "alerts": ["rh_high"]},
            **extra}


async def _post(s, url, device, key, report, *, sign_key=None, auth_device=None):
    body = heartbeat.encode({**report, "v": 1, "device": device})
    headers = {"Authorization": make_auth_header(auth_device or device, key),
               heartbeat.SIGNATURE_HEADER: heartbeat.sign(device, sign_key or key, body)}
    async with s.post(url + "heartbeat", data=body, headers=headers) as r:
        await r.read()
        return r.status, r.headers.get("Sohoa-Reason", "")


def test_heartbeats_kept_forged_and_replayed_refused_and_shown(tmp_path, kit, webkit, central_backend):
    app = kit.Appliance(tmp_path / "appliance", device_id="xa-tan-lap")
    other = kit.Appliance(tmp_path / "other", device_id="xa-son-vi")

    async def body():
        site = await webkit.start_site(tmp_path, backends=central_backend.open)
        try:
            await app.enroll(site.rx)
            await other.enroll(site.rx)
            webkit.add_staff(site.state)
            rx = site.rx.url
            async with webkit.session() as s:
                # Accepted: latest and daily row.
                assert await heartbeat.send(rx, app.device_id, app.key, _report(100)) == 204
                # The same body and headers again: a replay (H6).
                body = heartbeat.encode({**_report(101), "v": 1, "device": app.device_id})
                headers = {"Authorization": make_auth_header(app.device_id, app.key),
                           heartbeat.SIGNATURE_HEADER: heartbeat.sign(app.device_id, app.key, body)}
                for expect in (204, 409):
                    async with s.post(rx + "heartbeat", data=body, headers=headers) as r:
                        assert r.status == expect
                        if expect == 409:
                            assert r.headers["Sohoa-Reason"] == "replayed_heartbeat"
                # An older seq is a replay too.
                assert await _post(s, rx, app.device_id, app.key, _report(50)) == (409, "replayed_heartbeat")
                # Valid bearer header, body signed by another key: forged (H3).
                assert await _post(s, rx, app.device_id, app.key, _report(200),
                                   sign_key=Ed25519PrivateKey.generate()) == (401, "forged_heartbeat")
                # One station's credentials reporting for another: forged (H4).
                assert await _post(s, rx, app.device_id, other.key, _report(201),
                                   auth_device=other.device_id, sign_key=other.key) == (401, "forged_heartbeat")
                # Out of the clock window (H5).
                assert await _post(s, rx, app.device_id, app.key,
                                   _report(202, sent_at=time.time() - 3600)) == (409, "stale_heartbeat")
                # No device credentials at all (H1) and a malformed body (H2).
                async with s.post(rx + "heartbeat", data=body) as r:
                    assert r.status == 401
                assert (await _post(s, rx, app.device_id, app.key, _report(203, queue_depth="many")))[0] == 400

                # What staff see: the station green with its figures, the refusals as events.
                assert await webkit.login(s, site.web_url, "viewer") == 303
                async with s.get(site.web_url + "api/stations") as r:
                    data = await r.json()
                rows = {st["device"]: st for st in data["stations"]}
                mine = rows[app.device_id]
                assert mine["red"] is False and mine["backlog"] == 3 and mine["held"] == 1
                assert mine["alerts"] == ["rh_high"] and mine["climate_rating"] == "good"
                assert abs(mine["quality_share"] - (1 - 4 / 38)) < 1e-9 and mine["pages_week"] == 40
                assert mine["events"] == 4  # replay x2, forged x1, stale x1 (H4's refusal is under its sender)
                assert rows[other.device_id]["red"] is True and rows[other.device_id]["last_contact"] is None
                kinds = sorted(e["kind"] for e in heartbeats.events(site.state, app.device_id))
                assert kinds == ["forged_heartbeat", "replayed_heartbeat", "replayed_heartbeat", "stale_heartbeat"]
                async with s.get(site.web_url) as r:
                    page = await r.text()
                # Each refusal in words, Vietnamese first, English beside; the code only in data-kind.
                listed = re.search(r'<ul id="events">(.*?)</ul>', page, re.S).group(1)
                text = htmllib.unescape(re.sub(r"<[^>]+>", " ", listed))
                said = "báo cáo trạng thái bị từ chối: {} / status report refused: {}"
                for vi, en, n in (("chữ ký sai hoặc mạo danh trạm khác",
                                   "bad signature or posing as another station", 2),
                                  ("báo cáo cũ bị gửi lại", "an old report sent again", 2),
                                  ("giờ gửi lệch quá 5 phút, cần kiểm tra đồng hồ của trạm",
                                   "sent more than 5 minutes off, check the station's clock", 1)):
                    assert text.count(said.format(vi, en)) == n, (vi, text)
                for kind, n in (("forged_heartbeat", 2), ("replayed_heartbeat", 2), ("stale_heartbeat", 1)):
                    assert kind not in text and listed.count(f'data-kind="{kind}"') == n

                # The latest report is the accepted seq 101, not anything refused.
                latest = site.state._one("SELECT seq, report FROM heartbeats_latest WHERE device_id=?",
                                         (app.device_id,))
                assert latest["seq"] == 101 and json.loads(latest["report"])["queue_depth"] == 3
        finally:
            await site.close()
    kit.run(body())


def test_a_station_silent_for_a_day_is_red(tmp_path, kit, webkit):
    app = kit.Appliance(tmp_path / "appliance", device_id="xa-lang-cu")

    async def body():
        site = await webkit.start_site(tmp_path)
        try:
            await app.enroll(site.rx)
            webkit.add_staff(site.state)
            day_ago = time.time() - 86400
            hb = heartbeat.Heartbeat(app.device_id, 5, day_ago, {**_report(5, day_ago), "v": 1,
                                                                  "device": app.device_id})
            heartbeats.record(site.state, hb, now=day_ago)
            async with webkit.session() as s:
                assert await webkit.login(s, site.web_url, "viewer") == 303
                async with s.get(site.web_url + "api/stations") as r:
                    row = (await r.json())["stations"][0]
                assert row["red"] is True and 86000 < row["age_s"] < 87000
                async with s.get(site.web_url) as r:
                    page = await r.text()
                assert f'class="red" data-device="{app.device_id}"' in page
                # A fresh report turns it green.
                assert await heartbeat.send(site.rx.url, app.device_id, app.key, _report(6)) == 204
                async with s.get(site.web_url + "api/stations") as r:
                    assert (await r.json())["stations"][0]["red"] is False
            # The monthly report sums the days: yesterday's 40 pages and today's 40.
            heartbeats.set_place(site.state, app.device_id, commune="Láng Cù", district="X", province="Y")
            async with webkit.session() as s:
                assert await webkit.login(s, site.web_url, "archivist") == 303
                async with s.get(site.web_url + "reports/monthly.csv") as r:
                    lines = (await r.text()).splitlines()
            months = {heartbeats.day_of(day_ago)[:7], heartbeats.day_of(time.time())[:7]}
            rows = [line.split(",") for line in lines[1:]]
            assert {row[0] for row in rows} == months and all(row[3] == "Láng Cù" for row in rows)
            assert sum(int(row[5]) for row in rows) == 80 and sum(int(row[7]) for row in rows) == 2
        finally:
            await site.close()
    kit.run(body())


def test_the_station_sender_reports_and_never_raises(tmp_path, kit, webkit):
    app = kit.Appliance(tmp_path / "appliance", device_id="xa-dong-xuan")

    async def body():
        site = await webkit.start_site(tmp_path)
        try:
            await app.enroll(site.rx)
            sender = HeartbeatSender(endpoint=site.rx.url, device_id=app.device_id, key=lambda: app.key,
                                     ready=lambda: True, base_report=lambda: {"queue_depth": 2, "oldest_unsent_s": 9.5},
                                     extra_report=lambda: {"pages_today": 17, "scanner": "ready"},
                                     data_dir=tmp_path, version="1.2.3", timeout_s=5)
            assert await sender.send_once() == 204
            assert await sender.send_once() == 204  # a second one right after: its seq still grows
            row = site.state._one("SELECT report FROM heartbeats_latest WHERE device_id=?", (app.device_id,))
            report = json.loads(row["report"])
            assert (report["queue_depth"], report["pages_today"], report["version"]) == (2, 17, "1.2.3")
            assert report["disk_free_bytes"] > 0 and sender.sent == 2
            # A receiver that is not there: one failure counted, nothing raised, quickly.
            gone = HeartbeatSender(endpoint="http://127.0.0.1:9/", device_id=app.device_id, key=lambda: app.key,
                                   ready=lambda: True, base_report=dict, data_dir=tmp_path, timeout_s=2)
            assert await gone.send_once() is None and gone.failed == 1
            # Not enrolled yet: nothing sent.
            idle = HeartbeatSender(endpoint=site.rx.url, device_id=app.device_id, key=lambda: app.key,
                                   ready=lambda: False, base_report=dict, data_dir=tmp_path)
            assert await idle.send_once() is None and idle.failed == 0
        finally:
            await site.close()
    kit.run(body())
