"""Validation: every backtest against what Korea really built, in one table, and the details each check attaches.

A provider's ``Check.details`` are shown by kind: ``series`` (a hold-out with ``year``,
``actual_vehicles``, ``predicted_vehicles``, ``low_vehicles``, ``high_vehicles`` and
optionally ``naive_vehicles``; ``history`` adds the years before) as a band chart; any
table with ``lon`` and ``lat`` columns as a map (coloured by ``kind``); other tables as
tables; plain values as a list.
"""

import altair as alt
import pandas as pd
import streamlit as st

from app_pages import _shared as shared
from mobility_plan import maps
from mobility_plan.validate import checks_frame, goals_met, providers, run_checks


@st.cache_data(show_spinner="Running the backtests…")
def _checks(areas: tuple[str, ...]) -> list:
    return run_checks(list(areas))


@st.cache_data
def _areas() -> list[str]:
    return sorted(providers())


def _band_chart(series: pd.DataFrame, history: pd.DataFrame | None) -> alt.LayerChart:
    actual = pd.concat([history[["year", "actual_vehicles"]] if history is not None else None,
                        series[["year", "actual_vehicles"]]]).rename(columns={"actual_vehicles": "vehicles"})
    lines = [actual.assign(series="registered"),
             series[["year", "predicted_vehicles"]].rename(columns={"predicted_vehicles": "vehicles"})
             .assign(series="model (central)")]
    if "naive_vehicles" in series:
        lines.append(series[["year", "naive_vehicles"]].rename(columns={"naive_vehicles": "vehicles"})
                     .assign(series="naive baseline"))
    lines = pd.concat(lines, ignore_index=True)
    lines = lines[lines["vehicles"] > 0]  # log scale
    colors = alt.Scale(domain=["registered", "model (central)", "naive baseline", "model band"],
                       range=["#1f77b4", "#d62728", "#999999", "#f4a6a6"])
    band = alt.Chart(series.assign(series="model band")).mark_area(opacity=0.35).encode(
        x=alt.X("year:Q", axis=alt.Axis(format="d"), title="year"), y="low_vehicles:Q", y2="high_vehicles:Q",
        color=alt.Color("series:N", scale=colors, title="series"),
        tooltip=[alt.Tooltip("year:Q", format="d"), alt.Tooltip("low_vehicles:Q", format=",.0f", title="low"),
                 alt.Tooltip("high_vehicles:Q", format=",.0f", title="high")])
    line = alt.Chart(lines).mark_line(point=True).encode(
        x="year:Q", y=alt.Y("vehicles:Q", title="vehicles", scale=alt.Scale(type="log")),
        color=alt.Color("series:N", scale=colors), strokeDash=alt.condition(
            alt.datum.series == "naive baseline", alt.value([4, 3]), alt.value([1, 0])),
        tooltip=[alt.Tooltip("year:Q", format="d"), "series:N", alt.Tooltip("vehicles:Q", format=",.0f")])
    return band + line


def _map(frame: pd.DataFrame, title: str) -> None:
    kinds = frame["kind"].astype(str) if "kind" in frame else pd.Series(["point"] * len(frame), index=frame.index)
    fallback = [[148, 103, 189, 220], [255, 127, 14, 220], [140, 86, 75, 220], [23, 190, 207, 220]]
    palette = {k: maps.CATEGORY_COLORS.get(k, fallback[i % len(fallback)]) for i, k in enumerate(sorted(set(kinds)))}
    points = frame.assign(color=[palette[k] for k in kinds], kind=kinds)
    points = maps.with_tips(points, list(kinds), [[f"{lat:.4f} N, {lon:.4f} E"] for lon, lat in
                                                  zip(points["lon"], points["lat"])])
    layer = maps.points_layer(points, color="color", radius_m=1500.0, columns=maps.TOOLTIP_FIELDS)
    geography = shared.national_base()
    view = maps.view_for(points["lon"], points["lat"])
    legend = maps.legend_html(title, [maps.LegendEntry(c, k, "circle") for k, c in palette.items()]
                              + list(geography.legend), view=view, note="boundaries: Statistics Korea census")
    shared.show_map(maps.deck([*geography.layers, layer], view), legend, key=f"validation_map_{title}")


st.title("Validation")
st.caption("Hold-out rows fit on what was known before a hold-out period and score the years after it, beside a "
           "naive baseline computed in the same run; calibration rows compare a fit with the data it was fitted on "
           "and are never counted as goals met. Where a row still uses later information (a census or registration "
           "table published after the hold-out starts), its note says so. Same table as `mobility-plan validate`.")
areas = _areas()
chosen = st.multiselect("Areas", areas, default=areas, key="validation_areas")
if not chosen:
    st.info("Choose at least one area.")
    st.stop()
rows = shared.guarded(_checks, tuple(chosen))
frame = checks_frame(rows)
met, total = goals_met(rows)
st.metric("Hold-out goals met", f"{met} of {total}",
          help="calibration rows are shown in the table but not counted")
st.dataframe(frame, hide_index=True, width="stretch", column_config={
    "model_value": st.column_config.NumberColumn("model value", format="%.3g"),
    "baseline_value": st.column_config.NumberColumn("baseline value", format="%.3g"),
    "met": st.column_config.CheckboxColumn("goal met"),
    "beats_baseline": st.column_config.CheckboxColumn("beats baseline")})

labels = [f"{r.area} · {r.measure} · {r.model}" for r in rows]
default = next((i for i, r in enumerate(rows) if r.model == "ensemble"), 0)
pick = st.selectbox("Details of", range(len(rows)), index=default, format_func=labels.__getitem__,
                    key="validation_row")
row = rows[pick]
st.subheader(labels[pick])
st.caption(row.note or "no note")
plain = {}
for name, value in row.details.items():
    if isinstance(value, pd.DataFrame):
        if name == "series" and {"year", "actual_vehicles", "low_vehicles", "high_vehicles"} <= set(value.columns):
            st.markdown("**Hold-out band against registered stock** (log scale)")
            st.altair_chart(_band_chart(value, row.details.get("history")), width="stretch")
            st.dataframe(value.round(1), hide_index=True, width="stretch")
        elif name != "history" and {"lon", "lat"} <= set(value.columns):
            _map(value, name)
        elif "geometry" in value.columns:  # geometry layers are for the library and exports; maps use lon/lat tables
            continue
        elif name != "history":
            st.markdown(f"**{name}**")
            st.dataframe(value, hide_index=True, width="stretch")
    else:
        plain[name] = value
if plain:
    st.table(pd.DataFrame({"detail": list(plain), "value": [str(v) for v in plain.values()]}))
