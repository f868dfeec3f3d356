"""The administrator's page of the central web: staff accounts, enrollment tokens, device revocation
(design §5.15). Every change is a form POST through the guard (session, CSRF token, same origin) and
an audit entry; a minted token is shown once and never stored in clear (the state keeps its hash)."""

from __future__ import annotations

from aiohttp import web

from central.messages import CATALOGUE
from central.web import pages, staff
from central.web.guard import SESSION, route
from sync.canon import DEVICE_ID_RE



def add_routes(app: web.Application, state, log) -> None:
    """``GET /admin``, ``POST /admin/users``, ``POST /admin/tokens``, ``POST /admin/revoke`` (administrator)."""

    def show(request: web.Request, message: str = "", status: int = 200) -> web.Response:
        return pages.html(pages.admin(request[SESSION], staff.users(state), state.devices(), message), status)

    async def page(request: web.Request) -> web.Response:
        return show(request)

    async def add_user(request: web.Request) -> web.Response:
        form = await request.post()
        name, role, password = (str(form.get(k, "")) for k in ("name", "role", "password"))
        if not DEVICE_ID_RE.fullmatch(name):
            return show(request, CATALOGUE["web.bad_user_name"].text, 400)
        try:
            staff.add_user(state, name, role, password)
        except ValueError as exc:
            return show(request, CATALOGUE["cli.user_refused"].format(detail=str(exc)).text, 400)
        log(request, "user_add", name, role)
        return show(request, CATALOGUE["cli.user_saved"].format(name=name, role=role).text)

    async def mint(request: web.Request) -> web.Response:
        form = await request.post()
        device = str(form.get("device", ""))
        if not DEVICE_ID_RE.fullmatch(device):
            return show(request, CATALOGUE["cli.invalid_device_id"].text, 400)
        token = state.mint_token(device, ttl_s=24 * 3600)
        log(request, "token_mint", device)
        return show(request, CATALOGUE["web.token_minted"].format(device=device, token=token).text)

    async def revoke(request: web.Request) -> web.Response:
        form = await request.post()
        device = str(form.get("device", ""))
        if not state.revoke(device):
            return show(request, CATALOGUE["cli.no_active_device"].format(device=device).text, 404)
        log(request, "device_revoke", device)
        return show(request, f"{CATALOGUE['cli.revoked'].text}: {device}")

    route(app, "GET", "/admin", page, role=staff.ADMINISTRATOR)
    route(app, "POST", "/admin/users", add_user, role=staff.ADMINISTRATOR)
    route(app, "POST", "/admin/tokens", mint, role=staff.ADMINISTRATOR)
    route(app, "POST", "/admin/revoke", revoke, role=staff.ADMINISTRATOR)
