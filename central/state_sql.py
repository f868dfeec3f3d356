"""The receiver's state, written once for both backends (design 5.12).

:class:`SqlState` holds every query the receiver makes, in the SQL both
SQLite and PostgreSQL speak, with ``?`` placeholders. A backend supplies a
connection for reads (:meth:`SqlState._conn`), one inside a transaction
(:meth:`SqlState.tx`), the log lock taken inside the log transaction and the
cluster-wide locks of design 5.12 (L1, L2); rows are read by column name.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Protocol

from central.fixity_sql import FixityQueries
from sync.canon import DEVICE_ID_RE, ZERO_HASH, b64url

ENROLL_REFUSALS_KEPT = 256  # rows of enroll_refusals, one per client address (formats 5.7)

LOCK_UPLOAD, LOCK_DEVICE, LOCK_LOG, LOCK_MIGRATE = 1, 2, 3, 4  # advisory lock classes (design 5.12)


@dataclass(frozen=True)
class Device:
    device_id: str
    public_key: str
    revoked: bool
    last_seq: int
    last_hash: str


class Db(Protocol):
    """A connection or transaction: ``execute(sql, params)`` returns a cursor (fetchone, fetchall, rowcount)."""

    def execute(self, sql: str, params: tuple = ...): ...


class Held(Protocol):
    def release(self) -> None: ...


class _NoLock:
    def release(self) -> None:
        pass


NO_LOCK = _NoLock()


class SqlState(FixityQueries):
    """The queries; subclasses provide ``_conn``, ``tx``, ``lock_log``, ``try_lock`` and ``close``."""

    backend = "sql"
    # The backend's "a unique key already exists" error (a concurrent creation won the race).
    duplicate_errors: tuple[type[BaseException], ...] = ()

    @contextmanager
    def _conn(self) -> Iterator[Db]:
        raise NotImplementedError

    @contextmanager
    def tx(self) -> Iterator[Db]:
        raise NotImplementedError

    def lock_log(self, db: Db) -> None:
        """Inside a transaction: hold the log lock until it ends (L3)."""

    def try_lock(self, kind: int, key: str) -> Held | None:
        """A cluster-wide lock on (*kind*, *key*) held until released, or None if another holds it."""
        return NO_LOCK

    def close(self) -> None:
        raise NotImplementedError

    def _all(self, sql: str, params: tuple = ()) -> list:
        with self._conn() as db:
            return db.execute(sql, params).fetchall()

    def _one(self, sql: str, params: tuple = ()):
        with self._conn() as db:
            return db.execute(sql, params).fetchone()

    def ping(self) -> None:
        """One round trip; raises when the backend cannot be reached."""
        self._one("SELECT 1 AS one")

    # -------------------------------------------------------------- devices and tokens
    def mint_token(self, device_id: str, ttl_s: float = 24 * 3600) -> str:
        token = b64url(secrets.token_bytes(32))
        while token.startswith("-"):  # would be read as an option: `sohoa enroll --token -abc...` fails
            token = b64url(secrets.token_bytes(32))
        now = time.time()
        with self.tx() as db:
            db.execute("INSERT INTO tokens VALUES (?,?,?,?,NULL)", (_token_hash(token), device_id, now, now + ttl_s))
        return token

    def enroll(self, device_id: str, public_key: str, token: str) -> bool:
        """Use *token* to register *public_key* for *device_id*; False if the token does not allow it."""
        now = time.time()
        with self.tx() as db:
            row = db.execute("SELECT * FROM tokens WHERE token_hash=? FOR UPDATE" if self.backend == "postgresql"
                             else "SELECT * FROM tokens WHERE token_hash=?", (_token_hash(token),)).fetchone()
            if (row is None or row["used_at"] is not None or row["expires_at"] < now
                    or row["device_id"] != device_id):
                return False
            db.execute("UPDATE tokens SET used_at=? WHERE token_hash=?", (now, row["token_hash"]))
            self._register(db, device_id, public_key, now)
        return True

    def register(self, device_id: str, public_key: str) -> None:
        """Register a key directly (receiver's own command line, benchmarks)."""
        with self.tx() as db:
            self._register(db, device_id, public_key, time.time())

    @staticmethod
    def _register(db: Db, device_id: str, public_key: str, now: float) -> None:
        db.execute(
            "INSERT INTO devices(device_id, public_key, enrolled_at, last_hash) VALUES (?,?,?,?) "
            "ON CONFLICT(device_id) DO UPDATE SET public_key=excluded.public_key, "
            "enrolled_at=excluded.enrolled_at, revoked_at=NULL",
            (device_id, public_key, now, ZERO_HASH))

    def revoke(self, device_id: str) -> bool:
        with self.tx() as db:
            cur = db.execute("UPDATE devices SET revoked_at=? WHERE device_id=? AND revoked_at IS NULL",
                             (time.time(), device_id))
            return cur.rowcount > 0

    @staticmethod
    def _device(r) -> Device | None:
        if r is None:
            return None
        return Device(r["device_id"], r["public_key"], r["revoked_at"] is not None, r["last_seq"], r["last_hash"])

    def device(self, device_id: str) -> Device | None:
        return self._device(self._one("SELECT * FROM devices WHERE device_id=?", (device_id,)))

    def devices(self) -> list[Device]:
        return [self._device(r) for r in self._all("SELECT * FROM devices ORDER BY device_id")]

    # -------------------------------------------------------------- uploads
    def upload_for_batch(self, device_id: str, seq: int) -> list:
        return self._all("SELECT * FROM uploads WHERE device_id=? AND seq=?", (device_id, seq))

    def upload(self, upload_id: str):
        return self._one("SELECT * FROM uploads WHERE id=?", (upload_id,))

    def add_upload(self, upload_id: str, device_id: str, seq: int, batch: str, sha256: str, length: int) -> bool:
        """False when an upload of the same (device, seq, batch) was created meanwhile (by another node)."""
        try:
            with self.tx() as db:
                db.execute("INSERT INTO uploads VALUES (?,?,?,?,?,?,'open',?)",
                           (upload_id, device_id, seq, batch, sha256, length, time.time()))
        except self.duplicate_errors:
            return False
        return True

    def drop_upload(self, upload_id: str) -> None:
        with self.tx() as db:
            db.execute("DELETE FROM uploads WHERE id=? AND state='open'", (upload_id,))

    def open_uploads(self) -> list:
        return self._all("SELECT * FROM uploads WHERE state='open'")

    # -------------------------------------------------------------- log
    def leaf_hashes(self, start: int = 0, db: Db | None = None) -> list[bytes]:
        """Leaf hashes from index *start* on, in order; raises if the log has a gap."""
        sql, params = "SELECT idx, leaf_hash FROM log WHERE idx >= ? ORDER BY idx", (start,)
        if db is None:
            rows = self._all(sql, params)
        else:
            rows = db.execute(sql, params).fetchall()
        if any(r["idx"] != start + i for i, r in enumerate(rows)):
            raise RuntimeError("the log has a gap; refusing to serve")
        return [bytes(r["leaf_hash"]) for r in rows]

    def log_entry(self, device_id: str, seq: int):
        return self._one("SELECT * FROM log WHERE device_id=? AND seq=?", (device_id, seq))

    def unarchived(self) -> list:
        """Log rows whose upload may still be in the upload area (file store) or its bookkeeping (S3)."""
        return self._all("SELECT log.* FROM log JOIN uploads ON uploads.id = log.upload_id ORDER BY log.idx")

    def log_size(self) -> int:
        return self._one("SELECT COALESCE(MAX(idx) + 1, 0) AS n FROM log")["n"]

    def device_head(self, db: Db, device_id: str) -> Device | None:
        """Inside the log transaction: the device's chain head, locked until the transaction ends."""
        lock = " FOR UPDATE" if self.backend == "postgresql" else ""
        return self._device(db.execute("SELECT * FROM devices WHERE device_id=?" + lock, (device_id,)).fetchone())

    def commit_acceptance(self, *, index: int, leaf_hash: bytes, device_id: str, seq: int, batch: str,
                          upload_id: str, archive: str, receipt: str, db: Db | None = None) -> None:
        """Log leaf, chain head, upload state: in *db*'s transaction, or one of their own (rule R2)."""
        if db is None:
            with self.tx() as own:
                return self.commit_acceptance(index=index, leaf_hash=leaf_hash, device_id=device_id, seq=seq,
                                              batch=batch, upload_id=upload_id, archive=archive, receipt=receipt,
                                              db=own)
        db.execute("INSERT INTO log VALUES (?,?,?,?,?,?,?,?)",
                   (index, leaf_hash, device_id, seq, batch, upload_id, archive, receipt))
        db.execute("UPDATE devices SET last_seq=?, last_hash=? WHERE device_id=?", (seq, batch, device_id))
        db.execute("UPDATE uploads SET state='accepted' WHERE id=?", (upload_id,))

    # -------------------------------------------------------------- refusals
    def reject(self, device_id: str | None, seq: int | None, code: str, detail: str) -> None:
        with self.tx() as db:
            db.execute("INSERT INTO rejections(at, device_id, seq, code, detail) VALUES (?,?,?,?,?)",
                       (time.time(), device_id, seq, code, detail[:2000]))

    def rejections(self, limit: int = 100) -> list:
        return self._all("SELECT * FROM rejections ORDER BY id DESC LIMIT ?", (limit,))

    def enroll_refused(self, address: str, device_id: object, reason: str, *,
                       keep: int = ENROLL_REFUSALS_KEPT) -> None:
        """Count a refused enrollment from *address*; the table keeps the *keep* most recent addresses."""
        now = time.time()
        device = device_id if isinstance(device_id, str) and DEVICE_ID_RE.fullmatch(device_id) else None
        with self.tx() as db:
            db.execute(
                "INSERT INTO enroll_refusals VALUES (?,1,?,?,?,?) ON CONFLICT(address) DO UPDATE SET "
                "attempts=enroll_refusals.attempts+1, last_at=excluded.last_at, last_device=excluded.last_device, "
                "last_reason=excluded.last_reason", (address[:64], now, now, device, reason[:200]))
            db.execute("DELETE FROM enroll_refusals WHERE address NOT IN "
                       "(SELECT address FROM enroll_refusals ORDER BY last_at DESC LIMIT ?)", (keep,))

    def enroll_refusals(self, limit: int = 100) -> list:
        return self._all("SELECT * FROM enroll_refusals ORDER BY last_at DESC LIMIT ?", (limit,))

    def counts(self) -> dict[str, int]:
        one = self._one
        return {"devices": one("SELECT COUNT(*) AS n FROM devices WHERE revoked_at IS NULL")["n"],
                "accepted": self.log_size(),
                "open_uploads": one("SELECT COUNT(*) AS n FROM uploads WHERE state='open'")["n"],
                "rejections": one("SELECT COUNT(*) AS n FROM rejections")["n"],
                "multipart_uploads_open": one("SELECT COUNT(*) AS n FROM obj_uploads")["n"]}

    # -------------------------------------------------------------- the S3 store's bookkeeping (S1-S4)
    def obj_create(self, upload_id: str, object_key: str, mpu_id: str, length: int, meta: dict) -> float:
        now = time.time()
        with self.tx() as db:
            db.execute("INSERT INTO obj_uploads(id, object_key, mpu_id, length, meta, created_at, updated_at) "
                       "VALUES (?,?,?,?,?,?,?)", (upload_id, object_key, mpu_id, length, json.dumps(meta), now, now))
        return now

    def obj_get(self, upload_id: str):
        return self._one("SELECT * FROM obj_uploads WHERE id=?", (upload_id,))

    def obj_ids(self) -> list[str]:
        return [r["id"] for r in self._all("SELECT id FROM obj_uploads")]

    def obj_parts(self, upload_id: str) -> list:
        return self._all("SELECT * FROM obj_parts WHERE upload_id=? ORDER BY part_number", (upload_id,))

    def obj_begin_write(self, upload_id: str, offset: int, writer: str) -> bool:
        """Claim the upload for a PATCH at *offset* (fencing token *writer*); False if the offset moved."""
        with self.tx() as db:
            cur = db.execute('UPDATE obj_uploads SET writer=? WHERE id=? AND "offset"=? AND completed=0',
                             (writer, upload_id, offset))
            return cur.rowcount == 1

    def obj_next_part(self, upload_id: str, writer: str) -> int | None:
        """Take the next part number (never reused, S2); None if another writer took the upload."""
        with self.tx() as db:
            row = db.execute("UPDATE obj_uploads SET next_part=next_part+1 WHERE id=? AND writer=? "
                             "RETURNING next_part", (upload_id, writer)).fetchone()
        return None if row is None else row["next_part"] - 1

    def obj_commit(self, upload_id: str, writer: str, old_offset: int, new_offset: int, parts: list[tuple],
                   pending_key: str | None, pending_size: int) -> bool:
        """Record *parts* (number, start, size, etag, sha256), the incomplete part and the offset (S1).

        One transaction; False (nothing written) when the offset or the writer changed meanwhile.
        """
        with self.tx() as db:
            cur = db.execute('UPDATE obj_uploads SET "offset"=?, pending_key=?, pending_size=?, updated_at=? '
                             'WHERE id=? AND writer=? AND "offset"=?',
                             (new_offset, pending_key, pending_size, time.time(), upload_id, writer, old_offset))
            if cur.rowcount != 1:
                return False
            for number, start, size, etag, sha in parts:
                db.execute("INSERT INTO obj_parts VALUES (?,?,?,?,?,?)", (upload_id, number, start, size, etag, sha))
        return True

    def obj_completed(self, upload_id: str) -> None:
        with self.tx() as db:
            db.execute("UPDATE obj_uploads SET completed=1, writer=NULL WHERE id=?", (upload_id,))

    def obj_note_object(self, upload_id: str, key: str) -> None:
        """Before an incomplete-part object is written: it may exist from now on."""
        with self.tx() as db:
            db.execute("INSERT INTO obj_objects VALUES (?,?) ON CONFLICT DO NOTHING", (upload_id, key))

    def obj_forget_object(self, upload_id: str, key: str) -> None:
        with self.tx() as db:
            db.execute("DELETE FROM obj_objects WHERE upload_id=? AND object_key=?", (upload_id, key))

    def obj_objects(self, upload_id: str) -> list[str]:
        return [r["object_key"] for r in self._all("SELECT object_key FROM obj_objects WHERE upload_id=?",
                                                     (upload_id,))]

    def obj_drop(self, upload_id: str) -> None:
        with self.tx() as db:
            db.execute("DELETE FROM obj_parts WHERE upload_id=?", (upload_id,))
            db.execute("DELETE FROM obj_objects WHERE upload_id=?", (upload_id,))
            db.execute("DELETE FROM obj_uploads WHERE id=?", (upload_id,))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
