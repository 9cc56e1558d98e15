"""Hydrogen stations (national): expressway network, OD flows, existing stations by build year, proposed rollout."""

import streamlit as st

from app_pages import _shared as shared
from mobility_plan import maps
from mobility_plan.explore import solve_expressway

scenario, year = shared.current()
st.title("Hydrogen stations (national)")
c1, c2, c3 = st.columns(3)
range_km = c1.select_slider("Vehicle range (km)", [150, 200, 300, 400, 500, 600, 700], value=600, key="h2_range",
                            help="Distance a fuel-cell car drives on a full tank; it starts each trip half full")
per_period = c2.slider("New stations per period (2026, 2028, 2030)", 1, 30, 10, key="h2_per_period")
exact = c3.toggle("Exact MILP (HiGHS, ≤ 20 s) instead of greedy", value=False, key="h2_exact")

inputs = shared.expressway()
model = shared.frlm(float(range_km))
method = "exact MILP (HiGHS)" if exact else "greedy"
layout = shared.solve("h2_layout", f"{per_period} new stations per period for a {range_km} km range ({method})",
                      solve_expressway, inputs, model, per_period=per_period, exact=exact,
                      fix="fewer stations per period, or the greedy method")
k = layout.kpis
shares = k["flow_refuelled_pct_by_year"]
shown_year = max([y for y in shares if y <= year], default=min(shares))
m = st.columns(4)
m[0].metric(f"OD flow refuelled in {shown_year} (%)", f"{shares[shown_year]:.1f}")
m[1].metric("Existing stations on the network (stations)", f"{k['existing_on_network']}")
m[2].metric("New stations by 2030 (stations)", f"{k['new_stations']}")
m[3].metric("Solve time (s)", f"{layout.seconds:.2f}", help=f"status {k['status']}, gap {k['gap']}")

year_colors = {2026: [255, 200, 0, 240], 2028: [255, 127, 14, 240], 2030: [214, 39, 40, 240]}
stations = layout.stations
new = stations[(stations["status"] == "new") & (stations["year"] <= year)]
new = new.assign(color=new["year"].map(year_colors))
new = maps.with_tips(new, [f"proposed station at {r.name} interchange" for r in new.itertuples()],
                     [[f"opens {r.year:.0f}"] for r in new.itertuples()])
real = inputs.stations.assign(lon=inputs.stations.geometry.x, lat=inputs.stations.geometry.y)
real = real[real["build_year"] <= year]
build_colors, build_legend = maps.color_bins(real["build_year"].to_numpy(dtype=float), palette="Blues", classes=4,
                                             alpha=220, integer=True, label_format="{:d}")
real = real.assign(color=build_colors)
real = maps.with_tips(real, [str(r.name) for r in real.itertuples()],
                      [[f"built {r.build_year:.0f}",
                        str(r.address) if isinstance(r.address, str) else "address not listed",
                        "on the expressway network" if r.on_network else
                        f"{r.snap_distance_m / 1000:,.1f} km from the nearest interchange"]
                       for r in real.itertuples()])
flows = layout.flows.assign(color=[maps.CATEGORY_COLORS["refuelled" if r else "not refuelled"]
                                   for r in layout.flows["refuelled"]])
flows = maps.with_tips(flows, [f"{r.origin} → {r.destination}" for r in flows.itertuples()],
                       [[f"{r.vehicles:,.0f} vehicles (2011 OD)", f"{r.length_km:,.0f} km",
                         "refuelled" if r.refuelled else "not refuelled"] for r in flows.itertuples()])
names = inputs.nodes["name"]
network = maps.with_tips(inputs.edges, [f"{names.get(a) or a} – {names.get(b) or b}" for a, b in
                                        zip(inputs.edges["node0"], inputs.edges["node1"])],
                         [["expressway between two interchanges (2011 network)"]] * len(inputs.edges))
geography = shared.national_base()
layers = [
    *geography.layers,
    maps.lines_layer(network, color=maps.CATEGORY_COLORS["network"], width_px=1.5, columns=maps.TOOLTIP_FIELDS,
                     layer_id="network"),
    maps.lines_layer(flows, color="color", width_px=1.0, columns=maps.TOOLTIP_FIELDS, layer_id="flows"),
    maps.points_layer(real, color="color", radius_m=2500, columns=maps.TOOLTIP_FIELDS, layer_id="real"),
    maps.points_layer(new, color="color", radius_m=6000, columns=maps.TOOLTIP_FIELDS, layer_id="proposed",
                      min_pixels=6),
]
entries = [maps.LegendEntry(maps.CATEGORY_COLORS["network"], "expressway (2011 network)", "line"),
           maps.LegendEntry(maps.CATEGORY_COLORS["refuelled"], "top-400 OD flow, refuelled", "line"),
           maps.LegendEntry(maps.CATEGORY_COLORS["not refuelled"], "top-400 OD flow, not refuelled", "line")]
entries += [maps.LegendEntry(e.color, f"real station built {e.label}", "circle") for e in build_legend]
entries += [maps.LegendEntry(c, f"proposed, opened {y}", "circle") for y, c in year_colors.items() if y <= year]
entries += list(geography.legend)
view = maps.view_for(inputs.nodes["lon"], inputs.nodes["lat"])
shared.show_map(maps.deck(layers, view),
                maps.legend_html(f"hydrogen, range {range_km} km, up to {year}", entries, view=view,
                                 note="Stations: Korea Gas Safety / MOE list; flows: 2011 expressway OD (KEC); "
                                      "boundaries: Statistics Korea census"),
                caption="A flow is refuelled when its round trip never runs a stretch longer than the range between "
                        "stations (vehicles start half full).", key="h2_map")
st.subheader("Flow refuelled by period (%)")
st.bar_chart({str(y): v for y, v in shares.items()}, x_label="year", y_label="OD flow refuelled (%)")
