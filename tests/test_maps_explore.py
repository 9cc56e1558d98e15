"""Map building blocks (colour classes, legends, pydeck specs) and the app's interactive re-solves."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from mobility_plan import ValidationError, maps
from mobility_plan.city import city_instance, service_areas
from mobility_plan.explore import expressway_inputs, solve_city, solve_expressway
from mobility_plan.siting import FRLM


def test_color_bins_classes_and_legend():
    colors, legend = maps.color_bins([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, np.nan], classes=5, unit="vehicles")
    assert len(colors) == 11 and colors[-1][:3] == [200, 200, 200]
    assert len(legend) == 6 and legend[-1].label == "no data" and legend[0].label.endswith("vehicles")
    assert colors[0] != colors[9]  # low and high values differ
    _, years = maps.color_bins([2019, 2021, 2023], classes=2, label_format="{:.0f}")
    assert "2,0" not in years[0].label and years[0].label.startswith("2019")
    with pytest.raises(ValidationError, match="unknown palette"):
        maps.color_bins([1, 2], palette="Rainbow")


def test_legend_html_escapes_and_lists_every_entry():
    html = maps.legend_html("need <stations>", [maps.LegendEntry([1, 2, 3], "a & b", "circle"),
                                                maps.LegendEntry([4, 5, 6, 100], "line", "line")], note="© OSM")
    assert "mp-legend" in html and "need &lt;stations&gt;" in html and "a &amp; b" in html
    assert html.count("<span>") == 2 and "© OSM" in html


def test_deck_has_no_basemap_and_carries_the_layers():
    frame = gpd.GeoDataFrame({"name": ["a", "b"], "value": [1.0, 2.0]},
                             geometry=[box(126.9, 37.5, 127.0, 37.6), box(127.0, 37.5, 127.1, 37.6)], crs="EPSG:4326")
    colors, _ = maps.color_bins(frame["value"])
    layer = maps.choropleth_layer(frame, colors, columns=["name", "value"])
    spec = json.loads(maps.deck([layer], maps.view_for([126.9, 127.1], [37.5, 37.6]), tooltip="{name}").to_json())
    assert spec.get("mapStyle") in (None, "") and len(spec["layers"]) == 1
    assert len(spec["layers"][0]["data"]["features"]) == 2
    assert 9 < spec["initialViewState"]["zoom"] < 13
    with pytest.raises(ValidationError, match="no CRS"):
        maps.choropleth_layer(frame.set_crs(None, allow_override=True), colors, columns=["name"])


def test_city_resolve_and_service_areas(shared_data):
    city = city_instance("osm_seoul_central", "11")
    few = solve_city(city, new_sites=2, radius_s=60, keep_existing=False)
    many = solve_city(city, new_sites=12, radius_s=60, keep_existing=False)
    assert few.kpis["sites_total"] == 2 and many.kpis["sites_total"] == 12
    assert many.kpis["coverage_pct"] >= few.kpis["coverage_pct"]
    assert (many.sites["plugs"] >= 1).all() and many.sites["evs_served"].sum() == pytest.approx(city.weights.sum())
    median = solve_city(city, model="pmedian", new_sites=12, radius_s=60, keep_existing=False)
    assert median.kpis["mean_travel_min"] <= many.kpis["mean_travel_min"] + 1e-9
    kept = solve_city(city, new_sites=3, radius_s=60)
    assert kept.kpis["sites_existing"] == len(city.existing_nodes) and kept.kpis["sites_new"] == 3
    small, large = service_areas(city.graph, [city.site_nodes[0]] * 2, 60.0)[0], \
        service_areas(city.graph, [city.site_nodes[0]], 180.0)[0]
    assert small.is_valid and large.area > small.area
    with pytest.raises(ValidationError, match="open at least one"):
        solve_city(city, new_sites=0)
    with pytest.raises(ValidationError, match="model"):
        solve_city(city, model="pcenter")


def test_expressway_rollout_greedy_and_exact(shared_data):
    inputs = expressway_inputs()
    model = FRLM.from_paths(inputs.paths, range_km=600.0, p=len(inputs.existing_nodes),
                            existing=list(inputs.existing_nodes))
    greedy = solve_expressway(inputs, model, per_period=3)
    exact = solve_expressway(inputs, model, per_period=3, exact=True, time_limit_s=60)
    assert greedy.kpis["new_stations"] == exact.kpis["new_stations"] == 9
    shares_g, shares_e = greedy.kpis["flow_refuelled_pct_by_year"], exact.kpis["flow_refuelled_pct_by_year"]
    assert list(shares_g) == [2026, 2028, 2030]
    assert all(a <= b for a, b in zip(list(shares_g.values()), list(shares_g.values())[1:]))
    # the exact rollout maximises the sum over periods, so it is at least as good in total
    assert sum(shares_e.values()) >= sum(shares_g.values()) - 1e-6
    assert len(greedy.flows) == 400 and set(greedy.stations["status"]) == {"existing", "new"}
