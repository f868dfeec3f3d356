"""Find every room sensor at once: IIO, hwmon, 1-wire and TEMPer USB.

The sysfs root and the pyusb backend are parameters so that tests (and a
technician's dry run) can point discovery at a directory tree and a USB
backend of their choosing.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from drivers.sensors.base import Sensor, SensorError
from drivers.sensors.hwmon import NOT_ROOM_SENSORS, HwmonSensor
from drivers.sensors.iio import HUMIDITY, TEMP, IIOSensor, channel_present
from drivers.sensors.onewire import OneWireSensor
from drivers.sensors.sysfs import read_text
from drivers.sensors.temper import TemperDevice, TemperSensor, find_devices

log = logging.getLogger(__name__)
_NUM_RE = re.compile(r"(\d+)$")
_SAFE_RE = re.compile(r"[^A-Za-z0-9_.-]+")


def _by_number(paths: list[Path]) -> list[Path]:
    def key(p: Path) -> tuple[int, str]:
        m = _NUM_RE.search(p.name)
        return (int(m.group(1)) if m else 1 << 30, p.name)
    return sorted(paths, key=key)


def _name_of(device: Path) -> str:
    try:
        name = read_text(device / "name")
    except SensorError:
        name = ""
    return _SAFE_RE.sub("_", name) or device.name


def _unique(prefix: str, name: str, seen: dict[str, int]) -> str:
    seen[name] = seen.get(name, 0) + 1
    return f"{prefix}-{name}" + (f"-{seen[name]}" if seen[name] > 1 else "")


def discover_iio(root: Path) -> list[Sensor]:
    """IIO devices that offer a temperature channel (humidity is optional)."""
    base = root / "sys/bus/iio/devices"
    seen: dict[str, int] = {}
    out: list[Sensor] = []
    for dev in _by_number([p for p in base.glob("iio:device*") if p.is_dir()]):
        if not channel_present(dev, TEMP) and not channel_present(dev, HUMIDITY):
            continue
        sid = _unique("iio", _name_of(dev), seen)
        if channel_present(dev, TEMP):
            out.append(IIOSensor(sid, dev))
    return out


def discover_hwmon(root: Path, include: frozenset[str] = frozenset()) -> list[Sensor]:
    """hwmon chips with ``temp1_input``, minus the computer's own thermometers.

    A chip in :data:`NOT_ROOM_SENSORS` is kept only when its id is in *include*.
    """
    base = root / "sys/class/hwmon"
    seen: dict[str, int] = {}
    out: list[Sensor] = []
    for dev in _by_number([p for p in base.glob("hwmon*") if p.is_dir()]):
        if not (dev / "temp1_input").exists():
            continue
        name = _name_of(dev)
        sid = _unique("hwmon", name, seen)
        if name in NOT_ROOM_SENSORS and sid not in include:
            continue
        out.append(HwmonSensor(sid, dev))
    return out


def discover_w1(root: Path) -> list[Sensor]:
    """DS18B20 thermometers (family code 28)."""
    base = root / "sys/bus/w1/devices"
    return [OneWireSensor(f"w1-{dev.name}", dev)
            for dev in sorted(base.glob("28-*")) if (dev / "w1_slave").exists()]


def discover_usb(backend=None) -> list[Sensor]:
    """TEMPer units: opens each one, reads its firmware and probes for an external sensor.

    A unit that cannot be opened is logged and left out; it is tried again at
    the next discovery.
    """
    out: list[Sensor] = []
    for dev in find_devices(backend):
        device = TemperDevice(dev)
        try:
            device.open()
            values = device.read_all()
        except SensorError as exc:
            log.warning("TEMPer %s not usable: %s", device.base_id, exc)
            device.close()
            continue
        out.append(TemperSensor(device, "int"))
        if values.get("t_ext") is not None:
            out.append(TemperSensor(device, "ext"))
    return out


def discover(sysfs_root: Path | str = Path("/"), usb_backend=None, *, usb: bool = True,
             include: frozenset[str] = frozenset()) -> list[Sensor]:
    """Every sensor found, IIO then hwmon then 1-wire then USB (§7.1).

    Parameters
    ----------
    sysfs_root : Path
        Directory that stands for ``/`` (``sys/...`` is looked up below it).
    usb_backend : usb.backend.IBackend or None
        pyusb backend; None lets pyusb pick libusb.
    usb : bool
        False skips the USB bus entirely.
    include : frozenset of str
        Ids of hwmon chips to keep even though they usually measure the computer.
    """
    root = Path(sysfs_root)
    sensors: list[Sensor] = []
    sensors += discover_iio(root)
    sensors += discover_hwmon(root, include)
    sensors += discover_w1(root)
    if usb:
        sensors += discover_usb(usb_backend)
    return sensors
