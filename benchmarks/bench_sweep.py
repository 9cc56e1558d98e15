"""Benchmark of scenario sweeps: a 16-run sweep on a Dask LocalCluster of 2 workers against the same sweep serially.

Run:  .venv/bin/python benchmarks/bench_sweep.py               (the shipped h2_range_stations sweep, ~9 min)
      .venv/bin/python benchmarks/bench_sweep.py --runs 4      (its first 4 runs only)

The sweep is ``data/sweeps/h2_range_stations.toml``: 4 vehicle ranges x 4 yearly station
budgets of the korea_2030 expressway FRLM layer (rollout 2026-2028-2030, existing stations
locked in, 30 s solver limit per period). Both modes write their table and per-run GeoJSON
to a temporary folder; the speed-up is serial seconds / distributed seconds. The two tables
must agree on every KPI of the runs that both solved to optimality (a run stopped by its time
limit may stop at another incumbent when its process ran slower; those runs are listed with
their gaps).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", default="h2_range_stations")
    parser.add_argument("--runs", type=int, default=None, help="only the first N runs of the grid")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    from mobility_plan.sweep import load_sweep, run_sweep

    sweep = load_sweep(args.sweep)
    if args.runs:
        sweep = dataclasses.replace(sweep, runs=sweep.runs[: args.runs])
    print(f"sweep {sweep.name}: {len(sweep.runs)} runs; {args.workers} Dask workers vs serial", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        serial = run_sweep(sweep, Path(folder) / "serial", workers=0, progress=False)
        serial_s = time.perf_counter() - start
        print(f"serial (one process, no Dask):         {serial_s:7.1f} s", flush=True)
        start = time.perf_counter()
        parallel = run_sweep(sweep, Path(folder) / "dask", workers=args.workers, progress=False)
        parallel_s = time.perf_counter() - start
        print(f"Dask LocalCluster, {args.workers} worker processes: {parallel_s:7.1f} s (incl. cluster start)")
    print(f"speed-up: {serial_s / parallel_s:.2f}x on {args.workers} workers")
    a, b = serial.table.set_index("run_id"), parallel.table.set_index("run_id")
    status = [c for c in a.columns if c.endswith(".status")]
    optimal = (a[status] == "optimal").all(axis=1) & (b[status] == "optimal").all(axis=1)
    kpis = [c for c in a.columns if c not in ("seconds", "error")]
    same = a.loc[optimal, kpis].equals(b.loc[optimal, kpis])
    print(f"runs optimal in both modes: {int(optimal.sum())} of {len(a)}; their KPIs identical: {same}")
    for run_id in a.index[~optimal]:
        gaps = [c for c in a.columns if c.endswith(".gap")]
        print(f"  time limit hit: {run_id}: serial {a.loc[run_id, status].tolist()} gap "
              f"{a.loc[run_id, gaps].tolist()}, Dask {b.loc[run_id, status].tolist()} gap {b.loc[run_id, gaps].tolist()}")
    differ = [c for c in kpis if not a.loc[optimal, c].equals(b.loc[optimal, c])]
    if differ:
        print(f"  columns that differ on optimal runs: {differ}")
    failed = len(serial.failed) + len(parallel.failed)
    print(f"failed runs: {failed}")
    ok = same and failed == 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
