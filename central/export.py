"""`sohoa-central export`: catalogued packages back to archive staff, as the stations built them (design 5.13).

Each package is streamed from its object to ``<member>.part`` while hashed,
compared with the catalogue's SHA-256 and size, checked with ``sip verify``
when it is a clear zip, and only then renamed to its member name. Nothing that
fails a check is left under a final name.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from central.catalogue import select_files
from central.catalogue_objects import objects_for
from records.sip_verify import verify
from sync.fsutil import fsync_dir

_IO = 1 << 20


@dataclass
class ExportResult:
    exported: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    secret: int = 0
    selected: int = 0

    def to_dict(self) -> dict:
        return {"exported": [str(p) for p in self.exported], "problems": list(self.problems),
                "secret": self.secret, "selected": self.selected}


def parse_batch(text: str) -> tuple[str, int]:
    """``DEVICE/SEQ`` -> (device, seq); ValueError when it is not that."""
    device, _, seq = text.rpartition("/")
    if not device or not seq.isdigit() or int(seq) < 1:
        raise ValueError(f"{text!r}: expected DEVICE/SEQ")
    return device, int(seq)


def export(state, store, out: Path, *, file_code: str | None = None, batch: tuple[str, int] | None = None,
           since: dt.date | None = None) -> ExportResult:
    """Write the selected packages into *out*; every problem is named in the result, none stops the rest."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    objects = objects_for(store)
    result = ExportResult()
    rows = select_files(state, file_code=file_code, batch=batch, since=since)
    result.selected = len(rows)
    for row in rows:
        where = f"{row['device_id']}/{row['seq']}/{row['member']}"
        final = out / row["member"]
        if final.exists():
            if _sha256(final) == row["package_sha256"]:
                if final not in result.exported:
                    result.exported.append(final)
                result.secret += int(bool(row["secret"]))
                continue
            result.problems.append(f"{where}: {final} exists with other bytes; not overwritten")
            continue
        problem = _export_one(objects, row, final)
        if problem:
            result.problems.append(f"{where}: {problem}")
            continue
        result.exported.append(final)
        result.secret += int(bool(row["secret"]))
    fsync_dir(out)
    return result


def export_package(state, objects, out: Path, *, device_id: str, seq: int, member: str) -> tuple[Path | None, str]:
    """One catalogued package (the web's record file export) into *out*: ``(path, "")`` once it passed the
    same checks as :func:`export` (catalogue SHA-256 and size, ``sip verify``), else ``(None, problem)``."""
    rows = [r for r in select_files(state, batch=(device_id, seq)) if r["member"] == member]
    if not rows:
        return None, f"{device_id}/{seq}/{member}: not in the catalogue"
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    final = out / Path(member).name
    problem = _export_one(objects, rows[0], final)
    return (None, problem) if problem else (final, "")


def _export_one(objects, row, final: Path) -> str | None:
    part = final.with_name(final.name + ".part")
    h = hashlib.sha256()
    size = 0
    try:
        with objects.open(row["package_key"]) as src, open(part, "wb") as dst:
            while True:
                chunk = src.read(_IO)
                if not chunk:
                    break
                h.update(chunk)
                size += len(chunk)
                dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
    except FileNotFoundError:
        part.unlink(missing_ok=True)
        return f"object {row['package_key']} is missing"
    if h.hexdigest() != row["package_sha256"] or size != row["package_size"]:
        part.unlink(missing_ok=True)
        return f"object {row['package_key']} differs from the catalogue (SHA-256 or size)"
    if not row["secret"]:
        problems = verify(part)
        if problems:
            part.unlink(missing_ok=True)
            return "sip verify: " + "; ".join(problems[:5])
    os.replace(part, final)
    return None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_IO), b""):
            h.update(chunk)
    return h.hexdigest()
