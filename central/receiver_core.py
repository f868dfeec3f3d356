"""The receiver's decisions: keys, the Merkle log, acceptance of complete uploads.

HTTP lives in ``receiver.py``; this module knows nothing about requests. All
methods run on the event loop thread except the batch verification, which is
handed to a worker thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import sqlite3
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from sync.batch import BatchError, open_batch
from sync.canon import canonical
from sync.keys import ed25519_public, fingerprint, load_or_create, public_b64
from sync.merkle import MerkleTree, leaf_hash
from sync.receipt import make_leaf, make_receipt, sign_checkpoint
from central.backend_errors import BackendUnavailable
from central.receiver_state import ReceiverState
from central.state_sql import LOCK_DEVICE, LOCK_UPLOAD, SqlState
from central.store import FileStore, Store, archive_name
from central.verifier import StreamVerifier

log = logging.getLogger("sohoa.receiver")
DEVICE_LOCK_WAIT_S = 30.0


def _load_existing(path: Path, kind: type):
    """A key that must already exist (a cluster node never makes its own: design 5.12)."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing; run `sohoa-central migrate` once to create the keys, "
                                f"then copy them to every node")
    return load_or_create(path, kind)

MemberCheck = Callable[[str, bytes | Path], list[str]]  # a spooled member's file


__all__ = ["MemberCheck", "ReceiverCore", "archive_name"]


class ReceiverCore:
    """State, keys and log of one receiver node.

    Parameters
    ----------
    root : Path
        Default home of ``receiver.sqlite3``, ``keys/``, and (file store) ``uploads/`` and ``archive/``.
    origin : str, optional
        Name of the log in checkpoints; defaults to one derived from the log key.
    member_check : callable, optional
        ``member_check(name, path) -> problems`` on the file the member was spooled to (design 5.4);
        any problem rejects the batch.
    store : Store, optional
        Defaults to :class:`central.store.FileStore` on *root*.
    state : SqlState, optional
        Defaults to :class:`central.receiver_state.ReceiverState` on ``root/receiver.sqlite3``.
    keys_dir : Path, optional
        Where the archive and log keys are (default ``root/keys``); with *create_keys* false
        they must exist (every node of a cluster reads the same keys, design 5.12).
    """

    def __init__(self, root: Path, *, origin: str | None = None, member_check: MemberCheck | None = None,
                 store: Store | None = None, state: SqlState | None = None, keys_dir: Path | None = None,
                 create_keys: bool = True):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        keys = Path(keys_dir) if keys_dir is not None else self.root / "keys"
        load = load_or_create if create_keys else _load_existing
        self.archive_key: X25519PrivateKey = load(keys / "archive_x25519.pem", X25519PrivateKey)
        self.log_key: Ed25519PrivateKey = load(keys / "log_ed25519.pem", Ed25519PrivateKey)
        self.archive_public_b64 = public_b64(self.archive_key)
        self.log_public_b64 = public_b64(self.log_key)
        self.origin = origin or f"sohoa-receiver/{fingerprint(self.log_public_b64)}"
        self.state: SqlState = state if state is not None else ReceiverState(self.root / "receiver.sqlite3")
        self.store: Store = store or FileStore(self.root)
        self.member_check = member_check
        # The log as this node last read it; brought up to the database's under the log lock before
        # every append (design 5.12 L3), never used stale.
        self.tree = MerkleTree(self.state.leaf_hashes())
        self._tree_lock = threading.Lock()
        self._device_locks: dict[str, asyncio.Lock] = {}
        self._verifiers: dict[str, StreamVerifier] = {}
        # upload id -> (offset, SHA-256 of the committed bytes [0, offset)), kept while the
        # upload is received from its first byte in this process without a break.
        self._file_hashes: dict[str, tuple[int, object]] = {}
        self.counters = {"accepted": 0, "rejected": 0, "auth_failures": 0, "checksum_mismatch": 0,
                         "disk_full": 0, "bytes_received": 0,
                         "verified_while_uploading": 0, "verified_after_upload": 0, "takeovers": 0,
                         "checks_restarted": 0, "rejections_unrecorded": 0,
                         "enroll_refused": 0, "enroll_limited": 0,
                         "header_timeouts": 0, "idle_closed": 0, "body_timeouts": 0, "lock_busy": 0,
                         "patch_waits": 0, "patches_refused_busy": 0}
        self.backend_errors = {"state": 0, "objects": 0}
        self.recover()

    def close(self) -> None:
        for v in self._verifiers.values():
            v.stop()
        self._verifiers.clear()
        self.state.close()

    # ------------------------------------------------------------------ verification while uploading
    def _checker(self, device_id: str, hash_file: bool = True):
        device = self.state.device(device_id)
        if device is None or device.revoked:
            return None
        pub = ed25519_public(device.public_key)

        def check(f):
            if self.member_check is None:
                return open_batch(f, archive_private=self.archive_key, device_public=pub, device_id=device_id,
                                  hash_file=hash_file)
            # each member is spooled to a file for its check, so a node's memory does not grow with a
            # package's size (design 5.4); the folder goes with the check
            with tempfile.TemporaryDirectory(prefix="sohoa-rx-check-") as spool:
                return open_batch(f, archive_private=self.archive_key, device_public=pub, device_id=device_id,
                                  member_check=self.member_check, hash_file=hash_file, spool=Path(spool))
        return check

    def file_hash_base(self, upload_id: str, offset: int):
        """A copy of the running whole-file hash for a PATCH at *offset*, or None if there is none.

        At offset 0 a fresh hash; elsewhere only when the previous PATCHes of
        this process were hashed without a gap. None means the whole-file hash
        is computed by the batch check instead.
        """
        if offset == 0:
            return hashlib.sha256()
        known = self._file_hashes.get(upload_id)
        return known[1].copy() if known is not None and known[0] == offset else None

    def verifier(self, upload_id: str, *, hash_file: bool, offset: int = 0) -> StreamVerifier | None:
        """The upload's stream verifier, started now if it has none (None if it cannot be).

        Called as a PATCH begins: the verifier reads that PATCH's pieces as
        they arrive (:meth:`StreamVerifier.offer`). A new verifier reads what
        was committed before from the file. *hash_file* false: the whole-file
        hash is being taken as the bytes arrive (:meth:`file_hash_base`), so
        the check need not take it.
        """
        v = self._verifiers.get(upload_id)
        if v is not None:
            return v
        if offset and not getattr(self.store, "reads_open_uploads", True):
            return None  # it could not read the bytes before *offset* back: checked after completion
        row = self.state.upload(upload_id)
        upload = self.store.get_upload(upload_id)
        check = self._checker(row["device_id"], hash_file=hash_file) if row is not None else None
        if upload is None or check is None:
            return None
        v = self._verifiers[upload_id] = StreamVerifier(upload.open_reader(), row["length"], check)
        return v

    def committed(self, upload_id: str, offset: int, *, file_hash=None) -> None:
        """A PATCH made *offset* durable: its bytes are final for the upload's stream verifier.

        *file_hash* is the running whole-file hash up to *offset* (from
        :meth:`file_hash_base`, updated with the chunk), None if it broke off.
        """
        if file_hash is not None:
            self._file_hashes[upload_id] = (offset, file_hash)
        else:
            self._file_hashes.pop(upload_id, None)
        v = self._verifiers.get(upload_id)
        if v is not None:
            v.advance(offset)

    def retract(self, upload_id: str) -> None:
        """A PATCH failed: its pieces are withdrawn from the verifier, which is stopped if it read any."""
        v = self._verifiers.get(upload_id)
        if v is not None and not v.retract():
            self.counters["checks_restarted"] += 1
            self.forget(upload_id)  # the next PATCH starts a new one from the committed bytes

    def forget(self, upload_id: str) -> None:
        """The upload is gone (terminated, expired, replaced, refused): stop verifying it."""
        self._file_hashes.pop(upload_id, None)
        v = self._verifiers.pop(upload_id, None)
        if v is not None:
            v.stop()

    async def _opened(self, upload, row):
        """The opened batch: from the stream verifier when it has one, else read again from the start."""
        loop = asyncio.get_running_loop()
        v = self._verifiers.pop(row["id"], None)
        if v is not None:
            v.advance(row["length"])
            try:
                opened = await loop.run_in_executor(None, v.result)
            except BatchError:
                raise
            except Exception:  # the verifier itself failed: fall back to a full read
                log.exception("stream verification of %s failed; verifying again", row["id"])
                opened = None
            if opened is not None and opened.file_sha256 is None:
                opened = self._with_running_hash(row, opened)
            if opened is not None:
                self.counters["verified_while_uploading"] += 1
                return opened
        self.counters["verified_after_upload"] += 1
        check = self._checker(row["device_id"])
        complete = getattr(upload, "complete", None)
        if complete is not None:  # an S3 upload can be read back only once completed (design 5.12 R5)
            await loop.run_in_executor(None, complete)

        def verify():
            with upload.open_reader() as f:
                return check(f)
        return await loop.run_in_executor(None, verify)

    def _with_running_hash(self, row, opened):
        """*opened* with the hash taken while the bytes arrived, or None if that hash broke off."""
        known = self._file_hashes.pop(row["id"], None)
        if known is None or known[0] != row["length"]:
            log.info("running hash of %s incomplete; verifying again from the file", row["id"])
            return None
        return dataclasses.replace(opened, file_sha256=known[1].hexdigest())

    def recover(self) -> None:
        """Finish the archiving of accepted uploads interrupted by a crash (rules R2, R5)."""
        for upload_id in list(self.store.upload_ids()):
            row = self.state.upload(upload_id)
            if row is None or row["state"] != "accepted":
                continue
            entry = self.state.log_entry(row["device_id"], row["seq"])
            upload = self.store.get_upload(upload_id)
            if entry is not None and upload is not None and not self.store.archived(entry["archive"]):
                upload.finish(entry["archive"])
                log.info("recovered archive file %s", entry["archive"])
            elif entry is not None and upload is not None and getattr(upload, "complete", None) is not None:
                upload.finish(entry["archive"])  # S3: the object is in place; drop the bookkeeping

    def reject(self, device_id: str | None, seq: int | None, code: str, detail: str) -> None:
        """Record and report a refused batch or request.

        A row that cannot be written (disk full, the database down) does not change the refusal the
        caller answers: it is logged and counted as ``rejections_unrecorded``.
        """
        self.counters["rejected"] += 1
        log.warning("rejected device=%s seq=%s %s: %s", device_id, seq, code, detail)
        try:
            self.state.reject(device_id, seq, code, detail)
        except (sqlite3.Error, BackendUnavailable) as exc:
            self.counters["rejections_unrecorded"] += 1
            log.error("rejection of device=%s seq=%s not recorded: %s", device_id, seq, exc)

    def ensure_archived(self, entry) -> None:
        """Finish the rename of an accepted upload (its log *entry*) if it did not happen (rule R2).

        Called before a receipt is answered (rule R3): the rename may have
        failed for lack of room after the acceptance committed. Raises the
        store's ``OSError`` while it still cannot be done.
        """
        upload = self.store.get_upload(entry["upload_id"])
        if upload is not None and not self.store.archived(entry["archive"]):
            upload.finish(entry["archive"])
            log.info("archive file %s finished after an earlier failure", entry["archive"])

    async def accept(self, upload_id: str) -> dict:
        """Verify the complete upload *upload_id*, append it to the log, archive it.

        Returns the receipt. Raises :class:`sync.batch.BatchError` when the
        batch is refused; the upload is then deleted and the refusal recorded.
        """
        row = self.state.upload(upload_id)
        device_id, seq = row["device_id"], row["seq"]
        lock = self._device_locks.setdefault(device_id, asyncio.Lock())
        async with lock:
            held = await self._device_lock(device_id)
            try:
                return await self._accept_locked(upload_id, row, device_id, seq)
            finally:
                held.release()

    async def _device_lock(self, device_id: str):
        """The cluster-wide acceptance lock of *device_id* (design 5.12 L2); 503 when not had in time."""
        deadline = time.monotonic() + DEVICE_LOCK_WAIT_S
        while True:
            held = self.state.try_lock(LOCK_DEVICE, device_id)
            if held is not None:
                return held
            self.counters["lock_busy"] += 1
            if time.monotonic() > deadline:
                raise BackendUnavailable("state", f"acceptance of {device_id} is held by another node")
            await asyncio.sleep(0.05)

    async def _accept_locked(self, upload_id: str, row, device_id: str, seq: int) -> dict:
        done = self.state.log_entry(device_id, seq)
        if done is not None and done["batch"] == row["batch"] and done["upload_id"] == upload_id:
            self.ensure_archived(done)
            return json.loads(done["receipt"])
        try:
            receipt = await self._verify_and_commit(row, done)
        except BatchError as exc:
            self.forget(upload_id)
            upload = self.store.get_upload(upload_id)
            if upload is not None:
                upload.terminate()
            self.state.drop_upload(upload_id)
            self.reject(device_id, seq, exc.code, exc.detail)
            raise
        finally:
            self._file_hashes.pop(upload_id, None)
        return receipt

    async def _verify_and_commit(self, row, done) -> dict:
        device_id, seq, upload_id = row["device_id"], row["seq"], row["id"]
        if done is not None and done["batch"] == row["batch"]:
            # The same batch arrived twice through two uploads: keep the first.
            self.forget(upload_id)
            self.store.get_upload(upload_id).terminate()
            self.state.drop_upload(upload_id)
            self.ensure_archived(done)
            return json.loads(done["receipt"])
        if done is not None:
            raise BatchError("fork", f"seq {seq} was accepted with batch {done['batch'][:16]}, "
                                     f"this upload is {row['batch'][:16]}")
        device = self.state.device(device_id)
        if device is None or device.revoked:
            raise BatchError("revoked", "device is not enrolled or revoked")
        upload = self.store.get_upload(upload_id)
        opened = await self._opened(upload, row)
        if opened.file_sha256 != row["sha256"] or opened.size != row["length"]:
            raise BatchError("file_hash", "whole-file SHA-256 or length differs from the creation request")
        if opened.batch_hash != row["batch"] or opened.manifest["seq"] != seq:
            raise BatchError("batch_hash", "manifest hash or seq differs from the creation request")
        if seq <= device.last_seq:
            raise BatchError("replay", f"seq {seq} is not after the last accepted {device.last_seq}")
        if seq != device.last_seq + 1:
            raise BatchError("gap", f"seq {seq} skips after {device.last_seq}")
        if opened.manifest["prev"] != device.last_hash:
            raise BatchError("chain", "prev does not name the last accepted batch")
        complete = getattr(upload, "complete", None)
        if complete is not None:  # S3: the object lands at its archive name before the log names it (R5)
            await asyncio.get_running_loop().run_in_executor(None, complete)
        # In a thread: the log lock may be held by another node for a while, and the event loop
        # must keep answering meanwhile (health checks, other uploads' chunks).
        receipt, name = await asyncio.get_running_loop().run_in_executor(None, self._commit, row, opened)
        # After the commit (rule R2): a crash before this rename is finished by recover().
        await asyncio.get_running_loop().run_in_executor(None, upload.finish, name)
        return receipt

    def _commit(self, row, opened) -> tuple[dict, str]:
        """The log append (design 5.12 L3): one transaction under the log lock, the tree caught up first."""
        device_id, seq = row["device_id"], row["seq"]
        leaf = make_leaf(device=device_id, seq=seq, batch=row["batch"], sha256=row["sha256"],
                         size=row["length"], received=int(time.time()))
        lh = leaf_hash(canonical(leaf))
        name = archive_name(device_id, seq, row["batch"])
        with self._tree_lock:  # this node's appends one at a time: the tree is shared by its threads
            return self._commit_locked(row, opened, device_id, seq, leaf, lh, name)

    def _commit_locked(self, row, opened, device_id, seq, leaf, lh, name) -> tuple[dict, str]:
        base = None
        try:
            with self.state.tx() as db:
                self.state.lock_log(db)
                for h in self.state.leaf_hashes(self.tree.size, db=db):
                    self.tree.append_hash(h)
                base = self.tree.size
                head = self.state.device_head(db, device_id)
                if head is None or head.revoked:
                    raise BatchError("revoked", "device is not enrolled or revoked")
                if seq != head.last_seq + 1:
                    raise BatchError("gap" if seq > head.last_seq else "replay",
                                     f"seq {seq} does not follow the last accepted {head.last_seq}")
                if opened.manifest["prev"] != head.last_hash:
                    raise BatchError("chain", "prev does not name the last accepted batch")
                index = self.tree.append_hash(lh)
                checkpoint = sign_checkpoint(self.log_key, self.origin, self.tree.size, self.tree.root())
                receipt = make_receipt(leaf, index, self.tree.inclusion_proof(index), checkpoint)
                self.state.commit_acceptance(index=index, leaf_hash=lh, device_id=device_id, seq=seq,
                                             batch=row["batch"], upload_id=row["id"], archive=name,
                                             receipt=json.dumps(receipt), db=db)
        except BaseException:
            if base is not None:
                _truncate(self.tree, base)  # the append never became durable
            raise
        self.counters["accepted"] += 1
        log.info("accepted device=%s seq=%d batch=%s index=%d", device_id, seq, row["batch"][:16], index)
        return receipt, name

    def sweep_expired(self, expiration_s: float) -> int:
        """Delete incomplete uploads idle for longer than *expiration_s*; returns how many (design 5.12 W2).

        Each under its upload lock (no PATCH of it runs on any node) and its device's acceptance
        lock (no acceptance of it runs: a completed object is deleted only while the log cannot
        be about to name it); an upload whose lock is held elsewhere waits for the next round.
        """
        n = 0
        for row in self.state.open_uploads():
            if not self._expired(row["id"], expiration_s):
                continue
            held = self.state.try_lock(LOCK_UPLOAD, row["id"])
            if held is None:
                continue
            try:
                device = self.state.try_lock(LOCK_DEVICE, row["device_id"])
                if device is None:
                    continue
                try:
                    if not self._expired(row["id"], expiration_s):  # a PATCH landed meanwhile
                        continue
                    upload = self.store.get_upload(row["id"])
                    self.forget(row["id"])
                    if upload is not None:
                        upload.terminate()
                    self.state.drop_upload(row["id"])
                    n += 1
                finally:
                    device.release()
            finally:
                held.release()
        return n

    def _expired(self, upload_id: str, expiration_s: float) -> bool:
        upload = self.store.get_upload(upload_id)
        return upload is None or upload.info().updated_at + expiration_s < time.time()


def _truncate(tree: MerkleTree, size: int) -> None:
    """Cut *tree* back to its first *size* leaves (level h keeps size >> h nodes)."""
    for h, level in enumerate(tree.levels):
        del level[size >> h:]
