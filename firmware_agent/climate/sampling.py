"""One sampling pass: read every sensor, calibrate, reject bad values (design §7.3).

Runs in a worker thread (drivers block). Never raises because of a sensor:
every exception a driver lets out becomes a fault of that sensor.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from drivers.sensors import Reading, Sensor, SensorError
from drivers.sensors.base import RH_MAX_PCT, RH_MIN_PCT, T_MAX_C, T_MIN_C
from firmware_agent.climate.settings import ClimateSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """Result of reading one sensor once: a calibrated reading or a fault reason."""

    sensor_id: str
    at: float
    reading: Reading | None = None
    fault: str | None = None
    detail: str = ""


class Sampler:
    """Reads a set of sensors; remembers enough to spot a stuck value."""

    def __init__(self, settings: ClimateSettings) -> None:
        self.settings = settings
        self._last: dict[str, tuple[float, float | None]] = {}
        self._same_since: dict[str, float] = {}

    def read(self, sensor: Sensor, now: float) -> Outcome:
        sid = sensor.sensor_id
        try:
            r = sensor.read()
        except SensorError as exc:
            return Outcome(sid, now, fault=exc.reason, detail=exc.detail)
        except Exception as exc:  # a driver bug must not stop the others
            log.exception("sensor %s: unexpected error", sid)
            return Outcome(sid, now, fault="error", detail=repr(exc)[:200])
        cfg = self.settings.sensor_config(sid)
        t_c = r.t_c + (cfg.t_offset_c if cfg else 0.0)
        rh = r.rh_pct
        if rh is not None and cfg is not None:
            rh += cfg.rh_offset_pct
        if not T_MIN_C <= t_c <= T_MAX_C or (rh is not None and not RH_MIN_PCT <= rh <= RH_MAX_PCT):
            return Outcome(sid, now, fault="range", detail=f"{t_c:.2f} °C / {rh} %")
        if self._stuck(sid, (r.t_c, r.rh_pct), now):
            return Outcome(sid, now, fault="stuck", detail=f"{r.t_c:.2f} °C since {self._same_since[sid]:.0f}")
        # Stamped with the pass's time so every sensor of one pass shares it (and tests can set the clock).
        return Outcome(sid, now, reading=Reading(sid, now, t_c, rh))

    def _stuck(self, sid: str, value: tuple[float, float | None], now: float) -> bool:
        limit = self.settings.stuck_after_s
        if self._last.get(sid) != value:
            self._last[sid] = value
            self._same_since[sid] = now
            return False
        return bool(limit) and now - self._same_since[sid] >= limit
