"""Fixtures for the climate tests: sysfs trees in temp dirs and the simulated USB bus."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

GOOD_W1 = "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t={milli}\n"
BAD_W1 = "72 01 4b 46 7f ff 0e 10 57 : crc=a1 NO\n72 01 4b 46 7f ff 0e 10 57 t=23125\n"


class SysfsTree:
    """Writes the files the kernel would show for a few sensors."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _write(self, path: Path, text: str) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def hwmon(self, n: int, name: str, t_c: float, rh: float | None = None) -> Path:
        dev = self.root / f"sys/class/hwmon/hwmon{n}"
        self._write(dev / "name", name + "\n")
        self._write(dev / "temp1_input", f"{round(t_c * 1000)}\n")
        if rh is not None:
            self._write(dev / "humidity1_input", f"{round(rh * 1000)}\n")
        return dev

    def w1(self, serial: str, t_c: float | None, crc_ok: bool = True) -> Path:
        dev = self.root / f"sys/bus/w1/devices/{serial}"
        text = GOOD_W1.format(milli=round((t_c or 0) * 1000)) if crc_ok else BAD_W1
        self._write(dev / "w1_slave", text)
        return dev

    def iio(self, n: int, name: str, t_c: float, rh: float) -> Path:
        dev = self.root / f"sys/bus/iio/devices/iio:device{n}"
        self._write(dev / "name", name + "\n")
        self._write(dev / "in_temp_input", f"{round(t_c * 1000)}\n")
        self._write(dev / "in_humidityrelative_input", f"{round(rh * 1000)}\n")
        return dev


@pytest.fixture
def sysfs(tmp_path) -> SysfsTree:
    root = tmp_path / "root"
    root.mkdir()
    return SysfsTree(root)


@pytest.fixture
def fake_usb():
    """The pyusb backend that speaks the TEMPer protocol (shared with the driver tests)."""
    name = "sohoa_tests_fake_temper_usb"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "drivers" / "sensors" / "fake_temper_usb.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


class Clock:
    """A settable clock for the service (time is data here, not a wait)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(1_767_225_600.0)
