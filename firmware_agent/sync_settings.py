"""Settings of the uploader (``[sync]`` in the config file)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from firmware_agent.messages import CATALOGUE
from firmware_agent.settings_base import ConfigError, setting

_HOURS_RE = re.compile(r"([01]?[0-9]|2[0-3])-([01]?[0-9]|2[0-4])")


@dataclass(frozen=True)
class SyncSettings:
    endpoint: str = setting("", doc="Base URL of the central receiver, e.g. 'https://luutru.example.gov.vn/'; "
                                    "empty = no upload (batches wait on the appliance).")
    device_key: str = setting("", doc="Ed25519 private key of this appliance (PEM); empty = "
                                      "{state_dir}/keys/device_ed25519.pem, created on first use.")
    archive_public_key: str = setting("", doc="Archive X25519 public key file written by `sohoa enroll`; "
                                              "empty = {state_dir}/keys/archive_x25519.pub.")
    log_public_key: str = setting("", doc="Receiver log Ed25519 public key file written by `sohoa enroll`; "
                                          "empty = {state_dir}/keys/log_ed25519.pub.")
    chunk_kib: int = setting(4096, doc="Bytes per tus PATCH (KiB); a cut connection costs at most one chunk.",
                             minimum=64, maximum=65536)
    bandwidth_kib_s: int = setting(0, doc="Upload bandwidth cap in KiB/s; 0 = no cap.", minimum=0)
    allowed_hours: str = setting("", doc="Local hours when uploading is allowed, 'START-END' (e.g. '18-7' "
                                         "wraps past midnight); empty = any time.")
    backoff_min_s: float = setting(2.0, doc="First retry delay after a failure (s); doubles each time, "
                                            "with random jitter.", minimum=0.05)
    backoff_max_s: float = setting(600.0, doc="Longest retry delay (s).", minimum=1.0)
    connect_timeout_s: float = setting(10.0, doc="TCP/TLS connect timeout (s).", minimum=0.5)
    read_timeout_s: float = setting(60.0, doc="A request with no answer for this long counts as cut (s).",
                                    minimum=1.0)
    compression_level: int = setting(3, doc="zstd level used when sealing batches.", minimum=1, maximum=19)

    def key_paths(self, state_dir: Path) -> tuple[Path, Path, Path]:
        """(device key, archive public key, log public key) with defaults under *state_dir*/keys."""
        keys = Path(state_dir) / "keys"
        return (Path(self.device_key) if self.device_key else keys / "device_ed25519.pem",
                Path(self.archive_public_key) if self.archive_public_key else keys / "archive_x25519.pub",
                Path(self.log_public_key) if self.log_public_key else keys / "log_ed25519.pub")

    def hours(self) -> tuple[int, int] | None:
        """The allowed window as (start, end) hours, or None for any time; raises ConfigError."""
        if not self.allowed_hours:
            return None
        m = _HOURS_RE.fullmatch(self.allowed_hours.strip())
        if not m or int(m.group(1)) == int(m.group(2)) % 24:
            got = repr(self.allowed_hours)
            raise ConfigError(f"sync.allowed_hours: {CATALOGUE['config.problem.allowed_hours'].format(got=got).text}")
        return int(m.group(1)), int(m.group(2)) % 24
