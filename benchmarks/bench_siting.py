"""Benchmark of the siting engine (mobility_plan.siting) against PySAL spopt, in the same run.

Run:  .venv/bin/python benchmarks/bench_siting.py                 (everything, ~15 min)
      .venv/bin/python benchmarks/bench_siting.py --part seoul    (p-median / p-center / MCLP / LSCP)
      .venv/bin/python benchmarks/bench_siting.py --part large    (3,501 x 2,000 p-median heuristic)
      .venv/bin/python benchmarks/bench_siting.py --part frlm     (expressway FRLM grid)
      .venv/bin/python benchmarks/bench_siting.py --part rollout  (multi-period p-median and MCLP)

Seoul instance: 600 demand nodes x 150 candidate nodes drawn (seed 42) from the largest
strongly connected component of the central Seoul OSM graph, travel times in seconds,
demand weights 1-100. spopt builds its PuLP model from the same matrix and solves it with
CBC and with HiGHS; times are end to end (build + solve). Targets: p-median p=10 same
objective, >= 20x faster than spopt + CBC; p-center p=10 proven optimal in < 10 s;
MCLP and LSCP same objective and faster.

Large instance: the 3,501 ADM3 areas (2025 population as weights) x 2,000 KEPCO EV stations
(seed 42), straight-line km in EPSG:5179, p=100: greedy + Teitz-Bart within 1 % of the
Lagrangian (LP) bound in < 60 s.

Rollout: the Seoul instance over three periods (5, 10, 15 sites; weights shifting from
the first to the second half of the demand points): the joint multi-period optimum
against the myopic plan (each period solved exactly with the earlier sites locked), 60 s
limit each; the gap is the proven one (p-median: against the better of the MILP bound and
the periods solved apart).

FRLM: the 2011 expressway network, all 47,912 OD pairs with flow, range 150 and 300 km,
p = 5, 10, 15, ..., 40, 60 s time limit each incl. paths and sets: optimal or the stated gap
(target <= 0.1 %).
"""

from __future__ import annotations

import argparse
import random
import sys
import time

import numpy as np


def _seoul_instance(seed: int = 42):
    from mobility_plan import costs, network
    from mobility_plan.data import data_dir

    G = network.largest_component(network.load_graphml(data_dir() / "osm" / "seoul_central_drive.graphml"))
    rng = random.Random(seed)
    nodes = sorted(G.nodes)
    demand, sites = rng.sample(nodes, 600), rng.sample(nodes, 150)
    cost = costs.cost_matrix(G, demand, sites)
    weights = np.array([rng.randint(1, 100) for _ in demand], dtype=float)
    return cost, weights


def _timed(call):
    start = time.perf_counter()
    value = call()
    return value, time.perf_counter() - start


def bench_seoul(*, with_cbc: bool = True, spopt_pcenter_limit_s: float = 120.0) -> None:
    import pulp
    from spopt.locate import LSCP as SpLSCP
    from spopt.locate import MCLP as SpMCLP
    from spopt.locate import PCenter as SpPCenter
    from spopt.locate import PMedian as SpPMedian

    from mobility_plan.siting import LSCP, MCLP, PCenter, PMedian

    cost, weights = _seoul_instance()
    print(f"[seoul] 600 x 150 travel times (s), weights 1-100; spopt {__import__('spopt').__version__}, "
          f"PuLP {pulp.__version__}")
    solvers = {"HiGHS": lambda limit=None: pulp.HiGHS(msg=False, timeLimit=limit)}
    if with_cbc:
        solvers = {"CBC": lambda limit=None: pulp.PULP_CBC_CMD(msg=False, timeLimit=limit), **solvers}

    ours, ours_s = _timed(lambda: PMedian.from_cost_matrix(cost, weights, p=10).solve())
    print(f"  p-median p=10   ours: {ours_s:7.2f} s objective {ours.objective:,.3f} ({ours.status}, "
          f"proof {ours.details.get('proof')})")
    for name, make in solvers.items():
        model, seconds = _timed(lambda: SpPMedian.from_cost_matrix(cost, weights, p_facilities=10).solve(make()))
        theirs = pulp.value(model.problem.objective)
        print(f"                  spopt+{name:5s}: {seconds:7.2f} s objective {theirs:,.3f} -> ours {seconds / ours_s:6.1f}x "
              f"faster, same objective: {abs(theirs - ours.objective) <= 1e-6 * abs(theirs)}")

    ours, ours_s = _timed(lambda: PCenter.from_cost_matrix(cost, p=10).solve())
    own_max = float(cost[:, [int(s) for s in ours.sites]].min(axis=1).max())
    print(f"  p-center p=10   ours: {ours_s:7.2f} s objective {ours.objective:.3f} s ({ours.status}; "
          f"{ours.details['covering_problems_solved']} covering problems); max over its own sites {own_max:.3f} s")
    if spopt_pcenter_limit_s > 0:
        model, seconds = _timed(lambda: SpPCenter.from_cost_matrix(cost, p_facilities=10).solve(
            pulp.HiGHS(msg=False, timeLimit=spopt_pcenter_limit_s)))
        sites = [j for j in range(cost.shape[1]) if model.fac_vars[j].value() and model.fac_vars[j].value() > 0.5]
        their_max = float(cost[:, sites].min(axis=1).max()) if sites else float("nan")
        print(f"                  spopt+HiGHS ({spopt_pcenter_limit_s:.0f} s limit): {seconds:7.2f} s status "
              f"{pulp.LpStatus[model.problem.status]}, reported {pulp.value(model.problem.objective):.3f} s, max over "
              f"its sites {their_max:.3f} s")

    radius = 120.0
    ours, ours_s = _timed(lambda: MCLP.from_cost_matrix(cost, weights, radius=radius, p=10).solve())
    print(f"  MCLP p=10 r={radius:.0f}s ours: {ours_s:7.2f} s covered {ours.objective:,.0f} ({ours.status})")
    for name, make in solvers.items():
        model, seconds = _timed(lambda: SpMCLP.from_cost_matrix(cost, weights, service_radius=radius,
                                                               p_facilities=10).solve(make()))
        theirs = pulp.value(model.problem.objective)
        print(f"                  spopt+{name:5s}: {seconds:7.2f} s covered {theirs:,.0f} -> {seconds / ours_s:6.1f}x; "
              f"same: {abs(theirs - ours.objective) < 1e-6}")

    radius = 240.0
    ours, ours_s = _timed(lambda: LSCP.from_cost_matrix(cost, radius=radius).solve())
    print(f"  LSCP r={radius:.0f}s    ours: {ours_s:7.2f} s sites {ours.objective:.0f} ({ours.status})")
    for name, make in solvers.items():
        model, seconds = _timed(lambda: SpLSCP.from_cost_matrix(cost, service_radius=radius).solve(make()))
        theirs = pulp.value(model.problem.objective)
        print(f"                  spopt+{name:5s}: {seconds:7.2f} s sites {theirs:.0f} -> {seconds / ours_s:6.1f}x; "
              f"same: {abs(theirs - ours.objective) < 1e-6}")


def bench_large(seed: int = 42) -> None:
    from scipy.spatial.distance import cdist

    from mobility_plan import census, data
    from mobility_plan.siting import PMedian

    adm3 = census.load_census_adm3()
    points = adm3.geometry.representative_point()
    stations = data.load_kepco_ev_stations()
    stations = stations[stations["valid_location"]].to_crs(adm3.crs)
    rng = np.random.default_rng(seed)
    chosen = stations.iloc[np.sort(rng.choice(len(stations), 2000, replace=False))]
    cost = cdist(np.column_stack([points.x, points.y]), np.column_stack([chosen.geometry.x, chosen.geometry.y])) / 1000
    weights = adm3["population"].to_numpy()
    model = PMedian.from_cost_matrix(cost, weights, p=100)
    result, seconds = _timed(lambda: model.solve_heuristic(time_limit_s=55))
    print(f"[large] {cost.shape[0]:,} ADM3 x {cost.shape[1]:,} KEPCO stations, p=100, km x persons")
    print(f"  greedy + Teitz-Bart: {seconds:.1f} s, objective {result.objective:,.0f}, Lagrangian bound "
          f"{result.best_bound:,.0f}, gap {result.gap:.3%} ({result.details['swap_passes']} swap passes); "
          f"mean distance {result.details['mean_cost']:.2f} km; target < 1 % in < 60 s: "
          f"{'PASS' if result.gap < 0.01 and seconds < 60 else 'FAIL'}")


def bench_rollout(counts=(5, 10, 15)) -> None:
    from mobility_plan.siting import MCLP, PMedian, mclp_rollout, pmedian_rollout

    cost, weights = _seoul_instance()
    half = np.arange(len(weights)) < len(weights) // 2
    shares = np.linspace(0.0, 1.0, len(counts))
    by_period = np.stack([weights * np.where(half, 1.0 - 0.8 * s, 0.2 + 0.8 * s) for s in shares])
    print(f"[rollout] Seoul 600 x 150, cumulative sites {list(counts)}, demand shifting between halves")
    for name, joint_call, single in (
            ("p-median", lambda: pmedian_rollout(PMedian.from_cost_matrix(cost, by_period[0], p=1), list(counts),
                                                 weights_by_period=by_period, time_limit_s=60.0),
             lambda t, locked: PMedian.from_cost_matrix(cost, by_period[t], p=counts[t], existing=locked).solve()),
            ("MCLP r=60s", lambda: mclp_rollout(MCLP.from_cost_matrix(cost, by_period[0], radius=60.0, p=1),
                                                list(counts), weights_by_period=by_period, time_limit_s=60.0),
             lambda t, locked: MCLP.from_cost_matrix(cost, by_period[t], radius=60.0, p=counts[t],
                                                     existing=locked).solve())):
        joint, seconds = _timed(joint_call)
        myopic, locked = 0.0, []
        for t in range(len(counts)):
            step = single(t, locked)
            myopic += step.objective
            locked = list(step.sites)
        change = (joint.objective - myopic) / myopic
        print(f"  {name:10s}: {seconds:6.2f} s {joint.status}, gap {joint.gap:.4%}; joint objective "
              f"{joint.objective:,.1f} vs myopic {myopic:,.1f} ({change:+.3%})")


def bench_frlm(*, time_limit_s: float = 60.0, ranges=(150.0, 300.0), counts=(5, 10, 15, 20, 25, 30, 35, 40),
               mip_gap: float = 1e-3) -> None:
    from mobility_plan import network
    from mobility_plan.siting import FRLM, shortest_paths

    G = network.graph_from_expressway()
    od = network.load_expressway_od(combine_directions=True).rename(columns={"vehicles": "flow"})
    print(f"[frlm] expressway 2011: {G.number_of_nodes()} nodes, {len(od):,} OD pairs, "
          f"{od['flow'].sum() / 1e6:,.1f} M vehicles; limit {time_limit_s:.0f} s per instance (incl. paths and sets), "
          f"target gap {mip_gap:.2%}")
    for range_km in ranges:
        for p in counts:
            start = time.perf_counter()
            paths = shortest_paths(G, od)
            model = FRLM.from_paths(paths, range_km=range_km, p=p, _start=start)
            remaining = max(time_limit_s - (time.perf_counter() - start), 1.0)
            result = model.solve(time_limit_s=remaining, mip_gap=mip_gap)
            total = time.perf_counter() - start
            ok = (result.status == "optimal" or result.gap <= mip_gap) and total < time_limit_s + 5
            print(f"  range {range_km:3.0f} km p={p:2d}: {total:5.1f} s (paths+sets {model.build_seconds:.1f} s) "
                  f"{result.status:10s} refuelled {result.details['flow_refuelled_share']:.1%}, gap {result.gap:.3%}, "
                  f"greedy+swaps {result.details['heuristic_objective'] / result.objective:.4f} of best, bound with "
                  f"{result.details['cuts']:,} cuts {result.details['cut_bound'] / 1e6:,.2f} M, proof "
                  f"{result.details['proof']}; {'PASS' if ok else 'FAIL'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["seoul", "large", "rollout", "frlm", "all"], default="all")
    parser.add_argument("--no-cbc", action="store_true", help="skip spopt + CBC (about 3 minutes)")
    parser.add_argument("--spopt-pcenter-limit", type=float, default=120.0,
                        help="time limit for spopt's p-center (0 skips it)")
    parser.add_argument("--frlm-limit", type=float, default=60.0, help="seconds per FRLM instance")
    parser.add_argument("--frlm-range", type=float, nargs="+", default=[150.0, 300.0], help="ranges (km)")
    parser.add_argument("--frlm-p", type=int, nargs="+", default=[5, 10, 15, 20, 25, 30, 35, 40],
                        help="station counts")
    parser.add_argument("--frlm-gap", type=float, default=1e-3, help="target relative gap (0.001 = 0.1 %%)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.part in ("seoul", "all"):
        bench_seoul(with_cbc=not args.no_cbc, spopt_pcenter_limit_s=args.spopt_pcenter_limit)
    if args.part in ("large", "all"):
        bench_large()
    if args.part in ("rollout", "all"):
        bench_rollout()
    if args.part in ("frlm", "all"):
        bench_frlm(time_limit_s=args.frlm_limit, ranges=args.frlm_range, counts=args.frlm_p,
                   mip_gap=args.frlm_gap)
    print(f"done in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
