"""Memory stays flat for 1 GiB: an age stream through a pipe, and a station's 1 GiB batch sealed and opened.

Each runs in its own process, which reports its resident memory before the
work (after imports and set-up) and its peak after (``VmHWM``: unlike
``ru_maxrss`` it starts afresh at ``exec``, so it does not report the peak of
the forked test process). Holding
the file, or even a tenth of it, would raise the peak by 100 MiB or more; the
bound is 64 MiB. Figures are printed (``pytest -s``) for BENCHMARKS-style notes,
never asserted beyond that bound.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

GIB = 1 << 30
BOUND_MIB = 64

_PRELUDE = textwrap.dedent("""
    import hashlib, json, os, random, sys, threading

    def _status(field):
        for line in open("/proc/self/status", encoding="ascii"):
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024

    def rss_mib():
        return _status("VmRSS")

    def peak_mib():
        return _status("VmHWM")
""")

_PIPE = _PRELUDE + textwrap.dedent("""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from sync.age import AgeReader, AgeWriter

    key = X25519PrivateKey.generate()
    block = os.urandom(1 << 20)
    r, w = os.pipe()
    sent = hashlib.sha256()

    def produce():
        with open(w, "wb", buffering=0) as sink:
            writer = AgeWriter(sink, key.public_key())
            for i in range(1024):
                piece = i.to_bytes(4, "big") + block[4:]  # every MiB differs
                sent.update(piece)
                writer.write(piece)
            writer.close()

    before = rss_mib()
    t = threading.Thread(target=produce)
    t.start()
    got, n = hashlib.sha256(), 0
    with open(r, "rb", buffering=0) as source:
        reader = AgeReader(source, key)
        while data := reader.read(1 << 20):
            got.update(data)
            n += len(data)
    t.join()
    print(json.dumps({"bytes": n, "same": got.digest() == sent.digest(), "before_mib": before,
                      "peak_mib": peak_mib()}))
""")

_SEAL = _PRELUDE + textwrap.dedent("""
    from pathlib import Path
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from sync.batch import seal_batch
    from sync.canon import ZERO_HASH
    from sync.keys import x25519_from_seed

    work = Path(sys.argv[1])
    device = Ed25519PrivateKey.from_private_bytes(bytes(32))
    archive = x25519_from_seed(bytes([2]) * 32)
    rnd = random.Random(1)
    with open(work / "member.bin", "wb") as f:  # incompressible, so 1 GiB reaches the age layer
        for _ in range(1024):
            f.write(rnd.randbytes(1 << 20))
    before = rss_mib()
    s = seal_batch(work / "batch.sohoa", [("hs-000001.zip", work / "member.bin")], device_id="dev-big", seq=1,
                   prev=ZERO_HASH, created=1, pages=1, documents=1, climate=None, device_key=device,
                   archive_public=archive.public_key())
    os.unlink(work / "member.bin")
    print(json.dumps({"size": s.size, "version": s.manifest["v"], "batch": s.batch_hash, "before_mib": before,
                      "peak_mib": peak_mib()}))
""")

_OPEN = _PRELUDE + textwrap.dedent("""
    from pathlib import Path
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from sync.batch import open_batch
    from sync.keys import x25519_from_seed

    work = Path(sys.argv[1])
    device = Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key()
    before = rss_mib()
    with open(work / "batch.sohoa", "rb") as f:
        o = open_batch(f, archive_private=x25519_from_seed(bytes([2]) * 32), device_public=device,
                       device_id="dev-big")
    print(json.dumps({"size": o.size, "batch": o.batch_hash, "member": o.manifest["members"][0]["size"],
                      "before_mib": before, "peak_mib": peak_mib()}))
""")


def _run(code: str, *args) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=280)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_one_gib_age_stream_through_a_pipe_in_flat_memory():
    got = _run(_PIPE)
    print(f"age 1 GiB through a pipe: {got}")
    assert got["bytes"] == GIB and got["same"]
    assert got["peak_mib"] - got["before_mib"] < BOUND_MIB, got


def test_station_seals_and_receiver_opens_a_one_gib_batch_in_flat_memory(tmp_path):
    sealed = _run(_SEAL, tmp_path)
    print(f"seal 1 GiB batch: {sealed}")
    assert sealed["version"] == 2 and sealed["size"] > GIB  # incompressible member, plus headers and tags
    assert sealed["peak_mib"] - sealed["before_mib"] < BOUND_MIB, sealed
    opened = _run(_OPEN, tmp_path)
    print(f"open 1 GiB batch: {opened}")
    assert opened["batch"] == sealed["batch"] and opened["size"] == sealed["size"] and opened["member"] == GIB
    assert opened["peak_mib"] - opened["before_mib"] < BOUND_MIB, opened
