"""Room-climate sensors: one ``Sensor`` protocol, four kinds of hardware.

See docs/design.md §7.1-7.2. Every driver raises only :class:`SensorUnavailable`
or :class:`BadReading` (both :class:`SensorError`).
"""

from drivers.sensors.base import BadReading, Reading, Sensor, SensorError, SensorUnavailable
from drivers.sensors.discovery import discover

__all__ = ["BadReading", "Reading", "Sensor", "SensorError", "SensorUnavailable", "discover"]
