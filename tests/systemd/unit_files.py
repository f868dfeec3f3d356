"""Reading systemd unit files in the tests: sections of (key, value) pairs, repeated keys kept in order."""

from __future__ import annotations


def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    """A unit file as section -> [(key, value)], keeping repeated keys in order."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        key, sep, value = line.partition("=")
        assert sep and current is not None, f"not a key=value line: {raw!r}"
        current.append((key.strip(), value.strip()))
    return sections


def values(unit, section: str, key: str) -> list[str]:
    return [v for k, v in unit[section] if k == key]


def one(unit, section: str, key: str) -> str:
    found = values(unit, section, key)
    assert len(found) == 1, f"{section}.{key}: expected one value, got {found}"
    return found[0]
