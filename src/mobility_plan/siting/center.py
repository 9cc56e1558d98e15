"""p-center (Hakimi 1964): least worst-case cost with ``p`` sites, proven optimal.

The optimal radius is one of the matrix's distinct finite costs. The model searches
them by bisection: radius ``r`` is feasible when the location set covering problem
with radius ``r`` (Toregas et al. 1971) needs at most ``p`` sites. Each covering
problem is a small, tight MILP solved exactly by HiGHS, so the returned radius is
proven optimal (Minieka 1970; Daskin 2013, ch. 5). The objective reported is always
recomputed from the returned sites.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._errors import InfeasibleError
from ._result import SitingResult, check_cost_matrix, check_ids, check_p
from ._solver import ProblemBuilder, Solver, check_time_limit, highs_solver
from .coverage import _assign_nearest, _existing_mask, _sort_key, coverage_matrix
from .median import greedy_pmedian, teitz_bart

__all__ = ["PCenter"]


@dataclass(frozen=True)
class PCenter:
    """p-center: minimise the largest cost from a demand point to its nearest open site.

    Objective: the largest cost (same unit as the matrix, e.g. seconds).
    """

    cost: np.ndarray
    p: int
    demand_ids: tuple[Any, ...]
    site_ids: tuple[Any, ...]
    existing: np.ndarray

    @classmethod
    def from_cost_matrix(cls, cost: Any, *, p: int, demand_ids: Sequence[Any] | None = None,
                         site_ids: Sequence[Any] | None = None, existing: Sequence[Any] | None = None) -> PCenter:
        """Build from a demand x site cost matrix (``inf`` = unreachable)."""
        matrix = check_cost_matrix(cost)
        demand = check_ids(demand_ids, matrix.shape[0], "demand")
        unreachable = np.flatnonzero(~np.isfinite(matrix).any(axis=1))
        if len(unreachable):
            raise InfeasibleError(f"p-center: demand point(s) {[demand[i] for i in unreachable[:20]]} reach no site")
        sites = check_ids(site_ids, matrix.shape[1], "site")
        return cls(matrix, check_p(p, matrix.shape[1]), demand, sites, _existing_mask(existing, sites))

    @classmethod
    def from_geodataframe(cls, G: Any, demand: Any, sites: Any, *, p: int, weight: str = "travel_time",
                          existing: Sequence[Any] | None = None) -> PCenter:
        """Build from demand and site point GeoDataFrames: network costs, then :meth:`from_cost_matrix`."""
        from ._geo import network_costs

        data = network_costs(G, demand, sites, weight=weight)
        return cls.from_cost_matrix(data["cost"], p=p, demand_ids=data["demand_ids"], site_ids=data["site_ids"],
                                    existing=existing)

    def _max_cost(self, open_sites: np.ndarray) -> float:
        return float(self.cost[:, open_sites].min(axis=1).max())

    def _cover_count(self, radius: float, solver: Solver, time_limit_s: float | None) -> tuple[int, np.ndarray | None,
                                                                                               str]:
        cover = coverage_matrix(self.cost, radius)
        n, m = cover.shape
        if (np.diff(cover.indptr) == 0).any():
            return m + 1, None, "optimal"
        builder = ProblemBuilder()
        y = builder.variables("open", m, cost=1.0, lower=self.existing.astype(float), upper=1.0, integer=True)
        rows, cols = cover.nonzero()
        builder.rows(rows, cols + y.start, 1.0, lower=1.0, upper=np.inf, count=n)
        outcome = solver(builder.build(), time_limit_s=time_limit_s, mip_gap=0.0)
        if outcome.x is None:
            return m + 1, None, outcome.status
        if outcome.status != "optimal":
            # a feasible cover with <= p sites still proves feasibility; otherwise unknown
            used = int(round(outcome.objective))
            return (used if used <= self.p else m + 1), outcome.x[y] > 0.5, outcome.status
        return int(round(outcome.objective)), outcome.x[y] > 0.5, "optimal"

    def solve(self, *, solver: Solver | None = None, time_limit_s: float | None = None,
              mip_gap: float | None = None) -> SitingResult:
        """Solve to proven optimality by bisection over the distinct costs.

        ``mip_gap`` is accepted for a uniform interface; every covering problem is
        solved to optimality. On a time limit the best feasible radius found is
        returned with status ``time_limit`` and its gap to the largest radius proven
        infeasible.
        """
        time_limit_s = check_time_limit(time_limit_s)
        start = time.perf_counter()
        solve_with = solver or highs_solver
        deadline = None if time_limit_s is None else start + time_limit_s
        heuristic, _ = teitz_bart(np.where(np.isfinite(self.cost), self.cost, np.inf),
                                  np.ones(self.cost.shape[0]), greedy_pmedian(self.cost, np.ones(self.cost.shape[0]),
                                                                              self.p, self.existing),
                                  locked=self.existing, max_passes=5)
        best_sites, best_value = heuristic, self._max_cost(heuristic)
        lower_bound = float(self.cost.min(axis=1).max())  # every demand needs at least its nearest site
        candidates = np.unique(self.cost[np.isfinite(self.cost)])
        candidates = candidates[(candidates >= lower_bound) & (candidates <= best_value)]
        low, high = 0, len(candidates) - 1  # candidates[high] is feasible (the heuristic value)
        proven_infeasible = -np.inf
        status = "optimal"
        checks = 0
        while low < high:
            if deadline is not None and time.perf_counter() > deadline:
                status = "time_limit"
                break
            middle = (low + high) // 2
            remaining = None if deadline is None else max(deadline - time.perf_counter(), 0.1)
            count, sites, sub_status = self._cover_count(candidates[middle], solve_with, remaining)
            checks += 1
            if count <= self.p:
                high = middle
                if sites is not None and self._max_cost(sites) <= best_value:
                    best_sites, best_value = sites, self._max_cost(sites)
            elif sub_status == "optimal":
                low = middle + 1
                proven_infeasible = candidates[middle]
            else:
                status = sub_status
                break
        best_sites = self._fill(best_sites)
        value = self._max_cost(best_sites)
        if not np.isfinite(value):
            raise InfeasibleError(f"p-center: no {self.p} site(s) found that every demand point can reach; parts of "
                                  "the network are cut off from each other: raise p, or drop the demand points on "
                                  "the cut-off parts")
        bound = value if status == "optimal" else (candidates[low] if low < len(candidates) else proven_infeasible)
        nearest = _assign_nearest(self.cost, best_sites)
        return SitingResult(
            model="pcenter",
            sites=tuple(sorted((self.site_ids[j] for j in np.flatnonzero(best_sites)), key=_sort_key)),
            assignment={d: self.site_ids[j] for d, j in zip(self.demand_ids, nearest)},
            objective=value,
            best_bound=float(bound),
            gap=0.0 if status == "optimal" else max(0.0, (value - bound) / max(value, 1e-12)),
            status=status,
            seconds=time.perf_counter() - start,
            details={"covering_problems_solved": checks, "lower_bound_nearest_site": lower_bound},
        )

    def _fill(self, open_sites: np.ndarray) -> np.ndarray:
        """Open extra sites (least total cost first) until exactly p are open; the max cannot grow."""
        chosen = open_sites.copy()
        while chosen.sum() < self.p:
            current = self.cost[:, chosen].min(axis=1) if chosen.any() else np.full(self.cost.shape[0], np.inf)
            totals = np.minimum(self.cost, current[:, None]).sum(axis=0)
            totals[chosen] = np.inf
            chosen[int(np.argmin(totals))] = True
        return chosen
