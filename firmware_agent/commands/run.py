"""`sohoa run` (the daemon), `sohoa config`, `sohoa passwd`, `sohoa messages`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import signal
import sys

from firmware_agent.messages import CATALOGUE


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the appliance agent (what systemd starts)")
    p.add_argument("--config", default="/etc/sohoa/sohoa.toml", help="TOML config file")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("config", help="check or explain the config file")
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


def cmd_run(args: argparse.Namespace) -> int:
    from firmware_agent.config import ConfigError, load_config
    from firmware_agent.logs import setup_logging

    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"{CATALOGUE['cli.config_error'].text}: {exc}", file=sys.stderr)
        return 2
    setup_logging(cfg.agent.log_level)
    return asyncio.run(serve(cfg))


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
    from firmware_agent.config import ConfigError, explain, load_config

    if args.action == "explain":
        print("\n".join(explain()))
        return 0
    try:
        load_config(args.path)
    except ConfigError as exc:
        print(f"{CATALOGUE['cli.config_error'].text}: {exc}", file=sys.stderr)
        return 2
    print(f"{CATALOGUE['cli.config_ok'].text}: {args.path}")
    return 0


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
