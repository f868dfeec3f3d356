"""`sohoa-central users`, `web` and `audit-trail` as an operator runs them (real processes, real HTTP)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

from central.services import free_port

BIN = os.path.join(os.path.dirname(sys.executable), "sohoa-central")


def _run(*args, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([BIN, *args], input=stdin, capture_output=True, text=True, timeout=120)


def test_accounts_web_and_audit_chain_from_the_command_line(tmp_path):
    root = str(tmp_path / "central")
    assert _run("migrate", "--root", root).returncode == 0
    added = _run("users", "add", "an.nguyen", "--role", "archivist", "--password-stdin", "--root", root,
                 stdin="mat-khau-dai-1\n")
    assert added.returncode == 0 and "Đã lưu tài khoản an.nguyen" in added.stdout
    short = _run("users", "add", "b", "--password-stdin", "--root", root, stdin="ngan\n")
    assert short.returncode == 2 and "Không lưu được tài khoản" in short.stderr
    assert "an.nguyen\tarchivist" in _run("users", "list", "--root", root).stdout

    port = free_port()
    web = subprocess.Popen([BIN, "web", "--root", root, "--port", str(port)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        line = web.stdout.readline()
        assert line.strip() == f"Trang web trung tâm: http://127.0.0.1:{port}/ / Central web: http://127.0.0.1:{port}/"
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        form = urllib.parse.urlencode({"user": "an.nguyen", "password": "mat-khau-dai-1"}).encode()
        with opener.open(f"http://127.0.0.1:{port}/login", data=form, timeout=30) as answer:
            assert answer.status == 200 and "Tổng quan số hóa" in answer.read().decode()  # followed to /
        with opener.open(f"http://127.0.0.1:{port}/reports/monthly.csv", timeout=30) as answer:
            assert answer.read().decode().startswith("month,province,district,commune,device,pages")
        try:
            opener.open(f"http://127.0.0.1:{port}/audit.csv", timeout=30)
            raise AssertionError("an archivist exported the audit trail")
        except urllib.error.HTTPError as exc:
            assert exc.code == 403
    finally:
        web.send_signal(signal.SIGTERM)
        assert web.wait(30) == 0
    ok = _run("audit-trail", "--root", root)
    assert ok.returncode == 0 and "Nhật ký kiểm tra nguyên vẹn: 3 mục" in ok.stdout  # user_add, login, export
    assert _run("users", "disable", "an.nguyen", "--root", root).returncode == 0
    assert _run("users", "disable", "nobody", "--root", root).returncode == 1
    import sqlite3
    with sqlite3.connect(os.path.join(root, "receiver.sqlite3")) as db:
        db.execute("UPDATE audit_log SET actor='someone' WHERE seq=1")
    broken = _run("audit-trail", "--root", root)
    assert broken.returncode == 1 and "bị sửa từ mục 1" in broken.stderr


def test_the_fixity_audit_reports_a_broken_audit_trail(tmp_path):
    """`sohoa-central audit` checks the staff web's audit trail too: intact, it says how many entries; one entry
    edited in the database, it names the first one that no longer matches and exits 1."""
    import json
    import sqlite3

    root = str(tmp_path / "central")
    assert _run("migrate", "--root", root).returncode == 0
    for name in ("an.nguyen", "binh.tran", "chi.le"):
        assert _run("users", "add", name, "--role", "viewer", "--password-stdin", "--root", root,
                    stdin="mat-khau-dai-1\n").returncode == 0
    ok = _run("audit", "--root", root)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout.splitlines()[-1])["audit_trail"] == {"checked": 3, "first_bad": None}
    with sqlite3.connect(os.path.join(root, "receiver.sqlite3")) as db:
        db.execute("UPDATE audit_log SET target='someone-else' WHERE seq=2")
    broken = _run("audit", "--root", root)
    assert broken.returncode == 1
    assert json.loads(broken.stdout.splitlines()[-1])["audit_trail"] == {"checked": 1, "first_bad": 2}
    assert "Nhật ký kiểm tra bị sửa từ mục 2 / Audit trail broken from entry 2" in broken.stderr
