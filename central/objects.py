"""Whole objects by name in a primary or replica store, for replication and the audit (design 5.14).

The receiver writes through :mod:`central.store` and :mod:`central.s3store`
(uploads, parts); replication and the audit need only four things of a
store, the same for ``file://`` and ``s3://``: read an object in order, write
one whole, say whether one is there, delete one. Names are relative to the
store's prefix (``archive/<device>/<seq>-<batch>.sohoa``), the same in both
copies. A store that cannot be reached raises
:class:`central.backend_errors.BackendUnavailable`; an object that is not
there raises :class:`Missing`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import BinaryIO, Iterator
from urllib.parse import urlparse

from central.backend_errors import BackendUnavailable
from central.s3client import as_unavailable, not_found, unreachable
from sync.fsutil import durable_file

READ_SIZE = 1 << 20
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")


class Missing(Exception):
    """The object is not in this store."""


def check_name(name: str) -> str:
    """*name* if it is a relative path of plain segments (no ``..``, no leading ``/``)."""
    if not _NAME_RE.fullmatch(name) or len(name) > 900:
        raise ValueError(f"bad object name {name!r}")
    return name


class FileObjects:
    """Objects as files under *root* (``root/archive/...``, where the file store keeps batches)."""

    backend = "file"

    def __init__(self, root: Path):
        self.root = Path(root)
        self.where = f"file://{self.root}"

    def _path(self, name: str) -> Path:
        return self.root / check_name(name)

    def read(self, name: str) -> Iterator[bytes]:
        try:
            f = open(self._path(name), "rb")
        except FileNotFoundError:
            raise Missing(name) from None
        with f:
            while block := f.read(READ_SIZE):
                yield block

    def write(self, name: str, src: BinaryIO, size: int) -> None:
        """Replace the object by *size* bytes of *src*: the old content or the new, never a mix."""
        path = self._path(name)
        with durable_file(path, mode=0o640, make_parents=True) as out:
            left = size
            while left:
                block = src.read(min(READ_SIZE, left))
                if not block:
                    raise OSError(f"{name}: source ended {left} bytes early")
                out.write(block)
                left -= len(block)

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def delete(self, name: str) -> None:
        try:
            os.unlink(self._path(name))
        except FileNotFoundError:
            pass

    def ping(self) -> None:
        if not self.root.is_dir():
            raise BackendUnavailable("objects", f"{self.root}: not a folder")


class S3Objects:
    """Objects in an S3 bucket under a prefix, through a boto3 client (:mod:`central.s3client`)."""

    backend = "s3"

    def __init__(self, client, bucket: str, prefix: str = "", *, endpoint: str = ""):
        self.client, self.bucket = client, bucket
        prefix = prefix.strip("/")
        self.prefix = f"{prefix}/" if prefix else ""
        self.where = f"s3://{bucket}/{self.prefix} at {endpoint or 'AWS'}"

    def _call(self, op: str, **kw):
        try:
            return getattr(self.client, op)(Bucket=self.bucket, **kw)
        except Exception as exc:
            if unreachable(exc):
                raise as_unavailable(exc) from None
            if not_found(exc):
                raise Missing(kw.get("Key", "")) from None
            raise

    def read(self, name: str) -> Iterator[bytes]:
        body = self._call("get_object", Key=self.prefix + check_name(name))["Body"]
        try:
            while True:
                try:
                    block = body.read(READ_SIZE)
                except Exception as exc:  # the connection dropped part way
                    raise as_unavailable(exc) from None
                if not block:
                    return
                yield block
        finally:
            body.close()

    def write(self, name: str, src: BinaryIO, size: int) -> None:
        """One PUT (multipart above 64 MiB, by boto3's transfer manager): S3 shows the whole object or none."""
        from boto3.s3.transfer import TransferConfig
        key = self.prefix + check_name(name)
        try:
            if size <= 64 << 20:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=src.read(size),
                                       ContentType="application/octet-stream")
                return
            cfg = TransferConfig(multipart_threshold=64 << 20, multipart_chunksize=16 << 20, max_concurrency=2)
            self.client.upload_fileobj(src, self.bucket, key, Config=cfg)
        except Exception as exc:
            if _unreachable_in_chain(exc):
                raise as_unavailable(exc) from None
            raise

    def exists(self, name: str) -> bool:
        try:
            self._call("head_object", Key=self.prefix + check_name(name))
        except Missing:
            return False
        return True

    def delete(self, name: str) -> None:
        self._call("delete_object", Key=self.prefix + check_name(name))

    def ping(self) -> None:
        self._call("head_bucket")


def _unreachable_in_chain(exc: BaseException) -> bool:
    """True when *exc*, or what it wraps (boto3's transfer manager wraps client errors), says unreachable."""
    seen = 0
    while exc is not None and seen < 8:
        if unreachable(exc):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def open_objects(url: str, *, endpoint: str = "", region: str = "us-east-1", access_key_id: str = "",
                 secret_access_key: str = ""):
    """:class:`FileObjects` for ``file:///path``, :class:`S3Objects` for ``s3://bucket/prefix``."""
    u = urlparse(url)
    if u.scheme == "file":
        return FileObjects(Path(u.path))
    if u.scheme == "s3":
        from central.s3client import make_client
        client = make_client(endpoint, region, access_key_id, secret_access_key, max_pool=8)
        return S3Objects(client, u.netloc, u.path, endpoint=endpoint)
    raise ValueError(f"{url}: file:///PATH or s3://BUCKET/PREFIX")
