"""The climate time series: its own SQLite file, downsampled and bounded (design §7.4).

Values are stored as integer hundredths. Keys are ``(ts, sensor)``: compaction
and retention work on time ranges across all sensors, and a room has few sensors. ``compact`` is idempotent (rule C1):
watermarks advance in the same transaction as the rows they cover, and rows
are only deleted once they sit below a watermark (C2).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

SCHEMA_VERSION = 1
MINUTE = 60
HOUR = 3600

_AGG_COLUMNS = "sensor INTEGER NOT NULL, ts INTEGER NOT NULL, n INTEGER NOT NULL, " \
               "t INTEGER NOT NULL, t_min INTEGER NOT NULL, t_max INTEGER NOT NULL, " \
               "rh INTEGER, rh_min INTEGER, rh_max INTEGER, PRIMARY KEY(ts, sensor)"

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sensors(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS raw(sensor INTEGER NOT NULL, ts INTEGER NOT NULL, t INTEGER NOT NULL,
    rh INTEGER, PRIMARY KEY(ts, sensor)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS minute({_AGG_COLUMNS}) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hour({_AGG_COLUMNS}) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alerts(id INTEGER PRIMARY KEY, sensor TEXT NOT NULL, kind TEXT NOT NULL,
    started REAL NOT NULL, ended REAL, peak REAL, message TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS alerts_open ON alerts(ended);
"""


@dataclass(frozen=True)
class Row:
    """One aggregated (or raw) point: ``ts`` start, ``span`` its resolution in seconds."""

    ts: float
    span: float
    n: int
    t: float
    t_min: float
    t_max: float
    rh: float | None
    rh_min: float | None
    rh_max: float | None


def _c(value: float | None) -> int | None:
    return None if value is None else int(round(value * 100))


def _f(value: int | float | None) -> float | None:
    return None if value is None else value / 100.0


class ClimateStore:
    """Time series of readings per sensor name.

    Parameters
    ----------
    path : Path
        The SQLite file; created with its folder.
    raw_days, minute_days : float
        Retention of raw samples and of 1-minute means (C2).
    max_db_mb : float
        Size above which the oldest hourly rows are dropped (0 = no limit).
    """

    def __init__(self, path: Path, *, raw_days: float = 7, minute_days: float = 90,
                 max_db_mb: float = 64) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.raw_days = raw_days
        self.minute_days = minute_days
        self.max_db_mb = max_db_mb
        self._local = threading.local()
        self._ids: dict[str, int] = {}
        self._lock = threading.Lock()
        con = self._con()
        # auto_vacuum must be chosen before the first table exists.
        con.execute("PRAGMA auto_vacuum=INCREMENTAL")
        con.executescript(SCHEMA)
        with con:
            con.execute("INSERT OR IGNORE INTO meta VALUES('schema_version', ?)", (str(SCHEMA_VERSION),))
        version = con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
        if int(version) != SCHEMA_VERSION:
            raise RuntimeError(f"{path}: climate store version {version}, this build reads {SCHEMA_VERSION}")

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")  # losing the last seconds of climate is harmless
            self._local.con = con
        return con

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    # ------------------------------------------------------------------ writing

    def sensor_key(self, name: str) -> int:
        with self._lock:
            if name not in self._ids:
                con = self._con()
                with con:
                    con.execute("INSERT OR IGNORE INTO sensors(name) VALUES(?)", (name,))
                self._ids[name] = con.execute("SELECT id FROM sensors WHERE name=?", (name,)).fetchone()[0]
            return self._ids[name]

    def sensor_names(self) -> list[str]:
        return [r[0] for r in self._con().execute("SELECT name FROM sensors ORDER BY name")]

    def add(self, sensor: str, ts: float, t_c: float, rh_pct: float | None) -> None:
        """Store one good reading (faults never come here)."""
        self.add_many([(sensor, ts, t_c, rh_pct)])

    def add_many(self, rows: list[tuple[str, float, float, float | None]]) -> None:
        con = self._con()
        data = [(self.sensor_key(s), int(ts), _c(t), _c(rh)) for s, ts, t, rh in rows]
        with con:
            con.execute("BEGIN")  # one transaction for the whole pass, not one per row
            # Two reads within one second keep the later one.
            con.executemany("INSERT OR REPLACE INTO raw VALUES(?,?,?,?)", data)

    # ------------------------------------------------------------------ compaction

    def _watermark(self, con: sqlite3.Connection, key: str) -> int | None:
        row = con.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return int(row[0]) if row else None

    def compact(self, now: float) -> None:
        """Aggregate complete minutes and hours, then apply retention (C1, C2)."""
        con = self._con()
        with con:
            con.execute("BEGIN IMMEDIATE")
            start = self._watermark(con, "minute_done")
            if start is None:
                first = con.execute("SELECT min(ts) FROM raw").fetchone()[0]
                start = (first // MINUTE) * MINUTE if first is not None else None
            end = (int(now) // MINUTE) * MINUTE
            if start is not None and end > start:
                con.execute(f"""
                    INSERT OR REPLACE INTO minute
                    SELECT sensor, (ts / {MINUTE}) * {MINUTE}, count(*), CAST(round(avg(t)) AS INTEGER),
                           min(t), max(t), CAST(round(avg(rh)) AS INTEGER), min(rh), max(rh)
                    FROM raw WHERE ts >= ? AND ts < ? GROUP BY sensor, ts / {MINUTE}""", (start, end))
                con.execute("INSERT OR REPLACE INTO meta VALUES('minute_done', ?)", (str(end),))
            minute_done = self._watermark(con, "minute_done")
            start = self._watermark(con, "hour_done")
            if start is None:
                first = con.execute("SELECT min(ts) FROM minute").fetchone()[0]
                start = (first // HOUR) * HOUR if first is not None else None
            end = min((int(now) // HOUR) * HOUR, ((minute_done or 0) // HOUR) * HOUR)
            if start is not None and end > start:
                # Hour means weight each minute by its sample count.
                con.execute(f"""
                    INSERT OR REPLACE INTO hour
                    SELECT sensor, (ts / {HOUR}) * {HOUR}, count(*),
                           CAST(round(sum(t * n) * 1.0 / sum(n)) AS INTEGER), min(t_min), max(t_max),
                           CAST(round(sum(rh * n) * 1.0 / nullif(sum(CASE WHEN rh IS NULL THEN 0 ELSE n END), 0))
                                AS INTEGER),
                           min(rh_min), max(rh_max)
                    FROM minute WHERE ts >= ? AND ts < ? GROUP BY sensor, ts / {HOUR}""", (start, end))
                con.execute("INSERT OR REPLACE INTO meta VALUES('hour_done', ?)", (str(end),))
            hour_done = self._watermark(con, "hour_done") or 0
            housekeeping = start is not None and end > start
            if housekeeping:
                raw_cut = min(int(now - self.raw_days * 86400), minute_done or 0)
                con.execute("DELETE FROM raw WHERE ts < ?", (raw_cut,))
                minute_cut = min(int(now - self.minute_days * 86400), hour_done)
                con.execute("DELETE FROM minute WHERE ts < ?", (minute_cut,))
        # Retention, the size bound and the checkpoint run once an hour (when an
        # hour was aggregated), not at every pass: fewer writes to an SD card.
        if housekeeping:
            self._bound_size()

    def size_bytes(self) -> int:
        con = self._con()
        pages = con.execute("PRAGMA page_count").fetchone()[0] - con.execute("PRAGMA freelist_count").fetchone()[0]
        return pages * con.execute("PRAGMA page_size").fetchone()[0]

    def file_bytes(self) -> int:
        """Bytes on disk: the database plus its WAL."""
        total = 0
        for suffix in ("", "-wal"):
            try:
                total += os.path.getsize(str(self.path) + suffix)
            except OSError:
                pass
        return total

    def _bound_size(self) -> None:
        con = self._con()
        con.execute("PRAGMA incremental_vacuum")
        if not self.max_db_mb:
            return
        limit = self.max_db_mb * 1024 * 1024
        while self.size_bytes() > limit:
            # Oldest history goes first: a month of hours at a time, then (with no
            # hours left) a day of already-aggregated minutes. Raw samples stay.
            oldest = con.execute("SELECT min(ts) FROM hour").fetchone()[0]
            table, step = "hour", 30 * 86400
            if oldest is None:
                oldest = con.execute("SELECT min(ts) FROM minute").fetchone()[0]
                table, step = "minute", 86400
            if oldest is None:
                break
            with con:
                con.execute(f"DELETE FROM {table} WHERE ts < ?", (oldest + step,))
            con.execute("PRAGMA incremental_vacuum")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # ------------------------------------------------------------------ reading

    def rows(self, sensor: str, since: float, until: float, resolution: str = "auto") -> list[Row]:
        """Points of one sensor in ``[since, until)``, oldest first (rule C3).

        ``resolution`` is ``raw``, ``minute``, ``hour``, ``auto`` (hours where
        minutes are gone, then minutes, then raw samples not yet aggregated) or
        ``coarse`` (hours wherever they exist, then minutes, then raw samples:
        what month- and year-long charts and figures read).
        """
        con = self._con()
        key = self.sensor_key(sensor)
        if resolution == "coarse":
            hour_done = self._watermark(con, "hour_done") or 0
            minute_done = max(self._watermark(con, "minute_done") or 0, hour_done)
            out = self._agg(con, "hour", key, since, min(until, hour_done))
            out += self._agg(con, "minute", key, max(since, hour_done), min(until, minute_done))
            return out + self.rows(sensor, max(since, minute_done), until, "raw")
        if resolution == "raw":
            return [Row(ts, 0, 1, _f(t), _f(t), _f(t), _f(rh), _f(rh), _f(rh)) for ts, t, rh in con.execute(
                "SELECT ts, t, rh FROM raw WHERE sensor=? AND ts>=? AND ts<? ORDER BY ts", (key, since, until))]
        if resolution in ("minute", "hour"):
            return self._agg(con, resolution, key, since, until)
        # All sensors share the retention, so the table's first minute is the split (and uses the key).
        minute_first = con.execute("SELECT min(ts) FROM minute").fetchone()[0]
        minute_done = self._watermark(con, "minute_done") or 0
        split = max(since, minute_first) if minute_first is not None else until
        out = self._agg(con, "hour", key, since, min(split, until))
        out += self._agg(con, "minute", key, max(since, split), min(until, max(split, minute_done)))
        out += [r for r in self.rows(sensor, max(since, minute_done), until, "raw")]
        return out

    @staticmethod
    def _agg(con: sqlite3.Connection, table: str, key: int, since: float, until: float) -> list[Row]:
        if until <= since:
            return []
        span = MINUTE if table == "minute" else HOUR
        return [Row(ts, span, n, _f(t), _f(a), _f(b), _f(rh), _f(c), _f(d))
                for ts, n, t, a, b, rh, c, d in con.execute(
                    f"SELECT ts, n, t, t_min, t_max, rh, rh_min, rh_max FROM {table} "
                    "WHERE sensor=? AND ts>=? AND ts<? ORDER BY ts", (key, since, until))]

    def latest(self, sensor: str) -> tuple[float, float, float | None] | None:
        row = self._con().execute("SELECT ts, t, rh FROM raw WHERE sensor=? ORDER BY ts DESC LIMIT 1",
                                  (self.sensor_key(sensor),)).fetchone()
        return None if row is None else (row[0], _f(row[1]), _f(row[2]))

    # ------------------------------------------------------------------ alerts

    def open_alert(self, sensor: str, kind: str, started: float, peak: float | None, message: str) -> int:
        con = self._con()
        with con:
            cur = con.execute("INSERT INTO alerts(sensor, kind, started, peak, message) VALUES(?,?,?,?,?)",
                              (sensor, kind, started, peak, message))
        return cur.lastrowid

    def close_alert(self, sensor: str, kind: str, ended: float) -> None:
        con = self._con()
        with con:
            con.execute("UPDATE alerts SET ended=? WHERE sensor=? AND kind=? AND ended IS NULL", (ended, sensor, kind))

    def alerts(self, since: float, until: float) -> list[dict]:
        """Alerts that were active at some time in ``[since, until)``."""
        cur = self._con().execute(
            "SELECT sensor, kind, started, ended, peak, message FROM alerts "
            "WHERE started < ? AND (ended IS NULL OR ended >= ?) ORDER BY started", (until, since))
        return [dict(zip(("sensor", "kind", "started", "ended", "peak", "message"), r)) for r in cur]

    def open_alerts(self) -> list[dict]:
        cur = self._con().execute("SELECT sensor, kind, started, peak, message FROM alerts WHERE ended IS NULL")
        return [dict(zip(("sensor", "kind", "started", "peak", "message"), r)) for r in cur]
