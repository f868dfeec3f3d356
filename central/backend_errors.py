"""The one error a backend raises when it cannot be reached (design 5.12): answered 503 with Retry-After."""

from __future__ import annotations


class BackendUnavailable(Exception):
    """*backend* ("state" or "objects") could not be reached; nothing was written that counts."""

    def __init__(self, backend: str, detail: str):
        super().__init__(f"{backend} backend unavailable: {detail}")
        self.backend, self.detail = backend, detail


class Conflict(Exception):
    """The stored state moved under a write (another node's PATCH took the upload): answered 409."""
