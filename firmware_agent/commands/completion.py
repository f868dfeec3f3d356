"""`sohoa completion`: the bash completion script for `sohoa` (argcomplete's protocol)."""

from __future__ import annotations

import argparse
import sys

from firmware_agent import exit_codes
from firmware_agent.messages import CATALOGUE


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("completion", help="print the bash completion script "
                                          "(sohoa completion > /etc/bash_completion.d/sohoa)")
    p.set_defaults(func=cmd_completion)


def cmd_completion(_args: argparse.Namespace) -> int:
    try:
        import argcomplete
    except ImportError:
        print(CATALOGUE["cli.completion_unavailable"].text, file=sys.stderr)
        return exit_codes.FAILURE
    sys.stdout.write(argcomplete.shellcode(["sohoa"], shell="bash"))
    return exit_codes.OK
