"""Overview: the national stock against the targets (2014-2030) and the national KPIs of the chosen scenario."""

import altair as alt
import pandas as pd
import streamlit as st

from app_pages import _shared as shared
from mobility_plan import data, fleet


@st.cache_data(show_spinner="Projecting the fleet band…")
def ensemble_band(vehicle: str) -> pd.DataFrame:
    return fleet.project_fleet(vehicle, 2030, model="ensemble")


scenario, year = shared.current()
vehicle = scenario.fleet.vehicle
label = {"ev": "EVs", "fcev": "fuel-cell cars"}[vehicle]
st.title("Overview")
st.caption(f"Scenario **{scenario.name}** · {label} · target {scenario.fleet.target_vehicles:,.0f} vehicles by "
           f"{scenario.fleet.target_year} · data directory `{data.data_dir()}`")

series = shared.projection(vehicle, scenario.fleet.target_vehicles, scenario.fleet.target_year)
series = series[series["year"].between(2014, 2030)]
marks = shared.targets()
marks = marks[(marks["item"] == f"{vehicle}_stock") & marks["year"].between(2014, 2030)]
actual = series[series["kind"] == "actual"]
at_year = series.loc[series["year"] == year, "stock_vehicles"]
last_actual = actual.iloc[-1]
cols = st.columns(4)
cols[0].metric(f"Registered, end {int(last_actual['year'])} (vehicles)", f"{last_actual['stock_vehicles']:,.0f}")
cols[1].metric(f"Scenario fleet {year} (vehicles)", f"{float(at_year.iloc[0]):,.0f}")
cols[2].metric(f"Target {scenario.fleet.target_year} (vehicles)", f"{scenario.fleet.target_vehicles:,.0f}")
need = shared.need_layer(vehicle, float(at_year.iloc[0]), year, "sido", 500.0)
unit = str(need["need_unit"].iloc[0])
cols[3].metric(f"Need in {year} ({unit})", f"{need['need'].sum():,.0f}",
               delta=f"deficit {need['deficit'].sum():,.0f}" if need["deficit"].notna().any() else None,
               delta_color="inverse")

st.subheader(f"{label}: registered stock, scenario curve and targets (vehicles)")
lines = series.assign(series=series["kind"].map({"actual": "registered", "projected": "scenario curve"}))
colors = alt.Scale(domain=["registered", "scenario curve", "target", "ensemble band"],
                   range=["#1f77b4", "#7fb8e8", "crimson", "#f2b36b"])
band = ensemble_band(vehicle)
band = band[band["kind"] == "projected"].assign(series="ensemble band")
area = alt.Chart(band).mark_area(opacity=0.3).encode(
    x="year:O", y="stock_low_vehicles:Q", y2="stock_high_vehicles:Q", color=alt.Color("series:N", scale=colors),
    tooltip=[alt.Tooltip("year:O"), alt.Tooltip("stock_low_vehicles:Q", format=",.0f", title="low (vehicles)"),
             alt.Tooltip("stock_vehicles:Q", format=",.0f", title="ensemble central (vehicles)"),
             alt.Tooltip("stock_high_vehicles:Q", format=",.0f", title="high (vehicles)")])
chart = alt.Chart(lines).mark_line(point=True).encode(
    x=alt.X("year:O", title="year"), y=alt.Y("stock_vehicles:Q", title="vehicles"),
    color=alt.Color("series:N", title="series", scale=colors),
    tooltip=[alt.Tooltip("year:O"), alt.Tooltip("stock_vehicles:Q", format=",.0f", title="vehicles")])
stars = alt.Chart(marks.assign(series="target")).mark_point(shape="diamond", size=160, filled=True).encode(
    x="year:O", y="value:Q", color=alt.Color("series:N", scale=colors), tooltip=[alt.Tooltip("year:O"), alt.Tooltip("value:Q", format=",.0f", title="target (vehicles)"),
                                      alt.Tooltip("status:N"), alt.Tooltip("source:N")])
st.altair_chart(area + chart + stars, width="stretch")
st.caption("Diamonds: policy targets (data/targets.csv, each with its source). Registered stock: Ministry of Land, "
           "Infrastructure and Transport; the scenario curve is a logistic fit bent through the target. Shaded: the "
           "band of the fleet ensemble (lowest to highest of its models, from the last registered year; see the "
           "Validation page for its 2021-2024 hold-out).")

st.subheader(f"{year} by province")
table = pd.DataFrame(need.drop(columns="geometry"))[["region_en", "vehicles", "energy_per_day", "need", "existing",
                                                     "deficit"]]
energy_unit = str(need["energy_unit"].iloc[0])
table = table.round({"energy_per_day": 0})
table.columns = ["province", f"{label} (vehicles)", f"energy ({energy_unit})", f"need ({unit})",
                 f"existing ({unit})", f"deficit ({unit})"]
st.dataframe(table.sort_values(table.columns[1], ascending=False), hide_index=True, width="stretch",
             column_config={c: st.column_config.NumberColumn(format="localized") for c in table.columns[1:]})
