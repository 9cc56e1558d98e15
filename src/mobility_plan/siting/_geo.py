"""Network costs between demand and site GeoDataFrames, shared by every model's ``from_geodataframe``."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np

from .._errors import ValidationError
from ..costs import cost_matrix
from ..network import snap_points

__all__ = ["network_costs"]


def network_costs(
    G: nx.MultiDiGraph,
    demand: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    *,
    weight_column: str | None = None,
    weight: str = "travel_time",
    cutoff: float | None = None,
    max_snap_distance_m: float = 500.0,
) -> dict[str, Any]:
    """Snap demand and site points to the graph and compute the demand x site cost matrix.

    Parameters
    ----------
    G
        Road graph (edges with ``travel_time`` in s and ``length`` in m).
    demand, sites
        Point GeoDataFrames with a CRS (any; they are projected for snapping).
    weight_column
        Demand column holding the weights (default: all ones).
    weight
        ``travel_time`` (s) or ``length`` (m).
    cutoff
        Costs above this become ``inf``.

    Returns
    -------
    dict
        ``cost`` (array), ``weights``, ``demand_ids`` and ``site_ids`` (the frames'
        index values), ``demand_nodes``, ``site_nodes``.
    """
    for name, frame in (("demand", demand), ("sites", sites)):
        if not isinstance(frame, gpd.GeoDataFrame):
            raise ValidationError(f"{name} must be a GeoDataFrame, got {type(frame).__name__}")
        if frame.empty:
            raise ValidationError(f"{name} is empty")
    if weight_column is not None and weight_column not in demand.columns:
        raise ValidationError(f"demand has no column {weight_column!r}; columns: {list(demand.columns)[:10]}")
    demand_snap = snap_points(G, demand, max_snap_distance_m=max_snap_distance_m)
    site_snap = snap_points(G, sites, max_snap_distance_m=max_snap_distance_m)
    matrix = cost_matrix(G, demand_snap["node"].tolist(), site_snap["node"].tolist(), weight=weight, cutoff=cutoff)
    weights = (np.ones(len(demand)) if weight_column is None
               else demand[weight_column].to_numpy(dtype=np.float64))
    return {
        "cost": matrix,
        "weights": weights,
        "demand_ids": list(demand.index),
        "site_ids": list(sites.index),
        "demand_nodes": demand_snap["node"].to_numpy(),
        "site_nodes": site_snap["node"].to_numpy(),
    }
