"""What the technician sees of the records stage: status, metrics, confirmations.

Held record files carry a reason in Vietnamese and English; the technician
confirms (or corrects) them through ``POST /api/records/{id}/confirm``, a
technician action of the status page's guard, after which they are packaged.
``POST /api/records/{id}/page/{page}`` (technician) shows one of its pages reduced,
with the box of a field in doubt drawn on it (design §6.3): a POST so the guard asks
for the technician's session, since the page may be a secret record's.
"""

from __future__ import annotations

import io
import json
import types

from records.coversheet import CoverSheet, CoverSheetError
from firmware_agent.messages import CATALOGUE
from firmware_agent.metrics import counter, gauge
from firmware_agent.records.store import RecordStore

_SECRET = "03"
# Hold code -> its message, whose action says what the technician does next (the page shows it).
HOLD_NEXT_STEP = types.MappingProxyType({
    "coversheet_damaged": CATALOGUE["records.hold.coversheet_damaged"],
    "coversheet_twice": CATALOGUE["records.hold.coversheet_twice"],
    "separator_damaged": CATALOGUE["records.hold.separator_damaged"],
    "secret_stamp": CATALOGUE["records.hold.secret_stamp"],
    "filecode_used": CATALOGUE["records.hold.filecode_used"],
    "no_coversheet": CATALOGUE["records.hold.no_coversheet"],
    "needs_confirmation": CATALOGUE["records.hold.needs_confirmation"],
    "no_secret_key": CATALOGUE["records.hold.no_secret_key"],
    "low_dpi": CATALOGUE["records.hold.low_dpi"],
    "ocr_failed": CATALOGUE["records.hold.ocr_failed"],
    "build_failed": CATALOGUE["records.hold.build_failed"],
    "separator_moved": CATALOGUE["records.hold.separator_moved"],
})
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


VIEW_WIDTH = 1000  # pixels: enough to read a header line, small enough for the LAN


def page_view(task, file_id: int, page_id: int, field: str = "") -> bytes:
    """JPEG of page *page_id* of record file *file_id*, at most VIEW_WIDTH wide, *field*'s box drawn.

    Built in memory and never written (the page may be a secret record's, §6.6).
    Raises LookupError naming the problem when the page is not the file's or is gone.
    """
    from PIL import Image, ImageDraw

    if page_id not in {pid for pid, _role, _seq in task.store.pages_of(file_id)}:
        raise LookupError(CATALOGUE["records.review.no_page"].format(file=file_id, page=page_id).text)
    path = task.journal.page(page_id).colour_path
    try:
        img = Image.open(path)
        img.load()
    except (OSError, AttributeError, TypeError):  # removed after packaging, or never written
        raise LookupError(CATALOGUE["records.review.no_page"].format(file=file_id, page=page_id).text) from None
    img = img.convert("RGB")
    scale = min(1.0, VIEW_WIDTH / img.width)
    if scale < 1.0:
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS)
    boxes = [d["boxes"].get(field) for d in task.store.docs(file_id)] if field else []
    draw = ImageDraw.Draw(img)
    for box in boxes:
        if box and box[0] == page_id:
            x0, y0, x1, y1 = (round(v * scale) for v in box[1:])
            draw.rectangle([x0 - 4, y0 - 4, x1 + 4, y1 + 4], outline=(230, 0, 0), width=4)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80)
    return out.getvalue()


def status(task) -> dict:
    store = task.store
    held = []
    for f in store.files("held"):
        step = HOLD_NEXT_STEP.get(f.hold_code)
        pages = store.pages_of(f.id)
        # GET /api/records needs no login: a secret (mode 03) file's read text is not listed (design §6.6),
        # only which fields wait and where they are on the page.
        secret = f.cover.get("mode") == _SECRET
        held.append({"id": f.id, "file_code": f.file_code, "reason": f.hold_code, "message": f.hold_message,
                     "level": step.level if step else "warning",
                     "action_vi": step.action_vi if step else "", "action_en": step.action_en if step else "",
                     "cover": f.cover, "page_count": len(pages), "hold_pages": list(f.hold_pages),
                     "redacted": secret,
                     "pages": [{"id": pid, "role": role, "doc": doc} for pid, role, doc in pages[:60]],
                     "documents": [{"seq": d["seq"], "values": {} if secret else d["fields"],
                                    "confidence": d["confidence"], "needs": d["needs"], "boxes": d["boxes"]}
                                   for d in store.docs(f.id)]})
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


def metrics(task) -> list:
    store = task.store
    n, seconds, rss = store.ocr_stats()
    return [
        gauge("sohoa_records_files", "Record files by state.",
              samples=[({"state": state}, count) for state, count in sorted(store.counts().items())]),
        gauge("sohoa_records_ocr_backlog", "Pages waiting for OCR.", store.ocr_backlog()),
        counter("sohoa_records_ocr_pages", "Pages read by tesseract.", n),
        counter("sohoa_records_ocr_seconds", "Seconds tesseract spent on pages.", round(seconds, 3)),
        gauge("sohoa_records_ocr_max_rss_bytes", "Largest resident memory of one tesseract process.", rss * 1024),
        counter("sohoa_records_packages_built", "SIP_hoso packages built since the agent started.",
                len(task.packages)),
    ]


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

    def error(text: str, code: int):
        return web.json_response({"error": text}, status=code, dumps=lambda o: json.dumps(o, ensure_ascii=False))

    async def page_route(request):
        try:
            body = await request.json() if request.can_read_body else {}
            data = page_view(task, int(request.match_info["id"]), int(request.match_info["page"]),
                             str((body or {}).get("field", "")))
        except LookupError as exc:
            return error(exc.args[0], 404)
        except (ValueError, AttributeError) as exc:
            return error(str(exc), 400)
        return web.Response(body=data, content_type="image/jpeg", headers={"Cache-Control": "no-store"})

    app.router.add_get("/api/records", list_records)
    add_action(app, "POST", "/api/records/{id:\\d+}/page/{page:\\d+}", page_route, role=TECHNICIAN)
    # A held-record decision is the technician's (docs/design.md §3.1).
    add_action(app, "POST", "/api/records/{id:\\d+}/confirm", confirm_route, role=TECHNICIAN)
