"""The receiver's allocator setting: memory of freed body pieces is reused, not faulted in again."""

from __future__ import annotations

import subprocess
import sys

import pytest

_CHILD = """
import resource
from central.proc_tune import keep_large_buffers
ok = {tune} and keep_large_buffers()
src = b"x" * (256 * 1024)
faults = []
for _ in range(4):  # one batch: 24 MiB of received pieces held, then all freed
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    held = [src[i % 7:] for i in range(96)]
    del held
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(ok, sum(faults[1:]))
"""


def _later_faults(tune: bool) -> tuple[bool, int]:
    out = subprocess.run([sys.executable, "-c", _CHILD.format(tune=tune)], capture_output=True, text=True,
                         check=True, timeout=60).stdout.split()
    return out[0] == "True", int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt only")
def test_memory_of_freed_pieces_is_reused_once_tuned():
    tuned, faults = _later_faults(True)
    if not tuned:
        pytest.skip("no glibc mallopt here")
    _, untuned = _later_faults(False)
    # Untuned, glibc hands the freed heap back and every later batch faults it in again.
    assert untuned > 1000
    assert faults < 100
