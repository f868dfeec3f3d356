"""The receiver's /metrics: Prometheus text format 0.0.4 that promtool accepts, on both backends."""

from __future__ import annotations

import re
import shutil
import subprocess

import aiohttp

from central.local import start_local_receiver


def _families(text: str) -> tuple[dict, dict, set]:
    helps, types, samples = {}, {}, set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, h = line[7:].partition(" ")
            helps[name] = h
        elif line.startswith("# TYPE "):
            name, _, t = line[7:].partition(" ")
            types[name] = t
        elif line and not line.startswith("#"):
            samples.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
    return helps, types, samples


def test_metrics_pass_promtool_and_count_what_happened(tmp_path, kit, central_backend):
    app = kit.Appliance(tmp_path / "appliance")
    be = central_backend

    async def body():
        rx = await start_local_receiver(tmp_path / "rx", metrics_port=0, backends=be.open)
        try:
            await app.enroll(rx)
            async with app.client(rx.url, chunk_size=256 * 1024) as c:
                await kit.deliver_retrying(c, app.seal((700_000,)), app.log_public)
            async with aiohttp.ClientSession() as s:
                async with s.get(rx.metrics_url) as r:
                    return r.status, r.headers["Content-Type"], await r.text()
        finally:
            await rx.close()
    status, ctype, text = kit.run(body())
    assert status == 200 and ctype == "text/plain; version=0.0.4; charset=utf-8"
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) is installed by make test"
    check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    helps, types, samples = _families(text)
    for sample in samples:  # every sample has its HELP and TYPE
        assert helps.get(sample) and sample in types, sample
    assert all(t == "counter" for n, t in types.items() if n.endswith("_total"))
    assert all(t == "gauge" for n, t in types.items() if not n.endswith("_total"))
    assert types["sohoa_receiver_accepted_total"] == "counter" and types["sohoa_receiver_log_size"] == "gauge"
    assert types["sohoa_receiver_backend_up"] == "gauge" and types["sohoa_receiver_s3_parts_total"] == "counter"
    assert types["sohoa_receiver_backend_errors_total"] == "counter" and types["sohoa_build_info"] == "gauge"
    assert "sohoa_receiver_accepted_total 1.0" in text and "sohoa_receiver_log_size 1.0" in text
    assert 'sohoa_receiver_backend_up{backend="state"} 1.0' in text
    assert 'sohoa_receiver_backend_up{backend="objects"} 1.0' in text
    backend = "postgresql" if be.shared else "sqlite"
    assert re.search(r'sohoa_build_info\{object_backend="%s",state_backend="%s",version="[^"]+"\} 1\.0'
                     % ("s3" if be.shared else "file", backend), text)
    parts = float(re.search(r"^sohoa_receiver_s3_parts_total (\S+)$", text, re.M).group(1))
    assert (parts >= 1) == be.shared
    assert "sohoa_receiver_multipart_uploads_open 0.0" in text
