"""The receiver's durable state in SQLite (the one-box default, design 5.12)."""

from __future__ import annotations

import errno
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from central import migrate
from central.state_sql import ENROLL_REFUSALS_KEPT, Device, SqlState

__all__ = ["ENROLL_REFUSALS_KEPT", "Device", "ReceiverState", "storage_full"]

_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_SQLITE_FULL, _SQLITE_IOERR = 13, 10


def storage_full(exc: BaseException) -> bool:
    """True for a write refused for lack of room: a file's ``ENOSPC``/``EDQUOT``/``EFBIG``, or
    SQLite's ``SQLITE_FULL``/``SQLITE_IOERR`` (its journal or shared-memory file could not grow)."""
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return code is not None and (code & 0xFF) in (_SQLITE_FULL, _SQLITE_IOERR)
    return isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS


class ReceiverState(SqlState):
    """One connection to one file, shared by the event loop and the store's threads under a lock.

    Opening the file applies its missing migrations: the file belongs to this
    one receiver (design 5.12).
    """

    duplicate_errors = (sqlite3.IntegrityError,)

    backend = "sqlite"

    def __init__(self, path: Path, *, migrate_now: bool = True):
        self.path = Path(path)
        self.db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")  # a receipt must never outlive its row
        self.db.execute("PRAGMA busy_timeout=30000")
        self.lock = threading.RLock()
        if migrate_now:
            self.migrate()

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            yield self.db

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self._rollback()
                raise
            try:
                self.db.execute("COMMIT")
            except BaseException:
                self._rollback()  # a COMMIT refused (disk full) may leave the transaction open
                raise

    def _rollback(self) -> None:
        # SQLite rolls back by itself after some errors (SQLITE_FULL, SQLITE_IOERR);
        # a ROLLBACK then would fail and hide the error that matters.
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    # -------------------------------------------------------------- schema
    def schema_version(self) -> int:
        with self.lock:
            self.db.execute(migrate.CREATE_TABLE)
            return self.db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]

    def migrate(self) -> list[int]:
        """Apply the missing migrations; returns the versions applied."""
        applied = []
        with self.lock:
            self.schema_version()  # creates schema_migrations
            have = {r[0] for r in self.db.execute("SELECT version FROM schema_migrations")}
            for m in migrate.migrations("sqlite"):
                if m.version in have:
                    continue
                try:
                    # executescript commits first and runs statements as given: the transaction is in the script.
                    self.db.executescript("BEGIN IMMEDIATE;\n" + m.sql + "\n;" +
                                          f"INSERT INTO schema_migrations VALUES ({m.version}, '{m.name}', "
                                          f"{migrate.now()});\nCOMMIT;")
                except BaseException:
                    self._rollback()
                    raise
                applied.append(m.version)
        return applied
