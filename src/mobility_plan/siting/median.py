"""p-median (Hakimi 1964; ReVelle & Swain 1970): least weighted travel cost with ``p`` sites.

Exact model: the radius formulation of Garcia, Labbe & Marin (2011), INFORMS Journal on
Computing 23(4):546-556. For demand ``i`` with sorted distinct finite costs
``D_i^1 < ... < D_i^K``, ``z_i^k`` (``k >= 2``) is 1 when no open site lies within
``D_i^{k-1}``:

    min  sum_i w_i (D_i^1 + sum_{k>=2} (D_i^k - D_i^{k-1}) z_i^k)
    s.t. z_i^k >= z_i^{k-1} - sum_{j: c_ij = D_i^{k-1}} y_j     (z_i^1 = 1)
         sum_{j: c_ij = D_i^K} y_j >= z_i^K                     (a reachable site is open)
         sum_j y_j = p,  y binary,  0 <= z <= 1.

Its LP relaxation equals that of the classic assignment formulation, with the same
number of nonzeros, and it solves much faster. Pairs beyond ``cutoff`` (or ``inf``)
are left out. Heuristics: greedy addition and Teitz & Bart (1968) vertex
substitution; their gap is measured against a Lagrangian lower bound (relaxing the
assignment constraints), which equals the LP bound at its optimum.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._errors import InfeasibleError, ValidationError
from ._result import SitingResult, check_cost_matrix, check_ids, check_p, check_weights, period_weights, rollout_periods
from ._solver import ProblemBuilder, Solver, check_time_limit, highs_solver
from .coverage import _assign_nearest, _existing_mask, _sort_key

__all__ = ["PMedian", "greedy_pmedian", "teitz_bart", "lagrangian_bound", "pmedian_rollout"]


def _objective(cost: np.ndarray, weights: np.ndarray, open_sites: np.ndarray) -> float:
    best = cost[:, open_sites].min(axis=1)
    return float(np.dot(weights, best)) if np.isfinite(best).all() else float("inf")


def greedy_pmedian(cost: np.ndarray, weights: np.ndarray, p: int, existing: np.ndarray | None = None) -> np.ndarray:
    """Greedy addition: open, ``p`` times, the site that lowers the weighted cost most."""
    n, m = cost.shape
    chosen = np.zeros(m, bool) if existing is None else existing.copy()
    finite = np.where(np.isfinite(cost), cost, np.nan)
    big = np.nanmax(finite) * 10 + 1 if np.isfinite(finite).any() else 1.0
    work = np.where(np.isfinite(cost), cost, big * (1 + cost.shape[0]))
    current = work[:, chosen].min(axis=1) if chosen.any() else np.full(n, np.inf)
    while chosen.sum() < p:
        candidate = np.minimum(work, current[:, None])
        totals = weights @ np.where(np.isinf(candidate), big * 1e6, candidate)
        totals[chosen] = np.inf
        best = int(np.argmin(totals))
        chosen[best] = True
        current = np.minimum(current, work[:, best])
    return chosen


def teitz_bart(cost: np.ndarray, weights: np.ndarray, open_sites: np.ndarray, *, locked: np.ndarray | None = None,
               max_passes: int = 50, time_limit_s: float | None = None) -> tuple[np.ndarray, int]:
    """Vertex substitution: swap an open site for a closed one while the weighted cost falls.

    Each pass tries, for every open (unlocked) site, its best replacement and makes the
    swap when it improves. Returns (open sites, passes made).
    """
    n, m = cost.shape
    big = np.nanmax(np.where(np.isfinite(cost), cost, np.nan)) * 10 + 1
    work = np.where(np.isfinite(cost), cost, big * (1 + n))
    chosen = open_sites.copy()
    locked = np.zeros(m, bool) if locked is None else locked
    deadline = None if time_limit_s is None else time.perf_counter() + time_limit_s
    passes = 0
    for passes in range(1, max_passes + 1):
        improved = False
        for j in np.flatnonzero(chosen & ~locked):
            others = np.flatnonzero(chosen)
            sub = work[:, others]
            order = np.argsort(sub, axis=1)[:, :2]
            best = sub[np.arange(n), order[:, 0]]
            best_site = others[order[:, 0]]
            second = sub[np.arange(n), order[:, 1]] if len(others) > 1 else np.full(n, big * (1 + n))
            alternative = np.where(best_site == j, second, best)
            current = float(weights @ best)
            totals = weights @ np.minimum(work, alternative[:, None])
            totals[chosen] = np.inf
            k = int(np.argmin(totals))
            if totals[k] < current * (1 - 1e-12) - 1e-9:
                chosen[j] = False
                chosen[k] = True
                improved = True
            if deadline is not None and time.perf_counter() > deadline:
                return chosen, passes
        if not improved:
            break
    return chosen, passes


def lagrangian_bound(cost: np.ndarray, weights: np.ndarray, p: int, *, upper_bound: float,
                     iterations: int = 300, time_limit_s: float | None = None) -> float:
    """Lower bound on the p-median optimum by subgradient optimisation.

    Relaxing ``sum_j x_ij = 1`` with multipliers ``u_i`` gives
    ``L(u) = sum_i u_i + sum of the p smallest rho_j``, ``rho_j = sum_i min(0, w_i c_ij - u_i)``;
    ``max_u L(u)`` equals the LP bound (Cornuejols, Fisher & Nemhauser 1977).
    """
    n, m = cost.shape
    finite = np.isfinite(cost)
    weighted = np.where(finite, cost * weights[:, None], np.inf)
    u = np.min(weighted, axis=1)  # start at each demand's cheapest assignment
    u = np.where(np.isfinite(u), u, 0.0)
    best = -np.inf
    step_scale = 2.0
    stall = 0
    deadline = None if time_limit_s is None else time.perf_counter() + time_limit_s
    for _ in range(iterations):
        reduced = np.minimum(weighted - u[:, None], 0.0)
        rho = reduced.sum(axis=0)
        chosen = np.argpartition(rho, p - 1)[:p]
        value = float(u.sum() + rho[chosen].sum())
        if value > best + 1e-9 * abs(best if np.isfinite(best) else 1):
            best, stall = value, 0
        else:
            stall += 1
            if stall >= 20:
                step_scale /= 2
                stall = 0
        assigned = (reduced[:, chosen] < 0).sum(axis=1)
        subgradient = 1.0 - assigned
        norm = float(subgradient @ subgradient)
        if norm == 0 or step_scale < 1e-6:
            break
        u = u + step_scale * (upper_bound - value) / norm * subgradient
        if deadline is not None and time.perf_counter() > deadline:
            break
    return best


@dataclass(frozen=True)
class _Levels:
    """Level variables ``z`` of one radius-formulation block (see the module docstring)."""

    z: slice
    constant: float          # sum_i w_i D_i^1
    z_demand: np.ndarray     # demand row of each z
    d_before: np.ndarray     # D_i^{l-1} of each z_i^l

    def start_values(self, cost: np.ndarray, open_sites: np.ndarray) -> np.ndarray:
        """Values of ``z`` for the sites ``open_sites`` (1 while no open site lies within D^{l-1})."""
        best = np.where(open_sites[None, :] > 0.5, cost, np.inf).min(axis=1)
        return (self.d_before < best[self.z_demand]).astype(float)


def _radius_block(builder: ProblemBuilder, cost: np.ndarray, weights: np.ndarray, y: slice, name: str) -> _Levels:
    """Add the level variables and rows of the radius formulation for the open-site block ``y``."""
    n = cost.shape[0]
    rows_i, cols_j = np.nonzero(np.isfinite(cost))
    values = cost[rows_i, cols_j]
    order = np.lexsort((values, rows_i))
    rows_i, cols_j, values = rows_i[order], cols_j[order], values[order]
    first = np.ones(len(values), bool)
    first[1:] = rows_i[1:] != rows_i[:-1]
    new_level = first.copy()
    new_level[1:] |= values[1:] != values[:-1]
    running = np.cumsum(new_level) - 1
    level = running - running[first][np.cumsum(first) - 1]          # 0-based level within the demand row
    n_levels = np.zeros(n, np.int64)
    np.maximum.at(n_levels, rows_i, level + 1)
    row_offset = np.concatenate([[0], np.cumsum(n_levels)[:-1]])     # one row per level
    z_offset = np.concatenate([[0], np.cumsum(n_levels - 1)[:-1]])   # z_l for l = 1..L-1
    level_value = np.zeros(int(n_levels.sum()))
    level_value[row_offset[rows_i] + level] = values
    # z costs: w_i (D_l - D_{l-1}) for l >= 1
    z_demand = np.repeat(np.arange(n), n_levels - 1)
    z_level = np.arange(int((n_levels - 1).sum())) - np.repeat(z_offset, n_levels - 1) + 1
    d_now = level_value[row_offset[z_demand] + z_level]
    d_before = level_value[row_offset[z_demand] + z_level - 1]
    z = builder.variables(name, len(z_demand), cost=weights[z_demand] * (d_now - d_before), upper=1.0)
    # row (i, l): sum_{level l} y + z_{l+1} - z_l >= [l == 0]
    row_of_entry = row_offset[rows_i] + level
    plus_rows = row_offset[z_demand] + z_level - 1     # z_l enters row l-1 with +1
    minus_rows = row_offset[z_demand] + z_level        # and row l with -1
    z_cols = np.arange(len(z_demand)) + z.start
    all_rows = np.concatenate([row_of_entry, plus_rows, minus_rows])
    all_cols = np.concatenate([cols_j + y.start, z_cols, z_cols])
    all_vals = np.concatenate([np.ones(len(row_of_entry)), np.ones(len(z_cols)), -np.ones(len(z_cols))])
    lower = np.zeros(int(n_levels.sum()))
    lower[row_offset] = 1.0
    # rows of level 0 hold +1 for z_1 (which exists when L >= 2); level-0 lower bound 1 encodes z_0 = 1
    builder.rows(all_rows, all_cols, all_vals, lower=lower, upper=np.inf, count=len(lower))
    return _Levels(z=z, constant=float(weights @ level_value[row_offset]), z_demand=z_demand, d_before=d_before)


@dataclass(frozen=True)
class PMedian:
    """p-median: minimise the weighted total cost of serving each demand from its nearest open site.

    Objective: weighted total cost (weight x cost unit, e.g. vehicle-seconds).
    """

    cost: np.ndarray
    weights: np.ndarray
    p: int
    demand_ids: tuple[Any, ...]
    site_ids: tuple[Any, ...]
    existing: np.ndarray
    cutoff: float | None

    @classmethod
    def from_cost_matrix(cls, cost: Any, weights: Any = None, *, p: int, cutoff: float | None = None,
                         demand_ids: Sequence[Any] | None = None, site_ids: Sequence[Any] | None = None,
                         existing: Sequence[Any] | None = None) -> PMedian:
        """Build from a demand x site cost matrix; pairs above ``cutoff`` or ``inf`` are not allowed.

        Raises
        ------
        InfeasibleError
            Naming demand points with no reachable site (within the cutoff).
        """
        matrix = check_cost_matrix(cost).copy()
        if cutoff is not None:
            if not np.isfinite(cutoff) or cutoff < 0:
                raise ValidationError(f"cutoff must be a finite number >= 0, got {cutoff}")
            matrix[matrix > cutoff] = np.inf
        demand = check_ids(demand_ids, matrix.shape[0], "demand")
        sites = check_ids(site_ids, matrix.shape[1], "site")
        unreachable = np.flatnonzero(~np.isfinite(matrix).any(axis=1))
        if len(unreachable):
            raise InfeasibleError(f"p-median: {len(unreachable)} demand point(s) reach no candidate site "
                                  f"(e.g. {[demand[i] for i in unreachable[:20]]}); raise the cutoff or drop them")
        existing_mask = _existing_mask(existing, sites)
        p = check_p(p, matrix.shape[1])
        if existing_mask.sum() > p:
            raise ValidationError(f"{int(existing_mask.sum())} existing sites exceed p = {p}")
        return cls(matrix, check_weights(weights, matrix.shape[0]), p, demand, sites, existing_mask, cutoff)

    @classmethod
    def from_geodataframe(cls, G: Any, demand: Any, sites: Any, *, p: int, weight_column: str | None = None,
                          weight: str = "travel_time", cutoff: float | None = None,
                          existing: Sequence[Any] | None = None) -> PMedian:
        """Build from demand and site point GeoDataFrames: network costs, then :meth:`from_cost_matrix`."""
        from ._geo import network_costs

        data = network_costs(G, demand, sites, weight_column=weight_column, weight=weight, cutoff=cutoff)
        return cls.from_cost_matrix(data["cost"], data["weights"], p=p, cutoff=cutoff, demand_ids=data["demand_ids"],
                                    site_ids=data["site_ids"], existing=existing)

    # ------------------------------------------------------------------ exact

    def _build(self, initial_open: np.ndarray | None):
        m = self.cost.shape[1]
        builder = ProblemBuilder()
        y = builder.variables("open", m, lower=self.existing.astype(float), upper=1.0, integer=True)
        levels = _radius_block(builder, self.cost, self.weights, y, "levels")
        builder.rows(np.zeros(m), np.arange(m) + y.start, 1.0, lower=self.p, upper=self.p, count=1)
        initial = None
        if initial_open is not None:
            initial = np.zeros(builder.n_cols)
            initial[y] = initial_open
            initial[levels.z] = levels.start_values(self.cost, initial_open)
        return builder.build(initial=initial), y, levels.constant

    def solve(self, *, solver: Solver | None = None, time_limit_s: float | None = None,
              mip_gap: float | None = None) -> SitingResult:
        """Solve exactly: greedy + Teitz-Bart first; optimal at once when the Lagrangian bound
        meets it, otherwise the radius-formulation MILP warm-started from it."""
        time_limit_s = check_time_limit(time_limit_s)
        start = time.perf_counter()
        deadline = None if time_limit_s is None else start + time_limit_s

        def remaining(share: float = 1.0) -> float | None:  # the whole solve keeps to time_limit_s
            return None if deadline is None else max(share * (deadline - time.perf_counter()), 0.05)

        heuristic, _ = teitz_bart(self.cost, self.weights, greedy_pmedian(self.cost, self.weights, self.p,
                                                                         self.existing), locked=self.existing,
                                  time_limit_s=remaining(0.4))
        if not self.existing.any() and np.isfinite(_objective(self.cost, self.weights, heuristic)):
            # a Lagrangian (LP) bound that meets the heuristic value proves it optimal: no MILP needed
            value = _objective(self.cost, self.weights, heuristic)
            bound = lagrangian_bound(self.cost, self.weights, self.p, upper_bound=value, iterations=200,
                                     time_limit_s=remaining(0.5))
            tolerance = 1e-9 if mip_gap is None else mip_gap
            if value - bound <= tolerance * max(abs(value), 1e-12):
                result = self._result(heuristic, start, best_bound=min(bound, value), status="optimal",
                                      model="pmedian")
                return SitingResult(**{**result.__dict__, "details": {**result.details, "proof": "lagrangian bound"}})
        problem, y, constant = self._build(heuristic.astype(float))
        outcome = (solver or highs_solver)(problem, time_limit_s=remaining(), mip_gap=mip_gap)
        if outcome.x is None:
            if not np.isfinite(_objective(self.cost, self.weights, heuristic)):
                raise InfeasibleError(f"p-median: no {self.p} site(s) found that every demand point can reach "
                                      f"(solver status {outcome.status}); parts of the network are cut off from "
                                      "each other: raise p, or drop the demand points on the cut-off parts")
            return self._result(heuristic, start, best_bound=float("nan"), status=outcome.status, model="pmedian")
        open_sites = outcome.x[y] > 0.5
        result = self._result(open_sites, start, best_bound=outcome.best_bound + constant, status=outcome.status,
                              model="pmedian")
        return SitingResult(**{**result.__dict__, "details": {**result.details, "proof": "milp"}})

    # ------------------------------------------------------------------ heuristic

    def solve_heuristic(self, *, time_limit_s: float | None = None, bound_iterations: int = 300) -> SitingResult:
        """Greedy + Teitz-Bart, with the gap to the Lagrangian (LP) lower bound."""
        time_limit_s = check_time_limit(time_limit_s)
        start = time.perf_counter()
        greedy = greedy_pmedian(self.cost, self.weights, self.p, self.existing)
        remaining = None if time_limit_s is None else max(time_limit_s * 0.7 - (time.perf_counter() - start), 1.0)
        open_sites, passes = teitz_bart(self.cost, self.weights, greedy, locked=self.existing, time_limit_s=remaining)
        value = _objective(self.cost, self.weights, open_sites)
        bound_time = None if time_limit_s is None else max(time_limit_s - (time.perf_counter() - start), 1.0)
        bound = (lagrangian_bound(self.cost, self.weights, self.p, upper_bound=value, iterations=bound_iterations,
                                  time_limit_s=bound_time) if not self.existing.any() else float("nan"))
        result = self._result(open_sites, start, best_bound=bound, status="heuristic", model="pmedian")
        return SitingResult(**{**result.__dict__, "details": {**result.details, "swap_passes": passes}})

    def _result(self, open_sites: np.ndarray, start: float, *, best_bound: float, status: str,
                model: str) -> SitingResult:
        value = _objective(self.cost, self.weights, open_sites)
        nearest = _assign_nearest(self.cost, open_sites)
        gap = (value - best_bound) / max(abs(value), 1e-12) if np.isfinite(best_bound) else float("inf")
        return SitingResult(
            model=model,
            sites=tuple(sorted((self.site_ids[j] for j in np.flatnonzero(open_sites)), key=_sort_key)),
            assignment={d: (self.site_ids[j] if j >= 0 else None) for d, j in zip(self.demand_ids, nearest)},
            objective=value,
            best_bound=float(best_bound),
            gap=max(0.0, float(gap)),
            status=status,
            seconds=time.perf_counter() - start,
            details={"mean_cost": value / max(self.weights.sum(), 1e-300)},
        )


def pmedian_rollout(model: PMedian, counts: Sequence[int] | None = None, *, budgets: Sequence[int] | None = None,
                    periods: Sequence[Any] | None = None, weights_by_period: Any = None,
                    solver: Solver | None = None, time_limit_s: float | None = None,
                    mip_gap: float | None = None) -> SitingResult:
    """Multi-period p-median: sites open by each period, never closed; existing sites open from the start.

    ``min sum_t sum_i W_ti d_it`` where ``d_it`` is the cost from demand ``i`` to its nearest
    site open in period ``t`` (one radius-formulation block per period), subject to
    ``sum_j y_jt = counts[t]`` and ``y_{j,t-1} <= y_jt``.

    Solving: a myopic plan first (each period greedy + Teitz-Bart with the previous
    period's sites locked); a lower bound from the periods solved apart (dropping the
    nesting rows, each a single-period p-median); when the plan meets that bound it is
    optimal, otherwise the multi-period MILP, warm-started from the plan, runs in the
    remaining time. The gap reported is against the better of the two bounds.

    Parameters
    ----------
    model
        A single-period :class:`PMedian` giving costs, weights, cutoff and existing sites.
    counts
        Cumulative number of open sites per period (non-decreasing).
    budgets
        Instead of ``counts``: new sites each period may open.
    periods
        Labels of the periods (e.g. years); default 0..T-1.
    weights_by_period
        ``T x n`` demand weights (default: the model's weights in every period), e.g.
        vehicles registered in each target year.

    Returns
    -------
    SitingResult
        Objective: weighted total cost summed over the periods; ``details`` holds
        ``opened_by_period``, ``weighted_cost_by_period``, ``mean_cost_by_period`` and the
        myopic plan's objective (``heuristic_objective``).
    """
    time_limit_s = check_time_limit(time_limit_s)
    start = time.perf_counter()
    m = model.cost.shape[1]
    counts, labels = rollout_periods(counts, budgets, periods, existing=int(model.existing.sum()), candidates=m)
    weights = period_weights(weights_by_period, model.weights, len(counts))
    # myopic warm start: each period extends the previous one
    plan, current = [], model.existing.copy()
    for t, count in enumerate(counts):
        locked = current.copy()
        current = greedy_pmedian(model.cost, weights[t], count, locked)
        current, _ = teitz_bart(model.cost, weights[t], current, locked=locked)
        plan.append(current.copy())
    heuristic_value = sum(_objective(model.cost, weights[t], plan[t]) for t in range(len(counts)))
    tolerance = 1e-4 if mip_gap is None else mip_gap
    deadline = None if time_limit_s is None else start + time_limit_s

    def remaining() -> float | None:
        return None if deadline is None else max(deadline - time.perf_counter(), 0.1)

    # lower bound without the nesting rows: each period's own p-median optimum (bound)
    relaxed = 0.0
    for t, count in enumerate(counts):
        single = PMedian(model.cost, weights[t], count, model.demand_ids, model.site_ids, model.existing, model.cutoff)
        bound = single.solve(solver=solver, time_limit_s=remaining(), mip_gap=tolerance / 10).best_bound
        relaxed += bound if np.isfinite(bound) else 0.0  # costs are >= 0: 0 is always a bound
    best_bound, status = relaxed, "time_limit"
    if heuristic_value - relaxed <= tolerance * max(abs(heuristic_value), 1e-12):
        status = "optimal"  # the myopic plan meets the bound: nesting costs nothing here
    elif deadline is None or time.perf_counter() < deadline:
        problem, y_blocks, constant = _rollout_problem(model, counts, weights, plan)
        outcome = (solver or highs_solver)(problem, time_limit_s=remaining(), mip_gap=mip_gap)
        if outcome.x is not None:
            candidate = [outcome.x[y] > 0.5 for y in y_blocks]
            if sum(_objective(model.cost, weights[t], candidate[t]) for t in range(len(counts))) <= heuristic_value:
                plan = candidate
            status = outcome.status
            if np.isfinite(outcome.best_bound):
                best_bound = max(best_bound, outcome.best_bound + constant)
    by_period = [_objective(model.cost, weights[t], plan[t]) for t in range(len(counts))]
    value = float(sum(by_period))
    gap = max(0.0, (value - best_bound) / max(abs(value), 1e-12)) if np.isfinite(best_bound) else float("inf")
    opened, previous = {}, model.existing
    for t, label in enumerate(labels):
        opened[label] = tuple(sorted((model.site_ids[j] for j in np.flatnonzero(plan[t] & ~previous)), key=_sort_key))
        previous = plan[t]
    nearest = _assign_nearest(model.cost, plan[-1])
    return SitingResult(
        model="pmedian_rollout",
        sites=tuple(sorted((model.site_ids[j] for j in np.flatnonzero(plan[-1])), key=_sort_key)),
        assignment={d: (model.site_ids[j] if j >= 0 else None) for d, j in zip(model.demand_ids, nearest)},
        objective=value,
        best_bound=float(best_bound),
        gap=float(gap),
        status=status,
        seconds=time.perf_counter() - start,
        details={"opened_by_period": opened, "counts": dict(zip(labels, counts)),
                 "weighted_cost_by_period": dict(zip(labels, by_period)), "relaxed_bound": relaxed,
                 "mean_cost_by_period": {label: cost / max(float(weights[t].sum()), 1e-300)
                                         for t, (label, cost) in enumerate(zip(labels, by_period))},
                 "heuristic_objective": heuristic_value},
    )


def _rollout_problem(model: PMedian, counts: Sequence[int], weights: np.ndarray, plan: Sequence[np.ndarray]):
    """Multi-period radius formulation warm-started from ``plan``.

    Returns (problem, open-site column block per period, objective constant).
    """
    m = model.cost.shape[1]
    builder = ProblemBuilder()
    y_blocks, levels, constant = [], [], 0.0
    for t, count in enumerate(counts):
        y = builder.variables(f"open_{t}", m, lower=model.existing.astype(float), upper=1.0, integer=True)
        block = _radius_block(builder, model.cost, weights[t], y, f"levels_{t}")
        constant += block.constant
        builder.rows(np.zeros(m), np.arange(m) + y.start, 1.0, lower=count, upper=count, count=1)
        if y_blocks:  # a site opened stays open: y_{t-1,j} - y_{t,j} <= 0
            previous = y_blocks[-1]
            builder.rows(np.concatenate([np.arange(m), np.arange(m)]),
                         np.concatenate([np.arange(m) + previous.start, np.arange(m) + y.start]),
                         np.concatenate([np.ones(m), -np.ones(m)]), lower=-np.inf, upper=0.0, count=m)
        y_blocks.append(y)
        levels.append(block)
    initial = np.zeros(builder.n_cols)
    for t, (y, block) in enumerate(zip(y_blocks, levels)):
        initial[y] = plan[t]
        initial[block.z] = block.start_values(model.cost, plan[t])
    return builder.build(initial=initial), y_blocks, constant
