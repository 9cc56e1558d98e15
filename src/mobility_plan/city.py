"""City charger siting inputs: demand points, candidate sites and travel times on an OSM road network.

:func:`city_instance` turns an OSM drive network and the census areas it serves into the
arrays every siting model takes: ADM3 demand points snapped to the network with their
weights (EVs allocated to each area, or households), candidate sites (a seeded sample of
network nodes plus the existing KEPCO stations), and the travel-time matrix in seconds.
:func:`service_areas` draws what a site serves as a polygon from network travel-time
cutoffs (a concave hull of the road nodes that reach the site within the cutoff).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

from . import census, data, network
from ._errors import ValidationError
from .costs import cost_matrix

__all__ = ["CityInstance", "city_graph", "city_instance", "service_areas", "CITY_NETWORKS"]

#: OSM networks shipped for city plans (keys of ``data/sources.toml``).
CITY_NETWORKS = ("osm_seoul_central", "osm_seoul_yongsan", "osm_songpa_xml")


@dataclass(frozen=True)
class CityInstance:
    """Demand, candidates and travel times of one city network.

    Attributes
    ----------
    network
        Key of the OSM network (``osm_seoul_central``).
    graph
        Its largest strongly connected component.
    demand_codes, demand_nodes, weights
        ADM3 codes served, their snapped network nodes and weights.
    weight_unit
        What the weights count (EVs or households).
    site_nodes, existing_nodes
        Candidate nodes (sorted) and those with an existing KEPCO station within 100 m.
    cost_s
        Travel time (s) from each demand node to each candidate node.
    unreached_codes, unreached_weights, unreached_distance_m
        Areas inside the network's extent (within ``max_access_m`` of one of its nodes) that
        the largest connected part does not reach (no node of it within ``max_access_m``,
        e.g. a part of the network cut off from the rest), with their weights and the
        distance to the nearest node of that part. They count in :attr:`total_weight`:
        coverage is measured over all demand of the network's area, never only over the
        demand the network reaches.
    outside_codes
        Areas of ``region`` beyond the network's extent altogether: not part of the study.
    """

    network: str
    graph: nx.MultiDiGraph
    demand_codes: tuple[str, ...]
    demand_nodes: tuple[Any, ...]
    weights: np.ndarray
    weight_unit: str
    site_nodes: tuple[Any, ...]
    existing_nodes: tuple[Any, ...]
    cost_s: np.ndarray
    unreached_codes: tuple[str, ...] = ()
    unreached_weights: np.ndarray = field(default_factory=lambda: np.zeros(0))
    unreached_distance_m: np.ndarray = field(default_factory=lambda: np.zeros(0))
    outside_codes: tuple[str, ...] = ()

    @property
    def total_weight(self) -> float:
        """Weight of all demand of the area studied: served by the network or not."""
        return float(np.sum(self.weights)) + float(np.sum(self.unreached_weights))

    def site_ids(self, prefix: str = "") -> list[str]:
        """Site ids as used in plans: ``<prefix>:<node>`` (or the node as text)."""
        return [f"{prefix}:{n}" if prefix else str(n) for n in self.site_nodes]

    def lonlat(self, nodes: Sequence[Any]) -> np.ndarray:
        """``k x 2`` WGS84 lon/lat of network nodes."""
        return np.array([(self.graph.nodes[n]["x"], self.graph.nodes[n]["y"]) for n in nodes], dtype=float)


def city_graph(network_key: str) -> nx.MultiDiGraph:
    """The largest strongly connected component of a shipped OSM city network.

    Cached per file path, size and modification time, so a changed data directory or file
    is loaded afresh.

    Raises
    ------
    ValidationError
        If ``network_key`` is not a shipped OSM network.
    """
    if network_key not in CITY_NETWORKS:
        raise ValidationError(f"unknown city network {network_key!r}; use one of {list(CITY_NETWORKS)}")
    return _city_graphs(network_key)[1]


def _city_graphs(network_key: str) -> tuple[nx.MultiDiGraph, nx.MultiDiGraph]:
    """The whole shipped network and its largest strongly connected component."""
    if network_key not in CITY_NETWORKS:
        raise ValidationError(f"unknown city network {network_key!r}; use one of {list(CITY_NETWORKS)}")
    path = data.data_dir() / data.load_sources()[network_key].file
    try:
        info = path.stat()
        signature = (info.st_size, info.st_mtime_ns)
    except OSError:
        signature = (-1, -1)  # missing: let the loader say so
    return _graphs_of(str(path), signature)


@functools.lru_cache(maxsize=4)
def _graphs_of(path: str, signature: tuple[int, int]) -> tuple[nx.MultiDiGraph, nx.MultiDiGraph]:
    full = network.load_graph(path)
    return full, network.largest_component(full)


def city_instance(network_key: str = "osm_seoul_central", region: str | None = "11", *,
                  weights_by_code: Mapping[str, float] | None = None, n_candidates: int = 400,
                  lock_existing: bool = True, max_access_m: float = 500.0, seed: int = 20261125,
                  graph: nx.MultiDiGraph | None = None, demand_points: gpd.GeoDataFrame | None = None,
                  weight_column: str = "weight", candidate_points: gpd.GeoDataFrame | None = None) -> CityInstance:
    """Demand points, candidate sites and travel times for city charger siting.

    Parameters
    ----------
    network_key
        Shipped OSM network (see :data:`CITY_NETWORKS`).
    region
        Census code prefix of the areas to serve (``"11"`` Seoul); ``None`` for all.
    weights_by_code
        Demand per ADM3 code (e.g. EVs allocated by the fleet model); default: households.
    n_candidates
        Network nodes drawn (seeded) as candidate sites, besides the existing stations.
    lock_existing
        Add the nodes with a KEPCO station within 100 m as existing sites.
    max_access_m
        An area is served when its representative point lies this close to the network.
    seed
        Seed of the candidate draw (same seed, same candidates).
    graph
        Use this road graph instead of the shipped one (e.g. an uploaded network).
    demand_points
        Demand of the planner's own (points or polygons, any CRS) with ``weight_column``;
        replaces the census areas. Features farther than ``max_access_m`` from the network
        are dropped.
    candidate_points
        Candidate sites of the planner's own (points); replace the seeded draw. Existing
        stations are still added when ``lock_existing``.

    Raises
    ------
    ValidationError
        If no census area of ``region`` has road access on the network.
    """
    full, G = (graph, graph) if graph is not None else _city_graphs(network_key)
    if demand_points is not None:
        if weight_column not in demand_points.columns:
            raise ValidationError(f"the demand layer has no column {weight_column!r}")
        points = gpd.GeoDataFrame({"adm3_code": [f"upload_{i}" for i in range(len(demand_points))],
                                   "weight": demand_points[weight_column].to_numpy(dtype=float)},
                                  geometry=demand_points.geometry.representative_point().to_numpy(),
                                  crs=demand_points.crs)
        region_text = "the uploaded demand layer"
    else:
        adm3 = census.load_census_adm3()
        if region:
            adm3 = adm3[adm3["adm3_code"].str.startswith(region)]
        points = gpd.GeoDataFrame({"adm3_code": adm3["adm3_code"].to_numpy(),
                                   "weight": adm3["households"].to_numpy(dtype=float)},
                                  geometry=adm3.geometry.representative_point().to_numpy(), crs=adm3.crs)
        region_text = f"region {region!r}"
    snapped = network.snap_points(G, points, max_snap_distance_m=1e12)
    inside = (snapped["snap_distance_m"] <= max_access_m).to_numpy()
    in_extent = inside
    if full is not G:  # areas near the whole network but not near its largest connected part are cut off
        near_full = network.snap_points(full, points, max_snap_distance_m=1e12)["snap_distance_m"] <= max_access_m
        in_extent = inside | near_full.to_numpy()
    if not inside.any():
        cut_off = f" ({int(in_extent.sum())} lie near parts of it cut off from the rest)" if in_extent.any() else ""
        raise ValidationError(f"no demand point of {region_text} lies within {max_access_m:.0f} m of the "
                              f"{network_key} road network's largest connected part (no road access){cut_off}; "
                              "choose the area the network covers or repair the network's connectivity")
    unreached = in_extent & ~inside
    codes = points.loc[inside, "adm3_code"].tolist()
    demand_nodes = snapped.loc[inside, "node"].tolist()
    unreached_codes = points.loc[unreached, "adm3_code"].tolist()
    if weights_by_code is not None and demand_points is None:
        weights = np.array([float(weights_by_code.get(c, 0.0)) for c in codes])
        unreached_weights = np.array([float(weights_by_code.get(c, 0.0)) for c in unreached_codes])
        unit = "EVs"
    else:
        weights = points.loc[inside, "weight"].to_numpy(dtype=float)
        unreached_weights = points.loc[unreached, "weight"].to_numpy(dtype=float)
        unit = weight_column if demand_points is not None else "households"
    nodes = sorted(G.nodes)
    rng = np.random.default_rng(seed)
    if candidate_points is not None:
        near = network.snap_points(G, candidate_points, max_snap_distance_m=1e12)
        near = near[near["snap_distance_m"] <= max_access_m]
        if near.empty:
            raise ValidationError(f"no uploaded candidate site lies within {max_access_m:.0f} m of the {network_key} "
                                  "road network; upload sites inside the network's area")
        site_nodes = set(near["node"].tolist())
    else:
        site_nodes = set(rng.choice(nodes, size=min(n_candidates, len(nodes)), replace=False).tolist())
    existing: list[Any] = []
    if lock_existing:
        kepco = data.load_kepco_ev_stations()
        kepco = kepco[kepco["valid_location"]]
        near = network.snap_points(G, kepco, max_snap_distance_m=1e12)
        existing = sorted(set(near.loc[near["snap_distance_m"] <= 100, "node"].tolist()))
    site_nodes = sorted(site_nodes | set(existing))
    return CityInstance(network_key, G, tuple(codes), tuple(demand_nodes), weights, unit, tuple(site_nodes),
                        tuple(existing), cost_matrix(G, demand_nodes, site_nodes),
                        unreached_codes=tuple(unreached_codes), unreached_weights=unreached_weights,
                        unreached_distance_m=snapped.loc[unreached, "snap_distance_m"].to_numpy(dtype=float),
                        outside_codes=tuple(points.loc[~in_extent, "adm3_code"].tolist()))


def service_areas(G: nx.MultiDiGraph, site_nodes: Sequence[Any], cutoff_s: float, *, buffer_m: float = 60.0,
                  concavity: float = 0.3) -> gpd.GeoSeries:
    """Service area of each site: the road nodes that reach it within ``cutoff_s`` seconds, as a polygon.

    The polygon is the concave hull (``concavity`` 0-1, 1 = convex) of the nodes with a
    network travel time to the site of at most ``cutoff_s``, buffered by ``buffer_m``, in
    EPSG:5179.

    Returns
    -------
    geopandas.GeoSeries
        One polygon per site, in the order given, CRS EPSG:5179.
    """
    if cutoff_s <= 0 or not np.isfinite(cutoff_s):
        raise ValidationError(f"cutoff_s = {cutoff_s}; give a travel time in seconds > 0")
    nodes = list(G.nodes)
    if not len(site_nodes):
        return gpd.GeoSeries([], crs=data.CRS_METRIC)
    to_site = cost_matrix(G, nodes, list(site_nodes), cutoff=cutoff_s)
    lonlat = np.array([(G.nodes[n]["x"], G.nodes[n]["y"]) for n in nodes], dtype=float)
    metric = gpd.GeoSeries(gpd.points_from_xy(lonlat[:, 0], lonlat[:, 1]), crs="EPSG:4326").to_crs(data.CRS_METRIC)
    xy = np.column_stack([metric.x.to_numpy(), metric.y.to_numpy()])
    areas = []
    for j in range(len(site_nodes)):
        reach = np.isfinite(to_site[:, j])
        hull = shapely.concave_hull(shapely.multipoints(xy[reach]), ratio=concavity)
        areas.append(hull.buffer(buffer_m))
    return gpd.GeoSeries(areas, crs=data.CRS_METRIC)
