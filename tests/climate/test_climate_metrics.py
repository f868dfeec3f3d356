"""Metrics against DOMAIN §4's known values and published EMC / dew-point tables."""

from __future__ import annotations

import json
import math

import pytest

from firmware_agent.cli import main
from firmware_agent.climate import metrics as m


def test_preservation_index_known_values():
    assert m.preservation_index(20, 50) == pytest.approx(44.6, abs=0.05)
    assert m.preservation_index(25, 60) == pytest.approx(18.7, abs=0.05)
    # Cooler and drier lasts longer, both ways.
    assert m.preservation_index(15, 50) > m.preservation_index(20, 50) > m.preservation_index(20, 60)


def test_twpi_is_harmonic_not_arithmetic():
    samples = [(12 * 3600, 20, 50), (12 * 3600, 30, 80)]
    assert m.time_weighted_pi(samples) == pytest.approx(11.1, abs=0.05)
    arithmetic = (m.preservation_index(20, 50) + m.preservation_index(30, 80)) / 2
    assert arithmetic == pytest.approx(25.5, abs=0.1)
    assert m.time_weighted_pi([]) is None
    assert m.time_weighted_pi([(3600, 20, 50)]) == pytest.approx(m.preservation_index(20, 50))


# USDA FPL Wood Handbook (2010), Table 4-2, row 70 °F (21.1 °C): EMC % at RH %.
WOOD_HANDBOOK_70F = {10: 2.5, 20: 4.5, 30: 6.2, 40: 7.7, 50: 9.2, 60: 11.0, 70: 13.1, 80: 16.0, 90: 20.5}


@pytest.mark.parametrize("rh,emc", sorted(WOOD_HANDBOOK_70F.items()))
def test_emc_against_wood_handbook(rh, emc):
    assert m.equilibrium_moisture_content((70 - 32) / 1.8, rh) == pytest.approx(emc, abs=0.1)


# Dew points from standard psychrometric tables (°C).
@pytest.mark.parametrize("t,rh,td", [(20, 50, 9.3), (25, 60, 16.7), (30, 80, 26.2), (10, 90, 8.4), (0, 50, -9.2),
                                     (35, 40, 19.4)])
def test_dew_point_against_tables(t, rh, td):
    assert m.dew_point(t, rh) == pytest.approx(td, abs=0.15)
    assert m.dew_point(t, 100) == pytest.approx(t, abs=1e-9)


def test_mold_isopleth_and_germination():
    assert m.mold_rh_critical(20) == pytest.approx(74.4)
    assert m.mold_risk_per_day(20, 74) == 0.0            # below the lowest isopleth
    assert m.mold_risk_per_day(20, 50) == 0.0
    assert m.mold_risk_per_day(45, 99) == 0.0            # outside 0.1-40 °C
    assert m.days_to_germination(20, 90) == pytest.approx(
        7 * math.exp(-0.68 * math.log(20) - 13.9 * math.log(90) + 66.02))
    # Wetter and warmer germinates sooner.
    assert m.mold_risk_per_day(20, 90) > m.mold_risk_per_day(20, 80) > 0
    assert m.mold_risk_per_day(30, 90) > m.mold_risk_per_day(20, 90)
    # A month at 20 °C / 90 % (about 29 days to germinate) crosses 1.
    month = [(86400, 20, 90)] * 30
    assert m.cumulative_mold_risk(month) > 1.0 > m.cumulative_mold_risk(month[:20])


@pytest.mark.parametrize("fn,cases", [
    (m.rate_pi, [(75, "good"), (74.9, "ok"), (45, "ok"), (44.9, "risk")]),
    (m.rate_emc_mechanical, [(4.9, "risk"), (5, "ok"), (12.5, "ok"), (12.6, "risk")]),
    (m.rate_emc_corrosion, [(6.9, "good"), (7, "ok"), (10.4, "ok"), (10.5, "risk")]),
    (m.rate_mold, [(0.0, "good"), (1e-6, "risk")]),
])
def test_ipi_rating_boundaries(fn, cases):
    for value, rating in cases:
        assert fn(value) == rating, value


def test_cli_metrics_prints_one_json_object(capsys):
    assert main(["climate", "metrics", "--temp", "25", "--rh", "60"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    data = json.loads(out[0])
    assert data["pi_years"] == pytest.approx(18.7, abs=0.05)
    assert data["dew_point_c"] == pytest.approx(16.7, abs=0.1)
    assert data["emc_pct"] == pytest.approx(m.equilibrium_moisture_content(25, 60), abs=0.01)
    assert data["mold_risk_per_day"] == 0.0
    assert data["ratings"] == {"natural_aging": "risk", "mechanical_damage": "ok", "metal_corrosion": "risk",
                               "mold": "good"}
    assert main(["climate", "metrics", "--temp", "20", "--rh", "140"]) == 2
