"""Cost matrices against NetworkX, parallel edges, unreachable pairs, cutoffs and bad input."""

from __future__ import annotations

import random

import networkx as nx
import numpy as np
import pytest

from mobility_plan import NetworkError, ValidationError, costs


def _networkx_matrix(G, origins, destinations, weight):
    out = np.full((len(origins), len(destinations)), np.inf)
    for i, source in enumerate(origins):
        lengths = nx.single_source_dijkstra_path_length(G, source, weight=weight)
        for j, target in enumerate(destinations):
            out[i, j] = lengths.get(target, np.inf)
    return out


@pytest.mark.parametrize("weight", ["travel_time", "length"])
@pytest.mark.parametrize("shape", [(40, 12), (12, 40)])  # both Dijkstra directions
def test_matrix_equals_networkx_on_random_pairs(central_graph, weight, shape):
    rng = random.Random(hash((weight, shape)) % 1000)
    nodes = sorted(central_graph.nodes)
    origins, destinations = rng.sample(nodes, shape[0]), rng.sample(nodes, shape[1])
    ours = costs.cost_matrix(central_graph, origins, destinations, weight=weight)
    reference = _networkx_matrix(central_graph, origins, destinations, weight)
    assert ours.shape == shape
    assert np.array_equal(np.isinf(ours), np.isinf(reference))
    finite = np.isfinite(reference)
    assert np.abs(ours[finite] - reference[finite]).max() < 1e-6


def test_unreachable_pairs_are_inf_never_zero(central_graph):
    components = sorted(nx.strongly_connected_components(central_graph), key=len)
    small, large = next(iter(components[0])), next(iter(components[-1]))
    matrix = costs.cost_matrix(central_graph, [large, small], [small, large])
    assert matrix[0, 0] == np.inf or nx.has_path(central_graph, large, small)
    assert matrix[1, 0] == 0.0 and matrix[0, 1] == 0.0
    out_of_reach = [n for n in central_graph if not nx.has_path(central_graph, large, n)]
    assert out_of_reach
    assert np.isinf(costs.cost_matrix(central_graph, [large], out_of_reach[:5])).all()


def test_parallel_edges_take_the_minimum():
    G = nx.MultiDiGraph(crs="EPSG:4326")
    G.add_edge("a", "b", travel_time=10.0, length=1.0)
    G.add_edge("a", "b", travel_time=4.0, length=9.0)
    G.add_edge("b", "c", travel_time=1.0, length=1.0)
    G.add_edge("c", "c", travel_time=0.5, length=0.5)
    assert costs.cost_matrix(G, ["a"], ["b", "c"]).tolist() == [[4.0, 5.0]]
    assert costs.cost_matrix(G, ["a"], ["c"], weight="length").tolist() == [[2.0]]
    assert costs.cost_matrix(G, ["c"], ["a"]).tolist() == [[np.inf]]


def test_zero_weight_edges_are_edges():
    G = nx.MultiDiGraph()
    G.add_edge(1, 2, travel_time=0.0)
    G.add_edge(2, 3, travel_time=2.0)
    assert costs.cost_matrix(G, [1], [3]).tolist() == [[2.0]]


def test_cutoff_turns_far_pairs_into_inf(central_graph):
    nodes = sorted(central_graph.nodes)[:30]
    full = costs.cost_matrix(central_graph, nodes, nodes)
    cut = costs.cost_matrix(central_graph, nodes, nodes, cutoff=120.0)
    assert np.array_equal(cut[full <= 120.0], full[full <= 120.0])
    assert np.isinf(cut[full > 120.0]).all()
    with pytest.raises(ValidationError, match="cutoff"):
        costs.cost_matrix(central_graph, nodes, nodes, cutoff=-1)


def test_cost_graph_is_built_once_and_reused(central_graph):
    first = costs.cost_graph(central_graph)
    assert costs.cost_graph(central_graph) is first
    assert costs.cost_graph(central_graph, weight="length") is not first
    assert first.matrix.shape == (3384, 3384)
    assert first.matrix.nnz < central_graph.number_of_edges()  # parallel edges merged


def test_batches_and_threads_give_the_same_result(central_graph):
    graph = costs.cost_graph(central_graph)
    nodes = sorted(central_graph.nodes)[::40]
    one = graph.matrix_between(nodes, nodes[:7], n_jobs=1)
    many = graph.matrix_between(nodes, nodes[:7], batch_bytes=1, n_jobs=2)
    assert np.array_equal(one, many)


def test_bad_inputs_are_named(central_graph):
    with pytest.raises(ValidationError, match=r"origins are not nodes of the graph \(e\.g\. \[-1\]\)"):
        costs.cost_matrix(central_graph, [-1], [next(iter(central_graph))])
    with pytest.raises(ValidationError, match="weight must be one of"):
        costs.cost_matrix(central_graph, [1], [1], weight="speed")
    G = nx.MultiDiGraph()
    G.add_edge(1, 2, length=5.0)
    with pytest.raises(NetworkError, match="travel_time"):
        costs.cost_matrix(G, [1], [2])
    G.add_edge(2, 1, travel_time=float("nan"), length=1.0)
    with pytest.raises(NetworkError, match="lack a valid 'travel_time'"):
        costs.cost_matrix(G, [1], [2])
    with pytest.raises(ValidationError, match="finite and >= 0"):
        costs.CostGraph.from_arrays(np.arange(2), [0], [1], [-1.0])
    with pytest.raises(ValidationError, match="CostGraph holds"):
        costs.cost_matrix(costs.cost_graph(central_graph), [1], [1], weight="length")


def test_expressway_length_matrix(expressway_graph):
    matrix = costs.cost_matrix(expressway_graph, [1], [167, 1], weight="length")
    assert matrix.tolist() == [[5300.0, 0.0]]
    assert np.isfinite(costs.cost_matrix(expressway_graph, list(expressway_graph), list(expressway_graph))).all()
