"""The `sohoa` command: a thin dispatcher over ``firmware_agent.commands``.

Whatever a command does, it ends with one of the statuses of
``firmware_agent.exit_codes`` and never with a traceback for Ctrl-C or for a
reader that went away (``sohoa imaging analyze … | head``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from firmware_agent import exit_codes
from firmware_agent.messages import CATALOGUE
from firmware_agent.metrics import version

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
    "firmware_agent.commands.completion",
)


def _epilog() -> str:
    meanings = ((exit_codes.OK, CATALOGUE["cli.exit_codes.ok"]),
                (exit_codes.FAILURE, CATALOGUE["cli.exit_codes.failure"]),
                (exit_codes.USAGE, CATALOGUE["cli.exit_codes.usage"]),
                (exit_codes.CONFIG, CATALOGUE["cli.exit_codes.config"]),
                (exit_codes.STATE_IN_USE, CATALOGUE["cli.exit_codes.state_in_use"]),
                (exit_codes.DEVICE_MISSING, CATALOGUE["cli.exit_codes.device_missing"]),
                (exit_codes.INTERRUPTED, CATALOGUE["cli.exit_codes.interrupted"]),
                (exit_codes.BROKEN_PIPE, CATALOGUE["cli.exit_codes.broken_pipe"]))
    return "\n".join([f"{CATALOGUE['cli.exit_codes.title'].text}:",
                      *(f"  {code:3d}  {message.text}" for code, message in meanings)])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sohoa",
        description="Commune scanning-station appliance (sohoa).",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"sohoa {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    _with_epilog(parser, parser.epilog)
    return parser


def _with_epilog(parser: argparse.ArgumentParser, epilog: str) -> None:
    """Every command's and action's ``--help`` ends with the exit statuses, not only ``sohoa --help``."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                if not child.epilog:
                    child.epilog = epilog
                    child.formatter_class = argparse.RawDescriptionHelpFormatter
                _with_epilog(child, epilog)


def _complete(parser: argparse.ArgumentParser) -> None:
    """Answer bash's completion request (argcomplete's protocol) when the shell asks; else nothing."""
    if "_ARGCOMPLETE" not in os.environ:
        return
    try:
        import argcomplete
    except ImportError:  # the optional package is not installed: no completion, no error
        return
    argcomplete.autocomplete(parser)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    _complete(parser)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return exit_codes.USAGE
    from firmware_agent.state_lock import StateInUse

    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return exit_codes.INTERRUPTED
    except BrokenPipeError:
        # The reader is gone: nothing more can be said to it, and Python's own flush at exit
        # must not raise again on the closed pipe.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return exit_codes.BROKEN_PIPE
    except StateInUse as exc:  # any command that runs an agent on a state folder already in use
        print(exc, file=sys.stderr)
        return exit_codes.STATE_IN_USE
    except Exception as exc:
        # Ctrl-C inside a C extension (numba loading a cached kernel) comes back as the
        # extension's SystemError with the KeyboardInterrupt as its cause, as many levels
        # down as the extension nests calls (numba's kernels unpickling kernels): still Ctrl-C.
        if _interrupted(exc):
            return exit_codes.INTERRUPTED
        raise


def _interrupted(exc: BaseException) -> bool:
    """Whether a KeyboardInterrupt is somewhere in *exc*'s chain of causes."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def entry() -> None:
    """The console script: Ctrl-C while the commands are still being imported ends quietly too."""
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(exit_codes.INTERRUPTED)


if __name__ == "__main__":
    entry()
