"""A raw reader over a stream of decrypted chunks, shared by both at-rest formats.

``sync.age.AgeReader`` (batch version 2) and ``sync.at_rest.DecryptingReader``
(version 1) differ in how a chunk is read and authenticated, not in how the
plaintext is handed out; that part lives here once.
"""

from __future__ import annotations

import io


class ChunkedReader(io.RawIOBase):
    """Hands out the plaintext of ``_next_chunk()`` calls.

    A subclass sets ``_buf = b""``, ``_pos = 0`` and ``_done = False`` and implements
    ``_next_chunk()``, which returns the next authenticated chunk's plaintext and sets
    ``_done`` after the last one (raising its own error for anything wrong).
    """

    _buf: bytes
    _pos: int
    _done: bool

    def _next_chunk(self) -> bytes:
        raise NotImplementedError

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        """Up to *size* plaintext bytes, at most to the end of the current chunk.

        A whole chunk is returned as the object the decryption produced,
        without the copies ``RawIOBase.read`` makes through ``readinto``.
        """
        if size is None or size < 0:
            return self.readall()
        while self._pos >= len(self._buf):
            if self._done or size == 0:
                return b""
            self._buf, self._pos = self._next_chunk(), 0
        if self._pos == 0 and len(self._buf) <= size:
            self._pos = len(self._buf)
            return self._buf
        out = self._buf[self._pos:self._pos + size]
        self._pos += len(out)
        return out

    def readinto(self, b) -> int:
        while self._pos >= len(self._buf):
            if self._done:
                return 0
            self._buf, self._pos = self._next_chunk(), 0
        n = min(len(b), len(self._buf) - self._pos)
        b[:n] = memoryview(self._buf)[self._pos:self._pos + n]  # one copy, no slice in between
        self._pos += n
        return n
