"""Settings of the room-climate task (``[climate]`` in the config file).

The target band and alert thresholds are *unverified* defaults (DOMAIN §4): the
often-quoted Vietnamese target is 20 ± 2 °C and 50 ± 5 % RH; set your own.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware_agent.settings_base import setting


@dataclass(frozen=True)
class SensorConfig:
    id: str = setting("", doc="Sensor id as `sohoa sensors` lists it (e.g. 'w1-28-0316a2794aff', 'usb-1-1.2').")
    location: str = setting("", doc="Where it hangs, shown on the status page and the report (e.g. 'Kho 1, kệ A').")
    t_offset_c: float = setting(0.0, doc="Calibration: added to its temperature (°C).", minimum=-10, maximum=10)
    rh_offset_pct: float = setting(0.0, doc="Calibration: added to its relative humidity (% RH).",
                                   minimum=-20, maximum=20)
    enabled: bool = setting(True, doc="False ignores this sensor.")


@dataclass(frozen=True)
class BandSettings:
    t_target_c: float = setting(20.0, doc="Target temperature (°C). Unverified default.", minimum=0, maximum=40)
    t_tolerance_c: float = setting(2.0, doc="Allowed ± around the target temperature (°C).", minimum=0.1, maximum=20)
    rh_target_pct: float = setting(50.0, doc="Target relative humidity (%). Unverified default.",
                                   minimum=10, maximum=90)
    rh_tolerance_pct: float = setting(5.0, doc="Allowed ± around the target RH (%).", minimum=0.5, maximum=40)


@dataclass(frozen=True)
class AlertSettings:
    t_high_c: float = setting(25.0, doc="'Too hot' above this (°C). Unverified default.")
    t_low_c: float = setting(15.0, doc="'Too cold' below this (°C).")
    rh_high_pct: float = setting(60.0, doc="'Too damp' above this (% RH). Unverified default.")
    rh_low_pct: float = setting(35.0, doc="'Too dry' below this (% RH).")
    mold: bool = setting(True, doc="Alert while the mould-risk rate is above zero.")
    hysteresis_c: float = setting(1.0, doc="An alert clears only this far back inside (°C).", minimum=0)
    hysteresis_pct: float = setting(3.0, doc="An alert clears only this far back inside (% RH).", minimum=0)
    min_duration_s: float = setting(900.0, doc="A condition must hold this long to raise or clear an alert (s).",
                                    minimum=0)
    fault_after_s: float = setting(600.0, doc="A sensor without a good reading this long raises a fault alert (s).",
                                   minimum=0)


@dataclass(frozen=True)
class ClimateSettings:
    enabled: bool = setting(True, doc="Sample the storage-room sensors.")
    period_s: float = setting(60.0, doc="Seconds between two reads of every sensor.", minimum=2, maximum=3600)
    room_name: str = setting("Kho lưu trữ", doc="Name of the room on the status page and the monthly report.")
    sensors: tuple[SensorConfig, ...] = setting(
        (), doc="Per-sensor id, location and calibration ([[climate.sensors]] tables).")
    only_configured: bool = setting(False, doc="True: sample only the sensors listed in climate.sensors.")
    band: BandSettings = setting(factory=BandSettings, doc="The room's target band.")
    alerts: AlertSettings = setting(factory=AlertSettings, doc="Alert thresholds, hysteresis and minimum duration.")
    stuck_after_s: float = setting(21600.0, doc="An identical reading for this long is a stuck sensor "
                                                "(s; 0 = never).", minimum=0)
    rediscover_s: float = setting(300.0, doc="Look for new or replugged sensors this often (s).", minimum=10)
    sysfs_root: str = setting("/", doc="Directory standing for / when looking for sysfs sensors (tests, dry runs).")
    usb: bool = setting(True, doc="Look for TEMPer USB sensors (needs access to the USB device, see the udev rule).")
    raw_days: float = setting(7.0, doc="Keep every raw sample this many days.", minimum=1)
    minute_days: float = setting(90.0, doc="Keep 1-minute means this many days (hourly means are kept for ever).",
                                 minimum=1)
    max_db_mb: float = setting(64.0, doc="Upper bound of the climate database; oldest hourly means go first (MiB).",
                               minimum=1)

    def sensor_config(self, sensor_id: str) -> SensorConfig | None:
        """The config entry of a sensor id, if any."""
        for entry in self.sensors:
            if entry.id == sensor_id:
                return entry
        return None
