"""The S3 client of the receiver: boto3, configured once (design 5.12).

Why boto3: the store's S3 calls run in the receiver's worker threads (the
body is written from a thread lane beside the hashing, 5.8), which is where a
synchronous client belongs; boto3 is the reference S3 implementation, signs
with SigV4 for every S3 API (Ceph RGW, MinIO, SeaweedFS, AWS), reads the
standard AWS credentials (environment, shared files, instance roles), and
exposes the multipart calls one by one (create, upload part, complete, abort)
that a receiver resuming another node's upload needs. aiobotocore is the same
code driven from the event loop (our S3 calls are not there); obstore's
multipart writer keeps its parts in the process that started it, so another
node could not continue the upload.

Its default CRC32 trailer on every upload is turned off ("when_required"):
the receiver hashes every part with SHA-256 itself and records it (S1).
"""

from __future__ import annotations

from botocore.exceptions import (BotoCoreError, ClientError, ConnectionClosedError, EndpointConnectionError,
                                 HTTPClientError, ReadTimeoutError)

from central.backend_errors import BackendUnavailable

_DOWN_CODES = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "RequestTimeTooSkewed"}


def make_client(endpoint: str | None, region: str, access_key_id: str | None = None,
                secret_access_key: str | None = None, *, max_pool: int = 64):
    """A boto3 S3 client; empty credentials mean the standard AWS chain (``AWS_ACCESS_KEY_ID``...)."""
    import boto3
    from botocore.config import Config

    cfg = Config(region_name=region or "us-east-1", signature_version="s3v4", s3={"addressing_style": "path"},
                 retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=3, read_timeout=60,
                 max_pool_connections=max_pool, request_checksum_calculation="when_required",
                 response_checksum_validation="when_required", tcp_keepalive=True)
    return boto3.session.Session().client("s3", endpoint_url=endpoint or None,
                                          aws_access_key_id=access_key_id or None,
                                          aws_secret_access_key=secret_access_key or None, config=cfg)


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def status_of(exc: BaseException) -> int:
    if isinstance(exc, ClientError):
        return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return 0


def unreachable(exc: BaseException) -> bool:
    """True when *exc* says the endpoint cannot serve now (design 5.12: answered 503)."""
    if isinstance(exc, (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError, HTTPClientError)):
        return True
    if isinstance(exc, ClientError):
        return status_of(exc) >= 500 or error_code(exc) in _DOWN_CODES
    return isinstance(exc, BotoCoreError) and "connect" in type(exc).__name__.lower()


def not_found(exc: BaseException) -> bool:
    return error_code(exc) in ("NoSuchKey", "NoSuchUpload", "404", "NotFound") or status_of(exc) == 404


def as_unavailable(exc: BaseException) -> BackendUnavailable:
    return BackendUnavailable("objects", f"{type(exc).__name__}: {str(exc)[:200]}")
