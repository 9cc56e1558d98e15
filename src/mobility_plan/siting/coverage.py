"""Coverage models: LSCP (Toregas et al. 1971) and MCLP (Church & ReVelle 1974)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix

from .._errors import InfeasibleError, ValidationError
from ._result import SitingResult, check_cost_matrix, check_ids, check_p, check_weights, period_weights, rollout_periods
from ._solver import ProblemBuilder, Solver, check_time_limit, highs_solver

__all__ = ["LSCP", "MCLP", "coverage_matrix", "greedy_mclp", "mclp_rollout"]


def coverage_matrix(cost: np.ndarray, radius: float) -> csr_matrix:
    """Sparse 0/1 matrix: demand ``i`` is covered by site ``j`` when ``cost[i, j] <= radius``."""
    if not np.isfinite(radius) or radius < 0:
        raise ValidationError(f"radius must be a finite number >= 0 (same unit as the costs), got {radius}")
    rows, cols = np.nonzero(cost <= radius)
    return csr_matrix((np.ones(len(rows)), (rows, cols)), shape=cost.shape)


def _existing_mask(existing: Sequence[Any] | None, site_ids: tuple[Any, ...]) -> np.ndarray:
    mask = np.zeros(len(site_ids), dtype=bool)
    if existing:
        position = {s: j for j, s in enumerate(site_ids)}
        unknown = [s for s in existing if s not in position]
        if unknown:
            raise ValidationError(f"existing sites {unknown[:10]} are not among the candidate site ids")
        mask[[position[s] for s in existing]] = True
    return mask


def _assign_nearest(cost: np.ndarray, open_sites: np.ndarray, *, radius: float | None = None) -> np.ndarray:
    """Column of the nearest open site per row, -1 when none (or none within radius)."""
    if not open_sites.any():
        return np.full(cost.shape[0], -1)
    columns = np.flatnonzero(open_sites)
    sub = cost[:, columns]
    best = np.argmin(sub, axis=1)
    value = sub[np.arange(len(sub)), best]
    limit = np.inf if radius is None else radius
    return np.where(np.isfinite(value) & (value <= limit), columns[best], -1)


@dataclass(frozen=True)
class LSCP:
    """Location set covering problem: fewest sites covering every demand point within a radius.

    Formulation (Toregas, Swain, ReVelle & Bergman 1971, Operations Research 19(6)):
    ``min sum_j y_j`` s.t. ``sum_{j in N_i} y_j >= 1`` for every demand point ``i``, where
    ``N_i = {j : cost_ij <= radius}``; ``y_j`` binary. Existing sites are fixed open.
    Objective: number of sites.
    """

    cover: csr_matrix
    demand_ids: tuple[Any, ...]
    site_ids: tuple[Any, ...]
    radius: float
    existing: np.ndarray
    cost: np.ndarray

    @classmethod
    def from_cost_matrix(cls, cost: Any, *, radius: float, demand_ids: Sequence[Any] | None = None,
                         site_ids: Sequence[Any] | None = None, existing: Sequence[Any] | None = None) -> LSCP:
        """Build from a demand x site cost matrix (``inf`` = unreachable).

        Raises
        ------
        InfeasibleError
            Naming the demand points no candidate reaches within ``radius``.
        """
        matrix = check_cost_matrix(cost)
        demand = check_ids(demand_ids, matrix.shape[0], "demand")
        sites = check_ids(site_ids, matrix.shape[1], "site")
        cover = coverage_matrix(matrix, radius)
        uncovered = np.flatnonzero(np.diff(cover.indptr) == 0)
        if len(uncovered):
            names = [demand[i] for i in uncovered[:20]]
            raise InfeasibleError(
                f"LSCP is infeasible: {len(uncovered)} demand point(s) have no candidate site within radius "
                f"{radius:g} (e.g. {names}); raise the radius, add candidate sites or drop those points"
            )
        return cls(cover, demand, sites, float(radius), _existing_mask(existing, sites), matrix)

    @classmethod
    def from_geodataframe(cls, G: Any, demand: Any, sites: Any, *, radius: float, weight: str = "travel_time",
                          existing: Sequence[Any] | None = None) -> LSCP:
        """Build from demand and site point GeoDataFrames: network costs, then :meth:`from_cost_matrix`."""
        from ._geo import network_costs

        data = network_costs(G, demand, sites, weight=weight)
        return cls.from_cost_matrix(data["cost"], radius=radius, demand_ids=data["demand_ids"],
                                    site_ids=data["site_ids"], existing=existing)

    def solve(self, *, solver: Solver | None = None, time_limit_s: float | None = None,
              mip_gap: float | None = None) -> SitingResult:
        """Solve exactly (HiGHS by default); returns a :class:`SitingResult` (objective: number of sites)."""
        time_limit_s = check_time_limit(time_limit_s)
        start = time.perf_counter()
        n, m = self.cover.shape
        builder = ProblemBuilder()
        lower = self.existing.astype(float)
        y = builder.variables("open", m, cost=1.0, lower=lower, upper=1.0, integer=True)
        rows, cols = self.cover.nonzero()
        builder.rows(rows, cols + y.start, 1.0, lower=1.0, upper=np.inf, count=n)
        initial = _greedy_cover(self.cover, self.existing)
        outcome = (solver or highs_solver)(builder.build(initial=initial.astype(float)), time_limit_s=time_limit_s,
                                           mip_gap=mip_gap)
        if outcome.x is None:
            raise InfeasibleError(f"LSCP: the solver found no solution (status {outcome.status})")
        open_sites = outcome.x[y] > 0.5
        nearest = _assign_nearest(self.cost, open_sites, radius=self.radius)
        return SitingResult(
            model="lscp",
            sites=tuple(sorted((self.site_ids[j] for j in np.flatnonzero(open_sites)), key=_sort_key)),
            assignment={d: (self.site_ids[j] if j >= 0 else None) for d, j in zip(self.demand_ids, nearest)},
            objective=float(open_sites.sum()),
            best_bound=float(np.ceil(outcome.best_bound - 1e-6)),
            gap=outcome.gap,
            status=outcome.status,
            seconds=time.perf_counter() - start,
            details={"radius": self.radius, "existing_sites": int(self.existing.sum())},
        )


def _greedy_cover(cover: csr_matrix, existing: np.ndarray) -> np.ndarray:
    """Greedy set cover (Chvatal 1979): a feasible start for LSCP."""
    n, m = cover.shape
    chosen = existing.copy()
    covered = np.asarray(cover[:, chosen].sum(axis=1)).ravel() > 0 if chosen.any() else np.zeros(n, bool)
    cover_csc = cover.tocsc()
    while not covered.all():
        gains = np.asarray(cover_csc[~covered].sum(axis=0)).ravel()
        gains[chosen] = -1
        best = int(np.argmax(gains))
        if gains[best] <= 0:
            break
        chosen[best] = True
        covered |= np.asarray(cover_csc[:, best].todense()).ravel() > 0
    return chosen


def greedy_mclp(cover: csr_matrix, weights: np.ndarray, p: int, existing: np.ndarray) -> np.ndarray:
    """Greedy MCLP: add the site covering the most uncovered weight, ``p`` times in all."""
    n, m = cover.shape
    cover_csc = cover.tocsc()
    chosen = existing.copy()
    covered = np.asarray(cover_csc[:, np.flatnonzero(chosen)].sum(axis=1)).ravel() > 0 if chosen.any() \
        else np.zeros(n, bool)
    while chosen.sum() < p:
        gains = np.asarray(cover_csc.T @ (weights * ~covered)).ravel()
        gains[chosen] = -1
        best = int(np.argmax(gains))
        chosen[best] = True
        covered |= np.asarray(cover_csc[:, best].todense()).ravel() > 0
    return chosen


@dataclass(frozen=True)
class MCLP:
    """Maximal covering location problem: most demand weight covered with ``p`` sites.

    Formulation (Church & ReVelle 1974, Papers of the Regional Science Association 32):
    ``max sum_i w_i z_i`` s.t. ``z_i <= sum_{j in N_i} y_j``, ``sum_j y_j = p``,
    ``0 <= z_i <= 1``, ``y_j`` binary (``z`` is integral at any optimum). Only pairs
    within the radius enter the model. Objective: covered weight.
    """

    cover: csr_matrix
    weights: np.ndarray
    p: int
    demand_ids: tuple[Any, ...]
    site_ids: tuple[Any, ...]
    radius: float
    existing: np.ndarray
    cost: np.ndarray

    @classmethod
    def from_cost_matrix(cls, cost: Any, weights: Any = None, *, radius: float, p: int,
                         demand_ids: Sequence[Any] | None = None, site_ids: Sequence[Any] | None = None,
                         existing: Sequence[Any] | None = None) -> MCLP:
        """Build from a demand x site cost matrix (``inf`` = unreachable) and demand weights."""
        matrix = check_cost_matrix(cost)
        w = check_weights(weights, matrix.shape[0])
        p = check_p(p, matrix.shape[1])
        sites = check_ids(site_ids, matrix.shape[1], "site")
        existing_mask = _existing_mask(existing, sites)
        if existing_mask.sum() > p:
            raise ValidationError(f"{int(existing_mask.sum())} existing sites exceed p = {p}")
        return cls(coverage_matrix(matrix, radius), w, p, check_ids(demand_ids, matrix.shape[0], "demand"), sites,
                   float(radius), existing_mask, matrix)

    @classmethod
    def from_geodataframe(cls, G: Any, demand: Any, sites: Any, *, radius: float, p: int,
                          weight_column: str | None = None, weight: str = "travel_time",
                          existing: Sequence[Any] | None = None) -> MCLP:
        """Build from demand and site point GeoDataFrames: network costs, then :meth:`from_cost_matrix`."""
        from ._geo import network_costs

        data = network_costs(G, demand, sites, weight_column=weight_column, weight=weight)
        return cls.from_cost_matrix(data["cost"], data["weights"], radius=radius, p=p, demand_ids=data["demand_ids"],
                                    site_ids=data["site_ids"], existing=existing)

    def solve_greedy(self) -> SitingResult:
        """Greedy heuristic with its gap to the LP relaxation bound."""
        start = time.perf_counter()
        chosen = greedy_mclp(self.cover, self.weights, self.p, self.existing)
        problem = self._problem(chosen)
        problem.integer[:] = False
        bound = highs_solver(problem).objective
        nearest = _assign_nearest(self.cost, chosen, radius=self.radius)
        value = float(self.weights[nearest >= 0].sum())
        return SitingResult(
            model="mclp_greedy",
            sites=tuple(sorted((self.site_ids[j] for j in np.flatnonzero(chosen)), key=_sort_key)),
            assignment={d: (self.site_ids[j] if j >= 0 else None) for d, j in zip(self.demand_ids, nearest)},
            objective=value, best_bound=bound, gap=max(0.0, (bound - value) / max(bound, 1e-12)),
            status="heuristic", seconds=time.perf_counter() - start,
            details={"radius": self.radius, "covered_share": value / max(self.weights.sum(), 1e-300)},
        )

    def _problem(self, greedy: np.ndarray):
        n, m = self.cover.shape
        reachable = np.diff(self.cover.indptr) > 0
        builder = ProblemBuilder()
        y = builder.variables("open", m, lower=self.existing.astype(float), upper=1.0, integer=True)
        z = builder.variables("covered", n, cost=self.weights, upper=reachable.astype(float))
        rows, cols = self.cover.nonzero()
        builder.rows(np.concatenate([rows, np.arange(n)]), np.concatenate([cols + y.start, np.arange(n) + z.start]),
                     np.concatenate([-np.ones(len(rows)), np.ones(n)]), lower=-np.inf, upper=0.0, count=n)
        builder.rows(np.zeros(m), np.arange(m) + y.start, 1.0, lower=self.p, upper=self.p, count=1)
        covered = np.asarray(self.cover[:, np.flatnonzero(greedy)].sum(axis=1)).ravel() > 0
        return builder.build(maximize=True, initial=np.concatenate([greedy.astype(float), covered.astype(float)]))

    def solve(self, *, solver: Solver | None = None, time_limit_s: float | None = None,
              mip_gap: float | None = None) -> SitingResult:
        """Solve exactly (HiGHS by default), warm-started from the greedy solution."""
        time_limit_s = check_time_limit(time_limit_s)
        start = time.perf_counter()
        greedy = greedy_mclp(self.cover, self.weights, self.p, self.existing)
        problem = self._problem(greedy)
        y = problem.names["open"]
        outcome = (solver or highs_solver)(problem, time_limit_s=time_limit_s, mip_gap=mip_gap)
        if outcome.x is None:
            raise InfeasibleError(f"MCLP: the solver found no solution (status {outcome.status})")
        open_sites = outcome.x[y] > 0.5
        nearest = _assign_nearest(self.cost, open_sites, radius=self.radius)
        covered_weight = float(self.weights[nearest >= 0].sum())
        return SitingResult(
            model="mclp",
            sites=tuple(sorted((self.site_ids[j] for j in np.flatnonzero(open_sites)), key=_sort_key)),
            assignment={d: (self.site_ids[j] if j >= 0 else None) for d, j in zip(self.demand_ids, nearest)},
            objective=covered_weight,
            best_bound=outcome.best_bound,
            gap=outcome.gap,
            status=outcome.status,
            seconds=time.perf_counter() - start,
            details={"radius": self.radius, "covered_share": covered_weight / max(self.weights.sum(), 1e-300),
                     "total_weight": float(self.weights.sum())},
        )


def mclp_rollout(model: MCLP, counts: Sequence[int] | None = None, *, budgets: Sequence[int] | None = None,
                 periods: Sequence[Any] | None = None,
                 weights_by_period: Any = None, solver: Solver | None = None, time_limit_s: float | None = None,
                 mip_gap: float | None = None) -> SitingResult:
    """Multi-period MCLP: sites open by each period, never closed; existing sites open from the start.

    ``max sum_t sum_i W_ti z_it`` s.t. ``z_it <= sum_{j in N_i} y_jt``,
    ``sum_j y_jt = counts[t]``, ``y_{j,t-1} <= y_jt``, ``y`` binary.

    Parameters
    ----------
    model
        A single-period :class:`MCLP` giving costs, radius, weights and existing sites.
    counts
        Cumulative number of open sites per period (non-decreasing).
    budgets
        Instead of ``counts``: new sites each period may open.
    weights_by_period
        ``T x n`` demand weights (default: the model's weights in every period).
    """
    time_limit_s = check_time_limit(time_limit_s)
    start = time.perf_counter()
    n, m = model.cover.shape
    counts, labels = rollout_periods(counts, budgets, periods, existing=int(model.existing.sum()), candidates=m)
    weights = period_weights(weights_by_period, model.weights, len(counts))
    builder = ProblemBuilder()
    rows, cols = model.cover.nonzero()
    reachable = (np.diff(model.cover.indptr) > 0).astype(float)
    y_blocks, z_blocks = [], []
    for t, count in enumerate(counts):
        y = builder.variables(f"open_{t}", m, lower=model.existing.astype(float), upper=1.0, integer=True)
        z = builder.variables(f"covered_{t}", n, cost=weights[t], upper=reachable)
        builder.rows(np.concatenate([rows, np.arange(n)]), np.concatenate([cols + y.start, np.arange(n) + z.start]),
                     np.concatenate([-np.ones(len(rows)), np.ones(n)]), lower=-np.inf, upper=0.0, count=n)
        builder.rows(np.zeros(m), np.arange(m) + y.start, 1.0, lower=count, upper=count, count=1)
        if y_blocks:
            previous = y_blocks[-1]
            builder.rows(np.concatenate([np.arange(m), np.arange(m)]),
                         np.concatenate([np.arange(m) + previous.start, np.arange(m) + y.start]),
                         np.concatenate([np.ones(m), -np.ones(m)]), lower=-np.inf, upper=0.0, count=m)
        y_blocks.append(y)
        z_blocks.append(z)
    outcome = (solver or highs_solver)(builder.build(maximize=True), time_limit_s=time_limit_s, mip_gap=mip_gap)
    if outcome.x is None:
        raise InfeasibleError(f"multi-period MCLP: no solution ({outcome.status})")
    opened, covered_share, previous = {}, {}, model.existing
    for t, label in enumerate(labels):
        open_t = outcome.x[y_blocks[t]] > 0.5
        opened[label] = tuple(sorted((model.site_ids[j] for j in np.flatnonzero(open_t & ~previous)), key=_sort_key))
        covered = _assign_nearest(model.cost, open_t, radius=model.radius) >= 0
        covered_share[label] = float(weights[t][covered].sum() / max(weights[t].sum(), 1e-300))
        previous = open_t
    final = outcome.x[y_blocks[-1]] > 0.5
    nearest = _assign_nearest(model.cost, final, radius=model.radius)
    return SitingResult(
        model="mclp_rollout",
        sites=tuple(sorted((model.site_ids[j] for j in np.flatnonzero(final)), key=_sort_key)),
        assignment={d: (model.site_ids[j] if j >= 0 else None) for d, j in zip(model.demand_ids, nearest)},
        objective=outcome.objective,
        best_bound=outcome.best_bound,
        gap=outcome.gap,
        status=outcome.status,
        seconds=time.perf_counter() - start,
        details={"opened_by_period": opened, "covered_share_by_period": covered_share,
                 "counts": dict(zip(labels, counts))},
    )


def _sort_key(value: Any) -> tuple[str, Any]:
    return (type(value).__name__, value)
