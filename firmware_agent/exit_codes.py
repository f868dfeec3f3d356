"""The exit statuses of `sohoa`, one meaning each (`sohoa --help` lists them; the systemd unit uses CONFIG).

systemd's ``RestartPreventExitStatus=`` names CONFIG: a config error is not
fixed by restarting, so the unit stops at once instead of running into its
start limit. STATE_IN_USE and DEVICE_MISSING may clear by themselves and are
restarted like any failure.
"""

from __future__ import annotations

OK = 0
FAILURE = 1          # the command ran and failed (see its message)
USAGE = 2            # wrong command line (argparse's own status)
CONFIG = 3           # the config file cannot be used
STATE_IN_USE = 4     # another agent, demo or command holds the state folder
DEVICE_MISSING = 5   # no scanner (or not the one named) answers
INTERRUPTED = 130    # Ctrl-C (128 + SIGINT)
BROKEN_PIPE = 141    # the reader of the output went away, as `| head` does (128 + SIGPIPE)

