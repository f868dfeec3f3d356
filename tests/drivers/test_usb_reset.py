"""USB reset through pyusb, with a backend double standing in for the USB bus."""

from __future__ import annotations

import usb.backend
import usb.core
import pytest

from drivers.usb_reset import (ResetResult, UsbDeviceNotFound, UsbResetError, UsbTarget, parse_sane_device,
                               reset_sane_device, reset_usb_device)


class FakeDescriptor:
    """The fields pyusb reads from a backend's device descriptor."""

    def __init__(self, bus, address, vid, pid):
        self.bLength, self.bDescriptorType, self.bcdUSB = 18, 1, 0x0200
        self.bDeviceClass = self.bDeviceSubClass = self.bDeviceProtocol = 0
        self.bMaxPacketSize0 = 64
        self.idVendor, self.idProduct, self.bcdDevice = vid, pid, 0x0100
        self.iManufacturer, self.iProduct, self.iSerialNumber = 1, 2, 3
        self.bNumConfigurations = 1
        self.bus, self.address = bus, address
        self.port_number, self.port_numbers, self.speed = 1, (1,), 3


class FakeBus(usb.backend.IBackend):
    """A USB bus with a few devices; records opens, resets and closes.

    ``fail`` maps (bus, address) to (libusb error code, errno) raised by reset;
    ``reenumerate`` maps (bus, address) to the new address the device takes.
    """

    def __init__(self, devices):
        self.devices = [FakeDescriptor(*d) for d in devices]
        self.calls = []
        self.fail = {}
        self.reenumerate = {}

    def enumerate_devices(self):
        return iter(list(self.devices))

    def get_device_descriptor(self, dev):
        return dev

    def open_device(self, dev):
        self.calls.append(("open", dev.bus, dev.address))
        return dev

    def close_device(self, handle):
        self.calls.append(("close", handle.bus, handle.address))

    def reset_device(self, handle):
        key = (handle.bus, handle.address)
        self.calls.append(("reset",) + key)
        if key in self.reenumerate:
            handle.address = self.reenumerate[key]
            raise usb.core.USBError("Entity not found", -5, 2)
        if key in self.fail:
            code, err = self.fail[key]
            raise usb.core.USBError("fake failure", code, err)


@pytest.fixture
def bus():
    return FakeBus([(1, 2, 0x1D6B, 0x0002), (1, 4, 0x04C5, 0x132B), (2, 3, 0x04B8, 0x0151), (1, 9, 0x04A9, 0x1912)])


@pytest.mark.parametrize("name,target", [
    ("fujitsu:libusb:001:004", UsbTarget(bus=1, address=4)),
    ("epson2:libusb:002:003", UsbTarget(bus=2, address=3)),
    ("genesys:libusb:001:005", UsbTarget(bus=1, address=5)),
    ("epkowa:interpreter:003:012", UsbTarget(bus=3, address=12)),
    ("pixma:04A91912_3EBCC9", UsbTarget(vendor_id=0x04A9, product_id=0x1912)),
])
def test_parse_sane_names(name, target):
    assert parse_sane_device(name) == target


@pytest.mark.parametrize("name", ["escl:https://192.168.1.20:443", "test:0", "airscan:e0:Canon MF", "net:10.0.0.5:fujitsu:libusb:001:004"])
def test_names_without_usb_location_are_refused(name):
    with pytest.raises(UsbDeviceNotFound):
        parse_sane_device(name)


def test_reset_by_sane_name_resets_that_device_only(bus):
    result = reset_usb_device("fujitsu:libusb:001:004", backend=bus)
    assert result == ResetResult(0x04C5, 0x132B, 1, 4, reenumerated=False)
    assert [c for c in bus.calls if c[0] == "reset"] == [("reset", 1, 4)]
    # The handle is closed again afterwards.
    assert ("close", 1, 4) in bus.calls


def test_reset_sane_device_is_the_same_by_name(bus):
    assert reset_sane_device("epson2:libusb:002:003", backend=bus).address == 3
    with pytest.raises(UsbDeviceNotFound):
        reset_sane_device("escl:http://10.0.0.9", backend=bus)


def test_reset_by_vendor_and_product(bus):
    result = reset_usb_device(UsbTarget(vendor_id=0x04B8, product_id=0x0151), backend=bus)
    assert (result.bus, result.address) == (2, 3)
    assert ("reset", 2, 3) in bus.calls


def test_unknown_device_is_not_found(bus):
    with pytest.raises(UsbDeviceNotFound, match="001 address 007"):
        reset_usb_device("fujitsu:libusb:001:007", backend=bus)
    assert not [c for c in bus.calls if c[0] == "reset"]


def test_reenumerated_device_is_found_again(bus):
    bus.reenumerate[(1, 9)] = 10
    result = reset_usb_device("pixma:04A91912_3EBCC9", backend=bus)
    assert result.reenumerated and (result.bus, result.address) == (1, 10)


def test_device_that_vanishes_during_reset(bus):
    bus.reenumerate[(1, 4)] = 11
    original = bus.reset_device

    def reset_and_unplug(handle):
        bus.devices = [d for d in bus.devices if d.idVendor != 0x04C5]
        original(handle)

    bus.reset_device = reset_and_unplug
    with pytest.raises(UsbDeviceNotFound, match="vanished"):
        reset_usb_device("fujitsu:libusb:001:004", backend=bus)


def test_permission_denied_names_the_udev_rule(bus):
    bus.fail[(1, 4)] = (-3, 13)
    with pytest.raises(UsbResetError, match="scanner") as info:
        reset_usb_device("fujitsu:libusb:001:004", backend=bus)
    assert not isinstance(info.value, UsbDeviceNotFound)
    assert ("close", 1, 4) in bus.calls


def test_io_error_is_a_reset_error(bus):
    bus.fail[(2, 3)] = (-1, 5)
    with pytest.raises(UsbResetError, match="failed") as info:
        reset_usb_device("epson2:libusb:002:003", backend=bus)
    assert info.value.code == "usb_reset_failed"


def test_real_libusb_finds_no_such_bus():
    # Bus 255 never exists; with libusb present the answer is "not found",
    # without it a clear error, never a raw pyusb exception.
    with pytest.raises(UsbResetError):
        reset_usb_device("fujitsu:libusb:255:255")
