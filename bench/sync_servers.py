"""What the sync benchmarks run against: our receiver and the Node.js tus server as processes, sealed batches, CPU clocks."""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from sync.batch import seal_batch
from sync.canon import ZERO_HASH
from sync.deliver import Outbound
from sync.keys import load_or_create, public_b64
from central.receiver_state import ReceiverState

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NODE_DIR = HERE / "node"
MIB = 1 << 20


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
        self.proc = subprocess.Popen([sys.executable, "-m", "central.serve", "--root", str(self.root), "--port",
                                      str(self.port), "--max-size", str(4 << 30)], cwd=ROOT,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_port(self.port, self.proc)
        return f"http://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        self.state.close()


def node_server(directory: Path) -> tuple[subprocess.Popen, str]:
    if not (NODE_DIR / "node_modules" / "@tus" / "server").exists():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent"], cwd=NODE_DIR, check=True,
                       timeout=600, capture_output=True)
    proc = subprocess.Popen(["node", str(NODE_DIR / "server.mjs"), str(directory)], cwd=NODE_DIR,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline().split()
    if len(line) != 2 or line[0] != "listening":
        raise RuntimeError("node tus server did not start")
    return proc, f"http://127.0.0.1:{line[1]}/"


def node_version() -> str:
    try:
        import json
        v = {p: json.loads((NODE_DIR / "node_modules" / "@tus" / p / "package.json").read_text())["version"]
             for p in ("server", "file-store")}
        node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
        return f"@tus/server {v['server']}, @tus/file-store {v['file-store']}, node {node}"
    except (OSError, KeyError, ValueError):
        return "@tus/server (version unknown)"


def seal_chain(work: Path, device: str, key: Ed25519PrivateKey, archive_pub, n: int, size: int,
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


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process *pid* (all its threads)."""
    fields = open(f"/proc/{pid}/stat", encoding="ascii").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu_s(pid: int) -> dict[int, float]:
    """CPU seconds of each live thread of *pid*; a thread that ended is only in the process total."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            fields = open(f"/proc/{pid}/task/{tid}/stat", encoding="ascii").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def self_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
