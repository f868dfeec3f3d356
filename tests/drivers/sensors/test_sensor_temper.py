"""TEMPer driver over a pyusb backend that speaks the device's protocol."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from drivers.sensors import BadReading, SensorUnavailable, discover
from drivers.sensors.temper import TemperDevice, TemperSensor, find_devices


def _load_bus():
    # Loaded by path: the suite runs with --import-mode=importlib (no sibling imports).
    path = Path(__file__).with_name("fake_temper_usb.py")
    spec = importlib.util.spec_from_file_location("sohoa_tests_fake_temper_usb", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


bus = _load_bus()
DATA_QUERY, FIRMWARE_QUERY, NO_SENSOR = bus.DATA_QUERY, bus.FIRMWARE_QUERY, bus.NO_SENSOR
FakeTemper, TemperBackend, words_reply = bus.FakeTemper, bus.TemperBackend, bus.words_reply


def gold(**kw):
    # TEMPerGold_V3.1: divisor 100, temperature only, interrupt OUT endpoint.
    return FakeTemper(0x413D, 0x2107, "TEMPerGold_V3.1 ", words_reply(2345, 0x1234), **kw)


def one_sensor(fake) -> TemperSensor:
    sensors = discover("/nonexistent", TemperBackend([fake]))
    assert len(sensors) == 1
    return sensors[0]


def test_gold_family_divisor_100_and_no_humidity():
    fake = gold()
    sensor = one_sensor(fake)
    r = sensor.read()
    assert sensor.sensor_id == "usb-1-1.2"
    assert r.t_c == pytest.approx(23.45)
    assert r.rh_pct is None  # Gold has no humidity sensor: bytes 4-5 are ignored
    assert fake.queries[0] == FIRMWARE_QUERY and fake.queries[-1] == DATA_QUERY
    assert sensor.device.firmware == "TEMPerGold_V3.1"


def test_kernel_driver_detached_then_given_back():
    fake = gold()
    sensor = one_sensor(fake)
    assert fake.detach_calls == 1 and not fake.kernel_driver
    sensor.close()
    assert fake.attach_calls == 1 and fake.kernel_driver
    assert 1 not in fake.claimed


def test_temperx_sixteen_byte_reply_gives_two_sensors_with_humidity():
    fake = FakeTemper(0x1A86, 0xE025, "TEMPerX_V3.3", words_reply(2150, 5520, -325, 8810), ports=(1, 4))
    sensors = discover("/nonexistent", TemperBackend([fake]))
    assert [s.sensor_id for s in sensors] == ["usb-1-1.4", "usb-1-1.4-ext"]
    inside, probe = (s.read() for s in sensors)
    assert (inside.t_c, inside.rh_pct) == (pytest.approx(21.5), pytest.approx(55.2))
    assert (probe.t_c, probe.rh_pct) == (pytest.approx(-3.25), pytest.approx(88.1))


def test_divisor_256_family_through_set_report():
    # TEMPerF1.4 (0c45:7401) has no interrupt OUT endpoint: queries go by SET_REPORT.
    raw = int(24.75 * 256)
    fake = FakeTemper(0x0C45, 0x7401, "TEMPerF1.4", words_reply(raw), out_endpoint=False)
    r = one_sensor(fake).read()
    assert r.t_c == pytest.approx(24.75)
    assert fake.queries[-1] == DATA_QUERY


def test_sht20_raw_family():
    # TEMPer1F_H1V1.5F sends SHT20 words shifted right by 2 (T) and 4 (RH).
    t_word, rh_word = 0x6850 >> 2, 0x7E26 >> 4
    fake = FakeTemper(0x413D, 0x2107, "TEMPer1F_H1V1.5F", words_reply(t_word, rh_word))
    r = one_sensor(fake).read()
    assert r.t_c == pytest.approx(-46.85 + 175.72 * (t_word << 2) / 65536)
    assert r.t_c == pytest.approx(24.7, abs=0.1)
    assert r.rh_pct == pytest.approx(-6 + 125 * (rh_word << 4) / 65536)
    assert r.rh_pct == pytest.approx(55.6, abs=0.1)


def test_absent_probe_0x4e20_gives_no_external_sensor():
    fake = FakeTemper(0x1A86, 0xE025, "TEMPerX_V3.3", words_reply(2200, 5000, NO_SENSOR, NO_SENSOR))
    sensors = discover("/nonexistent", TemperBackend([fake]))
    assert [s.sensor_id for s in sensors] == ["usb-1-1.2"]


def test_internal_0x4e20_is_a_bad_reading():
    fake = gold()
    sensor = one_sensor(fake)
    fake.reply = words_reply(NO_SENSOR)
    with pytest.raises(BadReading) as info:
        sensor.read()
    assert info.value.reason == "no_probe"


def test_unplug_mid_read():
    fake = gold()
    sensor = one_sensor(fake)
    fake.unplug_after_reports = fake.reports_sent  # next report never comes
    with pytest.raises(SensorUnavailable) as info:
        sensor.read()
    assert info.value.reason == "unplugged"
    with pytest.raises(SensorUnavailable):
        sensor.read()
    sensor.close()  # must not raise on a vanished device
    assert discover("/nonexistent", TemperBackend([fake])) == []


def test_unplug_between_firmware_reports():
    # 16-byte firmware name: the unit vanishes after its first 8-byte report.
    fake = FakeTemper(0x413D, 0x2107, "TEMPerGold_V3.1 ", words_reply(2000), unplug_after_reports=1)
    backend = TemperBackend([fake])
    device = TemperDevice(find_devices(backend)[0])
    with pytest.raises(SensorUnavailable) as info:
        device.open()
    assert info.value.reason == "unplugged"
    assert discover("/nonexistent", backend) == []


def test_garbage_firmware_bytes_are_not_taken_for_a_name():
    fake = FakeTemper(0x413D, 0x2107, b"\xff\xfe\x80\x01TEMP", words_reply(2000))
    device = TemperDevice(find_devices(TemperBackend([fake]))[0])
    with pytest.raises(BadReading) as info:
        device.open()
    assert info.value.reason == "garbage"


def test_unknown_firmware_is_not_guessed():
    fake = FakeTemper(0x413D, 0x2107, "TEMPerNEW_V9.9", words_reply(2000))
    device = TemperDevice(find_devices(TemperBackend([fake]))[0])
    with pytest.raises(BadReading) as info:
        device.open()
    assert info.value.reason == "firmware" and "TEMPerNEW" in str(info.value)


@pytest.mark.parametrize("reply,reason", [
    (b"\x80\x80\x7f", "garbage"),                      # short report
    (words_reply(0x7FFF), "range"),                    # 327.67 °C
    (words_reply(-5000), "range"),                     # -50.00 °C: below any part's range
])
def test_garbage_data_reply(reply, reason):
    fake = gold()
    sensor = one_sensor(fake)
    fake.reply = reply
    with pytest.raises(BadReading) as info:
        sensor.read()
    assert info.value.reason == reason


def test_no_reply_is_unavailable_not_a_hang():
    fake = gold()
    sensor = one_sensor(fake)
    fake.reply = b""  # firmware stops answering
    with pytest.raises(SensorUnavailable) as info:
        sensor.read()
    assert info.value.reason == "io"


def test_several_units_at_once_and_other_devices_ignored():
    a = gold(ports=(1, 1), address=7)
    b = FakeTemper(0x1A86, 0xE025, "TEMPerHUM_V3.9", words_reply(1999, 6543), ports=(1, 3), address=8)
    backend = TemperBackend([b, a])
    assert len(find_devices(backend)) == 2  # the keyboard on the bus is not a TEMPer
    sensors = discover("/nonexistent", backend)
    assert [s.sensor_id for s in sensors] == ["usb-1-1.1", "usb-1-1.3"]
    assert sensors[1].read().rh_pct == pytest.approx(65.43)


def test_usb_and_sysfs_discovered_together(tmp_path):
    dev = tmp_path / "sys/bus/w1/devices/28-0316a2794aff"
    dev.mkdir(parents=True)
    (dev / "w1_slave").write_text("72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n")
    sensors = discover(tmp_path, TemperBackend([gold()]))
    assert [s.kind for s in sensors] == ["w1", "usb"]
    assert [round(s.read().t_c, 3) for s in sensors] == [23.125, 23.45]
