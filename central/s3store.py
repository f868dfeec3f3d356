"""The S3 store: uploads as multipart uploads at their archive name, bookkeeping in the state DB.

Design 5.12 (S1-S4, R4, R5). The database row (:mod:`central.state_sql`,
``obj_uploads`` and ``obj_parts``) is the truth about an upload; S3 is
written, never listed. A chunk's bytes become parts of ``part_size`` bytes
uploaded as they fill; a remainder under S3's 5 MiB minimum that is not the
upload's last byte is kept as an incomplete-part object under a fresh name
until the next PATCH reads it back and continues. Every S3 call runs in a
worker thread (the body's write lane, or the receiver's pool).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import secrets
import threading
from collections import OrderedDict
from typing import BinaryIO, Iterator

from central.backend_errors import BackendUnavailable, Conflict
from central.s3client import as_unavailable, not_found, unreachable
from central.store import UPLOAD_ID_RE, UploadInfo, archive_name

log = logging.getLogger("sohoa.receiver")
MIN_PART = 5 << 20  # S3's smallest part but the last
MAX_PARTS = 10_000  # S3's largest part number (S4)


class TooManyParts(Exception):
    """The upload used S3's 10,000 part numbers (S4): answered 413, the upload is deleted."""


class S3Store:
    backend = "s3"
    supports_termination = True
    reads_open_uploads = False

    def __init__(self, client, bucket: str, prefix: str, state, *, part_size: int = 8 << 20):
        if part_size < MIN_PART:
            raise ValueError("part_size must be at least 5 MiB")
        self.client, self.bucket, self.state, self.part_size = client, bucket, state, part_size
        prefix = prefix.strip("/")
        self.prefix = f"{prefix}/" if prefix else ""
        self.counters = {"s3_parts": 0, "s3_part_bytes": 0, "s3_incomplete_parts": 0, "s3_completed": 0,
                         "s3_reads": 0}
        # The incomplete part this node wrote last, per upload: the next PATCH on this node need not GET it.
        self._pending: OrderedDict[str, bytes] = OrderedDict()
        self._pending_lock = threading.Lock()

    # ------------------------------------------------------------------ S3 calls
    def call(self, op: str, **kw):
        """``client.<op>(Bucket=..., **kw)``; an unreachable endpoint raises BackendUnavailable."""
        try:
            return getattr(self.client, op)(Bucket=self.bucket, **kw)
        except Exception as exc:
            if unreachable(exc):
                raise as_unavailable(exc) from None
            raise

    def key(self, name: str) -> str:
        return self.prefix + name

    def ping(self) -> None:
        self.call("head_bucket")

    def remember_pending(self, key: str, data: bytes) -> None:
        with self._pending_lock:
            self._pending[key] = data
            while sum(len(v) for v in self._pending.values()) > 64 << 20:
                self._pending.popitem(last=False)

    def pending_bytes(self, key: str) -> bytes:
        with self._pending_lock:
            data = self._pending.pop(key, None)
        if data is not None:
            return data
        self.counters["s3_reads"] += 1
        return self.call("get_object", Key=key)["Body"].read()

    def delete_quietly(self, key: str | None, upload_id: str | None = None) -> bool:
        """Delete an object nothing counts on any more (S3); a failure leaves garbage, never a wrong byte.

        With *upload_id*, a deleted incomplete part is also struck off the upload's list of objects.
        """
        if not key:
            return True
        try:
            self.call("delete_object", Key=key)
        except (BackendUnavailable, Exception) as exc:  # garbage only: logged, removed with the upload later
            log.warning("could not delete %s: %s", key, exc)
            return False
        if upload_id is not None:
            try:
                self.state.obj_forget_object(upload_id, key)
            except Exception as exc:  # still listed: deleted again (a no-op) with the upload
                log.warning("could not strike off %s: %s", key, exc)
        return True

    def drop_objects(self, upload_id: str) -> None:
        """Delete every incomplete-part object the upload may have left, then its bookkeeping."""
        for key in self.state.obj_objects(upload_id):
            self.delete_quietly(key)
        self.state.obj_drop(upload_id)

    # ------------------------------------------------------------------ the Store interface
    def new_upload(self, upload_id: str, length: int, meta: dict) -> "S3Upload":
        if not UPLOAD_ID_RE.fullmatch(upload_id):
            raise ValueError("bad upload id")
        key = self.key("archive/" + archive_name(meta["device"], int(meta["seq"]), meta["batch"]))
        mpu = self.call("create_multipart_upload", Key=key, ContentType="application/octet-stream")["UploadId"]
        try:
            self.state.obj_create(upload_id, key, mpu, length, meta)
        except BaseException:
            try:
                self.call("abort_multipart_upload", Key=key, UploadId=mpu)
            except Exception as exc:  # an orphan multipart upload: the bucket's lifecycle rule removes it
                log.warning("could not abort %s: %s", mpu, exc)
            raise
        return self.get_upload(upload_id)

    def get_upload(self, upload_id: str) -> "S3Upload | None":
        if not UPLOAD_ID_RE.fullmatch(upload_id):
            return None
        row = self.state.obj_get(upload_id)
        return None if row is None else S3Upload(self, row)

    def upload_ids(self) -> Iterator[str]:
        yield from self.state.obj_ids()

    def archived(self, archive_name: str) -> bool:
        try:
            self.call("head_object", Key=self.key("archive/" + archive_name))
        except BackendUnavailable:
            raise
        except Exception as exc:
            if not_found(exc):
                return False
            raise
        return True

    def open_archived(self, archive_name: str) -> BinaryIO:
        return ObjectReader(self, self.key("archive/" + archive_name))


class S3Upload:
    def __init__(self, store: S3Store, row):
        self.store, self.row, self.id = store, row, row["id"]

    def info(self) -> UploadInfo:
        r = self.row
        return UploadInfo(r["id"], r["length"], r["offset"], json.loads(r["meta"]), r["created_at"], r["updated_at"])

    def chunk_writer(self, offset: int) -> "S3ChunkWriter":
        return S3ChunkWriter(self, offset)

    def open_reader(self) -> BinaryIO:
        """The upload's bytes once completed; before, a reader whose reads fail (S3 cannot read parts back)."""
        if self.store.state.obj_get(self.id)["completed"]:
            return ObjectReader(self.store, self.row["object_key"])
        return _NotReadable()

    def complete(self) -> None:
        """Complete the multipart upload at the archive name (R5); once done, nothing more to do."""
        row = self.store.state.obj_get(self.id)
        if row is None:
            raise Conflict("the upload is gone")
        if row["completed"]:
            return
        parts = self.store.state.obj_parts(self.id)
        if row["offset"] != row["length"] or sum(p["size"] for p in parts) != row["length"]:
            raise Conflict("the upload is not whole")
        listed = [{"PartNumber": p["part_number"], "ETag": p["etag"]} for p in parts]
        try:
            self.store.call("complete_multipart_upload", Key=row["object_key"], UploadId=row["mpu_id"],
                            MultipartUpload={"Parts": listed})
        except BackendUnavailable:
            raise
        except Exception as exc:
            # Completed by a node that died before recording it: the object is there, whole.
            if not (not_found(exc) and self._object_size(row["object_key"]) == row["length"]):
                raise
        self.store.state.obj_completed(self.id)
        self.store.counters["s3_completed"] += 1

    def _object_size(self, key: str) -> int:
        try:
            return int(self.store.call("head_object", Key=key)["ContentLength"])
        except BackendUnavailable:
            raise
        except Exception:
            return -1

    def finish(self, archive_name: str) -> None:
        """After the log commit (R5): the object is at its name; forget the upload's bookkeeping."""
        row = self.store.state.obj_get(self.id)
        if row is None:
            return
        if not row["completed"]:
            self.complete()
        self.store.drop_objects(self.id)

    def terminate(self) -> None:
        """Abort (or, completed, delete unless the log names it: R5) and forget the upload."""
        st = self.store
        row = st.state.obj_get(self.id)
        if row is None:
            return
        if row["completed"]:
            meta = json.loads(row["meta"])
            if st.state.log_entry(meta["device"], int(meta["seq"])) is None:
                st.delete_quietly(row["object_key"])
        else:
            try:
                st.call("abort_multipart_upload", Key=row["object_key"], UploadId=row["mpu_id"])
            except BackendUnavailable:
                raise
            except Exception as exc:
                if not not_found(exc):
                    raise
        st.drop_objects(self.id)


class S3ChunkWriter:
    """One PATCH body into parts (S1); ``commit`` records them and the offset, ``abort`` records nothing.

    ``write`` runs in the body's write lane and uploads each part as it
    fills, so S3 receives while the client still sends.
    """

    def __init__(self, upload: S3Upload, offset: int):
        self.upload, self.store, self.offset = upload, upload.store, offset
        row = self.store.state.obj_get(upload.id)
        if row is None:
            raise Conflict("the upload is gone")
        if row["offset"] != offset:
            raise Conflict(f"offset is {row['offset']}")
        self.length, self.object_key, self.mpu = row["length"], row["object_key"], row["mpu_id"]
        # Completed, its acceptance not committed (a crash, or the database down at the log append):
        # the empty PATCH at offset = length runs acceptance again (design 5.12 R5).
        self.completed = bool(row["completed"])
        if self.completed:
            return
        self.old_pending = row["pending_key"]
        self.writer = secrets.token_hex(8)
        if not self.store.state.obj_begin_write(upload.id, offset, self.writer):
            raise Conflict("another PATCH moved the offset")
        self.pieces: list[bytes] = []
        self.size = 0
        if row["pending_size"]:
            data = self.store.pending_bytes(row["pending_key"])
            if len(data) != row["pending_size"]:
                raise RuntimeError(f"incomplete part {row['pending_key']} has {len(data)} bytes, "
                                   f"the database says {row['pending_size']}")
            self.pieces.append(data)
            self.size = len(data)
        self.base = offset - self.size  # upload offset of the first buffered byte
        self.parts: list[tuple] = []
        self.new_pending: str | None = None

    def write(self, data: bytes) -> None:
        if self.completed:
            raise Conflict("the upload is complete")
        self.pieces.append(data)
        self.size += len(data)
        while self.size >= self.store.part_size:
            joined = b"".join(self.pieces)
            n = self.store.part_size
            self._upload(joined[:n] if len(joined) > n else joined)
            rest = joined[n:]
            self.pieces, self.size = ([rest] if rest else []), len(rest)

    def _upload(self, body: bytes) -> None:
        number = self.store.state.obj_next_part(self.upload.id, self.writer)
        if number is None:
            raise Conflict("another PATCH took the upload")
        if number > MAX_PARTS:
            raise TooManyParts(f"part number {number} is past S3's {MAX_PARTS}")
        sha = hashlib.sha256(body).hexdigest()
        etag = self.store.call("upload_part", Key=self.object_key, UploadId=self.mpu, PartNumber=number,
                               Body=body)["ETag"]
        self.parts.append((number, self.base, len(body), etag, sha))
        self.base += len(body)
        self.store.counters["s3_parts"] += 1
        self.store.counters["s3_part_bytes"] += len(body)

    def commit(self) -> int:
        """Upload what is left as a part or the incomplete part, then record it all and the offset (R4)."""
        if self.completed:
            return self.offset
        rest = b"".join(self.pieces)
        self.pieces, self.size = [], 0
        end = self.base + len(rest)
        pending_key, pending_size = None, 0
        if rest:
            if end == self.length or len(rest) >= MIN_PART:
                self._upload(rest)
            else:
                pending_key = self.store.key(f"uploads/{self.upload.id}/pending-{secrets.token_hex(8)}")
                self.store.state.obj_note_object(self.upload.id, pending_key)  # before it exists
                self.store.call("put_object", Key=pending_key, Body=rest)
                self.new_pending, pending_size = pending_key, len(rest)
                self.store.counters["s3_incomplete_parts"] += 1
        if not self.store.state.obj_commit(self.upload.id, self.writer, self.offset, end, self.parts,
                                           pending_key, pending_size):
            raise Conflict("another PATCH took the upload")
        self.new_pending = None  # recorded: it counts now
        if pending_key:
            self.store.remember_pending(pending_key, rest)
        if self.old_pending and self.old_pending != pending_key:
            self.store.delete_quietly(self.old_pending, self.upload.id)  # after the commit that replaced it (S3)
        return end

    def abort(self) -> None:
        if self.completed:
            return
        self.pieces, self.size = [], 0
        if self.new_pending:  # written, never recorded
            self.store.delete_quietly(self.new_pending, self.upload.id)
            self.new_pending = None


class ObjectReader(io.RawIOBase):
    """A completed object read in order from S3; a seek elsewhere re-opens it at that byte."""

    def __init__(self, store: S3Store, key: str):
        super().__init__()
        self.store, self.key, self.pos, self.body = store, key, 0, None
        store.counters["s3_reads"] += 1

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence != 0:
            raise io.UnsupportedOperation("only absolute seeks")
        if pos != self.pos and self.body is not None:
            self.body.close()
            self.body = None
        self.pos = pos
        return pos

    def tell(self) -> int:
        return self.pos

    def readinto(self, b) -> int:
        if self.body is None:
            kw = {"Range": f"bytes={self.pos}-"} if self.pos else {}
            try:
                self.body = self.store.call("get_object", Key=self.key, **kw)["Body"]
            except BackendUnavailable:
                raise
            except Exception as exc:
                if self.pos and "InvalidRange" in str(exc):
                    return 0
                raise
        data = self.body.read(len(b))
        b[:len(data)] = data
        self.pos += len(data)
        return len(data)

    def close(self) -> None:
        if self.body is not None:
            self.body.close()
            self.body = None
        super().close()


class _NotReadable(io.RawIOBase):
    """An incomplete S3 upload: its parts cannot be read back until the multipart upload is completed."""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        raise OSError("an incomplete multipart upload cannot be read back")
