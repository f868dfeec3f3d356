"""Status page sessions, kept in memory (docs/design.md §3.1, S1–S4).

The agent is one process, so a dictionary is the store; a restart logs everyone
out. The store is keyed by SHA-256 of the session id, so neither the ids nor a
lookup's timing give a cookie away.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable

OPERATOR = "operator"
TECHNICIAN = "technician"
LEVEL = MappingProxyType({OPERATOR: 1, TECHNICIAN: 2})

# role -> (idle seconds, absolute seconds)
LIFETIME = MappingProxyType({TECHNICIAN: (30 * 60.0, 8 * 3600.0), OPERATOR: (4 * 3600.0, 12 * 3600.0)})


def allows(role: str | None, needed: str) -> bool:
    """True when a session of *role* may do what *needed* may."""
    return LEVEL.get(role or "", 0) >= LEVEL[needed]


@dataclass
class Session:
    role: str
    csrf_token: str
    created: float
    last_used: float
    kiosk: bool = False

    def expires_at(self) -> float:
        idle, absolute = LIFETIME[self.role]
        return min(self.last_used + idle, self.created + absolute)


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


class SessionStore:
    """Sessions by id; ``create``, ``get`` (None once expired), ``touch``, ``end``."""

    MAX_SESSIONS = 1000

    def __init__(self, clock: Callable[[], float]):
        self.clock = clock
        self._sessions: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self, role: str, *, kiosk: bool = False) -> tuple[str, Session]:
        """A new session of *role*; returns ``(id, session)``. The id is only ever given to the client."""
        now = self.clock()
        if len(self._sessions) >= self.MAX_SESSIONS:
            self._make_room(now)
        session_id = secrets.token_urlsafe(32)
        session = Session(role=role, csrf_token=secrets.token_urlsafe(32), created=now, last_used=now, kiosk=kiosk)
        self._sessions[_key(session_id)] = session
        return session_id, session

    def get(self, session_id: str | None) -> Session | None:
        """The live session named by *session_id*; an expired one is removed and None returned."""
        if not session_id:
            return None
        key = _key(session_id)
        session = self._sessions.get(key)
        if session is None:
            return None
        if self.clock() >= session.expires_at():
            del self._sessions[key]
            return None
        return session

    def touch(self, session: Session) -> None:
        """Restart the idle clock (on an allowed state-changing request)."""
        session.last_used = self.clock()

    def end(self, session_id: str | None) -> None:
        if session_id:
            self._sessions.pop(_key(session_id), None)

    def _make_room(self, now: float) -> None:
        for key in [k for k, s in self._sessions.items() if now >= s.expires_at()]:
            del self._sessions[key]
        while len(self._sessions) >= self.MAX_SESSIONS:
            # Kiosk sessions cost nothing to make again (any GET /api/session makes one), so a flood
            # of them must not push out a session someone typed a password for.
            victim = min(self._sessions, key=lambda k: (not self._sessions[k].kiosk, self._sessions[k].last_used))
            del self._sessions[victim]
