"""The app as a planner reads it (issue #19): tooltips that render, whole-number legends for counts,
formatted tables with their totals, minutes on the city page, no local paths, errors that keep the
last good result. Headless with Streamlit's AppTest, real data and real solvers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mobility_plan import maps

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
FIELD = re.compile(r"{([^{}]+)}")
TAG = re.compile(r"</?[a-zA-Z][^>]*>")


@pytest.fixture(autouse=True)
def plan_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("MOBILITY_PLAN_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "plan-cache"))


pytestmark = pytest.mark.usefixtures("app_process_state")  # tests/conftest.py: AppTest runs in this process


def _page(name: str, **sidebar) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=300).run()
    for key, value in sidebar.items():
        widget = at.sidebar.selectbox(key=key) if key == "scenario" else at.sidebar.select_slider(key=key)
        widget.set_value(value)
    at.switch_page(f"app_pages/{name}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _deck_problems(chart) -> list[str]:
    """What a browser would show wrong in the tooltips of one map, read from the chart's own JSON."""
    spec = json.loads(chart.proto.json)
    tooltip = json.loads(chart.proto.tooltip) if chart.proto.tooltip else {}
    template = tooltip.get("html") or tooltip.get("text") or ""
    fields = FIELD.findall(template)
    problems = []
    for layer in spec["layers"]:
        if not layer.get("pickable"):
            continue
        data = layer["data"]
        records = ([{**f, **f.get("properties", {})} for f in data["features"]] if isinstance(data, dict) else data)
        if not fields:
            problems.append(f"{layer['id']}: pickable with no tooltip")
        for record in records:
            missing = [f for f in fields if f not in record]
            if missing:
                problems.append(f"{layer['id']}: no {missing} in {sorted(record)[:8]}")
                break
            tagged = [f for f in fields if TAG.search(str(record[f]))]
            if tagged:
                problems.append(f"{layer['id']}: markup in {tagged}: {record[tagged[0]]!r}")
                break
    return problems


@pytest.mark.parametrize("page", ["city", "hydrogen", "fleet"])
def test_every_pickable_layer_has_the_tooltip_fields_in_plain_text(page, shared_data):
    at = _page(page)
    charts = at.get("deck_gl_json_chart")
    assert charts
    for chart in charts:
        spec = json.loads(chart.proto.json)
        assert any(layer.get("pickable") for layer in spec["layers"]), "no layer answers the mouse"
        assert _deck_problems(chart) == []


def test_the_tooltip_check_catches_what_the_issue_showed():
    """The checks above can fail: a pickable layer without the fields, and markup in a field."""
    import pandas as pd

    frame = pd.DataFrame({"lon": [127.0], "lat": [37.5]})
    bare = maps.points_layer(frame.assign(tip="x"), color=[0, 0, 0], columns=["tip"], layer_id="bare")
    assert maps.tooltip_problems([bare], maps.TOOLTIP_HTML)
    marked = maps.points_layer(maps.with_tips(frame, ["<b>proposed station</b> at 서서울"], [["opens 2026"]]),
                               color=[0, 0, 0], columns=maps.TOOLTIP_FIELDS, layer_id="marked")
    assert any("HTML tags" in p for p in maps.tooltip_problems([marked], maps.TOOLTIP_HTML))
    with pytest.raises(maps.ValidationError, match="lacks the tooltip field"):
        maps.deck([bare], maps.view_for([127.0], [37.5]))
    plain = maps.points_layer(frame, color=[0, 0, 0], layer_id="plain")  # no tooltip fields: not pickable
    assert maps.tooltip_problems([plain], maps.TOOLTIP_HTML) == []


def test_city_tooltips_name_places_not_codes(shared_data):
    spec = json.loads(_page("city").get("deck_gl_json_chart")[0].proto.json)
    layers = {layer["id"]: layer for layer in spec["layers"]}
    demand_titles = [record["tip_title"] for record in layers["demand"]["data"]]
    assert all(not re.fullmatch(r"(area )?\d+", title) for title in demand_titles)
    assert any(title.endswith("구") for title in demand_titles)  # "dong, gu"
    site_titles = [record["tip_title"] for record in layers["sites"]["data"]]
    assert any(re.search(r"[가-힣]", title) for title in site_titles)  # street names from OSM
    assert not layers["roads"].get("pickable")


def test_hydrogen_tooltips_name_interchanges_and_stations(shared_data):
    spec = json.loads(_page("hydrogen").get("deck_gl_json_chart")[0].proto.json)
    layers = {layer["id"]: layer for layer in spec["layers"]}
    assert layers["network"].get("pickable")  # expressways answer the mouse with their interchanges
    assert all(re.fullmatch(r"[가-힣A-Za-z0-9() ]+ – [가-힣A-Za-z0-9() ]+", r["tip_title"])
               for r in layers["network"]["data"]), layers["network"]["data"][0]
    assert all(" → " in r["tip_title"] for r in layers["flows"]["data"])
    assert all(r["tip_title"].startswith("proposed station at ") for r in layers["proposed"]["data"])
    assert all(re.search(r"[가-힣]", r["tip_title"]) for r in layers["real"]["data"])


def _class_bounds(label: str) -> list[str]:
    return re.findall(r"[\d,.]+", label.split(" stations")[0].split(" vehicles")[0])


def test_count_classes_are_whole_numbers_without_overlap():
    counts = np.array([0, 0, 1, 2, 3.4, 5, 8, 13, 21, 33.8, 73.2, np.nan])
    _, legend = maps.color_bins(counts, integer=True, unit="stations")
    labels = [entry.label for entry in legend if entry.label != "no data"]
    bounds = [[int(b.replace(",", "")) for b in _class_bounds(label)] for label in labels]
    assert all("." not in b for label in labels for b in _class_bounds(label)), labels
    flat = [b for pair in bounds for b in (pair if len(pair) == 2 else pair * 2)]
    assert flat[0] == 0 and flat[-1] == 73
    assert all(high < low for high, low in zip(flat[1::2], flat[2::2])), labels  # no overlap between classes
    _, fractional = maps.color_bins(counts, unit="stations")
    assert any("." in entry.label for entry in fractional)  # without integer=True: the old labels


def test_fleet_legend_of_a_count_uses_whole_numbers(shared_data):
    at = _page("fleet")
    at.selectbox(key="fleet_metric").set_value("need").run()
    legend = next(h.proto.body for h in at.get("html") if "mp-legend" in h.proto.body)
    labels = re.findall(r"<span>([^<]*stations)</span>", legend)
    assert labels and all(not re.search(r"\d\.\d", label) for label in labels), labels


@pytest.mark.slow
def test_census_areas_without_a_station_count_say_so(shared_data):
    """EVs by census area (ADM3) have no existing chargers (NA): the map, its tooltip and the table still show."""
    at = _page("fleet", scenario="seoul_central_ev")
    at.radio(key="fleet_level").set_value("adm3").run()
    at.selectbox(key="fleet_metric").set_value("existing").run()
    assert not at.exception, [e.value for e in at.exception]
    first = json.loads(at.get("deck_gl_json_chart")[0].proto.json)["layers"][0]["data"]["features"][0]["properties"]
    assert "existing: n/a (not known at this level)" in first["tip_body"]
    assert list(at.dataframe[1].value["region"]) == ["national total"]


def test_tables_carry_a_national_total(shared_data):
    at = _page("overview")
    table, total = at.dataframe[0].value, at.dataframe[1].value
    assert len(table) == 17 and list(total["province"]) == ["national total"]
    for column in table.columns[1:]:
        assert total[column].iloc[0] == pytest.approx(table[column].sum(min_count=1), nan_ok=True)
    assert total[table.columns[1]].iloc[0] == pytest.approx(table[table.columns[1]].sum())
    assert not any(m.proto.delta for m in at.metric), "the deficit is its own metric, not a delta"
    assert any(m.label.startswith("Deficit in 2030") for m in at.metric)


def test_overview_legend_tells_original_from_revised_targets(shared_data):
    spec = json.dumps([json.loads(c.proto.spec) for c in _page("overview").get("vega_lite_chart")])
    assert "target (original)" in spec and "target (revised)" in spec


def test_city_radius_in_minutes_gives_the_result_of_its_seconds(shared_data):
    from mobility_plan.city import city_instance
    from mobility_plan.explore import ev_weights_by_year, solve_city

    at = _page("city")
    at.slider(key="city_radius_min").set_value(1.5).run()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    city = city_instance("osm_seoul_central", "11", n_candidates=400)
    weights = ev_weights_by_year(2030)
    direct = solve_city(city, model="mclp", new_sites=10, radius_s=90.0, keep_existing=True,
                        weights=[weights.get(code, 0.0) for code in city.demand_codes])
    assert shown["Covered within 1.5 min (%)"] == f"{direct.kpis['coverage_pct']:.1f}"
    assert shown["Plugs at new sites (plugs)"] == f"{direct.kpis['plugs_new']:,}"
    assert any("1.5 min" in h.proto.body for h in at.get("html"))  # the legend speaks minutes


@pytest.mark.parametrize("page", ["overview", "fleet", "city", "hydrogen", "export"])
def test_no_page_shows_a_local_path(page, shared_data, tmp_path_factory):
    from mobility_plan import data

    at = _page(page, scenario="seoul_central_ev") if page == "export" else _page(page)
    texts = [e.value for e in [*at.markdown, *at.caption, *at.info, *at.warning, *at.error]]
    texts += [h.proto.body for h in at.get("html")]
    paths = {str(data.data_dir()), str(data.user_cache_dir()), str(ROOT)}
    assert texts
    for text in texts:
        for path in paths:
            assert path not in text, f"{page} shows {path}: {text[:200]}"


def test_a_refused_solve_keeps_the_last_good_result_on_screen():
    def script():
        import streamlit as st

        from app_pages import _shared as shared
        from mobility_plan import ValidationError

        def solver(sites: int) -> str:
            if sites > 5:
                raise ValidationError(f"{sites} sites do not fit")
            return f"layout with {sites} sites"

        sites = st.number_input("sites", value=3, key="sites")
        st.markdown(shared.solve("ui_test_layout", f"{sites} sites", solver, int(sites), fix="fewer sites"))

    at = AppTest.from_function(script, default_timeout=60).run()
    assert at.markdown[0].value == "layout with 3 sites" and not at.error
    at.number_input(key="sites").set_value(9).run()
    assert "9 sites do not fit" in at.error[0].value and "fewer sites" in at.error[0].value
    assert "last result" in at.warning[0].value
    assert at.markdown[-1].value == "layout with 3 sites"
