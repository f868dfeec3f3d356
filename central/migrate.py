"""Versioned schema migrations of the receiver's state (design 5.12).

``migrations/<backend>/NNNN_name.sql``, the same numbers and meaning for every
backend, applied in order, each in its own transaction, and recorded in
``schema_migrations``. :func:`pending` tells a node whether it may serve.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from central.messages import CATALOGUE

HERE = Path(__file__).resolve().parent / "migrations"
_NAME = re.compile(r"([0-9]{4})_([a-z0-9_]+)\.sql")

CREATE_TABLE = ("CREATE TABLE IF NOT EXISTS schema_migrations(version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                "applied_at DOUBLE PRECISION NOT NULL)")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(backend: str) -> list[Migration]:
    """The migrations of *backend* ("sqlite" or "postgresql"), in order; numbered from 1 without gaps.

    Without gaps, so a database at version N has every migration up to N: a schema
    version alone says what a database holds.
    """
    found = []
    for p in sorted((HERE / backend).glob("*.sql")):
        m = _NAME.fullmatch(p.name)
        if m is None:
            raise RuntimeError(f"{p}: a migration is named NNNN_name.sql")
        found.append(Migration(int(m.group(1)), m.group(2), p.read_text(encoding="utf-8")))
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"{HERE / backend}: migrations must be numbered 1, 2, ... without gaps")
    return found


def latest(backend: str) -> int:
    found = migrations(backend)
    return found[-1].version if found else 0


class SchemaTooOld(RuntimeError):
    """The database is behind the code (run ``sohoa-central migrate``), or ahead of it (a newer release)."""

    def __init__(self, have: int, need: int):
        self.have, self.need = have, need
        msg = CATALOGUE["migrate.schema_behind"] if have < need else CATALOGUE["migrate.schema_ahead"]
        text = msg.format(have=have, need=need).text
        super().__init__(text)


def check(have: int, backend: str) -> None:
    need = latest(backend)
    if have != need:
        raise SchemaTooOld(have, need)


def record_sql() -> str:
    return "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?,?,?)"


def now() -> float:
    return time.time()
