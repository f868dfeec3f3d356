"""The one access check of the status page (docs/design.md §3.1).

:class:`Guard` is installed on the aiohttp app as a middleware and owns the
login, logout and session routes. Every request must name an allowed host
(G1); every state-changing request must come from the page's own origin (G2)
and, unless it is the login itself, carry a live session with enough role and
its CSRF token (G3, G4). Routes declare their role through :func:`add_action`;
a state-changing route registered any other way is technician-only, and an
action mounted on an app without a guard refuses everything.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import json
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Awaitable, Callable

from aiohttp import web

from firmware_agent.messages import CATALOGUE
from sync.passwords import check_password

from firmware_agent.web.settings import WebSettings
from sync.limiter import GuessLimiter, client_key
from firmware_agent.web.sessions import OPERATOR, TECHNICIAN, Session, SessionStore, allows
from sync.catalogue import Message

PUBLIC = "public"          # no session (the login itself); still G1 and G2
SIGNED_IN = "signed-in"    # any live session (logout)
COOKIE = "sohoa_session"
CSRF_HEADER = "X-CSRF-Token"
ROLE_ATTR = "sohoa_role"
# Request key of the role the guard let through; aiohttp 3.14 wants typed keys, older releases strings.
GRANTED = web.RequestKey("sohoa_granted", str) if hasattr(web, "RequestKey") else "sohoa_granted"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_PASSWORD = 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def refuse(status: int, msg: Message, **headers: str) -> web.Response:
    """A plain-text refusal, Vietnamese first with English beside (a ``web.`` message of the catalogue)."""
    return web.Response(status=status, text=msg.text, headers=headers)


def add_action(app: web.Application, method: str, path: str, handler: Handler, *, role: str) -> web.AbstractRoute:
    """Register a state-changing route that the guard lets through for *role* and above.

    The wrapper refuses when the guard did not pass the request (an app without a
    guard, or a role mismatch), so a forgotten middleware cannot open the route.
    """

    async def guarded(request: web.Request) -> web.StreamResponse:
        granted = request.get(GRANTED)
        if granted is None or (role not in (PUBLIC, SIGNED_IN) and not allows(granted, role)):
            return refuse(403, CATALOGUE["web.unguarded"])
        return await handler(request)

    setattr(guarded, ROLE_ATTR, role)
    return app.router.add_route(method, path, guarded)


def _host_name(header: str | None) -> str | None:
    """The host of a ``Host`` header, lower-cased, without port or trailing dot; None if malformed."""
    if not header:
        return None
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1:]
        if rest and not (rest[0] == ":" and rest[1:].isdigit()):
            return None
    else:
        name, sep, port = value.partition(":")
        if sep and not port.isdigit():
            return None
    name = name.rstrip(".")
    return name or None


def _safe_next(target: str | None) -> str:
    """Only a path on this page may be a login's destination (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


class Guard:
    """Sessions, guess limits and the checks, for one app."""

    def __init__(self, *, password_hash: str = "", operator_pin_hash: str = "", operator_open: bool = False,
                 hostnames: tuple[str, ...] = (), bind: str = "127.0.0.1",
                 clock: Callable[[], float] = time.monotonic):
        self.password_hash = password_hash
        self.operator_pin_hash = "" if operator_open else operator_pin_hash
        self.operator_open = operator_open
        self.sessions = SessionStore(clock)
        self.limiter = GuessLimiter(clock)
        self.clock = clock
        names = {"localhost", "127.0.0.1", "::1"}
        names.update(h.strip("[]").rstrip(".").lower() for h in hostnames)
        if bind not in ("", "0.0.0.0", "::"):
            names.add(bind.strip("[]").lower())
        self.allowed_hosts = frozenset(names)
        self._executor: ThreadPoolExecutor | None = None
        page = resources.files("firmware_agent.web").joinpath("login.html")
        self._login_page = page.read_text(encoding="utf-8")

    @classmethod
    def from_settings(cls, settings: WebSettings, *, clock: Callable[[], float] = time.monotonic) -> Guard:
        return cls(password_hash=settings.password_hash, operator_pin_hash=settings.operator_pin_hash,
                   operator_open=settings.operator_open, hostnames=settings.hostnames, bind=settings.bind,
                   clock=clock)

    # ------------------------------------------------------------------ wiring
    def install(self, app: web.Application) -> None:
        """Put the checks in front of every route of *app* and add ``/login``, ``/logout``, ``/api/session``."""
        app.middlewares.append(self._middleware)
        app.on_response_prepare.append(self._frame_headers)
        app.on_cleanup.append(self._close)
        app.router.add_get("/login", self._login_form)
        add_action(app, "POST", "/login", self._login, role=PUBLIC)
        add_action(app, "POST", "/logout", self._logout, role=SIGNED_IN)
        app.router.add_get("/api/session", self._session_info)

    async def _close(self, _app: web.Application) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    @staticmethod
    async def _frame_headers(_request: web.Request, response: web.StreamResponse) -> None:
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
        response.headers.setdefault("Referrer-Policy", "same-origin")

    def grantable(self, role: str) -> bool:
        """True when some configured secret (or the kiosk setting) can grant *role*."""
        if role == TECHNICIAN:
            return bool(self.password_hash)
        if role == OPERATOR:
            return bool(self.password_hash or self.operator_pin_hash or self.operator_open)
        return True

    # ------------------------------------------------------------------ the check
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if _host_name(request.headers.get("Host")) not in self.allowed_hosts:  # G1
            return refuse(421, CATALOGUE["web.host_not_allowed"])
        if request.method in SAFE_METHODS:
            return await handler(request)
        if not self._same_origin(request):  # G2
            return refuse(403, CATALOGUE["web.cross_origin"])
        match = request.match_info
        if match.http_exception is not None:
            raise match.http_exception  # no such route: 404 / 405 as usual
        role = getattr(match.handler, ROLE_ATTR, TECHNICIAN)
        if role == PUBLIC:
            request[GRANTED] = PUBLIC
            return await handler(request)
        if not self.grantable(role):  # G3
            return refuse(403, CATALOGUE["web.no_technician_password"])
        session = self.sessions.get(request.cookies.get(COOKIE))  # G4
        if session is None:
            return refuse(401, CATALOGUE["web.login_required"])
        token = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(token.encode("utf-8", "surrogatepass"), session.csrf_token.encode()):
            return refuse(403, CATALOGUE["web.csrf"].format(header=CSRF_HEADER))
        if role != SIGNED_IN and not allows(session.role, role):
            return refuse(403, CATALOGUE["web.technician_required"])
        self.sessions.touch(session)
        request[GRANTED] = session.role
        return await handler(request)

    @staticmethod
    def _same_origin(request: web.Request) -> bool:
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None and site.strip().lower() not in ("same-origin", "none"):
            return False
        origin = request.headers.get("Origin")
        if origin is None:
            return True  # not a browser, or one too old to say: G4's token still has to match
        scheme, sep, authority = origin.strip().lower().partition("://")
        return bool(sep) and scheme in ("http", "https") and authority == request.headers.get("Host", "").strip().lower()

    # ------------------------------------------------------------------ routes
    def _set_cookie(self, request: web.Request, response: web.StreamResponse, session_id: str) -> None:
        response.set_cookie(COOKIE, session_id, path="/", httponly=True, samesite="Strict",
                            secure=True if request.secure else None)
        response.headers["Cache-Control"] = "no-store"

    def _session_json(self, session: Session | None) -> dict:
        return {"role": session.role if session else None,
                "csrf_token": session.csrf_token if session else None,
                "expires_in_s": round(session.expires_at() - self.clock()) if session else None,
                "kiosk": self.operator_open, "login": "/login"}

    async def _session_info(self, request: web.Request) -> web.Response:
        session = self.sessions.get(request.cookies.get(COOKIE))
        new_id = None
        if session is None and self.operator_open:
            new_id, session = self.sessions.create(OPERATOR, kiosk=True)
        response = web.json_response(self._session_json(session), headers={"Cache-Control": "no-store"})
        if new_id is not None:
            self._set_cookie(request, response, new_id)
        return response

    def _render_login(self, status: int, message: str = "", next_path: str = "/", **headers: str) -> web.Response:
        if not self.password_hash and not self.operator_pin_hash:
            message = message or CATALOGUE["web.no_password"].text
        text = (self._login_page.replace("{{message}}", html.escape(message))
                .replace("{{next}}", html.escape(_safe_next(next_path), quote=True)))
        return web.Response(status=status, text=text, content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "no-store", **headers})

    async def _login_form(self, request: web.Request) -> web.Response:
        return self._render_login(200, next_path=request.query.get("next", "/"))

    def _match(self, password: str) -> str | None:
        """The role *password* opens, or None. Slow (scrypt): runs in the guard's own thread."""
        if self.password_hash and check_password(password, self.password_hash):
            return TECHNICIAN
        if self.operator_pin_hash and check_password(password, self.operator_pin_hash):
            return OPERATOR
        return None

    async def _login(self, request: web.Request) -> web.StreamResponse:
        wants_json = (request.content_type == "application/json"
                      or "application/json" in request.headers.get("Accept", ""))
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                body = None
            password = body.get("password") if isinstance(body, dict) else None
            next_path = "/"
        else:
            form = await request.post()
            password, next_path = form.get("password"), form.get("next")
            next_path = next_path if isinstance(next_path, str) else "/"

        def answer(status: int, msg: Message, **headers: str) -> web.Response:
            if wants_json:
                return web.json_response({"error": msg.text}, status=status, headers=headers,
                                         dumps=lambda o: json.dumps(o, ensure_ascii=False))
            return self._render_login(status, msg.text, next_path, **headers)

        if not isinstance(password, str) or not password or len(password) > MAX_PASSWORD:
            return answer(400, CATALOGUE["web.enter_password"])
        key = client_key(request.remote)
        wait = self.limiter.begin(key)
        if wait:
            return answer(429, CATALOGUE["web.too_many_guesses"].format(wait=wait), **{"Retry-After": str(wait)})
        role = None
        try:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sohoa-passwd")
            role = await asyncio.get_running_loop().run_in_executor(self._executor, self._match, password)
        finally:
            self.limiter.end(key, role is not None)  # a guess whose client left counts as wrong
        if role is None:
            return answer(401, CATALOGUE["web.wrong_password"])
        self.sessions.end(request.cookies.get(COOKIE))  # a login never keeps an id it did not make
        session_id, session = self.sessions.create(role)
        if wants_json:
            response: web.StreamResponse = web.json_response(self._session_json(session))
        else:
            response = web.Response(status=303, headers={"Location": _safe_next(next_path)})
        self._set_cookie(request, response, session_id)
        return response

    async def _logout(self, request: web.Request) -> web.Response:
        self.sessions.end(request.cookies.get(COOKIE))
        response = web.json_response({"ok": True}, headers={"Cache-Control": "no-store"})
        response.del_cookie(COOKIE, path="/")
        return response
