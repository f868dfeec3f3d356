"""A receiver node's memory does not grow with the packages it checks (design 5.4).

The node runs `sip verify` on every package of a batch before it accepts it. Each member is spooled
to a file for that check, so a ~150 MiB package (27 A4 300 dpi pages of colour noise, packaged by the
station's own code) costs the node no more memory than the same batch with no check at all. Each
case runs in a process of its own (a station and a receiver on loopback), whose peak RSS (VmHWM) is
read from /proc at its end.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.ingest_memory import large_package

MIB = 1 << 20

_CASE = r"""
import json, sys
from pathlib import Path
from bench.ingest_memory import LargePackage, deliver, site
from central.sip_check import receiver_member_check
from sync.keys import load_or_create
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

work, member, path, docs, pages, size, checked = sys.argv[1:8]
package = LargePackage(member, Path(path), int(docs), int(pages), int(size))
root = site(Path(work))
seen = []
check = None
if checked == "1":
    sip = receiver_member_check(load_or_create(root / "keys" / "archive_x25519.pem", X25519PrivateKey))
    def check(name, data):
        seen.append((name, type(data).__name__))
        return sip(name, data)
deliver(root, package, 1, Path(work), member_check=check)
peak = next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:"))
archived = [p.stat().st_size for p in (root / "archive").rglob("*.sohoa")]
print(json.dumps({"peak": peak, "seen": seen, "archived": archived}))
"""


@pytest.fixture(scope="module")
def big_package(tmp_path_factory):
    package = large_package(tmp_path_factory.mktemp("big"), 27)
    assert package.size > 140 * MIB
    return package


def _deliver(tmp_path, package, checked: bool) -> dict:
    work = tmp_path / ("checked" if checked else "unchecked")
    work.mkdir()
    done = subprocess.run([sys.executable, "-c", _CASE, str(work), package.member, str(package.path),
                           str(package.documents), str(package.pages), str(package.size), "1" if checked else "0"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_150_mib_package_is_checked_in_bounded_memory(big_package, tmp_path, record_property):
    plain = _deliver(tmp_path, big_package, checked=False)
    checked = _deliver(tmp_path, big_package, checked=True)
    # the batch was accepted in both cases, and the check saw the package as a spooled file
    assert len(plain["archived"]) == 1 and len(checked["archived"]) == 1
    assert checked["seen"] == [[big_package.member, "PosixPath"]]
    grown = checked["peak"] - plain["peak"]
    record_property("unchecked_peak_mib", round(plain["peak"] / MIB, 1))
    record_property("checked_peak_mib", round(checked["peak"] / MIB, 1))
    assert grown < 64 * MIB, (f"checked {checked['peak'] / MIB:.0f} MiB against {plain['peak'] / MIB:.0f} MiB "
                              f"unchecked, for a {big_package.size / MIB:.0f} MiB package")
