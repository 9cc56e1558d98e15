"""Scenario files: the shipped ones validate; bad ones fail before any work with every problem named."""

from __future__ import annotations

import tomllib

import pytest

from mobility_plan import ValidationError
from mobility_plan.scenario import SCENARIO_DIR, load_scenario, scenario_from_dict, shipped_scenarios


def _korea_2030() -> dict:
    return tomllib.loads((SCENARIO_DIR / "korea_2030.toml").read_text(encoding="utf-8"))


def test_shipped_scenarios_validate():
    names = {path.stem: load_scenario(path) for path in shipped_scenarios()}
    assert set(names) == {"korea_2030", "seoul_central_ev", "korea_2022_backcast"}
    korea = names["korea_2030"]
    assert korea.fleet.vehicle == "fcev" and korea.fleet.target_vehicles == 850_000 and korea.years[-1] == 2030
    frlm = next(layer for layer in korea.layers if layer.model == "frlm")
    assert frlm.range_km == 600.0 and dict(frlm.budgets_by_year) == {2026: 10, 2028: 10, 2030: 10}
    assert names["korea_2022_backcast"].mode == "backcast"
    assert names["seoul_central_ev"].demand.energy_kwh_per_km == pytest.approx(0.20)


def _problems(content: dict) -> str:
    with pytest.raises(ValidationError) as info:
        scenario_from_dict(content, source="test.toml")
    return str(info.value)


def test_typo_key_gets_a_suggestion():
    content = _korea_2030()
    content["layer"][0]["rang_km"] = content["layer"][0].pop("range_km")
    message = _problems(content)
    assert "unknown key 'rang_km'" in message and "did you mean 'range_km'" in message


def test_wrong_unit_is_named():
    content = _korea_2030()
    content["layer"][0]["range_m"] = 600_000
    del content["layer"][0]["range_km"]
    message = _problems(content)
    assert "'range_m' has the wrong unit" in message and "'range_km'" in message


def test_values_out_of_range_and_all_problems_at_once():
    content = _korea_2030()
    content["fleet"]["target_vehicles"] = 1000           # below today's 45,000 FCEVs
    content["layer"][2]["budgets_by_year"] = {"2026": 0, "2028": 0, "2030": 0}
    content["demand"]["station_utilisation"] = 1.5
    content["scenario"]["years"] = [2026, 2028, 2030]
    message = _problems(content)
    assert "below today's stock" in message
    assert "opens no site at all" in message
    assert "station_utilisation" in message
    assert "3 problem(s)" in message


def test_past_years_need_backcast_mode():
    content = _korea_2030()
    content["scenario"]["years"] = [2022, 2030]
    assert "set mode = \"backcast\"" in _problems(content)


def test_bad_files(tmp_path):
    with pytest.raises(ValidationError, match="does not exist; shipped scenarios"):
        load_scenario(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[scenario\nname = 1", encoding="utf-8")
    with pytest.raises(ValidationError, match="not valid TOML"):
        load_scenario(broken)
    latin = tmp_path / "latin.toml"
    latin.write_bytes("[scenario]\nname = \"서울\"\n".encode("cp949"))
    with pytest.raises(ValidationError, match="not UTF-8"):
        load_scenario(latin)
