"""Enrollment of this appliance with a receiver.

``sohoa enroll`` and ``sohoa demo`` use these; the keys end up where
:class:`firmware_agent.uploader_task.UploaderTask` reads them
(``SyncSettings.key_paths``).
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from firmware_agent.sync_settings import SyncSettings
from sync.keys import load_or_create, read_public, save_public, x25519_public


def archive_public_key(settings: SyncSettings, state_dir: Path):
    """The archive's X25519 public key for ``sync.age.AgeWriter``, or None before enrollment.

    Records marked secret (mode 03) are written through that writer from the
    start and staged as ``<name>.enc``; only the receiver can read them.
    """
    _, archive_path, _ = settings.key_paths(Path(state_dir))
    if not archive_path.exists():
        return None
    return x25519_public(read_public(archive_path))


def store_enrollment(settings: SyncSettings, state_dir: Path, archive_public_key: str, log_public_key: str) -> None:
    """Write the receiver's public keys where :class:`UploaderTask` reads them."""
    _, archive_path, log_path = settings.key_paths(Path(state_dir))
    archive_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    save_public(archive_path, archive_public_key)
    save_public(log_path, log_public_key)


async def enroll_device(settings: SyncSettings, state_dir: Path, device_id: str, endpoint: str, token: str):
    """``sohoa enroll``: register this appliance's key with a one-time token; returns the Enrollment."""
    from sync.enroll import enroll
    key_path, _, _ = settings.key_paths(Path(state_dir))
    key = load_or_create(key_path, Ed25519PrivateKey)
    e = await enroll(endpoint, device_id, key, token)
    store_enrollment(settings, state_dir, e.archive_public_key, e.log_public_key)
    return e


async def enroll_local(receiver, state_dir: Path, device_id: str, settings: SyncSettings | None = None) -> dict:
    """Enroll with an in-process receiver (the demo); returns the ``[sync]`` overrides to use.

    *receiver* is a :class:`central.local.LocalReceiver`.
    """
    settings = settings or SyncSettings()
    token = receiver.core.state.mint_token(device_id, ttl_s=600)
    await enroll_device(settings, state_dir, device_id, receiver.url, token)
    return {"endpoint": receiver.url, "backoff_min_s": 0.2, "backoff_max_s": 5.0}
