"""What the technician sees of the records stage: status, metrics, confirmations.

Held record files carry a reason in Vietnamese and English; the technician
confirms (or corrects) them through ``POST /api/records/{id}/confirm``, a
technician action of the status page's guard, after which they are packaged.
"""

from __future__ import annotations

import json

from records.coversheet import CoverSheet, CoverSheetError
from firmware_agent.messages import CATALOGUE
from firmware_agent.records.store import RecordStore

_DOC_EDITABLE = ("typeName", "codeNumber", "codeNotation", "issuedDate", "organName", "subject")


def confirm(store: RecordStore, file_id: int, cover: dict | None, docs: dict | None) -> dict:
    """held -> ready, applying the technician's corrections; raises ValueError naming the problem."""
    f = store.file(file_id)
    if f is None or f.state != "held":
        raise ValueError(CATALOGUE["records.review.not_held"].format(file=file_id).text)
    merged = dict(f.cover)
    if cover:
        merged.update(cover)
    try:
        sheet = CoverSheet(**{k: merged.get(k, "") for k in ("file_code", "paper_file_code", "title")},
                           maintenance=merged.get("maintenance", "01"), mode=merged.get("mode", "01"),
                           note=merged.get("note", ""))
    except (CoverSheetError, TypeError) as exc:
        raise ValueError(f"{CATALOGUE['records.review.fields_incomplete'].text}: {exc}") from None
    with store.tx() as db:
        clash = db.execute("SELECT id FROM rec_files WHERE file_code=? AND id!=? AND state!='empty'",
                           (sheet.file_code, file_id)).fetchone()
    if clash:
        raise ValueError(CATALOGUE["records.review.file_code_used"].format(code=sheet.file_code, other=clash[0]).text)
    for seq_s, values in (docs or {}).items():
        seq = int(seq_s)
        row = next((d for d in store.docs(file_id) if d["seq"] == seq), None)
        if row is None:
            raise ValueError(CATALOGUE["records.review.no_document"].format(file=file_id, seq=seq).text)
        fields = dict(row["fields"])
        fields.update({k: str(v) for k, v in values.items() if k in _DOC_EDITABLE})
        store.save_doc(file_id, seq, fields, row["confidence"], [])
    store.update_cover(file_id, sheet.to_dict())
    store.set_state(file_id, "ready", expect=("held",))
    return {"id": file_id, "state": "ready", "file_code": sheet.file_code}


def status(task) -> dict:
    store = task.store
    held = []
    for f in store.files("held"):
        held.append({"id": f.id, "file_code": f.file_code, "reason": f.hold_code, "message": f.hold_message,
                     "cover": f.cover,
                     "documents": [{"seq": d["seq"], "values": d["fields"], "confidence": d["confidence"],
                                    "needs": d["needs"]} for d in store.docs(f.id)]})
    n, seconds, rss = store.ocr_stats()
    return {
        "enabled": True,
        "separator": task.settings.separator,
        "ocr_backlog": store.ocr_backlog(),
        "ocr_running": len(task._inflight),
        "ocr_pages": n,
        "ocr_seconds_per_page": round(seconds / n, 2) if n else None,
        "ocr_max_rss_mb": round(rss / 1024, 1),
        "files": store.counts(),
        "held": held,
        "needs_confirmation": [h["id"] for h in held if h["reason"] == "needs_confirmation"],
        "packages": [p.name for p in task.packages[-20:]],
    }


def metrics(task) -> list[str]:
    store = task.store
    n, seconds, rss = store.ocr_stats()
    lines = ["# TYPE sohoa_records_files gauge"]
    for state, count in sorted(store.counts().items()):
        lines.append(f'sohoa_records_files{{state="{state}"}} {count}')
    lines += [
        "# TYPE sohoa_records_ocr_backlog gauge", f"sohoa_records_ocr_backlog {store.ocr_backlog()}",
        "# TYPE sohoa_records_ocr_pages_total counter", f"sohoa_records_ocr_pages_total {n}",
        "# TYPE sohoa_records_ocr_seconds_total counter", f"sohoa_records_ocr_seconds_total {seconds:.3f}",
        "# TYPE sohoa_records_ocr_max_rss_bytes gauge", f"sohoa_records_ocr_max_rss_bytes {rss * 1024}",
        "# TYPE sohoa_records_packages_built_total counter",
        f"sohoa_records_packages_built_total {len(task.packages)}",
    ]
    return lines


def add_routes(task, app) -> None:
    from aiohttp import web

    from firmware_agent.web.guard import add_action
    from firmware_agent.web.sessions import TECHNICIAN

    async def list_records(_request):
        return web.json_response(status(task), dumps=lambda o: json.dumps(o, ensure_ascii=False, default=str))

    async def confirm_route(request):
        try:
            body = await request.json()
            result = confirm(task.store, int(request.match_info["id"]), body.get("cover"), body.get("documents"))
        except (ValueError, AttributeError) as exc:
            return web.json_response({"error": str(exc)}, status=400, dumps=lambda o: json.dumps(o, ensure_ascii=False))
        return web.json_response(result)

    app.router.add_get("/api/records", list_records)
    # A held-record decision is the technician's (docs/design.md §3.1).
    add_action(app, "POST", "/api/records/{id:\\d+}/confirm", confirm_route, role=TECHNICIAN)
