"""`sohoa imaging analyze FILE...` and `sohoa imaging clean IN OUT` / `clean PATH... --out-dir DIR`.

``analyze`` prints one JSON object per input file, one per line (a contract other
tools rely on, see docs/design.md section 4). ``ms`` is the pipeline time,
excluding file decoding. A file that cannot be read or processed gives a line
with ``error`` instead, and the exit status is 1.

``clean`` takes one file and its output name, or any number of files and
folders (searched for images) with ``--out-dir``: each page goes to the folder
under its name (its path below a folder argument kept), with a progress bar on
a terminal. The numba kernels compile on the first use after an install; both
commands say so on stderr before they wait. Under each page's summary ``clean`` prints each warning in the operator's words
(``firmware_agent.page_warnings``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from firmware_agent import exit_codes
from firmware_agent.kernel_cache import kernels_cached
from firmware_agent.messages import CATALOGUE
from firmware_agent.page_warnings import describe
from firmware_agent.progress import Progress


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("imaging", help="page clean-up: analyse or clean image files")
    isub = p.add_subparsers(dest="imaging_command", metavar="ACTION")
    a = isub.add_parser("analyze", help="print skew, blank, content box and warnings as JSON lines")
    a.add_argument("files", nargs="+", type=Path, metavar="FILE")
    a.set_defaults(func=cmd_analyze)
    c = isub.add_parser("clean", help="write the corrected colour page (and a bitonal page) of one file, "
                                      "or of many files and folders with --out-dir")
    c.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                   help="IN OUT (one file), or with --out-dir any number of files and folders")
    c.add_argument("--out-dir", type=Path, metavar="DIR", help="write every cleaned page here")
    c.add_argument("--format", choices=("jpg", "png", "tif"), default="jpg",
                   help="colour page format with --out-dir (default jpg)")
    c.add_argument("--bitonal", type=Path, metavar="OUT2",
                   help="bitonal page for OCR (.png or .tif); with --out-dir, a folder for them (PNG)")
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

    if not kernels_cached():  # the first use compiles for 15 s to a minute: say so, on stderr
        print(CATALOGUE["cli.imaging.compiling"].text, file=sys.stderr, flush=True)
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


IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".pnm", ".pgm", ".ppm"})


def cmd_clean(args: argparse.Namespace) -> int:
    if args.out_dir is None:
        if len(args.paths) != 2:
            print(CATALOGUE["cli.clean_usage"].text, file=sys.stderr)
            return exit_codes.USAGE
        _warm_up()
        return _clean_one(args.paths[0], args.paths[1], args.bitonal, args.quality, report=True)
    jobs, missing = _plan(args.paths, args.out_dir, args.format, args.bitonal)
    for path in missing:
        print(f"{CATALOGUE['cli.clean_failed'].text}: {path}: no such file or folder", file=sys.stderr)
    _warm_up()
    failed = len(missing)
    with Progress(len(jobs), CATALOGUE["cli.clean_progress"].text) as bar:
        for source, target, bitonal in jobs:
            failed += _clean_one(source, target, bitonal, args.quality, report=not bar.active, note=bar.note)
            bar.step(source.name)
    print(CATALOGUE["cli.clean_done"].format(done=len(jobs) - failed + len(missing), total=len(jobs),
                                             failed=failed).text, file=sys.stderr)
    return exit_codes.FAILURE if failed else exit_codes.OK


def _plan(paths: list[Path], out_dir: Path, fmt: str, bitonal_dir: Path | None):
    """(source, colour target, bitonal target or None) for every image under *paths*; and the paths missing."""
    jobs, missing = [], []
    for path in paths:
        if path.is_dir():
            sources = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                             and not p.name.startswith("."))
            pairs = [(p, Path(path.name) / p.relative_to(path)) for p in sources]
        elif path.is_file():
            pairs = [(path, Path(path.name))]
        else:
            missing.append(path)
            continue
        for source, rel in pairs:
            jobs.append((source, out_dir / rel.with_suffix("." + fmt),
                         bitonal_dir / rel.with_suffix(".png") if bitonal_dir else None))
    return jobs, missing


def _clean_one(source: Path, target: Path, bitonal: Path | None, quality: int, *, report: bool,
               note=None) -> int:
    """Clean *source* into *target* (and *bitonal*); 0, or 1 after saying why."""
    from firmware_agent.pageio import PageReadError, write_image_atomic

    say = note or (lambda line: print(line, file=sys.stderr))
    try:
        result, dpi, ms = _process(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_image_atomic(target, result.colour, dpi=dpi, quality=quality)
        if bitonal:
            bitonal.parent.mkdir(parents=True, exist_ok=True)
            write_image_atomic(bitonal, result.bitonal, dpi=dpi)
    except (PageReadError, ValueError, OSError) as exc:
        say(f"{CATALOGUE['cli.clean_failed'].text}: {source}: {exc}")
        return 1
    if report:
        a = result.analysis
        say(f"{source}: skew {a.skew_deg:+.2f}° (confidence {a.skew_confidence:.2f}), "
            f"applied {a.angle_applied:+.2f}°, orientation {a.orientation}, blank {a.blank}, "
            f"{len(a.warnings)} warning(s), {ms:.0f} ms")
        # What each warning means, in the operator's words.
        for w in a.warnings:
            say(f"  {describe(w)}")
    return 0
