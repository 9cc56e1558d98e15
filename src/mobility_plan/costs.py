"""Origin-destination travel-time and distance matrices on road graphs.

A graph is turned once into a compressed sparse row matrix per edge weight
(:class:`CostGraph`, cached per graph and weight) and every matrix is computed by
SciPy's C implementation of Dijkstra's algorithm (``scipy.sparse.csgraph``).
Parallel edges take their minimum weight; unreachable pairs, and pairs beyond the
cutoff, are ``inf`` (never 0).
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from ._errors import NetworkError, ValidationError
from .network import require_edge_attribute

__all__ = ["WEIGHTS", "CostGraph", "cost_graph", "cost_matrix"]

#: Edge weights a matrix can be computed on, with their units.
WEIGHTS = {"travel_time": "s", "length": "m"}

#: Default memory (bytes) that one batch of Dijkstra rows may use.
DEFAULT_BATCH_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class CostGraph:
    """A road graph as a compressed sparse matrix of one edge weight.

    Attributes
    ----------
    nodes
        Graph node ids; row/column ``i`` of :attr:`matrix` is ``nodes[i]``.
    weight
        Edge attribute used (``travel_time`` in s or ``length`` in m).
    matrix
        ``n x n`` CSR matrix; entry ``(i, j)`` is the least weight among the edges
        from ``nodes[i]`` to ``nodes[j]``.
    """

    nodes: np.ndarray
    weight: str
    matrix: csr_matrix
    _position: dict[Any, int] = field(repr=False, compare=False)
    _transpose: list[csr_matrix] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def from_graph(cls, G: nx.MultiDiGraph, *, weight: str = "travel_time") -> CostGraph:
        """Build the sparse matrix of ``weight`` from a (Multi)DiGraph.

        Raises
        ------
        ValidationError
            If ``weight`` is not ``travel_time`` or ``length``.
        NetworkError
            If the graph is empty or some edge lacks a valid ``weight``.
        """
        if weight not in WEIGHTS:
            raise ValidationError(f"weight must be one of {sorted(WEIGHTS)}, got {weight!r}")
        if G.number_of_nodes() == 0:
            raise NetworkError("the graph has no nodes")
        require_edge_attribute(G, weight)
        nodes = np.fromiter(G.nodes, dtype=object, count=G.number_of_nodes())
        position = {node: i for i, node in enumerate(nodes)}
        m = G.number_of_edges()
        rows = np.empty(m, dtype=np.int64)
        cols = np.empty(m, dtype=np.int64)
        values = np.empty(m, dtype=np.float64)
        for k, (u, v, w) in enumerate(G.edges(data=weight)):
            rows[k], cols[k], values[k] = position[u], position[v], w
        return cls.from_arrays(nodes, rows, cols, values, weight=weight, _position=position)

    @classmethod
    def from_arrays(
        cls,
        nodes: np.ndarray,
        rows: np.ndarray,
        cols: np.ndarray,
        values: np.ndarray,
        *,
        weight: str = "travel_time",
        _position: dict[Any, int] | None = None,
    ) -> CostGraph:
        """Build from edge arrays: edge ``k`` runs from ``nodes[rows[k]]`` to ``nodes[cols[k]]``.

        Use it for graphs too large for NetworkX (millions of nodes).

        Raises
        ------
        ValidationError
            If the arrays differ in length, positions fall outside ``nodes`` or a
            weight is negative or not finite.
        """
        if weight not in WEIGHTS:
            raise ValidationError(f"weight must be one of {sorted(WEIGHTS)}, got {weight!r}")
        nodes = np.asarray(nodes)
        rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
        values = np.asarray(values, dtype=np.float64)
        if not (len(rows) == len(cols) == len(values)):
            raise ValidationError(f"rows, cols and values differ in length: {len(rows)}, {len(cols)}, {len(values)}")
        n = len(nodes)
        if len(rows) and (min(rows.min(), cols.min()) < 0 or max(rows.max(), cols.max()) >= n):
            raise ValidationError(f"edge end positions must lie in 0..{n - 1}")
        if not np.isfinite(values).all() or (values < 0).any():
            raise ValidationError(f"edge {weight} values must be finite and >= 0 ({WEIGHTS[weight]})")
        keep = rows != cols  # self-loops never shorten a path
        rows, cols, values = rows[keep], cols[keep], values[keep]
        # parallel edges: keep the least weight (sort by row, col, weight; first of each pair)
        order = np.lexsort((values, cols, rows))
        rows, cols, values = rows[order], cols[order], values[order]
        first = np.ones(len(rows), dtype=bool)
        first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        rows, cols, values = rows[first], cols[first], values[first]
        # csgraph reads explicit zeros of a sparse matrix as edges of weight 0, as wanted
        matrix = csr_matrix((values, (rows, cols)), shape=(n, n))
        position = _position if _position is not None else {node: i for i, node in enumerate(nodes.tolist())}
        return cls(nodes=nodes, weight=weight, matrix=matrix, _position=position)

    @property
    def unit(self) -> str:
        """Unit of the costs: ``s`` for travel_time, ``m`` for length."""
        return WEIGHTS[self.weight]

    def positions(self, nodes: Iterable[Any], *, what: str = "nodes") -> np.ndarray:
        """Return the matrix positions of graph node ids.

        Raises
        ------
        ValidationError
            Naming (up to ten of) the ids not in the graph.
        """
        nodes = list(nodes)
        missing = [n for n in nodes if n not in self._position]
        if missing:
            raise ValidationError(
                f"{len(missing)} {what} are not nodes of the graph (e.g. {missing[:10]}); "
                "snap coordinates to nodes with mobility_plan.network.snap_points"
            )
        return np.fromiter((self._position[n] for n in nodes), dtype=np.int64, count=len(nodes))

    def transposed(self) -> csr_matrix:
        """The reversed graph (costs *to* a node), built on first use and kept."""
        if not self._transpose:
            self._transpose.append(self.matrix.transpose().tocsr())
        return self._transpose[0]

    def matrix_between(
        self,
        origins: Sequence[Any],
        destinations: Sequence[Any],
        *,
        cutoff: float | None = None,
        batch_bytes: int = DEFAULT_BATCH_BYTES,
        n_jobs: int | None = None,
        progress: bool = False,
    ) -> np.ndarray:
        """Least cost from each origin node to each destination node.

        Dijkstra runs from whichever side is smaller (from the destinations on the
        reversed graph when there are fewer of them), in batches of rows that fit
        ``batch_bytes``, on ``n_jobs`` threads (SciPy releases the GIL).

        Parameters
        ----------
        origins, destinations
            Graph node ids.
        cutoff
            Costs above this (same unit as the weight) are reported as ``inf``.
        batch_bytes
            Memory for one batch of full Dijkstra rows.
        n_jobs
            Worker threads (default: CPU count, at most 8).
        progress
            Show a progress bar over batches (when there is more than one).

        Returns
        -------
        numpy.ndarray
            ``len(origins) x len(destinations)`` float64 array; ``inf`` = unreachable.
        """
        if cutoff is not None and (not np.isfinite(cutoff) or cutoff < 0):
            raise ValidationError(f"cutoff must be a finite number >= 0 ({self.unit}), got {cutoff}")
        origin_idx = self.positions(origins, what="origins")
        destination_idx = self.positions(destinations, what="destinations")
        n = len(self.nodes)
        result = np.empty((len(origin_idx), len(destination_idx)), dtype=np.float64)
        if result.size == 0:
            return result
        reverse = len(destination_idx) < len(origin_idx)
        graph = self.transposed() if reverse else self.matrix
        sources, targets = (destination_idx, origin_idx) if reverse else (origin_idx, destination_idx)
        # run each distinct source once
        unique_sources, inverse = np.unique(sources, return_inverse=True)
        per_batch = max(1, min(len(unique_sources), int(batch_bytes // (8 * n))))
        batches = [unique_sources[i : i + per_batch] for i in range(0, len(unique_sources), per_batch)]
        limit = np.inf if cutoff is None else float(cutoff)
        rows = np.empty((len(unique_sources), len(targets)), dtype=np.float64)
        starts = np.cumsum([0] + [len(b) for b in batches])

        def run(k: int) -> None:
            distances = dijkstra(graph, directed=True, indices=batches[k], limit=limit)
            rows[starts[k] : starts[k + 1]] = distances[:, targets]

        workers = n_jobs or min(8, os.cpu_count() or 1)
        bar = _progress(len(batches), enabled=progress and len(batches) > 1, unit="batch",
                        desc=f"{self.weight} matrix")
        if workers <= 1 or len(batches) == 1:
            for k in range(len(batches)):
                run(k)
                bar.update(1)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for _ in pool.map(run, range(len(batches))):
                    bar.update(1)
        bar.close()
        full = rows[inverse]
        result[:] = full.T if reverse else full
        return result


def _progress(total: int, *, enabled: bool, **kwargs: Any):
    from tqdm import tqdm

    return tqdm(total=total, disable=not enabled, **kwargs)


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def cost_graph(G: nx.MultiDiGraph, *, weight: str = "travel_time") -> CostGraph:
    """Return the :class:`CostGraph` of ``G`` for ``weight``, built once and reused.

    The cache is keyed by the graph object and checked against its node and edge
    counts; call :meth:`CostGraph.from_graph` directly after editing edge weights
    in place.
    """
    signature = (G.number_of_nodes(), G.number_of_edges())
    per_graph = _CACHE.setdefault(G, {})
    cached = per_graph.get(weight)
    if cached is None or cached[0] != signature:
        cached = (signature, CostGraph.from_graph(G, weight=weight))
        per_graph[weight] = cached
    return cached[1]


def cost_matrix(
    G: nx.MultiDiGraph | CostGraph,
    origins: Sequence[Any],
    destinations: Sequence[Any] | None = None,
    *,
    weight: str | None = None,
    cutoff: float | None = None,
    n_jobs: int | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Least travel time (s) or distance (m) from each origin to each destination.

    Parameters
    ----------
    G
        Road graph (its sparse form is built once and cached) or a :class:`CostGraph`.
    origins
        Graph node ids.
    destinations
        Graph node ids (default: the origins).
    weight
        ``travel_time`` (seconds, the default for a graph) or ``length`` (metres);
        for a :class:`CostGraph`, its own weight.
    cutoff
        Costs above this value (in the weight's unit) are ``inf``.
    n_jobs
        Worker threads.
    progress
        Show a progress bar.

    Returns
    -------
    numpy.ndarray
        ``len(origins) x len(destinations)`` float64 array; ``inf`` marks pairs with
        no path (or beyond ``cutoff``).

    Examples
    --------
    >>> from mobility_plan import network, costs
    >>> G = network.graph_from_expressway()
    >>> costs.cost_matrix(G, [1, 2], [3], weight="length").shape
    (2, 1)
    """
    if isinstance(G, CostGraph):
        if weight is not None and weight != G.weight:
            raise ValidationError(f"the CostGraph holds {G.weight!r}, not {weight!r}; build one with that weight")
        graph = G
    else:
        graph = cost_graph(G, weight=weight or "travel_time")
    destinations = origins if destinations is None else destinations
    origins, destinations = list(origins), list(destinations)
    for points, what in ((origins, "origins"), (destinations, "destinations")):
        if not points:
            raise ValidationError(f"{what} is empty: there are no points to compute costs for (a 0-row matrix "
                                  f"would plan nothing); give at least one graph node in {what}")
    return graph.matrix_between(origins, destinations, cutoff=cutoff, n_jobs=n_jobs, progress=progress)
