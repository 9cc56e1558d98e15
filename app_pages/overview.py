"""Overview page: which data are loaded, the national fleet against the targets, census totals."""

import pandas as pd
import streamlit as st

from mobility_plan import census, data


@st.cache_data(show_spinner="Checking datasets…")
def dataset_status() -> pd.DataFrame:
    return data.check_sources(verify_checksums=False)


@st.cache_data
def national_stock() -> pd.DataFrame:
    return data.load_national_fleet_stock()


@st.cache_data(show_spinner="Loading census…")
def sido_census() -> pd.DataFrame:
    return pd.DataFrame(census.load_census_sido().drop(columns="geometry"))


st.title("Data overview")
st.caption(f"Data directory: `{data.data_dir()}` (set MOBILITY_PLAN_DATA_DIR to change it)")

status = dataset_status()
ok = int((status["status"] == "ok").sum())
stock = national_stock()
sido = sido_census()
last = stock.iloc[-1]
cols = st.columns(4)
cols[0].metric("Datasets present", f"{ok} / {len(status)}")
cols[1].metric(f"EVs registered, end {int(last['year'])} (vehicles)", f"{int(last['ev_stock']):,}")
cols[2].metric(f"Fuel-cell cars, end {int(last['year'])} (vehicles)", f"{int(last['fcev_stock']):,}")
cols[3].metric("Population 2025 (million persons)", f"{sido['population'].sum() / 1e6:,.2f}")

st.subheader("National stock of EVs and fuel-cell cars (vehicles, year end)")
chart = stock.assign(year=stock["year"].astype(str)).set_index("year")[["ev_stock", "fcev_stock"]].rename(
    columns={"ev_stock": "EVs (vehicles)", "fcev_stock": "Fuel-cell cars (vehicles)"}
)
st.line_chart(chart, x_label="year", y_label="vehicles")
st.caption("Source: Ministry of Land, Infrastructure and Transport registration statistics (2025 rounded).")

st.subheader("Census 2025 by province")
table = sido[["sido_name_ko", "sido_name_en", "population", "households", "apartment_share"]].rename(
    columns={
        "sido_name_ko": "province",
        "sido_name_en": "province (en)",
        "population": "population (persons)",
        "households": "households",
        "apartment_share": "apartment share (%)",
    }
)
table["apartment share (%)"] = (table["apartment share (%)"] * 100).round(1)
st.dataframe(table, hide_index=True, width="stretch")

st.subheader("Datasets")
st.dataframe(status, hide_index=True, width="stretch")
