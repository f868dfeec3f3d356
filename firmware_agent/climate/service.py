"""The climate task the agent runs: sampling loop, status, metrics, batch summary.

``ClimateService`` owns its time-series file and its sensors. The agent builds
it, runs :meth:`run` under its supervisor, mounts :meth:`add_routes` on the
status page, exposes :meth:`metrics` in ``/metrics`` and puts
:meth:`summary` in every sync batch (formats §7.7).
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path

from drivers.sensors import Sensor, discover
from firmware_agent.climate.alerts import AlertEngine
from firmware_agent.climate.messages import RATING_MESSAGES, both, fault_text
from firmware_agent.climate.metrics import point_metrics, rate_pi
from firmware_agent.climate.period import Band, period_figures
from firmware_agent.climate.sampling import Outcome, Sampler
from firmware_agent.climate.store import ClimateStore
from firmware_agent.climate.settings import ClimateSettings
from firmware_agent.metrics import gauge
from firmware_agent.subsystem import Subsystem

log = logging.getLogger(__name__)
SUMMARY_VERSION = 1
FIGURES_EVERY_S = 600.0
_RATING_ORDER = {"good": 0, "ok": 1, "risk": 2}


def band_of(settings: ClimateSettings) -> Band:
    b = settings.band
    return Band(b.t_target_c - b.t_tolerance_c, b.t_target_c + b.t_tolerance_c,
                b.rh_target_pct - b.rh_tolerance_pct, b.rh_target_pct + b.rh_tolerance_pct)


class ClimateService(Subsystem):
    """Storage-room climate: sensors → samples → metrics, alerts, charts, report.

    Parameters
    ----------
    settings : ClimateSettings
        The ``[climate]`` config section.
    db_path : Path
        The time-series SQLite file (created if missing).
    sysfs_root : Path
        Stands for ``/`` when looking for sysfs sensors; when left at ``/``,
        ``settings.sysfs_root`` is used.
    usb_backend : usb.backend.IBackend or None
        pyusb backend for TEMPer units; None = libusb.
    clock : callable
        Returns unix time; tests pass a simulated clock.
    """

    name = "climate"  # its key in /api/status and its task name

    def __init__(self, settings: ClimateSettings, db_path: Path, *, sysfs_root: Path = Path("/"),
                 usb_backend=None, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.store = ClimateStore(Path(db_path), raw_days=settings.raw_days, minute_days=settings.minute_days,
                                  max_db_mb=settings.max_db_mb)
        self.sysfs_root = Path(sysfs_root) if Path(sysfs_root) != Path("/") else Path(settings.sysfs_root)
        self.usb_backend = usb_backend
        self.clock = clock
        self.band = band_of(settings)
        self.sampler = Sampler(settings)
        self.alerts = AlertEngine(settings.alerts, self.store)
        self._lock = threading.Lock()
        self._sensors: dict[str, Sensor] = {}
        self._current: dict[str, Outcome] = {}
        self._fault_since: dict[str, float] = {}
        self._last_good: dict[str, Outcome] = {}
        self._figures: dict[str, dict] = {}
        self._figures_at = -math.inf
        self._discovered_at = -math.inf
        self._updated: float | None = None

    # ------------------------------------------------------------------ sensors

    def _wanted(self, sensor_id: str) -> bool:
        cfg = self.settings.sensor_config(sensor_id)
        if cfg is not None:
            return cfg.enabled
        return not self.settings.only_configured

    def discover(self) -> list[Sensor]:
        """(Re)build the sensor set; blocking. USB units are closed and reopened."""
        for sensor in self._sensors.values():
            try:
                sensor.close()
            except Exception:  # closing a vanished device must not stop discovery
                log.debug("closing %s failed", sensor.sensor_id, exc_info=True)
        include = frozenset(c.id for c in self.settings.sensors if c.enabled)
        try:
            found = discover(self.sysfs_root, self.usb_backend, usb=self.settings.usb, include=include)
        except Exception:
            log.exception("sensor discovery failed")
            found = []
        sensors = {s.sensor_id: s for s in found if self._wanted(s.sensor_id)}
        with self._lock:
            self._sensors = sensors
        self._discovered_at = self.clock()
        return list(sensors.values())

    async def stop(self) -> None:
        self.close()

    def close(self) -> None:
        for sensor in self._sensors.values():
            try:
                sensor.close()
            except Exception:
                log.debug("closing %s failed", sensor.sensor_id, exc_info=True)
        self.store.close()

    # ------------------------------------------------------------------ sampling

    def sample_once(self) -> list[Outcome]:
        """Read every sensor once, store good values, update alerts; blocking, never raises for a sensor."""
        now = self.clock()
        if now - self._discovered_at >= self.settings.rediscover_s:
            self.discover()
        outcomes = [self.sampler.read(s, now) for s in list(self._sensors.values())]
        seen = {o.sensor_id for o in outcomes}
        # Sensors we knew or were told about but cannot see any more stay on the page as faults.
        expected = set(self._current) | {c.id for c in self.settings.sensors if c.enabled}
        for sid in sorted(expected - seen):
            previous = self._current.get(sid)
            reason = previous.fault if previous is not None and previous.fault in ("unplugged", "io") else "missing"
            outcomes.append(Outcome(sid, now, fault=reason))
        good = [o.reading for o in outcomes if o.reading is not None]
        if good:
            self.store.add_many([(r.sensor_id, r.at, r.t_c, r.rh_pct) for r in good])
        for o in outcomes:
            if o.reading is not None:
                self.alerts.reading(o.sensor_id, now, o.reading.t_c, o.reading.rh_pct)
                self._last_good[o.sensor_id] = o
                self._fault_since.pop(o.sensor_id, None)
            else:
                self.alerts.fault(o.sensor_id, now)
                self._fault_since.setdefault(o.sensor_id, now)
        if any(o.fault == "unplugged" for o in outcomes):
            # Look for the unit again within a minute, not only at the next regular discovery.
            self._discovered_at = min(self._discovered_at, now - self.settings.rediscover_s + 60.0)
        with self._lock:
            for o in outcomes:
                self._current[o.sensor_id] = o
            self._updated = now
        self.store.compact(now)
        if now - self._figures_at >= FIGURES_EVERY_S:
            self.refresh_figures(now)
        return outcomes

    def refresh_figures(self, now: float) -> None:
        """Recompute the 24-hour and 30-day figures shown on the status page."""
        figures = {}
        for sid in self.store.sensor_names():
            figures[sid] = {
                "day": period_figures(self.store.rows(sid, now - 86400, now), self.band, now, self.settings.period_s),
                "month": period_figures(self.store.rows(sid, now - 30 * 86400, now, "coarse"), self.band, now,
                                        self.settings.period_s),
            }
        with self._lock:
            self._figures = figures
            self._figures_at = now

    async def run(self) -> None:
        """Sample every ``period_s`` for ever; a failing sensor or pass is logged, never raised."""
        if not self.settings.enabled:
            await asyncio.Event().wait()  # idle until cancelled: a disabled task is not a crashed one
        try:
            while True:
                started = time.monotonic()
                try:
                    await asyncio.to_thread(self.sample_once)
                except Exception:
                    log.exception("climate sampling pass failed")
                elapsed = time.monotonic() - started
                await asyncio.sleep(max(0.5, self.settings.period_s - elapsed))
        finally:
            await asyncio.to_thread(self.close)

    # ------------------------------------------------------------------ views

    def location(self, sensor_id: str) -> str:
        cfg = self.settings.sensor_config(sensor_id)
        return cfg.location if cfg is not None and cfg.location else sensor_id

    def status(self) -> dict:
        """Everything the status page shows, JSON-serialisable."""
        with self._lock:
            current = dict(self._current)
            sensors = dict(self._sensors)
            figures = dict(self._figures)
            updated = self._updated
        entries = []
        worst: dict[str, str] = {}
        for sid in sorted(current):
            o = current[sid]
            sensor = sensors.get(sid)
            entry = {"id": sid, "location": self.location(sid), "kind": getattr(sensor, "kind", ""),
                     "description": getattr(sensor, "description", ""), "state": "ok" if o.reading else "fault",
                     "at": o.at, "t_c": None, "rh_pct": None, "metrics": None, "fault": None,
                     "day": figures.get(sid, {}).get("day"), "month": figures.get(sid, {}).get("month")}
            if o.reading is not None:
                entry["t_c"] = round(o.reading.t_c, 2)
                entry["rh_pct"] = None if o.reading.rh_pct is None else round(o.reading.rh_pct, 2)
                if o.reading.rh_pct is not None:
                    entry["metrics"] = point_metrics(round(o.reading.t_c, 2), round(o.reading.rh_pct, 2))
            else:
                vi, en = fault_text(o.fault or "error")
                last = self._last_good.get(sid)
                entry["fault"] = {"reason": o.fault, "message": f"{vi} / {en}", "message_vi": vi, "message_en": en,
                                  "detail": o.detail, "since": self._fault_since.get(sid),
                                  "last_good_at": last.at if last else None}
            ratings = dict(entry["metrics"]["ratings"]) if entry["metrics"] else {}
            month = entry["month"]
            if month and month.get("twpi_years") is not None:
                ratings["natural_aging"] = rate_pi(month["twpi_years"])  # TWPI over 30 days, as IPI rates a room
            for key, value in ratings.items():
                if _RATING_ORDER[value] >= _RATING_ORDER.get(worst.get(key, "good"), 0):
                    worst[key] = value
            entries.append(entry)
        return {
            "room": self.settings.room_name,
            "enabled": self.settings.enabled,
            "period_s": self.settings.period_s,
            "updated": updated,
            "band": {"t_c": [self.band.t_low, self.band.t_high], "rh_pct": [self.band.rh_low, self.band.rh_high]},
            "sensors": entries,
            "ratings": {k: {"rating": v, "message": both(RATING_MESSAGES[v])} for k, v in sorted(worst.items())},
            "alerts": self.alerts.active(),
        }

    def metrics(self) -> list:
        """Prometheus gauge families, every name prefixed ``sohoa_climate_``."""
        status = self.status()
        families: list = []

        def family(name: str, help_text: str, samples: list[tuple[dict, float]]) -> None:
            families.append(gauge(f"sohoa_climate_{name}", help_text, samples=samples))

        sensors = status["sensors"]
        lab = [{"sensor": s["id"], "location": s["location"]} for s in sensors]
        family("sensor_ok", "1 when the last read of the sensor gave a good value.",
               [(lb, 1.0 if s["state"] == "ok" else 0.0) for lb, s in zip(lab, sensors)])
        family("temperature_celsius", "Last good temperature (calibrated).",
               [(lb, s["t_c"]) for lb, s in zip(lab, sensors) if s["t_c"] is not None])
        family("humidity_percent", "Last good relative humidity (calibrated).",
               [(lb, s["rh_pct"]) for lb, s in zip(lab, sensors) if s["rh_pct"] is not None])
        with_m = [(lb, s["metrics"]) for lb, s in zip(lab, sensors) if s["metrics"]]
        family("preservation_index_years", "Preservation Index at the last reading.",
               [(lb, m["pi_years"]) for lb, m in with_m])
        family("emc_percent", "Equilibrium moisture content at the last reading.",
               [(lb, m["emc_pct"]) for lb, m in with_m])
        family("dew_point_celsius", "Dew point at the last reading.",
               [(lb, m["dew_point_c"]) for lb, m in with_m])
        family("mold_risk_per_day", "Fraction of mould germination time used per day now.",
               [(lb, m["mold_risk_per_day"]) for lb, m in with_m])
        family("twpi_30d_years", "Time-weighted Preservation Index over 30 days.",
               [(lb, s["month"]["twpi_years"]) for lb, s in zip(lab, sensors)
                if s["month"] and s["month"].get("twpi_years") is not None])
        family("alert_active", "1 for every active climate alert.",
               [({"sensor": a["sensor"], "kind": a["kind"]}, 1.0) for a in status["alerts"]])
        family("alerts_active", "Number of active climate alerts.", [({}, float(len(status["alerts"])))])
        family("db_bytes", "Size of the climate time-series file.", [({}, float(self.store.file_bytes()))])
        return families

    def summary(self, since: float, until: float) -> dict | None:
        """The climate summary for a sync batch (formats §7.7); None without data."""
        self.store.compact(self.clock())
        sensors = []
        for sid in self.store.sensor_names():
            fig = period_figures(self.store.rows(sid, since, until), self.band, until, self.settings.period_s)
            if fig is not None:
                sensors.append({"id": sid, "location": self.location(sid), **fig})
        if not sensors:
            return None
        alerts = [{"sensor": a["sensor"], "kind": a["kind"], "started": a["started"], "ended": a["ended"],
                   "message": a["message"]} for a in self.store.alerts(since, until)]
        return {"version": SUMMARY_VERSION, "since": since, "until": until,
                "band": {"t_c": [self.band.t_low, self.band.t_high], "rh_pct": [self.band.rh_low, self.band.rh_high]},
                "sensors": sensors, "alerts": alerts}

    def add_routes(self, app) -> None:
        """Mount ``/climate`` (page), its JSON and the monthly report on an aiohttp app."""
        from firmware_agent.climate.web import add_routes

        add_routes(app, self)

