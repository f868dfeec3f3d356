"""IIO, hwmon and 1-wire drivers on sysfs trees built in temp directories."""

from __future__ import annotations

import pytest

from drivers.sensors import BadReading, SensorUnavailable, discover
from drivers.sensors.onewire import parse_w1_slave


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def iio(root, n, name, **files):
    dev = root / f"sys/bus/iio/devices/iio:device{n}"
    write(dev / "name", name + "\n")
    for key, value in files.items():
        write(dev / key, f"{value}\n")
    return dev


def hwmon(root, n, name, **files):
    dev = root / f"sys/class/hwmon/hwmon{n}"
    write(dev / "name", name + "\n")
    for key, value in files.items():
        write(dev / key, f"{value}\n")
    return dev


def w1(root, serial, text):
    dev = root / f"sys/bus/w1/devices/{serial}"
    write(dev / "w1_slave", text)
    return dev


GOOD_W1 = "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n"


def test_iio_processed_inputs(tmp_path):
    iio(tmp_path, 0, "dht11", in_temp_input=24300, in_humidityrelative_input=61000)
    (sensor,) = discover(tmp_path, usb=False)
    r = sensor.read()
    assert sensor.sensor_id == "iio-dht11"
    assert (r.t_c, r.rh_pct) == (pytest.approx(24.3), pytest.approx(61.0))


def test_iio_raw_offset_scale(tmp_path):
    # HDC100x style: (raw + offset) * scale gives milli-units.
    iio(tmp_path, 1, "hdc100x", in_temp_raw=26214, in_temp_offset=-15887.515151, in_temp_scale=2.517700195,
        in_humidityrelative_raw=32768, in_humidityrelative_scale=1.525878906)
    (sensor,) = discover(tmp_path, usb=False)
    r = sensor.read()
    assert r.t_c == pytest.approx((26214 - 15887.515151) * 2.517700195 / 1000)
    assert r.t_c == pytest.approx(26.0, abs=0.01)
    assert r.rh_pct == pytest.approx(50.0, abs=0.01)  # offset absent = 0


def test_iio_devices_without_climate_channels_are_skipped_and_names_deduplicated(tmp_path):
    iio(tmp_path, 0, "adc", in_voltage0_raw=100)
    iio(tmp_path, 2, "bme280", in_temp_input=20000, in_humidityrelative_input=50000)
    iio(tmp_path, 10, "bme280", in_temp_input=21000, in_humidityrelative_input=51000)
    sensors = discover(tmp_path, usb=False)
    assert [s.sensor_id for s in sensors] == ["iio-bme280", "iio-bme280-2"]
    assert sensors[1].read().t_c == pytest.approx(21.0)


def test_iio_dht11_missed_handshake_is_unavailable(tmp_path):
    dev = iio(tmp_path, 0, "dht11", in_temp_input=24300)
    (sensor,) = discover(tmp_path, usb=False)
    (dev / "in_temp_input").unlink()
    with pytest.raises(SensorUnavailable):
        sensor.read()
    write(dev / "in_temp_input", "not a number")
    with pytest.raises(BadReading) as info:
        sensor.read()
    assert info.value.reason == "garbage"


def test_hwmon_by_name_skipping_the_cpu(tmp_path):
    hwmon(tmp_path, 0, "cpu_thermal", temp1_input=55000)
    hwmon(tmp_path, 1, "nvme")
    hwmon(tmp_path, 3, "sht3x", temp1_input=22500, humidity1_input=48250)
    hwmon(tmp_path, 4, "ds1621", temp1_input=-5000)
    sensors = discover(tmp_path, usb=False)
    assert [s.sensor_id for s in sensors] == ["hwmon-sht3x", "hwmon-ds1621"]
    r = sensors[0].read()
    assert (r.t_c, r.rh_pct) == (pytest.approx(22.5), pytest.approx(48.25))
    assert sensors[1].read().rh_pct is None
    with_cpu = discover(tmp_path, usb=False, include=frozenset({"hwmon-cpu_thermal"}))
    assert with_cpu[0].sensor_id == "hwmon-cpu_thermal"


def test_hwmon_out_of_range_is_bad(tmp_path):
    hwmon(tmp_path, 0, "aht20", temp1_input=21000, humidity1_input=104000)
    (sensor,) = discover(tmp_path, usb=False)
    with pytest.raises(BadReading) as info:
        sensor.read()
    assert info.value.reason == "range"


def test_w1_good_reading(tmp_path):
    w1(tmp_path, "28-0316a2794aff", GOOD_W1)
    w1(tmp_path, "10-000802b4c6f1", GOOD_W1)  # DS18S20 family: not ours
    (sensor,) = discover(tmp_path, usb=False)
    assert sensor.sensor_id == "w1-28-0316a2794aff"
    r = sensor.read()
    assert r.t_c == pytest.approx(23.125) and r.rh_pct is None


@pytest.mark.parametrize("text,reason", [
    ("72 01 4b 46 7f ff 0e 10 57 : crc=a1 NO\n72 01 4b 46 7f ff 0e 10 57 t=23125\n", "crc"),
    ("50 05 4b 46 7f ff 0c 10 1c : crc=1c YES\n50 05 4b 46 7f ff 0c 10 1c t=85000\n", "power_on"),
    ("72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n", "garbage"),
    ("72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\nff ff ff ff ff ff ff ff ff t=\n", "garbage"),
    ("ff ff ff ff ff ff ff ff ff : crc=ff YES\nff ff ff ff ff ff ff ff ff t=-62\n", None),
])
def test_w1_bad_lines(text, reason):
    if reason is None:  # a real negative value, to be sure the sign is kept
        assert parse_w1_slave("x", text, 0.0).t_c == pytest.approx(-0.062)
        return
    with pytest.raises(BadReading) as info:
        parse_w1_slave("x", text, 0.0)
    assert info.value.reason == reason


def test_w1_unplugged_file_vanishes(tmp_path):
    dev = w1(tmp_path, "28-0316a2794aff", GOOD_W1)
    (sensor,) = discover(tmp_path, usb=False)
    (dev / "w1_slave").unlink()
    with pytest.raises(SensorUnavailable) as info:
        sensor.read()
    assert info.value.reason == "missing"


def test_all_kinds_at_once(tmp_path, ):
    iio(tmp_path, 0, "bme280", in_temp_input=20000, in_humidityrelative_input=50000)
    hwmon(tmp_path, 2, "sht4x", temp1_input=22500, humidity1_input=48250)
    w1(tmp_path, "28-0316a2794aff", GOOD_W1)
    sensors = discover(tmp_path, usb=False)
    assert [s.kind for s in sensors] == ["iio", "hwmon", "w1"]
    assert all(s.read().t_c > 0 for s in sensors)
