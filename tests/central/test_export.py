"""`sohoa-central ingest` and `sohoa-central export` as archive staff run them (design 5.13), on both backends."""

from __future__ import annotations

import json
import subprocess
import sys

from central.catalogue_objects import objects_for, package_name
from records.sip_verify import verify


def _cli(site, *args, timeout=600):
    r = subprocess.run([sys.executable, "-m", "central", *args, *site.cli()], capture_output=True, text=True,
                       timeout=timeout)
    last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
    return r, (json.loads(last) if last.startswith("{") else None)


def test_export_selections_give_back_the_packages_as_built(ingest_site, tmp_path):
    site = ingest_site
    r, totals = _cli(site, "ingest", "--once")
    assert r.returncode == 0, r.stderr
    assert (totals["done"], totals["failed"], totals["packages"]) == (4, 0, 6)
    assert "Đã nhập lô" in r.stderr and "Ingested batch" in r.stderr
    r, _ = _cli(site, "ingest", "--status")
    assert "4 xong" in r.stdout and "4 done" in r.stdout

    first, third = site.sent[0], site.sent[2]

    # one batch
    r, out = _cli(site, "export", "--batch", f"{first.device_id}/{first.seq}", "--out", str(tmp_path / "b"))
    assert r.returncode == 0, r.stderr
    assert sorted(p.rsplit("/", 1)[1] for p in out["exported"]) == sorted(first.members)
    for p in out["exported"]:
        data = open(p, "rb").read()
        assert data == site.packages[p.rsplit("/", 1)[1]].data
        assert verify(p) == []

    # one record file
    pkg = site.packages[sorted(n for n in third.members if n.endswith(".zip"))[0]]
    r, out = _cli(site, "export", "--file-code", pkg.file_code, "--out", str(tmp_path / "f"))
    assert r.returncode == 0 and [p.rsplit("/", 1)[1] for p in out["exported"]] == [pkg.member]

    # everything received since a day: the secret package comes out still encrypted, as it was sent
    r, out = _cli(site, "export", "--since", "2000-01-01", "--out", str(tmp_path / "all"))
    assert r.returncode == 0, r.stderr
    names = sorted(p.rsplit("/", 1)[1] for p in out["exported"])
    assert names == sorted(site.packages) and out["secret"] == 1 and out["problems"] == []
    for name in names:
        assert (tmp_path / "all" / name).read_bytes() == site.packages[name].data
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == names  # no .part left
    # again into the same folder: identical files are kept, not written twice
    r, again = _cli(site, "export", "--since", "2000-01-01", "--out", str(tmp_path / "all"))
    assert r.returncode == 0 and sorted(again["exported"]) == sorted(out["exported"])

    # nothing selected, a malformed batch
    r, out = _cli(site, "export", "--since", "2999-01-01", "--out", str(tmp_path / "none"))
    assert r.returncode == 1 and out["selected"] == 0 and "Không có gói nào" in r.stderr
    r, _ = _cli(site, "export", "--batch", "no-seq", "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "DEVICE/SEQ" in r.stderr


def test_export_refuses_a_package_whose_object_changed(ingest_site, tmp_path):
    site = ingest_site
    r, _ = _cli(site, "ingest", "--once")
    assert r.returncode == 0, r.stderr
    first = site.sent[0]
    victim, other = sorted(first.members)
    state, store = site.open()
    try:
        objects = objects_for(store)
        changed = bytearray(site.packages[victim].data)
        changed[len(changed) // 2] ^= 0x01  # one bit flipped in a stored PDF
        objects.put(package_name(first.device_id, first.seq, victim), bytes(changed))
    finally:
        state.close()
    out_dir = tmp_path / "b"
    r, out = _cli(site, "export", "--batch", f"{first.device_id}/{first.seq}", "--out", str(out_dir))
    assert r.returncode == 1
    assert [p.rsplit("/", 1)[1] for p in out["exported"]] == [other]
    assert len(out["problems"]) == 1 and victim in out["problems"][0] and "differs from the catalogue" in out["problems"][0]
    assert "Lỗi khi xuất" in r.stderr
    assert sorted(p.name for p in out_dir.iterdir()) == [other]  # nothing of the bad one, not even a .part
