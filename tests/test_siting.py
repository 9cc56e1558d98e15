"""Siting models against brute force, hand-solvable instances and PySAL spopt."""

from __future__ import annotations

import itertools
import json
import random

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from mobility_plan import InfeasibleError, ValidationError, costs, network
from mobility_plan.cli import main
from mobility_plan.siting import FRLM, LSCP, MCLP, PCenter, PMedian, highs_solver, shortest_paths


def _brute(cost, weights, p, score):
    best = None
    for combo in itertools.combinations(range(cost.shape[1]), p):
        value = score(cost[:, list(combo)], weights)
        if best is None or value < best[0]:
            best = (value, combo)
    return best


@pytest.fixture(scope="module")
def small_instances():
    rng = np.random.default_rng(7)
    out = []
    for _ in range(4):
        cost = rng.integers(1, 60, size=(14, 8)).astype(float)
        cost[rng.random(cost.shape) < 0.1] = np.inf
        cost[np.arange(14), rng.integers(0, 8, 14)] = rng.integers(1, 60, 14)  # every row reaches a site
        out.append((cost, rng.integers(1, 10, 14).astype(float)))
    return out


def test_pmedian_matches_brute_force(small_instances):
    for cost, weights in small_instances:
        for p in (2, 3):
            expected, _ = _brute(cost, weights, p, lambda c, w: float(w @ c.min(axis=1)))
            result = PMedian.from_cost_matrix(cost, weights, p=p).solve()
            assert result.status == "optimal"
            assert result.objective == pytest.approx(expected)
            assert result.best_bound <= result.objective + 1e-6
            assert len(result.sites) == p
            heuristic = PMedian.from_cost_matrix(cost, weights, p=p).solve_heuristic()
            assert heuristic.objective >= expected - 1e-9 and heuristic.best_bound <= expected + 1e-6
            assert heuristic.gap == pytest.approx((heuristic.objective - heuristic.best_bound) / heuristic.objective,
                                                  abs=1e-9)


def test_pmedian_milp_path_is_exact(small_instances):
    """Force the radius-formulation MILP (existing sites skip the Lagrangian shortcut)."""
    cost, weights = small_instances[0]
    best = None
    for combo in itertools.combinations(range(1, 8), 2):
        value = weights @ cost[:, [0, *combo]].min(axis=1)
        best = value if best is None else min(best, value)
    result = PMedian.from_cost_matrix(cost, weights, p=3, existing=[0]).solve()
    assert result.details["proof"] == "milp" and result.status == "optimal"
    assert 0 in result.sites and result.objective == pytest.approx(best)


def test_pcenter_matches_brute_force_and_its_own_sites(small_instances):
    for cost, weights in small_instances:
        for p in (1, 2, 3):
            expected, _ = _brute(cost, weights, p, lambda c, w: float(c.min(axis=1).max()))
            result = PCenter.from_cost_matrix(cost, p=p).solve()
            assert result.status == "optimal" and result.objective == pytest.approx(expected)
            columns = list(result.sites)
            assert cost[:, columns].min(axis=1).max() == pytest.approx(result.objective)  # matches its sites


def test_mclp_and_lscp_match_brute_force(small_instances):
    for cost, weights in small_instances:
        radius = 20.0
        covered = cost <= radius
        best_cover = max(weights[covered[:, list(c)].any(axis=1)].sum()
                         for c in itertools.combinations(range(cost.shape[1]), 3))
        result = MCLP.from_cost_matrix(cost, weights, radius=radius, p=3).solve()
        assert result.objective == pytest.approx(best_cover) and result.status == "optimal"
        radius = 45.0
        if covered.any(axis=1).all() or (cost <= radius).any(axis=1).all():
            fewest = next(k for k in range(1, 9) for c in itertools.combinations(range(8), k)
                          if (cost[:, list(c)] <= radius).any(axis=1).all())
            assert LSCP.from_cost_matrix(cost, radius=radius).solve().objective == fewest


def test_hand_solvable_instance():
    # three towns on a line at 0, 10, 20 km; sites at the towns
    cost = np.abs(np.subtract.outer([0.0, 10.0, 20.0], [0.0, 10.0, 20.0]))
    median = PMedian.from_cost_matrix(cost, [1, 1, 1], p=1, demand_ids=["a", "b", "c"],
                                      site_ids=["A", "B", "C"]).solve()
    assert median.sites == ("B",) and median.objective == 20.0
    assert dict(median.assignment) == {"a": "B", "b": "B", "c": "B"}
    assert PCenter.from_cost_matrix(cost, p=1).solve().objective == 10.0
    assert LSCP.from_cost_matrix(cost, radius=10).solve().objective == 1
    assert LSCP.from_cost_matrix(cost, radius=9).solve().objective == 3
    mclp = MCLP.from_cost_matrix(cost, [5, 1, 1], radius=0, p=1).solve()
    assert mclp.sites == (0,) and mclp.objective == 5


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: PMedian.from_cost_matrix(np.ones((3, 2)), [1, 1], p=1), ValidationError, "one value per demand"),
        (lambda: PMedian.from_cost_matrix(np.ones((3, 2)), p=3), ValidationError, "exceeds the 2 candidate"),
        (lambda: PMedian.from_cost_matrix(np.full((2, 2), np.nan), p=1), ValidationError, "NaN"),
        (lambda: PMedian.from_cost_matrix(-np.ones((2, 2)), p=1), ValidationError, "negative"),
        (lambda: PMedian.from_cost_matrix(np.ones(4), p=1), ValidationError, "2-D"),
        (lambda: PMedian.from_cost_matrix([[np.inf, np.inf], [1, 2]], p=1, demand_ids=["far", "near"]),
         InfeasibleError, "far"),
        (lambda: LSCP.from_cost_matrix([[1, 50], [60, 70]], radius=10, demand_ids=["x", "lonely"]),
         InfeasibleError, r"lonely"),
        (lambda: MCLP.from_cost_matrix(np.ones((2, 2)), radius=-1, p=1), ValidationError, "radius"),
        (lambda: MCLP.from_cost_matrix(np.ones((2, 2)), radius=1, p=0), ValidationError, "p must be"),
    ],
)
def test_bad_inputs(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_solver_is_injected_and_time_limit_reported():
    calls = []

    def recording_solver(problem, **limits):
        calls.append(limits)
        return highs_solver(problem, **limits)

    rng = np.random.default_rng(3)
    cost = rng.random((60, 25)) * 100
    result = MCLP.from_cost_matrix(cost, radius=20, p=4).solve(solver=recording_solver, time_limit_s=5, mip_gap=0.01)
    assert calls == [{"time_limit_s": 5, "mip_gap": 0.01}]
    assert result.status in {"optimal", "time_limit"}
    assert result.best_bound >= result.objective - 1e-6
    with pytest.raises(ValidationError, match="time_limit_s"):
        MCLP.from_cost_matrix(cost, radius=20, p=4).solve(time_limit_s=-1)


def test_results_are_immutable():
    result = PMedian.from_cost_matrix(np.eye(3) + 1, p=1).solve()
    with pytest.raises(Exception):
        result.objective = 0  # type: ignore[misc]
    with pytest.raises(TypeError):
        result.assignment[0] = 5  # type: ignore[index]


# --------------------------------------------------------------------------- spopt


@pytest.fixture(scope="module")
def seoul_instance(central_graph):
    G = network.largest_component(central_graph)
    rng = random.Random(11)
    nodes = sorted(G.nodes)
    demand, sites = rng.sample(nodes, 90), rng.sample(nodes, 30)
    cost = costs.cost_matrix(G, demand, sites)
    weights = np.array([rng.randint(1, 50) for _ in demand], dtype=float)
    return cost, weights


def test_objectives_match_spopt(seoul_instance):
    import pulp
    import spopt.locate as locate
    cost, weights = seoul_instance
    solver = pulp.PULP_CBC_CMD(msg=False)
    ours = PMedian.from_cost_matrix(cost, weights, p=5).solve()
    theirs = locate.PMedian.from_cost_matrix(cost, weights, p_facilities=5).solve(solver)
    assert ours.objective == pytest.approx(pulp.value(theirs.problem.objective), rel=1e-7)
    radius = float(np.quantile(cost, 0.1))
    ours = MCLP.from_cost_matrix(cost, weights, radius=radius, p=4).solve()
    theirs = locate.MCLP.from_cost_matrix(cost, weights, service_radius=radius, p_facilities=4).solve(solver)
    assert ours.objective == pytest.approx(pulp.value(theirs.problem.objective), rel=1e-7)
    radius = float(np.quantile(cost.min(axis=1), 1.0)) * 1.5
    ours = LSCP.from_cost_matrix(cost, radius=radius).solve()
    theirs = locate.LSCP.from_cost_matrix(cost, service_radius=radius).solve(solver)
    assert ours.objective == pytest.approx(pulp.value(theirs.problem.objective))


def test_from_geodataframe_uses_network_costs(central_graph):
    import geopandas as gpd
    from shapely.geometry import Point

    G = network.largest_component(central_graph)
    nodes = sorted(G.nodes)[:40]
    points = gpd.GeoDataFrame({"households": np.arange(1, 41)},
                              geometry=[Point(G.nodes[n]["x"], G.nodes[n]["y"]) for n in nodes], crs="EPSG:4326")
    sites = points.iloc[::4].copy()
    model = PMedian.from_geodataframe(G, points, sites, p=3, weight_column="households")
    expected = costs.cost_matrix(G, nodes, nodes[::4])
    assert np.allclose(model.cost, expected)
    result = model.solve()
    assert set(result.sites) <= set(sites.index)


# --------------------------------------------------------------------------- FRLM


def _line_graph(lengths_km):
    G = nx.MultiDiGraph(crs="EPSG:4326")
    for i in range(len(lengths_km) + 1):
        G.add_node(i, x=127.0 + i * 0.01, y=37.0)
    for i, km in enumerate(lengths_km):
        G.add_edge(i, i + 1, length=km * 1000)
        G.add_edge(i + 1, i, length=km * 1000)
    return G


def _simulate_round_trip(path_nodes, path_km, stations, range_km):
    """Independent check: drive O -> D -> O refuelling at stations; repeatable if it ends with >= its start fuel."""
    legs = np.diff(path_km)
    trip_nodes = list(path_nodes) + list(path_nodes[-2::-1])
    trip_legs = list(legs) + list(legs[::-1])
    fuel = range_km if trip_nodes[0] in stations else range_km / 2
    start_fuel = fuel
    for node, leg in zip(trip_nodes[:-1], trip_legs):
        if node in stations:
            fuel = range_km
        fuel -= leg
        if fuel < -1e-9:
            return False
    if trip_nodes[-1] in stations:
        fuel = range_km
    return fuel >= start_fuel - 1e-9 and any(n in stations for n in path_nodes)


def _random_network(seed):
    rng = np.random.default_rng(seed)
    G = nx.MultiDiGraph(crs="EPSG:4326")
    n = 9
    for i in range(n):
        G.add_node(i, x=127 + rng.random(), y=37 + rng.random())
    tree = [(i, int(rng.integers(0, i))) for i in range(1, n)]
    extra = [(int(a), int(b)) for a, b in rng.integers(0, n, size=(4, 2)) if a != b]
    for u, v in tree + extra:
        km = float(rng.integers(20, 90))
        G.add_edge(u, v, length=km * 1000)
        G.add_edge(v, u, length=km * 1000)
    pairs = [(o, d) for o in range(n) for d in range(o + 1, n)]
    od = pd.DataFrame({"origin": [o for o, _ in pairs], "destination": [d for _, d in pairs],
                       "flow": rng.integers(1, 100, len(pairs)).astype(float)})
    return G, od


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("range_km", [120.0, 200.0])
def test_frlm_matches_brute_force(seed, range_km):
    G, od = _random_network(seed)
    paths = shortest_paths(G, od)
    for p in (1, 2, 3):
        best = 0.0
        for combo in itertools.combinations(range(len(paths.nodes)), p):
            stations = {paths.nodes[k] for k in combo}
            value = sum(f for path, km, f in zip(paths.paths, paths.positions_km, paths.flows)
                        if _simulate_round_trip([paths.nodes[k] for k in path], km, stations, range_km))
            best = max(best, value)
        model = FRLM.from_paths(paths, range_km=range_km, p=p)
        exact = model.solve()
        assert exact.status == "optimal"
        assert exact.objective == pytest.approx(best), (seed, range_km, p)
        greedy = model.solve_greedy()
        assert greedy.objective <= best + 1e-9 and greedy.best_bound >= best - 1e-6


@pytest.mark.parametrize("seed", [0, 1])
def test_frlm_bounds_stay_valid_with_flows_over_many_orders_of_magnitude(seed):
    # tiny flows next to huge ones: HiGHS treats costs below its tolerances as zero, so the
    # exact solve leaves the smallest flows out itself and adds them to every bound
    G, od = _random_network(seed)
    rng = np.random.default_rng(seed)
    od["flow"] = 10.0 ** rng.uniform(0, 7, len(od))
    paths = shortest_paths(G, od)
    for p in (2, 3):
        best = 0.0
        for combo in itertools.combinations(range(len(paths.nodes)), p):
            stations = {paths.nodes[k] for k in combo}
            value = sum(f for path, km, f in zip(paths.paths, paths.positions_km, paths.flows)
                        if _simulate_round_trip([paths.nodes[k] for k in path], km, stations, 120.0))
            best = max(best, value)
        model = FRLM.from_paths(paths, range_km=120.0, p=p)
        exact = model.solve(mip_gap=1e-3)
        assert exact.details["left_out_flow"] > 0  # some flows were left out of the models
        assert exact.details["left_out_flow"] <= 0.2 * 1e-3 * exact.details["heuristic_objective"] + 1e-9
        assert exact.best_bound >= best * (1 - 1e-9), (seed, p)
        assert exact.details["cut_bound"] >= best * (1 - 1e-9), (seed, p)
        assert exact.objective >= best * (1 - 1e-3) and exact.gap <= 1e-3


def _reference_sets(path, km, range_km):
    """Station sets straight from the definition: per arc of the round trip ending beyond
    half a tank, the nodes at places in [end - range, start of the arc]; minimal ones only."""
    nodes = list(path) + list(path[-2::-1])
    places = list(km) + [2 * km[-1] - x for x in km[-2::-1]]
    windows = []
    for i in range(len(nodes) - 1):
        if places[i + 1] > range_km / 2 + 1e-9:
            window = frozenset(n for n, x in zip(nodes[:i + 1], places[:i + 1]) if x >= places[i + 1] - range_km - 1e-9)
            if not window:
                return None
            windows.append(window)
    if not windows:
        return {frozenset(path)}
    return {w for w in windows if not any(v < w for v in windows)}


@pytest.mark.parametrize("seed", [0, 3, 5])
def test_refuelling_sets_match_their_definition(seed):
    from dataclasses import replace

    from mobility_plan.siting.frlm import refuelling_sets

    G, od = _random_network(seed)
    paths = shortest_paths(G, od)
    # and a path through a node twice (not a shortest path, but a valid FlowPaths entry)
    paths = replace(paths, paths=paths.paths + (np.array([0, 1, 0, 2]),),
                    positions_km=paths.positions_km + (np.array([0.0, 30.0, 60.0, 100.0]),),
                    flows=np.append(paths.flows, 1.0), origins=np.append(paths.origins, paths.nodes[0]),
                    destinations=np.append(paths.destinations, paths.nodes[2]))
    for range_km in (40.0, 70.0, 120.0, 200.0, 400.0):
        sets, impossible = refuelling_sets(paths, range_km)
        for q, (path, km) in enumerate(zip(paths.paths, paths.positions_km)):
            expected = _reference_sets(path.tolist(), km.tolist(), range_km)
            assert impossible[q] == (expected is None), (range_km, q)
            if expected is not None:
                assert set(sets[q]) == expected and len(sets[q]) == len(expected), (range_km, q)


def test_odd_cycle_cut_on_a_triangle_of_sets():
    # three sets pairwise sharing a node, half a station on each node: the LP hits all
    # three sets with 1.5 stations, any integer choice hits at most 1 + (stations) of them
    from scipy.sparse import csr_matrix

    from mobility_plan.siting.frlm import _odd_cycle_cuts

    sets = csr_matrix(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [1, 0, 1, 1]], dtype=float))
    cuts = _odd_cycle_cuts(sets, np.array([0.5, 0.5, 0.5, 0.0]), np.ones(3))
    assert len(cuts) == 1
    family, nodes, coefficients, rhs = cuts[0]
    assert family.tolist() == [0, 1, 2] and nodes.tolist() == [0, 1, 2, 3]
    assert coefficients.tolist() == [1.0, 1.0, 1.0, 1.0] and rhs == 1
    # an integer point hitting every set is not cut off: stations at 0 and 1 hit all three
    x, w = np.array([1.0, 1.0, 0.0, 0.0]), np.ones(3)
    assert w[family].sum() - coefficients @ x[nodes] <= rhs


@pytest.mark.parametrize("seed", range(6))
def test_odd_cycle_cuts_never_cut_off_an_integer_solution(seed):
    from scipy.sparse import csr_matrix

    from mobility_plan.siting.frlm import _odd_cycle_cuts

    rng = np.random.default_rng(seed)
    n_nodes, n_sets = 8, 14
    dense = np.zeros((n_sets, n_nodes))
    for k in range(n_sets):
        dense[k, rng.choice(n_nodes, size=int(rng.integers(2, 4)), replace=False)] = 1
    sets = csr_matrix(dense)
    found = 0
    for _ in range(40):
        x = rng.choice([0.0, 0.5, 0.5, 0.5, 1.0], n_nodes)
        w = np.minimum(1.0, dense @ x)  # what the LP would set
        cuts = _odd_cycle_cuts(sets, x, w)
        found += len(cuts)
        for family, nodes, coefficients, rhs in cuts:
            assert w[family].sum() - coefficients @ x[nodes] > rhs  # violated by the LP point
            for bits in itertools.product([0.0, 1.0], repeat=n_nodes):
                xi = np.array(bits)
                wi = np.minimum(1.0, dense @ xi)  # every integer solution's best w
                assert wi[family].sum() - coefficients @ xi[nodes] <= rhs + 1e-9
    assert found > 0


@pytest.mark.parametrize("seed", [2, 3])  # 3: the LP needs odd-cycle cuts
def test_frlm_station_bounds_hold_for_every_solution(seed):
    # the bounds with each station forced open / closed (used to fix stations before the
    # MILP) must hold for the best solution under that choice, found by brute force
    G, od = _random_network(seed)
    paths = shortest_paths(G, od)
    model = FRLM.from_paths(paths, range_km=120.0, p=3)
    costs, rows = model._costs(0.0), []
    outcome = model._lp([3], [1.0], None, costs, rows, cuts=True, tolerance=0.0)
    n = len(paths.nodes)
    best_open, best_closed = np.zeros(n), np.zeros(n)
    for combo in itertools.combinations(range(n), 3):
        stations = np.zeros(n, bool)
        stations[list(combo)] = True
        value = float(paths.flows[model.refuelled(stations)].sum())
        best_open[stations] = np.maximum(best_open[stations], value)
        best_closed[~stations] = np.maximum(best_closed[~stations], value)
    assert np.all(outcome.flip_bound[1][0] >= best_open * (1 - 1e-9))
    assert np.all(outcome.flip_bound[0][0] >= best_closed * (1 - 1e-9))
    assert outcome.bound >= best_open.max() * (1 - 1e-9)
    assert np.any(outcome.flip_bound[1][0] < outcome.bound - 1e-6)  # informative, not all equal
    # the MILP with the cuts and the stations fixed against a weak incumbent still finds the optimum
    start = model.greedy()
    value = float(paths.flows[model.refuelled(start)].sum())
    closed, opened = model._fixings(outcome, value)
    assert closed.sum() + opened.sum() > 0
    x, found, bound, status, _ = model._milp([3], [1.0], value, outcome.bound, None, 0.0, costs, start_rows=rows,
                                             start_plan=start[None, :], cuts=outcome.cuts, fixed=(closed, opened))
    assert status == "optimal" and found == pytest.approx(best_open.max())
    assert bound >= best_open.max() * (1 - 1e-9)


@pytest.mark.parametrize("seed", [0, 2, 4])
def test_frlm_branch_and_bound_alone_proves_the_optimum(seed):
    # with no incumbent to prune against, the branch and bound after the cut rounds must
    # end at integral stations whose best value is the brute-force optimum
    G, od = _random_network(seed)
    paths = shortest_paths(G, od)
    n = len(paths.nodes)
    branched = 0
    for p in (3, 4):
        model = FRLM.from_paths(paths, range_km=120.0, p=p)
        best = max(float(paths.flows[model.refuelled(np.isin(np.arange(n), combo))].sum())
                   for combo in itertools.combinations(range(n), p))
        latest: dict = {}
        outcome = model._lp([p], [1.0], None, model._costs(0.0), [], cuts=True, tolerance=0.0, incumbent=[0.0],
                            latest=latest)
        assert latest["rounds"] >= outcome.cut_rounds + min(outcome.nodes, 1)  # node LPs go to the heuristics
        assert outcome.bound == pytest.approx(best), (seed, p)
        branched += outcome.nodes
    assert branched > 0


def test_frlm_semantics_on_a_line():
    # 0 -100- 1 -100- 2, range 200 km: the trip 0 -> 2 -> 0 (400 km) needs a station at 1
    # (half tank 100 km reaches 1; full tank 200 km reaches 2 and back to 1)
    G = _line_graph([100, 100])
    od = pd.DataFrame({"origin": [0], "destination": [2], "flow": [10.0]})
    model = FRLM.from_network(G, od, range_km=200, p=1)
    assert model.solve().sites == (1,)
    assert model.solve().objective == 10.0
    # a station at 0 alone fails: full at 0, empty at 2, and 2 -> 1 needs 100 km more
    assert FRLM.from_network(G, od, range_km=200, p=1).solve().details["refuelled_pairs"] == 1
    assert FRLM.from_network(G, od, range_km=200, p=1, candidates=[0]).solve().objective == 0.0
    # stations at both ends work: full at 0, empty on arrival at 2, full again for the way back
    assert FRLM.from_network(G, od, range_km=200, p=2, candidates=[0, 2]).solve().objective == 10.0
    # with 150 km: half a tank (75 km) cannot reach node 1, so stations are needed at 0, 1 and 2
    assert FRLM.from_network(G, od, range_km=150, p=2).solve().objective == 0.0
    three = FRLM.from_network(G, od, range_km=150, p=3).solve()
    assert three.sites == (0, 1, 2) and three.objective == 10.0


def test_frlm_reports_unrefuellable_pairs():
    G = _line_graph([50, 300, 50])
    od = pd.DataFrame({"origin": [0, 0], "destination": [1, 3], "flow": [5.0, 7.0]})
    result = FRLM.from_network(G, od, range_km=200, p=1).solve()
    assert result.details["unrefuellable_pairs"] == [(0, 3)]
    assert result.objective == 5.0 and result.details["unrefuellable_flow"] == 7.0


def test_frlm_existing_stations_are_kept(expressway_graph):
    od = network.load_expressway_od(combine_directions=True).rename(columns={"vehicles": "flow"})
    od = od.nlargest(400, "flow")
    model = FRLM.from_network(expressway_graph, od, range_km=300, p=4, existing=[1, 2])
    result = model.solve()
    assert {1, 2} <= set(result.sites) and len(result.sites) == 4
    assert result.status == "optimal"


def test_frlm_bad_inputs(expressway_graph):
    od = pd.DataFrame({"origin": [1], "destination": [999], "flow": [1.0]})
    with pytest.raises(ValidationError, match="not in the graph"):
        FRLM.from_network(expressway_graph, od, range_km=100, p=1)
    od = pd.DataFrame({"origin": [1], "destination": [2], "flow": [1.0]})
    with pytest.raises(ValidationError, match="range_km must be > 0"):
        FRLM.from_network(expressway_graph, od, range_km=0, p=1)


def test_solve_cli(tmp_path, capsys):
    rng = np.random.default_rng(5)
    cost = rng.random((40, 12)) * 100
    np.savez(tmp_path / "c.npz", cost=cost, weights=rng.integers(1, 9, 40).astype(float))
    for args in (["--model", "pmedian", "--p", "3"], ["--model", "pcenter", "--p", "3"],
                 ["--model", "mclp", "--p", "3", "--radius", "15"], ["--model", "lscp", "--radius", "40"]):
        assert main(["solve", "--costs", str(tmp_path / "c.npz"), "--json", *args]) == 0
        out = json.loads(capsys.readouterr().out)
        assert set(out) == {"model", "objective", "sites", "seconds", "status", "gap", "gap_note", "best_bound",
                            "unreachable_demand"}
        assert out["status"] == "optimal" and out["gap_note"] is None and out["unreachable_demand"]["count"] == 0
    assert main(["solve", "--model", "pmedian", "--costs", str(tmp_path / "c.npz")]) == 2
    assert "--p N" in capsys.readouterr().err
    assert main(["solve", "--model", "lscp", "--radius", "0.001", "--costs", str(tmp_path / "c.npz")]) == 2
    assert "infeasible" in capsys.readouterr().err


def test_solve_cli_frlm(shared_data, capsys):
    assert main(["solve", "--model", "frlm", "--expressway", str(shared_data / "expressway_2011"),
                 "--range-km", "300", "--p", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"] == "frlm" and len(out["sites"]) == 3 and out["status"] == "optimal"
    assert 0 < out["objective"] < 961_107_328


# --------------------------------------------------------------------------- capacitated and multi-period


def test_capacitated_respects_capacity_and_matches_brute_force():
    from mobility_plan.demand import queue_capacity
    from mobility_plan.siting import CapacitatedSiting

    # capacity levels: vehicles/hour that 1, 2 or 3 fast chargers serve within the waiting limits
    levels = [queue_capacity(c, 40.0, max_wait_probability=0.3, max_mean_wait_min=10.0) for c in (1, 2, 3)]
    assert levels[0] < levels[1] < levels[2]
    rng = np.random.default_rng(2)
    cost = rng.integers(1, 30, size=(8, 4)).astype(float)
    demand = rng.uniform(0.2, 1.0, 8)
    model = CapacitatedSiting.from_cost_matrix(cost, demand, capacities=levels, level_costs=[10, 18, 25], alpha=1.0)
    result = model.solve()
    assert result.status == "optimal"
    loads, capacity = result.details["load"], result.details["capacity"]
    assert all(loads[s] <= capacity[s] + 1e-6 for s in result.sites)
    assert result.details["served_demand"] == pytest.approx(demand.sum())
    # brute force over the level of each site (0 = closed), assignments by a small LP each
    from scipy.optimize import linprog

    best = np.inf
    for combo in itertools.product(range(4), repeat=4):
        open_sites = [j for j in range(4) if combo[j]]
        if not open_sites:
            continue
        fixed = sum([0, 10, 18, 25][c] for c in combo)
        n, k = len(demand), len(open_sites)
        c = (demand[:, None] * cost[:, open_sites]).ravel()
        a_eq = np.kron(np.eye(n), np.ones(k))
        a_ub = np.zeros((k, n * k))
        for j in range(k):
            a_ub[j, j::k] = demand
        caps = [levels[combo[j] - 1] for j in open_sites]
        lp = linprog(c, A_ub=a_ub, b_ub=caps, A_eq=a_eq, b_eq=np.ones(n), bounds=(0, 1), method="highs")
        if lp.status == 0:
            best = min(best, fixed + lp.fun)
    assert result.objective == pytest.approx(best, rel=1e-6)
    with pytest.raises(InfeasibleError, match="exceeds the largest possible capacity"):
        CapacitatedSiting.from_cost_matrix(cost, demand * 100, capacities=levels)
    with pytest.raises(ValidationError, match="increasing"):
        CapacitatedSiting.from_cost_matrix(cost, demand, capacities=[2, 1])
    partial = CapacitatedSiting.from_cost_matrix(cost, demand * 100, capacities=levels, unmet_penalty=1e3).solve()
    assert partial.details["unmet_demand"] > 0


def test_mclp_rollout_keeps_sites_open_and_beats_nothing():
    from mobility_plan.siting import mclp_rollout

    rng = np.random.default_rng(4)
    cost = rng.random((50, 15)) * 100
    weights = rng.integers(1, 10, 50).astype(float)
    model = MCLP.from_cost_matrix(cost, weights, radius=25, p=2, existing=[3])
    result = mclp_rollout(model, [2, 4, 6], periods=[2026, 2028, 2030])
    opened = result.details["opened_by_period"]
    assert 3 not in opened[2026] and len(opened[2026]) == 1
    assert len(opened[2028]) == 2 and len(opened[2030]) == 2
    assert 3 in result.sites and len(result.sites) == 6
    shares = list(result.details["covered_share_by_period"].values())
    assert shares == sorted(shares)
    # the joint optimum is at least as good as solving each period myopically
    myopic, locked = 0.0, [3]
    for count in (2, 4, 6):
        step = MCLP.from_cost_matrix(cost, weights, radius=25, p=count, existing=locked).solve()
        myopic += step.objective
        locked = list(step.sites)
    assert result.objective >= myopic - 1e-6
    with pytest.raises(ValidationError, match="must not decrease"):
        mclp_rollout(model, [4, 2])


def test_frlm_rollout_matches_brute_force():
    G, od = _random_network(1)
    paths = shortest_paths(G, od)
    model = FRLM.from_paths(paths, range_km=150, p=1, existing=[paths.nodes[0]])
    result = model.solve_rollout([2, 3], periods=[2026, 2030])
    assert result.status == "optimal"

    def value(stations):
        return sum(f for path, km, f in zip(paths.paths, paths.positions_km, paths.flows)
                   if _simulate_round_trip([paths.nodes[k] for k in path], km, set(stations), 150))

    others = [n for n in paths.nodes if n != paths.nodes[0]]
    best = max(value({paths.nodes[0], a}) + value({paths.nodes[0], a, b})
               for a in others for b in others if a != b)
    assert result.objective == pytest.approx(best)
    assert set(result.details["opened_by_period"]) == {2026, 2030}
    assert paths.nodes[0] in result.sites
    with pytest.raises(ValidationError, match="below the 1 existing"):
        model.solve_rollout([0, 2])


def test_mclp_greedy_reports_gap_to_lp_bound():
    rng = np.random.default_rng(8)
    cost = rng.random((80, 20)) * 100
    weights = rng.integers(1, 10, 80).astype(float)
    model = MCLP.from_cost_matrix(cost, weights, radius=20, p=4)
    greedy, exact = model.solve_greedy(), model.solve()
    assert greedy.objective <= exact.objective + 1e-9 <= greedy.best_bound + 1e-6
    assert greedy.gap == pytest.approx((greedy.best_bound - greedy.objective) / greedy.best_bound)


def test_capacitated_frlm():
    G, od = _random_network(2)
    paths = shortest_paths(G, od)
    model = FRLM.from_paths(paths, range_km=200, p=3)
    free = model.solve()
    loose = model.solve_capacitated(capacity=1e9)
    assert loose.objective == pytest.approx(free.objective)
    tight = model.solve_capacitated(capacity=40.0)
    assert tight.objective <= 3 * 40.0 + 1e-6
    assert all(load <= 40.0 + 1e-6 for load in tight.details["station_load"].values())
    assert tight.objective <= free.objective + 1e-9
    with pytest.raises(ValidationError, match="capacity must be > 0"):
        model.solve_capacitated(capacity=0)


def test_rollouts_accept_budgets():
    from mobility_plan.siting import mclp_rollout

    rng = np.random.default_rng(9)
    cost = rng.random((40, 12)) * 100
    model = MCLP.from_cost_matrix(cost, radius=25, p=1, existing=[0])
    by_budget = mclp_rollout(model, budgets=[1, 2], periods=[2027, 2030])
    by_count = mclp_rollout(model, [2, 4], periods=[2027, 2030])
    assert by_budget.objective == pytest.approx(by_count.objective)
    assert [len(v) for v in by_budget.details["opened_by_period"].values()] == [1, 2]
    with pytest.raises(ValidationError, match="either counts"):
        mclp_rollout(model, [2], budgets=[1])
    with pytest.raises(ValidationError, match="no site at all"):
        mclp_rollout(model, budgets=[0, 0])
    G, od = _random_network(0)
    frlm = FRLM.from_paths(shortest_paths(G, od), range_km=150, p=1)
    assert frlm.solve_rollout(budgets=[1, 1]).details["counts"] == {0: 1, 1: 2}


def test_pmedian_rollout_matches_brute_force():
    from mobility_plan.siting import pmedian_rollout

    rng = np.random.default_rng(12)
    cost = rng.random((30, 8)) * 100
    cost[rng.random(cost.shape) < 0.2] = np.inf  # some pairs unreachable
    cost[:, 0] = rng.random(30) * 100 + 50        # the existing site reaches everyone (feasible from the start)
    weights_by_period = np.stack([rng.integers(1, 10, 30), rng.integers(1, 30, 30)]).astype(float)
    model = PMedian.from_cost_matrix(cost, weights_by_period[0], p=1, existing=[0])
    result = pmedian_rollout(model, [2, 4], periods=[2026, 2030], weights_by_period=weights_by_period)
    assert result.status == "optimal"

    def weighted(sites, w):
        return float(w @ cost[:, sorted(sites)].min(axis=1))

    best = min(weighted({0, a}, weights_by_period[0]) + weighted({0, a, b, c}, weights_by_period[1])
               for a in range(1, 8) for b, c in itertools.combinations([j for j in range(1, 8) if j != a], 2))
    assert result.objective == pytest.approx(best)
    opened = result.details["opened_by_period"]
    assert len(opened[2026]) == 1 and len(opened[2030]) == 2 and 0 in result.sites
    assert not set(opened[2026]) & set(opened[2030])
    assert result.objective <= result.details["heuristic_objective"] + 1e-9
    assert sum(result.details["weighted_cost_by_period"].values()) == pytest.approx(result.objective)
    # budgets give the same plan as the equivalent counts
    by_budget = pmedian_rollout(model, budgets=[1, 2], periods=[2026, 2030], weights_by_period=weights_by_period)
    assert by_budget.objective == pytest.approx(result.objective)
    with pytest.raises(ValidationError, match="must not decrease"):
        pmedian_rollout(model, [4, 2])
    with pytest.raises(ValidationError, match="below the 1 existing"):
        pmedian_rollout(model, [0, 2])
    with pytest.raises(ValidationError, match="no site at all"):
        pmedian_rollout(model, budgets=[0, 0])
    with pytest.raises(ValidationError, match="weights_by_period"):
        pmedian_rollout(model, [2, 3], weights_by_period=weights_by_period[:, :5])


def test_pmedian_rollout_beats_myopic_plan():
    from mobility_plan.siting import pmedian_rollout

    rng = np.random.default_rng(13)
    points = rng.random((60, 2)) * 100
    sites = rng.random((12, 2)) * 100
    cost = np.linalg.norm(points[:, None, :] - sites[None, :, :], axis=2)
    # demand shifts from the west in the first period to the east in the last
    early = np.where(points[:, 0] < 50, 10.0, 1.0)
    late = np.where(points[:, 0] < 50, 1.0, 10.0)
    model = PMedian.from_cost_matrix(cost, early, p=1)
    result = pmedian_rollout(model, [2, 3, 5], weights_by_period=[early, (early + late) / 2, late])
    myopic, locked = 0.0, []
    for count, w in zip((2, 3, 5), (early, (early + late) / 2, late)):
        step = PMedian.from_cost_matrix(cost, w, p=count, existing=locked).solve()
        myopic += step.objective
        locked = list(step.sites)
    assert result.objective <= myopic + 1e-6
    assert result.gap <= 1e-4
    assert list(np.cumsum([len(v) for v in result.details["opened_by_period"].values()])) == [2, 3, 5]
