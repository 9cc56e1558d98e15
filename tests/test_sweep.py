"""Scenario sweeps: grid expansion and validation, and real runs on a Dask LocalCluster of 2 worker processes."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest

from mobility_plan import ValidationError
from mobility_plan.cli import main
from mobility_plan.sweep import load_sweep, run_sweep, sweep_from_dict

BACKCAST_GRID = {
    "sweep": {"name": "t", "base": "korea_2022_backcast"},
    "grid": {"fleet.target_vehicles": [430000, 300000, -1]},
}


@pytest.fixture(scope="module")
def cluster():
    """A real Dask LocalCluster with 2 worker processes, shared by the tests of this module."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as local:
        yield local


def test_grid_expands_to_every_combination_with_unique_ids():
    sweep = load_sweep("h2_range_stations")
    assert len(sweep.runs) == 16
    assert len({run.run_id for run in sweep.runs}) == 16
    ranges = {run.content["layer"][0]["range_km"] for run in sweep.runs}
    assert ranges == {300.0, 400.0, 500.0, 600.0}
    assert all([t["name"] for t in run.content["layer"]] == ["expressway_h2"] for run in sweep.runs)
    # the base content is copied, not shared between runs
    assert sweep.runs[0].content["layer"][0] is not sweep.runs[1].content["layer"][0]


@pytest.mark.parametrize("content, message", [
    ({"sweep": {"base": "korea_2030"}, "grid": {}}, "[grid] is missing or empty"),
    ({"sweep": {"base": "korea_2030", "workers": 3}, "grid": {"fleet.target_vehicles": [1]}}, "unknown key 'workers'"),
    ({"sweep": {"base": "korea_2030"}, "grid": {"layer.nope.range_km": [300.0]}}, "has no layer 'nope'"),
    ({"sweep": {"base": "korea_2030"}, "grid": {"range_km": [300.0]}}, "use 'scenario.<key>'"),
    ({"sweep": {"base": "no_such_scenario"}, "grid": {"fleet.target_vehicles": [1]}}, "no scenario file"),
    ({"sweep": {}, "grid": {"fleet.target_vehicles": [1]}}, "missing 'base'"),
    ({"sweep": {"base": "korea_2030"}, "grid": {"fleet.target_vehicles": 5}}, "non-empty list"),
    ({"sweep": {"base": "korea_2030", "layers": ["x"]}, "grid": {"fleet.target_vehicles": [1]}}, "not in the base"),
])
def test_bad_sweeps_are_named_before_any_work(content, message):
    with pytest.raises(ValidationError, match=message.replace("[", r"\[").replace("'", "'")):
        sweep_from_dict(content)


def test_local_cluster_runs_gather_table_and_geojson_and_report_failures(tmp_path, cluster):
    sweep = sweep_from_dict(BACKCAST_GRID)
    seen = []
    result = run_sweep(sweep, tmp_path / "out", scheduler=cluster.scheduler_address, progress=False,
                       on_result=seen.append)
    table = result.table.set_index("fleet.target_vehicles")
    assert len(seen) == 3 and list(result.table["run_id"]) == sorted(r.run_id for r in sweep.runs)
    # the invalid run failed with the scenario rule in its error; the others went on
    assert table.loc[-1, "status"] == "failed" and "target_vehicles" in table.loc[-1, "error"]
    assert (table.loc[[430000, 300000], "status"] == "ok").all()
    assert table.loc[430000, "fleet_vehicles_final"] == 430000
    assert table.loc[300000, "need_final"] < table.loc[430000, "need_final"]
    out = tmp_path / "out"
    assert set(json.loads((out / "sweep.json").read_text(encoding="utf-8"))) == {"sweep", "description", "base",
                                                                                  "grid", "runs"}
    ok_ids = result.table.loc[result.table["status"] == "ok", "run_id"]
    for run_id in ok_ids:
        regions = gpd.read_file(out / "runs" / run_id / "regions.geojson")
        assert len(regions) == 17 and regions.crs.to_epsg() == 4326
    assert not (out / "runs" / table.loc[-1, "run_id"]).exists()
    # the distributed results equal a serial run in this process
    serial = run_sweep(sweep, None, workers=0, progress=False).table
    assert serial.drop(columns="seconds").equals(result.table.drop(columns="seconds"))


def test_default_local_cluster_and_cli(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text('[sweep]\nname = "cli"\nbase = "korea_2030"\nlayers = ["expressway_h2"]\ntime_limit_s = 10\n'
                    '[grid]\n"scenario.years" = [[2030]]\n"layer.expressway_h2.budgets_by_year" = [{2030 = 2}]\n'
                    '"layer.expressway_h2.range_km" = [300.0, 600.0]\n', encoding="utf-8")
    code = main(["sweep", str(path), "--out", str(tmp_path / "out"), "--workers", "2", "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "2 of 2 runs ok" in printed and "flow_refuelled_pct_by_year.2030" in printed
    flows = gpd.read_file(tmp_path / "out" / "runs" / load_sweep(path).runs[1].run_id / "flows.geojson")
    assert flows["refuelled"].any() and len(flows) > 40_000
    # an existing output folder is kept without --overwrite
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--workers", "0", "--quiet"]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_unreachable_scheduler_is_a_clear_error(tmp_path):
    sweep = sweep_from_dict(BACKCAST_GRID)
    with pytest.raises(ValidationError, match="cannot reach the Dask scheduler"):
        run_sweep(sweep, None, scheduler="tcp://127.0.0.1:1", progress=False, connect_timeout_s=3)
