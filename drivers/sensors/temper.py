"""TEMPer-class USB HID thermometers / hygrometers, spoken to through pyusb.

Protocol (docs/design.md §7.2, DOMAIN §5): write the 8-byte firmware query,
collect 8-byte input reports until a short timeout and read the ASCII firmware
name; it decides how the data reply is decoded. The data query's reply holds
big-endian int16 fields at offsets 2/4 (internal T/RH) and 10/12 (external
T/RH); ``0x4e20`` marks an absent sensor.

Every pyusb error is turned into :class:`SensorUnavailable` or
:class:`BadReading`; nothing from ``usb`` escapes this module.
"""

from __future__ import annotations

import errno
import struct
import threading
import time
from dataclasses import dataclass

import usb.core
import usb.util

from drivers.sensors.base import BadReading, Reading, SensorUnavailable, checked

USB_IDS = ((0x0C45, 0x7401), (0x0C45, 0x7402), (0x413D, 0x2107), (0x1A86, 0xE025))
FIRMWARE_QUERY = bytes.fromhex("0186ff0100000000")
DATA_QUERY = bytes.fromhex("0180330100000000")
NO_SENSOR = 0x4E20
REPORT_SIZE = 8
# libusb's LIBUSB_ERROR_NO_DEVICE; pyusb keeps it in backend_error_code.
_LIBUSB_NO_DEVICE = -4
_LIBUSB_BUSY = -6
_UNPLUGGED_ERRNOS = {errno.ENODEV, errno.ENXIO, errno.ESHUTDOWN}


@dataclass(frozen=True)
class Family:
    """How one firmware family encodes its reply."""

    prefix: str
    divisor: float  # 0 = raw SHT20 words
    humidity: bool


# Longest prefixes first so that "TEMPer1F_H1" is not taken for "TEMPer1F".
FAMILIES = (
    Family("TEMPer1F_H1V1.5F", 0, True),
    Family("TEMPer2_M12_V1.3", 256, False),
    Family("TEMPerHUM_V3.9", 100, True),
    Family("TEMPerGold_V3", 100, False),
    Family("TEMPerX_V3", 100, True),
    Family("TEMPer2_V3", 100, False),
    Family("TEMPerF1.2", 256, False),
    Family("TEMPerF1.4", 256, False),
    Family("TEMPer1F1", 256, False),
)


def family_for(firmware: str) -> Family | None:
    """The decoding family for a firmware name, or None when unknown."""
    for family in FAMILIES:
        if firmware.startswith(family.prefix):
            return family
    return None


def decode(family: Family, reply: bytes) -> dict[str, float | None]:
    """Decode a data reply into ``{'t_int', 'rh_int', 't_ext', 'rh_ext'}``.

    A field is None when the reply is too short for it, when it holds
    ``0x4e20``, or (humidity) when the family has no humidity sensor.

    Raises
    ------
    BadReading
        ``garbage`` when the reply is shorter than one report.
    """
    if len(reply) < REPORT_SIZE:
        raise BadReading("garbage", f"reply of {len(reply)} bytes")
    out: dict[str, float | None] = {}
    for name, offset, is_rh in (("t_int", 2, False), ("rh_int", 4, True),
                                ("t_ext", 10, False), ("rh_ext", 12, True)):
        if offset + 2 > len(reply) or (is_rh and not family.humidity):
            out[name] = None
            continue
        word = struct.unpack_from(">H", reply, offset)[0]
        if word == NO_SENSOR:
            out[name] = None
        elif family.divisor == 0:
            # SHT20 raw: the device sends the 16-bit word shifted right by 2 (T)
            # or 4 (RH); the datasheet formulas take the full word.
            out[name] = (-6.0 + 125.0 * (word << 4) / 65536.0 if is_rh
                         else -46.85 + 175.72 * (word << 2) / 65536.0)
        else:
            out[name] = struct.unpack_from(">h", reply, offset)[0] / family.divisor
    return out


def _translate(exc: usb.core.USBError, what: str) -> Exception:
    code = getattr(exc, "backend_error_code", None)
    if exc.errno in _UNPLUGGED_ERRNOS or code == _LIBUSB_NO_DEVICE:
        return SensorUnavailable("unplugged", what)
    if exc.errno == errno.EBUSY or code == _LIBUSB_BUSY:
        return SensorUnavailable("busy", what)
    return SensorUnavailable("io", f"{what}: {exc.strerror or exc}")


class TemperDevice:
    """One opened TEMPer unit; shared by its internal and external channels.

    Parameters
    ----------
    dev : usb.core.Device
        As returned by :func:`usb.core.find`.
    timeout_ms : int
        Time allowed for the first report of a reply.
    tail_timeout_ms : int
        Time allowed for each further report (the firmware name and 16-byte
        replies come in several reports; the end is seen as a timeout).
    """

    def __init__(self, dev: usb.core.Device, *, timeout_ms: int = 1000, tail_timeout_ms: int = 200) -> None:
        self.dev = dev
        self.timeout_ms = timeout_ms
        self.tail_timeout_ms = tail_timeout_ms
        self.lock = threading.Lock()
        ports = getattr(dev, "port_numbers", None)
        path = ".".join(str(p) for p in ports) if ports else f"a{dev.address}"
        self.base_id = f"usb-{dev.bus}-{path}"
        self.firmware = ""
        self.family: Family | None = None
        self._intf = 0
        self._ep_in = 0
        self._ep_out: int | None = None
        self._detached = False
        self._open = False

    # ---------------------------------------------------------------- setup

    def open(self) -> str:
        """Claim the HID interface and read the firmware name; returns it.

        Raises
        ------
        SensorUnavailable
            USB errors (unplugged, busy, I/O).
        BadReading
            ``garbage`` for a non-ASCII name, ``firmware`` for an unknown one.
        """
        try:
            self._claim()
        except usb.core.USBError as exc:
            raise _translate(exc, "claim") from None
        self._open = True
        raw = self._query(FIRMWARE_QUERY, max_reports=4)
        try:
            name = raw.replace(b"\x00", b" ").decode("ascii").strip()
        except UnicodeDecodeError:
            raise BadReading("garbage", f"firmware bytes {raw[:16].hex()}") from None
        if not name or not name.isprintable():
            raise BadReading("garbage", f"firmware {name!r}")
        self.firmware = name
        self.family = family_for(name)
        if self.family is None:
            raise BadReading("firmware", f"unknown firmware {name!r}")
        return name

    def _claim(self) -> None:
        try:
            cfg = self.dev.get_active_configuration()
        except usb.core.USBError:
            self.dev.set_configuration()
            cfg = self.dev.get_active_configuration()
        numbers = sorted({i.bInterfaceNumber for i in cfg})
        # Interface 0 of two-interface units is a keyboard that types readings.
        self._intf = 1 if 1 in numbers else numbers[0]
        intf = usb.util.find_descriptor(cfg, bInterfaceNumber=self._intf)
        try:
            if self.dev.is_kernel_driver_active(self._intf):
                self.dev.detach_kernel_driver(self._intf)
                self._detached = True
        except (NotImplementedError, usb.core.USBError):
            pass  # not supported on this platform/backend; claiming may still work
        usb.util.claim_interface(self.dev, self._intf)
        for ep in intf:
            if usb.util.endpoint_type(ep.bmAttributes) != usb.util.ENDPOINT_TYPE_INTR:
                continue
            if usb.util.endpoint_direction(ep.bEndpointAddress) == usb.util.ENDPOINT_IN:
                self._ep_in = ep.bEndpointAddress
            else:
                self._ep_out = ep.bEndpointAddress
        if not self._ep_in:
            raise BadReading("garbage", "no interrupt IN endpoint")

    # ---------------------------------------------------------------- I/O

    def _query(self, command: bytes, max_reports: int) -> bytes:
        try:
            if self._ep_out is not None:
                self.dev.write(self._ep_out, command, self.timeout_ms)
            else:
                # HID SET_REPORT (output report 0) on the control pipe.
                self.dev.ctrl_transfer(0x21, 0x09, 0x0200, self._intf, command, self.timeout_ms)
            data = bytearray()
            for i in range(max_reports):
                try:
                    chunk = self.dev.read(self._ep_in, REPORT_SIZE,
                                          self.timeout_ms if i == 0 else self.tail_timeout_ms)
                except usb.core.USBTimeoutError:
                    if i == 0:
                        raise SensorUnavailable("io", "no reply") from None
                    break
                data += bytes(chunk)
            return bytes(data)
        except usb.core.USBError as exc:
            raise _translate(exc, "query") from None

    def read_all(self) -> dict[str, float | None]:
        """One data query, decoded (see :func:`decode`)."""
        with self.lock:
            if not self._open:
                self.open()
            reply = self._query(DATA_QUERY, max_reports=2)
            family = self.family
        if family is None:
            raise BadReading("firmware", f"unknown firmware {self.firmware!r}")
        return decode(family, reply)

    def close(self) -> None:
        """Release the interface and give it back to the kernel driver."""
        with self.lock:
            if not self._open:
                return
            self._open = False
            try:
                usb.util.release_interface(self.dev, self._intf)
                if self._detached:
                    self.dev.attach_kernel_driver(self._intf)
            except (usb.core.USBError, NotImplementedError):
                pass  # the device may be gone already
            usb.util.dispose_resources(self.dev)


class TemperSensor:
    """One channel (``int`` or ``ext``) of a :class:`TemperDevice`."""

    kind = "usb"

    def __init__(self, device: TemperDevice, channel: str) -> None:
        if channel not in ("int", "ext"):
            raise ValueError(f"channel must be 'int' or 'ext', got {channel!r}")
        self.device = device
        self.channel = channel

    @property
    def sensor_id(self) -> str:
        return self.device.base_id + ("-ext" if self.channel == "ext" else "")

    @property
    def description(self) -> str:
        where = "probe" if self.channel == "ext" else "internal"
        return f"USB {self.device.firmware or 'TEMPer'} ({where})"

    def read(self) -> Reading:
        at = time.time()
        values = self.device.read_all()
        t_c = values[f"t_{self.channel}"]
        if t_c is None:
            raise BadReading("no_probe", "0x4e20")
        return checked(self.sensor_id, t_c, values[f"rh_{self.channel}"], at)

    def close(self) -> None:
        if self.channel == "int":
            self.device.close()


def find_devices(backend=None) -> list[usb.core.Device]:
    """Every attached TEMPer-class device (by vendor/product id)."""
    try:
        found = usb.core.find(find_all=True, backend=backend,
                              custom_match=lambda d: (d.idVendor, d.idProduct) in USB_IDS)
        return sorted(found, key=lambda d: (d.bus or 0, tuple(d.port_numbers or ()), d.address or 0))
    except (usb.core.NoBackendError, usb.core.USBError):
        return []  # no libusb on this machine, or no permission to enumerate
