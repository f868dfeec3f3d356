"""`sohoa-central web | users | audit-trail`: the central web's commands (design §5.15)."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Callable

from central.messages import CATALOGUE
from central.web.staff import ROLES

DEFAULT_WEB_PORT = 8472


def register(action: Callable[..., argparse.ArgumentParser], open_state: Callable) -> None:
    """Add the web's commands; *action* makes a subcommand with --root/--config, *open_state* opens its state."""
    p = action("web", "serve the staff web (overview, search, record files, audit trail)",
               lambda args: cmd_web(args, open_state))
    p.add_argument("--host", default="127.0.0.1", help="bind address (TLS in a proxy in front)")
    p.add_argument("--port", type=int, default=DEFAULT_WEB_PORT, help=f"default {DEFAULT_WEB_PORT}")
    p.add_argument("--hostname", action="append", default=[], metavar="NAME",
                   help="a host name staff reach the web by (repeatable; loopback names always allowed)")
    p.add_argument("--red-after-hours", type=float, default=6.0, help="a station silent this long is red")
    p = action("users", "add, re-password, disable or list staff accounts",
               lambda args: cmd_users(args, open_state))
    p.add_argument("op", choices=("add", "passwd", "disable", "list"))
    p.add_argument("name", nargs="?")
    p.add_argument("--role", choices=ROLES, default="viewer")
    p.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    action("audit-trail", "verify the web's audit trail hash chain", lambda args: cmd_audit(args, open_state))


def cmd_web(args: argparse.Namespace, open_state: Callable) -> int:
    import asyncio
    import signal

    from aiohttp import web

    from central.web.app import WebOptions, build_web_app

    from central.backends import open_store
    from central.catalogue_objects import objects_for
    from central.config import load

    state = open_state(args)
    if state is None:
        return 1
    objects = objects_for(open_store(load(args.config), args.root, state))
    app = build_web_app(state, WebOptions(hostnames=tuple(args.hostname), red_after_s=args.red_after_hours * 3600,
                                          objects=objects))

    async def main() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, args.host, args.port)
        await site.start()
        port = runner.addresses[0][1]
        print(CATALOGUE["cli.web_ready"].format(url=f"http://{args.host}:{port}/").text, flush=True)
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
            state.close()
    asyncio.run(main())
    return 0


def cmd_users(args: argparse.Namespace, open_state: Callable) -> int:
    from central.web import audit, staff

    state = open_state(args)
    if state is None:
        return 1
    try:
        if args.op == "list":
            for u in staff.users(state):
                print(f"{u['name']}\t{u['role']}\t{'disabled' if u['disabled'] else ''}")
            return 0
        if not args.name:
            print(CATALOGUE["cli.no_such_user"].format(name="").text, file=sys.stderr)
            return 2
        if args.op == "disable":
            if not staff.disable_user(state, args.name):
                print(CATALOGUE["cli.no_such_user"].format(name=args.name).text, file=sys.stderr)
                return 1
            audit.append(state, actor="cli", role="administrator", action="user_disable", target=args.name)
            print(CATALOGUE["cli.user_disabled"].format(name=args.name).text)
            return 0
        password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass()
        try:
            staff.add_user(state, args.name, args.role, password)
        except ValueError as exc:
            print(CATALOGUE["cli.user_refused"].format(detail=str(exc)).text, file=sys.stderr)
            return 2
        audit.append(state, actor="cli", role="administrator", action="user_add" if args.op == "add" else
                     "user_passwd", target=args.name, detail=args.role)
        print(CATALOGUE["cli.user_saved"].format(name=args.name, role=args.role).text)
        return 0
    finally:
        state.close()


def cmd_audit(args: argparse.Namespace, open_state: Callable) -> int:
    from central.web import audit

    state = open_state(args)
    if state is None:
        return 1
    try:
        check = audit.verify(state)
    finally:
        state.close()
    if check.first_bad is None:
        print(CATALOGUE["cli.audit_chain_ok"].format(n=check.checked).text)
        return 0
    print(CATALOGUE["cli.audit_chain_broken"].format(seq=check.first_bad).text, file=sys.stderr)
    return 1
