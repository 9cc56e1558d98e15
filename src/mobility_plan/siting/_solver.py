"""Mixed-integer programs in array form and the default HiGHS solver."""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix, csc_matrix

from .._errors import ValidationError

__all__ = ["MilpProblem", "SolverOutcome", "Solver", "highs_solver", "ProblemBuilder", "check_time_limit"]


@dataclass
class MilpProblem:
    """``min/max c x`` subject to ``row_lower <= A x <= row_upper``, bounds and integrality."""

    cost: np.ndarray
    matrix: csc_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray
    maximize: bool = False
    initial: np.ndarray | None = None
    names: dict[str, slice] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape


@dataclass(frozen=True)
class SolverOutcome:
    """What a solver returns: values, objective, best bound, relative gap, status, seconds."""

    x: np.ndarray | None
    objective: float
    best_bound: float
    gap: float
    status: str
    seconds: float


#: A solver: takes a problem and limits, returns an outcome.
Solver = Callable[..., SolverOutcome]


def check_time_limit(time_limit_s: object, *, name: str = "time_limit_s") -> float | None:
    """Return a solve's time limit in seconds: ``None`` or ``inf`` for none, else a number > 0.

    Every model's ``solve`` calls this first, so a negative, zero, NaN or non-numeric limit
    is refused before any work instead of being read as "stop at once" or "never stop".
    """
    if time_limit_s is None:
        return None
    if isinstance(time_limit_s, bool) or not isinstance(time_limit_s, (int, float, np.integer, np.floating)):
        raise ValidationError(f"{name} must be a number of seconds > 0 (or None for no limit), "
                              f"got {time_limit_s!r} of type {type(time_limit_s).__name__}")
    value = float(time_limit_s)
    if math.isnan(value) or value <= 0:
        raise ValidationError(f"{name} must be a number of seconds > 0, got {time_limit_s!r}; "
                              "pass e.g. time_limit_s=60, or None for no limit")
    return None if math.isinf(value) else value

@contextlib.contextmanager
def _quiet_stdout():
    """Silence the C-level stdout (file descriptor 1) for the duration of the block."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no real stdout (e.g. some notebook kernels)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


_STATUS = {
    "kOptimal": "optimal",
    "kTimeLimit": "time_limit",
    "kInfeasible": "infeasible",
    "kUnbounded": "unbounded",
    "kUnboundedOrInfeasible": "infeasible",
    "kIterationLimit": "iteration_limit",
    "kSolutionLimit": "solution_limit",
    "kInterrupt": "interrupted",
    "kObjectiveBound": "objective_bound",
}


def highs_solver(problem: MilpProblem, *, time_limit_s: float | None = None, mip_gap: float | None = None,
                 threads: int | None = None) -> SolverOutcome:
    """Solve with HiGHS (highspy), warm-started from ``problem.initial`` when given.

    Returns the incumbent with its status when a limit stops the search: never a
    pretended optimum.
    """
    import highspy

    start = time.perf_counter()
    with _quiet_stdout():  # HiGHS prints a banner when an instance is created
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    time_limit_s = check_time_limit(time_limit_s)
    if time_limit_s is not None:
        h.setOptionValue("time_limit", time_limit_s)
    if mip_gap is not None:
        if not 0 <= mip_gap < 1:
            raise ValidationError(f"mip_gap must lie in [0, 1), got {mip_gap}")
        h.setOptionValue("mip_rel_gap", float(mip_gap))
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    lp = highspy.HighsLp()
    n_rows, n_cols = problem.matrix.shape
    lp.num_col_ = n_cols
    lp.num_row_ = n_rows
    lp.col_cost_ = np.asarray(problem.cost, dtype=np.float64)
    lp.col_lower_ = np.asarray(problem.col_lower, dtype=np.float64)
    lp.col_upper_ = np.asarray(problem.col_upper, dtype=np.float64)
    lp.row_lower_ = np.asarray(problem.row_lower, dtype=np.float64)
    lp.row_upper_ = np.asarray(problem.row_upper, dtype=np.float64)
    matrix = problem.matrix.tocsc()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = matrix.data.astype(np.float64)
    if problem.integer.any():
        lp.integrality_ = [highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
                           for flag in problem.integer]
    lp.sense_ = highspy.ObjSense.kMaximize if problem.maximize else highspy.ObjSense.kMinimize
    h.passModel(lp)
    if problem.initial is not None and problem.integer.any():
        solution = highspy.HighsSolution()
        solution.col_value = np.asarray(problem.initial, dtype=np.float64).tolist()
        h.setSolution(solution)
    h.run()
    status_name = str(h.getModelStatus()).split(".")[-1]
    status = _STATUS.get(status_name, status_name.removeprefix("k").lower())
    info = h.getInfo()
    has_solution = info.primal_solution_status == 2
    x = np.asarray(h.getSolution().col_value, dtype=np.float64) if has_solution else None
    objective = float(info.objective_function_value) if has_solution else float("nan")
    if problem.integer.any():
        bound = float(info.mip_dual_bound)
        gap = float(info.mip_gap) if has_solution else float("inf")
        if has_solution and not np.isfinite(gap):  # HiGHS leaves it inf at a zero objective
            gap = _relative_gap(objective, bound)
    else:
        bound = objective if status == "optimal" else float("nan")
        gap = 0.0 if status == "optimal" else float("inf")
    if status == "optimal" and (not np.isfinite(gap) or gap > (mip_gap if mip_gap is not None else 1e-4) + 1e-9):
        # HiGHS stopped on its own gap or objective-bound test, or gave no usable bound: not a proof
        status = "gap_limit" if np.isfinite(gap) else "feasible_unproven"
    return SolverOutcome(x=x, objective=objective, best_bound=bound, gap=gap, status=status,
                         seconds=time.perf_counter() - start)


def _relative_gap(objective: float, bound: float) -> float:
    """``|objective - bound| / |objective|``, 0 when both agree (also at 0), ``inf`` without a finite bound."""
    if not (np.isfinite(objective) and np.isfinite(bound)):
        return float("inf")
    difference = abs(objective - bound)
    if difference <= 1e-9 * max(1.0, abs(objective)):
        return 0.0
    return difference / max(abs(objective), 1e-12)


class ProblemBuilder:
    """Collects variable blocks and sparse constraint rows, then makes a :class:`MilpProblem`."""

    def __init__(self) -> None:
        self._blocks: dict[str, slice] = {}
        self._cost: list[np.ndarray] = []
        self._lower: list[np.ndarray] = []
        self._upper: list[np.ndarray] = []
        self._integer: list[np.ndarray] = []
        self._rows: list[np.ndarray] = []
        self._cols: list[np.ndarray] = []
        self._vals: list[np.ndarray] = []
        self._row_lower: list[np.ndarray] = []
        self._row_upper: list[np.ndarray] = []
        self.n_cols = 0
        self.n_rows = 0

    def variables(self, name: str, count: int, *, cost: np.ndarray | float = 0.0, lower: float | np.ndarray = 0.0,
                  upper: float | np.ndarray = 1.0, integer: bool = False) -> slice:
        """Add ``count`` variables; returns their column slice."""
        block = slice(self.n_cols, self.n_cols + count)
        self._blocks[name] = block
        self._cost.append(np.broadcast_to(np.asarray(cost, dtype=np.float64), (count,)).copy())
        self._lower.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), (count,)).copy())
        self._upper.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), (count,)).copy())
        self._integer.append(np.full(count, integer))
        self.n_cols += count
        return block

    def rows(self, rows: np.ndarray, cols: np.ndarray, values: np.ndarray | float, *, lower: np.ndarray | float,
             upper: np.ndarray | float, count: int) -> slice:
        """Add ``count`` rows from triplets whose ``rows`` are numbered 0..count-1."""
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        self._rows.append(rows + self.n_rows)
        self._cols.append(cols)
        self._vals.append(np.broadcast_to(np.asarray(values, dtype=np.float64), rows.shape).copy())
        self._row_lower.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), (count,)).copy())
        self._row_upper.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), (count,)).copy())
        block = slice(self.n_rows, self.n_rows + count)
        self.n_rows += count
        return block

    def build(self, *, maximize: bool = False, initial: np.ndarray | None = None) -> MilpProblem:
        cat = (lambda parts, dtype=np.float64: np.concatenate(parts).astype(dtype) if parts else np.empty(0, dtype))
        matrix = coo_matrix((cat(self._vals), (cat(self._rows, np.int64), cat(self._cols, np.int64))),
                            shape=(self.n_rows, self.n_cols)).tocsc()
        return MilpProblem(cost=cat(self._cost), matrix=matrix, row_lower=cat(self._row_lower),
                           row_upper=cat(self._row_upper), col_lower=cat(self._lower), col_upper=cat(self._upper),
                           integer=cat(self._integer, bool), maximize=maximize, initial=initial,
                           names=dict(self._blocks))
