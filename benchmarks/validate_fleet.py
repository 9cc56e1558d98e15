"""Validation of the fleet and demand models (mobility_plan.fleet, mobility_plan.demand).

Run:  .venv/bin/python benchmarks/validate_fleet.py

1. Backtest: every fleet model (diffusion curves and the forecasters with a band) fitted on
   the national stock up to 2020 and the targets published by the end of 2020 predicts
   2021-2024; prints each year's error and the MAPE next to the naive baseline (the mean
   2018-2020 growth factor carried forward) measured in the same run. Same rows as
   ``mobility-plan validate --only fleet`` (mobility_plan.fleet_validation).
2. Full-history fits 2014-2025: parameters, MAPE and RMSE; parameters stuck on a bound.
3. Target gap: targets whose year has passed against registered stock.
4. Erlang-C (M/M/c) against a discrete-event simulation of the same FCFS queue.
5. Worked example: 850,000 fuel-cell cars in 2030, five largest sido.
6. Plan years: the ensemble and the rolling-origin selection from 2025 to 2040, with their bands.
"""

from __future__ import annotations

import argparse
import heapq
import sys
import time

import numpy as np
import pandas as pd

from mobility_plan import demand, fleet
from mobility_plan.fleet_validation import fleet_checks


def simulate_mmc(servers: int, arrival_rate_per_h: float, service_time_min: float, *, customers: int = 200_000,
                 seed: int = 0) -> tuple[float, float]:
    """FCFS M/M/c by discrete events: (share of arrivals that wait, mean wait in minutes)."""
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(60.0 / arrival_rate_per_h, customers))
    services = rng.exponential(service_time_min, customers)
    free_at = [0.0] * servers
    heapq.heapify(free_at)
    waits = np.empty(customers)
    for i in range(customers):
        start = max(arrivals[i], heapq.heappop(free_at))
        waits[i] = start - arrivals[i]
        heapq.heappush(free_at, start + services[i])
    warm = customers // 10
    return float((waits[warm:] > 1e-12).mean()), float(waits[warm:].mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args(argv)
    start = time.perf_counter()
    pd.set_option("display.width", 160)
    print("1. Hold-out: fit to 2020 (stock and targets published by then), predict 2021-2024 (MAPE, %)")
    for check in fleet_checks():
        table = check.details["series"]
        errors = ", ".join(f"{int(r.year)} {r.error_pct:+.0f}%" for r in table.itertuples())
        inside = ((table["actual_vehicles"] >= table["low_vehicles"] - 0.5)
                  & (table["actual_vehicles"] <= table["high_vehicles"] + 0.5)).mean()
        print(f"  {check.details['vehicle']:4s} {check.model:20s} MAPE {check.model_value:7.1f} % "
              f"(naive {check.baseline_value:7.1f} %, ratio {check.model_value / check.baseline_value:.2f}; goal "
              f"{check.goal}: {'met' if check.met else 'NOT met'}); {errors}; band holds {inside:.0%}")
    print("\n2. Fits on 2014-2025")
    for vehicle in fleet.VEHICLES:
        history = fleet.actual_stock(vehicle)
        for model in fleet.MODELS:
            fit = fleet.fit_diffusion(history.index, history.to_numpy(), model=model)
            params = ", ".join(f"{k}={v:,.4g}" for k, v in fit.parameters.items())
            bound = f"; at bound: {', '.join(fit.at_bound)}" if fit.at_bound else ""
            print(f"  {vehicle} {model:8s}: {params}; MAPE {fit.mape_pct:.1f} %, RMSE {fit.rmse_vehicles:,.0f} "
                  f"vehicles; 2030: {fit.stock([2030])[0]:,.0f}{bound}")
    print("\n3. Targets against registered stock")
    for vehicle in fleet.VEHICLES:
        for row in fleet.target_gap(vehicle).itertuples():
            print(f"  {vehicle} {row.year}: target {row.target_vehicles:,.0f}, registered {row.actual_vehicles:,.0f}"
                  f" -> {row.achieved_pct:.1f} % achieved, gap {row.gap_vehicles:,.0f}")
    print("\n4. Erlang-C against a discrete-event simulation (200,000 customers)")
    worst = 0.0
    for servers, rate, service in [(3, 24.0, 5.0), (6, 8.0, 40.0), (2, 1.5, 40.0), (12, 120.0, 5.0)]:
        formula = demand.erlang_c(servers, rate, service)
        wait_share, mean_wait = simulate_mmc(servers, rate, service)
        worst = max(worst, abs(wait_share - formula.wait_probability))
        print(f"  c={servers:2d}, {rate:5.1f}/h, {service:4.1f} min: P(wait) {formula.wait_probability:.4f} vs "
              f"{wait_share:.4f} simulated; mean wait {formula.mean_wait_min:6.2f} vs {mean_wait:6.2f} min")
    print(f"  largest P(wait) difference {worst:.4f}")
    print("\n5. Worked example: 850,000 fuel-cell cars in 2030 (sido)")
    need = demand.infrastructure_need("fcev", 850_000, year=2030, level="sido")
    top = need.sort_values("vehicles", ascending=False).head(5)
    for row in top.itertuples():
        print(f"  {row.region} ({row.region_en}): {row.vehicles:,} vehicles, {row.energy_per_day:,.0f} kg/day, "
              f"{row.need} stations needed, {row.existing} existing, deficit {row.deficit}")
    print(f"  national: {need['energy_per_day'].sum():,.0f} kg/day, {need['need'].sum():,} stations of "
          f"{need['station_capacity_kg_per_day'].iloc[0]:.0f} kg/day, {need['existing'].sum()} existing commercial, "
          f"deficit {need['deficit'].sum():,}")
    print("\n6. Plan years from 2025 (vehicles: central [low - high])")
    for vehicle in fleet.VEHICLES:
        for model in ("ensemble", "selected"):
            forecast = fleet.forecast_vehicle(vehicle, [2030, 2035, 2040], origin_year=2025, model=model)
            cells = "; ".join(f"{y}: {c:,.0f} [{lo:,.0f} - {hi:,.0f}]" for y, c, lo, hi in zip(
                forecast.years, forecast.central_vehicles, forecast.low_vehicles, forecast.high_vehicles))
            chosen = f" (chose {forecast.selected})" if forecast.selected else ""
            print(f"  {vehicle:4s} {model}{chosen}: {cells}")
    print(f"\ndone in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
