"""Open the state and the store a configuration names (design 5.12)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from central.config import CentralConfig, sqlite_path


def open_state(cfg: CentralConfig, root: Path, *, migrate_sqlite: bool = True):
    """A :class:`central.receiver_state.ReceiverState` (SQLite) or :class:`central.state_pg.PgState`."""
    url = cfg.state_url(root)
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        from central.receiver_state import ReceiverState
        path = sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        return ReceiverState(path, migrate_now=migrate_sqlite)
    from central.state_pg import PgState
    return PgState(url.replace("postgres://", "postgresql://", 1), pool_min=cfg.state.pool_min,
                   pool_max=cfg.state.pool_max, connect_timeout_s=cfg.state.connect_timeout_s)


def open_store(cfg: CentralConfig, root: Path, state):
    """The file store under the URL's path, or the S3 store on the URL's bucket and prefix."""
    u = urlparse(cfg.objects_url(root))
    if u.scheme == "file":
        from central.store import FileStore
        return FileStore(Path(u.path))
    from central.s3client import make_client
    from central.s3store import S3Store
    o = cfg.objects
    client = make_client(o.endpoint, o.region, o.access_key_id, o.secret_access_key)
    return S3Store(client, u.netloc, u.path, state, part_size=o.part_size_mib << 20)


def open_primary_objects(cfg: CentralConfig, root: Path):
    """The primary store as whole objects (design 5.14): what the receiver archived, by name."""
    from central.objects import open_objects
    o = cfg.objects
    return open_objects(cfg.objects_url(root), endpoint=o.endpoint, region=o.region, access_key_id=o.access_key_id,
                        secret_access_key=o.secret_access_key)


def open_replica_objects(cfg: CentralConfig):
    """The replica store of ``[replica]``, or None when the configuration names none."""
    from central.objects import open_objects
    r = cfg.replica
    if not r.url:
        return None
    return open_objects(r.url, endpoint=r.endpoint, region=r.region, access_key_id=r.access_key_id,
                        secret_access_key=r.secret_access_key)
