"""The systemd unit, sysusers, tmpfiles and udev files, checked with systemd's own tools.

``systemd-analyze verify`` needs ExecStart's binary to exist, so it runs on a
copy of the unit whose ExecStart points at this test's Python; every other line
is the shipped one. Warnings count as failures (verify only warns about unknown
keys and bad values), and a deliberately broken copy shows the check can fail.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.systemd.unit_files import one, parse_unit, values

SYSTEMD = Path(__file__).resolve().parents[2] / "systemd"
UNIT = SYSTEMD / "sohoa-agent.service"
RULES = SYSTEMD / "60-sohoa-scanner.rules"
TEMPER_IDS = [("0c45", "7401"), ("0c45", "7402"), ("413d", "2107"), ("1a86", "e025")]


@pytest.fixture(scope="module")
def unit():
    return parse_unit(UNIT.read_text())


def runnable_copy(tmp_path: Path, text: str) -> Path:
    exe = Path(sys.executable).resolve()
    text = re.sub(r"^ExecStart=\S+", f"ExecStart={exe}", text, count=1, flags=re.M)
    copy = tmp_path / UNIT.name
    copy.write_text(text)
    return copy


def verify(path: Path) -> list[str]:
    """Problems systemd-analyze reports for a unit file (empty = clean)."""
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", str(path)],
                          capture_output=True, text=True, timeout=60, cwd=path.parent)
    problems = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    if done.returncode != 0:
        problems.append(f"exit status {done.returncode}")
    return problems


def test_systemd_analyze_verify_is_clean(tmp_path):
    copy = runnable_copy(tmp_path, UNIT.read_text())
    assert verify(copy) == []


def test_verify_catches_a_broken_unit(tmp_path):
    broken = UNIT.read_text().replace("ProtectSystem=strict", "ProtectSystem=strcit")
    broken = broken.replace("WatchdogSec=30", "WatchdogSec=30\nWatchDogSec=30")
    problems = verify(runnable_copy(tmp_path, broken))
    assert any("strcit" in p for p in problems)
    assert any("WatchDogSec" in p for p in problems)


def test_shipped_exec_start_and_notify_settings(unit):
    assert one(unit, "Service", "ExecStart") == "/opt/sohoa/.venv/bin/sohoa run --config /etc/sohoa/sohoa.toml"
    assert one(unit, "Service", "Type") == "notify"
    assert one(unit, "Service", "NotifyAccess") == "main"
    assert int(one(unit, "Service", "WatchdogSec")) >= 10
    assert one(unit, "Service", "Restart") == "on-failure"
    assert 1 <= int(one(unit, "Service", "RestartSec")) <= 60
    assert one(unit, "Install", "WantedBy") == "multi-user.target"


def test_user_directories_and_environment(unit):
    assert one(unit, "Service", "User") == "sohoa"
    assert set(one(unit, "Service", "SupplementaryGroups").split()) >= {"scanner", "lp"}
    assert one(unit, "Service", "StateDirectory") == "sohoa"
    assert one(unit, "Service", "ConfigurationDirectory") == "sohoa"
    assert one(unit, "Service", "CacheDirectory") == "sohoa"
    env = dict(v.split("=", 1) for v in values(unit, "Service", "Environment"))
    assert env["NUMBA_CACHE_DIR"] == "/var/cache/sohoa/numba"


def test_sandbox_keeps_scanners_reachable(unit):
    assert one(unit, "Service", "ProtectSystem") == "strict"
    assert one(unit, "Service", "NoNewPrivileges") == "yes"
    # A private /dev hides hot-plugged USB scanners and input keys.
    assert one(unit, "Service", "PrivateDevices") == "no"
    assert one(unit, "Service", "DevicePolicy") == "closed"
    allowed = {v.split()[0]: v.split()[1] for v in values(unit, "Service", "DeviceAllow")}
    assert "w" in allowed["char-usb_device"] and "r" in allowed["char-usb_device"]
    assert allowed["char-input"] == "r"
    assert "char-hidraw" in allowed
    # numba writes machine code into memory and runs it.
    assert not values(unit, "Service", "MemoryDenyWriteExecute")
    # Supplementary groups must map to real groups for device access.
    assert not values(unit, "Service", "PrivateUsers")
    families = one(unit, "Service", "RestrictAddressFamilies").split()
    assert {"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"} <= set(families)


def test_security_exposure_stays_low(tmp_path):
    copy = runnable_copy(tmp_path, UNIT.read_text())
    done = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager", str(copy)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout + done.stderr)
    assert m, done.stdout[-500:] + done.stderr[-500:]
    assert float(m.group(1)) <= 2.5


def temp_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    for d in ("etc", "usr/lib/sysusers.d", "usr/lib/tmpfiles.d"):
        (root / d).mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc/group").write_text("root:x:0:\nlp:x:7:\n")
    shutil.copy(SYSTEMD / "sohoa.sysusers", root / "usr/lib/sysusers.d/sohoa.conf")
    shutil.copy(SYSTEMD / "sohoa.tmpfiles", root / "usr/lib/tmpfiles.d/sohoa.conf")
    return root


def test_sysusers_and_tmpfiles_in_a_temp_root(tmp_path):
    root = temp_root(tmp_path)
    subprocess.run(["systemd-sysusers", f"--root={root}", "sohoa.conf"], check=True, capture_output=True, timeout=60)
    passwd = {line.split(":")[0]: line.split(":") for line in (root / "etc/passwd").read_text().splitlines()}
    groups = {line.split(":")[0]: line.split(":") for line in (root / "etc/group").read_text().splitlines()}
    user = passwd["sohoa"]
    assert user[5] == "/var/lib/sohoa" and user[6] == "/usr/sbin/nologin"
    assert int(user[2]) < 1000  # a system user
    assert "sohoa" in groups["scanner"][3].split(",")
    assert "sohoa" in groups["lp"][3].split(",")
    assert groups["lp"][2] == "7"  # an existing group is joined, not recreated

    done = subprocess.run(["systemd-tmpfiles", f"--root={root}", "--create", "sohoa.conf"],
                          capture_output=True, text=True, timeout=60)
    uid, gid = int(user[2]), int(groups["sohoa"][2])
    expect = {"etc/sohoa": (0o750, 0, gid), "var/lib/sohoa": (0o750, uid, gid),
              "var/cache/sohoa/numba": (0o750, uid, gid), "srv/sohoa/hotfolder": (0o2770, uid, gid)}
    if os.geteuid() != 0:
        # Without root only the chown can fail; any parse error would show up here too.
        other = [ln for ln in done.stderr.splitlines() if "fchownat()" not in ln or "not permitted" not in ln]
        assert other == [], done.stderr
        assert all((root / rel).is_dir() for rel in expect)
        return
    assert done.returncode == 0, done.stderr
    for rel, (mode, owner, group) in expect.items():
        st = os.stat(root / rel)
        assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (mode, owner, group), rel


# ----------------------------------------------------------------------------- udev

_TOKEN = re.compile(r'\s*([A-Z_]+(?:\{[^}]+\})?)\s*(==|!=|\+=|-=|:=|=)\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')
_MATCH_KEYS = {"ACTION", "SUBSYSTEM", "SUBSYSTEMS", "KERNEL", "DRIVERS", "ATTR", "ATTRS", "ENV"}
_ASSIGN_KEYS = {"GROUP", "MODE", "OWNER", "ENV", "GOTO", "LABEL", "RUN", "TAG"}


def parse_rules(text: str) -> list[list[tuple[str, str, str, str]]]:
    """udev rules as lists of (key, attribute, operator, value); raises on bad syntax."""
    rules = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        tokens, pos = [], 0
        while pos < len(line):
            m = _TOKEN.match(line, pos)
            if not m:
                raise SyntaxError(f"line {n}: cannot parse at {line[pos:]!r}")
            full, op, value = m.group(1), m.group(2), m.group(3)
            key, _, attr = full.partition("{")
            attr = attr.rstrip("}")
            if op in ("==", "!="):
                ok = key in _MATCH_KEYS
            else:
                ok = key in _ASSIGN_KEYS and (key not in ("GOTO", "LABEL") or op == "=")
            if not ok or (key in ("ATTR", "ATTRS", "ENV")) != bool(attr):
                raise SyntaxError(f"line {n}: {full}{op} is not valid")
            tokens.append((key, attr, op, value))
            pos = m.end()
        rules.append(tokens)
    labels = {v for r in rules for k, _, _, v in r if k == "LABEL"}
    for r in rules:
        for k, _, _, v in r:
            if k == "GOTO" and v not in labels:
                raise SyntaxError(f"GOTO {v} has no LABEL")
    return rules


def _glob(value: str | None, pattern: str) -> bool:
    return value is not None and any(fnmatch.fnmatchcase(value, p) for p in pattern.split("|"))


def apply_rules(rules, device: dict) -> dict:
    """Evaluate the rules for one device the way udev does (the subset this file uses)."""
    env = dict(device.get("ENV", {}))
    result: dict[str, str] = {}
    skip_to = None
    for rule in rules:
        if skip_to is not None:
            if any(k == "LABEL" and v == skip_to for k, _, _, v in rule):
                skip_to = None
            continue
        matched = True
        for key, attr, op, value in rule:
            if op not in ("==", "!="):
                continue
            if key in ("ATTR", "ATTRS"):
                got = device.get(key, {}).get(attr)
                hit = _glob(got, value)
            elif key == "ENV":
                hit = _glob(env.get(attr, ""), value)
            elif key in ("DRIVERS", "SUBSYSTEMS"):
                hit = any(_glob(d, value) for d in device.get(key, ()))
            else:
                hit = _glob(device.get(key), value)
            if hit != (op == "=="):
                matched = False
                break
        if not matched:
            continue
        for key, attr, op, value in rule:
            if op in ("==", "!="):
                continue
            if key == "ENV":
                env[attr] = value
            elif key == "GOTO":
                skip_to = value
            elif key in ("GROUP", "MODE"):
                result[key] = value
    return result


def usb(vid: str, pid: str, interfaces: str = ":ff0000:", **env) -> dict:
    return {"ACTION": "add", "SUBSYSTEM": "usb", "KERNEL": "1-1",
            "ATTR": {"idVendor": vid, "idProduct": pid},
            "ENV": {"DEVTYPE": "usb_device", "ID_USB_INTERFACES": interfaces, **env}}


@pytest.fixture(scope="module")
def rules():
    return parse_rules(RULES.read_text())


def test_rules_syntax_errors_are_caught():
    with pytest.raises(SyntaxError):
        parse_rules('SUBSYSTEM="usb", GROUP="scanner"\nSUBSYSTEM=="usb" GROUP="x"')
    with pytest.raises(SyntaxError):
        parse_rules('SUBSYSTEM=="usb", GOTO="nowhere"')


def test_sane_supported_scanner_goes_to_group_scanner(rules):
    assert apply_rules(rules, usb("04c5", "132b", libsane_matched="yes")) == {"GROUP": "scanner", "MODE": "0660"}
    sg = {"ACTION": "add", "SUBSYSTEM": "scsi_generic", "KERNEL": "sg0", "ENV": {"libsane_matched": "yes"}}
    assert apply_rules(rules, sg)["GROUP"] == "scanner"


def test_multifunction_printer_keeps_its_printer_group(rules):
    mfp = usb("04b8", "1143", interfaces=":ffffff:070102:", libsane_matched="yes")
    assert apply_rules(rules, mfp) == {}


def test_other_devices_are_left_alone(rules):
    assert apply_rules(rules, usb("0781", "5567", interfaces=":080650:")) == {}
    removed = usb("04c5", "132b", libsane_matched="yes")
    removed["ACTION"] = "remove"
    assert apply_rules(rules, removed) == {}


@pytest.mark.parametrize("vid,pid", TEMPER_IDS)
def test_temper_sensors_go_to_group_sohoa(rules, vid, pid):
    assert apply_rules(rules, usb(vid, pid, interfaces=":030101:030000:"))["GROUP"] == "sohoa"
    hidraw = {"ACTION": "add", "SUBSYSTEM": "hidraw", "KERNEL": "hidraw0", "ATTRS": {"idVendor": vid, "idProduct": pid}}
    assert apply_rules(rules, hidraw) == {"GROUP": "sohoa", "MODE": "0660"}


def test_gpio_key_is_readable_by_sohoa_but_keyboards_are_not(rules):
    key = {"ACTION": "add", "SUBSYSTEM": "input", "KERNEL": "event0", "DRIVERS": ["gpio-keys"]}
    assert apply_rules(rules, key) == {"GROUP": "sohoa", "MODE": "0640"}
    keyboard = {"ACTION": "add", "SUBSYSTEM": "input", "KERNEL": "event3", "DRIVERS": ["usbhid", "usb"]}
    assert apply_rules(rules, keyboard) == {}


def test_udevadm_verify_when_available():
    probe = subprocess.run(["udevadm", "verify", "--help"], capture_output=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip("udevadm verify needs systemd >= 254; the rules are checked by parsing above")
    done = subprocess.run(["udevadm", "verify", "--resolve-names=never", str(RULES)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr


def test_readme_config_example_is_a_valid_config(tmp_path):
    from firmware_agent.config import load_config

    text = (SYSTEMD.parent / "README.md").read_text(encoding="utf-8")
    example = re.search(r"sohoa\.toml <<'EOF'\n(.*?)\nEOF\n", text, re.S).group(1)
    path = tmp_path / "sohoa.toml"
    path.write_text(example, encoding="utf-8")
    cfg = load_config(path)
    assert cfg.hotfolder.path == "/srv/sohoa/hotfolder"
    assert cfg.input_key.key_code == 28
