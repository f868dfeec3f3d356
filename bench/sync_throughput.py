"""Receiver throughput against @tus/server: single batches from an empty page cache, and a sustained stream.

Why two readings: the peer writes through the page cache, and on this
machine its speed depends on how much of the page cache its files already
fill. Measured alone (files kept), it did 300-550 MiB/s for about a dozen
64 MiB batches, then 185-255 MiB/s with twice the CPU per batch, and it
stayed there; with each file deleted after its upload, or the page cache
emptied before each, it stayed at the higher speed for 16 and 20 batches.
``sync`` alone did not bring it back. A single batch after emptying the page
cache is the peer's best case; a long stream is the state of an archive
that receives all day, whose page cache is always full. Our receiver writes
with ``O_DIRECT`` and fills no page cache, so it has one speed in both.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import statistics
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.sync_servers import (MIB, Receiver, cpu_s, node_server, node_version, seal_chain, self_cpu_s,
                                thread_cpu_s)
from sync.auth import HeaderSource
from sync.client import TusClient
from sync.deliver import Outbound, deliver
from sync.keys import ed25519_public, public_b64

RUNS = 9  # single batches per server, alternating
SUSTAIN = 32  # batches back to back per server: 2 GiB, well past the peer's free-run budget here
BIG = 64 * MIB
CHUNK = 8 * MIB


async def _timed_upload(url: str, b: Outbound, auth, log_pub=None) -> tuple[float, float]:
    """(seconds to the end, seconds of that spent in acceptance as the receiver reports it)."""
    async with TusClient(url, auth, chunk_size=CHUNK) as c:
        t0 = time.perf_counter()
        if log_pub is not None:
            await deliver(c, b, log_pub)  # upload, acceptance, receipt fetched and verified
        else:
            await c.upload(b.path, b.size, b.metadata(), expect_receipt=False)
        total = time.perf_counter() - t0
        m = re.search(r"accept;dur=([0-9.]+)", c.server_timing)
        return total, float(m.group(1)) / 1000 if m else 0.0


def _dirty_mib() -> float:
    """Data written to the page cache and not yet on the disk, machine-wide."""
    for line in open("/proc/meminfo", encoding="ascii"):
        if line.startswith("Dirty:"):
            return int(line.split()[1]) / 1024
    return 0.0


def bench_throughput(work: Path) -> dict:
    rx = Receiver(work / "rx")
    key = Ed25519PrivateKey.generate()
    device = "bench-tp-0001"
    rx.register(device, key)
    batches = seal_chain(work, device, key, rx.archive.public_key(), RUNS + SUSTAIN, BIG)
    auth = HeaderSource(device, key)
    url = rx.start()
    node, node_url = node_server(work / "node-files")
    load = os.getloadavg()[0]
    log_pub = ed25519_public(public_b64(rx.log_key))
    servers = {"ours": (url, rx.proc, auth, log_pub), "peer": (node_url, node, None, None)}
    try:
        burst = _burst(servers, batches[:RUNS])
        sustained = {label: _sustained(servers[label], batches[RUNS:]) for label in ("ours", "peer")}
    finally:
        rx.stop()
        node.send_signal(signal.SIGTERM)
        node.wait(timeout=10)
    return {**burst, "sustained": sustained, "size": batches[0].size, "load": load,
            "crypto_ms": _crypto_floor_ms(BIG)}


def _empty_page_cache() -> bool:
    """``sync`` and drop the clean page cache (root only); False when it could not be dropped."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w", encoding="ascii") as f:
            f.write("1")
        return True
    except OSError:
        return False


def _read_whole(path: Path) -> None:
    with open(path, "rb") as f:
        while f.read(8 * MIB):
            pass


def _burst(servers: dict, batches: list[Outbound]) -> dict:
    """One batch at a time to each server in turn, the page cache emptied before each run."""
    times = {"ours": [], "peer": []}
    cpu = {"ours_server": [], "peer_server": [], "ours_client": [], "peer_client": [], "ours_loop": [],
           "ours_pool": [], "ours_gone": []}
    emptied = True
    for b in batches:
        for label, (target, proc, auth, lp) in servers.items():
            emptied = _empty_page_cache() and emptied
            _read_whole(b.path)  # the client reads its file from memory, as it would after sealing
            s0, c0, t0 = cpu_s(proc.pid), self_cpu_s(), thread_cpu_s(proc.pid)
            times[label].append(asyncio.run(_timed_upload(target, b, auth, lp)))
            time.sleep(0.2)  # let the server's threads settle before reading its CPU time
            cpu[f"{label}_server"].append(cpu_s(proc.pid) - s0)
            cpu[f"{label}_client"].append(self_cpu_s() - c0)
            if label == "ours":
                t1 = thread_cpu_s(proc.pid)
                loop = t1.get(proc.pid, 0.0) - t0.get(proc.pid, 0.0)
                pool = sum(v - t0.get(tid, 0.0) for tid, v in t1.items() if tid != proc.pid)
                cpu["ours_loop"].append(loop)
                cpu["ours_pool"].append(pool)
                cpu["ours_gone"].append(cpu["ours_server"][-1] - loop - pool)
    size = batches[0].size
    return {"ours": [size / t / MIB for t, _ in times["ours"]], "peer": [size / t / MIB for t, _ in times["peer"]],
            "ours_transfer": [size / (t - a) / MIB for t, a in times["ours"]],
            "accept_ms": [a * 1000 for _, a in times["ours"]], "emptied": emptied,
            "cpu_ms": {k: statistics.median(v) * 1000 for k, v in cpu.items()}}


def _sustained(server: tuple, batches: list[Outbound]) -> dict:
    """*batches* back to back from an empty page cache, then ``sync``.

    Only the uploads are timed (the client reads each file into memory
    first, untimed, as after sealing); the ``sync`` after the last answer is
    timed too: the time until the data is on the disk.
    """
    target, proc, auth, lp = server
    _empty_page_cache()
    s0 = cpu_s(proc.pid)
    busy = 0.0
    dirty = 0.0
    speeds = []
    for b in batches:
        _read_whole(b.path)
        seconds, _ = asyncio.run(_timed_upload(target, b, auth, lp))
        busy += seconds
        speeds.append(b.size / seconds / MIB)
        dirty = max(dirty, _dirty_mib())
    t0 = time.perf_counter()
    os.sync()
    sync_s = time.perf_counter() - t0
    total = sum(b.size for b in batches)
    return {"answered": total / busy / MIB, "on_disk": total / (busy + sync_s) / MIB, "sync_s": sync_s,
            "cpu_ms": (cpu_s(proc.pid) - s0) / len(batches) * 1000, "dirty_peak_mib": dirty,
            "batches": len(batches), "mib": total / MIB, "speeds": speeds}


def _crypto_floor_ms(size: int) -> float:
    """CPU ms of the cryptography the receiver cannot skip for *size* bytes, measured here.

    Chunk checksum and whole-file hash in one pass over 256 KiB pieces (as
    the receiver does), ChaCha20-Poly1305 decryption in 64 KiB chunks, and
    the member hash over the plaintext; best of three.
    """
    import hashlib

    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    data = os.urandom(size)
    aead = ChaCha20Poly1305(os.urandom(32))
    piece = 256 * 1024
    sealed = [aead.encrypt(bytes(12), data[i:i + 65536], None) for i in range(0, 4 * MIB, 65536)]
    best = float("inf")
    for _ in range(3):
        t0 = time.process_time()
        h1, h2, h3 = hashlib.sha256(), hashlib.sha256(), hashlib.sha256()
        view = memoryview(data)
        for i in range(0, size, piece):
            h1.update(view[i:i + piece])
            h2.update(view[i:i + piece])
        for _ in range(size // (4 * MIB)):
            for ct in sealed:
                aead.decrypt(bytes(12), ct, None)
        h3.update(data)
        best = min(best, (time.process_time() - t0) * 1000)
    return best


def _runs(xs: list[float]) -> str:
    return ", ".join(f"{x:.0f}" for x in xs)


def _dirty_limit_gib() -> float:
    """The kernel's limit on unwritten page-cache data (vm.dirty_bytes or dirty_ratio of memory), GiB."""
    try:
        limit = int(open("/proc/sys/vm/dirty_bytes", encoding="ascii").read())
        if not limit:
            ratio = int(open("/proc/sys/vm/dirty_ratio", encoding="ascii").read())
            kib = next(int(line.split()[1]) for line in open("/proc/meminfo", encoding="ascii")
                       if line.startswith("MemAvailable:"))
            limit = kib * 1024 * ratio // 100
        return limit / 1024**3
    except (OSError, ValueError, StopIteration):
        return float("nan")


def _peer_speeds_prose(so: dict, sp: dict, q: int) -> str:
    """What the sustained stream showed of the peer's speed, from this run's figures."""
    first, last = statistics.median(sp["speeds"][:q]), statistics.median(sp["speeds"][-q:])
    ours = f"(ours: {statistics.median(so['speeds'][:q]):.0f} and {statistics.median(so['speeds'][-q:]):.0f})"
    head = (f"The peer writes through the page cache and answers before its data is on the disk. In the "
            f"sustained stream above its first {q} batches went at a median {first:.0f} MiB/s and its last {q} "
            f"at {last:.0f} MiB/s {ours}. ")
    if last < 0.8 * first:
        why = ("It slowed as its files filled the page cache; in earlier separate runs of the peer alone, "
               "deleting each file after its upload or emptying the page cache before each upload kept it at "
               "the higher speed, and `sync` alone did not. ")
    else:
        why = (f"In this run it kept its speed: the {sp['mib'] / 1024:.0f} GiB it left unwritten stayed under "
               f"this machine's limit for unwritten data ({_dirty_limit_gib():.1f} GiB, vm.dirty_ratio of the "
               "available memory), so the cost of writing them out shows only in the 'until on disk' column; a "
               "receiver that takes batches all day writes them out as it goes. ")
    return head + why + "Ours writes with `O_DIRECT` and syncs every chunk before it answers, and has one speed."


def report(tp: dict) -> list[str]:
    """The throughput part of BENCHMARKS.md."""
    ours, peer = statistics.median(tp["ours"]), statistics.median(tp["peer"])
    ratio = ours / peer
    cpu = tp["cpu_ms"]
    so, sp = tp["sustained"]["ours"], tp["sustained"]["peer"]
    s_ratio, d_ratio = so["answered"] / sp["answered"], so["on_disk"] / sp["on_disk"]
    q = max(1, so["batches"] // 4)
    verdict = lambda r: "met" if r >= 1 else f"missed, {(1 - r) * 100:.0f} % short"  # noqa: E731
    return [
        "Loopback (127.0.0.1), both servers in their own process with their upload directories on the same "
        "file system, fed by the same client program in the bench process (`sync.client.TusClient` over "
        f"aiohttp: {CHUNK // MIB} MiB PATCH chunks sent in 256 KiB slices, the next chunk read and "
        "SHA-256-hashed in a thread while the current one is in flight, `Upload-Checksum` on every PATCH, "
        f"which the peer ignores). The same sealed files go to both. Peer: {node_version()}, stock settings "
        f"(`server.mjs`). Machine: {os.cpu_count()} cores shared by client and server (1-minute load average "
        f"{tp['load']:.1f} when the throughput runs began).",
        "",
        f"### Receiver throughput, single {tp['size'] / MIB:.0f} MiB sealed batches (median of {RUNS})",
        "",
        "One batch at a time to each server in turn. Before each run the page cache is written out and "
        + ("emptied (`sync`, `drop_caches`) " if tp["emptied"] else "written out (`sync`; it could not be "
           "emptied: not root) ")
        + "and the batch file read back into it, so the peer starts every run in its fast state (see below).",
        "",
        "| server | MiB/s (median) | runs | server CPU per batch | client CPU per batch |",
        "|---|---|---|---|---|",
        f"| sohoa receiver: SHA-256 per chunk, fdatasync before each acknowledgement, the whole batch verified "
        f"(whole-file hash, decrypt, decompress, member hashes, signature, chain) while it arrives, Merkle "
        f"append, signed receipt fetched and verified by the client | {ours:.0f} | {_runs(tp['ours'])} | "
        f"{cpu['ours_server']:.0f} ms | {cpu['ours_client']:.0f} ms |",
        f"| same runs minus the time the receiver reports for acceptance after the last byte "
        f"(`Server-Timing`, median {statistics.median(tp['accept_ms']):.0f} ms) | "
        f"{statistics.median(tp['ours_transfer']):.0f} | {_runs(tp['ours_transfer'])} | | |",
        f"| @tus/server + @tus/file-store (no checksum, no fsync, no verification; its data still in the page "
        f"cache when it answers) | {peer:.0f} | {_runs(tp['peer'])} | {cpu['peer_server']:.0f} ms | "
        f"{cpu['peer_client']:.0f} ms |",
        "",
        f"### Sustained: {so['batches']} batches ({so['mib'] / 1024:.0f} GiB) back to back to each server",
        "",
        "Each server alone, starting from an empty page cache; the uploads are timed back to back (the client "
        "reads each file first, untimed), then a `sync` after the last answer: MiB/s to the last answer, and "
        "until the data is on the disk.",
        "",
        "| server | MiB/s to the last answer | MiB/s until on disk | `sync` after | server CPU per batch | "
        "unwritten data at most |",
        "|---|---|---|---|---|---|",
        f"| sohoa receiver | {so['answered']:.0f} | {so['on_disk']:.0f} | {so['sync_s']:.2f} s | "
        f"{so['cpu_ms']:.0f} ms | {so['dirty_peak_mib']:.0f} MiB |",
        f"| @tus/server + @tus/file-store | {sp['answered']:.0f} | {sp['on_disk']:.0f} | {sp['sync_s']:.2f} s | "
        f"{sp['cpu_ms']:.0f} ms | {sp['dirty_peak_mib']:.0f} MiB |",
        "",
        f"Target ≥ 1× the peer: single batches {ratio:.2f}× ({verdict(ratio)}); sustained {s_ratio:.2f}× to the "
        f"last answer ({verdict(s_ratio)}), {d_ratio:.2f}× until on disk ({verdict(d_ratio)}).",
        "",
        "What the receiver does per batch that the peer skips: SHA-256 "
        "three times and ChaCha20-Poly1305 once over every byte (chunk checksum and whole-file hash in one pass "
        f"over the received pieces, decryption, member hashes): {tp['crypto_ms']:.0f} ms of CPU measured alone "
        f"in this run, against {cpu['peer_server']:.0f} ms for the peer's whole server. Add zstd, an "
        "fdatasync per chunk and the client's own SHA-256, all on 2 cores that tus keeps taking turns "
        "(one chunk, one answer), and the CPU per batch shows almost directly in the wall time. Where the "
        f"receiver's CPU went (medians per batch, from `/proc/<pid>/task`): event loop thread "
        f"{cpu['ours_loop']:.0f} ms (socket reads, HTTP parsing, requests, Merkle log, receipt), worker threads "
        f"{cpu['ours_pool']:.0f} ms (chunk checksum and whole-file hash, writes, fdatasync), the batch check's "
        f"thread, which ends with the batch, {cpu['ours_gone']:.0f} ms (decryption, zstd, member hashes). How "
        "it gets there: the body is taken piece by piece as the HTTP parser produced it (no joins); two ordered "
        "lanes in worker threads hash and write each 1 MiB block while the event loop reads the next; a chunk "
        "that starts on a 4 KiB boundary goes to the disk with `O_DIRECT` through a reused aligned staging "
        "buffer (no page-cache copy and no writeback later); the batch check reads each block from the "
        "received pieces without copying them as soon as it has arrived, before its chunk is acknowledged "
        "(a chunk that then fails voids a check that read it), in a thread at nice +5 that fills the gaps "
        "left by receiving and hashing; freed buffers stay in the heap for the next chunk instead of being faulted in "
        "again.",
        "",
        _peer_speeds_prose(so, sp, q),
    ]
