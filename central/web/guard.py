"""The one access check of the central web (design §5.15, W1-W5).

Every request names an allowed host (W1); a state-changing one comes from the
page's own origin (W2) and carries a live session and its CSRF token (W3);
every route states its least role (W4), and a route registered without one
needs an administrator; ``POST /login`` is guess-limited (W5). Sessions live
in this process's memory, keyed by SHA-256 of their id.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Awaitable, Callable

from aiohttp import web

from central.messages import CATALOGUE
from central.web import audit
from central.web.staff import ADMINISTRATOR, VIEWER, allows, check_login
from sync.limiter import GuessLimiter, client_key

PUBLIC = "public"
COOKIE = "sohoa_central_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
ROLE_ATTR = "sohoa_central_role"
SESSION = web.RequestKey("sohoa_central_session", object) if hasattr(web, "RequestKey") else "sohoa_central_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
IDLE_S, ABSOLUTE_S, MAX_SESSIONS = 30 * 60.0, 8 * 3600.0, 5000
MAX_FIELD = 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class StaffSession:
    user: str
    role: str
    csrf_token: str
    created: float
    last_used: float

    def expired(self, now: float) -> bool:
        return now >= min(self.last_used + IDLE_S, self.created + ABSOLUTE_S)


def route(app: web.Application, method: str, path: str, handler: Handler, *, role: str) -> None:
    """Register *handler* for staff of *role* and above (W4); the wrapper re-checks, so a missing guard fails closed."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        session = request.get(SESSION)
        if role != PUBLIC and (session is None or not allows(session.role, role)):
            return web.Response(status=403, text=CATALOGUE["web.forbidden"].text)
        return await handler(request)

    setattr(guarded, ROLE_ATTR, role)
    app.router.add_route(method, path, guarded)


def host_name(header: str | None) -> str | None:
    """The host of a ``Host`` header, lower-cased, without port; None if malformed."""
    if not header:
        return None
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0 or (value[end + 1:] and not (value[end + 1] == ":" and value[end + 2:].isdigit())):
            return None
        return value[1:end] or None
    name, sep, port = value.partition(":")
    if sep and not port.isdigit():
        return None
    return name.rstrip(".") or None


def safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


class StaffGuard:
    def __init__(self, state, *, hostnames: tuple[str, ...] = (), clock: Callable[[], float] = time.monotonic):
        self.state = state
        self.clock = clock
        self.limiter = GuessLimiter(clock)
        self.allowed_hosts = frozenset({"localhost", "127.0.0.1", "::1"} |
                                       {h.strip("[]").rstrip(".").lower() for h in hostnames})
        self._sessions: dict[str, StaffSession] = {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sohoa-staff-login")

    # ------------------------------------------------------------------ sessions
    @staticmethod
    def _key(session_id: str) -> str:
        return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()

    def session(self, request: web.Request) -> StaffSession | None:
        session_id = request.cookies.get(COOKIE)
        if not session_id:
            return None
        s = self._sessions.get(self._key(session_id))
        if s is None:
            return None
        if s.expired(self.clock()):
            self._sessions.pop(self._key(session_id), None)
            return None
        return s

    def _create(self, user: str, role: str) -> tuple[str, StaffSession]:
        now = self.clock()
        if len(self._sessions) >= MAX_SESSIONS:
            for k in [k for k, s in self._sessions.items() if s.expired(now)]:
                del self._sessions[k]
            while len(self._sessions) >= MAX_SESSIONS:
                del self._sessions[min(self._sessions, key=lambda k: self._sessions[k].last_used)]
        session_id = secrets.token_urlsafe(32)
        s = StaffSession(user, role, secrets.token_urlsafe(32), now, now)
        self._sessions[self._key(session_id)] = s
        return session_id, s

    # ------------------------------------------------------------------ wiring
    def install(self, app: web.Application, login_page: Callable[[str, str], str]) -> None:
        self._login_page = login_page
        app.middlewares.append(self._middleware)
        app.on_response_prepare.append(self._headers)
        app.on_cleanup.append(self._close)
        route(app, "GET", "/login", self._login_form, role=PUBLIC)
        route(app, "POST", "/login", self._login, role=PUBLIC)
        route(app, "POST", "/logout", self._logout, role=VIEWER)

    async def _close(self, _app: web.Application) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    @staticmethod
    async def _headers(_request: web.Request, response: web.StreamResponse) -> None:
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy",
                                    "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; "
                                    "object-src 'self'")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Cache-Control", "no-store")

    @staticmethod
    def _same_origin(request: web.Request) -> bool:
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None and site.strip().lower() not in ("same-origin", "none"):
            return False
        origin = request.headers.get("Origin")
        if origin is None:
            return True  # not a browser: the CSRF token must still match
        scheme, sep, authority = origin.strip().lower().partition("://")
        return bool(sep) and scheme in ("http", "https") and authority == request.headers.get("Host", "").strip().lower()

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if host_name(request.headers.get("Host")) not in self.allowed_hosts:  # W1
            return web.Response(status=421, text=CATALOGUE["web.host_not_allowed"].text)
        match = request.match_info
        if match.http_exception is not None:
            raise match.http_exception
        role = getattr(match.handler, ROLE_ATTR, ADMINISTRATOR)
        unsafe = request.method not in SAFE_METHODS
        if unsafe and not self._same_origin(request):  # W2
            return web.Response(status=403, text=CATALOGUE["web.cross_origin"].text)
        if role == PUBLIC:
            return await handler(request)
        session = self.session(request)
        if session is None:
            if request.method == "GET" and not request.path.startswith("/api/"):
                raise web.HTTPSeeOther(f"/login?next={request.path_qs}" if request.path != "/" else "/login")
            return web.Response(status=401, text=CATALOGUE["web.login_required"].text)
        if unsafe:  # W3
            token = request.headers.get(CSRF_HEADER)
            if token is None and request.content_type == "application/x-www-form-urlencoded":
                token = (await request.post()).get(CSRF_FIELD)
            if not isinstance(token, str) or not hmac.compare_digest(token.encode("utf-8", "surrogatepass"),
                                                                     session.csrf_token.encode()):
                return web.Response(status=403, text=CATALOGUE["web.csrf"].text)
        if not allows(session.role, role):  # W4
            return web.Response(status=403, text=CATALOGUE["web.forbidden"].text)
        session.last_used = self.clock()
        request[SESSION] = session
        return await handler(request)

    # ------------------------------------------------------------------ login
    def _render(self, status: int, message: str, next_path: str, **headers: str) -> web.Response:
        return web.Response(status=status, text=self._login_page(message, safe_next(next_path)),
                            content_type="text/html", charset="utf-8", headers=headers)

    async def _login_form(self, request: web.Request) -> web.Response:
        return self._render(200, "", request.query.get("next", "/"))

    async def _login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        user, password, next_path = form.get("user"), form.get("password"), form.get("next")
        next_path = next_path if isinstance(next_path, str) else "/"
        if (not isinstance(user, str) or not isinstance(password, str) or not user or not password
                or len(user) > 64 or len(password) > MAX_FIELD):
            return self._render(400, CATALOGUE["web.enter_user_password"].text, next_path)
        key = client_key(request.remote)
        wait = self.limiter.begin(key)  # W5
        if wait:
            return self._render(429, CATALOGUE["web.too_many_guesses"].format(wait=wait).text, next_path,
                                **{"Retry-After": str(wait)})
        role = None
        try:
            role = await asyncio.get_running_loop().run_in_executor(self._executor, check_login, self.state,
                                                                    user, password)
        finally:
            self.limiter.end(key, role is not None)
        if role is None:
            audit.append(self.state, actor=user[:64], role="", action="login_failed", client=key)
            return self._render(401, CATALOGUE["web.wrong_login"].text, next_path)
        old = request.cookies.get(COOKIE)
        if old:
            self._sessions.pop(self._key(old), None)
        session_id, _session = self._create(user, role)
        audit.append(self.state, actor=user, role=role, action="login", client=key)
        response = web.Response(status=303, headers={"Location": safe_next(next_path)})
        response.set_cookie(COOKIE, session_id, path="/", httponly=True, samesite="Strict",
                            secure=True if request.secure else None)
        return response

    async def _logout(self, request: web.Request) -> web.Response:
        session = request.get(SESSION)
        old = request.cookies.get(COOKIE)
        if old:
            self._sessions.pop(self._key(old), None)
        if session is not None:
            audit.append(self.state, actor=session.user, role=session.role, action="logout",
                         client=client_key(request.remote))
        response = web.Response(status=303, headers={"Location": "/login"})
        response.del_cookie(COOKIE, path="/")
        return response
