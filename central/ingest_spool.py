"""The ingest worker's spool folder (design 5.13, "Spool and memory"): where members and PDFs wait as files.

Each worker owns ``w-<random>/`` under the spool root and holds an exclusive
``flock`` on its ``.lock`` for as long as the process lives; the kernel drops
it however the process ends. At start a worker removes every sibling whose
lock it can take (what a killed worker left), never a live worker's folder.
Each job works in ``job-<log_idx>/``, removed whole when the step ends. A folder is made
under ``.new-…`` and renamed to ``w-…`` once locked, so a sweep never sees one unlocked.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Iterator

log = logging.getLogger("sohoa.ingest")


def default_root() -> Path:
    """The spool root of a worker made without one: in the system's temporary folder, one per user."""
    return Path(tempfile.gettempdir()) / f"sohoa-ingest-spool-{os.getuid()}"


class Spool:
    """This worker's folder under *root*, locked while it lives; stale siblings swept on creation."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.swept = sweep(self.root)
        name = f"w-{secrets.token_hex(8)}"
        # made under a name the sweep ignores and renamed once locked, so no sweep sees it unlocked
        new = self.root / f".new-{name}"
        new.mkdir(mode=0o700)
        self._lock = os.open(new / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.dir = self.root / name
        os.rename(new, self.dir)
        # a worker dropped without close() still gives its folder and lock back
        self._finalizer = weakref.finalize(self, _release, self.dir, self._lock)

    @contextlib.contextmanager
    def job(self, log_idx: int) -> Iterator[Path]:
        """A fresh, empty folder for one job, removed with all it holds when the block ends, however."""
        folder = self.dir / f"job-{log_idx}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(mode=0o700)
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        """Remove this worker's folder and release its lock."""
        self._finalizer()


def _release(folder: Path, lock: int) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    os.close(lock)


def sweep(root: Path) -> int:
    """Remove every worker folder under *root* whose lock is free (its worker is gone); how many went."""
    n = 0
    for folder in sorted(Path(root).glob("w-*")):
        if not folder.is_dir():
            continue
        try:
            fd = os.open(folder / ".lock", os.O_RDWR | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live worker's
            shutil.rmtree(folder, ignore_errors=True)
            n += 1
        finally:
            os.close(fd)
    if n:
        log.info("ingest spool: removed %d folder(s) left by stopped workers under %s", n, root)
    return n
