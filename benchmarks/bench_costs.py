"""Benchmark of travel-time matrices (mobility_plan.costs) against NetworkX.

Run:  .venv/bin/python benchmarks/bench_costs.py            (both parts)
      .venv/bin/python benchmarks/bench_costs.py --part seoul
      .venv/bin/python benchmarks/bench_costs.py --part scale --grid 1000

Part ``seoul``: central Seoul OSM graph, 600 origins x 150 destinations, NetworkX
per-source Dijkstra (what OSMnx users do) against ``cost_matrix``; prints the speed-up
and the largest difference. Targets: >= 40x faster, max difference < 1e-6 s.

Part ``scale``: a road-like synthetic graph of grid x grid nodes (default 1000 x 1000
= 1,000,000 nodes; perturbed 100 m grid of 30-50 km/h streets with every 40th row
and column an 80 km/h arterial), 2,000 origins x 500 destinations, 30-minute cutoff.
Targets: < 60 s and < 4 GB peak memory (resident set size of this process).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time

import networkx as nx
import numpy as np
import psutil

from mobility_plan import costs, network
from mobility_plan.data import data_dir


class PeakMemory:
    """Sample this process's resident memory every 20 ms; ``peak_bytes`` after stop()."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self.peak_bytes = self._process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self._process.memory_info().rss)
            time.sleep(0.02)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, self._process.memory_info().rss)


def bench_seoul(*, n_origins: int = 600, n_destinations: int = 150, seed: int = 42) -> dict:
    G = network.load_graphml(data_dir() / "osm" / "seoul_central_drive.graphml")
    rng = random.Random(seed)
    nodes = sorted(G.nodes)
    origins = rng.sample(nodes, n_origins)
    destinations = rng.sample(nodes, n_destinations)

    start = time.perf_counter()
    reference = np.full((n_origins, n_destinations), np.inf)
    column = {node: j for j, node in enumerate(destinations)}
    for i, source in enumerate(origins):
        lengths = nx.single_source_dijkstra_path_length(G, source, weight="travel_time")
        for node, j in column.items():
            if node in lengths:
                reference[i, j] = lengths[node]
    networkx_s = time.perf_counter() - start

    start = time.perf_counter()
    cold = costs.CostGraph.from_graph(G, weight="travel_time").matrix_between(origins, destinations)
    ours_cold_s = time.perf_counter() - start
    graph = costs.cost_graph(G, weight="travel_time")
    repeats = 5
    start = time.perf_counter()
    for _ in range(repeats):
        warm = graph.matrix_between(origins, destinations)
    ours_warm_s = (time.perf_counter() - start) / repeats

    same_inf = bool((np.isinf(reference) == np.isinf(warm)).all() and (np.isinf(reference) == np.isinf(cold)).all())
    finite = np.isfinite(reference)
    max_diff = float(max(np.abs(reference[finite] - warm[finite]).max(), np.abs(reference[finite] - cold[finite]).max()))
    return {
        "graph": f"seoul_central_drive ({G.number_of_nodes():,} nodes, {G.number_of_edges():,} edges)",
        "pairs": f"{n_origins} x {n_destinations}",
        "networkx_s": networkx_s,
        "ours_with_build_s": ours_cold_s,
        "ours_cached_s": ours_warm_s,
        "speedup_with_build": networkx_s / ours_cold_s,
        "speedup_cached": networkx_s / ours_warm_s,
        "max_abs_diff_s": max_diff,
        "same_unreachable_pairs": same_inf,
        "unreachable_pairs": int((~finite).sum()),
    }


def road_like_graph(grid: int, *, spacing_m: float = 100.0, arterial_every: int = 40, seed: int = 7):
    """Edge arrays of a perturbed grid road network with a sparse fast-road layer.

    Returns (n_nodes, rows, cols, travel_time_s) with both directions of every street.
    """
    rng = np.random.default_rng(seed)
    n = grid * grid
    jitter = rng.uniform(-0.3, 0.3, size=(n, 2)) * spacing_m
    ij = np.indices((grid, grid)).reshape(2, -1).T
    xy = ij * spacing_m + jitter
    ids = np.arange(n).reshape(grid, grid)
    u = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    v = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    length = np.hypot(*(xy[u] - xy[v]).T)
    speed = rng.uniform(30.0, 50.0, size=len(u))
    row_u, col_u = ij[u, 0], ij[u, 1]
    horizontal = np.arange(len(u)) < grid * (grid - 1)
    arterial = np.where(horizontal, row_u % arterial_every == 0, col_u % arterial_every == 0)
    speed[arterial] = 80.0
    seconds = length / (speed / 3.6)
    rows = np.concatenate([u, v])
    cols = np.concatenate([v, u])
    return n, rows, cols, np.concatenate([seconds, seconds])


def bench_scale(*, grid: int = 1000, n_origins: int = 2000, n_destinations: int = 500,
                cutoff_s: float = 1800.0, seed: int = 3) -> dict:
    with PeakMemory() as memory:
        start = time.perf_counter()
        n, rows, cols, seconds = road_like_graph(grid)
        graph = costs.CostGraph.from_arrays(np.arange(n), rows, cols, seconds, weight="travel_time")
        del rows, cols, seconds
        build_s = time.perf_counter() - start
        rng = np.random.default_rng(seed)
        origins = rng.choice(n, size=n_origins, replace=False)
        destinations = rng.choice(n, size=n_destinations, replace=False)
        start = time.perf_counter()
        matrix = graph.matrix_between(origins, destinations, cutoff=cutoff_s, progress=sys.stderr.isatty())
        matrix_s = time.perf_counter() - start
    # spot-check 3 origins against a plain single-source run without cutoff
    from scipy.sparse.csgraph import dijkstra

    check = dijkstra(graph.matrix, indices=origins[:3])[:, destinations]
    check[check > cutoff_s] = np.inf
    agree = bool(np.allclose(np.nan_to_num(check, posinf=-1), np.nan_to_num(matrix[:3], posinf=-1), atol=1e-6))
    return {
        "graph": f"road-like grid {grid}x{grid} ({n:,} nodes, {graph.matrix.nnz:,} edges)",
        "pairs": f"{n_origins} x {n_destinations}, cutoff {cutoff_s:.0f} s",
        "build_s": build_s,
        "matrix_s": matrix_s,
        "total_s": build_s + matrix_s,
        "peak_rss_gb": memory.peak_bytes / 1e9,
        "reachable_share": float(np.isfinite(matrix).mean()),
        "spot_check_agrees": agree,
        "target_total_s": 60.0,
        "target_peak_gb": 4.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["seoul", "scale", "all"], default="all")
    parser.add_argument("--grid", type=int, default=1000, help="grid side of the scale graph (nodes = grid^2)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    results = {}
    if args.part in ("seoul", "all"):
        results["seoul"] = bench_seoul()
    if args.part in ("scale", "all"):
        results["scale"] = bench_scale(grid=args.grid)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    ok = True
    if "seoul" in results:
        r = results["seoul"]
        print(f"[seoul] {r['graph']}, {r['pairs']} pairs")
        print(f"  NetworkX per-source Dijkstra : {r['networkx_s']:8.3f} s (baseline, same run)")
        print(f"  mobility_plan, incl. build   : {r['ours_with_build_s']:8.3f} s  -> {r['speedup_with_build']:6.1f}x")
        print(f"  mobility_plan, cached graph  : {r['ours_cached_s']:8.3f} s  -> {r['speedup_cached']:6.1f}x")
        print(f"  max |difference|             : {r['max_abs_diff_s']:.2e} s; same unreachable pairs: "
              f"{r['same_unreachable_pairs']} ({r['unreachable_pairs']} inf)")
        passed = r["speedup_with_build"] >= 40 and r["max_abs_diff_s"] < 1e-6 and r["same_unreachable_pairs"]
        print(f"  target >= 40x, diff < 1e-6 s : {'PASS' if passed else 'FAIL'}")
        ok &= passed
    if "scale" in results:
        r = results["scale"]
        print(f"[scale] {r['graph']}, {r['pairs']}")
        print(f"  build {r['build_s']:.1f} s + matrix {r['matrix_s']:.1f} s = {r['total_s']:.1f} s "
              f"({r['total_s'] / r['target_total_s']:.2f} of the 60 s target)")
        print(f"  peak memory {r['peak_rss_gb']:.2f} GB ({r['peak_rss_gb'] / r['target_peak_gb']:.2f} of the 4 GB target); "
              f"reachable pairs {r['reachable_share']:.1%}; spot check agrees: {r['spot_check_agrees']}")
        passed = r["total_s"] < 60 and r["peak_rss_gb"] < 4 and r["spot_check_agrees"]
        print(f"  target < 60 s, < 4 GB        : {'PASS' if passed else 'FAIL'}")
        ok &= passed
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
