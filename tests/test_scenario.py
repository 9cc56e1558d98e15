"""Scenario files: the shipped ones validate; bad ones fail before any work with every problem named."""

from __future__ import annotations

import os
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


@pytest.mark.parametrize("where, key, value, needle", [
    (("layer", 0), "lock_existing", "no", "'lock_existing' must be true or false (a TOML boolean, without quotes), "
                                          "got the string 'no'"),
    (("layer", 0), "range_km", float("nan"), "'range_km' must be a finite number, got nan"),
    (("layer", 0), "time_limit_s", float("inf"), "'time_limit_s' must be a finite number, got inf"),
    (("layer", 2), "radius_s", float("-inf"), "'radius_s' must be a finite number"),
    (("fleet",), "target_vehicles", float("nan"), "'target_vehicles' must be a finite number"),
    (("fleet",), "prior_share", float("nan"), "'prior_share' must be a finite number"),
    (("demand",), "station_utilisation", float("nan"), "'station_utilisation' must be a finite number"),
    (("layer", 0), "region", 11, "'region' must be a region code as a string, e.g. region = \"11\" (Seoul), got the "
                                 "integer 11"),
    (("layer", 0), "region", "Seoul", "is not a KOSTAT region code"),
    (("fleet",), "target_year", 2030.0, "'target_year' must be a whole year such as 2030, got 2030.0"),
    (("fleet",), "target_year", True, "'target_year' must be a whole year"),
    (("fleet",), "target_vehicles", 3e7, "above the 26,298,000 vehicles of all kinds registered in Korea"),
    (("fleet",), "vehicle", 1, "'vehicle' must be a string"),
    (("scenario",), "years", [2026, True], "'years' must be a non-empty list of whole years"),
    (("scenario",), "years", [2026, 2028, 20300], "20300 is outside the years mobility_plan handles"),
    (("scenario",), "description", 5, "'description' must be a string"),
])
def test_wrong_types_are_named_with_key_file_and_expected_type(where, key, value, needle):
    content = _korea_2030()
    table = content[where[0]] if len(where) == 1 else content[where[0]][where[1]]
    table[key] = value
    message = _problems(content)
    assert needle in message and "test.toml" in message


@pytest.mark.parametrize("name", ["../../x", "a/b", "a\\b", "..", ".hidden", "a..b", "", "x" * 65, 7, "name with space"])
def test_scenario_name_must_be_a_plain_identifier(name):
    content = _korea_2030()
    content["scenario"]["name"] = name
    assert "[scenario]: 'name'" in _problems(content)


def test_layer_name_and_table_shapes_are_checked():
    content = _korea_2030()
    content["layer"][0]["name"] = "../up"
    content["fleet"] = "fcev"
    content["layer"].append(3)
    message = _problems(content)
    assert "'name' '../up' is not a plain name" in message
    assert "[fleet] must be a table, got the string 'fcev'" in message
    assert "[[layer]] 4 must be a table, got the integer 3" in message


def test_counts_by_year_out_of_range_is_named():
    content = _korea_2030()
    content["layer"][0]["budgets_by_year"] = {"2026": 10, "3030": 1}
    assert "3030 is outside the years mobility_plan handles" in _problems(content)


def test_folder_or_fifo_in_place_of_a_scenario_file(tmp_path):
    folder = tmp_path / "scenario.toml"
    folder.mkdir()
    with pytest.raises(ValidationError, match="is a folder, not a file"):
        load_scenario(folder)
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    with pytest.raises(ValidationError, match=r"named pipe \(FIFO\)"):
        load_scenario(fifo)


def test_a_scenario_uses_each_years_charger_ratios_unless_it_sets_them():
    # the plan's need for a year matches the app's (DemandParameters of that year) when the scenario leaves
    # the ratios alone; a ratio the scenario sets holds for every year
    from mobility_plan.demand import DemandParameters
    from mobility_plan.scenario import load_scenario, scenario_from_dict

    ev = load_scenario(SCENARIO_DIR / "seoul_central_ev.toml")
    assert "fast_chargers_per_ev" not in ev.demand_overrides
    for year in (2022, 2026, 2030):
        assert ev.demand_in(year) == DemandParameters.defaults("ev", year=year)
    assert ev.demand_in(2022).fast_chargers_per_ev > ev.demand_in(2030).fast_chargers_per_ev
    content = tomllib.loads((SCENARIO_DIR / "seoul_central_ev.toml").read_text(encoding="utf-8"))
    content.setdefault("demand", {})["fast_chargers_per_ev"] = 0.05
    fixed = scenario_from_dict(content)
    assert fixed.demand_overrides == ("fast_chargers_per_ev",)
    assert fixed.demand_in(2022).fast_chargers_per_ev == fixed.demand_in(2030).fast_chargers_per_ev == 0.05
    assert (fixed.demand_in(2022).public_slow_chargers_per_ev_without_home
            == DemandParameters.defaults("ev", year=2022).public_slow_chargers_per_ev_without_home)
