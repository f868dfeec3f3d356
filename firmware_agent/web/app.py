"""Status page, JSON status, Prometheus metrics and the operator's actions.

Reading is open to any request that names an allowed host (the page binds to
loopback unless ``web.allow_lan``); anything that changes state goes through
the :class:`~firmware_agent.web.guard.Guard` (session, CSRF token, Origin,
role). Scan and cancel are operator actions. Subsystems
(:class:`firmware_agent.subsystem.Subsystem`) plug in with their ``status()``,
``metrics()`` and ``add_routes(app)`` (state-changing routes through
``guard.add_action``); the page shows every subsystem's status under its name.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from typing import Callable, Protocol

from aiohttp import web

from firmware_agent.messages import CATALOGUE
from firmware_agent.subsystem import Subsystem
from firmware_agent.web.guard import Guard, add_action
from firmware_agent.web.sessions import OPERATOR


class Actions(Protocol):
    def scan(self, device: str | None, profile: str | None) -> dict: ...

    def cancel(self, device: str | None) -> dict: ...


def build_app(*, core_status: Callable[[], dict], core_metrics: Callable[[], list[str]],
              sources: list[Subsystem], actions: Actions, guard: Guard) -> web.Application:
    app = web.Application(client_max_size=64 * 1024)
    guard.install(app)
    page = resources.files("firmware_agent.web").joinpath("status.html").read_text(encoding="utf-8")
    # The catalogue does not change while the agent runs: one body, one validator.
    messages_body = json.dumps(CATALOGUE.to_dict(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    messages_etag = '"' + hashlib.sha256(messages_body).hexdigest()[:32] + '"'

    def full_status() -> dict:
        status = core_status()
        for src in sources:
            try:
                status[src.name] = src.status()
            except Exception as exc:  # one broken source must not blank the page
                status[src.name] = {"error": f"{type(exc).__name__}: {exc}"}
        return status

    async def index(_request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html", charset="utf-8")

    async def api_status(_request: web.Request) -> web.Response:
        return web.json_response(full_status(), dumps=lambda o: json.dumps(o, ensure_ascii=False, default=str))

    async def api_messages(request: web.Request) -> web.Response:
        """Every message of the station's catalogue, unfilled, for the page to take its words from (design §1.1 M8)."""
        headers = {"ETag": messages_etag, "Cache-Control": "no-cache"}
        if messages_etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        return web.Response(body=messages_body, content_type="application/json", charset="utf-8", headers=headers)

    async def metrics(_request: web.Request) -> web.Response:
        lines = list(core_metrics())
        for src in sources:
            try:
                lines.extend(src.metrics())
            except Exception:  # keep the other metrics flowing
                lines.append(f'sohoa_source_error{{source="{src.name}"}} 1')
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain", charset="utf-8",
                            headers={"X-Content-Type-Options": "nosniff"})

    async def read_json(request: web.Request) -> dict:
        if not request.can_read_body:
            return {}
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise web.HTTPBadRequest(text=CATALOGUE["web.body_not_json"].text) from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text=CATALOGUE["web.body_not_object"].text)
        return body

    async def scan(request: web.Request) -> web.Response:
        body = await read_json(request)
        result = actions.scan(body.get("device"), body.get("profile"))
        return web.json_response(result, status=202 if result.get("ok") else 409)

    async def cancel(request: web.Request) -> web.Response:
        body = await read_json(request)
        return web.json_response(actions.cancel(body.get("device")))

    app.router.add_get("/", index)
    app.router.add_get("/api/status", api_status)
    app.router.add_get("/api/messages", api_messages)
    app.router.add_get("/metrics", metrics)
    add_action(app, "POST", "/api/scan", scan, role=OPERATOR)
    add_action(app, "POST", "/api/cancel", cancel, role=OPERATOR)
    for src in sources:
        src.add_routes(app)
    return app
