"""Road networks from every offline source, components, projection and snapping."""

from __future__ import annotations

import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from mobility_plan import DataSourceError, NetworkError, ValidationError, network


def _every_edge_has_costs(G) -> bool:
    return all(
        d["length"] >= 0 and d["speed_kph"] > 0 and np.isclose(d["travel_time"], d["length"] / (d["speed_kph"] / 3.6))
        for _, _, d in G.edges(data=True)
    )


def test_graphml_saved_by_osmnx_17(central_graph):
    assert central_graph.number_of_nodes() == 3384 and central_graph.number_of_edges() == 8830
    assert _every_edge_has_costs(central_graph)
    km = sum(d["length"] for _, _, d in central_graph.edges(data=True)) / 1000
    assert km == pytest.approx(608, abs=1)


def test_graphml_saved_by_osmnx_13(shared_data):
    G = network.load_graphml(shared_data / "osm" / "seoul_yongsan_drive.graphml")
    assert G.number_of_nodes() == 1993 and G.number_of_edges() == 5485
    assert G.graph["created_with"] == "OSMnx 1.3.0"
    assert _every_edge_has_costs(G)
    # residential streets without maxspeed get the 30 km/h "Safe Speed 5030" default
    residential = [d["speed_kph"] for _, _, d in G.edges(data=True) if d.get("highway") == "residential"
                   and "maxspeed" not in d]
    assert residential and set(residential) == {30.0}


def test_songpa_osm_xml_loads_roads_without_buildings(shared_data):
    import osmnx as ox

    path = shared_data / "osm" / "songpa_overpass.osm"
    with pytest.raises(Exception):
        ox.graph_from_xml(path)  # OSMnx alone rejects the shipped file
    G = network.graph_from_osm_xml(path)
    assert G.number_of_edges() > 1000 and G.number_of_nodes() > 300
    assert all("highway" in d for _, _, d in G.edges(data=True))
    assert "building" not in {k for _, _, d in G.edges(data=True) for k in d}
    assert _every_edge_has_costs(G)
    summary = network.graph_summary(G)
    west, south, east, north = summary["bbox"]
    assert 127.0 < west < east < 127.2 and 37.4 < south < north < 37.6


def test_malformed_inputs(tmp_path):
    bad_xml = tmp_path / "broken.osm"
    bad_xml.write_text("<osm><node id='1' lat='37' lon='127'>", encoding="utf-8")
    with pytest.raises(DataSourceError, match="not well-formed"):
        network.graph_from_osm_xml(bad_xml)
    no_roads = tmp_path / "buildings.osm"
    no_roads.write_text(
        "<osm><node id='1' lat='37' lon='127'/><node id='2' lat='37.1' lon='127'/>"
        "<way id='9'><nd ref='1'/><nd ref='2'/><tag k='building' v='yes'/></way></osm>",
        encoding="utf-8",
    )
    with pytest.raises(DataSourceError, match="no roads"):
        network.graph_from_osm_xml(no_roads)
    bad_graphml = tmp_path / "bad.graphml"
    bad_graphml.write_text("not xml at all", encoding="utf-8")
    with pytest.raises(DataSourceError, match="not a readable OSMnx GraphML"):
        network.load_graphml(bad_graphml)
    with pytest.raises(DataSourceError, match="does not exist"):
        network.load_graph(tmp_path / "missing.graphml")
    with pytest.raises(ValidationError, match="cannot tell the graph format"):
        (tmp_path / "graph.txt").write_text("x", encoding="utf-8")
        network.load_graph(tmp_path / "graph.txt")


def test_expressway_graph(expressway_graph):
    G = expressway_graph
    assert G.number_of_nodes() == 324
    assert G.number_of_edges() == 880  # 441 rows once per pair, one duplicated -> 440 arcs x 2
    assert nx.is_strongly_connected(G)
    # arc 1: 가락 -> 서부산, 5.3 km, both directions, in metres
    assert G.nodes[1]["name"] == "가락" and G.nodes[167]["name"] == "서부산"
    assert G.edges[1, 167, 0]["length"] == pytest.approx(5300.0)
    assert G.edges[167, 1, 0]["length"] == pytest.approx(5300.0)
    assert G.edges[1, 167, 0]["travel_time"] == pytest.approx(5300.0 / (network.EXPRESSWAY_SPEED_KPH / 3.6))
    # the duplicated 동고성-북통영 arc appears once per direction
    assert G.number_of_edges(80, 146) == 1 and G.number_of_edges(146, 80) == 1


def test_expressway_od_table(shared_data):
    od = network.load_expressway_od()
    assert (od["vehicles"] > 0).all() and (od["origin"] != od["destination"]).all()
    assert od[["origin", "destination"]].stack().between(1, 324).all()
    combined = network.load_expressway_od(combine_directions=True)
    assert len(combined) == 47_912
    assert (combined["origin"] < combined["destination"]).all()
    assert combined["vehicles"].sum() == pytest.approx(od["vehicles"].sum())


def test_expressway_truncated_demand(tmp_path, shared_data):
    import shutil

    for name in ("node.csv", "arc_twoway.csv"):
        shutil.copy(shared_data / "expressway_2011" / name, tmp_path)
    rows = (shared_data / "expressway_2011" / "demand_matrix.csv").read_bytes().split(b"\r")
    (tmp_path / "demand_matrix.csv").write_bytes(b"\r".join(rows[:100]))
    with pytest.raises(DataSourceError, match="324 x 324"):
        network.load_expressway_od(tmp_path)
    G = network.graph_from_expressway(tmp_path)
    assert G.number_of_nodes() == 324


def test_largest_component_and_projection(central_graph):
    largest = network.largest_component(central_graph)
    assert nx.is_strongly_connected(largest)
    assert largest.number_of_nodes() == network.graph_summary(central_graph)["largest_component_nodes"]
    projected = network.project_graph(largest)
    assert projected.graph["crs"].to_epsg() == 5179
    lengths = [d["length"] for _, _, d in projected.edges(data=True)]
    assert sum(lengths) > 0


def test_snap_points_returns_distance_and_warns_for_far_points(central_graph):
    node = next(iter(central_graph.nodes))
    lon, lat = central_graph.nodes[node]["x"], central_graph.nodes[node]["y"]
    points = pd.DataFrame({"lon": [lon, 127.5], "lat": [lat, 37.0]}, index=["depot", "far_away"])
    with pytest.warns(network.SnapWarning, match=r"far_away: \d"):
        snapped = network.snap_points(central_graph, points)
    assert snapped.loc["depot", "node"] == node
    assert snapped.loc["depot", "snap_distance_m"] < 1e-6
    assert snapped.loc["far_away", "snap_distance_m"] > 50_000


def test_snap_points_geodataframe_crs_checks(central_graph):
    node = next(iter(central_graph.nodes))
    lon, lat = central_graph.nodes[node]["x"], central_graph.nodes[node]["y"]
    gdf = gpd.GeoDataFrame(geometry=[Point(lon, lat)], crs="EPSG:4326")
    metric = gdf.to_crs("EPSG:5179")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert network.snap_points(central_graph, metric)["node"].iloc[0] == node
    with pytest.raises(ValidationError, match="no CRS"):
        network.snap_points(central_graph, gpd.GeoDataFrame(geometry=[Point(lon, lat)]))
    wrong = gpd.GeoDataFrame(geometry=[Point(lon, lat)], crs="EPSG:5179")  # degrees labelled as metres
    with pytest.warns(network.SnapWarning, match="CRS"):
        network.snap_points(central_graph, wrong)
    with pytest.raises(ValidationError, match="empty or missing geometry"):
        network.snap_points(central_graph, gpd.GeoDataFrame(geometry=[Point()], crs="EPSG:4326"))


def test_graph_without_travel_time_is_named(central_graph):
    G = nx.MultiDiGraph(crs="EPSG:4326")
    G.add_node(1, x=127.0, y=37.5)
    G.add_node(2, x=127.01, y=37.5)
    G.add_edge(1, 2, length=100.0)
    with pytest.raises(NetworkError, match="travel_time.*add_travel_times"):
        network.require_edge_attribute(G, "travel_time")
    network.add_travel_times(G)
    assert G.edges[1, 2, 0]["travel_time"] == pytest.approx(100 / (30 / 3.6))


@pytest.mark.network
def test_live_download_through_osmnx(tmp_path):
    G = network.graph_from_bbox((126.975, 37.565, 126.985, 37.572), cache_folder=tmp_path)
    assert G.number_of_nodes() > 10 and _every_edge_has_costs(G)
    assert any(tmp_path.iterdir())  # the response was cached
