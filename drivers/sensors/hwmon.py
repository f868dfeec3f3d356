"""hwmon temperature / humidity chips (SHT3x/4x, AHT20, SHT21, HIH6130).

``temp1_input`` is m°C and ``humidity1_input`` m%RH (Documentation/hwmon/
sysfs-interface). The directory number changes between boots, so a chip is
recognised by its ``name`` file.
"""

from __future__ import annotations

import time
from pathlib import Path

from drivers.sensors.base import Reading, SensorUnavailable, checked
from drivers.sensors.sysfs import read_number, read_text

# Chips that measure the computer, not the room; discovery skips them unless
# the config names them (a CPU at 55 °C would otherwise raise a heat alert).
NOT_ROOM_SENSORS = frozenset({
    "cpu_thermal", "coretemp", "k10temp", "acpitz", "nvme", "pch_cannonlake", "pch_skylake",
    "iwlwifi", "iwlwifi_1", "rpi_volt", "soc_thermal", "gpu_thermal", "amdgpu", "radeon",
    "nouveau", "drivetemp", "thinkpad", "dell_smm", "zenpower", "ath10k_hwmon", "mt7921_phy0",
    "BAT0", "AC", "ucsi_source_psy", "rp1_adc", "cpu0_thermal", "ddr_thermal",
})


class HwmonSensor:
    """One hwmon directory (``/sys/class/hwmon/hwmonN``)."""

    kind = "hwmon"

    def __init__(self, sensor_id: str, device: Path) -> None:
        self._id = sensor_id
        self.device = device
        self._has_rh = (device / "humidity1_input").exists()
        try:
            self.name = read_text(device / "name")
        except SensorUnavailable:
            self.name = device.name

    @property
    def sensor_id(self) -> str:
        return self._id

    @property
    def description(self) -> str:
        return f"hwmon {self.name} ({self.device.name})"

    def read(self) -> Reading:
        at = time.time()
        t_c = read_number(self.device / "temp1_input") / 1000.0
        rh = read_number(self.device / "humidity1_input") / 1000.0 if self._has_rh else None
        return checked(self._id, t_c, rh, at)

    def close(self) -> None:
        """Nothing to release: sysfs files are opened per read."""
