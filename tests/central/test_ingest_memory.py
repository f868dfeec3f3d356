"""A worker's memory does not grow with the package it ingests (design 5.13, "Spool and memory").

One clear package of ~150 MiB (27 A4 300 dpi pages of colour noise, packaged by
the station's own code, so no compressor shrinks it) is delivered to a real
receiver and ingested by a real ``sohoa-central ingest`` process; its peak RSS
(VmHWM, the kernel's high-water mark, read from /proc) must stay within 120 MiB of the peak
of the same command finding the queue empty, far below the package's size. On
S3 the package object goes up as a multipart upload (above 64 MiB).
"""

from __future__ import annotations

import hashlib

import pytest

from bench.ingest_memory import deliver, large_package, run_worker, site

MIB = 1 << 20
BOUND = 120 * MIB


@pytest.fixture(scope="module")
def big_package(tmp_path_factory):
    package = large_package(tmp_path_factory.mktemp("big"), 27)
    assert package.size > 140 * MIB
    return package


def _sha256(f) -> str:
    h = hashlib.sha256()
    while block := f.read(MIB):
        h.update(block)
    return h.hexdigest()


def _ingest(root, package, tmp_path, record_property, *, backends=None, config=None) -> None:
    idle = run_worker(root, config=config)
    assert idle["exit"] == 0 and idle["totals"]["done"] == 0, idle
    deliver(root, package, 1, tmp_path, backends)
    run = run_worker(root, config=config)
    record_property("package_mib", round(package.size / MIB, 1))
    record_property("idle_peak_mib", round(idle["peak"] / MIB, 1))
    record_property("ingest_peak_mib", round(run["peak"] / MIB, 1))
    assert run["exit"] == 0 and run["totals"]["done"] == 1 and run["totals"]["packages"] == 1, run
    assert run["totals"]["pages"] == package.pages == 27
    grown = run["peak"] - idle["peak"]
    assert grown < BOUND, (f"worker peak {run['peak'] / MIB:.0f} MiB, idle {idle['peak'] / MIB:.0f} MiB: "
                           f"+{grown / MIB:.0f} MiB for a {package.size / MIB:.0f} MiB package")
    # nothing of the job is left in the spool, and the worker's own folder went with it
    assert not [p for p in (root / "ingest-spool").rglob("*") if p.is_file()]


def test_a_150_mib_package_is_ingested_in_bounded_memory(big_package, tmp_path, record_property):
    root = site(tmp_path)
    _ingest(root, big_package, tmp_path, record_property)
    stored = list((root / "objects").rglob(big_package.member))
    assert len(stored) == 1
    with open(stored[0], "rb") as got, open(big_package.path, "rb") as want:
        assert _sha256(got) == _sha256(want)  # the package object is the package, byte for byte
    assert len(list((root / "objects").rglob("*.pdf"))) == big_package.documents


def test_on_s3_a_150_mib_package_goes_up_in_parts_in_bounded_memory(big_package, s3_backend, tmp_path,
                                                                     record_property):
    from central.catalogue_objects import package_name
    from central.services import write_node_config

    be = s3_backend
    root = site(tmp_path)
    config = write_node_config(tmp_path / "central.toml", state_url=be.pg_url, bucket=be.bucket,
                               endpoint=be.seaweed.endpoint, keys_dir=root / "keys", prefix=be.prefix,
                               part_size_mib=5)
    _ingest(root, big_package, tmp_path, record_property, backends=be.open, config=config)
    client = be.seaweed.client()
    key = f"{be.prefix}/objects/" + package_name("xa-tan-phu-9", 1, big_package.member)
    head = client.head_object(Bucket=be.bucket, Key=key)
    assert head["ContentLength"] == big_package.size
    assert "-" in head["ETag"]  # a multipart upload's ETag: <md5 of the parts' md5s>-<parts>
    with open(big_package.path, "rb") as want:
        assert _sha256(client.get_object(Bucket=be.bucket, Key=key)["Body"]) == _sha256(want)
