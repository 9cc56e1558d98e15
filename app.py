"""mobility_plan Streamlit app: a picture frame around the library (no domain logic here).

Run with ``make app`` or ``streamlit run app.py``.
"""

import logging

import streamlit as st

from app_pages._shared import YEARS, scenario, scenario_names
from mobility_plan import MobilityPlanError

st.set_page_config(page_title="mobility_plan", page_icon=":material/bolt:", layout="wide")

pages = [
    st.Page("app_pages/overview.py", title="Overview", icon=":material/dashboard:", default=True, url_path="overview"),
    st.Page("app_pages/fleet.py", title="Fleet & demand", icon=":material/map:", url_path="fleet"),
    st.Page("app_pages/city.py", title="EV charging (city)", icon=":material/ev_station:", url_path="city"),
    st.Page("app_pages/hydrogen.py", title="Hydrogen stations (national)", icon=":material/water_drop:", url_path="hydrogen"),
    st.Page("app_pages/compare.py", title="Compare scenarios", icon=":material/compare:", url_path="compare"),
    st.Page("app_pages/export.py", title="Export", icon=":material/download:", url_path="export"),
    st.Page("app_pages/validation.py", title="Validation", icon=":material/fact_check:", url_path="validation"),
]
navigation = st.navigation(pages)

with st.sidebar:
    names = scenario_names()
    st.selectbox("Scenario", names, index=names.index("korea_2030"), key="scenario",
                 help="Shipped scenarios in data/scenarios; pages use its vehicle type and target")
    st.select_slider("Year", YEARS, value=2030, key="year", help="Year shown on the fleet, city and hydrogen pages")
    chosen = scenario(st.session_state["scenario"])
    st.caption(chosen.description)
    st.caption("mobility_plan — EV charging and hydrogen refuelling planner for South Korea")

try:
    navigation.run()
except MobilityPlanError as exc:  # a refusal a page did not catch: still a clear message, never a traceback
    st.error(str(exc), icon=":material/error:")
except Exception as exc:  # noqa: BLE001 - last resort: the traceback goes to the server log, not the page
    logging.getLogger("mobility_plan.app").exception("page %s failed", navigation.title)
    st.error(f"Unexpected error on this page ({type(exc).__name__}: {str(exc)[:300]}). This is a bug in "
             "mobility_plan: please report it with the scenario, the year and the page's settings; the server log "
             "holds the details.", icon=":material/bug_report:")
