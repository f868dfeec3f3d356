"""What every settings section is made of: ``setting()`` and ``ConfigError``.

Kept apart from ``config.py`` so that a subsystem's settings module (next to its
code) can declare its fields without importing the loader that composes them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import field
from typing import Any


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the key."""


def setting(default: Any = dataclasses.MISSING, *, doc: str, factory: Any = None,
            choices: tuple | None = None, minimum: float | None = None,
            maximum: float | None = None) -> Any:
    """Declare a config field with its documentation and simple constraints."""
    meta = {"doc": doc, "choices": choices, "min": minimum, "max": maximum}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)
