"""`sohoa-central sweep`: the objects of batches that were never accepted and that no row names (design 5.12, W3).

Found by listing the store; deleted only when older than the grace period and
when neither the log nor an upload row names them, the archive objects after a
second look under their device's acceptance lock (L2). Never an accepted
batch's object: see "Objects of a batch that is not accepted" in the design.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from central.state_sql import LOCK_DEVICE
from central.store import ARCHIVE_NAME_RE, UPLOAD_ID_RE

log = logging.getLogger("sohoa.sweep")
KINDS = ("multipart_uploads", "incomplete_parts", "unaccepted_archive_objects", "upload_files")


@dataclass
class SweepReport:
    dry_run: bool
    older_than_s: float
    found: dict = field(default_factory=lambda: {k: 0 for k in KINDS})
    deleted: dict = field(default_factory=lambda: {k: 0 for k in KINDS})
    busy: int = 0  # archive objects skipped because their device's acceptance was under way
    names: list = field(default_factory=list)  # what was (or, dry, would be) deleted

    def note(self, kind: str, name: str, deleted: bool) -> None:
        self.found[kind] += 1
        self.names.append(name)
        if deleted:
            self.deleted[kind] += 1
            log.info("swept %s %s", kind, name)

    def to_dict(self) -> dict:
        return {"dry_run": self.dry_run, "older_than_s": self.older_than_s, "found": self.found,
                "deleted": self.deleted, "busy": self.busy, "names": self.names}


def sweep(state, store, *, older_than_s: float = 24 * 3600.0, dry_run: bool = False,
          now: float | None = None) -> SweepReport:
    """Find (and unless *dry_run*, delete) the orphans of *store* older than *older_than_s*."""
    if older_than_s < 0:
        raise ValueError("older_than_s must not be negative")
    report = SweepReport(dry_run, older_than_s)
    cutoff = (time.time() if now is None else now) - older_than_s
    if store.backend == "s3":
        _multipart_uploads(state, store, cutoff, report)
        _incomplete_parts(state, store, cutoff, report)
        _archive_objects(state, store, cutoff, report)
    else:
        _upload_files(state, store, cutoff, report)
    return report


def _in(state, sql: str, values: list) -> set:
    """The first column of ``sql`` (one ``IN ({})`` placeholder list) for *values*, as a set."""
    if not values:
        return set()
    rows = state._all(sql.format(",".join("?" * len(values))), tuple(values))
    return {next(iter(dict(r).values())) for r in rows}


def _pages(store, op: str, **kw):
    """Every page of a listing (``list_objects_v2`` or ``list_multipart_uploads``)."""
    while True:
        page = store.call(op, **kw)
        yield page
        if not page.get("IsTruncated"):
            return
        if op == "list_objects_v2":
            kw["ContinuationToken"] = page["NextContinuationToken"]
        else:
            kw["KeyMarker"], kw["UploadIdMarker"] = page["NextKeyMarker"], page["NextUploadIdMarker"]


def _multipart_uploads(state, store, cutoff: float, report: SweepReport) -> None:
    for page in _pages(store, "list_multipart_uploads", Prefix=store.key("archive/")):
        uploads = [u for u in page.get("Uploads", []) if u["Initiated"].timestamp() < cutoff]
        known = _in(state, "SELECT mpu_id FROM obj_uploads WHERE mpu_id IN ({})", [u["UploadId"] for u in uploads])
        for u in uploads:
            if u["UploadId"] in known:
                continue  # an upload's own: its life cycle is W1/W2
            if not report.dry_run:
                store.call("abort_multipart_upload", Key=u["Key"], UploadId=u["UploadId"])
            report.note("multipart_uploads", f"{u['Key']}?uploadId={u['UploadId']}", not report.dry_run)


def _incomplete_parts(state, store, cutoff: float, report: SweepReport) -> None:
    base = store.key("uploads/")
    for page in _pages(store, "list_objects_v2", Prefix=base):
        objects = [o for o in page.get("Contents", []) if o["LastModified"].timestamp() < cutoff]
        ids = sorted({o["Key"][len(base):].split("/", 1)[0] for o in objects})
        alive = _in(state, "SELECT id FROM obj_uploads WHERE id IN ({})", ids)
        for o in objects:
            if o["Key"][len(base):].split("/", 1)[0] in alive:
                continue  # its upload deletes it (S3, W1/W2)
            if not report.dry_run:
                store.call("delete_object", Key=o["Key"])
            report.note("incomplete_parts", o["Key"], not report.dry_run)


def _archive_objects(state, store, cutoff: float, report: SweepReport) -> None:
    base = store.key("archive/")
    for page in _pages(store, "list_objects_v2", Prefix=base):
        objects = [o for o in page.get("Contents", []) if o["LastModified"].timestamp() < cutoff
                   and ARCHIVE_NAME_RE.fullmatch(o["Key"][len(base):])]
        named = _in(state, "SELECT archive FROM log WHERE archive IN ({})", [o["Key"][len(base):] for o in objects])
        for o in objects:
            name = o["Key"][len(base):]
            if name in named:
                continue  # accepted: never touched
            _unaccepted(state, store, o["Key"], name, report)


def _unaccepted(state, store, key: str, name: str, report: SweepReport) -> None:
    """Delete the archive object *key* if, under its device's lock, no log entry nor upload row names it."""
    held = state.try_lock(LOCK_DEVICE, name.split("/", 1)[0])
    if held is None:
        report.busy += 1  # an acceptance of this device is under way: next time
        return
    try:
        if _in(state, "SELECT archive FROM log WHERE archive IN ({})", [name]):
            return
        if _in(state, "SELECT object_key FROM obj_uploads WHERE object_key IN ({})", [key]):
            return  # completed, its acceptance not decided yet: its upload's life cycle
        if not report.dry_run:
            store.call("delete_object", Key=key)
        report.note("unaccepted_archive_objects", key, not report.dry_run)
    finally:
        held.release()


def _upload_files(state, store, cutoff: float, report: SweepReport) -> None:
    groups: dict[str, list[Path]] = {}
    for p in Path(store.uploads).iterdir():
        upload_id = p.name.split(".", 1)[0]
        if UPLOAD_ID_RE.fullmatch(upload_id):
            groups.setdefault(upload_id, []).append(p)
    for upload_id, paths in sorted(groups.items()):
        try:
            newest = max(os.stat(p).st_mtime for p in paths)
        except FileNotFoundError:
            continue  # removed meanwhile by its upload
        if newest >= cutoff:
            continue
        if state.upload(upload_id) is not None:
            continue  # its row decides (W1/W2, or R2's rename after acceptance)
        if _in(state, "SELECT upload_id FROM log WHERE upload_id IN ({})", [upload_id]):
            continue  # named by the log: an accepted batch whose rename is to be finished (R2)
        for p in paths:
            if not report.dry_run:
                p.unlink(missing_ok=True)
            report.note("upload_files", str(p), not report.dry_run)
