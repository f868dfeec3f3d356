"""The station's /metrics as Prometheus reads it: promtool's lint on a running agent with every subsystem."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess

import pytest
from prometheus_client.parser import text_string_to_metric_families

from firmware_agent.agent import Agent
from firmware_agent.config import load_config
from firmware_agent.metrics import counter, exposition, gauge, station_families
from firmware_agent.subsystem import Subsystem
from firmware_agent.wiring import optional_sources

PROMTOOL = shutil.which("promtool")


def _config(tmp_path):
    return load_config(None, {
        "agent": {"state_dir": str(tmp_path / "state"), "device_id": "h49-test-0007", "min_free_mb": 10},
        "scanner": {"device": "test:1", "test_picture": "Grid", "poll_ms": 50, "width_mm": 60.0, "height_mm": 80.0,
                    "profiles": {"default": {"resolution": 200, "mode": "gray"}}},
        "web": {"port": 0},
        "records": {"enabled": True},
        # an endpoint nobody answers: the uploader and its families are there, offline
        "sync": {"endpoint": "http://127.0.0.1:9/", "backoff_min_s": 60.0},
    })


def _scrape(tmp_path) -> tuple[str, str]:
    async def main():
        cfg = _config(tmp_path)
        agent = Agent(cfg)
        agent.sources.extend(optional_sources(cfg, agent))
        await agent.start()
        try:
            import aiohttp

            async with aiohttp.ClientSession() as http:
                async with http.get(agent.address.rstrip("/") + "/metrics") as r:
                    assert r.status == 200
                    return r.headers["Content-Type"], await r.text()
        finally:
            await agent.stop()
    return asyncio.run(main())


@pytest.fixture(scope="module")
def scraped(tmp_path_factory):
    return _scrape(tmp_path_factory.mktemp("metrics"))


@pytest.mark.skipif(PROMTOOL is None, reason="promtool (Debian package prometheus) is installed by `make test`")
def test_promtool_finds_no_problem_in_the_station_metrics(scraped):
    _ctype, text = scraped
    done = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "" and done.stderr.strip() == "", done.stdout + done.stderr


def test_content_type_build_info_and_every_subsystem(scraped):
    ctype, text = scraped
    assert ctype.startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    (info,) = families["sohoa_build_info"].samples
    assert info.labels["device_id"] == "h49-test-0007" and info.labels["version"] and info.value == 1
    # every family says what it is and what it means
    assert re.findall(r"^# TYPE (\S+)", text, re.M) == re.findall(r"^# HELP (\S+)", text, re.M)
    for prefix in ("sohoa_pages", "sohoa_disk_free_bytes", "sohoa_climate_", "sohoa_records_", "sohoa_sync_"):
        assert any(name.startswith(prefix) for name in families), prefix
    # counters are counters, and no gauge shares a counter's name
    for name in ("sohoa_sync_acknowledged", "sohoa_sync_failures", "sohoa_records_ocr_pages",
                 "sohoa_task_restarts"):
        assert families[name].type == "counter", name
    gauges = {n for n, f in families.items() if f.type == "gauge"}
    assert not gauges & {n for n, f in families.items() if f.type == "counter"}
    assert not {g for g in gauges if g.endswith("_total")}
    assert families["sohoa_sync_online"].samples[0].value == 0  # nobody answers on port 9


def test_a_failing_subsystem_is_a_sample_not_a_blank_scrape():
    class Broken(Subsystem):
        name = "broken"

        def metrics(self):
            raise OSError("database gone")

    class Fine(Subsystem):
        name = "fine"

        def metrics(self):
            return [counter("sohoa_fine_events", "Events.", 3)]

    body = exposition(station_families("dev-1", lambda: [gauge("sohoa_uptime_seconds", "Up.", 5)],
                                       [Broken(), Fine()])).decode()
    assert 'sohoa_source_error{source="broken"} 1.0' in body
    assert "sohoa_fine_events_total 3.0" in body and "sohoa_uptime_seconds 5.0" in body


def test_a_counter_cannot_be_named_with_its_suffix():
    with pytest.raises(ValueError):
        counter("sohoa_x_total", "X.", 1)
