"""Run a receiver process: ``python -m central.serve --root DIR [--host H] [--port P]``.

The appliance's CLI has its own ``sohoa receiver`` command with the SIP
check wired in; this entry point serves the sync package alone (tests, a
receiver host that does not install the appliance). Without
``--metrics-port`` it starts no metrics listener.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from central.receiver import ReceiverOptions
from central.receiver_app import build_receiver_app, serve_forever
from sync.logs import setup_logging


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m central.serve", description=__doc__)
    p.add_argument("--root", required=True, type=Path)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8470)
    p.add_argument("--metrics-host", default="127.0.0.1")
    p.add_argument("--metrics-port", type=int, default=None)
    p.add_argument("--max-size", type=int, default=ReceiverOptions.max_size)
    p.add_argument("--takeover-idle", type=float, default=ReceiverOptions.takeover_idle_s)
    p.add_argument("--body-idle-timeout", type=float, default=ReceiverOptions.body_idle_timeout_s)
    p.add_argument("--header-timeout", type=float, default=ReceiverOptions.header_timeout_s)
    p.add_argument("--idle-timeout", type=float, default=ReceiverOptions.idle_timeout_s)
    args = p.parse_args(argv)
    setup_logging("info", sys.stderr)  # the station's format, journald priorities (sync/logs.py)
    opts = ReceiverOptions(max_size=args.max_size, takeover_idle_s=args.takeover_idle,
                           body_idle_timeout_s=args.body_idle_timeout, header_timeout_s=args.header_timeout,
                           idle_timeout_s=args.idle_timeout)
    serve_forever(build_receiver_app(args.root, opts=opts), args.host, args.port, metrics_host=args.metrics_host,
                  metrics_port=args.metrics_port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
