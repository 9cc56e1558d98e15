"""Capacitated facility location with modular capacity levels.

Each candidate site ``j`` may be opened at one of ``L`` levels (e.g. 1..L plugs, or
250 / 500 / 1,000 kg/day), level ``l`` giving capacity ``Q_l`` at fixed cost ``F_l``.
Demand ``d_i`` is split over sites within the cutoff (``x_ij`` = share of ``i`` served
by ``j``):

    min  sum_jl F_l z_jl + alpha sum_ij d_i c_ij x_ij + penalty sum_i d_i u_i
    s.t. sum_j x_ij + u_i = 1                       (served or unmet)
         sum_i d_i x_ij <= sum_l Q_l z_jl           (capacity)
         x_ij <= sum_l z_jl,  sum_l z_jl <= 1       (open at one level)
         [sum_jl z_jl = p]                          (optional number of sites)
         z binary, x, u >= 0;  u = 0 unless unmet demand is allowed.

This is the modular capacitated location model (Correia & Captivo 2003, Computers &
Operations Research 30(2)); with levels sized by the Erlang-C queueing model
(:func:`mobility_plan.demand.queue_capacity`) a site's capacity is the demand its
plugs or dispensers serve within the waiting-time limits.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._errors import InfeasibleError, ValidationError
from ._result import SitingResult, check_cost_matrix, check_ids, check_weights
from ._solver import ProblemBuilder, Solver, check_time_limit, highs_solver
from .coverage import _existing_mask, _sort_key

__all__ = ["CapacitatedSiting"]


@dataclass(frozen=True)
class CapacitatedSiting:
    """Modular capacitated facility location (see the module docstring).

    Objective: fixed costs + ``alpha`` x demand-weighted travel cost + unmet penalty.
    """

    cost: np.ndarray
    demand: np.ndarray
    capacities: np.ndarray
    level_costs: np.ndarray
    alpha: float
    p: int | None
    unmet_penalty: float | None
    demand_ids: tuple[Any, ...]
    site_ids: tuple[Any, ...]
    existing: np.ndarray

    @classmethod
    def from_cost_matrix(
        cls,
        cost: Any,
        demand: Any,
        *,
        capacities: Sequence[float],
        level_costs: Sequence[float] | None = None,
        alpha: float = 1.0,
        p: int | None = None,
        cutoff: float | None = None,
        unmet_penalty: float | None = None,
        demand_ids: Sequence[Any] | None = None,
        site_ids: Sequence[Any] | None = None,
        existing: Sequence[Any] | None = None,
    ) -> CapacitatedSiting:
        """Build from a cost matrix, demand per row and the capacity of each level.

        Parameters
        ----------
        capacities
            Capacity of each level, increasing (same unit as ``demand``).
        level_costs
            Fixed cost of each level (default: the number of modules 1..L).
        alpha
            Weight of the demand-weighted travel cost in the objective.
        p
            Open exactly ``p`` sites (default: free, driven by the costs).
        cutoff
            Pairs above this cost cannot be assigned.
        unmet_penalty
            Allow unmet demand at this cost per unit (default: all demand must be met).

        Raises
        ------
        ValidationError
            On malformed capacities or costs.
        InfeasibleError
            When demand cannot be met (a row reaches no site, or total capacity is short).
        """
        matrix = check_cost_matrix(cost).copy()
        if cutoff is not None:
            matrix[matrix > cutoff] = np.inf
        amounts = check_weights(demand, matrix.shape[0], name="demand")
        capacity = np.asarray(capacities, dtype=np.float64)
        if capacity.ndim != 1 or len(capacity) == 0 or (capacity <= 0).any() or (np.diff(capacity) <= 0).any():
            raise ValidationError(f"capacities must be positive and increasing, got {list(capacity)}")
        costs = (np.arange(1, len(capacity) + 1, dtype=np.float64) if level_costs is None
                 else np.asarray(level_costs, dtype=np.float64))
        if costs.shape != capacity.shape or (costs < 0).any():
            raise ValidationError("level_costs must give one value >= 0 per capacity level")
        demand_ids_t = check_ids(demand_ids, matrix.shape[0], "demand")
        sites = check_ids(site_ids, matrix.shape[1], "site")
        if p is not None and not 1 <= p <= matrix.shape[1]:
            raise ValidationError(f"p must lie in 1..{matrix.shape[1]}, got {p}")
        if unmet_penalty is None:
            stranded = np.flatnonzero(~np.isfinite(matrix).any(axis=1) & (amounts > 0))
            if len(stranded):
                raise InfeasibleError(f"demand points {[demand_ids_t[i] for i in stranded[:20]]} reach no site within "
                                      "the cutoff; raise the cutoff or allow unmet demand (unmet_penalty)")
            top = capacity[-1] * (matrix.shape[1] if p is None else p)
            if amounts.sum() > top + 1e-9:
                raise InfeasibleError(f"total demand {amounts.sum():,.1f} exceeds the largest possible capacity "
                                      f"{top:,.1f}; add levels, sites or allow unmet demand")
        return cls(matrix, amounts, capacity, costs, float(alpha), p, unmet_penalty, demand_ids_t, sites,
                   _existing_mask(existing, sites))

    def solve(self, *, solver: Solver | None = None, time_limit_s: float | None = None,
              mip_gap: float | None = None) -> SitingResult:
        """Solve exactly (HiGHS by default)."""
        time_limit_s = check_time_limit(time_limit_s)
        start = time.perf_counter()
        n, m = self.cost.shape
        levels = len(self.capacities)
        rows_i, cols_j = np.nonzero(np.isfinite(self.cost))
        builder = ProblemBuilder()
        z = builder.variables("level", m * levels, cost=np.tile(self.level_costs, m), integer=True)
        x = builder.variables("assign", len(rows_i), cost=self.alpha * self.demand[rows_i] * self.cost[rows_i, cols_j])
        allow_unmet = self.unmet_penalty is not None
        u = builder.variables("unmet", n, cost=(self.unmet_penalty or 0.0) * self.demand,
                              upper=1.0 if allow_unmet else 0.0)
        pair = np.arange(len(rows_i))
        # sum_j x_ij + u_i = 1
        builder.rows(np.concatenate([rows_i, np.arange(n)]), np.concatenate([pair + x.start, np.arange(n) + u.start]),
                     1.0, lower=1.0, upper=1.0, count=n)
        # sum_i d_i x_ij - sum_l Q_l z_jl <= 0
        z_site = np.repeat(np.arange(m), levels)
        builder.rows(np.concatenate([cols_j, z_site]), np.concatenate([pair + x.start, np.arange(m * levels) + z.start]),
                     np.concatenate([self.demand[rows_i], -np.tile(self.capacities, m)]), lower=-np.inf, upper=0.0,
                     count=m)
        # x_ij - sum_l z_jl <= 0
        builder.rows(np.concatenate([pair, np.repeat(pair, levels)]),
                     np.concatenate([pair + x.start, (cols_j[:, None] * levels + np.arange(levels)).ravel() + z.start]),
                     np.concatenate([np.ones(len(pair)), -np.ones(len(pair) * levels)]), lower=-np.inf, upper=0.0,
                     count=len(pair))
        # one level per site; existing sites open
        builder.rows(z_site, np.arange(m * levels) + z.start, 1.0,
                     lower=self.existing.astype(float), upper=1.0, count=m)
        if self.p is not None:
            builder.rows(np.zeros(m * levels), np.arange(m * levels) + z.start, 1.0, lower=self.p, upper=self.p,
                         count=1)
        outcome = (solver or highs_solver)(builder.build(), time_limit_s=time_limit_s, mip_gap=mip_gap)
        if outcome.x is None:
            raise InfeasibleError(f"capacitated siting: no feasible solution ({outcome.status}); check capacities, "
                                  "cutoff and p, or allow unmet demand")
        level_of = outcome.x[z].reshape(m, levels)
        open_level = np.where(level_of.max(axis=1) > 0.5, level_of.argmax(axis=1), -1)
        share = np.zeros((n, m))
        share[rows_i, cols_j] = outcome.x[x]
        load = self.demand @ share
        main_site = np.where(share.max(axis=1) > 1e-9, share.argmax(axis=1), -1)
        unmet = outcome.x[u] * self.demand
        open_sites = np.flatnonzero(open_level >= 0)
        return SitingResult(
            model="capacitated",
            sites=tuple(sorted((self.site_ids[j] for j in open_sites), key=_sort_key)),
            assignment={d: (self.site_ids[j] if j >= 0 else None) for d, j in zip(self.demand_ids, main_site)},
            objective=outcome.objective,
            best_bound=outcome.best_bound,
            gap=outcome.gap,
            status=outcome.status,
            seconds=time.perf_counter() - start,
            details={
                "levels": {self.site_ids[j]: int(open_level[j]) + 1 for j in open_sites},
                "capacity": {self.site_ids[j]: float(self.capacities[open_level[j]]) for j in open_sites},
                "load": {self.site_ids[j]: float(load[j]) for j in open_sites},
                "unmet_demand": float(unmet.sum()),
                "served_demand": float(self.demand.sum() - unmet.sum()),
            },
        )
