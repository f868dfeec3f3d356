"""`sohoa run` (the daemon), `sohoa config`, `sohoa passwd`, `sohoa messages`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import signal
import sys

from firmware_agent import exit_codes
from firmware_agent.kernel_cache import kernels_cached
from firmware_agent.messages import CATALOGUE


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the appliance agent (what systemd starts)")
    p.add_argument("--config", default="/etc/sohoa/sohoa.toml", help="TOML config file")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("config", help="check the config file as `sohoa run` reads it (every problem, with its "
                                      "line), or explain every setting")
    p.add_argument("action", choices=("check", "explain"))
    p.add_argument("path", nargs="?", default="/etc/sohoa/sohoa.toml")
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("passwd", help="print the hash of a technician password for web.password_hash "
                                      "(--operator: of an operator PIN for web.operator_pin_hash)")
    p.add_argument("--operator", action="store_true",
                   help="hash an operator PIN (scan and cancel only) instead of the technician password")
    p.set_defaults(func=cmd_passwd)

    p = sub.add_parser("messages", help="print every operator message (Vietnamese / English)")
    p.set_defaults(func=cmd_messages)


def load_checked(path: str):
    """The station's config from *path*, or None after printing every problem with its line.

    `sohoa run` and `sohoa config check` both read the file through here, so they
    accept and refuse exactly the same files.
    """
    from firmware_agent.config import ConfigError, load_config

    try:
        return load_config(path, installed=True)
    except ConfigError as exc:
        head = CATALOGUE["cli.config_problems"].format(n=len(exc.problems), path=path).text
        print(f"{CATALOGUE['cli.config_error'].text}: {head}", file=sys.stderr)
        for line, problem in zip(exc.lines, exc.problems):
            print(f"  line {line}: {problem}" if line else f"  {problem}", file=sys.stderr)
        return None


def cmd_run(args: argparse.Namespace) -> int:
    from firmware_agent.state_lock import StateInUse
    from sync.logs import setup_logging

    cfg = load_checked(args.config)
    if cfg is None:
        return exit_codes.CONFIG
    setup_logging(cfg.agent.log_level)
    if not kernels_cached():  # the service's first start after an install waits on numba: say why
        logging.getLogger("sohoa.agent").info(CATALOGUE["cli.imaging.compiling"].text)
    try:
        return asyncio.run(serve(cfg))
    except StateInUse:
        raise
    except OSError as exc:  # a folder it may not write, a port in use: said in one line, not a traceback
        print(f"{CATALOGUE['cli.start_failed'].text}: {exc}", file=sys.stderr)
        return exit_codes.FAILURE


async def serve(cfg, *, ready=None) -> int:
    """Run the agent until SIGTERM or SIGINT."""
    from firmware_agent.agent import Agent
    from firmware_agent.wiring import optional_sources

    agent = Agent(cfg)
    agent.sources.extend(optional_sources(cfg, agent))
    await agent.start()
    print(f"{CATALOGUE['cli.status_page'].text}: {agent.address}", flush=True)
    if ready is not None:
        ready(agent)
    stop = asyncio.Event()
    keeper = asyncio.create_task(keep_signal_handlers(stop))
    await stop.wait()
    keeper.cancel()
    await agent.stop()
    return 0


async def keep_signal_handlers(stop: asyncio.Event, period_s: float = 0.2) -> None:
    """Install SIGTERM/SIGINT handlers, and install them again every *period_s*.

    Some SANE backends reset signal dispositions from their reader thread (the
    test backend sets SIGTERM back to its default when a scan starts), which
    would make `systemctl stop` kill the agent instead of stopping it cleanly.
    Dispositions are process-wide and only the main thread may set them, so the
    event loop re-asserts ours.
    """
    loop = asyncio.get_running_loop()
    while True:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await asyncio.sleep(period_s)


def cmd_config(args: argparse.Namespace) -> int:
    from firmware_agent.config import explain

    if args.action == "explain":
        print("\n".join(explain()))
        return exit_codes.OK
    if load_checked(args.path) is None:
        return exit_codes.CONFIG
    print(f"{CATALOGUE['cli.config_ok'].text}: {args.path}")
    return exit_codes.OK


def cmd_passwd(args: argparse.Namespace) -> int:
    from sync.passwords import hash_password

    # A PIN is typed on a touch screen, so it may be short; guessing is limited (docs/design.md §3.1).
    key, minimum, too_short, prompt = (
        ("operator_pin_hash", 6, CATALOGUE["cli.passwd.pin_too_short"], CATALOGUE["cli.passwd.new_pin"])
        if args.operator else
        ("password_hash", 8, CATALOGUE["cli.passwd.password_too_short"], CATALOGUE["cli.passwd.new_password"]))
    if sys.stdin.isatty():
        first = getpass.getpass(f"{prompt.text}: ")
        if getpass.getpass(f"{CATALOGUE['cli.passwd.again'].text}: ") != first:
            print(CATALOGUE["cli.passwd.mismatch"].text, file=sys.stderr)
            return 1
    else:
        first = sys.stdin.readline().rstrip("\n")
    if len(first) < minimum:
        print(too_short.format(n=minimum).text, file=sys.stderr)
        return 1
    print(f'{key} = "{hash_password(first)}"')
    return 0


def cmd_messages(_args: argparse.Namespace) -> int:
    from firmware_agent.operator_states import markdown_table

    print(markdown_table())
    return 0
