"""The receiver's state in PostgreSQL: a psycopg 3 connection pool, advisory locks (design 5.12).

Why psycopg 3 and not asyncpg: the receiver's state calls are synchronous,
made from the event loop (short queries) and from the store's worker threads
(the S3 bookkeeping), the same DB-API shape as the SQLite backend, so both
run the same queries (:mod:`central.state_sql`); psycopg 3 has a maintained
pool (``psycopg_pool``), binary wheels and libpq's connection options
(timeouts, TCP keepalives). asyncpg is asynchronous only and would have split
the receiver's code in two.

Every error that means "the database cannot be reached" (refused, lost,
shutting down, in recovery, no free connection in time) becomes
:class:`central.backend_errors.BackendUnavailable`; after one, the next
second's calls fail at once instead of waiting on the connection timeout
(design 5.12, "When a backend is down").
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import psycopg
import psycopg_pool
from psycopg.rows import dict_row

from central import migrate
from central.backend_errors import BackendUnavailable
from central.state_sql import LOCK_LOG, LOCK_MIGRATE, SqlState

log = logging.getLogger("sohoa.receiver")
HOLD_OFF_S = 1.0
# libpq's TCP keepalives: a lock held by a node whose host vanished is released within ~25 s (L1).
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}
_UNREACHABLE = (psycopg.OperationalError, psycopg.InterfaceError, psycopg_pool.PoolTimeout,
                psycopg_pool.PoolClosed)
# PostgreSQL answers, but every connection of this node's pool is busy: the node is loaded, the
# database is not down, so no hold-off (which would refuse every request for a second, health
# checks included) follows it.


def lock_key(key: str) -> int:
    """A stable 32-bit signed key for ``pg_advisory_lock(class, key)``."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:4], "big", signed=True)


class _Conn:
    """A psycopg connection that takes ``?`` placeholders like sqlite3 (the shared queries use them)."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def execute(self, sql: str, params: tuple = ()):
        return self.conn.execute(sql.replace("?", "%s"), params)


class _Held:
    """A session advisory lock and the pooled connection that holds it."""

    def __init__(self, state: "PgState", conn: psycopg.Connection, kind: int, key: int):
        self.state, self.conn, self.kind, self.key = state, conn, kind, key

    def release(self) -> None:
        conn, self.conn = self.conn, None
        if conn is None:
            return
        try:
            conn.execute("SELECT pg_advisory_unlock(%s, %s)", (self.kind, self.key))
        except _UNREACHABLE:
            pass  # the session is gone, and its lock with it; the pool discards a broken connection
        self.state.pool.putconn(conn)


class PgState(SqlState):
    backend = "postgresql"
    duplicate_errors = (psycopg.errors.UniqueViolation,)

    def __init__(self, url: str, *, pool_min: int = 1, pool_max: int = 20, connect_timeout_s: float = 3.0,
                 name: str | None = None):
        self.url = url
        self.down_until = 0.0
        self.errors = 0
        self.pool_timeouts = 0
        self._guard = threading.Lock()
        self._ping_lock = threading.Lock()
        self._ping_conn: psycopg.Connection | None = None
        # The process id in the application name: pg_stat_activity says which node holds which lock.
        kwargs = {"autocommit": True, "row_factory": dict_row, "connect_timeout": max(1, int(connect_timeout_s)),
                  "application_name": name or f"sohoa-central/{os.getpid()}", **KEEPALIVES}
        self._kwargs = kwargs
        self.pool = psycopg_pool.ConnectionPool(url, min_size=pool_min, max_size=pool_max, kwargs=kwargs,
                                                timeout=connect_timeout_s, open=False,
                                                check=psycopg_pool.ConnectionPool.check_connection,
                                                reconnect_timeout=0)
        self.pool.open(wait=False)

    def close(self) -> None:
        with self._ping_lock:
            if self._ping_conn is not None:
                self._ping_conn.close()
                self._ping_conn = None
        self.pool.close()

    def ping(self) -> None:
        """One round trip on a connection outside the pool (the health probe's): a pool busy with
        uploads does not make the node look down; an unreachable server does."""
        with self._ping_lock:
            try:
                if self._ping_conn is None or self._ping_conn.closed:
                    self._ping_conn = psycopg.connect(self.url, **{**self._kwargs, "application_name":
                                                                   self._kwargs["application_name"] + "/health"})
                self._ping_conn.execute("SELECT 1")
            except _UNREACHABLE as exc:
                if self._ping_conn is not None:
                    self._ping_conn.close()
                    self._ping_conn = None
                raise self._unavailable(exc) from None

    # -------------------------------------------------------------- connections
    def _unavailable(self, exc: BaseException) -> BackendUnavailable:
        with self._guard:
            self.errors += 1
            if isinstance(exc, psycopg_pool.PoolTimeout):
                self.pool_timeouts += 1
            else:
                self.down_until = time.monotonic() + HOLD_OFF_S
        log.warning("state backend unavailable: %s: %s", type(exc).__name__, str(exc).strip()[:200])
        return BackendUnavailable("state", str(exc).strip()[:200] or type(exc).__name__)

    def _admit(self) -> None:
        if time.monotonic() < self.down_until:
            raise BackendUnavailable("state", "PostgreSQL failed less than a second ago")

    @contextmanager
    def _getconn(self) -> Iterator[psycopg.Connection]:
        self._admit()
        try:
            with self.pool.connection() as conn:
                yield conn
        except _UNREACHABLE as exc:
            raise self._unavailable(exc) from None

    @contextmanager
    def _conn(self) -> Iterator[_Conn]:
        with self._getconn() as conn:
            yield _Conn(conn)

    @contextmanager
    def tx(self) -> Iterator[_Conn]:
        with self._getconn() as conn:
            with conn.transaction():
                yield _Conn(conn)

    def lock_log(self, db: _Conn) -> None:
        db.execute("SELECT pg_advisory_xact_lock(?, 0)", (LOCK_LOG,))

    def try_lock(self, kind: int, key: str) -> _Held | None:
        """``pg_try_advisory_lock`` on a connection kept until :meth:`_Held.release` (design 5.12 L1, L2)."""
        self._admit()
        k = lock_key(key)
        try:
            conn = self.pool.getconn()
        except _UNREACHABLE as exc:
            raise self._unavailable(exc) from None
        try:
            got = conn.execute("SELECT pg_try_advisory_lock(%s, %s) AS got", (kind, k)).fetchone()["got"]
        except _UNREACHABLE as exc:
            self.pool.putconn(conn)
            raise self._unavailable(exc) from None
        except BaseException:
            self.pool.putconn(conn)
            raise
        if not got:
            self.pool.putconn(conn)
            return None
        return _Held(self, conn, kind, k)

    # -------------------------------------------------------------- schema
    def schema_version(self) -> int:
        with self._conn() as db:
            row = db.execute("SELECT to_regclass('schema_migrations') AS t").fetchone()
            if row["t"] is None:
                return 0
            return db.execute("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations").fetchone()["v"]

    def migrate(self) -> list[int]:
        """Apply the missing migrations, each in its own transaction under the migration lock."""
        applied = []
        for m in migrate.migrations("postgresql"):
            with self._getconn() as conn:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (LOCK_MIGRATE,))
                    conn.execute(migrate.CREATE_TABLE)
                    done = conn.execute("SELECT 1 FROM schema_migrations WHERE version=%s", (m.version,)).fetchone()
                    if done is not None:
                        continue
                    conn.execute(m.sql)
                    conn.execute(migrate.record_sql().replace("?", "%s"), (m.version, m.name, migrate.now()))
            applied.append(m.version)
        return applied
