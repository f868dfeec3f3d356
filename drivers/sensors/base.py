"""The sensor interface shared by every room-climate driver.

A driver turns its library's and the kernel's errors into two exceptions of its
own (:class:`SensorUnavailable`, :class:`BadReading`), each with a short
``reason`` code the agent maps to an operator message. Drivers do blocking I/O;
callers run them in threads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

# Physical range every supported part covers (SHT3x, BME280, DS18B20 datasheets
# span at least -40..85 °C); anything outside is a broken probe, not weather.
T_MIN_C = -40.0
T_MAX_C = 85.0
RH_MIN_PCT = 0.0
RH_MAX_PCT = 100.0


class SensorError(Exception):
    """Base of the driver errors; ``reason`` is a short machine-readable code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class SensorUnavailable(SensorError):
    """The sensor cannot be reached (unplugged, file gone, USB I/O error).

    Reasons: ``unplugged``, ``io``, ``missing``, ``busy``.
    """


class BadReading(SensorError):
    """The sensor answered but the answer is not a trustworthy value.

    Reasons: ``crc`` (1-wire CRC line NO), ``no_probe`` (0x4e20), ``range``
    (outside the physical range), ``garbage`` (malformed reply), ``power_on``
    (DS18B20's 85 °C reset value), ``firmware`` (unknown TEMPer firmware).
    """


@dataclass(frozen=True)
class Reading:
    """One read of one sensor.

    Attributes
    ----------
    sensor_id : str
        Stable id (see docs/design.md §7.1).
    at : float
        Unix time of the read.
    t_c : float
        Temperature in °C.
    rh_pct : float or None
        Relative humidity in %, None for temperature-only sensors.
    """

    sensor_id: str
    at: float
    t_c: float
    rh_pct: float | None = None


@runtime_checkable
class Sensor(Protocol):
    """What the climate task needs from any sensor."""

    @property
    def sensor_id(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def description(self) -> str: ...

    def read(self) -> Reading:
        """Read once; raises :class:`SensorUnavailable` or :class:`BadReading`."""
        ...

    def close(self) -> None: ...


def checked(sensor_id: str, t_c: float, rh_pct: float | None, at: float | None = None) -> Reading:
    """Build a :class:`Reading`, raising ``BadReading('range')`` for impossible values."""
    if not T_MIN_C <= t_c <= T_MAX_C:
        raise BadReading("range", f"temperature {t_c:.2f} °C")
    if rh_pct is not None and not RH_MIN_PCT <= rh_pct <= RH_MAX_PCT:
        raise BadReading("range", f"humidity {rh_pct:.2f} %")
    return Reading(sensor_id, time.time() if at is None else at, t_c, rh_pct)
