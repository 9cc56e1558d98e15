"""Fixes for the findings of benchmarks/hostile_campaign.py: each case refused with a clear error
(or, for valid input, accepted), checked through the library or the CLI as the campaign does."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mobility_plan._errors import MobilityPlanError, ValidationError
from mobility_plan.siting import CapacitatedSiting, PMedian

from .conftest import assert_clear_error, run_cli  # noqa: F401  (run_cli is a fixture)

COST = np.array([[0, 4, 9, 7, 3], [4, 0, 5, 8, 6], [9, 5, 0, 2, 7], [7, 8, 2, 0, 5], [3, 6, 7, 5, 0],
                 [2, 9, 4, 6, 8]], dtype=float)
WEIGHTS = np.array([5, 1, 3, 2, 4, 6], dtype=float)


# --- siting: time limits, p, demand --------------------------------------------------------------

@pytest.mark.parametrize("limit", [-1, 0, math.nan, "60"])
def test_pmedian_solve_refuses_a_bad_time_limit(limit: object) -> None:
    model = PMedian.from_cost_matrix(COST, WEIGHTS, p=2)
    with pytest.raises(ValidationError, match="time_limit_s"):
        model.solve(time_limit_s=limit)


@pytest.mark.parametrize("limit", [-1, math.nan])
def test_every_model_refuses_a_bad_time_limit(limit: float) -> None:
    model = CapacitatedSiting.from_cost_matrix(COST, WEIGHTS, capacities=[20.0])
    with pytest.raises(ValidationError, match="time_limit_s"):
        model.solve(time_limit_s=limit)
    with pytest.raises(ValidationError, match="time_limit_s"):
        PMedian.from_cost_matrix(COST, WEIGHTS, p=2).solve_heuristic(time_limit_s=limit)


def test_an_infinite_time_limit_means_no_limit() -> None:
    result = PMedian.from_cost_matrix(COST, WEIGHTS, p=2).solve(time_limit_s=math.inf)
    assert result.status == "optimal"


def test_pmedian_p_nan_names_p() -> None:
    with pytest.raises(ValidationError, match=r"^p must be a whole number"):
        PMedian.from_cost_matrix(COST, WEIGHTS, p=math.nan)


def test_capacitated_nan_demand_names_demand() -> None:
    demand = WEIGHTS.copy()
    demand[0] = np.nan
    with pytest.raises(ValidationError, match=r"^demand must be finite.*rows \[0\]"):
        CapacitatedSiting.from_cost_matrix(COST, demand, capacities=[10.0])
