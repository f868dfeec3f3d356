"""The Scanner interface over SANE (python-sane).

Every call here blocks; the agent runs one thread per device. SANE reports
failures as a status whose text is fixed by libsane's ``sane_strstatus``;
python-sane hands that text over, so we map it back to our errors by text.
"""

from __future__ import annotations

import ctypes
import functools
import re
import time

import numpy as np

from drivers.scanner import (AccessDenied, ButtonInfo, Capabilities, CoverOpen, DeviceBusy, DeviceIOError,
                             DeviceUnavailable, FeederEmpty, InvalidSetting, OutOfMemory, PaperJam,
                             ScanCancelled, ScannedImage, ScannerError, ScanSettings)

# sane_strstatus() texts (sane-backends sanei/sanei_init_debug.c: sane_strstatus).
_STATUS_TEXT = {
    "Operation not supported": InvalidSetting,
    "Operation was cancelled": ScanCancelled,
    "Operation was canceled": ScanCancelled,
    "Device busy": DeviceBusy,
    "Invalid argument": InvalidSetting,
    "Document feeder jammed": PaperJam,
    "Document feeder out of documents": FeederEmpty,
    "Scanner cover is open": CoverOpen,
    "Error during device I/O": DeviceIOError,
    "Out of memory": OutOfMemory,
    "Access to resource has been denied": AccessDenied,
}

# SANE option types and capabilities (sane/sane.h).
TYPE_BOOL, TYPE_INT, TYPE_FIXED, TYPE_STRING, TYPE_BUTTON, TYPE_GROUP = range(6)
CAP_SOFT_SELECT, CAP_HARD_SELECT, CAP_SOFT_DETECT, CAP_INACTIVE = 1, 2, 4, 32

# Time a frame's reader thread gets between sane_start and a cancel; see SaneScanner._cancel_quietly.
CANCEL_SETTLE_S = 0.25
_LIBUSB_NAME = re.compile(r"libusb:(\d{3}):(\d{3})")


@functools.cache
def _sane():
    """Import and initialise libsane once per process (sane_init is not re-entrant)."""
    import sane

    _load_thread_unwinder()
    _serve_frames_from_mmap()
    sane.init()
    return sane


# glibc's M_MMAP_THRESHOLD parameter number (malloc.h) and the threshold we fix.
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_BYTES = 128 * 1024


def _serve_frames_from_mmap() -> None:
    """Keep large heap blocks out of the arena, so a cancelled reader cannot hold its lock.

    SANE's reader threads (sanei_thread) are cancelled asynchronously. A cancel that lands
    inside free() of a backend's frame buffer leaves the heap arena's lock taken, and every
    later allocation in the process waits for ever: pytest's timeout cannot even fire. A
    block served by mmap is freed by munmap without that lock. glibc starts with a 128 KiB
    threshold but raises it after the first large free (up to 32 MiB), which moves frame
    buffers back into the arena; setting it fixes it. Measured with a stress of 200
    test-backend frames beside an allocating thread, three processes at a time: 1 hang in
    90 runs as glibc ships, none in 117 with the threshold fixed.
    """
    try:
        ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)
    except (OSError, AttributeError):
        pass  # not glibc (no mallopt): nothing to tune


def _load_thread_unwinder() -> None:
    """Have glibc load its stack unwinder (libgcc_s) now, on a thread of our own.

    glibc loads libgcc_s, under the dynamic loader's lock, the first time a thread ends
    through pthread_exit or is cancelled. SANE's reader threads end that way and are
    cancelled asynchronously: if that first load runs in a reader thread as sane_cancel
    strikes it, the locks the load held (the loader's, the heap's) stay taken, and
    sane_cancel or the process's exit waits for ever (seen with the test backend: about 1
    in 50 jams cancelled under load). A thread that starts straight in pthread_exit makes
    the load happen here, where nothing cancels it.
    """
    import ctypes

    libc = ctypes.CDLL(None)
    thread = ctypes.c_ulong()
    start = ctypes.cast(libc.pthread_exit, ctypes.c_void_p)  # void *(*)(void *), as pthread_create wants
    if libc.pthread_create(ctypes.byref(thread), None, start, None) == 0:
        libc.pthread_join(thread, None)


def map_sane_error(exc: BaseException) -> ScannerError:
    """Turn a python-sane exception into one of our driver errors."""
    text = str(exc).strip()
    cls = _STATUS_TEXT.get(text)
    if cls is None:
        if "no data" in text.lower():
            return DeviceIOError(f"scanner returned no data ({text})")
        return ScannerError(text or type(exc).__name__)
    return cls(text)


def usb_address(name: str) -> tuple[int, int] | None:
    """(bus, address) when a SANE device name carries them (``libusb:BBB:AAA``), for a USB reset."""
    m = _LIBUSB_NAME.search(name)
    return (int(m.group(1)), int(m.group(2))) if m else None


def list_devices() -> list[dict]:
    """Devices SANE can see: name, vendor, model, type."""
    sane = _sane()
    try:
        devices = sane.get_devices()
    except Exception as exc:  # libsane error -> driver error
        raise map_sane_error(exc) from None
    return [{"name": d[0], "vendor": d[1], "model": d[2], "type": d[3]} for d in devices]


def classify_source(text: str) -> str | None:
    """Map a backend's source string to 'flatbed', 'adf' or 'duplex'."""
    t = text.lower()
    if "duplex" in t:
        return "duplex"
    if "adf" in t or "feeder" in t or "adf front" in t:
        return "adf"
    if "flatbed" in t or "normal" == t:
        return "flatbed"
    return None


def classify_mode(text: str) -> str | None:
    t = text.lower()
    if "colo" in t:
        return "color"
    if "gray" in t or "grey" in t:
        return "gray"
    if "lineart" in t or "binary" in t or "halftone" in t:
        return "lineart"
    return None


class SaneScanner:
    """One open SANE device. Not thread-safe: use it from one thread only."""

    def __init__(self, name: str):
        self.name = name
        sane = _sane()
        try:
            self._dev = sane.open(name)
        except Exception as exc:
            err = map_sane_error(exc)
            if isinstance(err, (InvalidSetting, DeviceIOError)) or type(err) is ScannerError:
                # libsane answers an unknown or vanished device with "Invalid argument"
                raise DeviceUnavailable(f"cannot open {name}: {exc}") from None
            raise err from None
        self._info = next((d for d in list_devices() if d["name"] == name),
                          {"name": name, "vendor": "", "model": "", "type": ""})
        self._settings: ScanSettings | None = None
        self._duplex_back = False
        self._buttons: frozenset[str] | None = None
        self._started_at: float | None = None  # monotonic time of the last successful sane_start

    # ------------------------------------------------------------------ description
    def _options(self) -> list[tuple]:
        return self._dev.dev.get_options()

    def _opt(self, name: str):
        return self._dev.opt.get(name.replace("-", "_"))

    def capabilities(self) -> Capabilities:
        sources, modes, depths = (), (), (8,)
        res: tuple[int, ...] = (300,)
        res_range = False
        src = self._opt("source")
        if src is not None and isinstance(src.constraint, list):
            sources = tuple(dict.fromkeys(s for s in map(classify_source, src.constraint) if s))
        elif src is None:
            sources = ("flatbed",)
        mode = self._opt("mode")
        if mode is not None and isinstance(mode.constraint, list):
            modes = tuple(dict.fromkeys(m for m in map(classify_mode, mode.constraint) if m))
        depth = self._opt("depth")
        if depth is not None and isinstance(depth.constraint, list):
            depths = tuple(int(d) for d in depth.constraint)
        resolution = self._opt("resolution")
        if resolution is not None:
            c = resolution.constraint
            if isinstance(c, tuple):
                res, res_range = (int(c[0]), int(c[1])), True
            elif isinstance(c, list):
                res = tuple(int(r) for r in c)
        max_w = max_h = None
        brx, bry = self._opt("br-x"), self._opt("br-y")
        if brx is not None and isinstance(brx.constraint, tuple):
            max_w = float(brx.constraint[1])
        if bry is not None and isinstance(bry.constraint, tuple):
            max_h = float(bry.constraint[1])
        return Capabilities(
            name=self.name, vendor=self._info["vendor"], model=self._info["model"], kind=self._info["type"],
            sources=sources, modes=modes, resolutions=res, resolution_is_range=res_range, depths=depths,
            buttons=tuple(self._button_infos()), max_width_mm=max_w, max_height_mm=max_h)

    def _button_infos(self) -> list[ButtonInfo]:
        """Options a user sets by hand at the device and we can read: SANE's button convention."""
        out, group = [], ""
        kinds = {TYPE_BOOL: "bool", TYPE_INT: "int", TYPE_BUTTON: "button"}
        for index, name, title, _desc, otype, _unit, _size, cap, _constraint in self._options():
            if otype == TYPE_GROUP:
                group = (title or "").lower()
                continue
            if otype not in kinds or not name:
                continue
            hard = bool(cap & CAP_HARD_SELECT) and bool(cap & CAP_SOFT_DETECT)
            if hard or (group == "sensors" and cap & CAP_SOFT_DETECT):
                out.append(ButtonInfo(name=name, title=title or name, kind=kinds[otype]))
        return out

    # ------------------------------------------------------------------ settings
    def configure(self, settings: ScanSettings) -> None:
        try:
            self._configure(settings)
        except ScannerError:
            raise
        except Exception as exc:
            raise map_sane_error(exc) from None
        self._settings = settings

    def _configure(self, s: ScanSettings) -> None:
        src = self._opt("source")
        if src is not None and isinstance(src.constraint, list):
            choice = next((c for c in src.constraint if classify_source(c) == s.source), None)
            if choice is None:
                raise InvalidSetting(f"{self.name} has no source {s.source!r} (offers {src.constraint})")
            self._set("source", choice)
        elif s.source != "flatbed":
            raise InvalidSetting(f"{self.name} has no document feeder")
        mode = self._opt("mode")
        if mode is not None and isinstance(mode.constraint, list):
            choice = next((c for c in mode.constraint if classify_mode(c) == s.mode), None)
            if choice is None:
                raise InvalidSetting(f"{self.name} has no mode {s.mode!r} (offers {mode.constraint})")
            self._set("mode", choice)
        depth = self._opt("depth")
        if depth is not None and isinstance(depth.constraint, list) and s.depth in depth.constraint:
            self._set("depth", s.depth)
        resolution = self._opt("resolution")
        if resolution is not None:
            self._set("resolution", _nearest_resolution(s.resolution, resolution.constraint))
        for opt_name, value in (("tl-x", 0.0), ("tl-y", 0.0), ("br-x", s.width_mm), ("br-y", s.height_mm)):
            opt = self._opt(opt_name)
            # geometry is inactive on some devices/modes (hand-scanner, fixed-size feeders)
            if opt is not None and opt.is_active() and isinstance(opt.constraint, tuple):
                self._set(opt_name, min(max(value, opt.constraint[0]), opt.constraint[1]))
        for opt_name, value in s.extra.items():
            if self._opt(opt_name) is None:
                raise InvalidSetting(f"{self.name} has no option {opt_name!r}")
            self._set(opt_name, value)

    def _set(self, name: str, value) -> None:
        setattr(self._dev, name.replace("-", "_"), value)

    def set_option(self, name: str, value) -> None:
        """Set one backend option by its SANE name (tests, odd devices)."""
        try:
            self._set(name, value)
        except Exception as exc:
            raise map_sane_error(exc) from None

    # ------------------------------------------------------------------ scanning
    def scan_one(self, first: bool) -> ScannedImage:
        if self._settings is None:
            raise InvalidSetting("configure() must come before scan_one()")
        if first:
            self._duplex_back = False
        try:
            self._dev.start()
            self._started_at = time.monotonic()
            depth = int(self._dev.get_parameters()[3])
            # allow16bitsamples=True: python-sane's own 16->8 bit path reads half lines (2.9.2),
            # so take the 16-bit samples and reduce them here.
            data, width, _height, samples, sample_size = self._dev.dev.snap(True, True, None)
        except Exception as exc:
            # No sane_cancel here: the caller records the fault first and then calls
            # end_batch(), because sane_cancel itself can hang in a faulty driver (see
            # _load_thread_unwinder for one way it did).
            raise map_sane_error(exc) from None
        if not data:
            raise DeviceIOError("scanner returned no data")
        pixels = _to_uint8(bytes(data), width, samples, sample_size)
        side = "back" if self._duplex_back else "front"
        if self._settings.source == "duplex":
            self._duplex_back = not self._duplex_back
        if self._settings.source == "flatbed":
            self._cancel_quietly()  # a flatbed scan is one frame; release the head
        dpi = int(round(float(getattr(self._dev, "resolution", self._settings.resolution))))
        return ScannedImage(pixels=pixels, dpi=dpi, side=side, source_depth=depth)

    def end_batch(self) -> None:
        self._cancel_quietly()

    def _cancel_quietly(self) -> None:
        # Backends built on sanei_thread start a reader thread in sane_start and cancel it
        # asynchronously. A cancel that lands while the reader is inside malloc or free (its
        # first allocation, which also sets up a heap for the thread, or its last free) leaves
        # that heap locked, and sane_cancel waits for ever on the thread. Seen with the test
        # backend when a fault is reported at once: about 1 in 500 cancels under load, even
        # with _load_thread_unwinder. By CANCEL_SETTLE_S after the start the reader is past its
        # first allocation, and it is either blocked on a full pipe (a safe place to be
        # cancelled) or has finished the frame and ended (nothing left to cancel).
        self._settle()
        try:
            self._dev.dev.cancel()
        except Exception:  # cancel after an error may itself fail; the device is reset on reopen
            pass

    # ------------------------------------------------------------------ buttons
    def read_buttons(self) -> dict[str, int]:
        """Read each button option exactly once (latching backends clear on read)."""
        values = {}
        for index, name, _t, _d, otype, _u, _s, cap, _c in self._options():
            if otype in (TYPE_BOOL, TYPE_INT, TYPE_BUTTON) and name and not cap & CAP_INACTIVE and (
                    name in self._button_names()):
                try:
                    values[name] = int(self._dev.dev.get_option(index) or 0)
                except Exception as exc:
                    raise map_sane_error(exc) from None
        return values

    def _button_names(self) -> frozenset[str]:
        if self._buttons is None:
            self._buttons = frozenset(b.name for b in self._button_infos())
        return self._buttons

    def add_button(self, name: str) -> None:
        """Treat an extra option as a button (config ``scanner.buttons`` names it)."""
        if self._opt(name) is None:
            raise InvalidSetting(f"{self.name} has no option {name!r}")
        self._buttons = self._button_names() | {name}

    def usb_address(self) -> tuple[int, int] | None:
        """(bus, address) when the SANE name carries them, for a USB reset."""
        return usb_address(self.name)

    def _settle(self) -> None:
        if self._started_at is not None:
            time.sleep(max(0.0, self._started_at + CANCEL_SETTLE_S - time.monotonic()))
            self._started_at = None

    def close(self) -> None:
        self._settle()  # sane_close cancels an open frame too
        try:
            self._dev.close()
        except Exception:  # closing a vanished device fails; nothing left to release
            pass


def _nearest_resolution(want: int, constraint) -> float:
    if isinstance(constraint, tuple):
        lo, hi = constraint[0], constraint[1]
        return float(min(max(want, lo), hi))
    if isinstance(constraint, list) and constraint:
        at_least = [r for r in constraint if r >= want]
        return float(min(at_least) if at_least else max(constraint))
    return float(want)


def _to_uint8(data: bytes, width: int, samples: int, sample_size: int) -> np.ndarray:
    """Raw SANE frame data -> uint8 gray or RGB. 16-bit samples are host order (SANE standard)."""
    if sample_size == 2:
        arr = np.frombuffer(data, dtype=np.uint16)
        rows = arr.size // (width * samples)
        arr = (arr[: rows * width * samples] >> 8).astype(np.uint8)
    else:
        arr = np.frombuffer(data, dtype=np.uint8)
        rows = arr.size // (width * samples)
        arr = arr[: rows * width * samples]
    if rows == 0:
        raise DeviceIOError(f"scanner returned a frame with no complete line ({len(data)} bytes)")
    shape = (rows, width, samples) if samples == 3 else (rows, width)
    return arr.reshape(shape).copy()
