"""The bench's 300 dpi gray page on two commits, timed in turns in fresh processes.

    python -m bench.imaging_versions OLD NEW [--rounds 3] [--pages 61] [--threads 2] [--turns] [--busy 0.25]

On a shared VM the speed of the same code moves by tens of per cent between
minutes, so one run of each commit says little. Here each commit is checked out
in a temporary worktree with its own numba cache, and the two are timed in
alternating processes (OLD, NEW, OLD, NEW, ...), each process timing ``--pages``
runs of the whole pipeline after three warm-up runs; per process the median and
the fastest page are printed, with the median step timings. With ``--turns`` each
of those pages follows a one-thread page of its own, as the bench's verdict takes
them (the helper threads idle meanwhile), whose median is printed too. With
``--busy F`` another process keeps the last core busy for that fraction of every
8 ms while both commits are timed, as the station's OCR processes or a busy host
would: what a page on several threads costs when one of its cores is shared.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import statistics, sys, time
from bench.imaging_pages import PageSpec, make_page
from imaging.pipeline import PipelineParams, process_page
img = make_page(PageSpec(dpi=300, colour=False, skew_deg=2.3, seed=1, specks=30, uneven=True, bleed=True,
                         content="text"))
p = PipelineParams(threads=int(sys.argv[1]))
one = PipelineParams(threads=1) if sys.argv[3] == "1" else None
for _ in range(3):
    process_page(img, 300, p)
ts, ones, steps = [], [], {}
for _ in range(int(sys.argv[2])):
    if one is not None:
        t = time.perf_counter()
        process_page(img, 300, one)
        ones.append((time.perf_counter() - t) * 1e3)
    t = time.perf_counter()
    r = process_page(img, 300, p)
    ts.append((time.perf_counter() - t) * 1e3)
    for k, v in r.analysis.timings_ms.items():
        steps.setdefault(k, []).append(v)
print(f"median {statistics.median(ts):6.2f} ms, fastest {min(ts):6.2f} ms"
      + (f" (in turns; one thread {statistics.median(ones):.2f})" if ones else "") + " | "
      + ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in steps.items()))
"""


# Busy for a fraction of every 8 ms on the last core, until killed.
_BUSY = r"""
import os, sys, time
os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
on = 0.008 * float(sys.argv[1])
while True:
    t = time.perf_counter()
    while time.perf_counter() - t < on:
        pass
    time.sleep(0.008 - on)
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pages", type=int, default=61)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--turns", action="store_true", help="a one-thread page before each timed page")
    ap.add_argument("--busy", type=float, default=0.0, metavar="F",
                    help="keep the last core busy for this fraction (0 to 0.9) of every 8 ms meanwhile")
    args = ap.parse_args(argv)
    if not 0.0 <= args.busy <= 0.9:
        ap.error("--busy must be within 0 and 0.9")
    with tempfile.TemporaryDirectory(prefix="sohoa-versions-") as tmp:
        trees = {}
        for rev in (args.old, args.new):
            tree = Path(tmp, rev.replace("/", "_"))
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), rev], check=True)
            trees[rev] = tree
        busy = (subprocess.Popen([sys.executable, "-c", _BUSY, str(args.busy)]) if args.busy > 0 else None)
        try:
            for i in range(args.rounds):
                for rev, tree in trees.items():
                    env = dict(os.environ, NUMBA_CACHE_DIR=str(tree / ".cache" / "numba"), PYTHONPATH=str(tree))
                    out = subprocess.run([sys.executable, "-c", _CHILD, str(args.threads), str(args.pages),
                                          "1" if args.turns else "0"],
                                         cwd=tree, env=env, capture_output=True, text=True, check=True).stdout
                    print(f"round {i + 1} {rev:>12}: {out.strip()}", flush=True)
        finally:
            if busy is not None:
                busy.kill()
                busy.wait()
            for tree in trees.values():
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
