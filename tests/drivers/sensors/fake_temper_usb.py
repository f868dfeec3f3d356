"""A pyusb backend that behaves like TEMPer units on a USB bus.

It implements ``usb.backend.IBackend`` at the level libusb does: descriptors,
interface claiming, kernel-driver attach/detach, interrupt OUT / HID
SET_REPORT queries and 8-byte interrupt IN reports, timeouts, and unplugging.
The driver under test runs unchanged on top of it.
"""

from __future__ import annotations

import errno
import struct
from collections import deque
from dataclasses import dataclass, field
from types import SimpleNamespace

import usb.backend
import usb.core

FIRMWARE_QUERY = bytes.fromhex("0186ff0100000000")
DATA_QUERY = bytes.fromhex("0180330100000000")
NO_SENSOR = 0x4E20


def words_reply(t_int: int, rh_int: int = NO_SENSOR, t_ext: int | None = None,
                rh_ext: int = NO_SENSOR) -> bytes:
    """A data reply as the firmware encodes it (big-endian 16-bit words)."""
    first = struct.pack(">BBHHBB", 0x80, 0x80, t_int & 0xFFFF, rh_int & 0xFFFF, 0, 0)
    if t_ext is None:
        return first
    return first + struct.pack(">BBHHBB", 0x80, 0x01, t_ext & 0xFFFF, rh_ext & 0xFFFF, 0, 0)


@dataclass
class FakeTemper:
    """State and behaviour of one simulated unit."""

    vid: int
    pid: int
    firmware: str | bytes
    reply: bytes
    bus: int = 1
    address: int = 5
    ports: tuple = (1, 2)
    out_endpoint: bool = True           # False: queries go by HID SET_REPORT
    kernel_driver: bool = True          # usbhid holds interface 1 at plug-in
    unplug_after_reports: int | None = None
    plugged: bool = True
    claimed: set = field(default_factory=set)
    queue: deque = field(default_factory=deque)
    reports_sent: int = 0
    queries: list = field(default_factory=list)
    attach_calls: int = 0
    detach_calls: int = 0

    def answer(self, command: bytes) -> None:
        self.queries.append(bytes(command))
        if command == FIRMWARE_QUERY:
            name = self.firmware.encode("ascii") if isinstance(self.firmware, str) else self.firmware
            payload = name.ljust(-(-len(name) // 8) * 8, b"\x00")
        elif command == DATA_QUERY:
            payload = self.reply
        else:
            return  # the firmware ignores unknown commands
        for i in range(0, len(payload), 8):
            self.queue.append(payload[i:i + 8])


def _gone() -> usb.core.USBError:
    return usb.core.USBError("No such device (it may have been disconnected)", -4, errno.ENODEV)


class TemperBackend(usb.backend.IBackend):
    """The bus: a list of :class:`FakeTemper` (plus one unrelated device)."""

    def __init__(self, devices: list[FakeTemper]) -> None:
        self.devices = devices
        self.keyboard = SimpleNamespace(vid=0x046D, pid=0xC31C, bus=1, address=2, ports=(3,), plugged=True)

    # ------------------------------------------------------------ descriptors

    def enumerate_devices(self):
        return [d for d in [self.keyboard, *self.devices] if d.plugged]

    def get_device_descriptor(self, dev):
        return SimpleNamespace(
            bLength=18, bDescriptorType=1, bcdUSB=0x0200, bDeviceClass=0, bDeviceSubClass=0,
            bDeviceProtocol=0, bMaxPacketSize0=8, idVendor=dev.vid, idProduct=dev.pid,
            bcdDevice=0x0001, iManufacturer=0, iProduct=0, iSerialNumber=0, bNumConfigurations=1,
            address=dev.address, bus=dev.bus, port_number=dev.ports[-1], port_numbers=dev.ports,
            speed=2)

    def get_configuration_descriptor(self, dev, config):
        return SimpleNamespace(bLength=9, bDescriptorType=2, wTotalLength=59, bNumInterfaces=2,
                               bConfigurationValue=1, iConfiguration=0, bmAttributes=0xA0,
                               bMaxPower=50, extra_descriptors=[])

    def _endpoints(self, dev, intf):
        if intf == 0:
            return [0x81]
        return [0x82, 0x02] if getattr(dev, "out_endpoint", False) else [0x82]

    def get_interface_descriptor(self, dev, intf, alt, config):
        # pyusb walks interfaces and alternate settings until IndexError.
        if intf not in (0, 1) or alt != 0:
            raise IndexError("no such interface")
        return SimpleNamespace(bLength=9, bDescriptorType=4, bInterfaceNumber=intf, bAlternateSetting=0,
                               bNumEndpoints=len(self._endpoints(dev, intf)), bInterfaceClass=3,
                               bInterfaceSubClass=1 if intf == 0 else 0,
                               bInterfaceProtocol=1 if intf == 0 else 0, iInterface=0,
                               extra_descriptors=[])

    def get_endpoint_descriptor(self, dev, ep, intf, alt, config):
        addr = self._endpoints(dev, intf)[ep]
        return SimpleNamespace(bLength=7, bDescriptorType=5, bEndpointAddress=addr, bmAttributes=3,
                               wMaxPacketSize=8, bInterval=10, bRefresh=0, bSynchAddress=0,
                               extra_descriptors=[])

    # ------------------------------------------------------------ handles

    def open_device(self, dev):
        if not dev.plugged:
            raise _gone()
        return dev

    def close_device(self, dev_handle):
        pass

    def set_configuration(self, dev_handle, config_value):
        pass

    def get_configuration(self, dev_handle):
        if not dev_handle.plugged:
            raise _gone()
        return 1

    def set_interface_altsetting(self, dev_handle, intf, altsetting):
        pass

    def claim_interface(self, dev_handle, intf):
        if not dev_handle.plugged:
            raise _gone()
        if intf == 1 and dev_handle.kernel_driver:
            raise usb.core.USBError("Resource busy", -6, errno.EBUSY)
        dev_handle.claimed.add(intf)

    def release_interface(self, dev_handle, intf):
        dev_handle.claimed.discard(intf)

    def is_kernel_driver_active(self, dev_handle, intf):
        return intf == 1 and dev_handle.kernel_driver

    def detach_kernel_driver(self, dev_handle, intf):
        dev_handle.kernel_driver = False
        dev_handle.detach_calls += 1

    def attach_kernel_driver(self, dev_handle, intf):
        if not dev_handle.plugged:
            raise _gone()
        dev_handle.kernel_driver = True
        dev_handle.attach_calls += 1

    # ------------------------------------------------------------ transfers

    def _check(self, dev, intf):
        if not dev.plugged:
            raise _gone()
        if intf not in dev.claimed:
            raise usb.core.USBError("Interface not claimed", -5, errno.EBUSY)

    def intr_write(self, dev_handle, ep, intf, data, timeout):
        self._check(dev_handle, intf)
        if ep != 0x02 or not dev_handle.out_endpoint:
            raise usb.core.USBError("Pipe error", -9, errno.EPIPE)
        dev_handle.answer(bytes(data))
        return len(data)

    def ctrl_transfer(self, dev_handle, bmRequestType, bRequest, wValue, wIndex, data, timeout):
        if not dev_handle.plugged:
            raise _gone()
        if (bmRequestType, bRequest, wValue) == (0x21, 0x09, 0x0200):
            self._check(dev_handle, wIndex)
            dev_handle.answer(bytes(data))
            return len(data)
        raise usb.core.USBError("Pipe error", -9, errno.EPIPE)

    def intr_read(self, dev_handle, ep, intf, buff, timeout):
        self._check(dev_handle, intf)
        if dev_handle.unplug_after_reports is not None and dev_handle.reports_sent >= dev_handle.unplug_after_reports:
            dev_handle.plugged = False
            raise _gone()
        if not dev_handle.queue:
            raise usb.core.USBTimeoutError("Operation timed out", -7, errno.ETIMEDOUT)
        report = dev_handle.queue.popleft()
        dev_handle.reports_sent += 1
        n = min(len(report), len(buff))
        buff[:n] = type(buff)(buff.typecode, report[:n])
        return n
