"""Export: download a scenario's GeoJSON layouts and report, and the layouts solved on the city and hydrogen pages."""

import geopandas as gpd
import streamlit as st

from app_pages import _shared as shared
from mobility_plan.export import geojson_bytes

st.title("Export")
scenario, _ = shared.current()
st.subheader(f"Scenario {scenario.name}")
plan = shared.guarded(shared.plan, scenario.name)
st.caption(f"Outputs of `mobility-plan plan {scenario.name}` (RFC 7946 GeoJSON, WGS84 lon/lat), run once and "
           "then cached.")
mime = {".geojson": "application/geo+json", ".json": "application/json", ".md": "text/markdown", ".png": "image/png"}
columns = st.columns(4)
for k, (name, path) in enumerate(sorted(plan.files.items())):
    size_kb = path.stat().st_size / 1e3
    columns[k % 4].download_button(f"{name} ({size_kb:,.0f} kB)", path.read_bytes(), file_name=f"{scenario.name}_{name}",
                                   mime=mime.get(path.suffix, "application/octet-stream"), key=f"dl_{name}")
with st.expander("report.md"):
    st.markdown(plan.files["report.md"].read_text(encoding="utf-8").replace("![map](map.png)", ""))

st.subheader("Layouts from this session")
solved = [("city_layout", "EV charging (city)", "city sites", "city_sites.geojson", "sites"),
          ("h2_layout", "Hydrogen stations (national)", "hydrogen stations", "h2_stations.geojson", "stations")]
for key, page, label, file_name, attribute in solved:
    layout = st.session_state.get(key)
    if layout is None:
        st.info(f"Open '{page}' to solve a layout; it can then be downloaded here.")
        continue
    table = getattr(layout, attribute)
    frame = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table["lon"], table["lat"]), crs="EPSG:4326")
    st.download_button(f"{label} ({len(frame)}, GeoJSON)", geojson_bytes(frame, sort_by=["status", "node"]),
                       file_name=file_name, mime="application/geo+json", key=f"dl_{key}")
