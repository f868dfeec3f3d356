"""Small helpers for reading sysfs attribute files."""

from __future__ import annotations

from pathlib import Path

from drivers.sensors.base import BadReading, SensorUnavailable


def read_text(path: Path) -> str:
    """Read a sysfs attribute; a vanished file or I/O error means unavailable."""
    try:
        return path.read_text(encoding="ascii", errors="replace").strip()
    except FileNotFoundError:
        raise SensorUnavailable("missing", str(path)) from None
    except OSError as exc:
        # EIO/ETIMEDOUT are what a disconnected bus device returns on read.
        raise SensorUnavailable("io", f"{path}: {exc.strerror or exc}") from None


def read_number(path: Path) -> float:
    """Read a sysfs attribute holding one number (int or decimal)."""
    text = read_text(path)
    try:
        return float(text)
    except ValueError:
        raise BadReading("garbage", f"{path}: {text[:40]!r}") from None
