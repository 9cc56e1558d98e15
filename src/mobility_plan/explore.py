"""Interactive what-ifs for the app: re-solve a city charger layout or the expressway hydrogen rollout.

These wrap the siting models with the inputs the app's controls set (model, number of new
sites, radius, year; range and stations per period) and return plain frames ready to map.
They hold no UI code; the Streamlit pages cache their inputs and call them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from . import data, demand, network
from ._errors import ValidationError
from .city import CityInstance, service_areas
from .fleet import project_fleet, vehicle_parameter
from .maps import graph_segments
from .siting import FRLM, MCLP, PMedian, shortest_paths
from .siting.frlm import FlowPaths

__all__ = ["CityLayout", "solve_city", "ev_weights_by_year", "ExpresswayInputs", "expressway_inputs",
           "H2Layout", "solve_expressway", "CITY_MODELS"]

CITY_MODELS = ("mclp", "pmedian")


def ev_weights_by_year(year: int, *, target_vehicles: float = 4_200_000, target_year: int = 2030,
                       level: str = "adm3") -> dict[str, float]:
    """EVs per region in ``year`` on the curve bent through the target (vehicles by region code)."""
    projection = project_fleet("ev", max(year, target_year), target=target_vehicles,
                               target_year=target_year).set_index("year")
    if year not in projection.index:
        raise ValidationError(f"year {year} is outside the fleet series {projection.index.min()}-"
                              f"{projection.index.max()}")
    national = int(round(projection.loc[year, "stock_vehicles"]))
    table = demand.allocate_fleet("ev", national, level=level)
    return dict(zip(table["code"], table["vehicles"].astype(float)))


@dataclass(frozen=True)
class CityLayout:
    """A solved city layout: sites with plugs, demand points, service areas and KPIs."""

    sites: pd.DataFrame
    demand_points: pd.DataFrame
    areas: gpd.GeoDataFrame
    kpis: dict[str, Any]
    seconds: float


def solve_city(city: CityInstance, *, model: str = "mclp", new_sites: int = 10, radius_s: float = 120.0,
               keep_existing: bool = True, weights: Sequence[float] | np.ndarray | None = None,
               time_limit_s: float = 10.0) -> CityLayout:
    """Solve a city charger layout and size each site in plugs.

    Parameters
    ----------
    city
        Demand, candidates and travel times (:func:`mobility_plan.city.city_instance`).
    model
        ``mclp`` (most EVs within ``radius_s``) or ``pmedian`` (least EV-weighted travel time).
    new_sites
        Sites to open besides the existing ones (>= 1).
    radius_s
        Coverage radius (s) for MCLP and for the coverage KPI and service areas.
    keep_existing
        Lock the existing stations in as open sites.
    weights
        Demand weights per demand point (default: the instance's).
    time_limit_s
        Solver time limit (s).

    Returns
    -------
    CityLayout
    """
    start = time.perf_counter()
    if model not in CITY_MODELS:
        raise ValidationError(f"model {model!r}; use one of {list(CITY_MODELS)}")
    if new_sites < 1:
        raise ValidationError(f"new_sites = {new_sites}; open at least one site")
    w = np.asarray(city.weights if weights is None else weights, dtype=float)
    if w.shape != (len(city.demand_nodes),):
        raise ValidationError(f"weights must have one value per demand point ({len(city.demand_nodes)})")
    site_ids = list(city.site_nodes)
    existing = list(city.existing_nodes) if keep_existing else []
    p = len(existing) + new_sites
    if p > len(site_ids):
        raise ValidationError(f"{p} sites asked, only {len(site_ids)} candidates; lower the number of sites")
    if model == "mclp":
        result = MCLP.from_cost_matrix(city.cost_s, w, radius=radius_s, p=p, site_ids=site_ids,
                                       existing=existing or None).solve(time_limit_s=time_limit_s)
    else:
        result = PMedian.from_cost_matrix(city.cost_s, w, p=p, site_ids=site_ids,
                                          existing=existing or None).solve(time_limit_s=time_limit_s)
    column = {s: j for j, s in enumerate(site_ids)}
    open_columns = np.array([column[s] for s in result.sites])
    nearest = open_columns[np.argmin(city.cost_s[:, open_columns], axis=1)]
    travel_s = city.cost_s[np.arange(len(w)), nearest]
    covered = travel_s <= radius_s
    served = pd.Series(0.0, index=result.sites)
    for i, j in enumerate(nearest):
        served[site_ids[j]] += w[i]
    stop_share = vehicle_parameter("fast_charge_stop_share", "ev")
    minutes = vehicle_parameter("fast_charge_minutes", "ev")
    lonlat = city.lonlat(list(result.sites))
    rows = []
    existing_set = set(existing)
    for k, site in enumerate(result.sites):
        plugs, capacity = demand.size_site(float(served[site]) * stop_share, "ev", service_min=minutes)
        rows.append({"node": site, "status": "existing" if site in existing_set else "new", "plugs": plugs,
                     "capacity_vehicles_per_h": round(capacity, 2), "evs_served": round(float(served[site]), 1),
                     "charges_per_day": round(float(served[site]) * stop_share, 1),
                     "lon": float(lonlat[k, 0]), "lat": float(lonlat[k, 1])})
    sites = pd.DataFrame(rows)
    demand_lonlat = city.lonlat(list(city.demand_nodes))
    points = pd.DataFrame({"code": list(city.demand_codes), "evs": w, "travel_min": np.round(travel_s / 60, 2),
                           "covered": covered, "lon": demand_lonlat[:, 0], "lat": demand_lonlat[:, 1]})
    new_nodes = [s for s in result.sites if s not in existing_set]
    areas = gpd.GeoDataFrame({"node": new_nodes},
                             geometry=service_areas(city.graph, new_nodes, radius_s), crs=data.CRS_METRIC)
    total = float(w.sum())
    # coverage is over ALL demand of the area, including areas the network does not reach; with weights of
    # the caller's, the unreached areas are scaled by the same ratio as the reached ones (a stated approximation)
    unreached = float(np.sum(city.unreached_weights)) * (total / float(np.sum(city.weights))
                                                         if weights is not None and np.sum(city.weights) else 1.0)
    reachable = np.isfinite(travel_s)
    everyone = total + unreached
    kpis = {"model": model, "status": result.status, "gap": result.gap if np.isfinite(result.gap) else None,
            "gap_note": result.gap_note, "sites_total": len(result.sites),
            "sites_new": len(new_nodes), "sites_existing": len(result.sites) - len(new_nodes),
            "plugs_new": int(sites.loc[sites["status"] == "new", "plugs"].sum()),
            "coverage_pct": round(100 * float(w[covered].sum()) / everyone, 2) if everyone else 0.0,
            "mean_travel_min": (round(float((w[reachable] * travel_s[reachable]).sum() / w[reachable].sum() / 60), 3)
                                if w[reachable].sum() else None),
            "unreachable_pct": round(100 * (unreached + float(w[~reachable].sum())) / everyone, 2) if everyone else 0.0,
            "unreachable_areas": len(city.unreached_codes) + int((~reachable).sum()),
            "evs": round(everyone, 0), "radius_s": radius_s}
    return CityLayout(sites, points, areas, kpis, time.perf_counter() - start)


@dataclass(frozen=True)
class ExpresswayInputs:
    """The expressway graph, OD paths, and the existing stations snapped to interchanges."""

    graph: Any
    paths: FlowPaths
    stations: gpd.GeoDataFrame
    existing_nodes: tuple[int, ...]
    nodes: pd.DataFrame = field(repr=False)
    edges: pd.DataFrame = field(repr=False)


def expressway_inputs(first_year: int = 2026, *, snap_m: float = 3000.0) -> ExpresswayInputs:
    """Load the expressway network, its OD shortest paths and today's commercial stations."""
    G = network.graph_from_expressway()
    od = network.load_expressway_od(combine_directions=True).rename(columns={"vehicles": "flow"})
    paths = shortest_paths(G, od)
    stations = demand.hydrogen_stations_on_network(G, max_snap_m=snap_m)
    existing = tuple(sorted(int(n) for n in stations.loc[stations["on_network"]
                                                         & (stations["build_year"] <= first_year), "node"].unique()))
    nodes = pd.DataFrame([(n, d["x"], d["y"], d.get("name", "")) for n, d in G.nodes(data=True)],
                         columns=["node", "lon", "lat", "name"]).set_index("node")
    edges = graph_segments(G)
    return ExpresswayInputs(G, paths, stations, existing, nodes, edges)


@dataclass(frozen=True)
class H2Layout:
    """A solved hydrogen rollout: stations by year, the top OD flows, KPIs."""

    stations: pd.DataFrame
    flows: pd.DataFrame
    kpis: dict[str, Any]
    seconds: float


def solve_expressway(inputs: ExpresswayInputs, model: FRLM, *, per_period: int = 10,
                     periods: Sequence[int] = (2026, 2028, 2030), exact: bool = False, time_limit_s: float = 20.0,
                     top_flows: int = 400) -> H2Layout:
    """Roll out ``per_period`` new stations in each period with the existing ones kept.

    ``exact`` solves the multi-period MILP (HiGHS, ``time_limit_s``); otherwise the greedy
    heuristic opens stations period by period (fast, for interactive use).
    """
    start = time.perf_counter()
    if per_period < 1:
        raise ValidationError(f"per_period = {per_period}; open at least one station per period")
    periods = list(periods)
    budgets = [per_period] * len(periods)
    flows_total = float(inputs.paths.flows.sum())
    if exact:
        result = model.solve_rollout(budgets=budgets, periods=periods, time_limit_s=time_limit_s)
        opened = result.details["opened_by_period"]
        share = result.details["refuelled_share_by_period"]
        refuelled = result.details["refuelled"]
        status, gap, gap_note = result.status, result.gap, result.gap_note
    else:
        open_nodes = model.existing.copy()
        opened, share = {}, {}
        nodes = inputs.paths.nodes
        for period in periods:
            before = open_nodes.copy()
            open_nodes = model.greedy(p=int(open_nodes.sum()) + per_period, start=open_nodes)
            opened[period] = tuple(sorted(nodes[k] for k in np.flatnonzero(open_nodes & ~before)))
            share[period] = float(inputs.paths.flows[model.refuelled(open_nodes)].sum()) / flows_total
        refuelled = model.refuelled(open_nodes)
        status, gap, gap_note = "heuristic", None, "greedy heuristic: no bound on the optimum was computed"
    year_of = {n: y for y, ns in opened.items() for n in ns}
    rows = [{"node": n, "status": "existing", "year": None} for n in inputs.existing_nodes]
    rows += [{"node": n, "status": "new", "year": int(y)} for n, y in sorted(year_of.items())]
    stations = pd.DataFrame(rows)
    stations = stations.join(inputs.nodes, on="node")
    order = np.argsort(-inputs.paths.flows)[:top_flows]
    o = [inputs.paths.origins[q] for q in order]
    d = [inputs.paths.destinations[q] for q in order]
    flows = pd.DataFrame({"origin": [inputs.nodes.at[n, "name"] for n in o],
                          "destination": [inputs.nodes.at[n, "name"] for n in d],
                          "vehicles": inputs.paths.flows[order], "length_km": inputs.paths.lengths_km[order],
                          "refuelled": np.asarray(refuelled)[order],
                          "lon0": inputs.nodes.loc[o, "lon"].to_numpy(), "lat0": inputs.nodes.loc[o, "lat"].to_numpy(),
                          "lon1": inputs.nodes.loc[d, "lon"].to_numpy(), "lat1": inputs.nodes.loc[d, "lat"].to_numpy()})
    kpis = {"range_km": model.range_km, "status": status,
            "gap": gap if gap is not None and np.isfinite(gap) else None, "gap_note": gap_note,
            "existing_on_network": len(inputs.existing_nodes),
            "new_stations": len(year_of),
            "flow_refuelled_pct_by_year": {int(y): round(100 * s, 2) for y, s in share.items()},
            "unrefuellable_pairs": int(np.asarray(model.unrefuellable).sum())}
    return H2Layout(stations, flows, kpis, time.perf_counter() - start)
