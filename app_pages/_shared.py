"""Cached loaders and small rendering helpers shared by the pages (no domain logic: it calls the library)."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pandas as pd
import streamlit as st

from mobility_plan import MobilityPlanError, demand, fleet, maps
from mobility_plan.city import city_instance
from mobility_plan.explore import ev_weights_by_year, expressway_inputs
from mobility_plan.plan import cached_plan
from mobility_plan.scenario import load_scenario, shipped_scenarios
from mobility_plan.siting import FRLM

YEARS = list(range(2022, 2031))


@st.cache_data
def scenario_names() -> list[str]:
    return [p.stem for p in shipped_scenarios()]


@st.cache_resource
def scenario(name: str):
    from mobility_plan.plan import resolve_scenario

    return load_scenario(resolve_scenario(name))


def current() -> tuple[Any, int]:
    """The scenario and year chosen in the sidebar."""
    name = st.session_state.get("scenario", "korea_2030")
    return scenario(name), int(st.session_state.get("year", 2030))


@st.cache_data(show_spinner="Projecting the fleet…")
def projection(vehicle: str, target: float, target_year: int) -> pd.DataFrame:
    return fleet.project_fleet(vehicle, max(2030, target_year), target=target, target_year=target_year)


@st.cache_data
def last_registered_year(vehicle: str) -> int:
    return int(fleet.actual_stock(vehicle).index.max())


@st.cache_data
def targets() -> pd.DataFrame:
    return fleet.load_targets()


@st.cache_data(show_spinner="Allocating the fleet and its need…", max_entries=64)
def need_layer(vehicle: str, national: float, year: int, level: str, tolerance_m: float) -> gpd.GeoDataFrame:
    frame = demand.need_map(vehicle, national, year=year, level=level)
    frame["geometry"] = frame.geometry.simplify(tolerance_m)
    return frame.to_crs("EPSG:4326")


@st.cache_data(show_spinner="Allocating EVs to census areas…")
def ev_weights(year: int) -> dict[str, float]:
    return ev_weights_by_year(year)


@st.cache_resource(show_spinner="Building the city network and travel times…")
def city(network_key: str, region: str | None, n_candidates: int) -> Any:
    return city_instance(network_key, region, n_candidates=n_candidates)


@st.cache_data(show_spinner="Drawing the road network…")
def road_segments(network_key: str) -> "pd.DataFrame":
    return maps.graph_segments(city(network_key, "11", 400).graph)


@st.cache_resource(show_spinner="Loading the expressway network and OD paths…")
def expressway() -> Any:
    return expressway_inputs()


@st.cache_resource(show_spinner="Generating refuelling sets for this range…", max_entries=8)
def frlm(range_km: float) -> FRLM:
    inputs = expressway()
    return FRLM.from_paths(inputs.paths, range_km=range_km, p=len(inputs.existing_nodes),
                           existing=list(inputs.existing_nodes))


@st.cache_resource(show_spinner="Running the scenario (once; then it is cached on disk)…", max_entries=8)
def plan(name: str) -> Any:
    return cached_plan(name)


def show_map(deck: Any, legend: str, *, caption: str = "", key: str | None = None) -> None:
    """The map on the left, its legend on the right (every map has one)."""
    left, right = st.columns([4, 1])
    with left:
        st.pydeck_chart(deck, height=520, key=key)
    with right:
        st.html(legend)
    if caption:
        st.caption(caption)


def guarded(function, *args, fix: str = "", stop: bool = True, **kwargs):
    """Call the library; a planning error becomes a message on the page, not a stack trace.

    ``fix`` adds what the app's user can do (the library's own message speaks to a
    programmer); with ``stop=False`` the rest of the page still runs and ``None`` is returned.
    """
    try:
        return function(*args, **kwargs)
    except MobilityPlanError as exc:
        st.error(f"{exc}\n\n**What to do:** {fix}" if fix else str(exc), icon=":material/error:")
        if stop:
            st.stop()
        return None


def year_fix(vehicle: str, year: int) -> str:
    """What the user can do when the library refuses ``year`` (empty when the year is not the cause)."""
    last = last_registered_year(vehicle)
    if year >= last:
        return ""
    return (f"choose a year from {last} on with the Year slider in the sidebar (registrations are known up to "
            f"{last}; this view looks forward from there)")


def target_fix(vehicle: str, target_year: int) -> str:
    """What the user can do when the library refuses a scenario's target (empty when its year is not the cause)."""
    last = last_registered_year(vehicle)
    if target_year > last:
        return ""
    return (f"this scenario's target year {target_year} is already past (registrations are known up to {last}), so "
            "no curve is bent through it; its figures (the target against what was registered and built) are on "
            "the Compare scenarios and Export pages. Choose a forward-looking scenario in the sidebar for this page.")
