"""Immutable results of the siting models and shared input checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from .._errors import ValidationError

__all__ = ["SitingResult", "check_cost_matrix", "check_weights", "check_p", "check_ids", "rollout_counts", "rollout_periods",
           "period_weights"]


@dataclass(frozen=True)
class SitingResult:
    """The outcome of solving a siting model.

    Attributes
    ----------
    model
        Model name (``lscp``, ``mclp``, ``pmedian``, ``pcenter``, ``cflp``, ``frlm``, ...).
    sites
        Ids of the selected sites, sorted.
    assignment
        Demand id -> site id (or ``None`` when a demand point is not served/covered).
    objective
        Objective value of the returned solution (see the model's docstring for its unit).
    best_bound
        Best proven bound on the optimum (equal to ``objective`` when proven optimal).
    gap
        Relative gap between ``objective`` and ``best_bound`` (0 when optimal).
    status
        ``optimal`` (only with a finite gap), ``gap_limit``,
        ``time_limit``, ``heuristic``, ``feasible_unproven`` (a solver said optimal but gave
        no finite gap), ``infeasible``, ...
    seconds
        Wall time of build + solve.
    details
        Model-specific extras (e.g. covered share, unrefuelled OD pairs, per-period sites).
    """

    model: str
    sites: tuple[Any, ...]
    assignment: Mapping[Any, Any]
    objective: float
    best_bound: float
    gap: float
    status: str
    seconds: float
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "assignment", MappingProxyType(dict(self.assignment)))
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))
        gap = float(self.gap) if self.gap is not None else float("nan")
        if self.status == "optimal" and not np.isfinite(gap):
            # an optimum is a proof: without a finite gap within tolerance it is only a feasible solution
            object.__setattr__(self, "status", "feasible_unproven")

    @property
    def gap_note(self) -> str | None:
        """Why :attr:`gap` is not a finite number (``None`` when it is)."""
        gap = float(self.gap) if self.gap is not None else float("nan")
        if np.isfinite(gap):
            return None
        if self.status == "heuristic":
            return "heuristic solution: no bound on the optimum was computed"
        if self.status in ("time_limit", "interrupted", "iteration_limit", "solution_limit"):
            return f"the solver stopped ({self.status}) before proving any bound on the optimum"
        return "no bound on the optimum was proven"

    @property
    def is_optimal(self) -> bool:
        """True when the solver proved optimality (within its default tolerance)."""
        return self.status == "optimal"

    def to_dict(self) -> dict[str, Any]:
        """Strict-JSON-ready summary: model, objective, sites, seconds, status, gap, best_bound.

        A gap or bound that is not a finite number is ``None``, and ``gap_note`` says why
        (JSON has no ``Infinity`` / ``NaN``).
        """
        def plain(value: Any) -> Any:
            value = value.item() if isinstance(value, np.generic) else value
            if isinstance(value, float) and not np.isfinite(value):
                return None
            return value
        return {
            "model": self.model,
            "objective": plain(self.objective),
            "sites": [plain(s) for s in self.sites],
            "seconds": round(self.seconds, 4),
            "status": self.status,
            "gap": plain(self.gap),
            "gap_note": self.gap_note,
            "best_bound": plain(self.best_bound),
        }


def check_cost_matrix(cost: Any, *, allow_inf: bool = True, name: str = "cost") -> np.ndarray:
    """Return ``cost`` as a 2-D float64 array; raise on NaN, negative values or (optionally) inf."""
    matrix = np.asarray(cost, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValidationError(f"{name} must be a 2-D matrix (demand x sites), got {matrix.ndim} dimension(s)")
    if matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise ValidationError(f"{name} is empty ({matrix.shape[0]} x {matrix.shape[1]})")
    if np.isnan(matrix).any():
        rows = np.unique(np.nonzero(np.isnan(matrix))[0])[:10].tolist()
        raise ValidationError(f"{name} holds NaN values (demand rows {rows}); use inf for unreachable pairs")
    if (matrix < 0).any():
        raise ValidationError(f"{name} holds negative values; travel times and distances must be >= 0")
    if not allow_inf and np.isinf(matrix).any():
        rows = np.unique(np.nonzero(np.isinf(matrix))[0])[:10].tolist()
        raise ValidationError(f"{name} holds inf (unreachable) values for demand rows {rows}; this model needs "
                              "every pair finite: drop those rows or use the largest connected component")
    return matrix


def check_weights(weights: Any, n: int, *, name: str = "weights") -> np.ndarray:
    """Return demand weights (default ones) after checking shape, finiteness and sign.

    ``name`` is the parameter the caller passed (``weights``, ``demand``), so that the
    message names what the user wrote.
    """
    if weights is None:
        return np.ones(n)
    try:
        values = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{name} must be numbers, one per demand row; could not read them as numbers "
                              f"({exc})") from exc
    if values.ndim != 1 or len(values) != n:
        raise ValidationError(f"{name} must have one value per demand row ({n}), got shape {values.shape}")
    bad = np.nonzero(~np.isfinite(values) | (values < 0))[0]
    if len(bad):
        raise ValidationError(f"{name} must be finite and >= 0: rows {bad[:10].tolist()} hold "
                              f"{values[bad[:10]].tolist()}; fill or drop those rows")
    return values


def check_p(p: int, n_sites: int, *, name: str = "p") -> int:
    """Check the number of sites to open."""
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise ValidationError(f"{name} must be a whole number >= 1, got {p!r} of type {type(p).__name__}")
    if not np.isfinite(p) or int(p) != p or p < 1:
        raise ValidationError(f"{name} must be a whole number >= 1, got {p}")
    if p > n_sites:
        raise ValidationError(f"{name} = {p} exceeds the {n_sites} candidate sites")
    return int(p)


def check_ids(ids: Sequence[Any] | None, n: int, what: str) -> tuple[Any, ...]:
    """Ids for rows or columns (default 0..n-1), unique and of the right length."""
    if ids is None:
        return tuple(range(n))
    ids = tuple(ids)
    if len(ids) != n:
        raise ValidationError(f"{what} ids: expected {n}, got {len(ids)}")
    if len(set(ids)) != n:
        raise ValidationError(f"{what} ids must be unique")
    return ids


def rollout_counts(counts: Sequence[int] | None, budgets: Sequence[int] | None, existing: int) -> list[int]:
    """Cumulative open sites per period, from ``counts`` or from per-period ``budgets`` of new sites.

    With budgets, period ``t`` may open ``budgets[t]`` new sites; since adding a site never
    lowers coverage or refuelled flow, spending each budget in full is optimal, so the
    cumulative counts are ``existing + cumsum(budgets)``.
    """
    if (counts is None) == (budgets is None):
        raise ValidationError("give either counts (cumulative sites per period) or budgets (new sites per period)")
    if budgets is not None:
        values = [int(b) for b in budgets]
        if any(b < 0 for b in values):
            raise ValidationError(f"budgets must be >= 0 new sites per period, got {values}")
        if not values or sum(values) == 0:
            raise ValidationError("the budgets open no site at all; give at least one period a budget > 0")
        return [existing + int(total) for total in np.cumsum(values)]
    return [int(c) for c in counts]


def rollout_periods(counts: Sequence[int] | None, budgets: Sequence[int] | None, periods: Sequence[Any] | None, *,
                    existing: int, candidates: int) -> tuple[list[int], list[Any]]:
    """Checked cumulative counts and period labels of a multi-period rollout.

    Counts come from :func:`rollout_counts`; they must not decrease (a site opened stays
    open), start at or above the ``existing`` sites (which stay open) and not exceed the
    ``candidates``. Labels default to 0..T-1.
    """
    values = rollout_counts(counts, budgets, existing)
    labels = list(range(len(values))) if periods is None else list(periods)
    if not values or len(labels) != len(values):
        raise ValidationError(f"counts and periods must have one value per period; got {len(values)} count(s) and "
                              f"{len(labels)} period(s)")
    if any(b < a for a, b in zip(values, values[1:])):
        raise ValidationError(f"counts must not decrease (sites stay open), got {values}")
    if values[0] < existing:
        raise ValidationError(f"the first period's count {values[0]} is below the {existing} existing sites, "
                              "which stay open")
    if values[-1] > candidates:
        raise ValidationError(f"{values[-1]} sites exceed the {candidates} candidates")
    if values[0] < 1:
        raise ValidationError("every period needs at least one open site; raise the first count")
    return values, labels


def period_weights(weights_by_period: Any, default: np.ndarray, periods: int) -> np.ndarray:
    """``periods x n`` demand weights of a rollout (default: ``default`` in every period), checked."""
    n = len(default)
    weights = (np.tile(default, (periods, 1)) if weights_by_period is None
               else np.asarray(weights_by_period, dtype=np.float64))
    if weights.shape != (periods, n) or not np.isfinite(weights).all() or (weights < 0).any():
        raise ValidationError(f"weights_by_period must be a {periods} x {n} array of values >= 0")
    return weights
