"""Compare scenarios: KPI table side by side and each scenario's map (plans are run once and cached on disk)."""

import pandas as pd
import streamlit as st

from app_pages import _shared as shared

st.title("Compare scenarios")
names = shared.scenario_names()
chosen = st.multiselect("Scenarios (two or more)", names, default=["korea_2022_backcast", "seoul_central_ev"],
                        key="compare_names")
if len(chosen) < 2:
    st.info("Choose at least two scenarios to compare.")
    st.stop()

plans = {name: shared.guarded(shared.plan, name) for name in chosen}


def kpi_rows(summary: dict) -> dict[str, str]:
    """One column of the comparison table (units in the row names)."""
    years = sorted(summary["national_fleet_vehicles"])
    last = years[-1]
    need = summary["regional_need_by_year"][last]
    rows = {
        "vehicle": summary["vehicle"].upper(), "mode": summary["mode"], "years": ", ".join(years),
        "fleet in the last year (vehicles)": f"{summary['national_fleet_vehicles'][last]:,}",
        "need in the last year": f"{need['need']:,} {need['need_unit']}",
        "existing in the last year": "n/a" if need["existing"] is None else f"{need['existing']:,}",
        "deficit in the last year": "n/a" if need["deficit"] is None else f"{need['deficit']:,}",
    }
    for layer, kpis in summary["layers"].items():
        for key in ("coverage_pct_by_year", "flow_refuelled_pct_by_year"):
            if key in kpis:
                rows[f"{layer}: {key.replace('_pct_by_year', '')} in {last} (%)"] = f"{kpis[key].get(last, float('nan')):.1f}"
        for key in ("sites_by_year", "stations_by_year"):
            if key in kpis:
                rows[f"{layer}: {key.replace('_by_year', '')} in {last}"] = f"{kpis[key].get(last, 0):,}"
    return rows


table = pd.DataFrame({name: kpi_rows(plan.summary) for name, plan in plans.items()})
st.subheader("Key figures")
st.dataframe(table.fillna("—"), width="stretch")
st.subheader("Maps")
for column, (name, plan) in zip(st.columns(len(plans)), plans.items()):
    with column:
        st.markdown(f"**{name}**")
        st.image(str(plan.files["map.png"]), caption=f"{name}: static plan map with legend (from map.png)")
