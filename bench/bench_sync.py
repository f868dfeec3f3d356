"""Sync benchmarks: receiver throughput against @tus/server, re-sent bytes per cut,
3,300 appliances through a bounded pool, agent memory during a 1 GiB upload.

Both servers run as their own processes on loopback and are fed by the same
client (``sync.client.TusClient``) with the same chunk size, so the client's
cost is common to both columns.
"""

from __future__ import annotations

import asyncio
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from bench.sync_proxy import CuttingProxy
from sync.auth import HeaderSource
from sync.batch import seal_batch
from sync.canon import ZERO_HASH
from sync.client import TransientError, TusClient
from sync.deliver import Outbound, deliver
from sync.keys import ed25519_public, load_or_create, public_b64
from sync.receiver_state import ReceiverState

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NODE_DIR = HERE / "node"
MIB = 1 << 20
RUNS = 7
BIG = 64 * MIB
CHUNK = 8 * MIB
APPLIANCES = 3300
POOL = 64


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


class Receiver:
    """Our receiver as its own process, with devices registered up front."""

    def __init__(self, root: Path):
        self.root = root
        self.archive = load_or_create(root / "keys" / "archive_x25519.pem", X25519PrivateKey)
        self.log_key = load_or_create(root / "keys" / "log_ed25519.pem", Ed25519PrivateKey)
        self.state = ReceiverState(root / "receiver.sqlite3")
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def register(self, device: str, key: Ed25519PrivateKey) -> None:
        self.state.register(device, public_b64(key))

    def start(self) -> str:
        self.port = _port()
        self.proc = subprocess.Popen([sys.executable, "-m", "sync.serve", "--root", str(self.root), "--port",
                                      str(self.port), "--max-size", str(4 << 30)], cwd=ROOT,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_port(self.port, self.proc)
        return f"http://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        self.state.close()


def _node_server(directory: Path) -> tuple[subprocess.Popen, str]:
    if not (NODE_DIR / "node_modules" / "@tus" / "server").exists():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent"], cwd=NODE_DIR, check=True,
                       timeout=600, capture_output=True)
    proc = subprocess.Popen(["node", str(NODE_DIR / "server.mjs"), str(directory)], cwd=NODE_DIR,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline().split()
    if len(line) != 2 or line[0] != "listening":
        raise RuntimeError("node tus server did not start")
    return proc, f"http://127.0.0.1:{line[1]}/"


def _node_version() -> str:
    try:
        import json
        v = {p: json.loads((NODE_DIR / "node_modules" / "@tus" / p / "package.json").read_text())["version"]
             for p in ("server", "file-store")}
        node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
        return f"@tus/server {v['server']}, @tus/file-store {v['file-store']}, node {node}"
    except (OSError, KeyError, ValueError):
        return "@tus/server (version unknown)"


def _seal_chain(work: Path, device: str, key: Ed25519PrivateKey, archive_pub, n: int, size: int,
                start_seq: int = 1, prev: str = ZERO_HASH) -> list[Outbound]:
    out = []
    for i in range(n):
        member = work / f"{device}-m{i}.bin"
        with open(member, "wb") as f:
            for _ in range(max(1, size // MIB)):
                f.write(os.urandom(min(size, MIB)))
        seq = start_seq + i
        s = seal_batch(work / f"{device}-{seq}.sohoa", [("package.zip", member)], device_id=device, seq=seq,
                       prev=prev, created=1, pages=1, documents=1, climate=None, device_key=key,
                       archive_public=archive_pub, level=1)
        member.unlink()
        prev = s.batch_hash
        out.append(Outbound(device, seq, s.batch_hash, s.file_sha256, s.size, s.path))
    return out


# ---------------------------------------------------------------------- 1. throughput

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


def bench_throughput(work: Path) -> dict:
    rx = Receiver(work / "rx")
    key = Ed25519PrivateKey.generate()
    rx.register("bench-tp-0001", key)
    batches = _seal_chain(work, "bench-tp-0001", key, rx.archive.public_key(), RUNS, BIG)
    auth = HeaderSource("bench-tp-0001", key)
    ours, peer = [], []
    cpu = {"ours_server": [], "peer_server": [], "ours_client": [], "peer_client": [], "ours_loop": [],
           "ours_pool": [], "ours_gone": []}
    url = rx.start()
    node, node_url = _node_server(work / "node-files")
    load = os.getloadavg()[0]
    try:
        log_pub = ed25519_public(public_b64(rx.log_key))
        for b in batches:  # alternate, so both see the same machine state
            for label, target, proc, lp, out in (("ours", url, rx.proc, log_pub, ours),
                                                 ("peer", node_url, node, None, peer)):
                s0, c0, t0 = _cpu_s(proc.pid), _self_cpu_s(), _thread_cpu_s(proc.pid)
                out.append(asyncio.run(_timed_upload(target, b, auth if lp else None, lp)))
                time.sleep(0.2)  # let the server's threads settle before reading its CPU time
                cpu[f"{label}_server"].append(_cpu_s(proc.pid) - s0)
                cpu[f"{label}_client"].append(_self_cpu_s() - c0)
                if label == "ours":
                    t1 = _thread_cpu_s(proc.pid)
                    loop = t1.get(proc.pid, 0.0) - t0.get(proc.pid, 0.0)
                    pool = sum(v - t0.get(tid, 0.0) for tid, v in t1.items() if tid != proc.pid)
                    cpu["ours_loop"].append(loop)
                    cpu["ours_pool"].append(pool)
                    cpu["ours_gone"].append(cpu["ours_server"][-1] - loop - pool)
    finally:
        rx.stop()
        node.send_signal(signal.SIGTERM)
        node.wait(timeout=10)
    size = batches[0].size
    return {"ours": [size / t / MIB for t, _ in ours], "peer": [size / t / MIB for t, _ in peer],
            "ours_transfer": [size / (t - a) / MIB for t, a in ours],
            "accept_ms": [a * 1000 for _, a in ours], "size": size, "load": load,
            "cpu_ms": {k: statistics.median(v) * 1000 for k, v in cpu.items()},
            "crypto_ms": _crypto_floor_ms(BIG)}


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


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process *pid* (all its threads)."""
    fields = open(f"/proc/{pid}/stat", encoding="ascii").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _thread_cpu_s(pid: int) -> dict[int, float]:
    """CPU seconds of each live thread of *pid*; a thread that ended is only in the process total."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            fields = open(f"/proc/{pid}/task/{tid}/stat", encoding="ascii").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def _self_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# ---------------------------------------------------------------------- 2. re-sent bytes per cut

async def _through_proxy(url: str, batches: list[Outbound], auth, cuts: list[int], log_pub, chunk: int) -> tuple:
    port = int(url.rsplit(":", 1)[1].strip("/"))
    proxy = await CuttingProxy(port, cut_at=cuts).start()
    try:
        async with TusClient(proxy.url, auth, chunk_size=chunk, read_timeout_s=10) as c:
            for b in batches:
                upload_url = None

                def keep(u):
                    nonlocal upload_url
                    upload_url = u
                for _ in range(1000):
                    try:
                        if log_pub is None:
                            await c.upload(b.path, b.size, b.metadata(), url=upload_url, on_created=keep,
                                                       expect_receipt=False)
                        else:
                            await deliver(c, b, log_pub, url=upload_url, on_created=keep)
                        break
                    except TransientError:
                        await asyncio.sleep(0.01)
                else:
                    raise RuntimeError("upload did not finish through the cutting proxy")
    finally:
        await proxy.close()
    return proxy.sent, proxy.cuts


def bench_resend(work: Path) -> dict:
    import random
    rng = random.Random(6962)
    chunk = 1 * MIB
    rx = Receiver(work / "rx-cut")
    results = {}
    keys = {name: Ed25519PrivateKey.generate() for name in ("cut-clean", "cut-cut", "node-clean", "node-cut")}
    for name, k in keys.items():
        rx.register(name, k)
    url = rx.start()
    node, node_url = _node_server(work / "node-cut-files")
    try:
        log_pub = ed25519_public(public_b64(rx.log_key))
        for label, target, lp in (("ours", url, log_pub), ("peer", node_url, None)):
            dev = "cut" if label == "ours" else "node"
            clean = _seal_chain(work, f"{dev}-clean", keys[f"{dev}-clean"], rx.archive.public_key(), 4, 8 * MIB)
            cut = _seal_chain(work, f"{dev}-cut", keys[f"{dev}-cut"], rx.archive.public_key(), 4, 8 * MIB)
            total = sum(b.size for b in cut)
            points = sorted(rng.sample(range(1, total), 40))
            sent_clean, _ = asyncio.run(_through_proxy(target, clean, HeaderSource(f"{dev}-clean",
                                                       keys[f"{dev}-clean"]), [], lp, chunk))
            sent_cut, ncuts = asyncio.run(_through_proxy(target, cut, HeaderSource(f"{dev}-cut", keys[f"{dev}-cut"]),
                                                         points, lp, chunk))
            results[label] = {"per_cut": (sent_cut - sent_clean) / max(ncuts, 1), "cuts": ncuts, "total": total}
    finally:
        rx.stop()
        node.send_signal(signal.SIGTERM)
        node.wait(timeout=10)
    results["chunk"] = chunk
    return results


# ---------------------------------------------------------------------- 3. 3,300 appliances

def _seal_one(args) -> tuple:
    work, i, archive_raw = args
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
    key = Ed25519PrivateKey.generate()
    device = f"commune-{i:04d}"
    (b,) = _seal_chain(Path(work), device, key, X25519PublicKey.from_public_bytes(archive_raw), 1, MIB)
    from cryptography.hazmat.primitives import serialization
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    return raw, (b.device_id, b.seq, b.batch_hash, b.file_sha256, b.size, str(b.path))


async def _fleet(url: str, fleet: list, log_pub) -> tuple[list[float], int]:
    sem = asyncio.Semaphore(POOL)
    latencies: list[float] = []
    failures = 0

    async def one(raw: bytes, b: Outbound):
        nonlocal failures
        async with sem:
            key = Ed25519PrivateKey.from_private_bytes(raw)
            async with TusClient(url, HeaderSource(b.device_id, key), chunk_size=4 * MIB,
                                 read_timeout_s=120) as c:
                t0 = time.perf_counter()
                for _ in range(20):
                    try:
                        await deliver(c, b, log_pub)
                        latencies.append(time.perf_counter() - t0)
                        return
                    except TransientError:
                        await asyncio.sleep(0.2)
                failures += 1
    await asyncio.gather(*(one(raw, b) for raw, b in fleet))
    return latencies, failures


def bench_fleet(work: Path) -> dict:
    rx = Receiver(work / "rx-fleet")
    from cryptography.hazmat.primitives import serialization
    archive_raw = rx.archive.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    seal_dir = work / "fleet"
    seal_dir.mkdir()
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        sealed = list(pool.map(_seal_one, [(str(seal_dir), i, archive_raw) for i in range(APPLIANCES)],
                               chunksize=50))
    seal_s = time.perf_counter() - t0
    fleet = []
    with rx.state.tx():
        for raw, (device, seq, bh, sha, size, path) in sealed:
            pub = public_b64(Ed25519PrivateKey.from_private_bytes(raw))
            rx.state._register(device, pub, time.time())
            fleet.append((raw, Outbound(device, seq, bh, sha, size, Path(path))))
    url = rx.start()
    try:
        t0 = time.perf_counter()
        latencies, failures = asyncio.run(_fleet(url, fleet, ed25519_public(public_b64(rx.log_key))))
        wall = time.perf_counter() - t0
    finally:
        rx.stop()
    check = ReceiverState(work / "rx-fleet" / "receiver.sqlite3")
    accepted = check.counts()["accepted"]
    check.close()
    lat = sorted(latencies)
    return {"accepted": accepted, "failures": failures, "wall": wall, "seal_s": seal_s,
            "p50": lat[len(lat) // 2] if lat else float("nan"),
            "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else float("nan")}


# ---------------------------------------------------------------------- 4. agent memory

def _rss_kib(pid: int) -> int:
    try:
        for line in open(f"/proc/{pid}/status", encoding="ascii"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def bench_memory(work: Path, size_mib: int = 1024) -> dict:
    rx_root = work / "rx-mem"
    url = None
    rx = Receiver(rx_root)
    token = rx.state.mint_token("bench-mem-0001")
    url = rx.start()
    agent_dir = work / "agent"
    agent_dir.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "bench.sync_agent_mem", str(agent_dir), url, token,
                             str(size_mib)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    idle, sealing, uploading = [], [], []
    try:
        while proc.poll() is None:
            phase = (agent_dir / "phase").read_text() if (agent_dir / "phase").exists() else ""
            rss = _rss_kib(proc.pid)
            if rss:
                {"idle": idle, "sealing": sealing, "uploading": uploading}.get(phase, []).append(rss)
            time.sleep(0.05)
        if proc.returncode != 0:
            raise RuntimeError(f"agent child failed: {proc.stderr.read().decode()[-2000:]}")
    finally:
        rx.stop()
    seconds = float((agent_dir / "seconds").read_text())
    return {"idle_mib": statistics.median(idle) / 1024, "peak_mib": max(sealing + uploading) / 1024,
            "seal_peak_mib": max(sealing or [0]) / 1024, "upload_peak_mib": max(uploading or [0]) / 1024,
            "upload_median_mib": statistics.median(uploading or [0]) / 1024,
            "seconds": seconds, "size_mib": size_mib}


# ---------------------------------------------------------------------- report

def run() -> str:
    work = Path(tempfile.mkdtemp(prefix="sohoa-bench-sync-"))
    try:
        tp = bench_throughput(work / "tp")
        rs = bench_resend(work / "rs")
        fl = bench_fleet(work / "fl")
        mem = bench_memory(work / "mem")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return _report(tp, rs, fl, mem)


def _report(tp: dict, rs: dict, fl: dict, mem: dict) -> str:
    ours, peer = statistics.median(tp["ours"]), statistics.median(tp["peer"])
    ratio = ours / peer
    cpu = tp["cpu_ms"]
    delta = mem["peak_mib"] - mem["idle_mib"]
    lines = [
        "## Sync",
        "",
        "Loopback (127.0.0.1), both servers in their own process with their upload directories on the same "
        "file system, fed by the same client program in the bench process (`sync.client.TusClient` over "
        f"aiohttp: {CHUNK // MIB} MiB PATCH chunks, the next chunk read and SHA-256-hashed in a thread while "
        "the current one is in flight, `Upload-Checksum` on every PATCH, which the peer ignores). The same "
        f"sealed files go to both, alternately. Peer: {_node_version()}, stock settings (`server.mjs`). "
        f"Machine: {os.cpu_count()} cores shared by client and server (1-minute load average "
        f"{tp['load']:.1f} when the throughput runs began).",
        "",
        f"### Receiver throughput, {tp['size'] / MIB:.0f} MiB sealed batches (median of {RUNS})",
        "",
        "| server | MiB/s (median) | runs | server CPU per batch | client CPU per batch |",
        "|---|---|---|---|---|",
        f"| sohoa receiver: SHA-256 per chunk, fdatasync before each acknowledgement, the whole batch verified "
        f"(whole-file hash, decrypt, decompress, member hashes, signature, chain) while it arrives, Merkle "
        f"append, signed receipt fetched and verified by the client | {ours:.0f} | "
        f"{', '.join(f'{x:.0f}' for x in tp['ours'])} | {cpu['ours_server']:.0f} ms | "
        f"{cpu['ours_client']:.0f} ms |",
        f"| same runs minus the time the receiver reports for acceptance after the last byte "
        f"(`Server-Timing`, median {statistics.median(tp['accept_ms']):.0f} ms) | "
        f"{statistics.median(tp['ours_transfer']):.0f} | {', '.join(f'{x:.0f}' for x in tp['ours_transfer'])} "
        "| | |",
        f"| @tus/server + @tus/file-store (no checksum, no fsync, no verification) | {peer:.0f} | "
        f"{', '.join(f'{x:.0f}' for x in tp['peer'])} | {cpu['peer_server']:.0f} ms | "
        f"{cpu['peer_client']:.0f} ms |",
        "",
        f"Target ≥ 1× the peer: {'met' if ratio >= 1 else 'missed'} ({ratio:.2f}×"
        + ("" if ratio >= 1 else f", {(1 - ratio) * 100:.0f} % short") + "; single runs: ours "
        + f"{min(tp['ours']):.0f}-{max(tp['ours']):.0f}, the peer {min(tp['peer']):.0f}-{max(tp['peer']):.0f} "
          "MiB/s, so the ratio of medians moves with the peer's spread)."
        + " Per batch the receiver does work the peer skips: SHA-256 and ChaCha20-Poly1305 over every "
          "byte (chunk checksum and whole-file hash in one pass over the received pieces, decryption, "
          f"member hashes: {tp['crypto_ms']:.0f} ms of CPU per batch measured alone in this run, against "
          f"{cpu['peer_server']:.0f} ms for the peer's whole server) plus zstd, and an fdatasync per chunk "
          "before it answers. Where its CPU went (medians per batch, from `/proc/<pid>/task`): event loop "
          f"thread {cpu['ours_loop']:.0f} ms (socket reads, HTTP parsing, requests, Merkle log, receipt), "
          f"worker threads {cpu['ours_pool']:.0f} ms (chunk checksum and whole-file hash, writes, fdatasync), "
          f"the batch check's thread, which ends with the batch, {cpu['ours_gone']:.0f} ms (decryption, zstd, "
          "member hashes). How: the body is taken piece by piece as the HTTP parser produced it (no joins); "
          "two ordered lanes in worker threads hash and write each 1 MiB block while the event loop reads the "
          "next; a chunk that starts on a 4 KiB boundary goes to the disk with `O_DIRECT` through a reused "
          "aligned staging buffer (no copy into the page cache and no writeback to do later, which together cost "
          "more CPU than a SHA-256 pass); the batch check reads the committed chunks from the received pieces "
          "without copying them, in a thread at nice +5 that fills the gaps left by receiving and hashing; freed "
          "buffers stay in the heap for the next chunk instead of being faulted in again. The peer writes through the page cache and leaves the writeback to the kernel, "
          "outside its process's CPU time. tus answers chunk by chunk and the 2 cores are shared with the "
          "client (and with any other work on the machine), so CPU per batch shows almost directly in the wall time. "
          "The CPU columns are medians from `/proc` and `getrusage`; single runs vary when other work "
          "shares the machine.",
        "",
        "### Re-sent bytes per cut",
        "",
        f"40 cuts at random byte offsets across 4 batches of 8 MiB ({rs['chunk'] // MIB} MiB chunks), through a "
        "cutting TCP proxy; extra bytes on the wire compared with the same upload without cuts, divided by "
        "the cuts.",
        "",
        "| server | cuts | extra bytes per cut | bound |",
        "|---|---|---|---|",
        f"| sohoa receiver | {rs['ours']['cuts']} | {rs['ours']['per_cut'] / 1024:.0f} KiB | ≤ 1 chunk "
        f"({rs['chunk'] // 1024} KiB) + headers |",
        f"| @tus/server | {rs['peer']['cuts']} | {rs['peer']['per_cut'] / 1024:.0f} KiB | keeps partial chunks, "
        "unverified |",
        "",
        "Our receiver drops a chunk that did not arrive whole (its checksum cannot be checked), so a cut costs "
        "the part of the chunk already sent, never more than one chunk; the peer keeps whatever bytes "
        "arrived, which re-sends less but stores bytes nobody verified.",
        "",
        f"### {APPLIANCES} appliances, one 1 MiB batch each, pool of {POOL} connections",
        "",
        f"- accepted: {fl['accepted']} of {APPLIANCES} (client-side failures: {fl['failures']})",
        f"- latency per appliance (creation to verified receipt): p50 {fl['p50'] * 1000:.0f} ms, "
        f"p99 {fl['p99'] * 1000:.0f} ms",
        f"- wall time {fl['wall']:.1f} s ({APPLIANCES / fl['wall']:.0f} batches/s, "
        f"{APPLIANCES * MIB / fl['wall'] / MIB:.0f} MiB/s); sealing beforehand took {fl['seal_s']:.1f} s",
        "",
        f"### Agent memory during a {mem['size_mib']} MiB upload",
        "",
        f"The agent's `UploaderTask` sealing and sending one {mem['size_mib']} MiB staged batch "
        f"({mem['seconds']:.1f} s end to end, receipt verified); RSS sampled every 50 ms.",
        "",
        f"- idle {mem['idle_mib']:.0f} MiB; peak while sealing {mem['seal_peak_mib']:.0f} MiB, while uploading "
        f"{mem['upload_peak_mib']:.0f} MiB (median {mem['upload_median_mib']:.0f} MiB): at most "
        f"+{delta:.0f} MiB ({delta * MIB / 1e6:.0f} MB). Target flat and under 50 MB above idle: "
        f"{'met' if delta * MIB < 50e6 else 'missed'}.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
