"""Reset a hung USB scanner through libusb (pyusb), so SANE can open it again.

A scanner that stops answering mid-job often needs a USB port reset
(USBDEVFS_RESET): the same thing as unplugging it, without walking to it. The
device is found by the bus and address that SANE's USB backends put in their
device names, or by vendor and product id.

Close the SANE handle before resetting: the reset invalidates it. After a reset
the kernel may enumerate the device again under a new address (libusb answers
``LIBUSB_ERROR_NOT_FOUND``); the SANE name then changes too, so the caller lists
SANE devices again rather than reopening the old name.
"""

from __future__ import annotations

import errno
import re
from dataclasses import dataclass

import usb.core
import usb.util

# libusb_error codes that pyusb passes through as ``backend_error_code``.
_LIBUSB_ERROR_ACCESS = -3
_LIBUSB_ERROR_NO_DEVICE = -4
_LIBUSB_ERROR_NOT_FOUND = -5

# "fujitsu:libusb:001:004", "epson2:libusb:002:003", "epkowa:interpreter:001:004"
_BUS_ADDRESS = re.compile(r":(?:libusb|interpreter|usb):(\d{1,3}):(\d{1,3})(?:$|[:?])")
# "pixma:04A91912_3EBCC9": vendor and product id, then the serial number.
_PIXMA = re.compile(r"^pixma:([0-9A-Fa-f]{4})([0-9A-Fa-f]{4})(?:_|$)")


class UsbResetError(Exception):
    """A USB reset could not be done; ``code`` is a stable machine name."""

    code = "usb_reset_failed"


class UsbDeviceNotFound(UsbResetError):
    """No USB device matches (unplugged, or the name carries no USB location)."""

    code = "usb_not_found"


@dataclass(frozen=True)
class UsbTarget:
    """Which USB device to reset: a bus/address, a vendor/product id, or both."""

    bus: int | None = None
    address: int | None = None
    vendor_id: int | None = None
    product_id: int | None = None

    def matches(self, dev: usb.core.Device) -> bool:
        """True if ``dev`` has every field this target sets."""
        pairs = ((self.bus, dev.bus), (self.address, dev.address),
                 (self.vendor_id, dev.idVendor), (self.product_id, dev.idProduct))
        return all(want is None or want == got for want, got in pairs)

    def __str__(self) -> str:
        parts = []
        if self.bus is not None:
            parts.append(f"bus {self.bus:03d} address {self.address:03d}")
        if self.vendor_id is not None:
            parts.append(f"id {self.vendor_id:04x}:{self.product_id:04x}")
        return ", ".join(parts) or "any device"


@dataclass(frozen=True)
class ResetResult:
    """What was reset and where it is now.

    ``reenumerated`` is True when the device came back under a new address (its
    SANE name changed); ``bus``/``address`` then give the new place, or None if
    it has not shown up yet.
    """

    vendor_id: int
    product_id: int
    bus: int | None
    address: int | None
    reenumerated: bool


def parse_sane_device(name: str) -> UsbTarget:
    """Read the USB location out of a SANE device name.

    Parameters
    ----------
    name : str
        E.g. ``fujitsu:libusb:001:004`` (bus 1, address 4) or
        ``pixma:04A91912_3EBCC9`` (vendor 04a9, product 1912).

    Returns
    -------
    UsbTarget

    Raises
    ------
    UsbDeviceNotFound
        If the name carries no local USB location (network scanners such as
        ``escl:https://...``, ``net:`` devices of another host, or backends with
        their own numbering).
    """
    if name.startswith("net:"):
        # saned on another host: the bus/address in the name are that host's.
        raise UsbDeviceNotFound(f"SANE device {name!r} is on another host")
    m = _BUS_ADDRESS.search(name)
    if m:
        return UsbTarget(bus=int(m.group(1)), address=int(m.group(2)))
    m = _PIXMA.match(name)
    if m:
        return UsbTarget(vendor_id=int(m.group(1), 16), product_id=int(m.group(2), 16))
    raise UsbDeviceNotFound(f"SANE device {name!r} carries no USB bus/address or id")


def _find(target: UsbTarget, backend: object | None) -> usb.core.Device | None:
    try:
        return usb.core.find(backend=backend, custom_match=target.matches)
    except usb.core.NoBackendError as exc:
        raise UsbResetError("libusb is not available (install libusb-1.0-0)") from exc
    except usb.core.USBError as exc:
        raise UsbResetError(f"cannot list USB devices: {exc}") from exc


def reset_usb_device(target: str | UsbTarget, *, backend: object | None = None) -> ResetResult:
    """Reset one USB device.

    Parameters
    ----------
    target : str or UsbTarget
        A SANE device name (see :func:`parse_sane_device`) or a target.
    backend : usb.backend.IBackend, optional
        The pyusb backend; None lets pyusb pick libusb.

    Returns
    -------
    ResetResult

    Raises
    ------
    UsbDeviceNotFound
        If no device matches, or it vanished during the reset and did not come back.
    UsbResetError
        If the reset failed (permission denied, I/O error, no libusb).
    """
    if isinstance(target, str):
        target = parse_sane_device(target)
    dev = _find(target, backend)
    if dev is None:
        raise UsbDeviceNotFound(f"no USB device at {target}")
    vendor_id, product_id = dev.idVendor, dev.idProduct
    try:
        dev.reset()
    except usb.core.USBError as exc:
        gone = exc.backend_error_code in (_LIBUSB_ERROR_NOT_FOUND, _LIBUSB_ERROR_NO_DEVICE) or exc.errno in (
            errno.ENOENT, errno.ENODEV)
        if exc.backend_error_code == _LIBUSB_ERROR_ACCESS or exc.errno == errno.EACCES:
            raise UsbResetError(
                f"permission denied resetting {target}; is the device in group 'scanner' "
                f"(systemd/60-sohoa-scanner.rules)?") from exc
        if not gone:
            raise UsbResetError(f"reset of {target} failed: {exc}") from exc
        # libusb's way of saying the device re-enumerated; look for it by id.
        again = _find(UsbTarget(vendor_id=vendor_id, product_id=product_id), backend)
        if again is None:
            raise UsbDeviceNotFound(f"{target} vanished during the reset") from exc
        return ResetResult(vendor_id, product_id, again.bus, again.address, reenumerated=True)
    finally:
        usb.util.dispose_resources(dev)
    return ResetResult(vendor_id, product_id, dev.bus, dev.address, reenumerated=False)


def reset_sane_device(name: str, *, backend: object | None = None) -> ResetResult:
    """Reset the USB device behind a SANE device name; see :func:`reset_usb_device`.

    Raises
    ------
    UsbDeviceNotFound
        If the name carries no local USB location or no device is there.
    UsbResetError
        If the reset failed.
    """
    return reset_usb_device(parse_sane_device(name), backend=backend)
