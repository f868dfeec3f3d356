"""`sohoa-central` on the server, `sohoa enroll` and `sohoa verify-receipt` on the station, as a technician runs them."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path


from sync.auth import HeaderSource
from sync.batch import seal_batch
from sync.canon import ZERO_HASH
from sync.client import PermanentError, TusClient
from sync.deliver import Outbound, deliver
from sync.keys import ed25519_public, load_private, read_public, x25519_public

ROOT = Path(__file__).resolve().parents[2]
SOHOA = [sys.executable, "-m", "firmware_agent"]
CENTRAL = [sys.executable, "-m", "central"]


def _sohoa(*args: str, check: bool = True, command: list[str] = SOHOA) -> subprocess.CompletedProcess:
    r = subprocess.run([*command, *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(command[2:])} {' '.join(args)} -> {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def _central(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return _sohoa(*args, check=check, command=CENTRAL)


def test_technician_flow_enroll_upload_verify_revoke(tmp_path):
    root, state = tmp_path / "receiver", tmp_path / "state"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    server = subprocess.Popen([*CENTRAL, "serve", "--root", str(root), "--port", str(port),
                               "--metrics-port", "0"], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        cfg = tmp_path / "sohoa.toml"
        cfg.write_text(f'[agent]\ndevice_id = "79-26734-01"\nstate_dir = "{state}"\n')
        token = _central("token", "79-26734-01", "--root", str(root)).stdout.strip()
        bad = _sohoa("enroll", "--config", str(cfg), "--receiver", url, "--token", "x" * 43, check=False)
        assert bad.returncode == 1 and "403" in bad.stderr
        out = _sohoa("enroll", "--config", str(cfg), "--receiver", url, "--token", token).stdout
        assert "Enrolled: 79-26734-01" in out
        assert (os.stat(state / "keys" / "device_ed25519.pem").st_mode & 0o077) == 0
        assert "79-26734-01\tactive" in _central("devices", "--root", str(root)).stdout

        key = load_private(state / "keys" / "device_ed25519.pem")
        archive = x25519_public(read_public(state / "keys" / "archive_x25519.pub"))
        log_pub = ed25519_public(read_public(state / "keys" / "log_ed25519.pub"))

        def seal(seq, prev, name, data):
            (tmp_path / name).write_bytes(data)
            s = seal_batch(tmp_path / f"{seq}-{name}.sohoa", [(name, tmp_path / name)], device_id="79-26734-01",
                           seq=seq, prev=prev, created=1, pages=1, documents=1, climate=None, device_key=key,
                           archive_public=archive)
            return Outbound("79-26734-01", seq, s.batch_hash, s.file_sha256, s.size, s.path)

        # A .zip member that is not a SIP_hoso package is refused by the SIP check the CLI wires in.
        bad_zip = tmp_path / "bad.zip"
        with zipfile.ZipFile(bad_zip, "w") as z:
            z.writestr("not-a-sip/readme.txt", "hello")
        refused = seal(1, ZERO_HASH, "hs-0001.zip", bad_zip.read_bytes())
        good = seal(1, ZERO_HASH, "page-0001.jpg", os.urandom(50_000))

        async def send():
            async with TusClient(url, HeaderSource("79-26734-01", key)) as c:
                try:
                    await deliver(c, refused, log_pub)
                    raise AssertionError("non-SIP zip accepted")
                except PermanentError as exc:
                    assert exc.code == "member_check"
                receipt, _ = await deliver(c, good, log_pub)
                return receipt
        receipt = asyncio.run(send())
        rfile = tmp_path / "receipt.json"
        rfile.write_text(json.dumps(receipt))
        pub = str(state / "keys" / "log_ed25519.pub")
        ok = _sohoa("verify-receipt", str(rfile), "--log-key", pub, "--batch", str(good.path))
        assert "Receipt valid" in ok.stdout and "leaf 0 of 1" in ok.stdout
        assert _sohoa("verify-receipt", str(rfile), "--log-key", pub, "--batch", str(refused.path),
                      check=False).returncode == 1
        receipt["leaf"]["seq"] = 2
        rfile.write_text(json.dumps(receipt))
        assert _sohoa("verify-receipt", str(rfile), "--log-key", pub, check=False).returncode == 1
        assert "member_check" in _central("rejections", "--root", str(root)).stdout

        header = _sohoa("enroll", "--config", str(cfg), "--print-auth-header").stdout.strip()
        assert header.startswith("Sohoa-Ed25519 79-26734-01:")
        _central("revoke", "79-26734-01", "--root", str(root))

        async def refused_after_revoke():
            async with TusClient(url, HeaderSource("79-26734-01", key)) as c:
                try:
                    await c.create(10, {"seq": "2", "batch": "a" * 64, "sha256": "b" * 64})
                except PermanentError as exc:
                    return exc.status
        assert asyncio.run(refused_after_revoke()) == 403
        keys = _central("keys", "--root", str(root)).stdout
        # the old spelling still works for a release, and says where the command went
        moved = _sohoa("receiver", "keys", "--root", str(root))
        assert moved.stdout == keys and "has moved to `sohoa-central`" in moved.stderr
        assert read_public(state / "keys" / "log_ed25519.pub") in keys
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)
