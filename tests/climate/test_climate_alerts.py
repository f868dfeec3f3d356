"""Alerts: minimum duration, hysteresis, no flapping, survival across a restart."""

from __future__ import annotations

from firmware_agent.climate.alerts import AlertEngine
from firmware_agent.climate.store import ClimateStore
from firmware_agent.climate.settings import AlertSettings

T0 = 1_767_225_600
SETTINGS = AlertSettings(t_high_c=25, t_low_c=15, rh_high_pct=60, rh_low_pct=35, hysteresis_c=1,
                         hysteresis_pct=3, min_duration_s=900, fault_after_s=600)


def feed(engine, values, start=T0, step=60, rh=50.0, sensor="a"):
    t = start
    for v in values:
        engine.reading(sensor, t, v, rh)
        t += step
    return t


def kinds(engine):
    return [(a["sensor"], a["kind"]) for a in engine.active()]


def test_raised_only_after_min_duration(tmp_path):
    store = ClimateStore(tmp_path / "c.sqlite3")
    engine = AlertEngine(SETTINGS, store)
    feed(engine, [26.0] * 15)                      # 14 minutes above: not yet
    assert kinds(engine) == []
    feed(engine, [26.5], start=T0 + 15 * 60)       # 15 minutes: raised
    assert kinds(engine) == [("a", "t_high")]
    (alert,) = engine.active()
    assert alert["started"] == T0 and alert["peak"] == 26.5 and alert["message"] == "Quá nóng / Too hot"
    assert store.open_alerts()[0]["kind"] == "t_high"


def test_wobbling_around_the_threshold_never_flaps(tmp_path):
    engine = AlertEngine(SETTINGS, ClimateStore(tmp_path / "c.sqlite3"))
    # Above for 10 minutes, below for 1, above again...: the wait restarts each time.
    values = ([25.4] * 10 + [24.9]) * 6
    feed(engine, values)
    assert kinds(engine) == []
    # Now raised; then wobbling between 24.2 and 25.2 (inside the hysteresis) does not clear it.
    t = feed(engine, [25.4] * 16, start=T0 + 3600)
    assert kinds(engine) == [("a", "t_high")]
    t = feed(engine, [24.2, 25.2] * 30, start=t)
    assert kinds(engine) == [("a", "t_high")]
    # 24.0 (= 25 - 1) for 15 minutes clears it, once.
    feed(engine, [24.0] * 16, start=t)
    assert kinds(engine) == []
    rows = engine.store.alerts(T0, T0 + 10 * 86400)
    assert len(rows) == 1 and rows[0]["ended"] is not None


def test_humidity_mold_and_low_alerts(tmp_path):
    engine = AlertEngine(SETTINGS, ClimateStore(tmp_path / "c.sqlite3"))
    feed(engine, [20.0] * 16, rh=85.0)
    assert sorted(k for _, k in kinds(engine)) == ["mold", "rh_high"]
    feed(engine, [12.0] * 16, rh=30.0, start=T0 + 3600)
    assert sorted(k for _, k in kinds(engine)) == ["rh_low", "t_low"]  # damp and mould cleared after 15 min


def test_sensor_fault_alert_after_fault_after_s_and_cleared_by_a_good_read(tmp_path):
    engine = AlertEngine(SETTINGS, ClimateStore(tmp_path / "c.sqlite3"))
    for i in range(10):
        engine.fault("w1-28-x", T0 + i * 60)
    assert kinds(engine) == []
    engine.fault("w1-28-x", T0 + 600)
    assert kinds(engine) == [("w1-28-x", "sensor")]
    engine.reading("w1-28-x", T0 + 660, 20.0, None)
    assert kinds(engine) == []


def test_active_alerts_survive_a_restart(tmp_path):
    path = tmp_path / "c.sqlite3"
    engine = AlertEngine(SETTINGS, ClimateStore(path))
    t = feed(engine, [27.0] * 16)
    again = AlertEngine(SETTINGS, ClimateStore(path))
    assert kinds(again) == [("a", "t_high")]
    feed(again, [23.0] * 16, start=t)
    assert kinds(again) == []
    assert ClimateStore(path).open_alerts() == []
