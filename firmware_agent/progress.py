"""A one-line progress bar for long commands, drawn only on a terminal.

On a terminal the bar redraws itself in place (carriage return) on stderr; when
stderr is a pipe, a file or the journal it draws nothing at all, so logs and
scripts see only the command's own lines.
"""

from __future__ import annotations

import shutil
import sys
from typing import TextIO


class Progress:
    """``with Progress(total, label) as bar: bar.step(name)`` after each item."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None, *, force: bool | None = None):
        self.total, self.label, self.done = total, label, 0
        self.stream = stream or sys.stderr
        self.active = force if force is not None else _is_terminal(self.stream)

    def __enter__(self) -> Progress:
        self._draw("")
        return self

    def step(self, name: str = "") -> None:
        self.done += 1
        self._draw(name)

    def note(self, line: str) -> None:
        """A line of its own (an error) above the bar, which is drawn again below it."""
        if self.active:
            self.stream.write("\r\033[K")
        self.stream.write(line + "\n")
        self._draw("")

    def __exit__(self, *_exc) -> None:
        if self.active:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def _draw(self, name: str) -> None:
        if not self.active:
            return
        width = shutil.get_terminal_size((80, 24)).columns
        count = f" {self.done}/{self.total} "
        bar_w = max(10, min(30, width // 3))
        filled = bar_w * self.done // self.total if self.total else bar_w
        text = f"{self.label} [{'#' * filled}{'.' * (bar_w - filled)}]{count}{name}"
        self.stream.write("\r\033[K" + text[:max(1, width - 1)])
        self.stream.flush()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
