"""Logging to stdout (journald under systemd): one line per event, with job and page ids."""

from __future__ import annotations

import logging
import os
import sys


class _EventFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ids = "".join(f" {k}={getattr(record, k)}" for k in ("job_id", "page_id", "batch_id")
                      if getattr(record, k, None) is not None)
        line = f"{record.levelname.lower():7s} {record.name}: {record.getMessage()}{ids}"
        if record.exc_info:
            # journald keeps one entry per line; fold the traceback into one event
            line += " | " + self.formatException(record.exc_info).replace("\n", " | ")
        if "INVOCATION_ID" not in os.environ:  # journald stamps time itself
            line = f"{self.formatTime(record, '%Y-%m-%d %H:%M:%S')} {line}"
        return line


def setup_logging(level: str = "info", stream=None) -> None:
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(_EventFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
