"""The scanner interface and its small set of errors.

A driver turns its library's failures into these errors; the agent turns them
into operator states (firmware_agent/operator_states.py). Every call may block:
callers run them in a thread dedicated to the device.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


class ScannerError(Exception):
    """Base of every scanner failure. ``code`` is a stable machine name."""

    code = "scanner_error"


class PaperJam(ScannerError):
    code = "paper_jam"


class CoverOpen(ScannerError):
    code = "cover_open"


class FeederEmpty(ScannerError):
    """No (more) sheets in the feeder; the normal end of a feeder batch."""

    code = "feeder_empty"


class DeviceBusy(ScannerError):
    code = "device_busy"


class DeviceIOError(ScannerError):
    code = "io_error"


class AccessDenied(ScannerError):
    code = "access_denied"


class OutOfMemory(ScannerError):
    code = "no_memory"


class DeviceUnavailable(ScannerError):
    """The device is gone (unplugged, powered off, not found) or stopped answering."""

    code = "unplugged"


class DriverFailed(DeviceUnavailable):
    """The process holding the device's driver ended or stopped answering, and was stopped.

    A kind of unavailable device: the device is opened again in a new driver process.
    """

    code = "driver_failed"


class ScanCancelled(ScannerError):
    code = "cancelled"


class InvalidSetting(ScannerError):
    """The device refused a setting or an operation it does not support."""

    code = "invalid_setting"


@dataclass(frozen=True)
class ScanSettings:
    """What to scan. ``source`` is one of 'adf', 'duplex', 'flatbed'."""

    source: str = "adf"
    mode: str = "color"      # 'color' or 'gray' ('lineart' only for tests of odd devices)
    resolution: int = 300
    depth: int = 8
    width_mm: float = 210.0
    height_mm: float = 297.0
    extra: dict = field(default_factory=dict)  # backend option name -> value (tests, odd devices)


@dataclass(frozen=True)
class ButtonInfo:
    name: str
    title: str
    kind: str                # 'bool', 'int' or 'button'


@dataclass(frozen=True)
class Capabilities:
    name: str
    vendor: str
    model: str
    kind: str
    sources: tuple[str, ...]          # subset of ('flatbed', 'adf', 'duplex')
    modes: tuple[str, ...]
    resolutions: tuple[int, ...]      # (min, max) for a range, else the list
    resolution_is_range: bool
    depths: tuple[int, ...]
    buttons: tuple[ButtonInfo, ...]
    max_width_mm: float | None
    max_height_mm: float | None

    def to_dict(self) -> dict:
        return {
            "name": self.name, "vendor": self.vendor, "model": self.model, "type": self.kind,
            "sources": list(self.sources), "modes": list(self.modes),
            "resolutions": {"min": self.resolutions[0], "max": self.resolutions[-1]} if self.resolution_is_range
            else list(self.resolutions),
            "depths": list(self.depths),
            "buttons": [{"name": b.name, "title": b.title, "type": b.kind} for b in self.buttons],
            "max_width_mm": self.max_width_mm, "max_height_mm": self.max_height_mm,
        }


@dataclass(frozen=True)
class ScannedImage:
    """One side of one sheet. ``pixels`` is uint8 gray (HxW) or RGB (HxWx3)."""

    pixels: np.ndarray
    dpi: int
    side: str = "front"          # 'front' or 'back'
    source_depth: int = 8        # what the device delivered before conversion to 8 bit


class Scanner(Protocol):
    name: str

    def capabilities(self) -> Capabilities: ...

    def configure(self, settings: ScanSettings) -> None: ...

    def scan_one(self, first: bool) -> ScannedImage:
        """Acquire the next image. ``first`` is True for the first sheet of a batch.

        Raises :class:`FeederEmpty` when the feeder has no sheet, another
        :class:`ScannerError` on a fault. After any error the frame is still
        open: the caller records the fault first and then calls
        :meth:`end_batch`, because stopping a frame is itself a call that a
        faulty driver can hang in.
        """

    def end_batch(self) -> None:
        """Tell the device the batch is over (releases the feeder)."""

    def read_buttons(self) -> dict[str, int]:
        """Read every button option once (some devices latch a press until read)."""

    def close(self) -> None: ...
