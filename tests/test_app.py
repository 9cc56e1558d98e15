"""The Streamlit app, run headless with Streamlit's AppTest."""

from __future__ import annotations

from pathlib import Path

import pytest

AppTest = pytest.importorskip("streamlit.testing.v1").AppTest

APP = Path(__file__).resolve().parents[1] / "app.py"


def test_overview_page_renders_real_data(shared_data):
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Data overview"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Datasets present"] == "17 / 17"
    assert metrics["EVs registered, end 2025 (vehicles)"] == "899,000"
    assert metrics["Population 2025 (million persons)"] == "51.82"
    province_table = at.dataframe[0].value
    assert len(province_table) == 17 and "population (persons)" in province_table.columns


def test_library_does_not_import_streamlit():
    import subprocess
    import sys

    code = "import sys, mobility_plan.cli, mobility_plan.costs, mobility_plan.census; print('streamlit' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
