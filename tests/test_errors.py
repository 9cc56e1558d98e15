"""Honest results and clear errors: solver status, strict JSON, coverage over cut-off demand, the plan cache,
graph coordinate checks and the command line's last-resort error handling."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from mobility_plan import NetworkError, ValidationError, network
from mobility_plan.cli import main
from mobility_plan.export import dumps_strict
from mobility_plan.siting import MCLP, PMedian, SitingResult
from mobility_plan.siting._solver import highs_solver

TINY_SCENARIO = """
[scenario]
name = "tiny"
description = "one year, sido level, regional need only"
years = [2025]
level = "sido"
mode = "plan"

[fleet]
vehicle = "ev"
target_vehicles = 1130000
target_year = 2025

[[layer]]
name = "need"
kind = "ev_fast"
model = "need"
candidates = "regions"
demand = "region_need"
"""


def _strict_loads(text: str):
    def refuse(name):
        raise AssertionError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


# --------------------------------------------------------------------------- solver status honesty


@pytest.mark.parametrize("gap", [float("inf"), float("nan")])
def test_a_result_is_never_optimal_with_an_unknown_gap(gap):
    result = SitingResult(model="mclp", sites=(1,), assignment={}, objective=3.0, best_bound=float("nan"), gap=gap,
                          status="optimal", seconds=0.1)
    assert result.status != "optimal" and not result.is_optimal
    summary = result.to_dict()
    assert summary["gap"] is None and summary["best_bound"] is None and summary["gap_note"]
    _strict_loads(dumps_strict(summary))


def test_a_proven_zero_objective_has_a_zero_gap_not_an_infinite_one():
    # no demand weight at all: the optimum 0 is proven, HiGHS reports its relative gap as inf
    model = MCLP.from_cost_matrix(np.ones((4, 3)), np.zeros(4), radius=2.0, p=1)
    result = model.solve()
    assert result.status == "optimal" and result.gap == 0.0


def test_highs_lp_without_optimum_has_no_fake_bound():
    from mobility_plan.siting._solver import ProblemBuilder

    builder = ProblemBuilder()
    x = builder.variables("x", 1, cost=1.0, lower=0.0, upper=1.0)
    builder.rows(np.zeros(1), np.array([x.start]), 1.0, lower=2.0, upper=np.inf, count=1)  # x >= 2: infeasible
    outcome = highs_solver(builder.build())
    assert outcome.status == "infeasible" and outcome.x is None and not np.isfinite(outcome.gap)


@pytest.mark.slow
@pytest.mark.parametrize("model_name", ["mclp", "pmedian"])
def test_time_limits_are_honoured_within_a_few_seconds(model_name):
    rng = np.random.default_rng(7)
    points = rng.uniform(0, 10_000, size=(600, 2))
    sites = points[rng.choice(len(points), 200, replace=False)]
    cost = np.hypot(*(points[:, None, :] - sites[None, :, :]).transpose(2, 0, 1))
    weights = rng.integers(1, 100, len(points)).astype(float)
    if model_name == "mclp":
        model = MCLP.from_cost_matrix(cost, weights, radius=700.0, p=25)
    else:
        model = PMedian.from_cost_matrix(cost, weights, p=25)
    start = time.perf_counter()
    result = model.solve(time_limit_s=1.0)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0 + 5.0, f"{model_name} took {elapsed:.1f} s under a 1 s limit"
    if result.status == "optimal":
        assert np.isfinite(result.gap)


# --------------------------------------------------------------------------- strict JSON


def test_cli_json_is_strict(tmp_path, capsys, shared_data):
    costs = tmp_path / "c.npz"
    np.savez(costs, cost=np.array([[1.0, np.inf], [np.inf, 2.0], [5.0, 1.0]]), weights=np.array([1.0, 2.0, 3.0]))
    assert main(["solve", "--model", "mclp", "--costs", str(costs), "--p", "1", "--radius", "1.5", "--json"]) == 0
    solved = _strict_loads(capsys.readouterr().out)
    assert solved["status"] == "optimal" and solved["gap"] is not None and "gap_note" in solved
    assert main(["network", "info", str(shared_data / "expressway_2011"), "--json"]) == 0
    _strict_loads(capsys.readouterr().out)


def test_dumps_strict_turns_non_numbers_into_null():
    text = dumps_strict({"a": float("inf"), "b": [np.float64("nan"), 1], "c": {"d": np.int64(3)}})
    assert _strict_loads(text) == {"a": None, "b": [None, 1], "c": {"d": 3}}


# --------------------------------------------------------------------------- coverage over disconnected networks


@pytest.fixture(scope="module")
def cut_network(central_graph):
    """The shipped central Seoul graph with every road crossing lon 126.975 removed: two halves."""
    G = central_graph.copy()
    cut = 126.975
    G.remove_edges_from([(u, v, k) for u, v, k in G.edges(keys=True)
                         if (G.nodes[u]["x"] < cut) != (G.nodes[v]["x"] < cut)])
    return G


@pytest.mark.slow
def test_coverage_is_measured_over_all_demand(cut_network, monkeypatch):
    import mobility_plan.city as city_module

    part = network.largest_component(cut_network)
    monkeypatch.setattr(city_module, "_city_graphs", lambda key: (cut_network, part))
    city = city_module.city_instance("osm_seoul_central", "11", lock_existing=False, n_candidates=60)
    assert len(city.unreached_codes) > 0 and city.unreached_weights.sum() > 0
    assert city.total_weight == pytest.approx(city.weights.sum() + city.unreached_weights.sum())
    from mobility_plan.explore import solve_city

    layout = solve_city(city, model="mclp", new_sites=60, radius_s=10_000.0, keep_existing=False)
    reached_share = city.weights.sum() / city.total_weight
    # every reached area is covered at this radius; the cut-off ones never are
    assert layout.kpis["coverage_pct"] == pytest.approx(100 * reached_share, abs=0.01)
    assert layout.kpis["coverage_pct"] < 99
    assert layout.kpis["unreachable_areas"] == len(city.unreached_codes)
    assert layout.kpis["unreachable_pct"] == pytest.approx(100 - layout.kpis["coverage_pct"], abs=0.01)


def test_unreachable_demand_summary_names_where_and_why():
    from mobility_plan.plan import _unreachable_demand, describe_unreachable

    matrix = np.array([[1.0, 2.0], [np.inf, np.inf], [3.0, np.inf]])
    found = _unreachable_demand(matrix, np.array([1.0, 2.0, 3.0]), ["a", "b", "c"], ["x"], np.array([4.0]),
                                no_road_reason="cut off")
    assert found["count"] == 2 and found["weight"] == 6.0 and found["share_pct"] == 60.0
    assert found["where"] == ["x", "b"] and "cut off" in found["reason"] and "no road path" in found["reason"]
    line = describe_unreachable(found, "EVs")
    assert "60.00 %" in line and "x, b" in line
    assert describe_unreachable({"count": 0}) is None


# --------------------------------------------------------------------------- plan cache


def _data_copy(tmp_path: Path, shared_data: Path, real_file: str) -> Path:
    """A data directory of links to the shared files, with ``real_file`` a real copy that may be touched."""
    import shutil

    root = tmp_path / "data"
    for source in shared_data.rglob("*"):
        target = root / source.relative_to(shared_data)
        if source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif str(source.relative_to(shared_data)) == real_file:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(source)
    return root


def test_cache_key_follows_scenario_data_and_code(tmp_path, shared_data, monkeypatch):
    from mobility_plan import plan

    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY_SCENARIO, encoding="utf-8")
    first = plan.plan_cache_key(scenario)
    assert plan.plan_cache_key(scenario) == first
    root = _data_copy(tmp_path, shared_data, "stations/rest_areas_20210809.csv")
    monkeypatch.setenv("MOBILITY_PLAN_DATA_DIR", str(root))
    moved = plan.plan_cache_key(scenario)
    assert moved != first  # another data directory, another key
    copy = root / "stations" / "rest_areas_20210809.csv"
    stat = copy.stat()
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert plan.plan_cache_key(scenario) != moved  # a changed data file, another key
    scenario.write_text(TINY_SCENARIO.replace("1130000", "1130001"), encoding="utf-8")
    assert plan.plan_cache_key(scenario) not in (first, moved)
    scenario.write_text(TINY_SCENARIO, encoding="utf-8")
    before = plan.plan_cache_key(scenario)
    monkeypatch.setattr(plan, "_code_fingerprint", lambda: "other code")
    assert plan.plan_cache_key(scenario) != before  # other code, another key


@pytest.mark.slow
def test_a_corrupt_cache_entry_is_recomputed_not_raised(tmp_path):
    from mobility_plan import plan

    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY_SCENARIO, encoding="utf-8")
    out = tmp_path / "cache" / "plans" / f"tiny-{plan.plan_cache_key(scenario)}"
    out.mkdir(parents=True)
    for name in plan._FILES:
        (out / name).write_bytes(b"\x00garbage")  # a torn or corrupt entry: every file there, none readable
    result = plan.cached_plan(scenario, root=tmp_path / "cache")
    assert result.seconds > 0 and result.summary["scenario"] == "tiny"
    _strict_loads((out / "summary.json").read_text(encoding="utf-8"))
    again = plan.cached_plan(scenario, root=tmp_path / "cache")
    assert again.seconds == 0.0 and again.summary == result.summary
    # an unreadable entry holding a file the tool did not write is moved aside, never deleted
    (out / "summary.json").write_bytes(b"torn")
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.warns(UserWarning, match="did not write"):
        third = plan.cached_plan(scenario, root=tmp_path / "cache")
    assert third.seconds > 0
    kept = list(out.parent.glob(f".{out.name}.kept-*"))
    assert len(kept) == 1 and (kept[0] / "notes.txt").read_text(encoding="utf-8") == "mine"


# --------------------------------------------------------------------------- graphs and command line


def _tiny_graph(crs: str, xy: list[tuple[float, float]]) -> nx.MultiDiGraph:
    G = nx.MultiDiGraph(crs=crs)
    for i, (x, y) in enumerate(xy):
        G.add_node(i, x=x, y=y)
    G.add_edge(0, 1, length=100.0)
    G.add_edge(1, 0, length=100.0)
    return G


def test_swapped_or_metric_coordinates_are_refused():
    with pytest.raises(NetworkError, match="swapped"):
        network.check_node_coordinates(_tiny_graph("EPSG:4326", [(37.5, 127.0), (37.51, 127.01)]))
    with pytest.raises(NetworkError, match="metres"):
        network.check_node_coordinates(_tiny_graph("EPSG:4326", [(955_000.0, 1_950_000.0), (955_100.0, 1_950_000.0)]))
    network.check_node_coordinates(_tiny_graph("EPSG:5179", [(955_000.0, 1_950_000.0), (955_100.0, 1_950_000.0)]))
    network.check_node_coordinates(_tiny_graph("EPSG:4326", [(127.0, 37.5), (127.01, 37.51)]))
    with pytest.raises(NetworkError, match="NaN"):
        network.check_node_coordinates(_tiny_graph("EPSG:4326", [(127.0, float("nan")), (127.01, 37.51)]))


def test_unexpected_errors_print_one_line_and_debug_shows_the_traceback(tmp_path, capsys, monkeypatch):
    import mobility_plan.cli as cli

    def broken(args):
        raise KeyError("boom")

    parser = cli.build_parser
    monkeypatch.setattr(cli, "build_parser", lambda: _with_handler(parser(), broken))
    assert cli.main(["summary"]) == 2
    err = capsys.readouterr().err
    assert "internal error: KeyError" in err and "--debug" in err and "Traceback" not in err
    assert err.count("\n") == 1
    assert cli.main(["--debug", "summary"]) == 2
    assert "Traceback" in capsys.readouterr().err
    assert cli.main(["summary", "--debug"]) == 2
    assert "Traceback" in capsys.readouterr().err


def _with_handler(parser, handler):
    for action in parser._subparsers._group_actions:
        action.choices["summary"].set_defaults(handler=handler)
    return parser


def test_os_errors_name_the_path_and_the_fix(tmp_path, capsys, shared_data):
    points = tmp_path / "p.csv"
    points.write_text("node\n1\n2\n", encoding="utf-8")
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    code = main(["costs", str(shared_data / "expressway_2011"), "--origins", str(points), "--destinations",
                 str(points), "--out", str(blocker / "sub" / "o.npz")])
    err = capsys.readouterr().err
    assert code == 2 and str(blocker) in err and "Traceback" not in err
    assert "not a folder" in err or "path" in err


def test_bad_numbers_are_refused_by_the_parser(capsys):
    for argv in (["solve", "--model", "pmedian", "--p", "0"], ["solve", "--model", "mclp", "--radius", "nan"],
                 ["fleet", "--vehicle", "ev", "--year", "2030", "--top", "0"],
                 ["solve", "--model", "pmedian", "--time-limit", "-3"]):
        with pytest.raises(SystemExit) as stop:
            main(argv)
        assert stop.value.code == 2
        err = capsys.readouterr().err
        assert "must be" in err and "Traceback" not in err
    with pytest.raises(ValidationError):
        network.require_input_file(Path("/"), what="--costs")


@pytest.mark.parametrize("model_name", ["pmedian", "pcenter"])
def test_no_infinite_optimum_when_p_sites_cannot_serve_cut_off_demand(model_name):
    from mobility_plan import InfeasibleError
    from mobility_plan.siting import PCenter

    cost = np.array([[0.0, np.inf], [np.inf, 0.0]])  # two parts of a network cut off from each other
    build = PMedian.from_cost_matrix if model_name == "pmedian" else PCenter.from_cost_matrix
    with pytest.raises(InfeasibleError, match="cut off"):
        build(cost, p=1).solve()
    solved = build(cost, p=2).solve()
    assert solved.objective == 0.0 and solved.status == "optimal"
