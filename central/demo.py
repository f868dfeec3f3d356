"""``sohoa-central demo --once``: a whole central archive on this machine, end to end (design 5.12-5.14).

Starts what no URL was given for (PostgreSQL from Debian's packages in a
temporary folder as an unprivileged user; SeaweedFS ``weed server -s3``
twice, the primary and the replica store), migrates, runs two receiver
nodes (behind HAProxy when Debian's haproxy is installed), a replicator,
several simulated stations sending real batches of real SIP_hoso packages,
kills one node with SIGKILL while it receives an upload (the station resumes
through the other), ingests with one worker, exports every package, damages
one object in each store and audits (the audit repairs both). It prints one
JSON object as its last line; every figure in it is counted from the state
database, the stores and the files written, not from what was planned.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from central.services import (HAPROXY_CFG, ROOT, S3_ACCESS_KEY, S3_SECRET_KEY, HAProxy, PgCluster, ReceiverNode,
                              SeaweedS3)

PREFIX = "sohoa"
KILL_AT = 3 << 20  # bytes of the big upload acknowledged before its node is killed
FILLER = 12 << 20  # page images staged beside the packages of the big batch (not a package: kept in the batch)


def _cli(config: Path, root: Path, *args: str, timeout: float = 600) -> tuple[int, dict | None, str]:
    r = subprocess.run([sys.executable, "-m", "central.cli", *args, "--root", str(root), "--config", str(config)],
                       cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    return r.returncode, (json.loads(lines[-1]) if lines else None), r.stderr


def _config(path: Path, *, state_url: str, keys: Path, primary: str, replica: str, region: str = "us-east-1",
            credentials: bool = True) -> Path:
    creds = (f'access_key_id = "{S3_ACCESS_KEY}"\nsecret_access_key = "{S3_SECRET_KEY}"\n' if credentials else "")
    path.write_text(f"""version = 1
[receiver]
retry_after_s = 1
trusted_proxies = ["127.0.0.1"]
[keys]
dir = "{keys}"
[state]
url = "{state_url}"
pool_max = 20
connect_timeout_s = 2.0
[objects]
url = "s3://sohoa-primary/{PREFIX}"
endpoint = "{primary}"
region = "{region}"
part_size_mib = 5
{creds}[replica]
url = "s3://sohoa-replica/{PREFIX}"
endpoint = "{replica}"
region = "{region}"
{creds}[audit]
rate_objects_per_s = 50.0
""")
    return path


def _client(endpoint: str, credentials: bool):
    from central.s3client import make_client
    return make_client(endpoint, "us-east-1", S3_ACCESS_KEY if credentials else None,
                       S3_SECRET_KEY if credentials else None)


def _bucket(client, name: str) -> None:
    try:
        client.create_bucket(Bucket=name)
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass


def run_demo(args) -> int:
    if not args.once:  # one box, SQLite and files, then the staff web until Ctrl-C
        from central.demo_web import run_web_demo
        return run_web_demo(args)
    started = time.monotonic()
    out_dir = Path(args.out) if getattr(args, "out", None) else Path(tempfile.mkdtemp(prefix="sohoa-central-export-"))
    # The folder goes last: every server started in it is stopped first.
    with tempfile.TemporaryDirectory(prefix="sohoa-central-demo-") as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        os.chmod(tmp, 0o755)  # PostgreSQL's unprivileged user makes its folder inside
        summary = _scenario(args, tmp, out_dir, stack)
    summary["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(summary, ensure_ascii=False), flush=True)
    return 0 if summary["ok"] else 1


def _scenario(args, tmp: Path, out_dir: Path, stack: ExitStack) -> dict:
    from central.backends import open_state
    from central.config import load

    def say(text: str) -> None:
        print(f"demo: {text}", file=sys.stderr, flush=True)
    state_url = args.state_url
    if state_url is None:
        say("starting PostgreSQL")
        pg = PgCluster(base=tmp)
        stack.callback(pg.close)
        state_url = pg.new_database("demo")
    endpoints, given = [], [args.s3_endpoint, args.replica_endpoint]
    for label, endpoint in zip(("primary", "replica"), given):
        if endpoint is None:
            say(f"starting SeaweedFS for the {label} store")
            server = SeaweedS3(base=tmp)
            stack.callback(server.close)
            endpoint = server.endpoint
        endpoints.append(endpoint)
    credentials = args.s3_endpoint is None and args.replica_endpoint is None
    for endpoint, bucket in zip(endpoints, ("sohoa-primary", "sohoa-replica")):
        _bucket(_client(endpoint, credentials), bucket)
    root = tmp / "central"
    root.mkdir()
    config = _config(tmp / "central.toml", state_url=state_url, keys=root / "keys", primary=endpoints[0],
                     replica=endpoints[1], credentials=credentials)
    rc, _, err = _cli(config, root, "migrate")
    if rc != 0:
        raise RuntimeError(f"migrate failed: {err.strip()[-500:]}")

    say("starting two receiver nodes, the replicator and the load balancer")
    nodes = [ReceiverNode(config, root / f"node{i}") for i in (1, 2)]
    for node in nodes:
        stack.callback(node.stop)
        node.start()
    lb = None
    if shutil.which("haproxy") and HAPROXY_CFG.exists():
        lb = HAProxy(nodes[0].address, nodes[1].address, base=tmp)
        stack.callback(lb.close)
    replicator = subprocess.Popen([sys.executable, "-m", "central.cli", "replicate", "--root", str(root), "--config",
                                   str(config), "--interval", "0.5"], cwd=ROOT, stdout=subprocess.DEVNULL,
                                  stderr=open(tmp / "replicator.log", "ab"))
    stack.callback(_stop, replicator)

    cfg = load(config)
    state = open_state(cfg, root)
    stack.callback(state.close)
    sent, killed, packages_sent = asyncio.run(_stations(args, tmp, state, nodes, lb, say))

    say("ingesting with one worker")
    rc, ingest, err = _cli(config, root, "ingest", "--once", "--lease-s", "30")
    if rc != 0 or ingest is None:
        raise RuntimeError(f"ingest failed: {err.strip()[-500:]}")
    say("exporting every package")
    rc, exported, err = _cli(config, root, "export", "--since", "2000-01-01", "--out", str(out_dir))
    if exported is None:
        raise RuntimeError(f"export failed: {err.strip()[-500:]}")
    _stop(replicator)
    rc, replicated, err = _cli(config, root, "replicate", "--once")
    if replicated is None:
        raise RuntimeError(f"replicate failed: {err.strip()[-500:]}")

    say("damaging one object in each store, then auditing")
    damaged = _damage(state, endpoints, credentials)
    rc, audit, err = _cli(config, root, "audit")
    if audit is None:
        raise RuntimeError(f"audit failed: {err.strip()[-500:]}")
    counts = state.counts()
    devices = len(state.devices())
    packages = state._one("SELECT COUNT(*) AS n FROM cat_files")["n"]
    fixity = state.fixity_counts()
    intact = _both_intact(state, endpoints, credentials, damaged)
    accepted_names = {(r["device_id"], r["seq"]) for r in state._all("SELECT device_id, seq FROM log")}
    ok = (accepted_names == {(b.device_id, b.seq) for b in sent} and audit["unrepairable"] == 0 and intact
          and ingest.get("failed", 0) == 0 and not exported.get("problems"))
    return {"ok": ok, "state_backend": state.backend, "object_backend": "s3", "replica_backend": "s3",
            "load_balancer": "haproxy" if lb is not None else None, "nodes": len(nodes), "node_killed": killed,
            "devices": devices, "batches_sent": len(sent), "batches_accepted": counts["accepted"],
            "packages_sent": packages_sent, "packages_ingested": packages, "exported": exported["exported"],
            "replica_copies": fixity["preserved"], "objects_registered": fixity["objects"],
            "damaged": damaged, "audit_checked": audit["checked"], "audit_mismatches": audit["mismatches"],
            "audit_missing": audit["missing"], "audit_repaired": audit["repaired"],
            "audit_unrepairable": audit["unrepairable"], "audit_bytes": audit["bytes"],
            "audit_seconds": audit["seconds"], "copies_intact_after_audit": intact}


async def _stations(args, tmp: Path, state, nodes, lb, say) -> tuple[list, str | None, dict]:
    """Enroll the stations, send their batches (one big one to node 1, killed part way).

    Returns the batches delivered, the address of the node killed, and {package member: SHA-256} of the
    packages in those batches.
    """
    import hashlib

    from central.demo_station import Station, build_packages

    count = max(1, args.stations) * max(1, args.batches)
    say(f"building {count} SIP_hoso packages")
    packages = await asyncio.get_running_loop().run_in_executor(None, build_packages, tmp / "sip", count)
    entry = lb.url if lb is not None else nodes[0].url
    urls = [lb.url] if lb is not None else [n.url for n in nodes]
    stations = [Station(tmp / "stations", f"xa-demo-{i + 1:02d}") for i in range(max(1, args.stations))]
    for s in stations:
        await s.enroll(entry, state.mint_token(s.device_id, ttl_s=600))
    killed: list[str] = []
    delivered: dict[str, str] = {}

    def kill_mid_upload(offset: int, length: int) -> None:
        if not killed and KILL_AT <= offset < length:
            nodes[0].kill9()
            killed.append(nodes[0].address)

    async def run(i: int, station: Station) -> None:
        for b in range(max(1, args.batches)):
            pkg = packages[i * max(1, args.batches) + b]
            members = [(pkg.member, pkg.data)]
            big = i == 0 and b == 0
            if big:  # this upload starts on node 1, which is killed under it; it resumes through the other
                members.append(("job-000001-images.bin", os.urandom(FILLER)))
            batch = station.seal(members, pages=pkg.pages, documents=pkg.documents)
            route = [nodes[0].url, *urls] if big else urls
            await station.send(route, batch, on_progress=kill_mid_upload if big else None)
            delivered[pkg.member] = hashlib.sha256(pkg.data).hexdigest()
    say(f"{len(stations)} stations sending {count} batches")
    await asyncio.gather(*(run(i, s) for i, s in enumerate(stations)))
    return [b for s in stations for b in s.sent], (killed[0] if killed else None), delivered


def _damage(state, endpoints, credentials) -> list[dict]:
    """One bit flipped in one primary batch; one package deleted from the replica."""
    primary, replica = _client(endpoints[0], credentials), _client(endpoints[1], credentials)
    batch = state._one("SELECT name FROM fixity WHERE kind='batch' ORDER BY name LIMIT 1")["name"]
    key = f"{PREFIX}/{batch}"
    data = bytearray(primary.get_object(Bucket="sohoa-primary", Key=key)["Body"].read())
    data[len(data) // 2] ^= 0x01
    primary.put_object(Bucket="sohoa-primary", Key=key, Body=bytes(data))
    package = state._one("SELECT name FROM fixity WHERE kind='package' ORDER BY name LIMIT 1")
    out = [{"store": "primary", "object": batch, "damage": "one bit flipped"}]
    if package is not None:
        replica.delete_object(Bucket="sohoa-replica", Key=f"{PREFIX}/{package['name']}")
        out.append({"store": "replica", "object": package["name"], "damage": "deleted"})
    return out


def _both_intact(state, endpoints, credentials, damaged) -> bool:
    """After the audit: each damaged object is back in its store with the hash the state expects."""
    import hashlib

    from central.fixity import expected_for
    clients = {"primary": (_client(endpoints[0], credentials), "sohoa-primary"),
               "replica": (_client(endpoints[1], credentials), "sohoa-replica")}
    for d in damaged:
        client, bucket = clients[d["store"]]
        try:
            data = client.get_object(Bucket=bucket, Key=f"{PREFIX}/{d['object']}")["Body"].read()
        except Exception:
            return False
        exp = expected_for(state, state.fixity_row(d["object"]))
        if exp is None or hashlib.sha256(data).hexdigest() != exp.sha256:
            return False
    return True


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
