"""The commune page's quality and rating figures as the state stores them (design §5.15, migration 0006), on
both backends: the day's fullest heartbeat keeps its quality figures, batch climate summaries are rated,
and the page shows both through real HTTP."""

from __future__ import annotations

import json
import time

from central.web import commune_series, heartbeats
from sync import heartbeat
from sync.canon import canonical


def _beat(state, device: str, at: float, **report) -> None:
    body = {"v": 1, "device": device, "seq": int(at * 1000), "sent_at": at, **report}
    heartbeats.record(state, heartbeat.Heartbeat(device, body["seq"], at, body), now=at)


def _summary(twpi, mold) -> dict:
    # as a station's manifest carries it (formats 7.7): decimals as strings
    return {"version": 1, "since": 0, "until": 3600, "band": {"t_c": ["18.0", "22.0"], "rh_pct": ["45.0", "55.0"]},
            "sensors": [{"id": "s1", "location": "Kho 1", "t_c": {"min": "20.0", "mean": "21.0", "max": "22.0"},
                         "rh_pct": None, "twpi_years": twpi, "mold_risk": mold, "out_of_band_pct": "0.0",
                         "hours": "1.0"},
                        {"id": "s2", "location": "Kho 2", "t_c": None, "rh_pct": None, "twpi_years": None,
                         "mold_risk": None, "out_of_band_pct": "0.0", "hours": "1.0"}],
            "alerts": []}


def test_quality_and_ratings_per_day_on_both_backends(tmp_path, kit, webkit, central_backend):
    app = kit.Appliance(tmp_path / "appliance", device_id="xa-tan-lap")

    async def body():
        site = await webkit.start_site(tmp_path, backends=central_backend.open)
        try:
            await app.enroll(site.rx)
            webkit.add_staff(site.state)
            heartbeats.set_place(site.state, app.device_id, commune="Tân Lập", district="Cẩm Khê", province="Phú Thọ")
            state, dev = site.state, app.device_id
            noon = (int(time.time()) // 86400 - 2) * 86400 + 12 * 3600  # two days ago, 12:00 UTC
            # the day's reports: the station's counts grow, then its local midnight (17:00 UTC) starts them again
            _beat(state, dev, noon, pages_processed_today=50, pages_warned_today=5, pages_blank_today=2,
                  warnings_today={"blur": 5})
            _beat(state, dev, noon + 3600, pages_processed_today=80, pages_warned_today=8, pages_blank_today=4,
                  warnings_today={"blur": 6, "too_dark": 2},
                  held=[{"file_code": "A.1", "reason": "needs_confirmation"},
                        {"file_code": "A.2", "reason": "needs_confirmation"}],
                  climate={"rating": "ok", "alerts": [], "pi": 60.5, "mold": 0.0,
                           "ratings": {"natural_aging": "ok", "mold": "good"}})
            _beat(state, dev, noon + 6 * 3600, pages_processed_today=10, pages_warned_today=9,
                  held=[{"file_code": "A.1", "reason": "needs_confirmation"}],
                  climate={"rating": "ok", "alerts": [], "ratings": {"natural_aging": "ok", "mold": "good"}})
            # the next day: a station before these fields (no blank, no warnings per code)
            _beat(state, dev, noon + 86400, pages_processed_today=40, pages_warned_today=4)
            (day2, day1) = heartbeats.history(state, dev)[:2]
            assert day1["quality"] == {"processed": 80, "warned": 8, "blank": 4, "warnings": {"blur": 6, "too_dark": 2}}
            assert day1["held_reasons"] == {"needs_confirmation": 1}  # files held at the day's last report
            assert day2["quality"] == {"processed": 40, "warned": 4, "blank": None, "warnings": None}
            q1, q2 = commune_series.quality_days([day1, day2])
            assert (q1["warned"], q1["blank"], q1["warnings"]) == (0.1, 0.05, {"blur": 0.075, "too_dark": 0.025})
            assert (q2["warned"], q2["blank"], q2["warnings_known"]) == (0.1, None, False)

            # batch climate summaries, rated with IPI's limits: the worse of them and the heartbeat's counts
            with state.tx() as db:
                for seq, (twpi, mold) in enumerate((("38.5", "0.02"), ("90.0", "0.0")), 1):
                    db.execute("INSERT INTO cat_batches(device_id, seq, batch, log_idx, version, created, received, "
                               "pages, documents, packages, climate, ingested_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                               (dev, seq, f"b{seq}", 1000 + seq, 2, noon, noon + 600 * seq, 1, 1, 1,
                                canonical(_summary(twpi, mold)).decode(), time.time()))
            batches = commune_series.batch_climate_by_day(state, dev)
            assert batches == {day1["day"]: {"pi": 38.5, "mold": 0.02}}
            (r1,) = commune_series.rating_days([day1, day2], batches)
            assert r1 == {"day": day1["day"], "pi": 38.5, "pi_rating": "risk", "mold_rating": "risk",
                          "sources": ["heartbeat", "batch"]}

            async with webkit.session() as s:
                assert await webkit.login(s, site.web_url, "viewer") == 303
                async with s.get(site.web_url + f"commune/{dev}") as r:
                    assert r.status == 200
                    page = await r.text()
            assert page.count('class="point" data-series="blur"') == 1  # day 2 reported no codes: no dot
            assert f'data-series="too_dark" data-day="{day1["day"]}" data-value="0.0250"' in page
            assert f'data-row="mold" data-day="{day1["day"]}" data-rating="risk"' in page
            assert "Cần kỹ thuật viên xác nhận / Needs a technician&#x27;s confirmation: 1" in page
            assert json.dumps(day1["quality"])  # plain JSON in the state
        finally:
            await site.close()
    kit.run(body())


def test_overview_cells_and_commune_facts_say_ratings_alerts_and_holds_in_words():
    from central.web import commune_charts, pages

    row = {"age_s": 60.0, "backlog": 0, "pages_week": 5, "held": 1, "quality_share": 0.9,
           "climate_rating": "risk", "alerts": ["rh_high", "mold", "co2_high"], "events": 0}
    cells = pages.row_text(row)
    assert cells["climate"] == "Nguy cơ / At risk"
    # a kind a later station version sends is shown as its code rather than hidden
    assert cells["alerts"] == "Độ ẩm cao / Humidity high, Nguy cơ nấm mốc / Mould risk, co2_high"
    assert pages.row_text({**row, "climate_rating": "", "alerts": []})["climate"] == ""
    assert commune_charts.hold_word("needs_confirmation").startswith("Cần kỹ thuật viên xác nhận / ")
    assert commune_charts.rating_word("ok") == "Tạm được / OK"
    # a refused heartbeat's kind in words; one a later version records is the generic word with its code
    assert commune_charts.event_word("stale_heartbeat").vi.startswith("giờ gửi lệch quá 5 phút")
    events = pages._events([{"at": 0.0, "device_id": "xa-a", "kind": "replayed_heartbeat", "client": "192.0.2.1"},
                            {"at": 0.0, "device_id": "xa-b", "kind": "quota_heartbeat", "client": "192.0.2.2"}])
    assert ("xa-a: báo cáo trạng thái bị từ chối: báo cáo cũ bị gửi lại / status report refused: "
            "an old report sent again · 192.0.2.1</li>") in events
    assert ("xa-b: báo cáo trạng thái bị từ chối: lý do khác (quota_heartbeat) / status report refused: "
            "another reason (quota_heartbeat) · 192.0.2.2</li>") in events
