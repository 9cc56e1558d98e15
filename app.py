"""mobility_plan Streamlit app: a picture frame around the library (no domain logic here).

Run with ``make app`` or ``streamlit run app.py``.
"""

import streamlit as st

st.set_page_config(page_title="mobility_plan", page_icon="⚡", layout="wide")

pages = [
    st.Page("app_pages/overview.py", title="Data overview", icon="📊", default=True),
]
st.sidebar.caption("mobility_plan — EV charging and hydrogen refuelling planner for South Korea")
st.navigation(pages).run()
