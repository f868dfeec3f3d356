"""The central web's aiohttp application: routes and access by role and mode (design §5.15).

Pages are rendered by :mod:`central.web.pages`; every read of a record file,
refused or not, every PDF served and every export is appended to the audit
trail (:mod:`central.web.audit`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from central.messages import CATALOGUE
from central.backend_errors import BackendUnavailable
from central.export import export_package
from central.web import (admin, audit, catalogue_feed, commune_series, heartbeats, pages, records, report_pdf,
                         reports, search, search_page, search_query)
from central.web.guard import SESSION, StaffGuard, route
from central.web.staff import ADMINISTRATOR, ARCHIVIST, VIEWER, readable_modes
from sync.limiter import client_key

logger = logging.getLogger("sohoa.web")
LIVE_JS = Path(__file__).with_name("live.js")


@dataclass(frozen=True)
class WebOptions:
    hostnames: tuple[str, ...] = ()
    red_after_s: float = 6 * 3600.0
    objects: object | None = None  # where a document's pdf_key is found: ``open(name)`` (central.catalogue_objects)
    feed_every_s: float = 30.0     # how often new catalogue rows are fed to the web's records (0: never)
    poll_s: float = 30.0           # how often the overview's script asks /api/stations again


def _json(data, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False, default=str))


def _week_start(now: float) -> str:
    day = datetime.fromtimestamp(now, timezone.utc).date()
    return (day - timedelta(days=day.weekday())).isoformat()


def build_web_app(state, opts: WebOptions | None = None) -> web.Application:
    """The staff application over *state* (either backend); its guard is installed first."""
    opts = opts or WebOptions()
    app = web.Application(client_max_size=64 * 1024)
    guard = StaffGuard(state, hostnames=opts.hostnames)
    guard.install(app, pages.login_page)

    def who(request: web.Request):
        return request[SESSION]

    def log(request: web.Request, action: str, target: str = "", detail: str = "") -> None:
        s = who(request)
        audit.append(state, actor=s.user, role=s.role, action=action, target=target, detail=detail,
                     client=client_key(request.remote))

    def station_rows(request: web.Request) -> list[dict]:
        now = time.time()
        rows = heartbeats.stations(state, now=now, red_after_s=opts.red_after_s, week_start_day=_week_start(now))
        for key in ("province", "district"):
            value = request.query.get(key, "")
            if value:
                rows = [r for r in rows if r[key] == value]
        sort = request.query.get("sort", "device")
        if sort in ("device", "commune", "district", "province", "age_s", "backlog", "pages_week", "held"):
            rows.sort(key=lambda r: (r[sort] is None, r[sort] if r[sort] is not None else 0),
                      reverse=request.query.get("desc") == "1")
        return rows

    def totals(rows: list[dict]) -> dict:
        return {"stations": len(rows), "red": sum(r["red"] for r in rows),
                "backlog": sum(r["backlog"] or 0 for r in rows), "pages_week": sum(r["pages_week"] for r in rows),
                "held": sum(r["held"] for r in rows), "alerts": sum(len(r["alerts"]) for r in rows)}

    async def overview(request: web.Request) -> web.Response:
        rows = station_rows(request)
        return pages.html(pages.overview(who(request), rows, totals(rows), request.query,
                                         heartbeats.events(state, limit=20), records.counts_by_mode(state),
                                         poll_s=opts.poll_s))

    async def api_stations(request: web.Request) -> web.Response:
        rows = station_rows(request)
        total = totals(rows)
        # "text": what the overview shows, worded from the catalogue, for its script to write as is.
        return _json({"totals": total | {"text": pages.totals_text(total, records.counts_by_mode(state))},
                      "stations": [r | {"text": pages.row_text(r)} for r in rows]})

    async def live_js(_request: web.Request) -> web.Response:
        return web.Response(body=LIVE_JS.read_bytes(), content_type="text/javascript", charset="utf-8",
                            headers={"Cache-Control": "no-cache"})

    async def commune(request: web.Request) -> web.Response:
        device = request.match_info["device"]
        now = time.time()
        rows = [r for r in heartbeats.stations(state, now=now, red_after_s=opts.red_after_s,
                                               week_start_day=_week_start(now)) if r["device"] == device]
        if not rows:
            raise web.HTTPNotFound(text=CATALOGUE["web.no_such_station"].text)
        return pages.html(pages.commune(who(request), rows[0], heartbeats.history(state, device),
                                        heartbeats.events(state, device), reports.batches(state, device),
                                        heartbeats.latest_report(state, device), reports.files_per_day(state, device),
                                        commune_series.batch_climate_by_day(state, device)))

    def visible(row: dict, role: str) -> dict:
        """A search row as *role* may see it: content only in a mode it may read (A03)."""
        if row["mode"] in readable_modes(role):
            return row
        return {k: row[k] for k in ("file_code", "mode", "documents", "pages", "commune", "province", "device_id")} | {
            "title": "", "restricted": True}

    async def api_search(request: web.Request) -> web.Response:
        query, problem = search_query.parse(request.query)
        if problem is not None:
            return _json({"error": problem.to_dict()}, status=400)
        role = who(request).role
        found = search.search(state, query.q, **query.search_args(role))
        # total is exact unless total_is_lower_bound: then more than total record files match (design 5.15).
        return _json({"total": found.total, "total_is_lower_bound": found.total_is_lower_bound,
                      "results": [visible(r, role) for r in found.rows]})

    async def search_view(request: web.Request) -> web.Response:
        query, problem = search_query.parse(request.query)
        role = who(request).role
        choices = {"modes": search_query.mode_choices(role), "types": search_query.type_choices(),
                   "communes": search_query.communes(state), "issuers": search_query.issuers(state, role)}
        if problem is not None:
            return pages.html(search_page.page(who(request), query, choices, problem=problem), status=400)
        if not query.active():
            return pages.html(search_page.page(who(request), query, choices))
        args = query.search_args(role)
        found = search.search(state, query.q, **args)
        # Content filters left out modes the role may not read; secret record files have no content to filter.
        asked = (query.mode,) if query.mode else records.MODES
        hidden = [m for m in asked if m not in args["modes"] and m != records.SECRET]
        return pages.html(search_page.page(who(request), query, choices, found=found,
                                           rows=[visible(r, role) for r in found.rows], note=bool(hidden)))

    def readable(request: web.Request, file_code: str, action: str) -> dict:
        rec = records.get_record(state, file_code)
        if rec is None:
            raise web.HTTPNotFound(text=CATALOGUE["web.no_such_record"].text)
        if rec["mode"] not in readable_modes(who(request).role):
            log(request, "view_refused", file_code, f"mode {rec['mode']}")
            raise web.HTTPForbidden(text=pages.refused(who(request), file_code,
                                                       CATALOGUE["web.record_refused"].format(mode=rec["mode"]).text),
                                    content_type="text/html")
        log(request, action, file_code)
        return rec

    async def record_page(request: web.Request) -> web.Response:
        rec = readable(request, request.match_info["code"], "view")
        return pages.html(pages.record(who(request), rec))

    async def api_record(request: web.Request) -> web.Response:
        """The record page as JSON: EAD fields, each document's values with their confidences (formats 6.7)."""
        code = request.match_info["code"]
        rec = readable(request, code, "view")
        docs = [{"n": d["n"], "fields": d["fields"],
                 "pdf": f"/record/{quote(code)}/pdf/{d['n']}" if d["pdf_key"] else None}
                for d in rec["document_list"]]
        return _json({"file_code": rec["file_code"], "title": rec["title"], "mode": rec["mode"],
                      "commune": rec.get("commune"), "fields": rec["fields"], "documents": docs})

    async def record_pdf(request: web.Request) -> web.StreamResponse:
        code, n = request.match_info["code"], int(request.match_info["n"])
        rec = readable(request, code, "download")
        doc = next((d for d in rec["document_list"] if d["n"] == n), None)
        key = doc["pdf_key"] if doc else ""
        if not key or opts.objects is None:
            raise web.HTTPNotFound(text=CATALOGUE["web.no_pdf"].text)
        loop = asyncio.get_running_loop()
        try:
            source = await loop.run_in_executor(None, opts.objects.open, key)
        except (FileNotFoundError, ValueError):
            raise web.HTTPNotFound(text=CATALOGUE["web.no_pdf"].text) from None
        response = web.StreamResponse(headers={"Content-Type": "application/pdf",
                                               "Content-Disposition": f'inline; filename="{code}-{n}.pdf"'})
        try:
            await response.prepare(request)
            while chunk := await loop.run_in_executor(None, source.read, 256 * 1024):
                await response.write(chunk)
        finally:
            source.close()
        await response.write_eof()
        return response

    async def record_export(request: web.Request) -> web.StreamResponse:
        """The record file's SIP_hoso package exactly as the station built it, checked first (export.py)."""
        code = request.match_info["code"]
        rec = readable(request, code, "export")
        device, _, rest = (rec.get("source") or "").partition("/")
        seq, _, member = rest.partition("/")
        if not (device and seq.isdigit() and member) or opts.objects is None:
            raise web.HTTPNotFound(text=CATALOGUE["web.no_package"].text)
        loop = asyncio.get_running_loop()
        with tempfile.TemporaryDirectory(prefix="sohoa-web-export-") as tmp:
            path, problem = await loop.run_in_executor(None, lambda: export_package(
                state, opts.objects, Path(tmp), device_id=device, seq=int(seq), member=member))
            if path is None:
                logger.error("export of %s refused: %s", code, problem)
                log(request, "export_refused", code, problem[:200])
                raise web.HTTPInternalServerError(text=CATALOGUE["web.export_failed"].text)
            response = web.StreamResponse(headers={"Content-Type": "application/zip",
                                                   "Content-Disposition": f'attachment; filename="{path.name}"',
                                                   "Content-Length": str(path.stat().st_size)})
            await response.prepare(request)
            with open(path, "rb") as f:
                while chunk := await loop.run_in_executor(None, f.read, 256 * 1024):
                    await response.write(chunk)
            await response.write_eof()
        return response

    async def audit_page(request: web.Request) -> web.Response:
        before = request.query.get("before", "")
        rows = audit.entries(state, action=request.query.get("action") or None,
                             before=int(before) if before.isdigit() else None)
        return pages.html(pages.audit_trail(who(request), rows, audit.verify(state)))

    async def audit_csv(request: web.Request) -> web.Response:
        log(request, "export", "audit.csv")
        return web.Response(text=audit.to_csv(audit.entries(state, limit=1_000_000)), content_type="text/csv",
                            charset="utf-8", headers={"Content-Disposition": 'attachment; filename="audit.csv"'})

    async def monthly_csv(request: web.Request) -> web.Response:
        log(request, "export", "monthly.csv")
        return web.Response(text=reports.monthly_csv(state), content_type="text/csv", charset="utf-8",
                            headers={"Content-Disposition": 'attachment; filename="monthly.csv"'})

    async def monthly_pdf(request: web.Request) -> web.Response:
        month = request.query.get("month", "")
        month = month if re.fullmatch(r"[0-9]{4}-[0-9]{2}", month) else ""
        log(request, "export", "monthly.pdf", month)
        rows = await asyncio.to_thread(reports.monthly_rows, state)
        body = await asyncio.to_thread(report_pdf.monthly_pdf, rows, month=month)
        return web.Response(body=body, content_type="application/pdf",
                            headers={"Content-Disposition": f'inline; filename="monthly{"-" + month if month else ""}.pdf"'})

    async def api_audit_verify(_request: web.Request) -> web.Response:
        check = audit.verify(state)
        return _json({"checked": check.checked, "first_bad": check.first_bad})

    async def feeder(app: web.Application):
        async def loop():
            while True:
                try:
                    n = await asyncio.to_thread(catalogue_feed.feed, state)
                    if n:
                        logger.info("fed %d record files from the catalogue", n)
                except BackendUnavailable as exc:
                    logger.warning("catalogue feed waits: %s", exc)
                except Exception:  # a row it cannot read must not stop feeding the others for good
                    logger.exception("catalogue feed failed")
                await asyncio.sleep(opts.feed_every_s)
        task = asyncio.create_task(loop())
        yield
        task.cancel()
    if opts.feed_every_s:
        app.cleanup_ctx.append(feeder)

    route(app, "GET", "/", overview, role=VIEWER)
    route(app, "GET", "/api/stations", api_stations, role=VIEWER)
    route(app, "GET", "/live.js", live_js, role=VIEWER)
    route(app, "GET", "/commune/{device}", commune, role=VIEWER)
    route(app, "GET", "/search", search_view, role=VIEWER)
    route(app, "GET", "/api/search", api_search, role=VIEWER)
    route(app, "GET", "/record/{code}", record_page, role=VIEWER)
    route(app, "GET", "/api/record/{code}", api_record, role=VIEWER)
    route(app, "GET", "/record/{code}/pdf/{n:[0-9]{1,4}}", record_pdf, role=VIEWER)
    route(app, "GET", "/record/{code}/export", record_export, role=ARCHIVIST)
    route(app, "GET", "/audit", audit_page, role=ARCHIVIST)
    route(app, "GET", "/audit.csv", audit_csv, role=ADMINISTRATOR)
    route(app, "GET", "/api/audit/verify", api_audit_verify, role=ARCHIVIST)
    route(app, "GET", "/reports/monthly.csv", monthly_csv, role=ARCHIVIST)
    route(app, "GET", "/reports/monthly.pdf", monthly_pdf, role=ARCHIVIST)
    admin.add_routes(app, state, log)
    return app
