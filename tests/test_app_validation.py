"""The Validation page, headless with Streamlit's AppTest: the table of backtests and the fleet band."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[1] / "app.py"


@pytest.fixture(autouse=True)
def plan_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("MOBILITY_PLAN_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "plan-cache"))


pytestmark = pytest.mark.usefixtures("app_process_state")  # tests/conftest.py: AppTest runs in this process


def _validation_page() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=300)
    at.session_state["validation_areas"] = ["fleet"]
    at.switch_page("app_pages/validation.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_validation_page_shows_the_fleet_table_and_band(shared_data):
    at = _validation_page()
    assert at.title[0].value == "Validation"
    table = at.dataframe[0].value
    assert set(table["area"]) == {"fleet"}
    assert {"ensemble", "target_path", "logistic"} <= set(table["model"])
    assert {"model_value", "baseline_value", "goal", "met"} <= set(table.columns)
    goals = at.metric[0].value
    assert goals.endswith(f"of {len(table)}")
    # the ensemble's details are shown first: the band chart and its table
    assert "ensemble" in at.subheader[0].value
    assert any("Hold-out band" in m.value for m in at.markdown)
    band = at.dataframe[1].value
    assert band["year"].tolist() == [2021, 2022, 2023, 2024]
    assert (band["low_vehicles"] <= band["high_vehicles"]).all()
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1
    spec = charts[0].proto.spec
    assert "model band" in spec and "registered" in spec and "naive baseline" in spec


def test_validation_page_switches_rows_and_handles_no_area(shared_data):
    at = _validation_page()
    labels = at.selectbox(key="validation_row").options
    fcev = next(i for i, label in enumerate(labels) if "FCEV" in label and label.endswith("damped_trend"))
    at.selectbox(key="validation_row").set_value(fcev).run()
    assert not at.exception
    assert "FCEV" in at.subheader[0].value
    assert any(c.value.startswith("damped_trend: ") for c in at.caption)
    at.multiselect(key="validation_areas").set_value([]).run()
    assert not at.exception
    assert "Choose at least one area" in at.info[0].value


@pytest.mark.slow
def test_overview_chart_shows_the_ensemble_band(shared_data):
    at = AppTest.from_file(str(APP), default_timeout=300).run()
    assert not at.exception, [e.value for e in at.exception]
    spec = at.get("vega_lite_chart")[0].proto.spec
    assert "ensemble band" in spec and "stock_high_vehicles" in spec


def test_validation_page_maps_points_that_a_check_attaches(shared_data):
    """A provider attaching proposed and real stations (lon / lat / kind) gets them on a map with a legend."""
    import math

    import pandas as pd
    import streamlit as st

    from mobility_plan import validate

    stations = pd.DataFrame({"lon": [126.98, 127.03, 129.31], "lat": [37.57, 37.50, 35.54],
                             "kind": ["proposed", "real", "real"]})

    @validate.register_provider("points_for_test")
    def points():
        return [validate.Check(area="points_for_test", measure="stations within 10 km", unit="%", model="m",
                               model_value=50.0, baseline="random", baseline_value=20.0, goal=">= 40",
                               goal_value=40.0, higher_is_better=True, note="two real stations",
                               details={"stations": stations, "radius_km": 10.0})]

    st.cache_data.clear()
    try:
        at = AppTest.from_file(str(APP), default_timeout=300)
        at.session_state["validation_areas"] = ["points_for_test"]
        at.switch_page("app_pages/validation.py").run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.dataframe[0].value["met"].tolist() == [True]
        decks = at.get("deck_gl_json_chart")
        assert len(decks) == 1
        assert '"proposed"' in decks[0].proto.json and '"real"' in decks[0].proto.json
        legends = [h.proto.body for h in at.get("html") if "mp-legend" in h.proto.body]
        assert any("proposed" in body and "real" in body for body in legends)
        assert at.table[0].value["value"].tolist() == ["10.0"]
        assert math.isclose(float(at.metric[0].value.split()[0]), 1)
    finally:
        validate._PROVIDERS.pop("points_for_test", None)
        st.cache_data.clear()
