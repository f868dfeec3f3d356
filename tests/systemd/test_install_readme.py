"""The README's install section, followed command by command on a temporary root.

Every shell block of "Installing on a Raspberry Pi or mini PC" is run in order,
with these changes only: paths of the system (`/etc`, `/var`, `/srv`, `/usr/local`)
move under a temporary root, `/opt/sohoa` is this tree and its virtualenv, `sudo`
and `sudo -u sohoa` are dropped (the test cannot switch to a user the host does not
have), `install -o root -g sohoa` keeps its mode but not its owner, the archive's URL
is a `sohoa-central serve` started here and TOKEN a token it minted, and the password
is typed on standard input. The commands that need the real machine are skipped and
named: package installs, the clone and the pip install (this tree is installed
already), udevadm (no udev here) and systemctl (no systemd as PID 1; the unit is
checked by systemd-analyze in test_units.py).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from firmware_agent import exit_codes

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
VENV_BIN = Path(sys.executable).parent
SKIPPED = ("apt-get install", "git clone", "python3 -m venv", "pip install", "udevadm", "systemctl")
SYSTEM_DIRS = ("/etc/", "/var/", "/srv/", "/usr/local/")
ARCHIVE_URL = "https://luutru.example.gov.vn/"


def install_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Installing on a Raspberry Pi or mini PC")
    return text[start:text.index("### 6. Logs and state", start)]


def commands(section: str) -> list[tuple[str, str | None]]:
    """(command line, here-document body or None) for every command of every ```sh block, in order."""
    out: list[tuple[str, str | None]] = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            line = lines[i]
            while line.endswith("\\"):
                i += 1
                line = line[:-1] + " " + lines[i].strip()
            i += 1
            if not line.strip():
                continue
            heredoc = None
            m = re.search(r"<<'(\w+)'", line)
            if m:
                end = lines.index(m.group(1), i)
                heredoc = "\n".join(lines[i:end]) + "\n"
                i = end + 1
                line = line[:m.start()].rstrip()
            out.append((line.strip(), heredoc))
    return out


def translate(line: str, root: Path, receiver: str, token: str) -> str | None:
    """The command as it runs here, or None for one this machine cannot run."""
    if any(s in line for s in SKIPPED):
        return None
    line = line.replace("sudo -u sohoa ", "").replace("sudo ", "")
    line = line.replace(" -o root -g sohoa", "")
    line = line.replace("/opt/sohoa/.venv/bin/", f"{VENV_BIN}/").replace("/opt/sohoa/", f"{ROOT}/")
    line = line.replace("TOKEN", token).replace(ARCHIVE_URL, receiver)
    for d in SYSTEM_DIRS:
        line = re.sub(rf"(?<![\w/.]){re.escape(d)}", f"{root}{d}", line)
    if line.startswith(("systemd-sysusers", "systemd-tmpfiles")):
        # the file it names is the one just installed under the root
        word, *rest = shlex.split(line)
        rest = [Path(a).name if a.startswith(str(root)) else a for a in rest]
        line = shlex.join([word, f"--root={root}", *rest])
    return line


def content(text: str, root: Path, receiver: str) -> str:
    for d in SYSTEM_DIRS:
        text = re.sub(rf"(?<![\w/.]){re.escape(d)}", f"{root}{d}", text)
    return text.replace(ARCHIVE_URL, receiver)


@pytest.fixture
def receiver(tmp_path):
    err = tmp_path / "receiver.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open(err, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "central", "serve", "--root", str(tmp_path / "rx"),
                                 "--port", "0", "--metrics-port", "0", "--no-sip-check"],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        end = time.monotonic() + 60
        while time.monotonic() < end and not (m := re.search(r"on (http://127\.0\.0\.1:\d+/)files/", err.read_text())):
            assert proc.poll() is None, err.read_text()
            time.sleep(0.1)
        assert m, err.read_text()
        token = subprocess.run([sys.executable, "-m", "central", "token", "xa-phuoc-long-01", "--root",
                                str(tmp_path / "rx")], capture_output=True, text=True, cwd=ROOT, env=env,
                               timeout=120, check=True).stdout.strip()
        yield m.group(1), token
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None, reason="Debian package systemd (make test installs it)")
def test_the_install_section_step_by_step(tmp_path, receiver):
    url, token = receiver
    root = tmp_path / "root"
    (root / "usr/local/bin").mkdir(parents=True)
    env = {**os.environ, "PATH": f"{root}/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONPATH": str(ROOT)}
    steps = commands(install_section())
    ran, skipped, outputs = [], [], {}
    cwd = ROOT
    for line, heredoc in steps:
        cmd = translate(line, root, url, token)
        if cmd is None:
            skipped.append(line)
            continue
        if cmd.startswith("cd "):
            cwd = Path(shlex.split(cmd)[1])
            ran.append(line)
            continue
        for word in shlex.split(cmd):  # folders a real system has and the empty root has not
            if word.startswith(str(root)):
                (Path(word) if word.endswith("/") else Path(word).parent).mkdir(parents=True, exist_ok=True)
        stdin = content(heredoc, root, url) if heredoc is not None else None
        if "passwd" in cmd:
            stdin = "technician-pass\n"
        done = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], input=stdin, capture_output=True, text=True,
                              cwd=cwd, env=env, timeout=300)
        assert done.returncode == 0, f"{line}\n-> {cmd}\n{done.stdout}\n{done.stderr}"
        outputs[line] = done.stdout + done.stderr
        ran.append(line)

    # what could not run here, and nothing else
    assert {next(s for s in SKIPPED if s in line) for line in skipped} == set(SKIPPED)
    assert any("sohoa config check" in line for line in ran) and any("sohoa enroll" in line for line in ran)
    # the order the README promises: enroll and check before the service is enabled
    order = [line for line, _ in steps]
    enable = next(i for i, line in enumerate(order) if "enable --now" in line)
    assert next(i for i, line in enumerate(order) if "sohoa config check" in line) < enable
    assert next(i for i, line in enumerate(order) if "sohoa enroll" in line) < enable

    # sohoa is on PATH through the link, and bash completes it
    assert (root / "usr/local/bin/sohoa").resolve() == (VENV_BIN / "sohoa").resolve()
    version = next(out for line, out in outputs.items() if line == "sohoa --version")
    assert version.startswith("sohoa ")
    complete = subprocess.run(["bash", "-c", f"source {root}/etc/bash_completion.d/sohoa && complete -p sohoa"],
                              capture_output=True, text=True, timeout=60)
    assert complete.returncode == 0 and "sohoa" in complete.stdout, complete.stderr

    # the user and the folders, the config with this station's identity and a password
    assert "sohoa:" in (root / "etc/passwd").read_text()
    config = root / "etc/sohoa/sohoa.toml"
    assert config.stat().st_mode & 0o777 == 0o640
    text = config.read_text(encoding="utf-8")
    assert re.search(r'^\[web\]\npassword_hash = "scrypt\$', text, re.M), text
    assert "demo-commune-0001" not in text and "H49.64.33" not in text
    # enrollment as the README says: the service user, the keys in the state folder, private ones private
    enroll_line = next(line for line in order if "sohoa enroll" in line)
    assert enroll_line.startswith("sudo -u sohoa sohoa enroll")
    keys = root / "var/lib/sohoa/keys"
    assert (keys / "device_ed25519.pem").stat().st_mode & 0o077 == 0
    assert (keys / "archive_x25519.pub").exists() and (keys / "log_ed25519.pub").exists()
    check = next(out for line, out in outputs.items() if "sohoa config check" in line)
    assert "Cấu hình hợp lệ / Config OK" in check
    assert (root / "etc/systemd/system/sohoa-agent.service").read_bytes() == (
        ROOT / "systemd/sohoa-agent.service").read_bytes()


def test_the_readme_config_with_the_demo_identity_left_in_is_refused(tmp_path):
    (_line, heredoc), = [(line, h) for line, h in commands(install_section()) if h is not None]
    demo = heredoc.replace('"xa-phuoc-long-01"', '"demo-commune-0001"').replace('"H49.12.05"', '"H49.64.33"')
    path = tmp_path / "sohoa.toml"
    path.write_text(demo.replace("/var/lib/sohoa", str(tmp_path / "state")), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "firmware_agent", "config", "check", str(path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == exit_codes.CONFIG
    assert "line 2: agent.device_id" in done.stderr and "line 18: records.agency" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_unit_points_at_documents_that_exist_and_does_not_restart_on_a_config_error():
    unit = (ROOT / "systemd/sohoa-agent.service").read_text()
    docs = re.search(r"^Documentation=(.+)$", unit, re.M).group(1).split()
    assert docs
    for doc in docs:
        assert doc.startswith("file:/opt/sohoa/"), doc
        assert (ROOT / doc.removeprefix("file:/opt/sohoa/")).is_file(), doc
    assert re.findall(r"^RestartPreventExitStatus=(.+)$", unit, re.M) == [str(exit_codes.CONFIG)]
    central = (ROOT / "systemd/sohoa-central.service").read_text()
    for doc in re.search(r"^Documentation=(.+)$", central, re.M).group(1).split():
        assert (ROOT / doc.removeprefix("file:/opt/sohoa/")).is_file(), doc
