"""EV charging (city): demand, existing stations, proposed sites sized in plugs and their service areas; re-solves."""

import streamlit as st

from app_pages import _shared as shared
from mobility_plan import maps
from mobility_plan.city import city_instance
from mobility_plan.explore import solve_city
from mobility_plan.uploads import MAX_UPLOAD_MB, read_upload

NETWORKS = {"osm_seoul_central": "central Seoul (Jongno, Jung, Seodaemun)", "osm_seoul_yongsan": "Yongsan-gu",
            "osm_songpa_xml": "Songpa (Overpass export)"}
MODELS = {"mclp": "max coverage", "pmedian": "least travel time"}
scenario, year = shared.current()
st.title("EV charging (city)")

c1, c2, c3, c4 = st.columns(4)
network_key = c1.selectbox("Road network (OSM)", list(NETWORKS), format_func=NETWORKS.get, key="city_network")
model = c2.radio("Model", list(MODELS), horizontal=True, key="city_model", format_func=MODELS.get)
new_sites = c3.slider("New sites", 1, 40, 10, key="city_sites")
radius_min = c4.slider("Coverage radius (minutes of driving)", 0.5, 5.0, 1.0, step=0.25, key="city_radius_min",
                       format="%.2f min",
                       help="Driving time on the road network from a demand point to its nearest site")
radius_s = round(radius_min * 60.0)
keep_existing = st.toggle("Keep existing KEPCO stations", value=True, key="city_keep")

with st.expander("Upload your own demand layer or candidate sites (GeoJSON / GeoPackage)"):
    u1, u2 = st.columns(2)
    demand_file = u1.file_uploader(f"Demand: points or polygons with a numeric 'weight' column (≤ {MAX_UPLOAD_MB:.0f} MB)",
                                   type=["geojson", "json", "gpkg"], key="city_demand_upload")
    sites_file = u2.file_uploader(f"Candidate sites: points (≤ {MAX_UPLOAD_MB:.0f} MB)",
                                  type=["geojson", "json", "gpkg"], key="city_sites_upload")

demand_layer = candidates = None
if demand_file is not None:
    upload = shared.guarded(read_upload, demand_file.getvalue(), demand_file.name, geometry="any",
                            weight_column="weight")
    demand_layer = upload.frame
    st.success(f"Demand layer {upload.filename}: {len(demand_layer)} features, total weight "
               f"{demand_layer['weight'].sum():,.0f}; {upload.crs_note}")
if sites_file is not None:
    upload = shared.guarded(read_upload, sites_file.getvalue(), sites_file.name, geometry="points")
    candidates = upload.frame
    st.success(f"Candidate sites {upload.filename}: {len(candidates)} points; {upload.crs_note}")

if demand_layer is None and candidates is None:
    city = shared.city(network_key, "11", 400)
    weights = [shared.ev_weights(year).get(code, 0.0) for code in city.demand_codes]
    weight_label = f"EVs in {year}"
else:
    city = shared.guarded(city_instance, network_key, "11", graph=shared.city(network_key, "11", 400).graph,
                          demand_points=demand_layer, candidate_points=candidates)
    weights = None if demand_layer is not None else [shared.ev_weights(year).get(c, 0.0) for c in city.demand_codes]
    weight_label = "uploaded weight" if demand_layer is not None else f"EVs in {year}"

layout = shared.solve("city_layout", f"{MODELS[model]}, {new_sites} new sites within {radius_min:g} min on "
                      f"{NETWORKS[network_key]}", solve_city, city, model=model, new_sites=new_sites,
                      radius_s=float(radius_s), keep_existing=keep_existing, weights=weights,
                      fix="fewer new sites, a longer radius, or keep the existing stations")
k = layout.kpis
shown_radius_s = round(float(k["radius_s"]))
m = st.columns(5)
m[0].metric(f"Covered within {shown_radius_s / 60:g} min (%)", f"{k['coverage_pct']:.1f}",
            help=f"share of all demand within {shown_radius_s / 60:g} min ({shown_radius_s} s) of driving on the "
                 "road network; demand cut off from the network counts as not covered")
m[1].metric("Mean travel time to a site (min)", f"{k['mean_travel_min']:.2f}")
m[2].metric("Sites: new / existing", f"{k['sites_new']} / {k['sites_existing']}")
m[3].metric("Plugs at new sites (plugs)", f"{k['plugs_new']:,}")
m[4].metric("Solve time (s)", f"{layout.seconds:.2f}", help=f"solver status: {k['status']}")

areas = shared.area_names()
streets = maps.node_street_names(city.graph, list(layout.sites["node"]))
sites = layout.sites.assign(color=layout.sites["status"].map({"existing": maps.CATEGORY_COLORS["existing"],
                                                              "new": maps.CATEGORY_COLORS["new"]}),
                            radius=30 + 6 * layout.sites["plugs"], place=streets)
sites = maps.with_tips(sites, [f"{'existing station' if r.status == 'existing' else 'proposed site'} at {r.place}"
                               for r in sites.itertuples()],
                       [[f"plugs: {r.plugs}", f"EVs served: {r.evs_served:,.0f}",
                         f"charges per day: {r.charges_per_day:,.0f}"] for r in sites.itertuples()])
points = layout.demand_points
points = points.assign(radius=20 + 180 * (points["evs"] / max(points["evs"].max(), 1e-9)) ** 0.5)
points = maps.with_tips(points, [areas.get(str(r.code), f"area {r.code}") for r in points.itertuples()],
                        [[f"{weight_label}: {r.evs:,.0f}", f"drive to the nearest site: {r.travel_min:.1f} min"]
                         for r in points.itertuples()])
service = layout.areas.assign(place=maps.node_street_names(city.graph, list(layout.areas["node"])))
service = maps.with_tips(service, [f"service area of the site at {p}" for p in service["place"]],
                         [[f"within {shown_radius_s / 60:g} min of driving"]] * len(service))
geography = shared.city_base(points["lon"], points["lat"])
layers = [
    *geography.layers,
    maps.lines_layer(shared.road_segments(network_key), color=[170, 170, 170, 150], width_px=1, layer_id="roads"),
    maps.polygons_layer(service, maps.CATEGORY_COLORS["coverage"], columns=maps.TOOLTIP_FIELDS, layer_id="areas"),
    maps.points_layer(points, color=maps.CATEGORY_COLORS["demand"], radius_m="radius",
                      columns=maps.TOOLTIP_FIELDS, layer_id="demand"),
    maps.points_layer(sites, color="color", radius_m="radius", columns=maps.TOOLTIP_FIELDS, layer_id="sites"),
]
view = maps.view_for(points["lon"], points["lat"])
legend = maps.legend_html("EV charging", [
    maps.LegendEntry([170, 170, 170, 150], "road (OSM drive network)", "line"),
    maps.LegendEntry(maps.CATEGORY_COLORS["demand"], f"demand point (size = {weight_label})", "circle"),
    maps.LegendEntry(maps.CATEGORY_COLORS["existing"], "existing station (kept)", "circle"),
    maps.LegendEntry(maps.CATEGORY_COLORS["new"], "proposed site (size = plugs)", "circle"),
    maps.LegendEntry(maps.CATEGORY_COLORS["coverage"], f"service area of a new site ({shown_radius_s / 60:g} min)",
                     "box"),
    *geography.legend,
], note="Roads © OpenStreetMap contributors; boundaries: Statistics Korea census", view=view)
shared.show_map(maps.deck(layers, view), legend,
                caption="Plugs sized by Erlang C (P(wait) ≤ 20 %, mean wait ≤ 10 min) for the design-hour arrivals of "
                        "the EVs each site serves. Roads © OpenStreetMap contributors.", key="city_map")
st.subheader("Sites")
table = sites[["place", "status", "plugs", "capacity_vehicles_per_h", "evs_served", "charges_per_day", "node"]]
table = table.round({"evs_served": 0, "charges_per_day": 0, "capacity_vehicles_per_h": 1})
table = table.rename(columns={"place": "site (streets)",
                              "capacity_vehicles_per_h": "capacity (vehicles/h)", "evs_served": "EVs served (vehicles)",
                              "charges_per_day": "charges (per day)", "node": "OSM node"})
shared.table_with_total(table, label_column="site (streets)",
                        formats={"plugs": "localized", "capacity (vehicles/h)": "%.1f",
                                 "EVs served (vehicles)": "localized", "charges (per day)": "localized"},
                        total_label="all sites", key="city_sites_table")
