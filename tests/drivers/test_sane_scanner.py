"""The SANE driver against SANE's real `test` backend through python-sane."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.sane_process import SaneProcess
from drivers.sane_scanner import SaneScanner, classify_mode, classify_source, list_devices
from drivers.scanner import (AccessDenied, CoverOpen, DeviceBusy, DeviceIOError, DeviceUnavailable,
                             FeederEmpty, InvalidSetting, OutOfMemory, PaperJam, ScanCancelled, ScanSettings)

LOW = dict(resolution=50, width_mm=60.0, height_mm=80.0)

# The test backend, as Debian builds it, cancels its reader thread asynchronously, and now and
# then (about once in several hundred cancels under load) that crashes or hangs its process. The
# driver process contains it (design 2.2) and raises DriverFailed; the test then runs once more.
# Only that error is retried: a wrong mapping, image or message fails at once.
pytestmark = pytest.mark.flaky(reruns=1, only_rerun=["DriverFailed"])


@pytest.fixture
def scanner():
    # The driver in a process of its own, as the agent runs it (design 2.2): it is SaneScanner
    # there, and the test backend's rare crash or hang when it cancels its reader thread (see
    # pytestmark above) takes that process, not the pytest worker.
    s = SaneProcess("test:0", scan_s=30.0)  # a test page takes well under a second
    yield s
    s.close()


def scan_all(s: SaneProcess, limit: int = 50) -> list:
    images, first = [], True
    with pytest.raises(FeederEmpty):
        while len(images) < limit:
            images.append(s.scan_one(first))
            first = False
    s.end_batch()
    return images


def test_lists_both_test_devices():
    names = [d["name"] for d in list_devices()]
    assert names[:2] == ["test:0", "test:1"]


def test_capabilities_describe_sources_modes_resolutions_and_buttons(scanner):
    caps = scanner.capabilities()
    assert caps.sources == ("flatbed", "adf")
    assert set(caps.modes) == {"gray", "color"}
    assert caps.resolution_is_range and caps.resolutions == (1, 1200)
    assert caps.depths == (1, 8, 16)
    # SANE's button convention: hard-select + soft-detect options
    assert [b.name for b in caps.buttons] == ["bool-hard-select-soft-detect"]
    assert caps.to_dict()["resolutions"] == {"min": 1, "max": 1200}


def test_feeder_runs_empty_after_ten_sheets_and_refills(scanner):
    scanner.configure(ScanSettings(source="adf", mode="gray", **LOW))
    assert len(scan_all(scanner)) == 10
    assert len(scan_all(scanner)) == 10  # refilled on the next start


@pytest.mark.parametrize("mode,ndim", [("gray", 2), ("color", 3)])
def test_gray_and_colour_at_archival_resolution(scanner, mode, ndim):
    scanner.configure(ScanSettings(source="flatbed", mode=mode, resolution=200, width_mm=50.0, height_mm=40.0))
    image = scanner.scan_one(True)
    assert image.pixels.dtype == np.uint8 and image.pixels.ndim == ndim
    assert image.dpi == 200
    # 50 mm at 200 dpi = 393.7 px; the backend rounds down
    assert abs(image.pixels.shape[1] - 50 / 25.4 * 200) < 2
    assert abs(image.pixels.shape[0] - 40 / 25.4 * 200) < 2


def test_one_bit_lineart_is_expanded_to_gray_bytes(scanner):
    scanner.configure(ScanSettings(source="flatbed", mode="gray", depth=8, extra={"depth": 1, "test-picture": "Grid"},
                                   **LOW))
    image = scanner.scan_one(True)
    assert image.pixels.dtype == np.uint8
    assert set(np.unique(image.pixels)) <= {0, 255}
    assert len(np.unique(image.pixels)) == 2  # the grid has black and white


def test_sixteen_bit_samples_are_reduced_without_doubling_the_height(scanner):
    scanner.configure(ScanSettings(source="flatbed", mode="gray", depth=16, extra={"test-picture": "Solid white"},
                                   **LOW))
    white = scanner.scan_one(True)
    scanner.configure(ScanSettings(source="flatbed", mode="gray", depth=8, extra={"test-picture": "Solid white"},
                                   **LOW))
    eight = scanner.scan_one(True)
    assert white.source_depth == 16 and eight.source_depth == 8
    assert white.pixels.shape == eight.pixels.shape  # python-sane alone would double the height
    assert white.pixels.dtype == np.uint8 and (white.pixels == 255).all()  # 65535 -> 255


def test_hand_scanner_with_unknown_height(scanner):
    scanner.configure(ScanSettings(source="flatbed", mode="gray", extra={"hand-scanner": True}, **LOW))
    image = scanner.scan_one(True)
    assert image.pixels.shape[0] > 0 and image.pixels.shape[1] > 0


def test_three_pass_colour_is_assembled(scanner):
    scanner.configure(ScanSettings(source="flatbed", mode="color", extra={"three-pass": True,
                                                                          "test-picture": "Color pattern"}, **LOW))
    image = scanner.scan_one(True)
    assert image.pixels.ndim == 3 and image.pixels.shape[2] == 3
    # a colour pattern has pixels whose channels differ
    assert (image.pixels[..., 0] != image.pixels[..., 2]).any()


INJECTED = [
    ("SANE_STATUS_JAMMED", PaperJam),
    ("SANE_STATUS_COVER_OPEN", CoverOpen),
    ("SANE_STATUS_NO_DOCS", FeederEmpty),
    ("SANE_STATUS_IO_ERROR", DeviceIOError),
    ("SANE_STATUS_DEVICE_BUSY", DeviceBusy),
    ("SANE_STATUS_ACCESS_DENIED", AccessDenied),
    ("SANE_STATUS_NO_MEM", OutOfMemory),
    ("SANE_STATUS_CANCELLED", ScanCancelled),
    ("SANE_STATUS_INVAL", InvalidSetting),
    ("SANE_STATUS_UNSUPPORTED", InvalidSetting),
    ("SANE_STATUS_EOF", DeviceIOError),
]


@pytest.mark.parametrize("status,error", INJECTED)
def test_every_injected_status_maps_to_its_error_and_the_next_sheet_scans(scanner, status, error):
    scanner.configure(ScanSettings(source="adf", mode="gray", extra={"read-return-value": status}, **LOW))
    with pytest.raises(error):
        scanner.scan_one(True)
    scanner.end_batch()
    scanner.configure(ScanSettings(source="adf", mode="gray", extra={"read-return-value": "Default"}, **LOW))
    assert scanner.scan_one(True).pixels.size > 0


def test_unknown_device_is_unavailable():
    with pytest.raises(DeviceUnavailable):
        SaneScanner("test:7")


def test_refuses_a_source_the_device_lacks(scanner):
    with pytest.raises(InvalidSetting, match="duplex"):
        scanner.configure(ScanSettings(source="duplex"))


def test_buttons_are_read_once_per_poll(scanner):
    assert scanner.read_buttons() == {"bool-hard-select-soft-detect": 0}
    scanner.add_button("bool-soft-select-soft-detect")
    scanner.set_option("bool-soft-select-soft-detect", True)
    assert scanner.read_buttons()["bool-soft-select-soft-detect"] == 1


@pytest.mark.parametrize("text,expected", [("Flatbed", "flatbed"), ("ADF Front", "adf"), ("ADF Duplex", "duplex"),
                                           ("Automatic Document Feeder", "adf"), ("Duplex", "duplex"),
                                           ("Transparency Adapter", None)])
def test_source_names_of_real_backends(text, expected):
    assert classify_source(text) == expected


@pytest.mark.parametrize("text,expected", [("Color", "color"), ("24bit Color", "color"), ("Gray", "gray"),
                                           ("Lineart", "lineart"), ("True Gray", "gray")])
def test_mode_names_of_real_backends(text, expected):
    assert classify_mode(text) == expected
