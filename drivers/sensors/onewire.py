"""DS18B20 1-wire thermometers through the kernel's w1_therm driver.

``w1_slave`` holds two lines, e.g.::

    72 01 4b 46 7f ff 0e 10 57 : crc=57 YES
    72 01 4b 46 7f ff 0e 10 57 t=23125

Line 1 ends in ``YES`` when the scratchpad CRC matched; line 2 carries the
temperature in m°C. 85 °C exactly is the chip's power-on value, returned when
a conversion did not happen (weak parasite power), so it is a fault.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from drivers.sensors.base import BadReading, Reading, checked
from drivers.sensors.sysfs import read_text

_T_RE = re.compile(r"\bt=(-?\d+)\s*$")
POWER_ON_MILLI_C = 85000


class OneWireSensor:
    """One ``28-*`` device directory under ``/sys/bus/w1/devices``."""

    kind = "w1"

    def __init__(self, sensor_id: str, device: Path) -> None:
        self._id = sensor_id
        self.device = device

    @property
    def sensor_id(self) -> str:
        return self._id

    @property
    def description(self) -> str:
        return f"1-wire DS18B20 {self.device.name}"

    def read(self) -> Reading:
        at = time.time()
        return parse_w1_slave(self._id, read_text(self.device / "w1_slave"), at)

    def close(self) -> None:
        """Nothing to release: sysfs files are opened per read."""


def parse_w1_slave(sensor_id: str, text: str, at: float) -> Reading:
    """Parse the two lines of ``w1_slave``.

    Raises
    ------
    BadReading
        ``crc`` when line 1 does not end in YES, ``garbage`` when the layout is
        wrong, ``power_on`` for the 85 °C reset value, ``range`` when outside
        the physical range.
    """
    lines = text.strip().splitlines()
    if len(lines) < 2:
        raise BadReading("garbage", f"w1_slave has {len(lines)} line(s)")
    if not lines[0].rstrip().endswith("YES"):
        raise BadReading("crc", lines[0].strip()[-20:])
    match = _T_RE.search(lines[1])
    if match is None:
        raise BadReading("garbage", lines[1][-30:])
    milli = int(match.group(1))
    if milli == POWER_ON_MILLI_C:
        raise BadReading("power_on", "85 °C reset value")
    return checked(sensor_id, milli / 1000.0, None, at)
