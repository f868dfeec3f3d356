"""Time series: compaction, retention, queries, and a year within a bounded size."""

from __future__ import annotations

import math
import sqlite3

import pytest

from firmware_agent.climate.period import Band, period_figures, weights
from firmware_agent.climate.store import HOUR, ClimateStore

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC, a whole hour
BAND = Band(18, 22, 45, 55)


def counts(path):
    con = sqlite3.connect(path)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("raw", "minute", "hour")}
    finally:
        con.close()


def test_compaction_means_minmax_and_is_idempotent(tmp_path):
    store = ClimateStore(tmp_path / "c.sqlite3")
    for i in range(120):  # two minutes of 1-second samples, then one more minute
        store.add("a", T0 + i, 20 + (i % 60) / 100, 50.0)
    store.add("a", T0 + 125, 30.0, None)
    store.compact(T0 + 130)
    rows = store.rows("a", T0, T0 + 200, "minute")
    assert [r.ts for r in rows] == [T0, T0 + 60]  # the third minute is not complete yet
    assert rows[0].n == 60 and rows[0].t == pytest.approx(20.295, abs=0.006)
    assert (rows[0].t_min, rows[0].t_max, rows[0].rh) == (20.0, 20.59, 50.0)
    before = counts(store.path)
    store.compact(T0 + 130)
    assert counts(store.path) == before
    # Auto resolution: the complete minutes, then the raw samples not yet aggregated.
    auto = store.rows("a", T0, T0 + 200)
    assert [r.ts for r in auto] == [T0, T0 + 60, T0 + 125] and auto[-1].rh is None


def test_hour_mean_weights_minutes_by_sample_count(tmp_path):
    store = ClimateStore(tmp_path / "c.sqlite3")
    store.add_many([("a", T0 + i, 20.0, 40.0) for i in range(0, 60, 1)]     # 60 samples at 20
                   + [("a", T0 + 60, 26.0, 70.0)])                           # 1 sample at 26
    store.compact(T0 + 2 * HOUR)
    (hour,) = store.rows("a", T0, T0 + HOUR, "hour")
    assert hour.n == 2  # two minutes
    assert hour.t == pytest.approx((60 * 20 + 26) / 61, abs=0.01)
    assert (hour.t_min, hour.t_max, hour.rh_max) == (20.0, 26.0, 70.0)


def test_retention_keeps_only_what_is_aggregated(tmp_path):
    store = ClimateStore(tmp_path / "c.sqlite3", raw_days=1, minute_days=2)
    day = 86400
    for d in range(5):
        store.add_many([("a", T0 + d * day + h * HOUR, 20.0 + d, 50.0) for h in range(24)])
        store.compact(T0 + (d + 1) * day)
    c = counts(store.path)
    assert c["raw"] == 24           # 1 day
    assert c["minute"] == 48        # 2 days, one sample an hour
    assert c["hour"] == 5 * 24      # for ever
    rows = store.rows("a", T0, T0 + 5 * day)
    assert len(rows) == 120 and {r.span for r in rows} == {HOUR, 60}
    assert rows[0].t == 20.0 and rows[-1].t == 24.0


def test_period_weights_skip_gaps():
    from firmware_agent.climate.store import Row
    rows = [Row(T0 + i * 60, 60, 1, 20, 20, 20, 50, 50, 50) for i in range(3)]
    rows.append(Row(T0 + 10 * HOUR, 60, 1, 30, 30, 30, 80, 80, 80))  # after a 10-hour outage
    w = weights(rows, T0 + 11 * HOUR, 60)
    assert w == [60, 60, 120, 60]
    fig = period_figures(rows, BAND, T0 + 11 * HOUR, 60)
    assert fig["hours"] == pytest.approx(300 / 3600, abs=0.01)
    assert fig["out_of_band_pct"] == pytest.approx(20.0)
    assert fig["t_c"] == {"min": 20.0, "mean": pytest.approx(22.0), "max": 30.0}


def test_a_year_downsampled_and_bounded(tmp_path):
    """365 days of 5-minute samples from two sensors, compacted daily like the agent does."""
    path = tmp_path / "year.sqlite3"
    store = ClimateStore(path, max_db_mb=64)
    step = 300
    day = 86400
    for d in range(365):
        batch = []
        for k in range(day // step):
            ts = T0 + d * day + k * step
            season = math.sin(2 * math.pi * d / 365)
            daily = math.sin(2 * math.pi * k * step / day)
            batch.append(("hall", ts, 26 + 4 * season + daily, 70 + 10 * season + 3 * daily))
            batch.append(("w1-28-0316a2794aff", ts, 24 + 3 * season, None))
        store.add_many(batch)
        store.compact(T0 + (d + 1) * day)
    end = T0 + 365 * day
    c = counts(path)
    assert c["raw"] == 2 * 7 * day // step
    assert c["minute"] == 2 * 90 * day // step
    assert c["hour"] == 2 * 365 * 24
    size = store.file_bytes()
    assert size < 6 * 1024 * 1024, size
    # A whole-year query mixes hours and minutes and covers the year.
    year = store.rows("hall", T0, end)
    assert len(year) == 275 * 24 + 90 * day // step
    fig = period_figures(year, BAND, end, step)
    assert fig["hours"] == pytest.approx(365 * 24, rel=0.001)
    assert 22 - 1.1 < fig["t_c"]["min"] and fig["t_c"]["max"] < 30 + 1.1
    assert fig["rh_pct"]["mean"] == pytest.approx(70, abs=0.5)
    assert fig["twpi_years"] < 15 and fig["mold_risk"] > 0.5
    temp_only = period_figures(store.rows("w1-28-0316a2794aff", T0, end), BAND, end, step)
    assert temp_only["rh_pct"] is None and temp_only["twpi_years"] is None
    # Coarse reads take hours wherever they exist (month and year charts).
    assert len(store.rows("hall", end - 30 * day, end, "coarse")) == 30 * 24
    # The size bound drops the oldest hours first and keeps the newest.
    full = store.size_bytes()
    store.max_db_mb = (full - 100 * 1024) / (1024 * 1024)
    store.compact(end + HOUR)  # the bound is applied with the hourly housekeeping
    assert store.size_bytes() <= full - 100 * 1024
    hours = store.rows("hall", T0, end, "hour")
    assert hours and hours[-1].ts == end - HOUR and hours[0].ts > T0
    # A bound smaller than 90 days of minutes also trims the oldest minutes; raw samples stay.
    store.max_db_mb = 0.5
    store.compact(end + 2 * HOUR)
    assert store.size_bytes() <= 0.5 * 1024 * 1024
    assert store.rows("hall", T0, end, "hour") == []
    assert len(store.rows("hall", end - 6 * day, end, "raw")) == 6 * day // step
    assert len(store.rows("hall", end - day, end)) == day // step


def test_schema_version_is_checked(tmp_path):
    path = tmp_path / "c.sqlite3"
    ClimateStore(path).close()
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    con.commit()
    con.close()
    with pytest.raises(RuntimeError, match="version 99"):
        ClimateStore(path)
