"""Fixes for the findings of benchmarks/hostile_campaign.py: each case refused with a clear error
(or, for valid input, accepted), checked through the library or the CLI as the campaign does."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mobility_plan._errors import MobilityPlanError, ValidationError
from mobility_plan.siting import CapacitatedSiting, PMedian

from .conftest import assert_clear_error  # run_cli is a fixture of conftest.py

COST = np.array([[0, 4, 9, 7, 3], [4, 0, 5, 8, 6], [9, 5, 0, 2, 7], [7, 8, 2, 0, 5], [3, 6, 7, 5, 0],
                 [2, 9, 4, 6, 8]], dtype=float)
WEIGHTS = np.array([5, 1, 3, 2, 4, 6], dtype=float)


# --- siting: time limits, p, demand --------------------------------------------------------------

@pytest.mark.parametrize("limit", [-1, 0, math.nan, "60"])
def test_pmedian_solve_refuses_a_bad_time_limit(limit: object) -> None:
    model = PMedian.from_cost_matrix(COST, WEIGHTS, p=2)
    with pytest.raises(ValidationError, match="time_limit_s"):
        model.solve(time_limit_s=limit)


@pytest.mark.parametrize("limit", [-1, math.nan])
def test_every_model_refuses_a_bad_time_limit(limit: float) -> None:
    model = CapacitatedSiting.from_cost_matrix(COST, WEIGHTS, capacities=[20.0])
    with pytest.raises(ValidationError, match="time_limit_s"):
        model.solve(time_limit_s=limit)
    with pytest.raises(ValidationError, match="time_limit_s"):
        PMedian.from_cost_matrix(COST, WEIGHTS, p=2).solve_heuristic(time_limit_s=limit)


def test_an_infinite_time_limit_means_no_limit() -> None:
    result = PMedian.from_cost_matrix(COST, WEIGHTS, p=2).solve(time_limit_s=math.inf)
    assert result.status == "optimal"


def test_pmedian_p_nan_names_p() -> None:
    with pytest.raises(ValidationError, match=r"^p must be a whole number"):
        PMedian.from_cost_matrix(COST, WEIGHTS, p=math.nan)


def test_capacitated_nan_demand_names_demand() -> None:
    demand = WEIGHTS.copy()
    demand[0] = np.nan
    with pytest.raises(ValidationError, match=r"^demand must be finite.*rows \[0\]"):
        CapacitatedSiting.from_cost_matrix(COST, demand, capacities=[10.0])


# --- network: bounds, speeds, empty graphs ---------------------------------------------------------

def _write_graphml(path, nodes, edges) -> None:
    """A small OSMnx-style GraphML file (every attribute a string, as OSMnx writes it)."""
    import networkx as nx

    G = nx.MultiDiGraph(crs="epsg:4326", created_with="test", simplified="True")
    for n, x, y in nodes:
        G.add_node(str(n), x=str(x), y=str(y), street_count="1")
    for u, v, length in edges:
        G.add_edge(str(u), str(v), key=0, osmid=str(u * 1000 + v), length=str(length), highway="primary",
                   oneway="False", reversed="False")
    nx.write_graphml(G, path)


def test_network_info_refuses_a_graph_outside_korea(tmp_path, run_cli) -> None:
    _write_graphml(tmp_path / "tokyo.graphml", [(1, 139.69, 35.68), (2, 139.70, 35.68)], [(1, 2, 900.0)])
    result = run_cli("network", "info", str(tmp_path / "tokyo.graphml"))
    assert_clear_error(result, "tokyo.graphml", "outside Korea", "139.69", "Korean road network")


def test_network_info_refuses_swapped_x_and_y(tmp_path, run_cli) -> None:
    _write_graphml(tmp_path / "g.graphml", [(1, 37.53, 126.95), (2, 37.55, 127.00)], [(1, 2, 900.0)])
    assert_clear_error(run_cli("network", "info", str(tmp_path / "g.graphml")), "swapped", "swap the x and y")


def test_dokdo_lies_inside_korea_bounds(tmp_path) -> None:
    from mobility_plan import network
    from mobility_plan.data import KOREA_BOUNDS

    assert KOREA_BOUNDS[0] <= 131.87 <= KOREA_BOUNDS[2] and KOREA_BOUNDS[1] <= 37.24 <= KOREA_BOUNDS[3]
    assert network.KOREA_LON_DEG == (KOREA_BOUNDS[0], KOREA_BOUNDS[2])  # one home
    _write_graphml(tmp_path / "dokdo.graphml", [(1, 131.865, 37.241), (2, 131.870, 37.242)], [(1, 2, 500.0)])
    assert network.load_graph(tmp_path / "dokdo.graphml").number_of_nodes() == 2


@pytest.mark.parametrize("speed", [math.nan, math.inf, 0.0, -10.0])
def test_expressway_speed_must_be_finite_and_positive(speed: float) -> None:
    from mobility_plan import network

    with pytest.raises(ValidationError, match="speed_kph must be a finite speed > 0"):
        network.graph_from_expressway(speed_kph=speed)


def test_snap_points_on_an_empty_graph_is_a_network_error() -> None:
    import networkx as nx
    import pandas as pd

    from mobility_plan import network
    from mobility_plan._errors import NetworkError

    with pytest.raises(NetworkError, match="no nodes"):
        network.snap_points(nx.MultiDiGraph(crs="EPSG:4326"), pd.DataFrame({"lon": [127.0], "lat": [37.5]}))


# --- FRLM OD tables, fleet years and targets -------------------------------------------------------

@pytest.fixture(scope="module")
def expressway():
    from mobility_plan import network

    return network.graph_from_expressway()


@pytest.mark.parametrize("flow", [math.nan, math.inf, -5.0, "many"])
def test_frlm_refuses_a_bad_flow(expressway, flow) -> None:
    import pandas as pd

    from mobility_plan.siting import FRLM

    a, b = sorted(expressway.nodes)[:2]
    od = pd.DataFrame({"origin": [a, b], "destination": [b, a], "flow": [100.0, flow]})
    with pytest.raises(ValidationError, match=r"OD column 'flow' must hold finite numbers >= 0; rows \[1\]"):
        FRLM.from_network(expressway, od, range_km=300, p=1)


def test_frlm_refuses_an_empty_od_table(expressway) -> None:
    import pandas as pd

    from mobility_plan.siting import FRLM

    with pytest.raises(ValidationError, match="OD table is empty"):
        FRLM.from_network(expressway, pd.DataFrame({"origin": [], "destination": [], "flow": []}), range_km=300, p=1)


@pytest.mark.parametrize("year", [10000, 1900, 2030.5])
def test_project_fleet_refuses_a_year_outside_the_range(year) -> None:
    from mobility_plan import fleet

    with pytest.raises(ValidationError, match="until_year"):
        fleet.project_fleet("ev", year)


def test_fleet_cli_refuses_a_target_below_the_registered_stock(run_cli) -> None:
    from mobility_plan.fleet import actual_stock

    stock = actual_stock("fcev")
    result = run_cli("fleet", "--vehicle", "fcev", "--year", "2030", "--target", "1000")
    assert_clear_error(result, "--target 1,000", "below today's stock", f"{stock.iloc[-1]:,.0f}",
                       "cannot undo registrations")


# --- export, GeoJSON reading, TOML with a BOM ------------------------------------------------------

def _points_frame():
    import geopandas as gpd
    from shapely.geometry import Point

    return gpd.GeoDataFrame({"name": ["a"]}, geometry=[Point(127.0, 37.5)], crs="EPSG:4326")


def test_to_geojson_onto_a_folder_is_refused_and_the_folder_kept(tmp_path) -> None:
    from mobility_plan import export

    folder = tmp_path / "d.geojson"
    folder.mkdir()
    (folder / "keep.txt").write_text("keep")
    with pytest.raises(ValidationError, match="d.geojson is a folder, not a file"):
        export.to_geojson(_points_frame(), folder)
    assert (folder / "keep.txt").read_text() == "keep"


def test_to_geojson_into_a_read_only_folder_is_a_clear_error(tmp_path) -> None:
    import os
    import subprocess

    from mobility_plan import export

    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / "x.geojson").write_text("mine")
    if os.geteuid() == 0:  # root ignores permission bits: make the folder immutable instead
        if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
            pytest.skip("cannot make a read-only folder here (chattr refused)")
    else:
        folder.chmod(0o555)
    try:
        with pytest.raises(ValidationError, match=r"cannot write .*x\.geojson .*choose a folder you may write to"):
            export.to_geojson(_points_frame(), folder / "x.geojson")
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        else:
            folder.chmod(0o755)
    assert (folder / "x.geojson").read_text() == "mine"


def test_read_geojson_of_a_garbage_file_is_a_data_source_error(tmp_path) -> None:
    from mobility_plan import export
    from mobility_plan._errors import DataSourceError

    garbage = tmp_path / "g.geojson"
    garbage.write_bytes(bytes(range(256)))
    with pytest.raises(DataSourceError, match="g.geojson cannot be read as GeoJSON") as info:
        export.read_geojson(garbage)
    assert isinstance(info.value, MobilityPlanError)
    with pytest.raises(DataSourceError, match="is a folder"):
        export.read_geojson(tmp_path)


def test_a_scenario_saved_with_a_utf8_bom_loads(tmp_path) -> None:
    from mobility_plan.data import PROJECT_DATA
    from mobility_plan.scenario import load_scenario

    source = next(PROJECT_DATA.rglob("korea_2030.toml"))
    plain = load_scenario(source)
    with_bom = tmp_path / "notepad.toml"
    with_bom.write_bytes(b"\xef\xbb\xbf" + source.read_bytes())
    loaded = load_scenario(with_bom)
    assert (loaded.name, loaded.years, loaded.fleet) == (plain.name, plain.years, plain.fleet)


# --- sweep scheduler address -----------------------------------------------------------------------

@pytest.mark.parametrize("address", ["not an address", "tcp://host", "", "tcp://a b:8786"])
def test_a_malformed_scheduler_address_is_refused_before_any_run(address: str) -> None:
    from mobility_plan.sweep import check_scheduler_address

    with pytest.raises(ValidationError, match="is not a Dask scheduler address.*tcp://"):
        check_scheduler_address(address)
    assert check_scheduler_address(" tcp://127.0.0.1:8786 ") == "tcp://127.0.0.1:8786"


def test_sweep_cli_names_the_scheduler_option(tmp_path, run_cli) -> None:
    from mobility_plan.sweep import SWEEP_DIR

    sweep_file = sorted(SWEEP_DIR.glob("*.toml"))[0]
    result = run_cli("sweep", str(sweep_file), "--out", str(tmp_path / "run"), "--scheduler", "not an address")
    assert_clear_error(result, "--scheduler 'not an address'", "not a Dask scheduler address", "tcp://")
    assert not (tmp_path / "run").exists()


# --- data status --quick ---------------------------------------------------------------------------

def test_quick_status_reports_a_truncated_file(tmp_path, run_cli) -> None:
    """Quick mode skips the SHA-256 but still compares sizes with data/sources.toml."""
    import os

    from mobility_plan.data import data_dir, load_sources

    source = data_dir()
    copy = tmp_path / "data"
    for path in source.rglob("*"):  # links to the real files, one real truncated copy
        if path.is_file():
            target = copy / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(path, target)
    rest = load_sources()["rest_areas"].file
    (copy / rest).unlink()
    payload = (source / rest).read_bytes()
    (copy / rest).write_bytes(payload[: len(payload) // 2])
    result = run_cli("data", "status", "--quick", "--data-dir", str(copy))
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output
    line = next(line for line in output.splitlines() if "rest_areas_" in line)
    assert "corrupt" in line and f"{len(payload) // 2:,} bytes instead of the registered {len(payload):,}" in output
    assert "16 ok, 0 missing, 1 corrupt" in output


# --- costs and solve inputs (library root and the CLI as the campaign found them) ------------------

def test_cost_matrix_refuses_no_points(expressway) -> None:
    from mobility_plan import costs

    nodes = sorted(expressway.nodes)[:3]
    with pytest.raises(ValidationError, match="origins is empty"):
        costs.cost_matrix(expressway, [], nodes, weight="length")
    with pytest.raises(ValidationError, match="destinations is empty"):
        costs.cost_matrix(expressway, nodes, [], weight="length")


def test_costs_cli_refuses_header_only_words_and_folders(tmp_path, run_cli) -> None:
    from mobility_plan.data import data_dir

    graph = str(data_dir() / "expressway_2011")
    (tmp_path / "h.csv").write_text("node\n")
    (tmp_path / "d.csv").write_text("node\n1\n2\n3\n")
    (tmp_path / "w.csv").write_text("lon,lat\nseoul,busan\n")
    (tmp_path / "adir").mkdir()

    def costs(origins: str) -> object:
        return run_cli("costs", graph, "--origins", str(tmp_path / origins), "--destinations",
                       str(tmp_path / "d.csv"), "--out", str(tmp_path / "out" / "od.npz"))

    assert_clear_error(costs("h.csv"), "--origins", "header but no rows")
    assert_clear_error(costs("w.csv"), "--origins", "not finite numbers", "seoul")
    assert_clear_error(costs("adir"), "--origins", "is a folder")
    assert not (tmp_path / "out" / "od.npz").exists()


def test_solve_cli_refuses_string_costs_and_a_folder(tmp_path, run_cli) -> None:
    np.savez(tmp_path / "c.npz", cost=np.array([["a", "b"], ["c", "d"]]))
    (tmp_path / "d.npz").mkdir()
    for costs_path, needle in (("c.npz", "numeric matrix"), ("d.npz", "is a folder")):
        result = run_cli("solve", "--model", "pmedian", "--costs", str(tmp_path / costs_path), "--p", "1")
        assert_clear_error(result, "--costs", needle)
