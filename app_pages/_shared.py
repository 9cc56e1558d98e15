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
def registered(vehicle: str) -> pd.DataFrame:
    """The registered national stock in the columns of :func:`projection` (``kind`` is ``actual``)."""
    stock = fleet.actual_stock(vehicle)
    return pd.DataFrame({"year": stock.index.astype("int64"), "stock_vehicles": stock.to_numpy(), "kind": "actual"})


def fleet_series(chosen: Any) -> pd.DataFrame:
    """The national stock a page shows for a scenario: registered years, then its curve bent through the target.

    A scenario whose target year is already registered (a backcast) has no curve: the
    registered years only, and a note on the page saying so.
    """
    target = chosen.fleet
    last = last_registered_year(target.vehicle)
    if target.target_year <= last:
        st.info(f"Scenario {chosen.name} looks back: its target ({target.target_vehicles:,.0f} vehicles by "
                f"{target.target_year}) is set against what was registered (known up to {last}), so there is no "
                "scenario curve; years after that have no fleet here.", icon=":material/history:")
        return registered(target.vehicle)
    return guarded(projection, target.vehicle, target.target_vehicles, target.target_year,
                   fix="check the scenario's [fleet] table (target_vehicles, target_year, model)")


def fleet_in(series: pd.DataFrame, year: int, chosen: Any) -> float:
    """The national fleet of ``year`` in ``series``; a note and the end of the page when it has none."""
    row = series.loc[series["year"] == year, "stock_vehicles"]
    if row.empty:
        no_fleet(chosen, year, int(series["year"].max()))
    return float(row.iloc[0])


def no_fleet(chosen: Any, year: int, last: int) -> None:
    """Say that ``chosen`` has no fleet in ``year`` and what to do, then end the page."""
    st.info(f"No fleet for {year} in scenario {chosen.name}: choose a year up to {last} with the Year slider, "
            "or a forward-looking scenario in the sidebar.", icon=":material/info:")
    st.stop()


@st.cache_data(show_spinner="Allocating the fleet and its need…", max_entries=64)
def need_table(vehicle: str, national: float, year: int, level: str) -> pd.DataFrame:
    """Need per region without polygons; a year before the last registration is a look back (``backcast``)."""
    return demand.infrastructure_need(vehicle, national, year=year, level=level,
                                      backcast=year < last_registered_year(vehicle))


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


@st.cache_resource(show_spinner="Drawing the census boundaries…", max_entries=16)
def base(bounds: tuple[float, float, float, float] | None = None, levels: tuple[str, ...] = ("sido",),
         labels: str | None = "sido", fill_land: bool = True) -> maps.BaseGeography:
    """The base geography of a map (land, boundaries, Korean names) from the census boundaries."""
    return maps.base_geography(bounds, levels=levels, labels=labels, fill_land=fill_land)


def national_base() -> maps.BaseGeography:
    """Provinces and coastline (hover names a province): the base of every national map.

    No text labels: deck.gl's TextLayer drew no Korean glyphs in headless Chromium here (see the README)."""
    return base(None, ("sido",), None, True)


def city_base(lon: Any, lat: Any) -> maps.BaseGeography:
    """Districts (gu) and census areas (dong) around the points of a city map (hover names a dong)."""
    return base(maps.bounds_of(lon, lat), ("sigungu", "adm3"), None, False)


@st.cache_data
def area_names() -> dict[str, str]:
    """Census-area (ADM3) code -> ``"dong, gu"`` in Korean, for tooltips and tables."""
    from mobility_plan.census import load_census_adm3

    frame = load_census_adm3()
    return dict(zip(frame["adm3_code"].astype(str), frame["adm3_name_ko"] + ", " + frame["sigungu_name_ko"]))


def solve(key: str, what: str, function, *args, fix: str = "", **kwargs):
    """Solve with a visible status saying ``what`` is solved; on a refusal keep the last good result.

    The result is kept in ``st.session_state[key]``. When the library refuses (a
    :class:`MobilityPlanError`), the error and what to do are shown, then the last good
    result of ``key`` (from earlier settings) is returned with a note saying so; with none
    yet, the page ends.
    """
    try:
        with st.spinner(f"Solving: {what}…", show_time=True):
            result = function(*args, **kwargs)
    except MobilityPlanError as exc:
        st.error(f"{exc}\n\n**What to do:** {fix}" if fix else str(exc), icon=":material/error:")
        last = st.session_state.get(key)
        if last is None:
            st.stop()
        st.warning("Showing the last result that solved (from your previous settings) below.",
                   icon=":material/history:")
        return last
    st.session_state[key] = result
    return result


def table_with_total(table: pd.DataFrame, *, label_column: str, formats: dict[str, str],
                     total_label: str = "total", key: str | None = None) -> pd.DataFrame:
    """A table with number formats and units, and its total row directly below it.

    The total is its own one-row table under the first (same columns and formats) so that
    sorting the table never moves it. ``formats`` maps a column (its name carries the unit) to a
    ``NumberColumn`` format (``"localized"`` for thousands separators, ``"%.1f"``); the columns
    summed are those of ``formats``. Returns the total row.
    """
    config = {column: st.column_config.NumberColumn(format=fmt) for column, fmt in formats.items()}
    st.dataframe(table, hide_index=True, width="stretch", column_config=config, key=key)
    total = {column: "" for column in table.columns}  # blank where a sum means nothing (names, codes)
    total[label_column] = total_label
    for column in formats:
        total[column] = float(pd.to_numeric(table[column], errors="coerce").sum(min_count=1))
    frame = pd.DataFrame([total], columns=table.columns)
    st.dataframe(frame, hide_index=True, width="stretch", column_config=config,
                 key=None if key is None else f"{key}_total")
    return frame


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
