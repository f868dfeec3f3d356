"""Linux IIO temperature / humidity sensors (DHT11/22, BME280, HDC100x, ...).

The kernel's IIO ABI (Documentation/ABI/testing/sysfs-bus-iio) gives either a
processed ``in_X_input`` in milli-units, or ``in_X_raw`` with optional
``in_X_offset`` and ``in_X_scale``: value = (raw + offset) x scale, again in
milli-units (m°C, m%RH).
"""

from __future__ import annotations

import time
from pathlib import Path

from drivers.sensors.base import Reading, SensorUnavailable, checked
from drivers.sensors.sysfs import read_number, read_text

TEMP = "temp"
HUMIDITY = "humidityrelative"


def channel_present(device: Path, channel: str) -> bool:
    """True when *device* offers *channel* in either form."""
    return (device / f"in_{channel}_input").exists() or (device / f"in_{channel}_raw").exists()


def read_channel(device: Path, channel: str) -> float:
    """Return a channel's value in base units (°C or %RH).

    Raises
    ------
    SensorUnavailable
        When the files are gone or the bus errors (DHT11 often returns EIO
        on a missed handshake; the next read usually works).
    BadReading
        When a file holds something that is not a number.
    """
    processed = device / f"in_{channel}_input"
    if processed.exists():
        return read_number(processed) / 1000.0
    raw_path = device / f"in_{channel}_raw"
    if not raw_path.exists():
        raise SensorUnavailable("missing", f"{device}: no in_{channel}_input or in_{channel}_raw")
    raw = read_number(raw_path)
    offset_path = device / f"in_{channel}_offset"
    scale_path = device / f"in_{channel}_scale"
    offset = read_number(offset_path) if offset_path.exists() else 0.0
    scale = read_number(scale_path) if scale_path.exists() else 1.0
    return (raw + offset) * scale / 1000.0


class IIOSensor:
    """One IIO device directory (``/sys/bus/iio/devices/iio:deviceN``)."""

    kind = "iio"

    def __init__(self, sensor_id: str, device: Path) -> None:
        self._id = sensor_id
        self.device = device
        self._has_rh = channel_present(device, HUMIDITY)
        try:
            self._name = read_text(device / "name")
        except SensorUnavailable:
            self._name = device.name

    @property
    def sensor_id(self) -> str:
        return self._id

    @property
    def description(self) -> str:
        return f"IIO {self._name} ({self.device.name})"

    def read(self) -> Reading:
        at = time.time()
        t_c = read_channel(self.device, TEMP)
        rh = read_channel(self.device, HUMIDITY) if self._has_rh else None
        return checked(self._id, t_c, rh, at)

    def close(self) -> None:
        """Nothing to release: sysfs files are opened per read."""
