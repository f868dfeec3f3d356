"""ClimateService end to end on sysfs trees and the simulated USB bus."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from pathlib import Path

import pytest

from drivers.sensors import BadReading
from firmware_agent.metrics import exposition
from firmware_agent.climate.service import ClimateService
from firmware_agent.climate.metrics import preservation_index
from firmware_agent.climate.sampling import Sampler
from firmware_agent.climate.settings import AlertSettings, ClimateSettings, SensorConfig

ROOT = Path(__file__).resolve().parents[2]


def settings(**kw) -> ClimateSettings:
    base = dict(period_s=60.0, usb=True, sensors=(
        SensorConfig(id="hwmon-sht3x", location="Kho 1, kệ A", t_offset_c=-0.5, rh_offset_pct=2.0),
        SensorConfig(id="w1-28-0316a2794aff", location="Kho 1, sàn"),
    ), alerts=AlertSettings(min_duration_s=300, fault_after_s=180))
    base.update(kw)
    return ClimateSettings(**base)


def stored(db: Path) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT s.name, r.ts, r.t, r.rh FROM raw r JOIN sensors s ON s.id = r.sensor "
                           "ORDER BY r.ts, s.name").fetchall()
    finally:
        con.close()


def test_sampling_calibrates_stores_and_flags_faults(tmp_path, sysfs, fake_usb, clock):
    sysfs.hwmon(2, "sht3x", 23.0, 48.0)
    w1 = sysfs.w1("28-0316a2794aff", 22.5)
    unit = fake_usb.FakeTemper(0x413D, 0x2107, "TEMPerGold_V3.1", fake_usb.words_reply(2412))
    db = tmp_path / "climate.sqlite3"
    svc = ClimateService(settings(), db, sysfs_root=sysfs.root, usb_backend=fake_usb.TemperBackend([unit]),
                         clock=clock)
    outcomes = {o.sensor_id: o for o in svc.sample_once()}
    assert set(outcomes) == {"hwmon-sht3x", "w1-28-0316a2794aff", "usb-1-1.2"}
    sht = outcomes["hwmon-sht3x"].reading
    assert (sht.t_c, sht.rh_pct) == (pytest.approx(22.5), pytest.approx(50.0))  # calibration applied
    assert outcomes["usb-1-1.2"].reading.t_c == pytest.approx(24.12)

    # CRC NO on the 1-wire bus and the USB unit unplugged mid-read: shown, not stored.
    sysfs.w1("28-0316a2794aff", None, crc_ok=False)
    unit.unplug_after_reports = unit.reports_sent
    clock.now += 60
    outcomes = {o.sensor_id: o for o in svc.sample_once()}
    assert outcomes["w1-28-0316a2794aff"].fault == "crc"
    assert outcomes["usb-1-1.2"].fault == "unplugged"
    rows = stored(db)
    assert {r[0] for r in rows if r[1] >= clock.now} == {"hwmon-sht3x"}
    status = svc.status()
    by_id = {s["id"]: s for s in status["sensors"]}
    assert by_id["w1-28-0316a2794aff"]["state"] == "fault"
    assert by_id["w1-28-0316a2794aff"]["fault"]["message"] == "Lỗi CRC, kiểm tra dây 1-wire / CRC error, check the 1-wire wiring"
    assert by_id["w1-28-0316a2794aff"]["location"] == "Kho 1, sàn"
    assert by_id["usb-1-1.2"]["fault"]["message_en"] == "Sensor unplugged"
    assert by_id["hwmon-sht3x"]["metrics"]["pi_years"] == pytest.approx(preservation_index(22.5, 50), abs=0.01)
    json.dumps(status)

    # Faults held past fault_after_s raise sensor alerts; the unplugged unit stays listed.
    for _ in range(4):
        clock.now += 60
        svc.sample_once()
    assert {(a["sensor"], a["kind"]) for a in svc.status()["alerts"]} == {
        ("w1-28-0316a2794aff", "sensor"), ("usb-1-1.2", "sensor")}
    # The probe is fixed: the fault alert clears on the next good read.
    w1.joinpath("w1_slave").write_text("72 01 : crc=57 YES\n72 01 t=22000\n")
    clock.now += 60
    svc.sample_once()
    assert {(a["sensor"], a["kind"]) for a in svc.status()["alerts"]} == {("usb-1-1.2", "sensor")}
    svc.close()


def test_configured_but_absent_sensor_is_shown_missing(tmp_path, sysfs, clock):
    svc = ClimateService(settings(usb=False), tmp_path / "c.sqlite3", sysfs_root=sysfs.root, clock=clock)
    svc.sample_once()
    by_id = {s["id"]: s for s in svc.status()["sensors"]}
    assert by_id["hwmon-sht3x"]["fault"]["reason"] == "missing"
    assert by_id["hwmon-sht3x"]["fault"]["message"] == "Không thấy cảm biến / Sensor not found"
    assert svc.summary(clock.now - 3600, clock.now) is None  # no data yet


def test_stuck_and_out_of_range_values_are_rejected(tmp_path, sysfs, clock):
    dev = sysfs.hwmon(0, "aht20", 21.0, 50.0)
    s = settings(usb=False, sensors=(SensorConfig(id="hwmon-aht20", t_offset_c=70.0),), stuck_after_s=3600)
    svc = ClimateService(s, tmp_path / "c.sqlite3", sysfs_root=sysfs.root, clock=clock)
    (o,) = svc.sample_once()
    assert o.fault == "range"  # 21 + 70 °C after calibration is not a room
    s = settings(usb=False, sensors=(), stuck_after_s=3600)
    svc = ClimateService(s, tmp_path / "d.sqlite3", sysfs_root=sysfs.root, clock=clock)
    faults = []
    for _ in range(62):
        faults.append(svc.sample_once()[0].fault)
        clock.now += 60
    assert faults[:60] == [None] * 60 and faults[60:] == ["stuck", "stuck"]
    (dev / "temp1_input").write_text("21010\n")
    assert svc.sample_once()[0].fault is None


def test_a_misbehaving_driver_is_a_fault_not_a_crash():
    class Broken:
        sensor_id, kind, description = "x", "usb", "broken"

        def read(self):
            raise RuntimeError("driver bug")

        def close(self):
            pass

    class Garbled(Broken):
        def read(self):
            raise BadReading("garbage", "reply of 3 bytes")

    sampler = Sampler(ClimateSettings())
    assert sampler.read(Broken(), 0.0).fault == "error"
    assert sampler.read(Garbled(), 0.0).fault == "garbage"


def test_metrics_lines_are_prometheus_text(tmp_path, sysfs, clock):
    sysfs.hwmon(2, "sht3x", 30.0, 85.0)
    svc = ClimateService(settings(usb=False, alerts=AlertSettings(min_duration_s=0)), tmp_path / "c.sqlite3",
                         sysfs_root=sysfs.root, clock=clock)
    svc.sample_once()
    lines = exposition(svc.metrics()).decode().splitlines()
    sample_re = re.compile(r'^sohoa_climate_[a-z0-9_]+(\{([a-z_]+="[^"]*",?)*\})? -?[0-9.e+-]+$')
    for line in lines:
        assert line.startswith("# HELP sohoa_climate_") or line.startswith("# TYPE sohoa_climate_") \
            or sample_re.match(line), line
    text = "\n".join(lines)
    assert 'sohoa_climate_temperature_celsius{location="Kho 1, kệ A",sensor="hwmon-sht3x"} 29.5' in text
    assert 'sohoa_climate_sensor_ok{location="Kho 1, sàn",sensor="w1-28-0316a2794aff"} 0.0' in text
    assert 'sohoa_climate_alert_active{kind="mold",sensor="hwmon-sht3x"} 1.0' in text
    assert "sohoa_climate_alerts_active 3.0" in text  # too hot, too damp, mould


def test_summary_matches_the_documented_format(tmp_path, sysfs, clock):
    sysfs.hwmon(2, "sht3x", 20.5, 48.0)
    sysfs.w1("28-0316a2794aff", 25.0)
    svc = ClimateService(settings(usb=False), tmp_path / "c.sqlite3", sysfs_root=sysfs.root, clock=clock)
    start = clock.now
    for i in range(90):
        svc.sample_once()
        clock.now += 60
    summary = svc.summary(start, clock.now)
    json.dumps(summary)
    doc = (ROOT / "docs" / "formats.md").read_text(encoding="utf-8")
    section = doc[doc.index("### 7.7"):]
    example = json.loads(re.search(r"```json\n(.*?)```", section, re.S).group(1))
    assert example["version"] == summary["version"] == 1
    assert set(summary) == set(example)
    assert set(summary["sensors"][0]) == set(example["sensors"][0])
    assert set(example["alerts"][0]) == {"sensor", "kind", "started", "ended", "message"}
    by_id = {s["id"]: s for s in summary["sensors"]}
    w1 = by_id["w1-28-0316a2794aff"]
    assert w1["t_c"] == {"min": 25.0, "mean": 25.0, "max": 25.0} and w1["rh_pct"] is None
    assert w1["out_of_band_pct"] == 100.0 and w1["location"] == "Kho 1, sàn"
    sht = by_id["hwmon-sht3x"]
    assert sht["t_c"]["mean"] == 20.0 and sht["rh_pct"]["mean"] == 50.0 and sht["out_of_band_pct"] == 0.0
    assert sht["twpi_years"] == pytest.approx(44.6, abs=0.1) and sht["mold_risk"] == 0.0
    assert sht["hours"] == pytest.approx(1.5, abs=0.05)
    assert summary["alerts"] == []  # 25.0 °C is not above the 25 °C threshold


def test_run_loop_samples_and_survives(tmp_path, sysfs):
    sysfs.hwmon(2, "sht3x", 21.0, 52.0)
    db = tmp_path / "c.sqlite3"
    svc = ClimateService(settings(usb=False, period_s=0.2), db, sysfs_root=sysfs.root)

    async def go():
        task = asyncio.create_task(svc.run())
        await asyncio.sleep(1.3)
        (sysfs.root / "sys/class/hwmon/hwmon2/temp1_input").write_text("garbage\n")
        await asyncio.sleep(0.7)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(go())
    assert len([r for r in stored(db) if r[0] == "hwmon-sht3x"]) >= 2
    by_id = {s["id"]: s for s in svc.status()["sensors"]}
    assert by_id["hwmon-sht3x"]["fault"]["reason"] == "garbage"


def test_unplugged_usb_unit_is_found_again_after_replugging(tmp_path, sysfs, fake_usb, clock):
    unit = fake_usb.FakeTemper(0x413D, 0x2107, "TEMPerGold_V3.1", fake_usb.words_reply(2412))
    svc = ClimateService(settings(sensors=()), tmp_path / "c.sqlite3", sysfs_root=sysfs.root,
                         usb_backend=fake_usb.TemperBackend([unit]), clock=clock)
    assert svc.sample_once()[0].reading.t_c == pytest.approx(24.12)
    unit.unplug_after_reports = unit.reports_sent
    clock.now += 60
    assert svc.sample_once()[0].fault == "unplugged"
    clock.now += 30
    assert svc.sample_once()[0].fault == "unplugged"  # still out
    # Plugged back in (a new device as far as USB is concerned): the kernel driver holds it again.
    unit.plugged, unit.unplug_after_reports, unit.kernel_driver = True, None, True
    unit.claimed.clear()
    unit.queue.clear()
    unit.reply = fake_usb.words_reply(2250)
    clock.now += 30
    (o,) = svc.sample_once()
    assert o.sensor_id == "usb-1-1.2" and o.reading.t_c == pytest.approx(22.5)
    assert unit.detach_calls == 2
    svc.close()


def test_the_heartbeat_carries_the_rooms_reading_and_band_and_the_archive_accepts_it(tmp_path, sysfs, clock):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from firmware_agent.climate.metrics import point_metrics
    from firmware_agent.heartbeat_report import room_ratings, room_reading
    from sync.heartbeat import check_heartbeat, encode, sign

    sysfs.hwmon(2, "sht3x", 23.0, 48.0)  # calibrated to 22.5 °C, 50 %
    sysfs.w1("28-0316a2794aff", 24.5)  # temperature only
    svc = ClimateService(settings(usb=False), tmp_path / "c.sqlite3", sysfs_root=sysfs.root, clock=clock)
    svc.sample_once()
    reading = room_reading(svc.status())
    assert reading["t_c"] == pytest.approx(23.5) and reading["rh_pct"] == pytest.approx(50.0)
    band = svc.status()["band"]
    assert reading["band"] == {"t": band["t_c"], "rh": band["rh_pct"]}
    key = Ed25519PrivateKey.generate()
    ratings = room_ratings(svc.status())
    expected = point_metrics(22.5, 50.0)  # the one sensor with humidity
    assert ratings["pi"] == pytest.approx(expected["pi_years"], abs=0.01)
    assert ratings["mold"] == pytest.approx(expected["mold_risk_per_day"])
    assert ratings["ratings"] == {k: v["rating"] for k, v in svc.status()["ratings"].items()}
    assert set(ratings["ratings"]) >= {"natural_aging", "mold"}
    report = {"v": 1, "device": "dev-hb", "seq": 1, "sent_at": clock.now,
              "climate": {"rating": "ok", "alerts": [], **reading, **ratings}}
    body = encode(report)
    got = check_heartbeat(body, sign("dev-hb", key, body), "dev-hb", key.public_key(), now=clock.now)
    assert got.report["climate"]["t_c"] == pytest.approx(23.5)
    assert got.report["climate"]["ratings"]["natural_aging"] == expected["ratings"]["natural_aging"]
    assert room_ratings({"sensors": [{"t_c": 20.0}], "ratings": {}}) == {"ratings": {}, "pi": None, "mold": None}
    assert room_reading({"sensors": [{"t_c": None}], "band": {}}) == {}  # nothing read: nothing claimed
