"""Shared test set-up: the project's SANE config (test backend) and a writable numba cache."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Must be set before libsane is initialised in any test process.
os.environ.setdefault("SANE_CONFIG_DIR", str(ROOT / "drivers" / "sane_test_config"))
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".cache" / "numba"))
os.environ.setdefault("OMP_THREAD_LIMIT", "1")
