"""Whether the numba kernels of ``imaging`` were compiled here before.

The first use after an install compiles them (15 s to a minute, longer on a Pi);
the commands and the agent say so before they wait, and only then.
"""

from __future__ import annotations

import os
from pathlib import Path


def kernels_cached() -> bool:
    """True when numba's index files for the imaging kernels exist (``NUMBA_CACHE_DIR`` or ``__pycache__``)."""
    import imaging

    places = [Path(imaging.__file__).parent / "__pycache__"]
    cache_dir = os.environ.get("NUMBA_CACHE_DIR")
    if cache_dir:
        places += list(Path(cache_dir).glob("imaging*"))
    return any(any(place.glob("*.nbi")) for place in places if place.is_dir())
