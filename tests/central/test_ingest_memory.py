"""A worker's memory does not grow with the package it ingests (design 5.13, "Spool and memory").

One clear package of ~150 MiB (27 A4 300 dpi pages of colour noise, packaged by
the station's own code, so no compressor shrinks it) is delivered to a real
receiver and ingested by a real ``sohoa-central ingest`` process; its peak RSS
(the kernel's high-water mark, from wait4) must stay within 120 MiB of the peak
of the same command finding the queue empty, far below the package's size.
"""

from __future__ import annotations

import hashlib

import pytest

from bench.ingest_memory import deliver, large_package, run_worker, site

MIB = 1 << 20
BOUND = 120 * MIB


@pytest.mark.timeout(300)
def test_a_150_mib_package_is_ingested_in_bounded_memory(tmp_path, record_property):
    root = site(tmp_path)
    package = large_package(tmp_path / "pkg", 27)
    assert package.size > 140 * MIB
    idle = run_worker(root)
    assert idle["exit"] == 0 and idle["totals"]["done"] == 0, idle
    deliver(root, package, 1, tmp_path)
    run = run_worker(root)
    record_property("package_mib", round(package.size / MIB, 1))
    record_property("idle_peak_mib", round(idle["maxrss"] / MIB, 1))
    record_property("ingest_peak_mib", round(run["maxrss"] / MIB, 1))
    assert run["exit"] == 0 and run["totals"]["done"] == 1 and run["totals"]["packages"] == 1, run
    assert run["totals"]["pages"] == package.pages == 27
    # the package object is the package, byte for byte
    stored = list((root / "objects").rglob(package.member))
    assert len(stored) == 1
    want = hashlib.sha256(package.path.read_bytes()).hexdigest()
    h = hashlib.sha256()
    with open(stored[0], "rb") as f:
        while block := f.read(MIB):
            h.update(block)
    assert h.hexdigest() == want
    assert len(list((root / "objects").rglob("*.pdf"))) == package.documents
    grown = run["maxrss"] - idle["maxrss"]
    assert grown < BOUND, (f"worker peak {run['maxrss'] / MIB:.0f} MiB, idle {idle['maxrss'] / MIB:.0f} MiB: "
                           f"+{grown / MIB:.0f} MiB for a {package.size / MIB:.0f} MiB package")
    # nothing of the job is left in the spool, and the worker's own folder went with it
    assert not [p for p in (root / "ingest-spool").rglob("*") if p.is_file()]
