"""Flow-refuelling location model (FRLM; Kuby & Lim 2005, Socio-Economic Planning Sciences 39(2)).

Semantics (classic FRLM)
------------------------
Each origin-destination flow travels the round trip origin -> destination -> origin on
its shortest path by length. Only stations at nodes of that path count. The vehicle
leaves the origin with half a tank (``range/2``) unless a station stands at the
origin. The flow is refuelled when no stretch of the round trip between consecutive
refuelling opportunities exceeds the range, and at least one station lies on the path
(so the trip can be repeated: by symmetry the vehicle then returns with at least half a
tank).

Formulation: arc cover - path cover (ACPC; Capar, Kuby, Leon & Tsai 2013, EJOR
227(1):142-151)
--------------------------------------------------------------------------
For path ``q`` and each arc ``a`` of its round trip ending at position ``e_a`` (km
from the start), ``K_qa`` holds the nodes with an occurrence on the trip at a position
``s`` with ``e_a - range <= s <= start of a``: a station at any of them lets the
vehicle traverse ``a``. Arcs reachable on the initial half tank (``e_a <= range/2``)
need no station. Then

    max  sum_q f_q y_q
    s.t. y_q <= sum_{k in K_qa} x_k     for every path q and kept set K_qa
         sum_k x_k = p,   x binary,   0 <= y_q <= 1.

Only inclusion-minimal sets ``K_qa`` of each path are kept (a superset adds no
restriction). A path with an empty set (a leg longer than the range, or a first leg
beyond half the range with no node to refuel before it) can never be refuelled and is
reported, not modelled.

Solving
-------
Identical sets are shared between paths through one variable ``w_K <= sum_{k in K} x_k``
(``w_K`` = set hit); paths with the same collection of sets are merged, and paths
needing a single set add their flow to that set's ``w_K``. The linking rows
``y_q <= w_K`` are generated lazily: the LP starts with one row per path and adds, in
rounds, the rows its solution violates (dual simplex re-solves from the previous
basis). The LP puts half stations on nodes shared by two sets, hitting both; each round
therefore also adds odd-cycle cuts (``{0, 1/2}``-Chvatal-Gomory cuts over the rows
``w_K <= x(K)``, see :func:`_odd_cycle_cuts`), which closed most of the LP gap on the
national expressway network (e.g. range 150 km, p = 40: from 0.8 % to below 0.1 %). Each
round's LP is a relaxation of the model, so each round's bound holds. When the cuts stall,
a best-first branch and bound on the stations continues over the same LP (each node fixes
stations through column bounds and is bounded by its Lagrangian bound). Meanwhile, on the
other core, greedy + swaps, swaps from each LP solution's fully open stations, and greedy +
swaps on the model with the rows generated so far look for good stations. When their value
is within the gap tolerance of the bound, that is the proof; otherwise stations are fixed
by reduced costs (no solution better than the incumbent opens or closes them) and the MILP
is solved with the rows and cuts found, adding rows whenever an integer solution violates
one, until none does or the best stations' true value is within the tolerance of the bound
(a bound on a subset of the rows is valid for all of them).

Bounds are kept valid: HiGHS treats costs below its tolerances as zero, and with flows
spanning seven orders of magnitude its presolve then drops columns without accounting
for their objective (its reported bound fell below a feasible solution's value on the
expressway network). The exact models therefore leave the smallest flows out
themselves, at most a fifth of the gap tolerance times the heuristic's objective, and
add that flow to every bound; the LP bound is computed from the row duals.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from scipy.sparse import csc_matrix, csr_matrix
from scipy.sparse.csgraph import dijkstra

from .._errors import InfeasibleError, ValidationError
from ._result import SitingResult, check_p, rollout_periods
from ._solver import ProblemBuilder, Solver, check_time_limit, highs_solver
from .coverage import _sort_key

__all__ = ["FlowPaths", "FRLM", "shortest_paths", "refuelling_sets"]

# share of the gap tolerance spent on leaving the smallest flows out of the exact models
# (at most this share of the tolerance times the heuristic's objective; see ``_Costs``)
_DROP_SHARE = 0.2


@dataclass(frozen=True)
class FlowPaths:
    """Shortest paths of OD flows on a graph, as node index sequences with cumulative km.

    Attributes
    ----------
    nodes
        Graph node ids; paths hold positions into this array.
    origins, destinations
        Node ids of each flow.
    flows
        Flow volume of each OD pair (e.g. vehicles/day).
    paths
        Node positions along each shortest path, origin first.
    positions_km
        Cumulative km at each path node.
    """

    nodes: np.ndarray
    origins: np.ndarray
    destinations: np.ndarray
    flows: np.ndarray
    paths: tuple[np.ndarray, ...]
    positions_km: tuple[np.ndarray, ...]

    @property
    def lengths_km(self) -> np.ndarray:
        """One-way length of each path (km)."""
        return np.array([p[-1] for p in self.positions_km])


def shortest_paths(G: nx.MultiDiGraph, od: pd.DataFrame, *, weight: str = "length") -> FlowPaths:
    """Shortest paths (by ``weight`` in metres) of every OD pair with positive flow.

    Parameters
    ----------
    G
        Road graph whose edges carry ``length`` (m).
    od
        Table with ``origin``, ``destination`` (node ids) and ``flow`` (or ``vehicles``).

    Raises
    ------
    ValidationError
        On missing columns, unknown nodes, negative flows or OD pairs without a path.
    """
    flow_column = "flow" if "flow" in od.columns else "vehicles"
    missing = [c for c in ("origin", "destination", flow_column) if c not in od.columns]
    if missing:
        raise ValidationError(f"the OD table needs 'origin', 'destination' and 'flow' columns; missing {missing}")
    if len(od) == 0:
        raise ValidationError("the OD table is empty (no origin-destination rows): FRLM needs the flows it is to "
                              "refuel; give at least one row with origin, destination and a flow > 0")
    flows = pd.to_numeric(od[flow_column], errors="coerce")
    bad = ~np.isfinite(flows.to_numpy(dtype=np.float64)) | (flows.to_numpy(dtype=np.float64) < 0)
    if bad.any():
        rows = od.index[bad][:5].tolist()
        raise ValidationError(f"OD column {flow_column!r} must hold finite numbers >= 0; rows "
                              f"{rows} hold {od.loc[bad, flow_column].head(5).tolist()} (NaN, inf, negative or "
                              "text); fill, correct or drop those rows")
    od = od.assign(**{flow_column: flows})
    od = od[od[flow_column] > 0]
    if len(od) == 0:
        raise ValidationError(f"every OD {flow_column!r} is 0: there is no flow to refuel; give at least one "
                              "origin-destination row with a flow > 0")
    nodes = np.array(sorted(G.nodes, key=_sort_key), dtype=object)
    position = {n: i for i, n in enumerate(nodes)}
    unknown = sorted({n for n in pd.concat([od["origin"], od["destination"]]) if n not in position}, key=str)
    if unknown:
        raise ValidationError(f"OD nodes {unknown[:10]} are not in the graph")
    edges: dict[tuple[int, int], float] = {}
    for u, v, data in G.edges(data=True):
        if u == v:
            continue
        key = (position[u], position[v])
        value = float(data[weight])
        if key not in edges or value < edges[key]:
            edges[key] = value
    rows, cols = zip(*edges) if edges else ((), ())
    matrix = csr_matrix((np.array(list(edges.values())) / 1000.0, (rows, cols)), shape=(len(nodes), len(nodes)))
    origin_idx = od["origin"].map(position).to_numpy()
    destination_idx = od["destination"].map(position).to_numpy()
    sources = np.unique(origin_idx)
    distance, predecessor = dijkstra(matrix, directed=True, indices=sources, return_predecessors=True)
    row_of = {s: r for r, s in enumerate(sources)}
    paths, positions = [], []
    no_path = []
    for o, d in zip(origin_idx, destination_idx):
        r = row_of[o]
        if not np.isfinite(distance[r, d]):
            no_path.append((nodes[o], nodes[d]))
            continue
        sequence = [d]
        while sequence[-1] != o:
            sequence.append(predecessor[r, sequence[-1]])
        sequence = np.array(sequence[::-1], dtype=np.int64)
        paths.append(sequence)
        positions.append(distance[r, sequence])
    if no_path:
        raise ValidationError(f"{len(no_path)} OD pair(s) have no path in the graph (e.g. {no_path[:5]}); "
                              "use the largest strongly connected component")
    return FlowPaths(nodes=nodes, origins=od["origin"].to_numpy(), destinations=od["destination"].to_numpy(),
                     flows=od[flow_column].to_numpy(dtype=np.float64), paths=tuple(paths), positions_km=tuple(positions))


def _round_trip(path: np.ndarray, position: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Node occurrences of the round trip origin -> destination -> origin and their km positions."""
    total = position[-1]
    nodes = np.concatenate([path, path[-2::-1]])
    places = np.concatenate([position, 2 * total - position[-2::-1]])
    return nodes, places


def refuelling_sets(paths: FlowPaths, range_km: float) -> tuple[list[list[frozenset[int]]], np.ndarray]:
    """Inclusion-minimal station sets ``K_qa`` of each path; and which paths can never be refuelled.

    Returns
    -------
    (sets, unrefuellable)
        ``sets[q]`` lists the node-position sets of path ``q``; ``unrefuellable`` is a
        boolean array over paths.
    """
    if not np.isfinite(range_km) or range_km <= 0:
        raise ValidationError(f"range_km must be > 0 km, got {range_km}")
    half = range_km / 2.0
    tolerance = 1e-9
    n_paths = len(paths.paths)
    lengths = np.array([len(p) for p in paths.paths], dtype=np.int64)
    impossible = np.zeros(n_paths, dtype=bool)
    all_sets: list[list[frozenset[int]]] = [[] for _ in range(n_paths)]
    if n_paths == 0:
        return all_sets, impossible
    # all round trips at once: occurrence i of path q sits at path position i (outbound) or
    # 2 (n_q - 1) - i (return); km places are made increasing across paths with an offset
    trips = 2 * lengths - 1
    trip_start = np.concatenate([[0], np.cumsum(trips)[:-1]])
    owner = np.repeat(np.arange(n_paths), trips)
    occurrence = np.arange(int(trips.sum())) - trip_start[owner]
    turn = lengths - 1
    position = np.where(occurrence <= turn[owner], occurrence, 2 * turn[owner] - occurrence)
    path_start = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    km = np.concatenate(paths.positions_km)
    total_km = km[path_start + turn]
    places = np.where(occurrence <= turn[owner], km[path_start[owner] + position],
                      2 * total_km[owner] - km[path_start[owner] + position])
    offset = 4.0 * (float(total_km.max()) + range_km) + 1.0
    shifted = places + offset * owner
    # arcs: from occurrence i to i + 1 of the same trip; those ending beyond half a tank need a station
    arc = np.flatnonzero(np.diff(owner) == 0)
    arc_owner = owner[arc]
    ends = places[arc + 1]
    need = ends > half + tolerance
    arc, arc_owner, ends = arc[need], arc_owner[need], ends[need]
    # usable occurrences for the arc: [lo, hi] with places in [end - range, start of the arc]
    lo = np.searchsorted(shifted, ends - range_km - tolerance + offset * arc_owner, side="left")
    hi = arc
    bad = lo > hi
    impossible[np.unique(arc_owner[bad])] = True
    has_arc = np.zeros(n_paths, dtype=bool)
    has_arc[arc_owner] = True
    keep = ~impossible[arc_owner]
    lo, hi, arc_owner = lo[keep], hi[keep], arc_owner[keep]
    # lo and hi never decrease along a trip, so a window contains another only when both start
    # at the same occurrence: keep the shortest window per start
    first = np.ones(len(lo), dtype=bool)
    first[1:] = (lo[1:] != lo[:-1]) | (arc_owner[1:] != arc_owner[:-1])
    lo, hi, arc_owner = lo[first], hi[first], arc_owner[first]
    # on a simple path a window's nodes are the path positions [a, b]; over the turn at the
    # destination it covers [min(lo, mirror of hi), turn]; inclusion is interval containment
    lo_pos, hi_pos, t = position[lo], position[hi], turn[arc_owner]
    lo_out, hi_out = occurrence[lo] <= t, occurrence[hi] <= t
    a = np.where(hi_out, lo_pos, np.where(~lo_out, hi_pos, np.minimum(lo_pos, hi_pos)))
    b = np.where(hi_out, hi_pos, np.where(~lo_out, lo_pos, t))
    order = np.lexsort((b, a, arc_owner))
    q, a, b = arc_owner[order], a[order], b[order]
    distinct = np.ones(len(q), dtype=bool)
    distinct[1:] = (q[1:] != q[:-1]) | (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    q, a, b = q[distinct], a[distinct], b[distinct]
    # sorted by (path, a, b): minimal when first with its a and every later interval of the
    # path ends after it (later paths get a larger offset, so they never count)
    big = float(lengths.max()) + 1.0
    key = b + big * q
    later = np.minimum.accumulate(key[::-1])[::-1]
    later_min = np.append(later[1:], np.inf)
    first_a = np.ones(len(q), dtype=bool)
    first_a[1:] = (q[1:] != q[:-1]) | (a[1:] != a[:-1])
    minimal = first_a & (later_min > key)
    q, a, b = q[minimal], a[minimal], b[minimal]
    by_size = np.lexsort((a, b - a, q))
    simple = np.array([len(np.unique(p)) == len(p) for p in paths.paths])
    for k in by_size:
        path_id = int(q[k])
        if simple[path_id]:
            all_sets[path_id].append(frozenset(paths.paths[path_id][a[k]:b[k] + 1].tolist()))
    for path_id in np.flatnonzero(~has_arc & ~impossible):
        # the whole round trip fits in half a tank: one station anywhere on the path
        all_sets[path_id] = [frozenset(paths.paths[path_id].tolist())]
    for path_id in np.flatnonzero(~simple & has_arc & ~impossible):
        # not a simple path: compare the windows' node sets themselves
        nodes, trip_places = _round_trip(paths.paths[path_id], paths.positions_km[path_id])
        windows = []
        for i in range(len(nodes) - 1):
            end = trip_places[i + 1]
            if end > half + tolerance:
                start_occurrence = int(np.searchsorted(trip_places, end - range_km - tolerance, side="left"))
                windows.append(frozenset(nodes[start_occurrence:i + 1].tolist()))
        all_sets[path_id] = _minimal_sets(windows)
    return all_sets, impossible


def _minimal_sets(candidates: Sequence[frozenset[int]]) -> list[frozenset[int]]:
    """The inclusion-minimal sets among ``candidates`` (duplicates once), smallest first."""
    minimal: list[frozenset[int]] = []
    for s in sorted(set(candidates), key=len):
        if not any(m <= s for m in minimal):
            minimal.append(s)
    return minimal


def _restrict_sets(sets: Sequence[Sequence[frozenset[int]]], impossible: np.ndarray,
                   candidate_mask: np.ndarray) -> list[list[frozenset[int]]]:
    """Keep only candidate nodes in each set; a path with a set left empty becomes impossible (in place)."""
    inside: dict[frozenset[int], frozenset[int]] = {}
    restricted = []
    for q, path_sets in enumerate(sets):
        kept = []
        for node_set in path_sets:
            if node_set not in inside:  # sets repeat across paths: restrict each once
                inside[node_set] = frozenset(k for k in node_set if candidate_mask[k])
            if not inside[node_set]:
                impossible[q] = True
                break
            kept.append(inside[node_set])
        restricted.append(kept if not impossible[q] else [])
    return restricted


@dataclass(frozen=True)
class _Structure:
    """Distinct station sets, merged paths and their incidence (see the module docstring)."""

    set_nodes: csr_matrix        # distinct sets x nodes
    set_flow: np.ndarray         # flow refuelled when a single-set path's set is hit
    pair_path: np.ndarray        # (path, set) pairs of multi-set paths, sorted by path
    pair_set: np.ndarray
    path_flow: np.ndarray        # flow of each multi-set path
    path_starts: np.ndarray      # first pair of each multi-set path
    od_kind: np.ndarray          # per OD pair: 0 unrefuellable, 1 single set, 2 multi-set
    od_index: np.ndarray         # per OD pair: its set (kind 1) or merged path (kind 2)


def _structure(sets: Sequence[Sequence[frozenset[int]]], impossible: np.ndarray, flows: np.ndarray,
               n_nodes: int) -> _Structure:
    index: dict[frozenset[int], int] = {}
    merged: dict[frozenset[frozenset[int]], int] = {}
    multi_sets: list[list[int]] = []
    multi_flow: list[float] = []
    single_flow: dict[int, float] = defaultdict(float)
    od_kind = np.zeros(len(sets), dtype=np.int8)
    od_index = -np.ones(len(sets), dtype=np.int64)
    for q, path_sets in enumerate(sets):
        if impossible[q]:
            continue
        ids = [index.setdefault(k, len(index)) for k in path_sets]
        if len(ids) == 1:
            single_flow[ids[0]] += flows[q]
            od_kind[q], od_index[q] = 1, ids[0]
            continue
        key = frozenset(path_sets)
        if key not in merged:
            merged[key] = len(multi_sets)
            multi_sets.append(sorted(ids))
            multi_flow.append(0.0)
        path = merged[key]
        multi_flow[path] += flows[q]
        od_kind[q], od_index[q] = 2, path
    distinct = list(index)
    sizes = np.array([len(k) for k in distinct], dtype=np.int64)
    set_nodes = csr_matrix((np.ones(int(sizes.sum())), (np.repeat(np.arange(len(distinct)), sizes),
                                                         np.fromiter((k for s in distinct for k in sorted(s)),
                                                                     dtype=np.int64, count=int(sizes.sum())))),
                           shape=(len(distinct), n_nodes))
    set_flow = np.zeros(len(distinct))
    for k, value in single_flow.items():
        set_flow[k] = value
    lengths = np.array([len(ids) for ids in multi_sets], dtype=np.int64)
    pair_path = np.repeat(np.arange(len(multi_sets)), lengths)
    pair_set = np.fromiter((i for ids in multi_sets for i in ids), dtype=np.int64, count=int(lengths.sum()))
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if len(lengths) else np.zeros(0, np.int64)
    return _Structure(set_nodes, set_flow, pair_path, pair_set, np.array(multi_flow), starts.astype(np.int64),
                      od_kind, od_index)


@dataclass(frozen=True)
class _Costs:
    """Objective of the exact models: the smallest flows are left out and added to every bound.

    HiGHS treats costs far below the largest (below its tolerances) as zero and its
    presolve then removes such columns without accounting for their objective; the bounds
    it reports can then be off by more than the gaps we prove. Dropping those flows
    ourselves, up to ``dropped`` in total, keeps every reported bound valid: the optimum of
    the full model is at most the optimum of the reduced one plus ``dropped``.
    """

    set_cost: np.ndarray      # flow refuelled when each set is hit (single-set paths), dropped ones 0
    path_cost: np.ndarray     # flow of each merged multi-set path, dropped ones 0
    path_upper: np.ndarray    # 1, or 0 for a dropped path (its y is fixed at 0)
    dropped: float            # total flow left out (per period, before flow factors)
    scale: float              # cost multiplier handed to HiGHS (largest kept cost becomes 1)


@dataclass(frozen=True)
class _LPOutcome:
    """Result of :meth:`FRLM._lp`: bounds (flow units, left-out flow included), LP stations, cuts."""

    bound: float              # best valid bound (after the cuts, if any)
    lp_bound: float | None    # bound of the LP relaxation itself (None if cuts came first)
    cuts: list                # odd-cycle cuts: (period, sets, nodes, coefficients, rhs)
    cut_rounds: int
    guided: np.ndarray | None  # best stations from the LP solutions (periods x nodes), see FRLM._guided
    guided_value: float
    flip_bound: np.ndarray | None  # bound with each station closed [0] or open [1], (2, periods, nodes)
    nodes: int = 0                 # branch-and-bound nodes solved after the cut rounds


@dataclass(frozen=True)
class FRLM:
    """Flow-refuelling location model on a road graph with OD flows (see the module docstring).

    Objective: flow volume refuelled (the OD table's unit, e.g. vehicles).
    """

    paths: FlowPaths
    range_km: float
    p: int
    candidates: np.ndarray
    existing: np.ndarray
    structure: _Structure
    unrefuellable: np.ndarray
    build_seconds: float

    @classmethod
    def from_network(cls, G: nx.MultiDiGraph, od: pd.DataFrame, *, range_km: float, p: int,
                     candidates: Sequence[Any] | None = None, existing: Sequence[Any] | None = None) -> FRLM:
        """Build from a graph (edge ``length`` in m) and an OD table (``origin``, ``destination``, ``flow``)."""
        start = time.perf_counter()
        paths = shortest_paths(G, od)
        return cls.from_paths(paths, range_km=range_km, p=p, candidates=candidates, existing=existing,
                              _start=start)

    @classmethod
    def from_paths(cls, paths: FlowPaths, *, range_km: float, p: int, candidates: Sequence[Any] | None = None,
                   existing: Sequence[Any] | None = None, _start: float | None = None) -> FRLM:
        """Build from precomputed :class:`FlowPaths` (reuse them across ranges and p)."""
        start = _start if _start is not None else time.perf_counter()
        position = {n: i for i, n in enumerate(paths.nodes)}
        n_nodes = len(paths.nodes)

        def mask_of(values: Sequence[Any] | None, what: str, default: bool) -> np.ndarray:
            mask = np.full(n_nodes, default)
            if values is not None:
                unknown = [c for c in values if c not in position]
                if unknown:
                    raise ValidationError(f"{what} nodes {unknown[:10]} are not in the graph")
                mask[:] = False
                mask[[position[c] for c in values]] = True
            return mask

        existing_mask = mask_of(existing, "existing station", False)
        candidate_mask = mask_of(candidates, "candidate", True) | existing_mask
        p = check_p(p, int(candidate_mask.sum()))
        if existing_mask.sum() > p:
            raise ValidationError(f"{int(existing_mask.sum())} existing stations exceed p = {p}")
        sets, impossible = refuelling_sets(paths, range_km)
        restricted = sets if candidate_mask.all() else _restrict_sets(sets, impossible, candidate_mask)
        structure = _structure(restricted, impossible, paths.flows, n_nodes)
        return cls(paths=paths, range_km=float(range_km), p=p, candidates=candidate_mask, existing=existing_mask,
                   structure=structure, unrefuellable=impossible, build_seconds=time.perf_counter() - start)

    # ------------------------------------------------------------------ evaluation

    def _hit(self, open_nodes: np.ndarray) -> np.ndarray:
        return (self.structure.set_nodes @ open_nodes.astype(float)) > 0.5

    def _value(self, hit: np.ndarray) -> float:
        st = self.structure
        ok = self._paths_ok(hit)
        return float(st.set_flow[hit].sum() + st.path_flow[ok].sum())

    def _paths_ok(self, hit: np.ndarray) -> np.ndarray:
        st = self.structure
        if len(st.path_flow) == 0:
            return np.zeros(0, bool)
        return np.logical_and.reduceat(hit[st.pair_set], st.path_starts)

    def _plan_value(self, plan: np.ndarray, factors: Sequence[float]) -> float:
        """Flow refuelled by a plan (periods x nodes), weighted by each period's flow factor."""
        return sum(f * self._value(self._hit(plan[t])) for t, f in enumerate(factors))

    def refuelled(self, open_nodes: np.ndarray) -> np.ndarray:
        """Boolean per OD pair: refuelled by the stations ``open_nodes`` (a node mask)."""
        st = self.structure
        hit = self._hit(open_nodes)
        ok = self._paths_ok(hit)
        result = np.zeros(len(st.od_kind), dtype=bool)
        single = st.od_kind == 1
        result[single] = hit[st.od_index[single]]
        multi = st.od_kind == 2
        result[multi] = ok[st.od_index[multi]]
        return result

    # ------------------------------------------------------------------ heuristic

    def _gains(self, hit: np.ndarray) -> np.ndarray:
        """Extra flow refuelled by opening each node, given the sets already hit."""
        st = self.structure
        n_nodes = st.set_nodes.shape[1]
        unhit = ~hit
        gain = np.asarray(st.set_nodes.T @ (st.set_flow * unhit)).ravel()
        mask = unhit[st.pair_set]
        if mask.any():
            paths, sets = st.pair_path[mask], st.pair_set[mask]
            remaining = np.bincount(paths, minlength=len(st.path_flow))
            incidence = csr_matrix((np.ones(len(paths)), (paths, sets)), shape=(len(st.path_flow), len(hit)))
            newly = (incidence @ st.set_nodes).tocoo()
            complete = newly.data >= remaining[newly.row] - 1e-9
            gain += np.bincount(newly.col[complete], weights=st.path_flow[newly.row[complete]], minlength=n_nodes)
            partial = np.bincount(newly.col, weights=st.path_flow[newly.row] * newly.data
                                  / np.maximum(remaining[newly.row], 1), minlength=n_nodes)
            gain += 1e-6 * partial  # tie-break towards stations that progress on long paths
        return gain

    def greedy(self, *, p: int | None = None, start: np.ndarray | None = None) -> np.ndarray:
        """Greedy: repeatedly open the candidate that refuels the most extra flow."""
        p = self.p if p is None else p
        open_nodes = (self.existing if start is None else start).copy()
        while open_nodes.sum() < p:
            score = self._gains(self._hit(open_nodes))
            score[open_nodes | ~self.candidates] = -np.inf
            best = int(np.argmax(score))
            if not np.isfinite(score[best]):
                break
            open_nodes[best] = True
        return open_nodes

    def improve(self, open_nodes: np.ndarray, *, time_limit_s: float = 10.0) -> np.ndarray:
        """Swap local search: drop one station, re-add the best one; keep improving swaps."""
        deadline = time.perf_counter() + time_limit_s
        current = open_nodes.copy()
        value = self._value(self._hit(current))
        improved = True
        while improved and time.perf_counter() < deadline:
            improved = False
            for j in np.flatnonzero(current & ~self.existing):
                trial = current.copy()
                trial[j] = False
                score = self._gains(self._hit(trial))
                score[trial | ~self.candidates] = -np.inf
                score[j] = -np.inf
                trial[int(np.argmax(score))] = True
                trial_value = self._value(self._hit(trial))
                if trial_value > value * (1 + 1e-12) + 1e-9:
                    current, value, improved = trial, trial_value, True
                if time.perf_counter() > deadline:
                    break
        return current

    # ------------------------------------------------------------------ exact

    def _costs(self, drop_flow: float) -> _Costs:
        """Objective with the smallest flows, at most ``drop_flow`` in total, left out."""
        st = self.structure
        flows = np.concatenate([st.set_flow, st.path_flow])
        total = float(flows.sum())
        keep = np.ones(len(flows), dtype=bool)
        if total > 0 and drop_flow > 0:
            positive = np.flatnonzero(flows > 0)
            order = positive[np.argsort(flows[positive], kind="stable")]
            cumulative = np.cumsum(flows[order])
            n_drop = int(np.searchsorted(cumulative, drop_flow, side="right"))
            keep[order[:n_drop]] = False
        kept = np.where(keep, flows, 0.0)
        n_sets = len(st.set_flow)
        largest = float(kept.max()) if len(kept) and kept.max() > 0 else 1.0
        return _Costs(set_cost=kept[:n_sets], path_cost=kept[n_sets:], path_upper=keep[n_sets:].astype(float),
                      dropped=float(flows[~keep].sum()), scale=1.0 / largest)

    def _relaxation(self, *, integer: bool, counts: Sequence[int], factors: Sequence[float], costs: _Costs):
        """HiGHS model over periods: per period x (nodes), w (sets), y (merged paths); no link rows yet."""
        import highspy

        from ._solver import _quiet_stdout

        st = self.structure
        n_nodes, n_sets, n_paths = st.set_nodes.shape[1], st.set_nodes.shape[0], len(st.path_flow)
        block = n_nodes + n_sets + n_paths
        periods = len(counts)
        with _quiet_stdout():
            h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        n_cols = block * periods
        lower = np.tile(np.concatenate([self.existing.astype(float), np.zeros(n_sets + n_paths)]), periods)
        upper = np.tile(np.concatenate([self.candidates.astype(float), np.ones(n_sets), costs.path_upper]), periods)
        h.addVars(n_cols, lower, upper)
        # flows are ~1e7 vehicles: the objective is scaled (largest kept flow = 1), otherwise
        # HiGHS reports a badly scaled problem and its simplex runs several times slower
        cost = np.concatenate([np.concatenate([np.zeros(n_nodes), costs.set_cost, costs.path_cost]) * factor
                               * costs.scale for factor in factors])
        h.changeColsCost(n_cols, np.arange(n_cols, dtype=np.int32), cost)
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        if integer:
            node_cols = np.concatenate([np.arange(n_nodes) + t * block for t in range(periods)]).astype(np.int32)
            h.changeColsIntegrality(len(node_cols), node_cols,
                                    np.array([highspy.HighsVarType.kInteger] * len(node_cols)))
        matrix = st.set_nodes.tocsr()
        starts = (matrix.indptr[:-1] + np.arange(n_sets)).astype(np.int32)
        body = np.ones(matrix.nnz + n_sets, bool)
        body[starts] = False
        for t, count in enumerate(counts):
            offset = t * block
            index = np.empty(matrix.nnz + n_sets, dtype=np.int32)
            value = np.empty(matrix.nnz + n_sets)
            index[starts] = offset + n_nodes + np.arange(n_sets)
            value[starts] = 1.0
            index[body] = offset + matrix.indices
            value[body] = -1.0
            h.addRows(n_sets, np.full(n_sets, -highspy.kHighsInf), np.zeros(n_sets), len(index), starts, index, value)
            h.addRow(count, count, n_nodes, (offset + np.arange(n_nodes)).astype(np.int32), np.ones(n_nodes))
            if t:  # a station opened stays open: x_{t-1,k} - x_{t,k} <= 0
                index = np.empty(2 * n_nodes, dtype=np.int32)
                index[0::2] = offset - block + np.arange(n_nodes)
                index[1::2] = offset + np.arange(n_nodes)
                h.addRows(n_nodes, np.full(n_nodes, -highspy.kHighsInf), np.zeros(n_nodes), 2 * n_nodes,
                          np.arange(0, 2 * n_nodes, 2, dtype=np.int32), index, np.tile([1.0, -1.0], n_nodes))
        return h, (n_nodes, n_sets, n_paths, block, periods)

    def _add_links(self, h, layout, periods: np.ndarray, paths: np.ndarray, sets: np.ndarray) -> None:
        import highspy

        n_nodes, n_sets, _, block, _ = layout
        n = len(paths)
        if n == 0:
            return
        index = np.empty(2 * n, dtype=np.int32)
        index[0::2] = periods * block + n_nodes + n_sets + paths
        index[1::2] = periods * block + n_nodes + sets
        h.addRows(n, np.full(n, -highspy.kHighsInf), np.zeros(n), 2 * n, np.arange(0, 2 * n, 2, dtype=np.int32), index,
                  np.tile([1.0, -1.0], n))

    def _first_links(self, periods: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One link row per merged path and period, for its smallest set (the likeliest to bind;
        this needs fewer rounds of row generation than an arbitrary set)."""
        st = self.structure
        n_paths = len(st.path_flow)
        size = np.diff(st.set_nodes.indptr)
        order = np.lexsort((size[st.pair_set], st.pair_path))  # pairs by path, then by set size
        smallest = st.pair_set[order[st.path_starts]] if n_paths else np.zeros(0, np.int64)
        return (np.repeat(np.arange(periods), n_paths), np.tile(np.arange(n_paths), periods),
                np.tile(smallest, periods))

    def _violated(self, solution: np.ndarray, layout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        st = self.structure
        n_nodes, n_sets, _, block, periods = layout
        found_t, found_q, found_k = [], [], []
        for t in range(periods):
            offset = t * block
            w = solution[offset + n_nodes:offset + n_nodes + n_sets]
            y = solution[offset + n_nodes + n_sets:offset + block]
            values = w[st.pair_set]
            order = np.lexsort((values, st.pair_path))
            first = order[st.path_starts]
            violated = y[st.pair_path[first]] > values[first] + 1e-7
            found_q.append(st.pair_path[first][violated])
            found_k.append(st.pair_set[first][violated])
            found_t.append(np.full(int(violated.sum()), t))
        return np.concatenate(found_t), np.concatenate(found_q), np.concatenate(found_k)

    def _set_start(self, h, plan: np.ndarray, costs: _Costs) -> None:
        """Hand HiGHS a full solution (x, sets hit, paths refuelled per period) built from ``plan``."""
        import highspy

        values = []
        for open_nodes in plan:
            hit = self._hit(open_nodes)
            values += [open_nodes.astype(float), hit.astype(float),
                       (self._paths_ok(hit) & (costs.path_upper > 0)).astype(float)]
        start = highspy.HighsSolution()
        start.col_value = np.concatenate(values).tolist()
        start.value_valid = True
        h.setSolution(start)

    def _lp(self, counts: Sequence[int], factors: Sequence[float], deadline: float | None, costs: _Costs,
            rows: list | None = None, *, cuts: bool = False, tolerance: float = 1e-4,
            incumbent: list[float] | None = None, latest: dict | None = None) -> _LPOutcome:
        """LP bound with row generation (dual simplex re-solves after each round of added rows).

        The bound is computed from the LP's row duals (:func:`_dual_bound`), so it stays valid
        whatever HiGHS's tolerances, plus the flow left out of the objective. The generated
        link rows are appended to ``rows`` (as (periods, paths, sets) arrays) so that the
        MILP can start from the LP's full bound.

        With ``cuts``, odd-cycle cuts (:func:`_odd_cycle_cuts`) are added each round together
        with the link rows the LP solution violates. Every round's LP, holding some link rows
        and valid cuts, is a relaxation of the MILP, so each round's bound holds; the best is
        kept. The rounds stop when nothing is violated, when the bound is within
        ``tolerance`` of ``incumbent[0]`` (which the caller may raise while this runs), or
        when three rounds gain less than a tenth of the tolerance; in that last case, for a
        single period, :meth:`_branch` goes on from the same LP. Each round's station
        values are put in ``latest`` (``x``, ``rounds``) for the caller's heuristics; without
        ``latest`` the LP's stations are completed greedily here (:meth:`_guided`).
        """
        h, layout = self._relaxation(integer=False, counts=counts, factors=factors, costs=costs)
        self._add_links(h, layout, *self._first_links(len(counts)))
        n_nodes, n_sets, _, block, periods = layout
        matrix = self.structure.set_nodes.tocsr()
        incumbent = [-np.inf] if incumbent is None else incumbent
        lp_bound, bound, history, flip = None, float("inf"), [], None
        x, found_cuts, guided, guided_value, stopped, nodes = None, [], None, -np.inf, "stall", 0
        # the first solve from scratch: primal simplex is several times faster on this LP
        h.setOptionValue("simplex_strategy", 4)
        while True:
            if deadline is not None:  # HiGHS's time limit counts all runs of this instance
                h.setOptionValue("time_limit", h.getRunTime() + max(deadline - time.perf_counter(), 0.1))
            h.run()
            h.setOptionValue("simplex_strategy", 1)
            status = str(h.getModelStatus()).split(".")[-1]
            if status != "kOptimal" or h.getInfo().primal_solution_status != 2:
                stopped = "time"
                break  # out of time: the bounds of the rounds before stay valid
            solution = np.asarray(h.getSolution().col_value)
            lagrangian, flipped = _dual_bound(h, periods * block)
            round_bound = lagrangian / costs.scale + costs.dropped * float(sum(factors))
            if round_bound < bound:  # and the bounds with each station closed / open
                bound = round_bound
                flip = np.stack([flipped[:, t * block:t * block + n_nodes] for t in range(periods)], axis=1) \
                    / costs.scale + costs.dropped * float(sum(factors))
            x = np.stack([solution[t * block:t * block + n_nodes] for t in range(periods)])
            if deadline is not None and time.perf_counter() >= deadline:
                stopped = "time"  # this round's bound counts; no more work on it
                break
            violated = self._violated(solution, layout)
            if not found_cuts and not len(violated[1]):
                lp_bound = bound
            new = []
            if cuts:
                history.append(bound)
                if latest is not None:
                    latest.update(x=x, rounds=len(history))
                else:
                    plan = self._guided(x, counts)
                    value = self._plan_value(plan, factors)
                    if value > guided_value:
                        guided, guided_value = plan, value
                        incumbent[0] = max(incumbent[0], value)
                if bound - incumbent[0] <= tolerance * max(abs(bound), 1e-12):
                    stopped = "gap"
                    break
                if len(history) > 3 and history[-4] - bound < 0.1 * tolerance * abs(bound):
                    break
                for t in range(periods):
                    x_t = solution[t * block:t * block + n_nodes]
                    w_t = solution[t * block + n_nodes:t * block + n_nodes + n_sets]
                    new += [(t, *cut) for cut in _odd_cycle_cuts(matrix, x_t, w_t)]
            if not len(violated[1]) and not new:
                break
            self._add_links(h, layout, *violated)
            if rows is not None and len(violated[1]):
                rows.append(violated)
            _add_cuts(h, layout, new)
            found_cuts += new
        if cuts and stopped == "stall" and periods == 1 and x is not None and latest is not None:
            bound, nodes = self._branch(h, layout, costs, bound, incumbent, tolerance, deadline, rows, latest)
        return _LPOutcome(bound=bound, lp_bound=lp_bound, cuts=found_cuts, cut_rounds=len(history), guided=guided,
                          guided_value=guided_value, flip_bound=flip, nodes=nodes)

    def _branch(self, h, layout, costs: _Costs, bound: float, incumbent: list[float],
                tolerance: float, deadline: float | None, rows: list | None, latest: dict,
                max_nodes: int = 200) -> tuple[float, int]:
        """Best-first branch and bound on the stations, over the LP (rows and cuts) in ``h``.

        Each node fixes some stations open or closed through their column bounds and
        re-solves the LP (dual simplex from the last basis), adding the link rows its
        solution violates (valid everywhere). A node's bound is its Lagrangian bound (the
        column bounds included), so it holds for every solution under its fixings; nodes
        whose bound is within the tolerance of ``incumbent[0]`` (a true value, raised by the
        caller's heuristics from each node's LP solution, passed in ``latest``) are closed.
        Branches on the most fractional station. Stops when the largest open bound is within
        the tolerance, at ``deadline`` or after ``max_nodes`` nodes. Returns the bound (the
        largest bound of the open nodes, or of the closed ones if none is left) and the
        number of nodes solved.
        """
        import heapq

        n_nodes = layout[0]
        columns = np.arange(n_nodes, dtype=np.int32)
        base_lower, base_upper = self.existing.astype(float), self.candidates.astype(float)
        dropped = costs.dropped

        def solve(fixed: dict[int, float]) -> tuple[float, np.ndarray | None]:
            lower, upper = base_lower.copy(), base_upper.copy()
            for k, v in fixed.items():
                lower[k] = upper[k] = v
            h.changeColsBounds(n_nodes, columns, lower, upper)
            while True:
                if deadline is not None:
                    h.setOptionValue("time_limit", h.getRunTime() + max(deadline - time.perf_counter(), 0.1))
                h.run()
                status = str(h.getModelStatus()).split(".")[-1]
                if status == "kInfeasible":
                    return -np.inf, None  # the fixings exceed the station count: no solution here
                if status != "kOptimal" or h.getInfo().primal_solution_status != 2:
                    return np.inf, None  # out of time: the node stays open with its parent's bound
                solution = np.asarray(h.getSolution().col_value)
                violated = self._violated(solution, layout)
                if not len(violated[1]):
                    return _dual_bound(h)[0] / costs.scale + dropped, solution[:n_nodes]
                self._add_links(h, layout, *violated)
                if rows is not None:
                    rows.append(violated)

        def closed(node_bound: float) -> bool:
            return node_bound - incumbent[0] <= tolerance * max(abs(node_bound), 1e-12)

        # the root again, with every link row its solution violates (the cut rounds may stop first)
        root_bound, root_x = solve({})
        if root_x is None:
            h.changeColsBounds(n_nodes, columns, base_lower, base_upper)
            return bound, 0
        latest.update(x=root_x[None, :], rounds=latest.get("rounds", 0) + 1)
        heap = [(-min(bound, root_bound), 0, {}, root_x)]
        counter, nodes, closed_bound = 1, 0, -np.inf
        while heap and nodes < max_nodes and (deadline is None or time.perf_counter() < deadline):
            node_bound = -heap[0][0]
            if closed(node_bound):
                break
            _, _, fixed, x = heapq.heappop(heap)
            fractional = np.abs(x - 0.5)
            fractional[list(fixed)] = np.inf
            k = int(np.argmin(fractional))
            if fractional[k] > 0.5 - 1e-6:  # integral stations: the LP value is their true value
                closed_bound = max(closed_bound, node_bound)
                continue
            for value in (1.0, 0.0):
                child = {**fixed, k: value}
                child_bound, child_x = solve(child)
                nodes += 1
                if child_x is None:
                    if np.isfinite(child_bound):  # timed out: keep the parent's bound
                        heapq.heappush(heap, (-node_bound, counter, child, x))
                        counter += 1
                    continue
                child_bound = min(child_bound, node_bound)
                latest.update(x=child_x[None, :], rounds=latest.get("rounds", 0) + 1)
                if closed(child_bound):
                    closed_bound = max(closed_bound, child_bound)
                else:
                    heapq.heappush(heap, (-child_bound, counter, child, child_x))
                    counter += 1
        h.changeColsBounds(n_nodes, columns, base_lower, base_upper)
        open_bound = -heap[0][0] if heap else -np.inf
        return min(bound, max(open_bound, closed_bound)), nodes

    def _search(self, lp, latest: dict, rows: list, greedy: np.ndarray, costs: _Costs, budget: float,
                known: list[float], deadline: float | None) -> tuple[np.ndarray, float, float]:
        """Heuristics run while the LP thread ``lp`` works.

        Returns the best stations, their value and the value of greedy + swaps alone.

        First swaps from the greedy; then, for each new LP solution, swaps from its fully open
        stations (:meth:`_guided`), alternating with greedy + swaps on the model with the link
        rows generated so far (as in :meth:`_closure_rows`: optimistic about long paths, it
        escapes the swaps' local optima). ``known[0]`` is raised to the best value.
        """
        incumbent = self.improve(greedy, time_limit_s=_remaining(budget, deadline))
        value = swapped = self._value(self._hit(incumbent))
        known[0] = max(known[0], value)
        seen, relaxed_turn, last = 0, False, False
        while not last:
            last = lp.done()  # once done, the final LP solution is still looked at once
            rounds, x_lp = latest.get("rounds", 0), latest.get("x")
            if rounds == seen or x_lp is None:
                time.sleep(0.02)
                continue
            seen = rounds
            if relaxed_turn and not last:
                _, found = self._closure_rows(list(rows), incumbent[None, :], [self.p], costs,
                                              _remaining(budget, deadline))
                candidate, candidate_value = found[0][1], found[0][0]
            else:
                candidate = self.improve(self._guided(x_lp, [self.p])[0], time_limit_s=_remaining(budget, deadline))
                candidate_value = self._value(self._hit(candidate))
            relaxed_turn = not relaxed_turn
            if candidate_value > value:
                incumbent, value = candidate, candidate_value
                known[0] = max(known[0], value)
        return incumbent, value, swapped

    def _fixings(self, outcome: _LPOutcome, value: float) -> tuple[np.ndarray, np.ndarray]:
        """Stations fixed by reduced costs: no solution worth more than ``value`` opens (closes) them.

        Returns (closed, opened) masks, periods x nodes. A station is fixed closed when the
        Lagrangian bound of the final LP with it open is below ``value``, and open when the
        bound with it closed is; so every solution better than ``value`` respects the fixings.
        """
        if outcome.flip_bound is None:
            empty = np.zeros((0, len(self.candidates)), dtype=bool)
            return empty, empty
        closed = (outcome.flip_bound[1] < value) & ~self.existing
        opened = (outcome.flip_bound[0] < value) & self.candidates & ~closed
        return closed, opened

    def _guided(self, x_lp: np.ndarray, counts: Sequence[int]) -> np.ndarray:
        """Stations the LP opens fully in each period, completed greedily (periods x nodes).

        Each period starts from the previous period's stations (the existing ones first);
        if those and the LP's fully open nodes exceed the period's count, the LP's are ignored.
        """
        plan, previous = [], self.existing
        for t, count in enumerate(counts):
            start = previous | ((x_lp[t] > 1 - 1e-6) & self.candidates)
            if start.sum() > count:
                start = previous.copy()
            previous = self.greedy(p=count, start=start)
            plan.append(previous)
        return np.stack(plan)

    def lp_bound(self, *, time_limit_s: float | None = None) -> float:
        """Bound from the LP relaxation of the ACPC model (row generation); ``inf`` if not finished."""
        time_limit_s = check_time_limit(time_limit_s)
        deadline = None if time_limit_s is None else time.perf_counter() + time_limit_s
        total = float(self.structure.set_flow.sum() + self.structure.path_flow.sum())
        return self._lp([self.p], [1.0], deadline, self._costs(1e-6 * total)).bound

    def _with_pairs(self, present: np.ndarray) -> FRLM:
        """This model with only the link pairs in ``present`` (every merged path keeps at least one)."""
        st = self.structure
        kept = np.flatnonzero(present)
        lengths = np.bincount(st.pair_path[kept], minlength=len(st.path_flow))
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        structure = replace(st, pair_path=st.pair_path[kept], pair_set=st.pair_set[kept], path_starts=starts)
        return replace(self, structure=structure)

    def _closure_rows(self, rows: list, plan: np.ndarray, counts: Sequence[int], costs: _Costs,
                      time_limit_s: float) -> tuple[int, list[tuple[float, np.ndarray]]]:
        """Add to ``rows`` the link rows that good integer solutions of the relaxed model violate.

        The MILP holds only some link rows, so its solutions may count a path as refuelled
        while one of its sets is missed; HiGHS then chases such solutions and the MILP must be
        solved again. This runs the swap heuristic on the model with the rows generated so far
        (from ``plan`` and from a fresh greedy start), adds every row the stations it finds
        violate, and repeats until they violate none. Returns the number of rows added and,
        per period, the best stations met on the way with their true flow refuelled (the
        greedy start on the relaxed model sometimes beats the heuristic).
        """
        st = self.structure
        best = [(self._value(self._hit(stations)), stations) for stations in plan]
        if len(st.pair_set) == 0:
            return 0, best
        deadline = time.perf_counter() + time_limit_s
        n_sets = st.set_nodes.shape[0]
        key = st.pair_path.astype(np.int64) * n_sets + st.pair_set  # increasing: pairs by path, then set
        modelled = costs.path_upper[st.pair_path] > 0
        first = self._first_links(len(counts))
        all_t = np.concatenate([first[0], *(r[0] for r in rows)])
        all_q = np.concatenate([first[1], *(r[1] for r in rows)])
        all_k = np.concatenate([first[2], *(r[2] for r in rows)])
        added = 0
        for t, count in enumerate(counts):
            present = np.zeros(len(key), dtype=bool)
            mine = all_t == t
            present[np.searchsorted(key, all_q[mine].astype(np.int64) * n_sets + all_k[mine])] = True
            while time.perf_counter() < deadline:
                relaxed = self._with_pairs(present)
                new = np.zeros(len(key), dtype=bool)
                for origin in (plan[t], relaxed.greedy(p=count, start=self.existing)):
                    budget = max(min(deadline - time.perf_counter(), 0.5 * time_limit_s), 0.0)
                    stations = relaxed.improve(origin, time_limit_s=budget)
                    hit = self._hit(stations)
                    value = self._value(hit)
                    if stations.sum() == plan[t].sum() and value > best[t][0]:
                        best[t] = (value, stations)
                    counted = relaxed._paths_ok(hit)
                    new |= counted[st.pair_path] & ~hit[st.pair_set] & ~present & modelled
                if not new.any():
                    break
                present |= new
                rows.append((np.full(int(new.sum()), t), st.pair_path[new], st.pair_set[new]))
                added += int(new.sum())
        return added, best

    def _milp(self, counts: Sequence[int], factors: Sequence[float], incumbent_value: float, bound: float,
              deadline: float | None, tolerance: float, costs: _Costs, start_rows: list | None = None,
              start_plan: np.ndarray | None = None, cuts: Sequence | None = None,
              fixed: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray | None, float, float, str, int]:
        """MILP on lazily generated link rows; returns (x per period, value, bound, status, rows).

        ``start_plan`` (periods x nodes, e.g. the heuristic's stations) is handed to HiGHS as
        its first incumbent: it satisfies every link row, so it is feasible in each round.
        HiGHS works to a slightly smaller gap than ``tolerance``: the flow left out of its
        objective (``costs.dropped``) is added to its bound.
        """
        found_t = [r[0] for r in start_rows or []]
        found_q = [r[1] for r in start_rows or []]
        found_k = [r[2] for r in start_rows or []]
        best_x, value, status = None, incumbent_value, "time_limit"
        rows = 0
        first = self._first_links(len(counts))
        while deadline is None or time.perf_counter() < deadline:
            # a fresh HiGHS instance per round: highspy's info and read-back solution are not
            # reliable after rows are added to a solved MIP, nor after a warm start
            h, layout = self._relaxation(integer=True, counts=counts, factors=factors, costs=costs)
            links = [np.concatenate([first[i], *(found_t, found_q, found_k)[i]])
                     for i in range(3)]
            self._add_links(h, layout, *links)
            _add_cuts(h, layout, cuts or [])
            if fixed is not None:
                _fix_stations(h, layout, *fixed)
            rows = len(links[0])
            h.setOptionValue("mip_rel_gap", (1 - _DROP_SHARE) * tolerance)
            if start_plan is not None:
                self._set_start(h, start_plan if best_x is None else best_x, costs)
            if deadline is not None:
                h.setOptionValue("time_limit", max(deadline - time.perf_counter(), 0.1))
            h.run()
            info = h.getInfo()
            model_status = str(h.getModelStatus()).split(".")[-1]
            if info.primal_solution_status == 2:
                solution = np.asarray(h.getSolution().col_value)
                n_nodes, _, _, block, periods = layout
                x = np.stack([solution[t * block:t * block + n_nodes] > 0.5 for t in range(periods)])
                true_value = self._plan_value(x, factors)
                if true_value > value or best_x is None and true_value >= value:
                    best_x, value = x, true_value
                if model_status in ("kOptimal", "kTimeLimit"):
                    bound = min(bound, float(info.mip_dual_bound) / costs.scale + costs.dropped * float(sum(factors)))
                # the bound on a subset of the link rows is valid for the full model: once the
                # true value of the best stations is within the tolerance, no re-solve is needed
                if bound - value <= tolerance * max(abs(bound), 1e-12):
                    status = "optimal"
                    break
                periods_v, paths_v, sets_v = self._violated(solution, layout)
                if len(paths_v):
                    found_t.append(periods_v)
                    found_q.append(paths_v)
                    found_k.append(sets_v)
                    continue
            status = "optimal" if model_status == "kOptimal" else _status_name(model_status)
            break
        return best_x, value, bound, status, rows

    def solve(self, *, solver: Solver | None = None, time_limit_s: float | None = None,
              mip_gap: float | None = None) -> SitingResult:
        """Solve exactly: heuristic, LP bound, then the MILP with lazily generated rows.

        Greedy + swap runs while HiGHS solves the LP on the other core; the swap heuristic
        then closes the link rows over good integer solutions (see :meth:`_closure_rows`)
        before the MILP. ``mip_gap`` (default 1e-4) is the relative gap at which the
        solution counts as optimal; the smallest flows, at most a fifth of it, are left out
        of the exact models and added to the bound (``details["left_out_flow"]``).

        ``solver`` must be ``None`` (the lazy row generation drives HiGHS directly).
        On a time limit the best solution found is returned with its proven gap.
        """
        time_limit_s = check_time_limit(time_limit_s)
        if solver is not None and solver is not highs_solver:
            raise ValidationError("FRLM.solve drives HiGHS directly (lazy rows); pass solver=None")
        start = time.perf_counter()
        deadline = None if time_limit_s is None else start + time_limit_s
        tolerance = 1e-4 if mip_gap is None else mip_gap
        budget = _heuristic_budget(time_limit_s)
        greedy = self.greedy()
        lp_rows: list = []
        known = [self._value(self._hit(greedy))]
        costs = self._costs(_DROP_SHARE * tolerance * known[0])
        # HiGHS releases the GIL: the LP and its cuts run on the second core while the
        # heuristics search here; the best value found lets the cut rounds stop early
        with ThreadPoolExecutor(max_workers=1) as pool:
            latest: dict = {}
            lp = pool.submit(self._lp, [self.p], [1.0], deadline, costs, lp_rows, cuts=True, tolerance=tolerance,
                             incumbent=known, latest=latest)
            incumbent, value, swapped = self._search(lp, latest, lp_rows, greedy, costs, budget, known, deadline)
            outcome = lp.result()
        bound = outcome.bound
        stats = {"heuristic_objective": swapped, "lp_search_objective": value,
                 "lp_bound": outcome.lp_bound, "cut_bound": bound,
                 "cuts": len(outcome.cuts), "cut_rounds": outcome.cut_rounds, "nodes": outcome.nodes,
                 "left_out_flow": costs.dropped}
        if bound - value <= tolerance * max(abs(bound), 1e-12):
            proof = "lp bound" + (" with odd-cycle cuts" if outcome.cuts else "") + (
                f" and {outcome.nodes} branch-and-bound nodes" if outcome.nodes else "")
            return self._result(incumbent, start, best_bound=max(bound, value), status="optimal", model="frlm",
                                extra={**stats, "proof": proof})
        closure, found = self._closure_rows(lp_rows, incumbent[None, :], [self.p], costs,
                                            _remaining(budget, deadline))
        if found[0][0] > value:
            value, incumbent = found[0]
        fixed = self._fixings(outcome, value)
        stats.update(fixed_closed=int(fixed[0].sum()), fixed_open=int(fixed[1].sum()))
        x, new_value, bound, status, rows = self._milp([self.p], [1.0], value, bound, deadline, tolerance, costs,
                                                       start_rows=lp_rows, start_plan=incumbent[None, :],
                                                       cuts=outcome.cuts, fixed=fixed)
        if x is not None and new_value >= value:
            incumbent, value = x[0], new_value
        gap = (bound - value) / max(abs(bound), 1e-12)
        if status == "optimal" and gap > tolerance + 1e-9:
            status = "gap_limit"
        return self._result(incumbent, start, best_bound=max(bound, value), status=status, model="frlm",
                            extra={**stats, "proof": "milp", "generated_rows": rows, "closure_rows": closure})

    def solve_rollout(self, counts: Sequence[int] | None = None, *, budgets: Sequence[int] | None = None,
                      periods: Sequence[Any] | None = None, flow_factors: Sequence[float] | None = None,
                      time_limit_s: float | None = None, mip_gap: float | None = None) -> SitingResult:
        """Multi-period FRLM: stations open by each period, never closed, existing ones kept.

        Maximises ``sum_t factor_t x flow refuelled in period t`` subject to
        ``sum_k x_kt = counts[t]`` (cumulative stations) and ``x_{k,t-1} <= x_kt``
        (Chung & Kwon 2015 use the same structure for multi-period charging plans).

        Parameters
        ----------
        counts
            Cumulative number of stations open in each period (non-decreasing, >= existing).
        budgets
            Instead of ``counts``: new stations each period may open (see
            :func:`~mobility_plan.siting._result.rollout_counts`).
        periods
            Labels of the periods (e.g. years); default 0..T-1.
        flow_factors
            Flow growth factor per period (default 1).
        """
        time_limit_s = check_time_limit(time_limit_s)
        counts, labels = rollout_periods(counts, budgets, periods, existing=int(self.existing.sum()),
                                         candidates=int(self.candidates.sum()))
        factors = [1.0] * len(counts) if flow_factors is None else [float(f) for f in flow_factors]
        if len(factors) != len(counts):
            raise ValidationError(f"flow_factors must have one value per period ({len(counts)}), got {len(factors)}")
        if any(f < 0 for f in factors):
            raise ValidationError("flow_factors must be >= 0")
        start = time.perf_counter()
        deadline = None if time_limit_s is None else start + time_limit_s
        tolerance = 1e-4 if mip_gap is None else mip_gap
        # heuristic: period by period greedy from the previous period's stations
        plan, current = [], self.existing.copy()
        for count in counts:
            current = self.greedy(p=count, start=current)
            plan.append(current.copy())
        plan = np.stack(plan)
        value = self._plan_value(plan, factors)
        lp_rows: list = []
        costs = self._costs(_DROP_SHARE * tolerance * value / max(sum(factors), 1e-12))
        outcome = self._lp(counts, factors, deadline, costs, lp_rows, cuts=True, tolerance=tolerance,
                           incumbent=[value])
        bound = outcome.bound
        heuristic_value = value
        if outcome.guided is not None and outcome.guided_value > value:
            plan, value = outcome.guided, outcome.guided_value
        status = "optimal" if bound - value <= tolerance * max(abs(bound), 1e-12) else "time_limit"
        if status != "optimal":
            self._closure_rows(lp_rows, plan, counts, costs, _remaining(_heuristic_budget(time_limit_s), deadline))
            x, new_value, bound, status, _ = self._milp(counts, factors, value, bound, deadline, tolerance, costs,
                                                        start_rows=lp_rows, start_plan=plan, cuts=outcome.cuts,
                                                        fixed=self._fixings(outcome, value))
            if x is not None and new_value >= value:
                plan, value = x, new_value
        gap = max(0.0, (bound - value) / max(abs(bound), 1e-12)) if np.isfinite(bound) else float("inf")
        if status == "optimal" and gap > tolerance + 1e-9:
            status = "gap_limit"
        final = self._result(plan[-1], start, best_bound=max(bound, value), status=status, model="frlm_rollout")
        nodes = self.paths.nodes
        opened, previous = {}, self.existing
        shares = {}
        for t, label in enumerate(labels):
            opened[label] = tuple(sorted((nodes[k] for k in np.flatnonzero(plan[t] & ~previous)), key=_sort_key))
            previous = plan[t]
            shares[label] = float(self.paths.flows[self.refuelled(plan[t])].sum() / max(self.paths.flows.sum(), 1e-12))
        details = {**final.details, "opened_by_period": opened, "refuelled_share_by_period": shares,
                   "counts": dict(zip(labels, counts)), "heuristic_objective": heuristic_value,
                   "lp_bound": outcome.lp_bound,
                   "cut_bound": outcome.bound, "cuts": len(outcome.cuts)}
        return SitingResult(model="frlm_rollout", sites=final.sites, assignment=final.assignment, objective=value,
                            best_bound=max(bound, value), gap=gap, status=status,
                            seconds=time.perf_counter() - start + self.build_seconds, details=details)

    def solve_capacitated(self, capacity: float, *, time_limit_s: float | None = None,
                          mip_gap: float | None = None) -> SitingResult:
        """Capacitated FRLM: each station refuels at most ``capacity`` (flow units, e.g. vehicles/day).

        Every refuelled round trip draws one refuelling from an open station among the
        nodes that can refuel it (the union of its sets); a flow may be partly refuelled
        when capacity binds, as in the capacitated FRLM of Upchurch, Kuby & Lim (2009,
        Geographical Analysis 41(1)). The full ACPC rows are used (no lazy generation),
        so it suits regional instances rather than all 47,912 national OD pairs.
        Objective: flow refuelled.
        """
        if not np.isfinite(capacity) or capacity <= 0:
            raise ValidationError(f"capacity must be > 0 (flow units per station), got {capacity}")
        start = time.perf_counter()
        st = self.structure
        n_nodes, n_sets, n_paths = st.set_nodes.shape[1], st.set_nodes.shape[0], len(st.path_flow)
        matrix = st.set_nodes.tocsr()
        builder = ProblemBuilder()
        x = builder.variables("stations", n_nodes, lower=self.existing.astype(float),
                              upper=self.candidates.astype(float), integer=True)
        w = builder.variables("set_hit", n_sets, cost=st.set_flow)
        y = builder.variables("refuelled", n_paths, cost=st.path_flow)
        coo = matrix.tocoo()
        builder.rows(np.concatenate([np.arange(n_sets), coo.row]), np.concatenate([np.arange(n_sets) + w.start,
                                                                                   coo.col + x.start]),
                     np.concatenate([np.ones(n_sets), -np.ones(coo.nnz)]), lower=-np.inf, upper=0.0, count=n_sets)
        n_pairs = len(st.pair_path)
        builder.rows(np.concatenate([np.arange(n_pairs), np.arange(n_pairs)]),
                     np.concatenate([st.pair_path + y.start, st.pair_set + w.start]),
                     np.concatenate([np.ones(n_pairs), -np.ones(n_pairs)]), lower=-np.inf, upper=0.0, count=n_pairs)
        builder.rows(np.zeros(n_nodes), np.arange(n_nodes) + x.start, 1.0, lower=self.p, upper=self.p, count=1)
        # refuelling draws: single-set groups (flow on w_K) and merged paths (flow on y_q)
        group_nodes, group_flow, group_var = [], [], []
        for k in np.flatnonzero(st.set_flow > 0):
            group_nodes.append(matrix.indices[matrix.indptr[k]:matrix.indptr[k + 1]])
            group_flow.append(st.set_flow[k])
            group_var.append(w.start + k)
        for q in range(n_paths):
            members = st.pair_set[st.path_starts[q]:(st.path_starts[q + 1] if q + 1 < n_paths else None)]
            nodes = np.unique(np.concatenate([matrix.indices[matrix.indptr[k]:matrix.indptr[k + 1]] for k in members]))
            group_nodes.append(nodes)
            group_flow.append(st.path_flow[q])
            group_var.append(y.start + q)
        sizes = np.array([len(n) for n in group_nodes], dtype=np.int64)
        g = builder.variables("draw", int(sizes.sum()), upper=np.inf)
        owner = np.repeat(np.arange(len(group_nodes)), sizes)
        node_of = np.concatenate(group_nodes) if group_nodes else np.zeros(0, np.int64)
        flows = np.array(group_flow)
        # sum_k g_gk - F_g v_g = 0
        builder.rows(np.concatenate([owner, np.arange(len(group_nodes))]),
                     np.concatenate([np.arange(len(owner)) + g.start, np.array(group_var, dtype=np.int64)]),
                     np.concatenate([np.ones(len(owner)), -flows]), lower=0.0, upper=0.0, count=len(group_nodes))
        # g_gk - F_g x_k <= 0
        builder.rows(np.concatenate([np.arange(len(owner)), np.arange(len(owner))]),
                     np.concatenate([np.arange(len(owner)) + g.start, node_of + x.start]),
                     np.concatenate([np.ones(len(owner)), -flows[owner]]), lower=-np.inf, upper=0.0, count=len(owner))
        # sum_g g_gk - C x_k <= 0
        builder.rows(np.concatenate([node_of, np.arange(n_nodes)]),
                     np.concatenate([np.arange(len(owner)) + g.start, np.arange(n_nodes) + x.start]),
                     np.concatenate([np.ones(len(owner)), -np.full(n_nodes, float(capacity))]), lower=-np.inf,
                     upper=0.0, count=n_nodes)
        outcome = highs_solver(builder.build(maximize=True), time_limit_s=time_limit_s, mip_gap=mip_gap)
        if outcome.x is None:
            raise InfeasibleError(f"capacitated FRLM: no solution ({outcome.status})")
        open_nodes = outcome.x[x] > 0.5
        draws = np.bincount(node_of, weights=outcome.x[g], minlength=n_nodes)
        result = self._result(open_nodes, start, best_bound=outcome.best_bound, status=outcome.status,
                              model="frlm_capacitated")
        nodes = self.paths.nodes
        details = {**result.details, "capacity": float(capacity),
                   "station_load": {nodes[k]: float(draws[k]) for k in np.flatnonzero(open_nodes)},
                   "uncapacitated_refuelled_flow": result.objective}
        return SitingResult(model="frlm_capacitated", sites=result.sites, assignment=result.assignment,
                            objective=outcome.objective, best_bound=outcome.best_bound, gap=outcome.gap,
                            status=outcome.status, seconds=time.perf_counter() - start + self.build_seconds,
                            details=details)

    def solve_greedy(self, *, improve: bool = True, time_limit_s: float = 10.0) -> SitingResult:
        """Greedy (+ swap improvement) heuristic with its gap to the LP bound."""
        start = time.perf_counter()
        open_nodes = self.greedy()
        if improve:
            open_nodes = self.improve(open_nodes, time_limit_s=time_limit_s)
        return self._result(open_nodes, start, best_bound=self.lp_bound(), status="heuristic", model="frlm_greedy")

    def _result(self, open_nodes: np.ndarray, start: float, *, best_bound: float, status: str, model: str,
                extra: dict | None = None) -> SitingResult:
        refuelled = self.refuelled(open_nodes)
        value = float(self.paths.flows[refuelled].sum())
        total = float(self.paths.flows.sum())
        gap = max(0.0, (best_bound - value) / max(abs(best_bound), 1e-12)) if np.isfinite(best_bound) else float("inf")
        nodes = self.paths.nodes
        on_path = {}
        for q, path in enumerate(self.paths.paths):
            key = (self.paths.origins[q], self.paths.destinations[q])
            on_path[key] = tuple(nodes[k] for k in path if open_nodes[k]) if refuelled[q] else None
        details = {
            "range_km": self.range_km,
            "flow_total": total,
            "flow_refuelled_share": value / total if total else 0.0,
            "refuelled_pairs": int(refuelled.sum()),
            "pairs": len(refuelled),
            "refuelled": refuelled,
            "unrefuellable_pairs": [(self.paths.origins[q], self.paths.destinations[q])
                                    for q in np.flatnonzero(self.unrefuellable)],
            "unrefuellable_flow": float(self.paths.flows[self.unrefuellable].sum()),
            "build_seconds": self.build_seconds,
            "existing_stations": int(self.existing.sum()),
            "distinct_sets": int(self.structure.set_nodes.shape[0]),
            "merged_paths": int(len(self.structure.path_flow)),
        }
        details.update(extra or {})
        return SitingResult(
            model=model,
            sites=tuple(sorted((nodes[k] for k in np.flatnonzero(open_nodes)), key=_sort_key)),
            assignment=on_path,
            objective=value,
            best_bound=float(best_bound),
            gap=gap,
            status=status,
            seconds=time.perf_counter() - start + self.build_seconds,
            details=details,
        )


def _status_name(name: str) -> str:
    return {"kTimeLimit": "time_limit", "kInfeasible": "infeasible", "kInterrupt": "interrupted"}.get(
        name, name.removeprefix("k").lower())


def _heuristic_budget(time_limit_s: float | None) -> float:
    """Seconds for each heuristic phase (swaps, row closure): a tenth of the limit, 10 s without one."""
    return 10.0 if time_limit_s is None else max(0.1 * time_limit_s, 0.5)


def _odd_cycle_cuts(set_nodes: csr_matrix, x: np.ndarray, w: np.ndarray, *, max_cuts: int = 1000,
                    min_violation: float = 1e-3) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, int]]:
    """Odd-cycle ({0, 1/2}-Chvatal-Gomory) cuts that an LP solution ``(x, w)`` violates.

    For an odd family ``C`` of station sets (``|C| = 2r + 1``), adding the rows
    ``w_K <= x(K)`` and the bounds ``w_K <= 1`` of its sets, halving and rounding down gives

        sum_{K in C} w_K - sum_k ceil(c_k / 2) x_k <= r,   c_k = number of sets of C holding k,

    valid whenever ``w`` is binary, as it is in every optimal solution. LP solutions of the
    FRLM put half stations on nodes shared by two sets, hitting both; these cuts remove
    them (they closed most of the LP gap on the expressway network).

    Separation: nodes with fractional ``x`` are vertices, and a set holding two of them,
    ``a`` and ``b``, is an edge of weight ``d = 1/2 + (x_a + x_b)/2 + x(K \\ {a, b}) - w_K``
    (>= 0). The family of an odd cycle is violated by ``1/2 - sum d`` when each vertex lies
    in just its two cycle sets. The cheapest odd cycle through each edge comes from shortest
    paths on the bipartite double cover; each candidate's violation is then computed
    exactly, and only truly violated cuts are returned.

    Returns
    -------
    list of (sets, nodes, coefficients, rhs)
        The cut ``sum_{K in sets} w_K - sum_i coefficients_i x_{nodes_i} <= rhs``, most
        violated first.
    """
    n_nodes = set_nodes.shape[1]
    fractional = np.flatnonzero((x > 1e-6) & (x < 1 - 1e-6))
    vertex = -np.ones(n_nodes, dtype=np.int64)
    vertex[fractional] = np.arange(len(fractional))
    n_vertices = len(fractional)
    edges = []                                   # (u, v, set, d)
    best: dict[tuple[int, int], tuple[float, int]] = {}
    for k in np.flatnonzero(w > 1e-6):
        nodes = set_nodes.indices[set_nodes.indptr[k]:set_nodes.indptr[k + 1]]
        values = x[nodes]
        if (values > 1 - 1e-6).any():
            continue                             # hit by a whole station: never in a violated cycle
        ends = nodes[values > 1e-6]
        if len(ends) < 2:
            continue
        total = float(values.sum())
        for i in range(len(ends)):
            for j in range(i + 1, len(ends)):
                a, b = ends[i], ends[j]
                d = 0.5 - (x[a] + x[b]) / 2 + total - w[k]
                if d < 0.5 - min_violation:
                    u, v = int(vertex[a]), int(vertex[b])
                    edges.append((u, v, int(k), d))
                    if (u, v) not in best or d < best[(u, v)][0]:
                        best[(u, v)] = (d, int(k))
    if not best:
        return []
    pairs = np.array(list(best), dtype=np.int64)
    weight = np.array([d for d, _ in best.values()]) + 1e-9  # > 0: csgraph drops explicit zeros
    set_of = {}
    for (u, v), (_, k) in best.items():
        set_of[(u, v)] = set_of[(v, u)] = k
    # double cover: vertex (u, parity) is u + parity * n_vertices; every edge flips parity
    a, b = pairs[:, 0], pairs[:, 1]
    graph = csr_matrix((np.tile(weight, 4), (np.concatenate([a, a + n_vertices, b, b + n_vertices]),
                                             np.concatenate([b + n_vertices, b, a + n_vertices, a]))),
                       shape=(2 * n_vertices, 2 * n_vertices))
    distance, predecessor = dijkstra(graph, directed=True, indices=np.arange(n_vertices), return_predecessors=True)
    edges.sort(key=lambda e: e[3] + distance[e[1], e[0]])
    seen, cuts = set(), []
    for u, v, k, d in edges:
        if d + distance[v, u] >= 0.5 - min_violation or len(cuts) >= max_cuts:
            break
        walk = [u]                               # even path v -> u, read backwards from u
        while walk[-1] != v:
            walk.append(int(predecessor[v, walk[-1]]))
        walk = [t % n_vertices for t in walk[::-1]]
        family = [set_of[(walk[i], walk[i + 1])] for i in range(len(walk) - 1)] + [k]
        key = tuple(sorted(family))
        if len(set(family)) != len(family) or len(family) % 2 == 0 or key in seen:
            continue
        seen.add(key)
        members = np.concatenate([set_nodes.indices[set_nodes.indptr[s]:set_nodes.indptr[s + 1]] for s in family])
        nodes, count = np.unique(members, return_counts=True)
        coefficients = np.ceil(count / 2.0)
        rhs = (len(family) - 1) // 2
        if w[family].sum() - coefficients @ x[nodes] - rhs > min_violation:
            cuts.append((np.array(key, dtype=np.int64), nodes, coefficients, rhs))
    return cuts


def _fix_stations(h, layout, closed: np.ndarray, opened: np.ndarray) -> None:
    """Fix station columns: ``closed`` (periods x nodes) at 0, ``opened`` at 1."""
    n_nodes, _, _, block, periods = layout
    columns = (np.arange(periods)[:, None] * block + np.arange(n_nodes)[None, :])
    for mask, value in ((closed, 0.0), (opened, 1.0)):
        index = columns[mask].astype(np.int32)
        if len(index):
            h.changeColsBounds(len(index), index, np.full(len(index), value), np.full(len(index), value))


def _add_cuts(h, layout, cuts: Sequence[tuple[int, np.ndarray, np.ndarray, np.ndarray, int]]) -> None:
    """Add odd-cycle cuts ``(period, sets, nodes, coefficients, rhs)`` as rows of ``h``."""
    import highspy

    if not cuts:
        return
    n_nodes, _, _, block, _ = layout
    index, value, starts, upper = [], [], [], []
    position = 0
    for t, sets, nodes, coefficients, rhs in cuts:
        starts.append(position)
        index += [t * block + n_nodes + sets, t * block + nodes]
        value += [np.ones(len(sets)), -coefficients]
        position += len(sets) + len(nodes)
        upper.append(rhs)
    h.addRows(len(cuts), np.full(len(cuts), -highspy.kHighsInf), np.array(upper, dtype=float), position,
              np.array(starts, dtype=np.int32), np.concatenate(index).astype(np.int32), np.concatenate(value))


def _remaining(budget: float, deadline: float | None) -> float:
    """``budget`` seconds, cut to the time left before ``deadline`` (0 once it has passed)."""
    return budget if deadline is None else max(min(budget, deadline - time.perf_counter()), 0.0)


def _dual_bound(h, columns: int = 0) -> tuple[float, np.ndarray]:
    """Upper bound on the maximum of the LP in ``h`` from its row duals (Lagrangian bound).

    Any multipliers give a valid bound once their signs match the row bounds, so the bound
    holds even when HiGHS stops within its tolerances. HiGHS's sign convention for duals of
    a maximisation is not assumed: both signs are tried and the smaller bound is kept.

    Also returns, for the first ``columns`` columns, the bounds on every solution with the
    column at its lower bound (row 0) and at its upper bound (row 1).
    """
    lp = h.getLp()
    matrix = lp.a_matrix_
    shape = (lp.num_row_, lp.num_col_)
    parts = (np.asarray(matrix.value_), np.asarray(matrix.index_), np.asarray(matrix.start_))
    is_rowwise = "rowwise" in str(matrix.format_).lower()
    A = csr_matrix(parts, shape=shape) if is_rowwise else csc_matrix(parts, shape=shape)
    cost, col_lower, col_upper = (np.asarray(v) for v in (lp.col_cost_, lp.col_lower_, lp.col_upper_))
    row_lower, row_upper = np.asarray(lp.row_lower_), np.asarray(lp.row_upper_)
    duals = np.asarray(h.getSolution().row_dual)
    best, flipped = np.inf, np.full((2, columns), np.inf)
    for sign in (1.0, -1.0):
        pi = sign * duals
        pi[(pi > 0) & ~np.isfinite(row_upper)] = 0.0
        pi[(pi < 0) & ~np.isfinite(row_lower)] = 0.0
        row_part = np.where(pi > 0, pi * np.where(pi > 0, row_upper, 0.0), pi * np.where(pi < 0, row_lower, 0.0))
        reduced = cost - A.T @ pi
        col_part = np.where(reduced > 0, reduced * col_upper, reduced * col_lower)
        value = float(row_part.sum() + col_part.sum() + lp.offset_)
        if value < best:
            best = value
            rest = value - col_part[:columns]
            flipped = np.stack([rest + (reduced * col_lower)[:columns], rest + (reduced * col_upper)[:columns]])
    return best, flipped
