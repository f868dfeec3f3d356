"""`make bench`: run every benchmark family and write BENCHMARKS.md.

Each family is a module ``bench.bench_<area>`` exposing ``run() -> str`` that
measures our code and its peer in the same run and returns a Markdown section
(medians, how it was measured, targets met or missed and why). A family that
fails is reported as failed, not left out.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import platform
import subprocess
import sys
import time
import traceback

FAMILIES = ("imaging", "records", "sync", "climate", "thumbnails", "central_web")


def machine_section() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(open("/proc/meminfo", encoding="utf-8").readline().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    try:
        import numba
        import numpy
        libs = f"numpy {numpy.__version__}, numba {numba.__version__}"
    except ImportError:
        libs = ""
    return "\n".join([
        "## Machine",
        "",
        f"- date: {dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')}",
        f"- CPU: {cpu}, {os.cpu_count()} logical cores; memory {mem}",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()}; {libs}",
        f"- git: {_git_rev()}",
        "",
    ])


def _git_rev() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="BENCHMARKS.md")
    parser.add_argument("--only", nargs="*", choices=FAMILIES, help="run only these families")
    args = parser.parse_args(argv)
    sections = ["# Benchmarks", "",
                "Produced by `make bench` (`python -m bench.run`). Every figure below was measured "
                "in the run that wrote this file; peers ran on the same machine in the same run.", "",
                machine_section()]
    failed = 0
    for family in args.only or FAMILIES:
        t0 = time.perf_counter()
        print(f"bench: {family} ...", file=sys.stderr, flush=True)
        try:
            module = importlib.import_module(f"bench.bench_{family}")
            sections.append(module.run())
        except Exception:  # report the failure in the document itself
            failed += 1
            sections.append(f"## {family}\n\nFAILED:\n\n```\n{traceback.format_exc()}```\n")
        print(f"bench: {family} done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write("\n".join(sections))
    print(f"wrote {args.out}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
