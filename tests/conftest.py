"""Shared fixtures: the real data under the data directory, loaded once per session."""

from __future__ import annotations

import os
import sys

import pytest

from mobility_plan import network
from mobility_plan.data import data_dir


@pytest.fixture(scope="session")
def shared_data():
    """The data directory; tests need the real files (../shared/data or MOBILITY_PLAN_DATA_DIR)."""
    root = data_dir()
    if not (root / "osm" / "seoul_central_drive.graphml").is_file():
        pytest.fail(f"the shared data directory {root} is missing; set MOBILITY_PLAN_DATA_DIR")
    return root


@pytest.fixture(scope="session")
def central_graph(shared_data):
    return network.load_graphml(shared_data / "osm" / "seoul_central_drive.graphml")


@pytest.fixture(scope="session")
def expressway_graph(shared_data):
    return network.graph_from_expressway()


# The process state as pytest started it, read when this conftest is imported (before any test runs): a
# module-scoped fixture may run AppTest before the function-scoped fixture below first saves anything.
_ORIGINAL_MAIN = sys.modules["__main__"]
_ORIGINAL_BACKEND = os.environ.get("MPLBACKEND")


@pytest.fixture
def app_process_state():
    """AppTest runs the app in this process: it installs app.py as ``__main__`` (which multiprocessing's
    spawn would re-run in Dask workers) and sets MPLBACKEND=Agg (which notebook kernels inherit); both are
    put back, to what they were when pytest started, after each test that uses it."""
    yield
    sys.modules["__main__"] = _ORIGINAL_MAIN
    if _ORIGINAL_BACKEND is None:
        os.environ.pop("MPLBACKEND", None)
    else:
        os.environ["MPLBACKEND"] = _ORIGINAL_BACKEND
