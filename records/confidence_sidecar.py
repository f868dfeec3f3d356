"""Extraction confidences beside a package, version 1 (docs/formats.md §6.7): written by the station, read by
the archive.

The SIP_hoso package has no place for a confidence (TT 05/2025 names its files),
so the confidences of a record file's documents travel as a batch member of
their own, ``uuid-{OBJID}.confidence.json``, joined to the package by OBJID.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from records.metadata import FIELDS
from sync.canon import canonical

VERSION = 1
MAX_BYTES = 1 << 20
SUFFIX = ".confidence.json"
NAME_RE = re.compile(r"(uuid-[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12})\.confidence\.json")


def member_name(folder: str) -> str:
    """The sidecar's member name for the package folder ``uuid-{OBJID}``."""
    return folder + SUFFIX


def _thousandths(value) -> int:
    return max(0, min(1000, round(float(value) * 1000)))


def encode(folder: str, documents: list[tuple[str, dict, dict, bool]]) -> bytes:
    """The sidecar of package *folder*: per document ``(doc_id, confidences, thresholds, reviewed)``.

    Confidences and thresholds are P(right) in 0..1 by EAD_DOC element name, as
    the station's analysis keeps them; only the extracted fields (``records.metadata.FIELDS``)
    are written, a field without a threshold with ``t`` 0.
    """
    docs = []
    for doc_id, conf, thresholds, reviewed in sorted(documents, key=lambda d: d[0]):
        fields = {name: {"c": _thousandths(conf[name]), "t": _thousandths(thresholds.get(name, 0.0))}
                  for name in FIELDS if isinstance(conf.get(name), (int, float))}
        docs.append({"doc_id": doc_id, "fields": fields, "reviewed": bool(reviewed)})
    return canonical({"v": VERSION, "package": folder + ".zip", "documents": docs})


@dataclass
class Confidences:
    """One sidecar as read: its package's OBJID, ``{doc_id: {field: (c, t)}}`` in thousandths, and problems."""

    objid: str
    documents: dict = field(default_factory=dict)
    reviewed: dict = field(default_factory=dict)   # doc_id -> bool
    warnings: list[str] = field(default_factory=list)


def _int_0_1000(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 1000


def decode(name: str, data: bytes) -> Confidences | None:
    """The sidecar in member *name* (C1-C5), or None when *name* is not a sidecar's.

    A sidecar that breaks C2-C4 comes back with no documents and a warning; C5
    drops the bad entries alone. Nothing here raises on the member's bytes.
    """
    m = NAME_RE.fullmatch(name)
    if m is None:
        return None
    out = Confidences(m.group(1))
    if len(data) > MAX_BYTES:
        out.warnings.append(f"{name}: {len(data)} bytes, more than {MAX_BYTES}")
        return out
    try:
        body = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        out.warnings.append(f"{name}: not UTF-8 JSON")
        return out
    if not isinstance(body, dict):
        out.warnings.append(f"{name}: not a JSON object")
        return out
    if body.get("v") != VERSION:
        out.warnings.append(f"{name}: version {body.get('v')!r} is not {VERSION}")
        return out
    if body.get("package") != out.objid + ".zip":
        out.warnings.append(f"{name}: names package {str(body.get('package'))[:80]!r}")
        return out
    docs = body.get("documents")
    if not isinstance(docs, list):
        out.warnings.append(f"{name}: documents is not a list")
        return out
    dropped = 0
    for d in docs:
        if not isinstance(d, dict) or not isinstance(d.get("doc_id"), str) or not isinstance(d.get("fields"), dict):
            dropped += 1
            continue
        kept = {}
        for fname, v in d["fields"].items():
            if isinstance(v, dict) and _int_0_1000(v.get("c")) and _int_0_1000(v.get("t")):
                kept[fname] = (v["c"], v["t"])
            else:
                dropped += 1
        out.documents[d["doc_id"]] = kept
        out.reviewed[d["doc_id"]] = d.get("reviewed") is True
    if dropped:
        out.warnings.append(f"{name}: {dropped} entries dropped (not of format 6.7)")
    return out
