"""Where ingest keeps packages and PDFs as objects, beside the archive (design 5.13, "Object names").

The receiver's store (:mod:`central.store`, :mod:`central.s3store`) knows uploads
and accepted batches; ingest needs plain whole objects: write once, read back.
:func:`objects_for` gives the same two calls over either store's backend, under
``objects/`` of the file store's root or of the S3 prefix. A write is atomic in
both (a temporary file fsynced and renamed; one ``PutObject``, or a multipart
upload that S3 shows only at its completion), so a worker killed while writing
leaves either nothing or the whole object. :meth:`put_file` writes from a file
in bounded memory (design 5.13, "Spool and memory").
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import BinaryIO

from botocore.exceptions import BotoCoreError, ClientError

from central.backend_errors import BackendUnavailable
from central.s3client import as_unavailable, not_found, unreachable
from sync.fsutil import durable_file, write_atomic

_IO = 1 << 20
# One thread, so one part in memory at a time; below the threshold a single PutObject.
_MULTIPART_THRESHOLD = 64 << 20
_PART = 8 << 20

# <device>/<seq:010>/<member> and <device>/<seq:010>/<objid>/data/<docId>.pdf (docId has no '/')
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}/[0-9]{10}/"
                   r"(uuid-[0-9A-F-]{36}\.zip(\.enc)?|uuid-[0-9A-F-]{36}/data/[^/\x00]{1,25}\.pdf)")


def package_name(device_id: str, seq: int, member: str) -> str:
    return f"{device_id}/{seq:010d}/{member}"


def pdf_name(device_id: str, seq: int, objid: str, doc_id: str) -> str:
    return f"{device_id}/{seq:010d}/{objid}/data/{doc_id}.pdf"


def _checked(name: str) -> str:
    if not _NAME.fullmatch(name) or ".." in name.split("/"):
        raise ValueError(f"bad object name {name!r}")
    return name


class FileObjects:
    """Objects as files under ``<root>/objects``."""

    backend = "file"

    def __init__(self, root: Path):
        self.base = Path(root) / "objects"

    def key(self, name: str) -> str:
        return "objects/" + _checked(name)

    def put(self, name: str, data: bytes) -> None:
        write_atomic(self.base / _checked(name), data, mode=0o640, make_parents=True)

    def put_file(self, name: str, path: Path) -> None:
        """The object *name* with the bytes of the file *path*: a durable copy, 1 MiB at a time."""
        with open(path, "rb") as src, durable_file(self.base / _checked(name), mode=0o640,
                                                   make_parents=True) as out:
            shutil.copyfileobj(src, out, _IO)

    def open(self, name: str) -> BinaryIO:
        """The object's bytes; FileNotFoundError when there is none."""
        return open(self.base / _checked(name), "rb")


class S3Objects:
    """Objects under ``<prefix>objects/`` of the S3 store's bucket, through its client."""

    backend = "s3"

    def __init__(self, store):
        self.store = store

    def key(self, name: str) -> str:
        return self.store.key("objects/" + _checked(name))

    def put(self, name: str, data: bytes) -> None:
        self.store.call("put_object", Key=self.key(name), Body=data, ContentType="application/octet-stream")

    def put_file(self, name: str, path: Path) -> None:
        """The object *name* with the bytes of the file *path*: boto3's managed upload in one thread.

        A file above 64 MiB goes as a multipart upload of 8 MiB parts (the
        object appears whole at its completion; a failed one is aborted by
        boto3); an unreachable endpoint raises BackendUnavailable.
        """
        from boto3.s3.transfer import S3Transfer, TransferConfig
        config = TransferConfig(multipart_threshold=_MULTIPART_THRESHOLD, multipart_chunksize=_PART,
                                use_threads=False)
        key = self.key(name)
        try:
            S3Transfer(self.store.client, config).upload_file(
                str(path), self.store.bucket, key, extra_args={"ContentType": "application/octet-stream"})
        except Exception as exc:
            cause = exc.__cause__ or exc.__context__ or exc
            if unreachable(exc) or unreachable(cause):
                raise as_unavailable(cause) from None
            if cause is not exc and isinstance(cause, (BotoCoreError, ClientError)):
                raise cause from None  # S3UploadFailedError wraps the S3 error the worker knows how to treat
            raise

    def open(self, name: str) -> BinaryIO:
        from central.s3store import ObjectReader
        key = self.key(name)
        try:
            self.store.call("head_object", Key=key)
        except BackendUnavailable:
            raise
        except Exception as exc:
            if not_found(exc):
                raise FileNotFoundError(key) from None
            raise
        return ObjectReader(self.store, key)


def objects_for(store):
    """The objects beside *store* (a :class:`central.store.FileStore` or :class:`central.s3store.S3Store`)."""
    if getattr(store, "backend", None) == "s3":
        return S3Objects(store)
    return FileObjects(store.root)
