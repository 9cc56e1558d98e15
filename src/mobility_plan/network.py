"""Road networks: OSMnx downloads, GraphML / OSM XML files and the Korean expressway graph.

Every ``graph_from_*`` / ``load_*`` function returns an OSMnx-compatible
``networkx.MultiDiGraph`` whose edges all carry ``length`` (metres),
``speed_kph`` (km/h) and ``travel_time`` (seconds), and whose nodes carry ``x``
and ``y`` in the graph's CRS (``G.graph["crs"]``).
"""

from __future__ import annotations

import math
import os
import stat
import tempfile
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from pyproj import Transformer
from scipy.spatial import cKDTree

from ._errors import DataSourceError, MobilityPlanError, NetworkError, ValidationError
from ._io import read_csv_text
from .data import (CRS_LONLAT, CRS_METRIC, KOREA_BOUNDS, MAX_OUTSIDE_SHARE, data_dir, load_sources,
                   verify_if_registered, verify_source)

__all__ = [
    "URBAN_SPEEDS_KPH",
    "EXPRESSWAY_SPEED_KPH",
    "SnapWarning",
    "configure_cache",
    "graph_from_place",
    "graph_from_bbox",
    "graph_from_polygon",
    "load_graphml",
    "graph_from_osm_xml",
    "graph_from_expressway",
    "load_expressway_od",
    "load_graph",
    "add_travel_times",
    "largest_component",
    "project_graph",
    "snap_points",
    "graph_summary",
    "require_edge_attribute",
    "require_input_file",
    "check_node_coordinates",
    "KOREA_LON_DEG",
    "KOREA_LAT_DEG",
]

#: Speeds (km/h) for road types whose edges have no ``maxspeed`` tag: Korea's
#: "Safe Speed 5030" urban limits (50 km/h on arterials, 30 km/h on residential
#: streets, Road Traffic Act enforcement decree, April 2021) and 100 km/h on
#: motorways. Road types not listed take the mean of their tagged edges.
URBAN_SPEEDS_KPH: dict[str, float] = {
    "motorway": 100.0,
    "motorway_link": 60.0,
    "trunk": 80.0,
    "trunk_link": 50.0,
    "primary": 50.0,
    "primary_link": 50.0,
    "secondary": 50.0,
    "secondary_link": 50.0,
    "tertiary": 50.0,
    "tertiary_link": 50.0,
    "unclassified": 30.0,
    "residential": 30.0,
    "living_street": 20.0,
    "service": 20.0,
    "road": 30.0,
}

#: Default expressway speed (km/h): the usual posted limit on Korean expressways
#: (100 km/h; 110-120 km/h only on a few sections). Used for the 2011 network, whose
#: arcs carry no speed.
EXPRESSWAY_SPEED_KPH = 100.0


class SnapWarning(UserWarning):
    """Points were snapped to nodes farther away than the allowed distance."""


# --------------------------------------------------------------------------- attributes


def add_travel_times(
    G: nx.MultiDiGraph,
    *,
    hwy_speeds_kph: dict[str, float] | None = None,
    fallback_speed_kph: float = 30.0,
) -> nx.MultiDiGraph:
    """Add ``speed_kph`` and ``travel_time`` (s) to every edge, keeping existing speeds.

    Parameters
    ----------
    G
        Graph whose edges have ``length`` in metres.
    hwy_speeds_kph
        Speed per OSM ``highway`` type for edges without ``maxspeed``; defaults to
        :data:`URBAN_SPEEDS_KPH`.
    fallback_speed_kph
        Speed for edges whose type is neither listed nor tagged anywhere.

    Returns
    -------
    networkx.MultiDiGraph
        The same graph, modified in place.

    Raises
    ------
    NetworkError
        If some edge has no numeric ``length``.
    """
    require_edge_attribute(G, "length")
    if not math.isfinite(fallback_speed_kph) or fallback_speed_kph <= 0:
        raise ValidationError(f"fallback_speed_kph must be > 0 km/h, got {fallback_speed_kph}")
    if G.number_of_edges() == 0:
        raise NetworkError("the graph has no edges; check the area or file it came from")
    missing = [(u, v, k) for u, v, k, d in G.edges(keys=True, data=True) if "speed_kph" not in d]
    if missing:
        import osmnx as ox

        has_highway = all("highway" in d for _, _, d in G.edges(data=True))
        if has_highway:
            speeds = dict(URBAN_SPEEDS_KPH if hwy_speeds_kph is None else hwy_speeds_kph)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                ox.routing.add_edge_speeds(G, hwy_speeds=speeds, fallback=fallback_speed_kph)
        else:
            for u, v, k in missing:
                G.edges[u, v, k]["speed_kph"] = fallback_speed_kph
    for _, _, data in G.edges(data=True):
        speed = float(data["speed_kph"])
        if not np.isfinite(speed) or speed <= 0:
            speed = fallback_speed_kph
            data["speed_kph"] = speed
        data["travel_time"] = float(data["length"]) / (speed / 3.6)
    return G


def require_edge_attribute(G: nx.MultiDiGraph, attribute: str) -> None:
    """Raise :class:`NetworkError` unless every edge has a finite, non-negative ``attribute``."""
    bad = 0
    example = None
    for u, v, data in G.edges(data=True):
        value = data.get(attribute)
        try:
            ok = value is not None and np.isfinite(float(value)) and float(value) >= 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            bad += 1
            example = example or (u, v, value)
    if bad:
        fix = (
            "call mobility_plan.network.add_travel_times(G) first"
            if attribute in ("travel_time", "speed_kph")
            else "load the graph with mobility_plan.network (it adds length, speed_kph and travel_time)"
        )
        raise NetworkError(
            f"{bad} of {G.number_of_edges()} edges lack a valid {attribute!r} (e.g. edge {example[0]}->"
            f"{example[1]}: {example[2]!r}); {fix}"
        )


#: Where Korea lies in lon/lat degrees (from :data:`mobility_plan.data.KOREA_BOUNDS`): used to
#: recognise x and y given the wrong way round and graphs that lie outside Korea.
KOREA_LON_DEG = (KOREA_BOUNDS[0], KOREA_BOUNDS[2])
KOREA_LAT_DEG = (KOREA_BOUNDS[1], KOREA_BOUNDS[3])


def check_node_coordinates(G: nx.MultiDiGraph, *, source: str = "the graph") -> None:
    """Raise :class:`NetworkError` when node coordinates cannot be what ``G.graph["crs"]`` says.

    Catches nodes without finite ``x``/``y``, an unreadable CRS, coordinates in metres
    under a degree CRS (EPSG:4326) and lon/lat stored the wrong way round (Korea lies at
    lon 124-132, lat 33-39).
    """
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    xy = np.empty((G.number_of_nodes(), 2))
    for k, (node, data) in enumerate(G.nodes(data=True)):
        try:
            xy[k] = float(data["x"]), float(data["y"])
        except (KeyError, TypeError, ValueError):
            raise NetworkError(f"{source}: node {node!r} has no numeric x/y coordinates (got x={data.get('x')!r}, "
                               f"y={data.get('y')!r}); every node needs x and y in the graph's CRS") from None
    if not np.isfinite(xy).all():
        bad = int((~np.isfinite(xy).all(axis=1)).sum())
        raise NetworkError(f"{source}: {bad} node(s) have NaN or infinite coordinates; fix or drop them")
    if "crs" not in G.graph:
        raise NetworkError(f"{source} has no CRS (G.graph['crs']); save it with OSMnx, which records the CRS "
                           "(EPSG:4326 for lon/lat)")
    try:
        crs = CRS.from_user_input(G.graph["crs"])
    except CRSError as exc:
        raise NetworkError(f"{source}: its CRS {G.graph['crs']!r} is not a CRS pyproj knows ({exc}); "
                           "set it to an EPSG code such as 'EPSG:4326'") from exc
    lon_min, lon_max = KOREA_LON_DEG
    lat_min, lat_max = KOREA_LAT_DEG
    if crs.is_geographic:
        x, y = xy[:, 0], xy[:, 1]
        swapped = (x >= lat_min) & (x <= lat_max) & (y >= lon_min) & (y <= lon_max)
        if swapped.mean() > 0.5:
            raise NetworkError(f"{source}: node x values lie at {x.min():.2f}-{x.max():.2f} and y at {y.min():.2f}-"
                               f"{y.max():.2f}: x and y are swapped (x must be longitude, {lon_min:g}-{lon_max:g} "
                               f"in Korea; y latitude, {lat_min:g}-{lat_max:g}); swap the x and y node attributes")
        if (np.abs(x) > 180).any() or (np.abs(y) > 90).any():
            raise NetworkError(f"{source}: its CRS is {crs.to_string()} (degrees), but node coordinates reach "
                               f"x {np.abs(x).max():,.0f}, y {np.abs(y).max():,.0f}: they look like metres of a "
                               "projected CRS; set G.graph['crs'] to that CRS (e.g. 'EPSG:5179') or reproject the "
                               "coordinates to lon/lat")
        lon, lat = x, y
    else:
        from pyproj import Transformer

        lon, lat = Transformer.from_crs(crs, CRS_LONLAT, always_xy=True).transform(xy[:, 0], xy[:, 1])
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    outside = ~((lon >= lon_min) & (lon <= lon_max) & (lat >= lat_min) & (lat <= lat_max))
    if outside.mean() > MAX_OUTSIDE_SHARE:
        raise NetworkError(f"{source}: {int(outside.sum())} of {len(outside)} nodes lie outside Korea (lon "
                           f"{lon_min:g}-{lon_max:g}, lat {lat_min:g}-{lat_max:g}); its nodes span lon "
                           f"{np.nanmin(lon):.2f}-{np.nanmax(lon):.2f}, lat {np.nanmin(lat):.2f}-{np.nanmax(lat):.2f} "
                           f"under its CRS {crs.to_string()}. mobility_plan plans for South Korea: load a Korean "
                           "road network, or set G.graph['crs'] to the CRS its x/y are really in")


def _finalise(G: nx.MultiDiGraph, *, source: str = "the graph", **speed_options: Any) -> nx.MultiDiGraph:
    if G.number_of_nodes() == 0:
        raise NetworkError(f"{source} has no nodes; check the area or file it came from")
    check_node_coordinates(G, source=source)
    for _, _, data in G.edges(data=True):
        if "length" in data:
            data["length"] = float(data["length"])
        if "speed_kph" in data:
            data["speed_kph"] = float(data["speed_kph"])
    return add_travel_times(G, **speed_options)


# --------------------------------------------------------------------------- OSMnx downloads


def configure_cache(cache_folder: Path | str | None = None) -> Path:
    """Point OSMnx's HTTP cache at ``cache_folder`` (default ``data/cache/osmnx`` in a source checkout,
    else ``osmnx`` in the plan cache folder, ``MOBILITY_PLAN_CACHE_DIR``).

    OSMnx caches only complete, successful Overpass responses, keyed by a hash of
    the request, so a repeated download is served from disk.
    """
    import osmnx as ox

    from .data import checkout_root
    from .plan import cache_dir

    root = checkout_root()
    default = root / "data" / "cache" / "osmnx" if root is not None else cache_dir() / "osmnx"
    folder = Path(cache_folder) if cache_folder else default
    folder.mkdir(parents=True, exist_ok=True)
    ox.settings.use_cache = True
    ox.settings.cache_folder = str(folder)
    return folder


def _download(fetch, *, network_type: str, cache_folder: Path | str | None) -> nx.MultiDiGraph:
    configure_cache(cache_folder)
    try:
        G = fetch(network_type=network_type)
    except Exception as exc:  # requests / Overpass / geocoder errors
        raise DataSourceError(
            f"OSMnx download failed ({type(exc).__name__}: {exc}). Check the internet connection "
            "and the query, or load a saved graph with load_graphml / graph_from_osm_xml"
        ) from exc
    return _finalise(G)


def graph_from_place(
    query: str | dict[str, str], *, network_type: str = "drive", cache_folder: Path | str | None = None
) -> nx.MultiDiGraph:
    """Download the road network of a named place from OpenStreetMap (needs internet).

    Parameters
    ----------
    query
        Place name or structured query geocoded by Nominatim, e.g. ``"Jongno-gu, Seoul"``.
    network_type
        OSMnx network type (``drive``, ``drive_service``, ``all``, ...).
    cache_folder
        Folder of OSMnx's response cache (default ``data/cache/osmnx``).
    """
    import osmnx as ox

    return _download(lambda **kw: ox.graph_from_place(query, **kw), network_type=network_type,
                     cache_folder=cache_folder)


def graph_from_bbox(
    bbox: tuple[float, float, float, float],
    *,
    network_type: str = "drive",
    cache_folder: Path | str | None = None,
) -> nx.MultiDiGraph:
    """Download the road network inside ``bbox`` = (west, south, east, north) in degrees."""
    import osmnx as ox

    west, south, east, north = (float(b) for b in bbox)
    if not (west < east and south < north):
        raise ValidationError(f"bbox must be (west, south, east, north) with west<east and south<north, got {bbox}")
    return _download(lambda **kw: ox.graph_from_bbox((west, south, east, north), **kw),
                     network_type=network_type, cache_folder=cache_folder)


def graph_from_polygon(
    polygon: Any, *, network_type: str = "drive", cache_folder: Path | str | None = None
) -> nx.MultiDiGraph:
    """Download the road network inside a shapely (Multi)Polygon in EPSG:4326."""
    import osmnx as ox

    if getattr(polygon, "is_empty", True) or not getattr(polygon, "is_valid", False):
        raise ValidationError("polygon must be a valid, non-empty shapely Polygon in EPSG:4326; "
                              "repair it with shapely.make_valid")
    return _download(lambda **kw: ox.graph_from_polygon(polygon, **kw), network_type=network_type,
                     cache_folder=cache_folder)


# --------------------------------------------------------------------------- files


def require_input_file(path: Path | str, *, what: str,
                       error: type[MobilityPlanError] = ValidationError) -> Path:
    """``path`` as a readable regular file, or ``error`` saying what it is instead.

    ``what`` names the input in the message (``"--costs"``, ``"graph file"``): a folder, a
    FIFO or a device is named as such, not reported as missing.
    """
    file = Path(path)
    if not file.exists():
        raise error(f"{what} {file} does not exist; check the path or the data directory setting")
    if file.is_dir():
        raise error(f"{what} {file} is a folder, not a file; give the file inside it")
    mode = file.stat().st_mode
    if not stat.S_ISREG(mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a device or socket"
        raise error(f"{what} {file} is {kind}, not a regular file; save the data to a file and pass that")
    if not os.access(file, os.R_OK):
        raise error(f"{what} {file} is not readable (permission denied); fix its permissions")
    return file


def load_graphml(path: Path | str) -> nx.MultiDiGraph:
    """Load a GraphML file saved by OSMnx (1.x or 2.x) and add speeds and travel times.

    Raises
    ------
    DataSourceError
        If the file is missing or not a readable OSMnx GraphML file.
    """
    import osmnx as ox

    path = require_input_file(path, what="graph file", error=DataSourceError)
    verify_if_registered(path)
    try:
        G = ox.load_graphml(path)
    except Exception as exc:
        raise DataSourceError(
            f"{path} is not a readable OSMnx GraphML file ({type(exc).__name__}: {exc}); "
            "re-save it with osmnx.save_graphml or restore the original"
        ) from exc
    return _finalise(G, source=f"graph file {path}")


#: Highway values that are never drivable; dropped by graph_from_osm_xml(drive_only=True).
_NON_DRIVE_HIGHWAYS = {
    "footway", "pedestrian", "steps", "path", "cycleway", "bridleway", "corridor", "elevator",
    "escalator", "proposed", "construction", "platform", "raceway", "abandoned", "bus_guideway",
}


def _clean_osm_xml(path: Path, *, drive_only: bool) -> tuple[bytes, int]:
    """Return the OSM XML without relations, non-road ways and their nodes, plus the number of roads kept."""
    try:
        tree = ET.parse(path)
    except ET.ParseError as exc:
        raise DataSourceError(f"{path} is not well-formed OSM XML ({exc}); the file may be truncated") from exc
    root = tree.getroot()
    if root.tag != "osm":
        raise DataSourceError(f"{path} is XML but not OSM XML (root <{root.tag}>, expected <osm>)")
    for relation in root.findall("relation"):
        root.remove(relation)
    kept = 0
    for way in root.findall("way"):
        tags = {tag.get("k"): tag.get("v") for tag in way.findall("tag")}
        highway = tags.get("highway")
        if highway is None or (drive_only and (highway in _NON_DRIVE_HIGHWAYS or tags.get("area") == "yes")):
            root.remove(way)
        else:
            kept += 1
    used = {nd.get("ref") for way in root.findall("way") for nd in way.findall("nd")}
    for node in root.findall("node"):
        if node.get("id") not in used:
            root.remove(node)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True), kept


def graph_from_osm_xml(path: Path | str, *, drive_only: bool = True, retain_all: bool = True) -> nx.MultiDiGraph:
    """Build a road graph from an OSM XML file (e.g. an Overpass export).

    OSMnx's own reader fails on exports holding ``<relation>`` blocks (such as the
    shipped Songpa file) and turns building outlines into edges. This loader drops
    relations and every way without a ``highway`` tag (and, with ``drive_only``,
    footways, paths and other non-drivable ways) before handing the file to
    ``osmnx.graph_from_xml``.

    Parameters
    ----------
    path
        ``.osm`` / ``.xml`` file.
    drive_only
        Keep drivable roads only.
    retain_all
        Keep every connected piece of the network (default) rather than the largest.

    Raises
    ------
    DataSourceError
        If the file is missing, malformed or holds no roads.
    """
    import osmnx as ox

    path = require_input_file(path, what="OSM XML file", error=DataSourceError)
    verify_if_registered(path)
    payload, kept = _clean_osm_xml(path, drive_only=drive_only)
    if kept == 0:
        raise DataSourceError(f"{path} holds no roads (no <way> with a highway tag); export roads from Overpass")
    fd, tmp = tempfile.mkstemp(suffix=".osm")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        G = ox.graph_from_xml(tmp, retain_all=retain_all)
    finally:
        os.unlink(tmp)
    G.graph["source_file"] = str(path)
    return _finalise(G, source=f"OSM XML file {path}")


def _expressway_dir(directory: Path | str | None) -> Path:
    if directory is not None:
        return Path(directory)
    return data_dir() / Path(load_sources()["expressway_nodes"].file).parent


def _expressway_table(directory: Path, key: str, columns: list[str] | None, header: int | None = 0) -> pd.DataFrame:
    entry = load_sources()[key]
    path = directory / Path(entry.file).name
    if not path.is_file():
        raise DataSourceError(
            f"expressway file {path} is missing; get {Path(entry.file).name} from {entry.source} "
            f"or point the directory argument / MOBILITY_PLAN_DATA_DIR at a copy"
        )
    if Path(directory).resolve() == _expressway_dir(None).resolve():  # registered; a folder of your own passes
        verify_source(key, path, columns=columns)
    return read_csv_text(path, encoding=entry.encoding, expected_columns=columns, header=header)


def graph_from_expressway(
    directory: Path | str | None = None, *, speed_kph: float = EXPRESSWAY_SPEED_KPH
) -> nx.MultiDiGraph:
    """Build the 2011 Korean expressway network (Chung & Kwon 2015) as an OSMnx graph.

    Nodes are the 324 interchanges and junctions, numbered 1..324 in the order of
    ``node.csv`` (the numbering of the arc and demand files). Every arc becomes two
    directed edges; the two duplicated rows of ``arc_twoway.csv`` are dropped and
    lengths are converted from km to metres.

    Parameters
    ----------
    directory
        Folder in the format of ``expressway_2011`` (default: in the data directory).
    speed_kph
        Speed on every arc (default :data:`EXPRESSWAY_SPEED_KPH`).

    Returns
    -------
    networkx.MultiDiGraph
        In EPSG:4326, with node attributes ``x``, ``y`` (lon/lat), ``name``
        and edge attributes ``length`` (m), ``speed_kph``, ``travel_time`` (s).
    """
    if isinstance(speed_kph, bool) or not isinstance(speed_kph, (int, float, np.integer, np.floating)) \
            or not math.isfinite(speed_kph) or speed_kph <= 0:
        raise ValidationError(f"speed_kph must be a finite speed > 0 km/h, got {speed_kph!r}; pass e.g. "
                              f"speed_kph={EXPRESSWAY_SPEED_KPH:g} (the default)")
    folder = _expressway_dir(directory)
    nodes = _expressway_table(folder, "expressway_nodes", ["Name", "Latitude", "Longitude"])
    arcs = _expressway_table(folder, "expressway_arcs", ["From_No", "To_No", "Revised Distance"])
    n = len(nodes)
    arcs = arcs.drop_duplicates(["From_No", "To_No"])
    out_of_range = arcs[~arcs["From_No"].between(1, n) | ~arcs["To_No"].between(1, n)]
    if len(out_of_range):
        raise DataSourceError(f"arc_twoway.csv refers to nodes outside 1..{n}: rows {out_of_range.index[:5].tolist()}")
    lengths = pd.to_numeric(arcs["Revised Distance"], errors="coerce")
    if lengths.isna().any() or (lengths <= 0).any():
        raise DataSourceError("arc_twoway.csv has missing or non-positive arc lengths; the file is corrupt")
    G = nx.MultiDiGraph(crs=CRS_LONLAT, name="Korean expressways 2011", source="Chung & Kwon (2015)")
    for number, row in enumerate(nodes.itertuples(index=False), start=1):
        G.add_node(number, x=float(row.Longitude), y=float(row.Latitude), name=str(row.Name), street_count=0)
    pairs: dict[tuple[int, int], float] = {}
    for u, v, km in zip(arcs["From_No"].astype(int), arcs["To_No"].astype(int), lengths):
        pairs.setdefault((u, v), float(km))
        pairs.setdefault((v, u), float(km))
    for (u, v), km in sorted(pairs.items()):
        G.add_edge(u, v, key=0, length=km * 1000.0, speed_kph=float(speed_kph), highway="motorway", oneway=True)
    for node in G.nodes:
        G.nodes[node]["street_count"] = len(set(G.successors(node)) | set(G.predecessors(node)))
    return _finalise(G, source=f"expressway folder {folder}")


def load_expressway_od(directory: Path | str | None = None, *, combine_directions: bool = False) -> pd.DataFrame:
    """Return the 2011 expressway OD matrix as a tidy table of pairs with traffic.

    Parameters
    ----------
    directory
        Folder in the format of ``expressway_2011``.
    combine_directions
        Add up both directions per unordered pair (``origin < destination``), as
        flow-refuelling models use them.

    Returns
    -------
    pandas.DataFrame
        ``origin``, ``destination`` (node numbers 1..324), ``origin_name``,
        ``destination_name``, ``vehicles`` (> 0). Intra-node traffic is left out.
    """
    folder = _expressway_dir(directory)
    nodes = _expressway_table(folder, "expressway_nodes", ["Name"])
    matrix = _expressway_table(folder, "expressway_demand", None, header=None)
    n = len(nodes)
    if matrix.shape != (n, n):
        raise DataSourceError(f"demand_matrix.csv is {matrix.shape[0]} x {matrix.shape[1]}, expected {n} x {n}; "
                              "the file is truncated or does not match node.csv")
    values = matrix.apply(pd.to_numeric, errors="coerce").to_numpy(dtype="float64", copy=True)
    if not np.isfinite(values).all() or (values < 0).any():
        raise DataSourceError("demand_matrix.csv holds missing or negative volumes; the file is corrupt")
    np.fill_diagonal(values, 0.0)
    if combine_directions:
        values = np.triu(values + values.T, k=1)
    origin, destination = np.nonzero(values > 0)
    names = nodes["Name"].astype(str).to_numpy()
    return pd.DataFrame(
        {
            "origin": origin + 1,
            "destination": destination + 1,
            "origin_name": names[origin],
            "destination_name": names[destination],
            "vehicles": values[origin, destination],
        }
    )


def load_graph(source: Path | str) -> nx.MultiDiGraph:
    """Load a road graph from a GraphML file, an OSM XML file or an expressway folder."""
    path = Path(source)
    if path.is_dir():
        if not (path / Path(load_sources()["expressway_nodes"].file).name).is_file():
            raise ValidationError(f"{path} is a folder but not an expressway folder (no "
                                  f"{Path(load_sources()['expressway_nodes'].file).name}); give a .graphml file, an "
                                  ".osm/.xml file or a folder in the format of expressway_2011")
        return graph_from_expressway(path)
    suffix = path.suffix.lower()
    if suffix == ".graphml":
        return load_graphml(path)
    if suffix in (".osm", ".xml"):
        return graph_from_osm_xml(path)
    if not path.exists():
        raise DataSourceError(f"graph source {path} does not exist")
    raise ValidationError(
        f"cannot tell the graph format of {path}: use a .graphml file, an .osm/.xml file "
        "or a folder in the format of expressway_2011"
    )


# --------------------------------------------------------------------------- operations


def largest_component(G: nx.MultiDiGraph, *, strongly: bool = True) -> nx.MultiDiGraph:
    """Return the largest strongly (or weakly) connected component as a new graph."""
    if G.number_of_nodes() == 0:
        raise NetworkError("the graph has no nodes")
    components = nx.strongly_connected_components(G) if strongly else nx.weakly_connected_components(G)
    biggest = max(components, key=len)
    return G.subgraph(biggest).copy()


def project_graph(G: nx.MultiDiGraph, *, to_crs: str = CRS_METRIC) -> nx.MultiDiGraph:
    """Project a graph (nodes and edge geometries) to ``to_crs`` (default EPSG:5179)."""
    import osmnx as ox

    if "crs" not in G.graph:
        raise NetworkError("the graph has no 'crs' in G.graph; set G.graph['crs'] = 'EPSG:4326' for lon/lat nodes")
    return ox.projection.project_graph(G, to_crs=to_crs)


def _node_coordinates_metric(G: nx.MultiDiGraph) -> tuple[np.ndarray, np.ndarray]:
    if "crs" not in G.graph:
        raise NetworkError("the graph has no 'crs' in G.graph; cannot place its nodes")
    if G.number_of_nodes() == 0:
        raise NetworkError("the graph has no nodes; load a road network that covers the points "
                           "(network.load_graph, graph_from_expressway)")
    ids = np.fromiter(G.nodes, dtype=object, count=G.number_of_nodes())
    try:
        xy = np.array([(G.nodes[n]["x"], G.nodes[n]["y"]) for n in ids], dtype="float64")
    except KeyError as exc:
        raise NetworkError(f"node {exc} has no x/y coordinates") from exc
    transformer = Transformer.from_crs(G.graph["crs"], CRS_METRIC, always_xy=True)
    x, y = transformer.transform(xy[:, 0], xy[:, 1])
    return ids, np.column_stack([x, y])


def _points_metric(points: Any, *, crs: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Return (ids, Nx2 metric coordinates) for a GeoDataFrame, a lon/lat DataFrame or an array."""
    import geopandas as gpd

    if isinstance(points, gpd.GeoDataFrame | gpd.GeoSeries):
        if points.crs is None:
            raise ValidationError("the points have no CRS; set it with .set_crs('EPSG:4326') (lon/lat) or the right EPSG")
        geometry = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
        if geometry.is_empty.any() or geometry.isna().any():
            bad = list(points.index[geometry.is_empty | geometry.isna()][:10])
            raise ValidationError(f"points {bad} have empty or missing geometry; drop or fix them")
        if not (geometry.geom_type == "Point").all():
            raise ValidationError("snap_points needs Point geometries; use .centroid or representative_point() first")
        metric = geometry.to_crs(CRS_METRIC)
        return points.index.to_numpy(), np.column_stack([metric.x.to_numpy(), metric.y.to_numpy()])
    if isinstance(points, pd.DataFrame):
        missing = [c for c in ("lon", "lat") if c not in points.columns]
        if missing:
            raise ValidationError(f"the points table needs 'lon' and 'lat' columns (EPSG:4326); missing {missing}")
        coordinates = points[["lon", "lat"]].to_numpy(dtype="float64")
        ids = points.index.to_numpy()
        source_crs = crs or CRS_LONLAT
    else:
        coordinates = np.asarray(points, dtype="float64")
        if coordinates.ndim != 2 or coordinates.shape[1] != 2:
            raise ValidationError(f"points must be an (n, 2) array of x, y; got shape {coordinates.shape}")
        ids = np.arange(len(coordinates))
        source_crs = crs or CRS_LONLAT
    if not np.isfinite(coordinates).all():
        raise ValidationError("some point coordinates are missing or not finite")
    if source_crs == CRS_LONLAT and (np.abs(coordinates[:, 1]) > 90).any():
        raise ValidationError("point latitudes exceed 90 degrees: are the coordinates projected? pass crs=...")
    transformer = Transformer.from_crs(source_crs, CRS_METRIC, always_xy=True)
    x, y = transformer.transform(coordinates[:, 0], coordinates[:, 1])
    return ids, np.column_stack([x, y])


def snap_points(
    G: nx.MultiDiGraph,
    points: Any,
    *,
    crs: str | None = None,
    max_snap_distance_m: float = 500.0,
) -> pd.DataFrame:
    """Snap points to their nearest graph nodes, returning the snap distance.

    Parameters
    ----------
    G
        Road graph with ``x``/``y`` node coordinates and ``G.graph["crs"]``.
    points
        A GeoDataFrame of points (any CRS), a DataFrame with ``lon``/``lat``
        columns, or an (n, 2) array of x, y in ``crs`` (default EPSG:4326).
    crs
        CRS of a DataFrame or array input.
    max_snap_distance_m
        Points farther than this from every node raise a :class:`SnapWarning`
        naming them and their distances.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``points``: ``node`` (graph node id) and ``snap_distance_m``
        (straight-line metres in EPSG:5179).
    """
    if not max_snap_distance_m > 0:
        raise ValidationError(f"max_snap_distance_m must be > 0 m, got {max_snap_distance_m}")
    node_ids, node_xy = _node_coordinates_metric(G)
    if len(node_ids) == 0:
        raise NetworkError("the graph has no nodes to snap to")
    ids, xy = _points_metric(points, crs=crs)
    distance, position = cKDTree(node_xy).query(xy, k=1)
    result = pd.DataFrame({"node": node_ids[position], "snap_distance_m": distance}, index=ids)
    far = result[result["snap_distance_m"] > max_snap_distance_m]
    if len(far):
        listed = ", ".join(f"{i}: {d:,.0f} m" for i, d in far["snap_distance_m"].head(10).items())
        warnings.warn(
            f"{len(far)} point(s) lie more than {max_snap_distance_m:,.0f} m from the network "
            f"({listed}{', ...' if len(far) > 10 else ''}); check their coordinates and CRS or use a larger graph",
            SnapWarning,
            stacklevel=2,
        )
    return result


def graph_summary(G: nx.MultiDiGraph) -> dict[str, Any]:
    """Return nodes, edges, edge length (km), strongly connected components and bounding box.

    Returns
    -------
    dict
        ``nodes``, ``edges``, ``edge_km``, ``strong_components``,
        ``largest_component_nodes``, ``bbox`` (west, south, east, north in EPSG:4326),
        ``crs``, ``has_travel_time``.
    """
    components = [len(c) for c in nx.strongly_connected_components(G)]
    lengths = [float(d.get("length", 0.0)) for _, _, d in G.edges(data=True)]
    bbox: tuple[float, ...] = ()
    if G.number_of_nodes():
        xy = np.array([(d["x"], d["y"]) for _, d in G.nodes(data=True)], dtype="float64")
        transformer = Transformer.from_crs(G.graph.get("crs", CRS_LONLAT), CRS_LONLAT, always_xy=True)
        lon, lat = transformer.transform(xy[:, 0], xy[:, 1])
        bbox = (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
    return {
        "nodes": G.number_of_nodes(),
        "edges": G.number_of_edges(),
        "edge_km": sum(lengths) / 1000.0,
        "strong_components": len(components),
        "largest_component_nodes": max(components, default=0),
        "bbox": bbox,
        "crs": str(G.graph.get("crs")),
        "has_travel_time": all("travel_time" in d for _, _, d in G.edges(data=True)),
    }
