"""The `sohoa` command: a thin dispatcher over ``firmware_agent.commands``."""

from __future__ import annotations

import argparse
import importlib
import sys

# Explicit list, in help order. Adding a command family = adding its module here.
COMMAND_MODULES = (
    "firmware_agent.commands.run",
    "firmware_agent.commands.demo",
    "firmware_agent.commands.journal",
    "firmware_agent.commands.scanners",
    "firmware_agent.commands.imaging",
    "firmware_agent.commands.records",
    "firmware_agent.commands.sync",
    "firmware_agent.commands.climate",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sohoa",
        description="Commune scanning-station appliance (sohoa).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from firmware_agent.state_lock import StateInUse

    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except StateInUse as exc:  # any command that runs an agent on a state folder already in use
        print(exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
