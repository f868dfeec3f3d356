"""What every settings section is made of: ``setting()`` and ``ConfigError``.

Kept apart from ``config.py`` so that a subsystem's settings module (next to its
code) can declare its fields without importing the loader that composes them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import field
from typing import Any


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the key.

    ``problems`` holds one ``"dotted.key: what is wrong"`` string per problem, and
    ``lines`` the line of each in the file (None where the key is not written there).
    """

    def __init__(self, message: str, *, problems: list[str] | None = None, lines: list[int | None] | None = None):
        super().__init__(message)
        self.problems = list(problems) if problems is not None else [message]
        self.lines = list(lines) if lines is not None else [None] * len(self.problems)


def setting(default: Any = dataclasses.MISSING, *, doc: str, factory: Any = None,
            choices: tuple | None = None, minimum: float | None = None,
            maximum: float | None = None) -> Any:
    """Declare a config field with its documentation and simple constraints."""
    meta = {"doc": doc, "choices": choices, "min": minimum, "max": maximum}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)
