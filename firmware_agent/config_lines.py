"""Where a dotted config key is written in a TOML file, so every problem names its line.

``tomllib`` gives values without positions; this reads the text once, following
table headers (``[a.b]``, ``[[a.b]]`` counted per name as the loader indexes them)
and ``key =`` lines, and maps each dotted key to the line of its first mention.
A key inside an inline table or a multi-line value is found at its parent's line.
"""

from __future__ import annotations

import re

_AOT = re.compile(r"\s*\[\[\s*([^\]]+?)\s*\]\]")
_TABLE = re.compile(r"\s*\[\s*([^\]\[]+?)\s*\]")
_KEY = re.compile(r"""\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=""")
_PART = re.compile(r"""[A-Za-z0-9_-]+|"([^"]*)"|'([^']*)'""")


def _dotted(text: str) -> str:
    return ".".join(m.group(1) if m.group(1) is not None else m.group(2) if m.group(2) is not None else m.group(0)
                    for m in _PART.finditer(text))


def key_lines(text: str) -> dict[str, int]:
    """Dotted key (arrays of tables as ``name[i]``) -> 1-based line number of its first mention."""
    lines: dict[str, int] = {}
    table = ""
    counts: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if m := _AOT.match(line):
            name = _dotted(m.group(1))
            table = f"{name}[{counts.get(name, 0)}]"
            counts[name] = counts.get(name, 0) + 1
            lines.setdefault(table, number)
        elif m := _TABLE.match(line):
            table = _dotted(m.group(1))
            lines.setdefault(table, number)
        elif m := _KEY.match(line):
            key = _dotted(m.group(1))
            lines.setdefault(f"{table}.{key}" if table else key, number)
    return lines


def line_of(key: str, lines: dict[str, int]) -> int | None:
    """The line of *key*, or of its nearest written parent; None when nothing of it is in the file."""
    while key:
        if key in lines:
            return lines[key]
        cut = max(key.rfind("."), key.rfind("["))
        key = key[:cut] if cut > 0 else ""
    return None
