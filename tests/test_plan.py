"""The plan pipeline end to end: outputs, their schemas and validity, reproducibility, bad output paths."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest

from mobility_plan import ValidationError
from mobility_plan.cli import main
from mobility_plan.plan import run_plan

SITE_COLUMNS = {"id", "kind", "status", "year_opened", "dispensers", "capacity", "demand_served", "lon", "lat"}


def _check_outputs(out, *, regions_expected=None):
    for name in ("sites.geojson", "coverage.geojson", "regions.geojson", "flows.geojson", "summary.json",
                 "report.md", "map.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    sites = gpd.read_file(out / "sites.geojson")
    assert sites.crs.to_epsg() == 4326 and SITE_COLUMNS <= set(sites.columns)
    assert set(sites["status"]) <= {"existing", "new"}
    assert sites.geometry.x.between(124, 132).all() and sites.geometry.y.between(33, 39).all()
    regions = gpd.read_file(out / "regions.geojson")
    assert regions.geometry.is_valid.all() and not regions.geometry.is_empty.any()
    if regions_expected:
        assert regions.groupby("year").size().eq(regions_expected).all()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert {"scenario", "national_fleet_vehicles", "targets", "regional_need_by_year", "layers"} <= set(summary)
    assert (out / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![map](map.png)" in (out / "report.md").read_text(encoding="utf-8")
    return sites, regions, summary


def test_backcast_end_to_end_and_reproducible(tmp_path):
    first = run_plan("korea_2022_backcast", tmp_path / "a", progress=False)
    sites, regions, summary = _check_outputs(first.directory, regions_expected=17)
    assert regions["vehicles"].sum() == 430_000
    assert summary["regional_need_by_year"]["2022"]["existing"] == 191_514
    assert summary["actual_fleet_vehicles"]["2022"] == 389_855
    second = run_plan("korea_2022_backcast", tmp_path / "b", progress=False)
    for name in first.files:
        assert (first.directory / name).read_bytes() == (second.directory / name).read_bytes(), name


def test_city_scenario_end_to_end(tmp_path):
    result = run_plan("seoul_central_ev", tmp_path / "seoul", progress=False)
    sites, regions, summary = _check_outputs(result.directory)
    fast = sites[sites["layer"] == "seoul_fast"]
    assert (fast["status"] == "existing").sum() > 0 and (fast["status"] == "new").sum() == 30
    assert (fast["dispensers"] >= 1).all()
    assert set(fast.loc[fast["status"] == "new", "year_opened"]) == {2026, 2028, 2030}
    coverage = gpd.read_file(result.directory / "coverage.geojson")
    assert len(coverage) == len(fast) and coverage.geometry.is_valid.all()
    assert set(coverage.geom_type) <= {"Polygon", "MultiPolygon"}
    assert regions["code"].str.startswith("11").all()
    layer = summary["layers"]["seoul_fast"]
    assert layer["status"] == "optimal" and list(layer["sites_by_year"]) == ["2026", "2028", "2030"]


def test_output_folder_rules(tmp_path, capsys):
    out = tmp_path / "kept"
    out.mkdir()
    (out / "note.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ValidationError, match="not empty; pass --overwrite"):
        run_plan("korea_2022_backcast", out, progress=False)
    assert (out / "note.txt").read_text(encoding="utf-8") == "mine"
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(ValidationError, match="is a file"):
        run_plan("korea_2022_backcast", blocker, progress=False)
    with pytest.raises(ValidationError, match="cannot write"):
        run_plan("korea_2022_backcast", "/proc/mobility_plan_out/x", progress=False)
    assert main(["plan", "no_such_scenario", "--out", str(tmp_path / "o")]) == 2
    assert "shipped" in capsys.readouterr().err


def test_national_scenario_end_to_end(tmp_path):
    result = run_plan("korea_2030", tmp_path / "korea", progress=False, time_limit_s=30)
    sites, regions, summary = _check_outputs(result.directory, regions_expected=17)
    assert regions[regions["year"] == 2030]["vehicles"].sum() == 850_000
    h2 = sites[sites["layer"] == "expressway_h2"]
    assert (h2["status"] == "new").sum() == 30 and (h2["status"] == "existing").sum() > 20
    flows = gpd.read_file(result.directory / "flows.geojson")
    assert len(flows) == 47_912 and set(flows.geom_type) == {"LineString"}
    shares = summary["layers"]["expressway_h2"]["flow_refuelled_pct_by_year"]
    assert list(shares.values()) == sorted(shares.values())
    assert summary["layers"]["regional_h2"]["existing_total"] == 204


def test_region_without_road_access_is_named(tmp_path):
    import tomllib

    from mobility_plan.scenario import SCENARIO_DIR, scenario_from_dict

    content = tomllib.loads((SCENARIO_DIR / "seoul_central_ev.toml").read_text(encoding="utf-8"))
    content["layer"][0]["region"] = "39"  # Jeju: the central Seoul network does not reach it
    scenario = scenario_from_dict(content, source="jeju.toml")
    with pytest.raises(ValidationError, match="no road access"):
        run_plan(scenario, tmp_path / "jeju", progress=False)
    assert not (tmp_path / "jeju").exists()
    content["layer"][0]["region"] = "99"
    with pytest.raises(ValidationError, match="matches no census area"):
        run_plan(scenario_from_dict(content, source="x.toml"), tmp_path / "x", progress=False)


@pytest.mark.slow
def test_backcast_report_shows_the_backtests_and_a_plan_the_fleet_band(tmp_path, shared_data):
    outputs = run_plan("korea_2022_backcast", tmp_path / "backcast", progress=False)
    summary = json.loads((outputs.directory / "summary.json").read_text(encoding="utf-8"))
    rows = summary["validation"]
    assert {row["area"] for row in rows} == {"fleet", "allocation", "need"}
    assert all(row["measure"].startswith("EV ") for row in rows if row["area"] == "fleet")
    report = (outputs.directory / "report.md").read_text(encoding="utf-8")
    assert "## Validation" in report and "carry 2022-11 shares forward" in report
    # a forward plan carries the ensemble band of its projected years, and no backtests
    from mobility_plan.plan import _fleet_band

    band = _fleet_band("ev", (2024, 2026, 2030))
    assert set(band) == {"2026", "2030"}
    assert all(b["low"] <= b["central"] <= b["high"] for b in band.values())
