"""`sohoa scanners` lists SANE devices; `sohoa scan` makes a one-off scan to a folder."""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from pathlib import Path

from firmware_agent import exit_codes
from firmware_agent.messages import CATALOGUE

RELEASE_LIMIT_S = 15.0  # a driver that has not stopped its frame by then never will


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scanners", help="list SANE scanners with sources, modes, resolutions and buttons")
    p.add_argument("--json", action="store_true", help="one JSON document instead of text")
    p.set_defaults(func=cmd_scanners)

    p = sub.add_parser("scan", help="one-off scan into a folder (PNG files)")
    p.add_argument("--out", required=True, type=Path, help="folder for the images")
    p.add_argument("--device", default="", help="SANE device name (default: first found)")
    p.add_argument("--source", default="adf", choices=("adf", "duplex", "flatbed"))
    p.add_argument("--mode", default="color", choices=("color", "gray"))
    p.add_argument("--resolution", type=int, default=300)
    p.add_argument("--width-mm", type=float, default=210.0, help="scan area width (clipped to the device)")
    p.add_argument("--height-mm", type=float, default=297.0, help="scan area height (clipped to the device)")
    p.add_argument("--pages", type=int, default=0, help="stop after this many images (0 = until feeder empty)")
    p.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                   help="extra backend option, e.g. test-picture=Grid")
    p.set_defaults(func=cmd_scan)


def cmd_scanners(args: argparse.Namespace) -> int:
    from drivers.sane_scanner import SaneScanner, list_devices
    from drivers.scanner import ScannerError

    try:
        devices = list_devices()
    except ScannerError as exc:
        print(f"{CATALOGUE['cli.scan.sane_error'].text}: {exc}", file=sys.stderr)
        return 1
    out = []
    for d in devices:
        try:
            scanner = SaneScanner(d["name"])
            try:
                out.append(scanner.capabilities().to_dict())
            finally:
                scanner.close()
        except ScannerError as exc:
            out.append({**d, "error": f"{type(exc).__name__}: {exc}"})
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return 0
    if not out:
        print(CATALOGUE["cli.scan.no_scanner"].text)
        return exit_codes.DEVICE_MISSING
    for c in out:
        print(f"{c['name']}: {c.get('vendor', '')} {c.get('model', '')} ({c.get('type', '')})")
        if "error" in c:
            print(f"  {CATALOGUE['cli.scan.error'].text}: {c['error']}")
            continue
        res = c["resolutions"]
        res_text = f"{res['min']}-{res['max']}" if isinstance(res, dict) else ", ".join(map(str, res))
        print(f"  sources: {', '.join(c['sources'])}; modes: {', '.join(c['modes'])}; dpi: {res_text}; "
              f"depths: {', '.join(map(str, c['depths']))}")
        print(f"  buttons: {', '.join(b['name'] for b in c['buttons']) or 'none'}")
    return 0


def cmd_scan(args: argparse.Namespace) -> int:
    from drivers.sane_scanner import SaneScanner, list_devices
    from drivers.scanner import FeederEmpty, ScannerError, ScanSettings
    from firmware_agent.operator_states import message_for_error
    from firmware_agent.pageio import write_image_atomic

    if args.resolution < 200:
        print(CATALOGUE["cli.scan.low_dpi"].text, file=sys.stderr)
    extra = {}
    for item in args.option:
        name, sep, value = item.partition("=")
        if not sep:
            print(f"--option {item!r}: expected NAME=VALUE", file=sys.stderr)
            return exit_codes.USAGE
        extra[name] = int(value) if value.isdigit() else value
    try:
        name = args.device or (list_devices() or [{"name": ""}])[0]["name"]
        if not name:
            print(CATALOGUE["cli.scan.no_scanner"].text, file=sys.stderr)
            return exit_codes.DEVICE_MISSING
        scanner = SaneScanner(name)
    except ScannerError as exc:
        print(message_for_error(exc).text + f" ({exc})", file=sys.stderr)
        return exit_codes.DEVICE_MISSING if exc.code == "unplugged" else exit_codes.FAILURE
    args.out.mkdir(parents=True, exist_ok=True)
    n, rc = 0, 0
    try:
        scanner.configure(ScanSettings(source=args.source, mode=args.mode, resolution=args.resolution,
                                       width_mm=args.width_mm, height_mm=args.height_mm, extra=extra))
        while not args.pages or n < args.pages:
            image = scanner.scan_one(first=(n == 0))
            n += 1
            path = args.out / f"scan-{n:04d}.png"
            write_image_atomic(path, image.pixels, dpi=image.dpi)
            print(path, flush=True)
            if args.source == "flatbed":
                break
    except FeederEmpty:
        if n == 0:
            print(message_for_error(FeederEmpty()).text, file=sys.stderr)
            rc = 1
    except ScannerError as exc:
        print(f"{message_for_error(exc).text} ({exc}); {CATALOGUE['cli.scan.images_saved'].format(n=n).text}",
              file=sys.stderr)
        rc = 1
    finally:
        released = release(scanner, RELEASE_LIMIT_S)
    if not released:
        # The fault (if any) is printed above; a thread stuck inside the driver would also
        # hang the interpreter's exit, so leave at once.
        print(CATALOGUE["cli.scan.did_not_stop"].format(n=n).text, file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)
    if rc == 0:
        print(f"{n} {CATALOGUE['cli.scan.images'].text} -> {args.out}", file=sys.stderr)
    return rc


def release(scanner, limit_s: float) -> bool:
    """End the batch and close *scanner*; False when the driver has not returned within *limit_s*.

    A SANE backend whose reader thread is cancelled at the wrong moment never returns
    from sane_cancel (see drivers.sane_scanner), so the calls run on a thread of their own.
    """
    def work() -> None:
        try:
            scanner.end_batch()
        finally:
            scanner.close()
    worker = threading.Thread(target=work, name="scanner-release", daemon=True)
    worker.start()
    worker.join(limit_s)
    return not worker.is_alive()
