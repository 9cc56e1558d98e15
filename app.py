"""mobility_plan Streamlit app: a picture frame around the library (no domain logic here).

Run with ``make app`` or ``streamlit run app.py``.
"""

import streamlit as st

from app_pages._shared import YEARS, scenario, scenario_names

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

navigation.run()
