"""Staff accounts and roles of the central web (design §5.15).

Passwords are scrypt hashes (:mod:`sync.passwords`, the station's parameters).
Checking an unknown name costs one scrypt check too, so the time of a refused
login does not tell which names exist.
"""

from __future__ import annotations

import time
from types import MappingProxyType

from sync.passwords import check_password, hash_password

VIEWER, ARCHIVIST, ADMINISTRATOR = "viewer", "archivist", "administrator"
ROLES = (VIEWER, ARCHIVIST, ADMINISTRATOR)
LEVEL = MappingProxyType({VIEWER: 1, ARCHIVIST: 2, ADMINISTRATOR: 3})
MIN_PASSWORD = 10
# A hash of nothing anyone can type, checked when the name is unknown (equal cost).
_DUMMY_HASH = ("scrypt$16384$8$1$f4481ec5630d41971ff691309d2c6dbf$"
               "74ea505d0ed40a7e2befc3157be519926ec20940c656d5dd5ef507d35fdeaefe")


def allows(role: str | None, needed: str) -> bool:
    """True when *role* may do what *needed* may."""
    return LEVEL.get(role or "", 0) >= LEVEL[needed]


def readable_modes(role: str | None) -> tuple[str, ...]:
    """Modes whose content *role* may read (A03: never 03)."""
    if allows(role, ARCHIVIST):
        return ("01", "02")
    if allows(role, VIEWER):
        return ("01",)
    return ()


def add_user(state, name: str, role: str, password: str, *, now: float | None = None) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"password shorter than {MIN_PASSWORD} characters")
    with state.tx() as db:
        db.execute("INSERT INTO staff_users(name, role, password_hash, disabled, created_at) VALUES (?,?,?,0,?) "
                   "ON CONFLICT(name) DO UPDATE SET role=excluded.role, password_hash=excluded.password_hash, "
                   "disabled=0", (name, role, hash_password(password), time.time() if now is None else now))


def disable_user(state, name: str) -> bool:
    with state.tx() as db:
        return db.execute("UPDATE staff_users SET disabled=1 WHERE name=?", (name,)).rowcount > 0


def users(state) -> list[dict]:
    with state.tx() as db:
        return [dict(r) for r in db.execute("SELECT name, role, disabled, created_at FROM staff_users "
                                            "ORDER BY name").fetchall()]


def check_login(state, name: str, password: str) -> str | None:
    """The role *name* logs in with, or None. Slow (scrypt): call it off the event loop."""
    with state.tx() as db:
        row = db.execute("SELECT role, password_hash, disabled FROM staff_users WHERE name=?", (name,)).fetchone()
    if row is None:
        check_password(password, _DUMMY_HASH)
        return None
    ok = check_password(password, row["password_hash"])
    return row["role"] if ok and not row["disabled"] and row["role"] in ROLES else None
