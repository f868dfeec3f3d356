"""The receiver's durable state in SQLite: devices, tokens, uploads, the log, rejections."""

from __future__ import annotations

import errno
import hashlib
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from sync.canon import DEVICE_ID_RE, ZERO_HASH, b64url

ENROLL_REFUSALS_KEPT = 256  # rows of enroll_refusals, one per client address (design 5.7)

SCHEMA = """
CREATE TABLE IF NOT EXISTS devices(
    device_id   TEXT PRIMARY KEY,
    public_key  TEXT NOT NULL,
    enrolled_at REAL NOT NULL,
    revoked_at  REAL,
    last_seq    INTEGER NOT NULL DEFAULT 0,
    last_hash   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens(
    token_hash  TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL,
    created_at  REAL NOT NULL,
    expires_at  REAL NOT NULL,
    used_at     REAL
);
CREATE TABLE IF NOT EXISTS uploads(
    id          TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    batch       TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    length      INTEGER NOT NULL,
    state       TEXT NOT NULL,            -- open, accepted
    created_at  REAL NOT NULL,
    UNIQUE (device_id, seq, batch)
);
CREATE TABLE IF NOT EXISTS log(
    idx         INTEGER PRIMARY KEY,      -- leaf index, from 0, no gaps
    leaf_hash   BLOB NOT NULL,
    device_id   TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    batch       TEXT NOT NULL,
    upload_id   TEXT NOT NULL,
    archive     TEXT NOT NULL,
    receipt     TEXT NOT NULL,
    UNIQUE (device_id, seq)
);
CREATE TABLE IF NOT EXISTS rejections(
    id          INTEGER PRIMARY KEY,
    at          REAL NOT NULL,
    device_id   TEXT,
    seq         INTEGER,
    code        TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS enroll_refusals(
    address     TEXT PRIMARY KEY,         -- client address (IPv6: its /64), design 5.7
    attempts    INTEGER NOT NULL,
    first_at    REAL NOT NULL,
    last_at     REAL NOT NULL,
    last_device TEXT,                     -- the device id last asked for, when it was a valid id
    last_reason TEXT NOT NULL
);
"""

_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_SQLITE_FULL, _SQLITE_IOERR = 13, 10


def storage_full(exc: BaseException) -> bool:
    """True for a write refused for lack of room: a file's ``ENOSPC``/``EDQUOT``/``EFBIG``, or
    SQLite's ``SQLITE_FULL``/``SQLITE_IOERR`` (its journal or shared-memory file could not grow)."""
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return code is not None and (code & 0xFF) in (_SQLITE_FULL, _SQLITE_IOERR)
    return isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS


@dataclass(frozen=True)
class Device:
    device_id: str
    public_key: str
    revoked: bool
    last_seq: int
    last_hash: str


class ReceiverState:
    """One connection, used from the event loop thread only (calls are short)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")  # a receipt must never outlive its row
        self.db.execute("PRAGMA busy_timeout=30000")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def tx(self):
        return _Tx(self.db)

    # -------------------------------------------------------------- devices and tokens
    def mint_token(self, device_id: str, ttl_s: float = 24 * 3600) -> str:
        token = b64url(secrets.token_bytes(32))
        while token.startswith("-"):  # would be read as an option: `sohoa enroll --token -abc...` fails
            token = b64url(secrets.token_bytes(32))
        now = time.time()
        with self.tx():
            self.db.execute("INSERT INTO tokens VALUES (?,?,?,?,NULL)",
                            (_token_hash(token), device_id, now, now + ttl_s))
        return token

    def enroll(self, device_id: str, public_key: str, token: str) -> bool:
        """Use *token* to register *public_key* for *device_id*; False if the token does not allow it."""
        now = time.time()
        with self.tx():
            row = self.db.execute("SELECT * FROM tokens WHERE token_hash=?", (_token_hash(token),)).fetchone()
            if (row is None or row["used_at"] is not None or row["expires_at"] < now
                    or row["device_id"] != device_id):
                return False
            self.db.execute("UPDATE tokens SET used_at=? WHERE token_hash=?", (now, row["token_hash"]))
            self._register(device_id, public_key, now)
        return True

    def register(self, device_id: str, public_key: str) -> None:
        """Register a key directly (receiver's own command line, benchmarks)."""
        with self.tx():
            self._register(device_id, public_key, time.time())

    def _register(self, device_id: str, public_key: str, now: float) -> None:
        self.db.execute(
            "INSERT INTO devices(device_id, public_key, enrolled_at, last_hash) VALUES (?,?,?,?) "
            "ON CONFLICT(device_id) DO UPDATE SET public_key=excluded.public_key, "
            "enrolled_at=excluded.enrolled_at, revoked_at=NULL",
            (device_id, public_key, now, ZERO_HASH))

    def revoke(self, device_id: str) -> bool:
        with self.tx():
            cur = self.db.execute("UPDATE devices SET revoked_at=? WHERE device_id=? AND revoked_at IS NULL",
                                  (time.time(), device_id))
        return cur.rowcount > 0

    def device(self, device_id: str) -> Device | None:
        r = self.db.execute("SELECT * FROM devices WHERE device_id=?", (device_id,)).fetchone()
        if r is None:
            return None
        return Device(r["device_id"], r["public_key"], r["revoked_at"] is not None, r["last_seq"], r["last_hash"])

    def devices(self) -> list[Device]:
        return [self.device(r[0]) for r in self.db.execute("SELECT device_id FROM devices ORDER BY device_id")]

    # -------------------------------------------------------------- uploads
    def upload_for_batch(self, device_id: str, seq: int) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM uploads WHERE device_id=? AND seq=?", (device_id, seq)).fetchall()

    def upload(self, upload_id: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM uploads WHERE id=?", (upload_id,)).fetchone()

    def add_upload(self, upload_id: str, device_id: str, seq: int, batch: str, sha256: str, length: int) -> None:
        with self.tx():
            self.db.execute("INSERT INTO uploads VALUES (?,?,?,?,?,?,'open',?)",
                            (upload_id, device_id, seq, batch, sha256, length, time.time()))

    def drop_upload(self, upload_id: str) -> None:
        with self.tx():
            self.db.execute("DELETE FROM uploads WHERE id=? AND state='open'", (upload_id,))

    def open_uploads(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM uploads WHERE state='open'").fetchall()

    # -------------------------------------------------------------- log
    def leaf_hashes(self) -> list[bytes]:
        rows = self.db.execute("SELECT idx, leaf_hash FROM log ORDER BY idx").fetchall()
        if any(r[0] != i for i, r in enumerate(rows)):
            raise RuntimeError(f"{self.path}: the log has a gap; refusing to serve")
        return [bytes(r[1]) for r in rows]

    def log_entry(self, device_id: str, seq: int) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM log WHERE device_id=? AND seq=?", (device_id, seq)).fetchone()

    def unarchived(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM log ORDER BY idx").fetchall()

    def commit_acceptance(self, *, index: int, leaf_hash: bytes, device_id: str, seq: int, batch: str,
                          upload_id: str, archive: str, receipt: str) -> None:
        """One transaction: log leaf, chain head, upload state (rule R2)."""
        with self.tx():
            self.db.execute("INSERT INTO log VALUES (?,?,?,?,?,?,?,?)",
                            (index, leaf_hash, device_id, seq, batch, upload_id, archive, receipt))
            self.db.execute("UPDATE devices SET last_seq=?, last_hash=? WHERE device_id=?", (seq, batch, device_id))
            self.db.execute("UPDATE uploads SET state='accepted' WHERE id=?", (upload_id,))

    def reject(self, device_id: str | None, seq: int | None, code: str, detail: str) -> None:
        with self.tx():
            self.db.execute("INSERT INTO rejections(at, device_id, seq, code, detail) VALUES (?,?,?,?,?)",
                            (time.time(), device_id, seq, code, detail[:2000]))

    def rejections(self, limit: int = 100) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM rejections ORDER BY id DESC LIMIT ?", (limit,)).fetchall()

    def enroll_refused(self, address: str, device_id: object, reason: str, *,
                       keep: int = ENROLL_REFUSALS_KEPT) -> None:
        """Count a refused enrollment from *address*; the table keeps the *keep* most recent addresses."""
        now = time.time()
        device = device_id if isinstance(device_id, str) and DEVICE_ID_RE.fullmatch(device_id) else None
        with self.tx():
            self.db.execute(
                "INSERT INTO enroll_refusals VALUES (?,1,?,?,?,?) ON CONFLICT(address) DO UPDATE SET "
                "attempts=attempts+1, last_at=excluded.last_at, last_device=excluded.last_device, "
                "last_reason=excluded.last_reason", (address[:64], now, now, device, reason[:200]))
            self.db.execute("DELETE FROM enroll_refusals WHERE address NOT IN "
                            "(SELECT address FROM enroll_refusals ORDER BY last_at DESC LIMIT ?)", (keep,))

    def enroll_refusals(self, limit: int = 100) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM enroll_refusals ORDER BY last_at DESC LIMIT ?", (limit,)).fetchall()

    def counts(self) -> dict[str, int]:
        one = self.db.execute
        return {"devices": one("SELECT COUNT(*) FROM devices WHERE revoked_at IS NULL").fetchone()[0],
                "accepted": one("SELECT COUNT(*) FROM log").fetchone()[0],
                "open_uploads": one("SELECT COUNT(*) FROM uploads WHERE state='open'").fetchone()[0],
                "rejections": one("SELECT COUNT(*) FROM rejections").fetchone()[0]}


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class _Tx:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            try:
                self.db.execute("COMMIT")
            except BaseException:
                self._rollback()  # a COMMIT refused (disk full) may leave the transaction open
                raise
        else:
            self._rollback()
        return False

    def _rollback(self) -> None:
        # SQLite rolls back by itself after some errors (SQLITE_FULL, SQLITE_IOERR);
        # a ROLLBACK then would fail and hide the error that matters.
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")
