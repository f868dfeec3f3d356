"""At-rest encryption: age (ours) against SOHOAAR1, pyrage and the `age` command; receiver CPU per batch version.

Two readings:

- 1 GiB through each implementation alone, each in its own process: CPU
  seconds, wall seconds and peak resident memory (``VmHWM``, which starts
  afresh at ``exec``). pyrage (the Rust ``age`` crate behind a Python API)
  and Debian's ``age`` (Go) are the peers; pyrage only offers whole-stream
  calls (``encrypt_io``/``decrypt_io``) that pull from a reader and push to
  a writer, so it is fed and drained by small Python objects, as the station
  and the receiver would have to.
- The receiver (its own process) taking a chain of 64 MiB batches that
  alternates batch format versions 1 and 2, the page cache emptied before
  each, so both versions run under the same conditions: server CPU per batch
  and wall-clock MiB/s, medians per version.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.sync_servers import MIB, ROOT, Receiver, cpu_s, thread_cpu_s
from bench.sync_throughput import BIG, _empty_page_cache, _read_whole, _timed_upload
from sync.auth import HeaderSource
from sync.batch import seal_batch
from sync.canon import ZERO_HASH
from sync.deliver import Outbound
from sync.keys import ed25519_public, public_b64

STREAM_MIB = 1024
VERSION_RUNS = 7  # batches per version, alternating

_CHILD = r'''
import json, os, sys, time
MIB = 1 << 20
case, path, size = sys.argv[1], sys.argv[2], int(sys.argv[3]) * MIB
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sync.age import AgeReader, AgeWriter, identity_string, recipient_string
from sync.at_rest import DecryptingReader, EncryptingWriter
if case.startswith("pyrage"):
    import pyrage
key = X25519PrivateKey.from_private_bytes(bytes(range(32)))
block = os.urandom(MIB)

def hwm():
    for line in open("/proc/self/status", encoding="ascii"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

class Source:
    """What pyrage's encrypt_io pulls from: `size` bytes, slices of one random block."""
    def __init__(self):
        self.left, self.view = size, memoryview(block)
    def readable(self):
        return True
    def read(self, n=-1):
        n = min(self.left, MIB if n is None or n < 0 else n)
        self.left -= n
        return bytes(self.view[:n])

class Sink:
    """What pyrage's decrypt_io pushes to: counts and drops."""
    n = 0
    def writable(self):
        return True
    def write(self, b):
        self.n += len(b)
        return len(b)
    def flush(self):
        pass

before = hwm()
t0, c0 = time.perf_counter(), time.process_time()
if case in ("age-enc", "sohoaar1-enc"):
    with open(path, "wb") as f:
        w = (AgeWriter if case == "age-enc" else EncryptingWriter)(f, key.public_key())
        for _ in range(size // MIB):
            w.write(block)
        w.close()
elif case in ("age-dec", "sohoaar1-dec"):
    n = 0
    with open(path, "rb") as f:
        r = (AgeReader if case == "age-dec" else DecryptingReader)(f, key)
        while data := r.read(MIB):
            n += len(data)
    assert n == size
elif case == "pyrage-enc":
    with open(path, "wb") as f:
        pyrage.encrypt_io(Source(), f, [pyrage.x25519.Recipient.from_str(recipient_string(key))])
elif case == "pyrage-dec":
    sink = Sink()
    with open(path, "rb") as f:
        pyrage.decrypt_io(f, sink, [pyrage.x25519.Identity.from_str(identity_string(key))])
    assert sink.n == size
print(json.dumps({"cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - t0,
                  "before_mib": before, "peak_mib": hwm()}))
'''


def _child(case: str, path: Path, size_mib: int) -> dict | None:
    out = subprocess.run([sys.executable, "-c", _CHILD, case, str(path), str(size_mib)], cwd=ROOT,
                         capture_output=True, text=True)
    if out.returncode != 0:
        if "No module named 'pyrage'" in out.stderr:
            return None
        raise RuntimeError(f"{case}: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _age_cli(args: list[str]) -> dict | None:
    """CPU, wall and peak memory of Debian's `age` (GNU time's %M is the peak RSS in KiB)."""
    if not shutil.which("age") or not Path("/usr/bin/time").exists():
        return None
    t0 = time.perf_counter()
    out = subprocess.run(["/usr/bin/time", "-f", "%U %S %M", "age", *args], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"age {args}: {out.stderr[-500:]}")
    user, system, kib = out.stderr.strip().splitlines()[-1].split()
    return {"cpu_s": float(user) + float(system), "wall_s": wall, "before_mib": 0.0, "peak_mib": int(kib) / 1024}


def bench_streams(work: Path, size_mib: int = STREAM_MIB) -> dict:
    """1 GiB through each implementation, encrypt then decrypt, each in its own process."""
    work.mkdir(parents=True, exist_ok=True)
    out = {}
    for impl in ("age", "sohoaar1", "pyrage"):
        path = work / f"{impl}.bin"
        for op in ("enc", "dec"):
            got = _child(f"{impl}-{op}", path, size_mib)
            if got is not None:
                out[f"{impl}-{op}"] = got
        path.unlink(missing_ok=True)
    ident = work / "identity"
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from sync.age import identity_file, recipient_string
    key = X25519PrivateKey.from_private_bytes(bytes(range(32)))
    ident.write_text(identity_file(key))
    plain = work / "plain.bin"
    with open(plain, "wb") as f:
        block = os.urandom(MIB)
        for _ in range(size_mib):
            f.write(block)
    enc = _age_cli(["-r", recipient_string(key), "-o", str(work / "cli.age"), str(plain)])
    if enc is not None:
        out["age-cli-enc"] = enc
        out["age-cli-dec"] = _age_cli(["-d", "-i", str(ident), "-o", "/dev/null", str(work / "cli.age")])
    for p in (plain, work / "cli.age"):
        p.unlink(missing_ok=True)
    return {"size_mib": size_mib, "cases": out, "load": os.getloadavg()[0]}


def bench_versions(work: Path, runs: int = VERSION_RUNS) -> dict:
    """One receiver, one device, a chain of 64 MiB batches alternating versions 1 and 2."""
    rx = Receiver(work / "rx")
    key = Ed25519PrivateKey.generate()
    device = "bench-versions-01"
    rx.register(device, key)
    plan = [1 + (i % 2) for i in range(2 * runs)]
    batches, prev = [], ZERO_HASH
    member = work / "member.bin"
    for seq, version in enumerate(plan, 1):
        with open(member, "wb") as f:
            for _ in range(BIG // MIB):
                f.write(os.urandom(MIB))
        s = seal_batch(work / f"{seq}.sohoa", [("package.zip", member)], device_id=device, seq=seq, prev=prev,
                       created=1, pages=1, documents=1, climate=None, device_key=key,
                       archive_public=rx.archive.public_key(), level=1, version=version)
        prev = s.batch_hash
        batches.append((version, Outbound(device, seq, s.batch_hash, s.file_sha256, s.size, s.path)))
    member.unlink()
    auth = HeaderSource(device, key)
    url = rx.start()
    log_pub = ed25519_public(public_b64(rx.log_key))
    rows = {1: [], 2: []}
    load = os.getloadavg()[0]
    try:
        for version, b in batches:
            _empty_page_cache()
            _read_whole(b.path)
            s0, t0 = cpu_s(rx.proc.pid), thread_cpu_s(rx.proc.pid)
            total, accept = asyncio.run(_timed_upload(url, b, auth, log_pub))
            time.sleep(0.2)  # let the receiver's threads settle before reading its CPU time
            server = cpu_s(rx.proc.pid) - s0
            t1 = thread_cpu_s(rx.proc.pid)
            alive = sum(v - t0.get(tid, 0.0) for tid, v in t1.items())
            rows[version].append({"server_ms": server * 1000, "check_ms": (server - alive) * 1000,
                                  "mib_s": b.size / total / MIB, "accept_ms": accept * 1000})
            b.path.unlink()
    finally:
        rx.stop()
    med = {v: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for v, rs in rows.items()}
    return {"runs": runs, "size": BIG, "load": load, "median": med, "rows": rows}


def report(st: dict, vs: dict) -> list[str]:
    """The at-rest part of BENCHMARKS.md."""
    names = {"age": "age v1, ours (`sync.age`, over `cryptography`)", "sohoaar1": "SOHOAAR1 (`sync.at_rest`, "
             "batch version 1)", "pyrage": "pyrage `encrypt_io`/`decrypt_io` (Rust)",
             "age-cli": "Debian's `age` command (Go), file to file"}
    size = st["size_mib"]
    lines = [
        f"### At-rest encryption, {size / 1024:.0f} GiB streamed",
        "",
        f"Each case in its own process, the same 1 MiB block written {size} times (load average "
        f"{st['load']:.1f}). CPU and peak memory of that process; 'above start' is the peak minus the resident "
        "memory after imports (not known for the `age` command, whose peak is its whole process).",
        "",
        "| implementation | encrypt CPU | encrypt MiB/CPU-s | decrypt CPU | decrypt MiB/CPU-s | peak memory "
        "(above start) encrypt / decrypt |",
        "|---|---|---|---|---|---|",
    ]
    for impl, label in names.items():
        e, d = st["cases"].get(f"{impl}-enc"), st["cases"].get(f"{impl}-dec")
        if e is None or d is None:
            lines.append(f"| {label} | not installed | | | | |")
            continue
        def mem(x):  # noqa: E306
            return f"{x['peak_mib']:.0f} MiB" + (f" (+{x['peak_mib'] - x['before_mib']:.1f})" if x["before_mib"]
                                                 else "")
        lines.append(f"| {label} | {e['cpu_s']:.2f} s | {size / e['cpu_s']:.0f} | {d['cpu_s']:.2f} s | "
                     f"{size / d['cpu_s']:.0f} | {mem(e)} / {mem(d)} |")
    m1, m2 = vs["median"][1], vs["median"][2]
    change = (m2["server_ms"] / m1["server_ms"] - 1) * 100
    lines += [
        "",
        "pyrage streams with flat memory too, but only through those two whole-stream calls, which hold the "
        "GIL while the Rust code runs: the station seals by pushing zstd output into a writer, and the "
        "receiver checks a batch by pulling from the bytes as they arrive, so pyrage would need a thread and a "
        "pipe on each side. The format is the same (C2SP age v1); the implementation is ours, tested against "
        "the `age` command both ways.",
        "",
        f"### Receiver CPU per {vs['size'] / MIB:.0f} MiB batch, batch format version 1 against version 2",
        "",
        f"One receiver process, one device, {2 * vs['runs']} batches in one chain alternating the versions "
        f"(load average {vs['load']:.1f} at the start), the page cache emptied before each, the client as "
        "above. Medians per version:",
        "",
        "| version | at rest | server CPU per batch | of which the batch check's thread | MiB/s | acceptance "
        "after the last byte |",
        "|---|---|---|---|---|---|",
        f"| 1 | SOHOAAR1 | {m1['server_ms']:.0f} ms | {m1['check_ms']:.0f} ms | {m1['mib_s']:.0f} | "
        f"{m1['accept_ms']:.0f} ms |",
        f"| 2 | age v1 | {m2['server_ms']:.0f} ms | {m2['check_ms']:.0f} ms | {m2['mib_s']:.0f} | "
        f"{m2['accept_ms']:.0f} ms |",
        "",
        f"Version 2 costs the receiver {change:+.0f} % CPU per batch against version 1 in this run "
        "(the CPU clock ticks every 10 ms, and the machine is shared, so a few percent either way is noise).",
    ]
    return lines
