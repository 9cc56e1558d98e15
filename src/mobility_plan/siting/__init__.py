"""Siting models for chargers and hydrogen stations, solved exactly (HiGHS) or heuristically.

Every model is built ``from_cost_matrix`` (plain arrays) or ``from_geodataframe``
(network costs computed by :mod:`mobility_plan.costs`), and ``solve()`` returns an
immutable :class:`SitingResult`.
"""

from ._result import SitingResult
from ._solver import MilpProblem, SolverOutcome, highs_solver
from .center import PCenter
from .capacitated import CapacitatedSiting
from .coverage import LSCP, MCLP, mclp_rollout
from .frlm import FRLM, FlowPaths, shortest_paths
from .median import PMedian, pmedian_rollout

__all__ = [
    "SitingResult", "MilpProblem", "SolverOutcome", "highs_solver", "LSCP", "MCLP", "PMedian", "PCenter", "FRLM",
    "FlowPaths", "shortest_paths", "CapacitatedSiting", "mclp_rollout", "pmedian_rollout",
]
