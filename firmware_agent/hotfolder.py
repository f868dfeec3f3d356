"""A watched folder that network copiers "scan to"; see docs/design.md section 3.

A file is taken only once its size, mtime and inode stayed the same across two
looks at least ``settle_s`` apart, so a half-written file is never consumed.
Copiers write in bursts with pauses, and a file that has gone quiet fires no
more inotify events, so the folder is re-listed on a timer; watchdog's events
only wake the timer early.

Taking a file moves it into ``.processing/``, hands it to ``on_file`` and moves
it into ``.done/`` (or ``.rejected/`` with a reason file when ``on_file``
raises). A name in ``.done/`` is never looked at again, also across restarts.
The hot folder deletes an original only when the records stage asks it to
(:meth:`HotFolder.remove_taken`): once a page of it belongs to a secret record
file whose encrypted package is staged (design H3, §6.6).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from firmware_agent.messages import CATALOGUE
from sync.fsutil import fsync_dir, write_atomic

log = logging.getLogger(__name__)

PROCESSING = ".processing"
DONE = ".done"
REJECTED = ".rejected"
REASON_SUFFIX = ".reason.txt"
REASON_VERSION = "1"
IGNORED_PREFIXES = (".", "~$")
IGNORED_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".filepart", "~")
# Some copiers create an empty file first and fill it after a pause.
EMPTY_FILE_FACTOR = 10
# A file that was being read in when the agent died this many times is rejected, not retried.
MAX_TRIES = 3


class RetryLater(Exception):
    """Raised by ``on_file`` to keep the file for a later try (e.g. the disk is full)."""


def is_ignored(name: str) -> bool:
    """True for hidden and temporary names that copiers and file managers use."""
    lowered = name.lower()
    return name.startswith(IGNORED_PREFIXES) or lowered.endswith(IGNORED_SUFFIXES)


def format_reason(name: str, vi: str, en: str, when: datetime) -> str:
    """The text of a reason file (version 1)."""
    lines = [f"sohoa-reject {REASON_VERSION}", f"file: {name}",
             f"time: {when.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}",
             f"vi: {' '.join(vi.split())}", f"en: {' '.join(en.split())}"]
    return "\n".join(lines) + "\n"


def parse_reason(text: str) -> dict[str, str]:
    """Read a reason file back into its fields.

    Raises
    ------
    ValueError
        If the first line is not ``sohoa-reject 1`` or a line has no ``: ``.
    """
    lines = text.splitlines()
    if not lines or lines[0] != f"sohoa-reject {REASON_VERSION}":
        raise ValueError("not a version 1 sohoa reject reason")
    fields = {}
    for line in lines[1:]:
        key, sep, value = line.partition(": ")
        if not sep:
            raise ValueError(f"malformed reason line: {line!r}")
        fields[key] = value
    return fields


def _stem_suffix(name: str) -> tuple[str, str]:
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        return name, ""
    return stem, suffix


def _unique(folder: Path, name: str) -> Path:
    """``folder/name``, or ``folder/stem.N.suffix`` with the first free N."""
    candidate = folder / name
    stem, suffix = _stem_suffix(name)
    n = 1
    while candidate.exists() or candidate.with_name(candidate.name + REASON_SUFFIX).exists():
        candidate = folder / (f"{stem}.{n}.{suffix}" if suffix else f"{stem}.{n}")
        n += 1
    return candidate


def _copies(folder: Path, name: str) -> list[Path]:
    """Files in *folder* named *name* or, with the counter :func:`_unique` adds, ``stem.N.suffix``."""
    stem, suffix = _stem_suffix(name)
    counted = re.compile(re.escape(stem) + r"\.[0-9]+" + (re.escape("." + suffix) if suffix else ""))
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return []
    return [Path(e.path) for e in entries
            if (e.name == name or counted.fullmatch(e.name)) and e.is_file(follow_symlinks=False)]


def _sha256_starts(path: Path, prefix: str) -> bool:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except FileNotFoundError:
        return False
    return h.hexdigest().startswith(prefix)


def job_original(source: str) -> tuple[str, str] | None:
    """``(name, sha256 prefix)`` of the original behind a hot-folder job's source, else None.

    The intake names a hot-folder job ``hotfolder:{name}#{first 16 hex digits of SHA-256}``
    (``firmware_agent.triggers.HotFolderIntake``); a scanner job gives None.
    """
    if not source.startswith("hotfolder:"):
        return None
    name, sep, digest = source[len("hotfolder:"):].rpartition("#")
    if not sep or not name or not re.fullmatch(r"[0-9a-f]{8,64}", digest):
        return None
    return name, digest


@dataclass
class _Seen:
    signature: tuple[int, int, int]
    since: float


class _Wake(FileSystemEventHandler):
    def __init__(self, event: threading.Event) -> None:
        self._event = event

    def on_any_event(self, event: FileSystemEvent) -> None:
        self._event.set()


class HotFolder:
    """Takes settled files from a folder and hands them to ``on_file``.

    Parameters
    ----------
    path : Path
        The watched folder; created if missing.
    settle_s : float
        How long size, mtime and inode must stay unchanged before a file is taken.
    on_file : callable
        Called with the file's path (inside ``.processing/``, original name) in
        the hot folder's thread. Must be idempotent per file: after a crash a
        file may be offered again. Raising :class:`RetryLater` keeps the file
        for another try after ``retry_s``; raising anything else rejects it
        with the exception's message (``vi``/``en`` attributes when present).
    poll_s : float, optional
        Re-listing period; default a quarter of ``settle_s`` within 0.05..1 s.
    retry_s : float
        Delay before a file is offered again after :class:`RetryLater`.
    on_tick : callable, optional
        Called after every pass of the thread (e.g. a watchdog heartbeat).
    """

    def __init__(self, path: Path, settle_s: float, on_file: Callable[[Path], None], *,
                 poll_s: float | None = None, retry_s: float = 30.0,
                 on_tick: Callable[[], None] | None = None) -> None:
        if settle_s < 0:
            raise ValueError(f"settle_s must be >= 0, got {settle_s}")
        self.path = Path(path)
        self.settle_s = float(settle_s)
        self.poll_s = poll_s if poll_s is not None else min(1.0, max(0.05, settle_s / 4))
        self.retry_s = retry_s
        self._on_file = on_file
        self._on_tick = on_tick
        self._seen: dict[str, _Seen] = {}
        self._retry_at: dict[str, float] = {}
        self._pass_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._observer: Observer | None = None

    @property
    def processing_dir(self) -> Path:
        return self.path / PROCESSING

    @property
    def done_dir(self) -> Path:
        return self.path / DONE

    @property
    def rejected_dir(self) -> Path:
        return self.path / REJECTED

    def _ensure_dirs(self) -> None:
        for folder in (self.path, self.processing_dir, self.done_dir, self.rejected_dir):
            folder.mkdir(parents=True, exist_ok=True)

    def remove_taken(self, name: str, sha256_prefix: str) -> bool:
        """Delete every taken-in copy of an original that a secret record file came from (H3).

        A copy is a file in ``.done/`` or ``.rejected/`` named *name* (or *name*
        with a counter) whose SHA-256 starts with *sha256_prefix*; a rejected
        copy's reason file goes with it. Safe to call from any thread.

        Returns
        -------
        bool
            True when no copy is left; False while one still waits in
            ``.processing/``, which is never deleted under a running hand-over:
            call again once the hot folder has moved it on.

        Raises
        ------
        OSError
            If a copy cannot be deleted (e.g. permissions).
        """
        if "/" in name or name in ("", ".", "..") or not sha256_prefix:
            return True
        prefix = sha256_prefix.lower()
        # .processing/ first: a copy moved on from there meanwhile is then found in .done/.
        waiting = any(_sha256_starts(p, prefix) for p in _copies(self.processing_dir, name))
        removed = 0
        for folder in (self.done_dir, self.rejected_dir):
            gone = [p for p in _copies(folder, name) if _sha256_starts(p, prefix)]
            for path in gone:
                path.unlink(missing_ok=True)
                path.with_name(path.name + REASON_SUFFIX).unlink(missing_ok=True)
            if gone:
                fsync_dir(folder)
                removed += len(gone)
        if removed:
            log.info("hot folder: %d copies of %s deleted (secret record file packaged)", removed, name)
        return not waiting

    # ----------------------------------------------------------------- thread

    def start(self) -> None:
        """Create the folders and start watching (watchdog events plus a timer).

        Raises
        ------
        OSError
            If the folders cannot be created.
        """
        if self._thread is not None:
            return
        self._ensure_dirs()
        self._stop.clear()
        try:
            observer = Observer()
            observer.schedule(_Wake(self._wake), str(self.path), recursive=False)
            observer.start()
            self._observer = observer
        except OSError as exc:
            # e.g. the inotify watch limit: the timer alone still finds every file.
            log.warning("hot folder %s: no file events (%s); polling only", self.path, exc)
            self._observer = None
        self._thread = threading.Thread(target=self._run, name="hotfolder", daemon=True)
        self._thread.start()
        log.info("hot folder %s watched (settle %.1f s)", self.path, self.settle_s)

    def stop(self, timeout: float | None = None) -> None:
        """Stop watching; waits for a file being handed over to finish."""
        self._stop.set()
        self._wake.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout)
            self._observer = None
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        min_gap = self.poll_s / 4
        last_error = ""
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.scan_once()
                last_error = ""
            except Exception as exc:  # a bad pass must not end intake for good
                # Logged once per distinct error, not on every tick of a lasting problem.
                if repr(exc) != last_error:
                    log.exception("hot folder %s: pass failed", self.path)
                    last_error = repr(exc)
            if self._on_tick is not None:
                self._on_tick()
            # Bursts of write events must not turn into a busy loop of listings.
            self._stop.wait(max(0.0, min_gap - (time.monotonic() - started)))
            self._wake.wait(self.poll_s)
            self._wake.clear()

    # ----------------------------------------------------------------- passes

    def scan_once(self) -> list[Path]:
        """One pass: offer leftovers and settled files; note new and changed ones.

        Call it once at start to pick up files that arrived while the agent was
        down (they are taken on a later pass, once seen to be settled); the
        thread started by :meth:`start` calls it on every tick.

        Returns
        -------
        list of Path
            Where the files handled in this pass ended (in ``.done/`` or
            ``.rejected/``).
        """
        with self._pass_lock:
            self._ensure_dirs()
            handled = self._offer_leftovers()
            now = time.monotonic()
            present = set()
            for entry in sorted(os.scandir(self.path), key=lambda e: e.name):
                if is_ignored(entry.name) or not entry.is_file(follow_symlinks=False):
                    continue
                present.add(entry.name)
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                signature = (st.st_size, st.st_mtime_ns, st.st_ino)
                seen = self._seen.get(entry.name)
                if seen is None or seen.signature != signature:
                    self._seen[entry.name] = _Seen(signature, now)
                    continue
                needed = self.settle_s * (EMPTY_FILE_FACTOR if st.st_size == 0 else 1)
                if now - seen.since < needed:
                    continue
                del self._seen[entry.name]
                present.discard(entry.name)
                claimed = self._claim(Path(entry.path))
                if claimed is not None:
                    handled.extend(self._offer(claimed))
            for name in set(self._seen) - present:
                del self._seen[name]
            return handled

    def _offer_leftovers(self) -> list[Path]:
        handled: list[Path] = []
        now = time.monotonic()
        for entry in sorted(os.scandir(self.processing_dir), key=lambda e: e.name):
            if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
                continue
            if self._retry_at.get(entry.name, 0.0) > now:
                continue
            handled.extend(self._offer(Path(entry.path)))
        return handled

    def _claim(self, src: Path) -> Path | None:
        dest = _unique(self.processing_dir, src.name)
        try:
            os.rename(src, dest)
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("hot folder: cannot claim %s: %s", src, exc)
            return None
        fsync_dir(self.processing_dir)
        return dest

    def _tries_file(self, claimed: Path) -> Path:
        return claimed.with_name(f".{claimed.name}.tries")

    def _offer(self, claimed: Path) -> list[Path]:
        tries_file = self._tries_file(claimed)
        try:
            tries = int(tries_file.read_text() or 0)
        except (FileNotFoundError, ValueError):
            tries = 0
        if tries >= MAX_TRIES:
            crashed = CATALOGUE["intake.crashed_reading"].format(tries=tries)
            return [self._finish(claimed, self.rejected_dir, (crashed.vi, crashed.en))]
        # Counted before the hand-over, so a file that kills the process is given up after MAX_TRIES.
        tries_file.write_text(str(tries + 1))
        self._retry_at.pop(claimed.name, None)
        try:
            self._on_file(claimed)
        except RetryLater as exc:
            tries_file.write_text(str(tries))
            self._retry_at[claimed.name] = time.monotonic() + self.retry_s
            log.warning("hot folder: %s kept for a later try: %s", claimed.name, exc)
            return []
        except Exception as exc:
            vi = getattr(exc, "vi", None) or CATALOGUE["intake.not_taken"].vi
            en = getattr(exc, "en", None) or f"{CATALOGUE['intake.not_taken'].en}: {type(exc).__name__}: {exc}"
            log.warning("hot folder: %s rejected: %s", claimed.name, en)
            return [self._finish(claimed, self.rejected_dir, (vi, en))]
        return [self._finish(claimed, self.done_dir, None)]

    def _finish(self, claimed: Path, folder: Path, reason: tuple[str, str] | None) -> Path:
        dest = _unique(folder, claimed.name)
        if reason is not None:
            # The reason is written first, so a rejected file never sits without one.
            text = format_reason(claimed.name, reason[0], reason[1], datetime.now(timezone.utc))
            write_atomic(dest.with_name(dest.name + REASON_SUFFIX), text.encode("utf-8"), sync_dir=False)
        os.rename(claimed, dest)
        fsync_dir(folder)
        fsync_dir(self.processing_dir)
        self._tries_file(claimed).unlink(missing_ok=True)
        log.info("hot folder: %s -> %s", claimed.name, dest.relative_to(self.path))
        return dest
