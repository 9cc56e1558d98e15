"""The Streamlit app, page by page, headless with Streamlit's AppTest (real data, real solvers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
#: Every page file (the app's navigation must list them all) and every shipped scenario.
PAGES = sorted(p.stem for p in (ROOT / "app_pages").glob("*.py") if not p.stem.startswith("_"))
SCENARIOS = sorted(p.stem for p in (ROOT / "data" / "scenarios").glob("*.toml"))


@pytest.fixture(autouse=True)
def plan_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("MOBILITY_PLAN_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "plan-cache"))


pytestmark = pytest.mark.usefixtures("app_process_state")  # tests/conftest.py: AppTest runs in this process


def _page(name: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=300).run()
    assert not at.exception, at.exception
    at.switch_page(f"app_pages/{name}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _decks(at: AppTest) -> list:
    return at.get("deck_gl_json_chart")


def _legends(at: AppTest) -> list[str]:
    return [h.proto.body for h in at.get("html") if "mp-legend" in h.proto.body]


def test_overview_kpis_follow_the_sidebar_scenario(shared_data):
    at = _page("overview")
    assert at.title[0].value == "Overview"
    metrics = _metrics(at)
    assert metrics["Registered, end 2025 (vehicles)"] == "45,000"
    assert metrics["Target 2030 (vehicles)"] == "850,000"
    assert len(at.get("vega_lite_chart")) == 1
    at.sidebar.selectbox(key="scenario").set_value("seoul_central_ev").run()
    metrics = _metrics(at)
    assert metrics["Registered, end 2025 (vehicles)"] == "899,000"
    assert metrics["Target 2030 (vehicles)"] == "4,200,000"
    at.sidebar.select_slider(key="year").set_value(2026).run()
    assert "Scenario fleet 2026 (vehicles)" in _metrics(at)


def test_fleet_page_choropleth_with_legend_and_levels(shared_data):
    at = _page("fleet")
    assert len(_decks(at)) == 1 and any("fuel-cell cars (vehicles)" in body for body in _legends(at))
    assert len(at.dataframe[0].value) == 17
    at.radio(key="fleet_level").set_value("sigungu").run()
    assert not at.exception and len(at.dataframe[0].value) == 229
    at.selectbox(key="fleet_metric").set_value("deficit").run()
    assert any("deficit (stations)" in body for body in _legends(at))


@pytest.mark.slow
def test_fleet_page_of_an_ev_scenario_at_census_areas_for_every_layer(shared_data):
    # census areas have no existing chargers (the charger list stops at the sigungu): the page says so, no error
    at = _page("fleet")
    at.sidebar.selectbox(key="scenario").set_value("seoul_central_ev").run()
    at.radio(key="fleet_level").set_value("adm3").run()
    assert not at.exception, [e.value for e in at.exception]
    for metric in ("vehicles", "need", "existing", "deficit"):
        at.selectbox(key="fleet_metric").set_value(metric).run()
        assert not at.exception, (metric, [e.value for e in at.exception])
        assert not at.error, (metric, [e.value for e in at.error])
        if metric in ("existing", "deficit"):
            assert any("sigungu" in info.value for info in at.info)


def test_city_page_resolves_when_controls_change(shared_data):
    at = _page("city")
    assert len(_decks(at)) == 1 and any("proposed site" in body for body in _legends(at))
    first = _metrics(at)
    assert first["Sites: new / existing"].startswith("10 / ")
    at.slider(key="city_sites").set_value(25).run()
    second = _metrics(at)
    assert second["Sites: new / existing"].startswith("25 / ")
    assert float(second["Covered within 1 min (%)"]) >= float(first["Covered within 1 min (%)"])
    at.toggle(key="city_keep").set_value(False).run()
    at.slider(key="city_sites").set_value(3).run()
    third = _metrics(at)
    assert third["Sites: new / existing"] == "3 / 0"
    assert float(third["Covered within 1 min (%)"]) < float(second["Covered within 1 min (%)"])
    at.radio(key="city_model").set_value("pmedian").run()
    assert not at.exception and len(at.dataframe[0].value) == 3


def test_hydrogen_page_resolves_when_controls_change(shared_data):
    at = _page("hydrogen")
    assert len(_decks(at)) == 1 and any("proposed, opened 2030" in body for body in _legends(at))
    first = _metrics(at)
    assert first["New stations by 2030 (stations)"] == "30"
    at.slider(key="h2_per_period").set_value(3).run()
    second = _metrics(at)
    assert second["New stations by 2030 (stations)"] == "9"
    assert float(second["OD flow refuelled in 2030 (%)"]) < float(first["OD flow refuelled in 2030 (%)"])
    at.select_slider(key="h2_range").set_value(300).run()
    assert not at.exception and "OD flow refuelled in 2030 (%)" in _metrics(at)


def test_compare_page_puts_scenarios_side_by_side(shared_data):
    at = _page("compare")
    table = at.dataframe[0].value
    assert list(table.columns) == ["korea_2022_backcast", "seoul_central_ev"]
    assert table.loc["fleet in the last year (vehicles)", "korea_2022_backcast"] == "430,000"
    assert len(at.get("image")) == 2
    at.multiselect(key="compare_names").set_value(["seoul_central_ev"]).run()
    assert "at least two" in at.info[0].value


def test_export_page_offers_the_layouts(shared_data):
    at = AppTest.from_file(str(APP), default_timeout=300).run()
    at.sidebar.selectbox(key="scenario").set_value("korea_2022_backcast").run()
    at.switch_page("app_pages/city.py").run()
    at.switch_page("app_pages/export.py").run()
    assert not at.exception, [e.value for e in at.exception]
    labels = [b.proto.label for b in at.get("download_button")]
    assert any(label.startswith("sites.geojson") for label in labels)
    assert any(label.startswith("report.md") for label in labels)
    assert any(label.startswith("city sites") for label in labels)


def _slider_years() -> list[int]:
    from app_pages._shared import YEARS

    return list(YEARS)


def _matrix_years() -> list[int]:
    """Both ends of the Year slider, the year before the last registration (2024) and the middle."""
    years = _slider_years()
    return sorted({years[0], years[min(2, len(years) - 1)], years[len(years) // 2], years[-1]})


def test_the_matrix_covers_every_page_and_the_real_slider(shared_data):
    at = AppTest.from_file(str(APP), default_timeout=300).run()
    assert not at.exception, [e.value for e in at.exception]
    slider = at.sidebar.select_slider(key="year")
    assert [int(option) for option in slider.options] == _slider_years()
    assert sorted(at.sidebar.selectbox(key="scenario").options) == SCENARIOS
    navigation = (ROOT / "app.py").read_text(encoding="utf-8")
    assert PAGES and all(f'"app_pages/{page}.py"' in navigation for page in PAGES)


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("page", PAGES)
def test_every_page_for_every_scenario_and_year_shows_no_traceback(page, scenario, shared_data):
    """The sidebar's scenario and every tested year on one page, as a user moving the slider.

    A page may refuse (an ``st.error``), but only with what to do; it never raises and never
    falls through to app.py's last-resort "Unexpected error" message.
    """
    at = AppTest.from_file(str(APP), default_timeout=600).run()  # the sidebar exists once the app has run
    at.sidebar.selectbox(key="scenario").set_value(scenario)
    at.switch_page(f"app_pages/{page}.py")  # so that the page never runs for the default scenario
    for year in _matrix_years():
        at.sidebar.select_slider(key="year").set_value(year).run()
        where = f"{page} / {scenario} / {year}"
        assert not at.exception, f"{where}: {[e.value for e in at.exception]}"
        assert at.title and at.title[0].value, f"{where}: the page shows no title"
        for error in at.error:
            assert "Unexpected error" not in error.value, f"{where}: {error.value}"
            assert "What to do:" in error.value, f"{where}: a refusal without what to do: {error.value}"
        ended_with_a_note = any(note.value.startswith(f"No fleet for {year}") for note in at.info)
        if not at.error and not ended_with_a_note:  # a page that ran to its end shows its figures or its map
            assert at.metric or at.get("deck_gl_json_chart") or at.dataframe or at.get("download_button"), where


def test_library_does_not_import_streamlit():
    import subprocess
    import sys

    code = ("import sys, mobility_plan.cli, mobility_plan.costs, mobility_plan.census, mobility_plan.maps, "
            "mobility_plan.explore, mobility_plan.uploads, mobility_plan.sweep; print('streamlit' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_overview_of_the_backcast_sets_the_target_against_registrations(shared_data):
    """korea_2022_backcast has no curve (its target year is registered): the registered stock, the target, the need."""
    at = AppTest.from_file(str(APP), default_timeout=300).run()
    at.sidebar.selectbox(key="scenario").set_value("korea_2022_backcast")
    at.sidebar.select_slider(key="year").set_value(2022).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("looks back" in info.value for info in at.info)
    metrics = _metrics(at)
    assert metrics["Registered fleet 2022 (vehicles)"] == "389,855"
    assert metrics["Target 2022 (vehicles)"] == "430,000"
    assert any(label.startswith("Need in 2022 (public chargers)") for label in metrics)
    assert len(at.get("vega_lite_chart")) == 1 and len(at.dataframe[0].value) == 17
    at.sidebar.select_slider(key="year").set_value(2027).run()
    assert not at.exception and not at.error
    assert any("No fleet for 2027" in info.value for info in at.info)
    assert len(at.get("vega_lite_chart")) == 1 and not at.dataframe
