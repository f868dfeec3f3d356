"""`sohoa imaging analyze FILE...` and `sohoa imaging clean IN OUT [--bitonal OUT2]`.

``analyze`` prints one JSON object per input file, one per line (a contract other
tools rely on, see docs/design.md section 4). ``ms`` is the pipeline time,
excluding file decoding. A file that cannot be read or processed gives a line
with ``error`` instead, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from firmware_agent.messages import CATALOGUE


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("imaging", help="page clean-up: analyse or clean image files")
    isub = p.add_subparsers(dest="imaging_command", metavar="ACTION")
    a = isub.add_parser("analyze", help="print skew, blank, content box and warnings as JSON lines")
    a.add_argument("files", nargs="+", type=Path, metavar="FILE")
    a.set_defaults(func=cmd_analyze)
    c = isub.add_parser("clean", help="write the corrected colour page (and a bitonal page)")
    c.add_argument("input", type=Path, metavar="IN")
    c.add_argument("output", type=Path, metavar="OUT", help=".jpg, .png or .tif")
    c.add_argument("--bitonal", type=Path, metavar="OUT2", help="bitonal page for OCR (.png or .tif)")
    c.add_argument("--quality", type=int, default=90, help="JPEG quality (default 90)")
    c.set_defaults(func=cmd_clean)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _process(path: Path):
    from firmware_agent.pageio import read_image
    from imaging.pipeline import process_page

    pixels, dpi = read_image(path)
    t0 = time.perf_counter()
    result = process_page(pixels, dpi)
    return result, dpi, (time.perf_counter() - t0) * 1e3


def _warm_up() -> None:
    # Load (or compile) the kernels for gray and colour pages once, so that the
    # first file's `ms` measures processing, not the loading of compiled code.
    import numpy as np

    from imaging.pipeline import process_page

    # A small page with skewed "text lines", so rotation and binarization run too.
    page = np.full((400, 300), 230, np.uint8)
    for row in range(40, 360, 16):
        for x in range(20, 280):
            y = row - x * 3 // 100
            page[y:y + 5, x] = 20
    process_page(page, 100)
    process_page(np.repeat(page[:, :, None], 3, axis=2), 100)


def cmd_analyze(args: argparse.Namespace) -> int:
    from firmware_agent.pageio import PageReadError
    from imaging.pipeline import ANALYSIS_VERSION

    _warm_up()
    status = 0
    for path in args.files:
        try:
            result, _, ms = _process(path)
        except (PageReadError, ValueError) as exc:  # imaging.errors.ImageError is a ValueError
            print(json.dumps({"file": str(path), "error": str(exc)}, ensure_ascii=False), flush=True)
            status = 1
            continue
        a = result.analysis
        print(json.dumps({
            "version": ANALYSIS_VERSION,
            "file": str(path),
            "skew_deg": round(a.skew_deg, 4),
            "skew_confidence": round(a.skew_confidence, 4),
            "blank": a.blank,
            "content_box": a.content_box,
            "warnings": a.warnings,
            "ms": round(ms, 1),
        }, ensure_ascii=False), flush=True)
    return status


def cmd_clean(args: argparse.Namespace) -> int:
    from firmware_agent.pageio import PageReadError, write_image_atomic

    try:
        result, dpi, ms = _process(args.input)
        write_image_atomic(args.output, result.colour, dpi=dpi, quality=args.quality)
        if args.bitonal:
            write_image_atomic(args.bitonal, result.bitonal, dpi=dpi)
    except (PageReadError, ValueError, OSError) as exc:
        print(f"{CATALOGUE['cli.clean_failed'].text}: {exc}", file=sys.stderr)
        return 1
    a = result.analysis
    print(f"{args.input}: skew {a.skew_deg:+.2f}° (confidence {a.skew_confidence:.2f}), "
          f"applied {a.angle_applied:+.2f}°, orientation {a.orientation}, blank {a.blank}, "
          f"{len(a.warnings)} warning(s), {ms:.0f} ms", file=sys.stderr)
    return 0
