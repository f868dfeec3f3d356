"""`sohoa-central demo --once` (design 5.14): the whole central archive started and run once, its JSON checked
against what the stations sent and what the exported files and the stores hold."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from records.sip_verify import verify

ROOT = Path(__file__).resolve().parents[2]


def test_demo_once_counts_what_was_sent_exported_copied_and_repaired(tmp_path):
    out = tmp_path / "export"
    r = subprocess.run([sys.executable, "-m", "central.cli", "demo", "--once", "--stations", "2", "--batches", "2",
                        "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=900)
    last = r.stdout.strip().splitlines()[-1]
    summary = json.loads(last)
    assert r.returncode == 0 and summary["ok"] is True, r.stderr[-3000:]
    assert (summary["state_backend"], summary["object_backend"], summary["nodes"]) == ("postgresql", "s3", 2)
    assert summary["devices"] == 2
    assert summary["batches_sent"] == summary["batches_accepted"] == 4
    assert summary["node_killed"] is not None  # killed under an upload that then completed elsewhere

    # Every package sent is exported, byte for byte as the station built it, and passes the SIP check.
    sent = summary["packages_sent"]
    assert len(sent) == summary["packages_ingested"] == 4
    exported = {Path(p).name: Path(p) for p in summary["exported"]}
    assert set(exported) == set(sent) and all(Path(p).parent == out for p in summary["exported"])
    for name, path in exported.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sent[name]
        assert verify(path) == [], name

    # Two verified copies of every batch, package and PDF (packages of 1, 2, 1, 2 documents); the audit
    # read all of them, found the two damaged copies and repaired both.
    assert summary["replica_copies"] == summary["objects_registered"] == 4 + 4 + 6
    assert summary["audit_checked"] == summary["objects_registered"]
    assert (summary["audit_mismatches"], summary["audit_missing"], summary["audit_repaired"],
            summary["audit_unrepairable"]) == (1, 1, 2, 0)
    assert [d["store"] for d in summary["damaged"]] == ["primary", "replica"]
    assert summary["copies_intact_after_audit"] is True
    assert summary["seconds"] > 0
