"""One log format for the station (`sohoa run`) and the central receiver (`sohoa-central serve`).

One line per event: ``level logger: message`` followed by the job, page and batch
ids the event carries. Under systemd, when the stream is the journal's (the
``JOURNAL_STREAM`` variable names its device and inode, see systemd.exec(5)),
each line starts with its syslog priority as ``<N>`` (sd-daemon(3)), so
``journalctl -p warning`` finds the faults, and the time is left to journald.
Elsewhere (a terminal, a file, a pipe) each line starts with the local time.
A traceback or a message of several lines is folded into one line: journald keeps
one entry per line, and a fault must be one entry with its priority.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TextIO

# Python level -> syslog priority (sd-daemon.h: SD_CRIT 2 ... SD_DEBUG 7).
PRIORITIES = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))
DEBUG_PRIORITY = 7
IDS = ("job_id", "page_id", "batch_id")


def priority(levelno: int) -> int:
    """The syslog priority of a Python log level (a custom level between two takes the lower one's)."""
    for level, prio in PRIORITIES:
        if levelno >= level:
            return prio
    return DEBUG_PRIORITY


def is_journal(stream: TextIO) -> bool:
    """True when *stream* is the journal stream systemd connected (``JOURNAL_STREAM=dev:inode``)."""
    value = os.environ.get("JOURNAL_STREAM", "")
    dev, _, ino = value.partition(":")
    if not (dev.isdigit() and ino.isdigit()):
        return False
    try:
        st = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):  # not a file descriptor (io.StringIO, closed)
        return False
    return (st.st_dev, st.st_ino) == (int(dev), int(ino))


class EventFormatter(logging.Formatter):
    """``[<N>|time] level logger: message ids`` on one line; *journal* picks the prefix."""

    def __init__(self, journal: bool):
        super().__init__()
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        ids = "".join(f" {k}={getattr(record, k)}" for k in IDS if getattr(record, k, None) is not None)
        line = f"{record.levelname.lower():7s} {record.name}: {record.getMessage()}{ids}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        line = " | ".join(part for part in line.splitlines() if part.strip()) or line
        if self.journal:
            return f"<{priority(record.levelno)}>{line}"
        return f"{self.formatTime(record, '%Y-%m-%d %H:%M:%S')} {line}"


def setup_logging(level: str = "info", stream: TextIO | None = None) -> logging.Handler:
    """Send every log record to *stream* (stdout by default) in the shared format; returns the handler."""
    stream = stream or sys.stdout
    handler = logging.StreamHandler(stream)
    handler.setFormatter(EventFormatter(journal=is_journal(stream)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    return handler
