"""`[climate]` config (arrays of sensor tables), `sohoa sensors` and `sohoa climate report`."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from firmware_agent.cli import main
from firmware_agent.climate.store import ClimateStore
from firmware_agent.config import ConfigError, explain, load_config

CONFIG = """
[agent]
state_dir = "{state}"

[climate]
period_s = 30
room_name = "Kho xã"

[[climate.sensors]]
id = "w1-28-0316a2794aff"
location = "Kho 1, sàn"
t_offset_c = -0.25

[[climate.sensors]]
id = "hwmon-sht3x"
location = "Kệ A"
rh_offset_pct = 1.5

[climate.band]
t_target_c = 22

[climate.alerts]
rh_high_pct = 65
"""


def write_config(tmp_path, text=CONFIG):
    path = tmp_path / "sohoa.toml"
    path.write_text(text.format(state=tmp_path / "state"), encoding="utf-8")
    return path


def test_climate_section_with_sensor_tables(tmp_path):
    cfg = load_config(write_config(tmp_path))
    c = cfg.climate
    assert c.period_s == 30.0 and c.room_name == "Kho xã"
    assert [s.id for s in c.sensors] == ["w1-28-0316a2794aff", "hwmon-sht3x"]
    assert c.sensor_config("w1-28-0316a2794aff").t_offset_c == -0.25
    assert c.sensor_config("hwmon-sht3x").rh_offset_pct == 1.5 and c.sensor_config("nope") is None
    assert c.band.t_target_c == 22.0 and c.band.rh_target_pct == 50.0
    assert c.alerts.rh_high_pct == 65.0
    assert any(line.startswith("  climate.sensors = ()") for line in explain())
    assert load_config(None).climate.sensors == ()


@pytest.mark.parametrize("extra,message", [
    ('[[climate.sensors]]\nid = "x"\nlocaton = "typo"\n', "climate.sensors[2].locaton: unknown key"),
    ('[[climate.sensors]]\nid = "x"\nt_offset_c = 50\n', "climate.sensors[2].t_offset_c: must be at most 10"),
])
def test_sensor_table_errors_name_the_key(tmp_path, extra, message):
    key, _, en = message.partition(": ")
    # KEY: Vietnamese / English (design §1.1)
    with pytest.raises(ConfigError, match=re.escape(key) + r": [^\n]+ / " + re.escape(en)):
        load_config(write_config(tmp_path, CONFIG + extra))
    with pytest.raises(ConfigError, match="expected an array of tables"):
        load_config(None, {"climate": {"sensors": {"id": "x"}}})


def test_sensors_command_lists_readings_and_faults(tmp_path, sysfs, capsys):
    sysfs.hwmon(1, "sht3x", 21.5, 47.25)
    sysfs.w1("28-0316a2794aff", None, crc_ok=False)
    cfg = write_config(tmp_path)
    assert main(["sensors", "--config", str(cfg), "--sysfs-root", str(sysfs.root), "--no-usb", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_id = {r["id"]: r for r in rows}
    assert by_id["hwmon-sht3x"]["t_c"] == 21.5 and by_id["hwmon-sht3x"]["rh_pct"] == 47.25
    assert by_id["hwmon-sht3x"]["location"] == "Kệ A"
    assert by_id["w1-28-0316a2794aff"]["fault"] == "crc"
    assert by_id["w1-28-0316a2794aff"]["message"].startswith("Lỗi CRC")
    assert main(["sensors", "--sysfs-root", str(tmp_path / "empty"), "--no-usb"]) == 0
    assert "Không thấy cảm biến nào / No sensor found" in capsys.readouterr().out


def test_report_command_writes_pdf_and_png(tmp_path, capsys):
    cfg = write_config(tmp_path)
    store = ClimateStore(tmp_path / "state" / "climate.sqlite3")
    start = dt.datetime(2026, 3, 1).timestamp()
    store.add_many([("hwmon-sht3x", start + i * 600, 23.0, 58.0) for i in range(6 * 24 * 31)])
    store.compact(start + 40 * 86400)
    store.close()
    out = tmp_path / "r.pdf"
    assert main(["climate", "report", "--month", "2026-03", "--config", str(cfg), "-o", str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF-")
    assert "1 cảm biến / sensors" in capsys.readouterr().out
    png = tmp_path / "r.png"
    assert main(["climate", "report", "--month", "2026-03", "--config", str(cfg), "--format", "png",
                 "-o", str(png)]) == 0
    assert png.read_bytes().startswith(b"\x89PNG")
    with pytest.raises(SystemExit) as usage:  # a month that is no month is the parser's usage error
        main(["climate", "report", "--month", "March", "--config", str(cfg), "-o", str(out)])
    assert usage.value.code == 2
    assert main(["climate", "report", "--month", "2026-03", "--config", str(cfg),
                 "--db", str(tmp_path / "missing.sqlite3")]) == 1
