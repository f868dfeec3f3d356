"""The ingest worker's memory while it ingests large packages (design 5.13, "Spool and memory").

A large package is made by the station's own packaging code from pages of
random colour noise (A4 at 300 dpi, about 5.5 MiB of JPEG each, which no
compressor shrinks), so its size is real bytes all the way through: sealed
batch, SIP check, objects. The bench sends one such package in as many batches
as make the total it is asked for, runs one ``sohoa-central ingest --once``
process on them and samples its RSS every 100 ms; the test
(tests/central/test_ingest_memory.py) bounds one worker's peak.

Run alone: ``python -m bench.ingest_memory [--gib 2] [--pages 46] [--backend postgresql-s3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

MIB = 1 << 20
_BACKENDS = {"sqlite-file": "file store and SQLite",
             "postgresql-s3": "SeaweedFS S3 (objects above 64 MiB in 8 MiB parts) and PostgreSQL"}
A4_300DPI = (2480, 3508)


@dataclass(frozen=True)
class LargePackage:
    member: str
    path: Path
    documents: int
    pages: int
    size: int


def noise_jpegs(out: Path, n: int, *, seed: int = 0) -> list[Path]:
    """*n* distinct A4 300 dpi JPEGs of colour noise (about 5.5 MiB each at quality 80)."""
    import numpy as np
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    made = []
    for i in range(n):
        w, h = A4_300DPI
        path = out / f"noise-{seed}-{i}.jpg"
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path, quality=80, dpi=(300, 300))
        made.append(path)
    return made


def large_package(out: Path, pages: int, *, documents: int = 3, seed: int = 0) -> LargePackage:
    """A clear SIP_hoso package of *pages* noise pages in *documents* documents, built by
    ``records.package.build_package`` (PDF/A-2b, METS, EAD), as the file ``out/pkg/uuid-….zip``."""
    from records.ocr import OcrResult, Word
    from records.package import DocPages, build_package
    from records.pdfa import PageInput

    out = Path(out)
    jpegs = noise_jpegs(out / "jpg", pages, seed=seed)
    w, h = A4_300DPI
    docs, values = [], []
    per = -(-pages // documents)
    for d in range(documents):
        chosen = jpegs[d * per:(d + 1) * per]
        line = ["Quyết", "định", "số", str(d + 1)]
        ocr = OcrResult([Word(t, 40 + 120 * i, 60, 100, 40, 95.0, 0) for i, t in enumerate(line)], w, h, 300,
                        lines=[" ".join(line)])
        docs.append(DocPages(d + 1, [PageInput(j, 300, ocr) for j in chosen]))
        values.append({"typeName": "01", "subject": f"Văn bản số {d + 1}", "organName": "UBND xã Tân Phú"})
    cover = {"file_code": f"H49.64.33.2020.{900 + seed}", "title": "Hồ sơ lớn", "mode": "01"}
    path, folder, npages = build_package(file_id=900 + seed, cover=cover, docs=docs, doc_values=values,
                                         agency="H49.64.33", out_dir=out / "pkg", work_dir=out / "work",
                                         recipient_key=None)
    for j in jpegs:
        j.unlink()
    return LargePackage(f"{folder}.zip", path, documents, npages, path.stat().st_size)


def deliver(root: Path, package: LargePackage, batches: int, work: Path, backends=None,
            member_check=None) -> None:
    """Send *package* in *batches* batches (one member each) from one station to a receiver on *root*
    (file store and SQLite, or what *backends* opens; the receiver's own SIP check off unless a
    *member_check* is given: only the worker's is measured)."""
    from bench.central_ingest import Station
    from central.local import start_local_receiver

    async def run():
        rx = await start_local_receiver(root, backends=backends, member_check=member_check)
        try:
            station = Station(work / "station", "xa-tan-phu-9")
            await station.enroll(rx.url, rx.core.state.mint_token(station.device_id, ttl_s=600))
            for _ in range(batches):
                batch = station.seal([(package.member, package.path)], pages=package.pages,
                                     documents=package.documents)
                await station.send(rx.url, batch)
                batch.path.unlink()
        finally:
            await rx.close()
    asyncio.run(run())


def site(work: Path) -> Path:
    """A receiver root with an archive key: where :func:`deliver` sends and the worker ingests."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from central.receiver_state import ReceiverState
    from sync.keys import save_private

    root = work / "rx"
    (root / "keys").mkdir(parents=True)
    save_private(root / "keys" / "archive_x25519.pem", X25519PrivateKey.generate())
    ReceiverState(root / "receiver.sqlite3").close()  # the schema, as the receiver makes it
    return root


def worker_command(root: Path, config: Path | None = None) -> list[str]:
    return [sys.executable, "-m", "central", "ingest", "--once", "--root", str(root),
            *(["--config", str(config)] if config else [])]


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (bytes) of *pid*; empty once it has ended."""
    out = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out[line[:5]] = int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return out


def run_worker(root: Path, *, config: Path | None = None, sample_s: float | None = None, log=None) -> dict:
    """Run one ``sohoa-central ingest --once`` on *root* to an empty queue.

    Returns its totals (its last output line), ``peak`` (bytes: its VmHWM,
    the kernel's high-water mark of its RSS since it started, read from /proc
    every 20 ms until it ends; not wait4's ``ru_maxrss``, which also counts
    the parent's memory at the fork) and, with *sample_s*, ``rss``: its RSS
    (bytes) every *sample_s* seconds from its first claim (when its spool
    first holds a job folder) to its end.
    """
    proc = subprocess.Popen(worker_command(root, config), stdout=subprocess.PIPE, stderr=log or subprocess.DEVNULL)
    samples: list[int] = []
    peak = [0]

    def watch() -> None:
        spool = root / "ingest-spool"
        claimed, next_sample = False, 0.0
        while True:
            st = _status(proc.pid)
            if "VmHWM" not in st:
                return  # ended (a zombie has no memory lines)
            peak[0] = max(peak[0], st["VmHWM"])
            if sample_s:
                claimed = claimed or any(spool.glob("w-*/job-*"))
                now = time.monotonic()
                if claimed and now >= next_sample:
                    samples.append(st["VmRSS"])
                    next_sample = now + sample_s
            time.sleep(0.02)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    output = proc.stdout.read()
    watcher.join()
    proc.wait()
    lines = output.decode().strip().splitlines()
    totals = json.loads(lines[-1]) if lines else {}
    return {"totals": totals, "exit": proc.returncode, "peak": peak[0], "rss": samples}


def measure(work: Path, *, gib: float = 2.0, pages: int = 46, backend: str = "sqlite-file") -> dict:
    """Build one package of *pages* noise pages, send it in enough batches to make at least *gib* GiB, and
    sample one worker's RSS while it ingests them all; also the peak of a worker that finds nothing to do.
    *backend* ``postgresql-s3`` runs PostgreSQL and SeaweedFS (bench/central_services) for it."""
    work = Path(work)
    root = site(work)
    t0 = time.perf_counter()
    package = large_package(work / "pkg", pages)
    batches = max(1, math.ceil(gib * 2**30 / package.size))
    made = time.perf_counter() - t0
    services, config, backends = (), None, None
    try:
        if backend == "postgresql-s3":
            from bench.central_services import PgCluster, SeaweedS3, write_node_config
            pg, weed = PgCluster(), SeaweedS3()
            services = (weed, pg)
            url, bucket = pg.new_database("im"), weed.new_bucket("im")
            config = write_node_config(work / "central.toml", state_url=url, bucket=bucket, endpoint=weed.endpoint,
                                       keys_dir=root / "keys", prefix="sohoa")

            def backends(_root=None):
                from central.s3store import S3Store
                from central.state_pg import PgState
                state = PgState(url, pool_min=1, pool_max=8)
                return state, S3Store(weed.client(), bucket, "sohoa", state)
            state, _store = backends()
            state.migrate()
            state.close()
        idle = run_worker(root, config=config)
        deliver(root, package, batches, work, backends)
        load = os.getloadavg()[0]
        t1 = time.perf_counter()
        run = run_worker(root, config=config, sample_s=0.1)
        seconds = time.perf_counter() - t1
    finally:
        for s in services:
            s.close()
    if run["exit"] != 0 or run["totals"].get("done") != batches:
        raise RuntimeError(f"the worker did not ingest every batch: {run}")
    rss = run["rss"]
    return {"backend": backend, "package_bytes": package.size, "pages": package.pages, "batches": batches,
            "total_bytes": package.size * batches, "idle_peak": idle["peak"], "peak": run["peak"],
            "first": rss[0], "median": statistics.median(rss), "sampled_peak": max(rss), "last": rss[-1],
            "samples": len(rss), "seconds": seconds, "made_s": made, "load": load,
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "commit": _git_rev()}


def _git_rev() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def report(m: dict, *, alone: bool = False) -> str:
    """The BENCHMARKS.md line; with *alone*, its provenance (date, commit, load) beside it."""
    mib = lambda b: b / MIB  # noqa: E731
    line = (f"- worker memory over {mib(m['total_bytes']) / 1024:.2f} GiB of batches ({m['batches']} batches, each "
            f"one clear package of {mib(m['package_bytes']):.0f} MiB: {m['pages']} A4 300 dpi pages of colour "
            f"noise; {_BACKENDS[m['backend']]}; one `sohoa-central ingest --once`, {m['seconds']:.0f} s; "
            f"RSS every 100 ms from its first claim, {m['samples']} samples): first {mib(m['first']):.0f} MiB, median "
            f"{mib(m['median']):.0f} MiB, peak {mib(m['sampled_peak']):.0f} MiB, last {mib(m['last']):.0f} MiB "
            f"(flat: {mib(m['sampled_peak'] - m['first']):+.0f} MiB); its VmHWM over the whole run "
            f"{mib(m['peak']):.0f} MiB, against {mib(m['idle_peak']):.0f} MiB for the same command on an empty "
            f"queue")
    if alone:
        line += (f" (measured alone with `python -m bench.ingest_memory` at {m['commit']}, {m['date']}, load average "
                 f"{m['load']:.1f})")
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gib", type=float, default=2.0, help="total size of the batches (default 2)")
    parser.add_argument("--pages", type=int, default=46, help="noise pages in the package (default 46: ~256 MiB)")
    parser.add_argument("--backend", choices=sorted(_BACKENDS), default="sqlite-file")
    parser.add_argument("--work", type=Path, default=None, help="working folder (default: a temporary one)")
    args = parser.parse_args(argv)
    import tempfile
    work = args.work or Path(tempfile.mkdtemp(prefix="sohoa-bench-ingest-mem-"))
    m = measure(work, gib=args.gib, pages=args.pages, backend=args.backend)
    print(json.dumps(m), file=sys.stderr)
    print(report(m, alone=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
