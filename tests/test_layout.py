"""The house rules of the layout, as the code actually imports: who may import whom, and what a
central server installs.

`firmware_agent -> drivers, imaging, records, sync`; `central -> sync, records`;
`records -> sync` at most; nothing imports `firmware_agent` or `central`; `drivers`,
`imaging` and `sync` import none of the project's other packages.
"""

from __future__ import annotations

import ast
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from central.services import free_port

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("firmware_agent", "drivers", "imaging", "records", "sync", "central")
ALLOWED = {
    "firmware_agent": {"firmware_agent", "drivers", "imaging", "records", "sync"},
    "central": {"central", "sync", "records"},
    "records": {"records", "sync"},
    "sync": {"sync"},
    "drivers": {"drivers"},
    "imaging": {"imaging"},
}


def imported_packages(path: Path) -> set[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            if top in PACKAGES:
                found.add((top, node.lineno))
    return found


def test_imports_flow_one_way():
    wrong = []
    for package, allowed in ALLOWED.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for top, line in imported_packages(path):
                if top not in allowed:
                    wrong.append(f"{path.relative_to(ROOT)}:{line} imports {top}")
    assert wrong == []


@pytest.mark.timeout(900)
def test_a_central_server_installs_and_serves_without_the_station_libraries(tmp_path):
    """`pip install '.[central]'` in a fresh virtualenv: no python-sane, pyusb, numba or OpenCV, and
    `sohoa-central serve` answers tus OPTIONS and keeps its metrics on loopback."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    src = tmp_path / "src"  # a copy: the build must not write into the working tree
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", ".cache", "*.egg-info", "build",
                                                            "node_modules", ".pytest_cache", ".hypothesis",
                                                            ".demo-state", "__pycache__"))
    done = subprocess.run([str(py), "-m", "pip", "install", "--quiet", f"{src}[central]"], capture_output=True,
                          text=True, timeout=800)
    assert done.returncode == 0, done.stderr[-3000:]
    probe = ("import importlib.util as u; "
             "print([m for m in ('sane', 'usb', 'numba', 'cv2')"
             " if u.find_spec(m)])")
    present = subprocess.run([str(py), "-c", probe], capture_output=True, text=True, cwd=tmp_path, check=True)
    assert present.stdout.strip() == "[]", present.stdout
    port, metrics = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    server = subprocess.Popen([str(venv / "bin" / "sohoa-central"), "serve", "--root", str(tmp_path / "rx"),
                               "--port", str(port), "--metrics-port", str(metrics)],
                              cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                req = urllib.request.Request(f"http://127.0.0.1:{port}/files/", method="OPTIONS")
                with urllib.request.urlopen(req, timeout=5) as answer:
                    assert answer.status == 204 and answer.headers["Tus-Version"] == "1.0.0"
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "sohoa-central serve did not answer"
                time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=5) as answer:
            assert b"sohoa_receiver" in answer.read()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
