"""Config: one schema, defaults for the demo, bad keys and values named in the message."""

from __future__ import annotations

import subprocess
import sys
import re
from pathlib import Path

import pytest

from firmware_agent.config import ConfigError, explain, load_config

from sync.passwords import check_password, hash_password

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path, text: str) -> Path:
    p = tmp_path / "sohoa.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_need_no_file():
    cfg = load_config(None)
    assert cfg.scanner.profiles["default"].resolution == 300  # TT 05/2025: colour, >= 200 dpi
    assert cfg.scanner.profiles["default"].mode == "color"
    assert cfg.web.bind == "127.0.0.1" and not cfg.web.allow_lan


def test_a_full_file_is_read(tmp_path):
    cfg = load_config(write(tmp_path, """
[agent]
device_id = "H49-xa-01"
[scanner]
device = "fujitsu:fi-8170:1"
buttons = { scan = "duplex" }
default_profile = "duplex"
[scanner.profiles.duplex]
source = "duplex"
resolution = 300
[hotfolder]
path = "/srv/scan-inbox"
settle_s = 5
"""))
    assert cfg.agent.device_id == "H49-xa-01"
    assert cfg.scanner.profiles["duplex"].source == "duplex"
    assert cfg.scanner.buttons == {"scan": "duplex"}
    assert cfg.hotfolder.settle_s == 5.0


@pytest.mark.parametrize("text,needle", [
    ("[scanner]\npoll_ms = 'fast'\n", "scanner.poll_ms: expected an integer"),
    ("[scanner]\npolms = 500\n", "scanner.polms: unknown key in [scanner]"),
    ("[scaner]\n", "scaner: unknown key in the top level"),
    ("[scanner.profiles.x]\nresolution = 150\n", "scanner.profiles.x.resolution: must be at least 200"),
    ("[scanner.profiles.x]\nsource = 'tray'\n", "scanner.profiles.x.source: expected one of"),
    ("[scanner]\nbuttons = { scan = 'nope' }\n", "scanner.buttons.scan: no profile named 'nope'"),
    ("[web]\nbind = '0.0.0.0'\n", "web.allow_lan"),
    ("[web]\nallow_lan = 'yes'\n", "web.allow_lan: expected true or false"),
    ("[agent\n", "not valid TOML"),
    ("agent = 3\n", "agent: expected a table"),
])
def test_bad_config_names_the_key_and_what_is_expected(tmp_path, text, needle):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    if ": " not in needle:  # the parser's own words, or a word inside the text
        assert needle in str(err.value)
    else:
        assert re.search(said(needle), str(err.value)), str(err.value)


def said(needle: str) -> str:
    """A pattern for ``KEY: vi / en`` where *needle* is ``KEY: the start of the English``: the Vietnamese
    comes first, on the same line (design §1.1)."""
    key, _, en = needle.partition(": ")
    return re.escape(key) + r": [^\n]*\w[^\n]* / " + re.escape(en)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "absent.toml")


def test_lan_binding_is_a_switch(tmp_path):
    cfg = load_config(write(tmp_path, "[web]\nbind = '0.0.0.0'\nallow_lan = true\n"))
    assert cfg.web.bind == "0.0.0.0"


def test_every_setting_is_described():
    lines = explain()
    settings = [line for line in lines if line.startswith("  ")]
    assert len(settings) > 20
    assert all("#" in line and line.split("#", 1)[1].strip() for line in settings)


def test_password_hash_round_trip():
    stored = hash_password("mật khẩu dài")
    assert stored.startswith("scrypt$")
    assert check_password("mật khẩu dài", stored)
    assert not check_password("mat khau dai", stored)
    assert not check_password("x", "garbage")
    # a costlier hash still checks; a cost past the bound (memory a config could exhaust) does not
    assert check_password("mật khẩu dài", hash_password("mật khẩu dài", n=2**15))
    algo, n, r, p, salt, digest = stored.split("$")
    assert not check_password("mật khẩu dài", "$".join((algo, str(2**20), r, p, salt, digest)))


def test_web_section_names_hosts_and_roles(tmp_path):
    pin = hash_password("135790")
    cfg = load_config(write(tmp_path, f"""
[web]
hostnames = ["scan-station.local", "192.168.1.20", "[fd00::20]"]
operator_pin_hash = "{pin}"
"""))
    assert cfg.web.hostnames == ("scan-station.local", "192.168.1.20", "[fd00::20]") and cfg.web.operator_pin_hash == pin
    assert load_config(None).web.hostnames == ()
    for bad, message in (('hostnames = "scan-station.local"', "web.hostnames: expected an array"),
                         ('hostnames = ["a b"]', "web.hostnames: expected an array"),
                         ('hostnames = [""]', "web.hostnames: expected an array"),
                         ('hostnames = ["scan-station.local:8080"]', "web.hostnames: expected an array"),
                         ('password_hash = "hunter2"', "web.password_hash: not a hash"),
                         ('operator_pin_hash = "scrypt$1$2$3$4$5"', "web.operator_pin_hash: not a hash"),
                         (f'operator_open = true\noperator_pin_hash = "{pin}"', "web.operator_open: set either"),
                         ('operator_pin = "1234"', "web.operator_pin: unknown key")):
        with pytest.raises(ConfigError, match=said(message)):
            load_config(write(tmp_path, f"[web]\n{bad}\n"))


def test_agent_refuses_to_start_on_a_bad_config(tmp_path):
    bad = write(tmp_path, "[scanner]\npoll_ms = -5\n")
    res = subprocess.run([sys.executable, "-m", "firmware_agent", "run", "--config", str(bad)],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert res.returncode == 3  # exit_codes.CONFIG: the unit does not restart on it
    assert re.search(said("scanner.poll_ms: must be at least 50"), res.stderr)
    assert "scanner.poll_ms: phải ít nhất là 50" in res.stderr
    assert "Lỗi cấu hình / Config error" in res.stderr


def test_imaging_section_sets_the_pipeline_params(tmp_path):
    from firmware_agent.processing import pipeline_params

    cfg = load_config(write(tmp_path, "[imaging]\nsauvola_k = 0.3\nfix_orientation = false\n"))
    import dataclasses

    params = pipeline_params(dataclasses.asdict(cfg.imaging))
    assert params.sauvola_k == 0.3 and params.fix_orientation is False
    assert params.threads == 2  # one page's full-resolution steps on two threads unless told
    one = load_config(write(tmp_path, "[imaging]\nthreads = 1\n"))
    assert pipeline_params(dataclasses.asdict(one.imaging)).threads == 1
    with pytest.raises(ConfigError, match=said("imaging.sauvola_k: must be at most 1.0")):
        load_config(write(tmp_path, "[imaging]\nsauvola_k = 3\n"))


def test_every_problem_of_a_file_is_vietnamese_first_with_its_values(tmp_path):
    text = ("scaner = 1\n[agent]\ndevice_id = 'x y'\n[scanner]\npoll_ms = 10\nhang_s = 'long'\n"
            "[sync]\nendpoint = 'ftp://x'\nallowed_hours = '25-7'\n[web]\nallow_lan = 'yes'\n"
            "[climate.alerts]\nt_low_c = 30.0\nt_high_c = 20.0\n")
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    problems = err.value.problems
    assert len(problems) == 8, problems
    for p in problems:
        key, _, words = p.partition(": ")
        vi, sep, en = words.partition(" / ")
        assert sep and vi and en and "\n" not in p, p
        assert any(c in "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹáàãéèíìóòõúùý" for c in vi.lower()), p
    text = "\n".join(problems)
    assert "sync.endpoint: cần URL http:// hoặc https://" in text and "'ftp://x'" in text
    assert "climate.alerts.t_low_c: phải thấp hơn climate.alerts.t_high_c (20.0), nhận được 30.0" in text
    assert "scanner.poll_ms: phải ít nhất là 50, nhận được 10 / must be at least 50, got 10" in text
