"""The page review routes of the status page: jobs (paginated), a job's pages, their previews, marks.

Reading needs no session, like ``/api/status`` (design §3.1); a mark is an
operator action through the guard (session, CSRF token, Origin). Previews are
served from the files the processing stage wrote; a request never decodes or
encodes a page, and a page whose files are gone (retention, a scrubbed secret
record file) answers 404.
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from firmware_agent.journal import Journal
from firmware_agent.page_review import MarkRefused, ensure_schema, job_pages, list_jobs, mark_page
from firmware_agent.thumbnails import preview_paths
from firmware_agent.web.guard import GRANTED, add_action
from firmware_agent.records.regroup import SeparatorRefused, move_separator
from firmware_agent.web.sessions import OPERATOR, TECHNICIAN

MAX_PER_PAGE = 50


def _json(data, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False, default=str))


def _int(value: str | None, default: int, low: int, high: int) -> int:
    try:
        return max(low, min(high, int(value))) if value not in (None, "") else default
    except ValueError:
        raise web.HTTPBadRequest(text="offset/limit: integer expected") from None


def add_review_routes(app: web.Application, journal: Journal) -> None:
    ensure_schema(journal)

    async def jobs(request: web.Request) -> web.Response:
        kind = request.query.get("kind", "all")
        if kind not in ("all", "scanner", "hotfolder"):
            raise web.HTTPBadRequest(text="kind: all, scanner or hotfolder")
        offset = _int(request.query.get("offset"), 0, 0, 10**9)
        limit = _int(request.query.get("limit"), 10, 1, MAX_PER_PAGE)
        return _json(await asyncio.to_thread(list_jobs, journal, kind=kind, offset=offset, limit=limit))

    async def job(request: web.Request) -> web.Response:
        job_id = int(request.match_info["id"])

        def read():
            rows = journal.read("SELECT * FROM jobs WHERE id=?", (job_id,))
            if not rows:
                return None
            return {**dict(rows[0]), "pages": job_pages(journal, job_id)}

        found = await asyncio.to_thread(read)
        if found is None:
            raise web.HTTPNotFound(text=f"no job {job_id}")
        return _json(found)

    def preview(which: int):
        async def handler(request: web.Request) -> web.StreamResponse:
            page_id = int(request.match_info["id"])
            rows = journal.read("SELECT raw_path, removed_at FROM pages WHERE id=?", (page_id,))
            if not rows or rows[0]["removed_at"] is not None:
                raise web.HTTPNotFound()
            paths = preview_paths(journal.abs(rows[0]["raw_path"]))
            if not paths or not paths[which].is_file():
                raise web.HTTPNotFound()
            # Written once and never changed while the page exists; a rescan makes a new page id.
            return web.FileResponse(paths[which], headers={"Content-Type": "image/jpeg", "Cache-Control": "private, max-age=3600",
                                                   "X-Content-Type-Options": "nosniff"})
        return handler

    async def mark(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        what = body.get("mark") if isinstance(body, dict) else None
        try:
            result = await asyncio.to_thread(mark_page, journal, int(request.match_info["id"]), str(what),
                                             request.get(GRANTED, OPERATOR))
        except MarkRefused as refused:
            return _json({"ok": False, "error": refused.message.text, "message": refused.message.to_dict()},
                         status=refused.status)
        return _json({"ok": True, "message": result})

    async def separator(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        starts = body.get("starts") if isinstance(body, dict) else None
        try:
            result = await asyncio.to_thread(move_separator, journal, int(request.match_info["id"]), str(starts))
        except SeparatorRefused as refused:
            return _json({"ok": False, "error": refused.message.text, "message": refused.message.to_dict()},
                         status=refused.status)
        return _json({"ok": True, "message": result})

    app.router.add_get("/api/jobs", jobs)
    app.router.add_get("/api/jobs/{id:\\d+}", job)
    app.router.add_get("/pages/{id:\\d+}/thumb.jpg", preview(0))
    app.router.add_get("/pages/{id:\\d+}/view.jpg", preview(1))
    add_action(app, "POST", "/api/pages/{id:\\d+}/mark", mark, role=OPERATOR)
    # Regrouping documents and record files is the technician's (design §3.1, §3.2 R5).
    add_action(app, "POST", "/api/pages/{id:\\d+}/separator", separator, role=TECHNICIAN)
