"""Interactive map building blocks (pydeck specs, colour scales, legends) for the app and notebooks.

Everything here is pure data: colours as RGBA lists, legends as small HTML tables, and
pydeck ``Deck`` objects with no basemap (no map tiles are needed), so maps render offline.
The app only places them on a page.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import ValidationError

__all__ = ["LegendEntry", "color_bins", "legend_html", "choropleth_layer", "points_layer", "lines_layer",
           "polygons_layer", "deck", "graph_segments", "view_for", "with_tips", "tooltip_problems",
           "node_street_names", "base_geography", "BaseGeography", "bounds_of", "scale_bar", "scale_bar_html",
           "BASE_COLORS", "OSM_ATTRIBUTION", "PALETTES", "CATEGORY_COLORS", "TOOLTIP_HTML", "TOOLTIP_FIELDS"]

OSM_ATTRIBUTION = "© OpenStreetMap contributors"

#: The tooltip of every map: a bold title and plain-text lines. Streamlit escapes the values it
#: substitutes into a tooltip, so markup lives only in this template and the fields hold plain text
#: (lines separated by newlines, shown by the ``white-space: pre-line`` style of :func:`deck`).
TOOLTIP_HTML = "<b>{tip_title}</b><br/>{tip_body}"
#: The fields every pickable layer carries for :data:`TOOLTIP_HTML` (see :func:`with_tips`).
TOOLTIP_FIELDS = ("tip_title", "tip_body")
_FIELD = re.compile(r"{([^{}]+)}")
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")

#: Sequential palettes (light to dark), 5 classes each (ColorBrewer YlOrRd, Blues, Greens, Purples).
PALETTES: dict[str, list[list[int]]] = {
    "YlOrRd": [[255, 255, 178], [254, 204, 92], [253, 141, 60], [240, 59, 32], [189, 0, 38]],
    "Blues": [[239, 243, 255], [189, 215, 231], [107, 174, 214], [49, 130, 189], [8, 81, 156]],
    "Greens": [[237, 248, 233], [186, 228, 179], [116, 196, 118], [49, 163, 84], [0, 109, 44]],
    "Purples": [[242, 240, 247], [203, 201, 226], [158, 154, 200], [117, 107, 177], [84, 39, 143]],
}

#: Colours of categories shared by every map (kind / status / year).
CATEGORY_COLORS: dict[str, list[int]] = {
    "existing": [31, 119, 180, 220], "new": [214, 39, 40, 230], "demand": [44, 160, 44, 170],
    "coverage": [44, 160, 44, 60], "network": [150, 150, 150, 200], "refuelled": [44, 160, 44, 140],
    "not refuelled": [214, 39, 40, 90], "candidate": [120, 120, 120, 160],
}


@dataclass(frozen=True)
class LegendEntry:
    """One legend row: a colour (RGB or RGBA), a label, and a shape (``box``, ``circle``, ``line``)."""

    color: Sequence[int]
    label: str
    shape: str = "box"


def color_bins(values: Sequence[float] | np.ndarray, *, palette: str = "YlOrRd", classes: int = 5,
               unit: str = "", alpha: int = 200, label_format: str | None = None, integer: bool = False
               ) -> tuple[list[list[int]], list[LegendEntry]]:
    """Quantile classes of ``values``: a colour per value and the legend of the classes.

    Missing values get grey and their own legend row. ``label_format`` (e.g. ``"{:.0f}"``
    for years) overrides the default number format of the class labels. With ``integer=True``
    (counts: vehicles, stations, chargers; years) the values are rounded to whole numbers and
    the classes are integer ranges that do not overlap (``"0 – 4"``, ``"5 – 12"``, or ``"3"``
    for a class of one value).

    Returns
    -------
    colors, legend
        ``len(values)`` RGBA lists, and one :class:`LegendEntry` per class (``"12 – 40 unit"``).
    """
    if palette not in PALETTES:
        raise ValidationError(f"unknown palette {palette!r}; use one of {sorted(PALETTES)}")
    data = np.asarray(values, dtype=float)
    if integer:
        data = np.round(data)
    colours = PALETTES[palette][-classes:]
    finite = data[np.isfinite(data)]
    grey = [200, 200, 200, alpha]
    if finite.size == 0:
        return [grey] * len(data), [LegendEntry(grey, "no data")]
    edges = np.unique(np.quantile(finite, np.linspace(0, 1, classes + 1)))
    if integer:
        edges = np.unique(np.round(edges))
    if edges.size < 2:
        edges = np.array([finite.min(), finite.max() + 1e-9])
    index = np.clip(np.searchsorted(edges, data, side="right") - 1, 0, edges.size - 2)
    palette_index = np.linspace(0, len(colours) - 1, edges.size - 1).round().astype(int)
    out = [list(colours[palette_index[i]]) + [alpha] if np.isfinite(v) else grey for i, v in zip(index, data)]
    suffix = f" {unit}" if unit else ""
    fmt = label_format.format if label_format else _fmt
    if integer:
        labels = [_integer_range(edges[k], edges[k + 1] - (0 if k == edges.size - 2 else 1), fmt)
                  for k in range(edges.size - 1)]
    else:
        labels = [f"{fmt(edges[k])} – {fmt(edges[k + 1])}" for k in range(edges.size - 1)]
    legend = [LegendEntry(list(colours[palette_index[k]]) + [alpha], f"{labels[k]}{suffix}")
              for k in range(edges.size - 1)]
    if not np.isfinite(data).all():
        legend.append(LegendEntry(grey, "no data"))
    return out, legend


def _integer_range(low: float, high: float, fmt: Any) -> str:
    """``"low – high"`` of a class of whole numbers (``"low"`` alone when it holds one value)."""
    low, high = int(round(low)), int(round(max(high, low)))
    return fmt(low) if low == high else f"{fmt(low)} – {fmt(high)}"


def _fmt(value: float) -> str:
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.1f}"


def legend_html(title: str, entries: Sequence[LegendEntry], *, note: str = "", view: Any = None) -> str:
    """A small HTML legend (title, swatches, labels, optional note such as the attribution).

    With the map's ``view`` (a pydeck ``ViewState``) a scale bar valid at the opening zoom is added.
    """
    rows = []
    for entry in entries:
        rgba = list(entry.color) + ([255] if len(entry.color) == 3 else [])
        css = f"rgba({rgba[0]},{rgba[1]},{rgba[2]},{max(rgba[3], 90) / 255:.2f})"
        if entry.shape == "circle":
            swatch = f"width:12px;height:12px;border-radius:50%;background:{css};border:1px solid #555"
        elif entry.shape == "line":
            swatch = f"width:18px;height:0;border-top:3px solid {css};margin-top:6px"
        else:
            swatch = f"width:18px;height:12px;background:{css};border:1px solid #777"
        rows.append(f'<div style="display:flex;gap:6px;align-items:center;margin:2px 0">'
                    f'<span style="display:inline-block;{swatch}"></span>'
                    f'<span>{html.escape(entry.label)}</span></div>')
    foot = f'<div style="color:#666;font-size:0.8em;margin-top:4px">{html.escape(note)}</div>' if note else ""
    if view is not None:
        foot = scale_bar_html(view) + foot
    return (f'<div class="mp-legend" role="figure" aria-label="legend" style="font-size:0.85em;line-height:1.2">'
            f'<b>Legend — {html.escape(title)}</b>{"".join(rows)}{foot}</div>')


def _records(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValidationError(f"map layer: the frame lacks the column(s) {missing} (it has {list(frame.columns)}); "
                              "points need lon and lat, lines lon0, lat0, lon1, lat1 (degrees, EPSG:4326)")
    out = frame[list(columns)].copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].round(3)
    return out.replace({np.nan: None}).to_dict("records")


def choropleth_layer(frame: gpd.GeoDataFrame, colors: list[list[int]], *, columns: Sequence[str],
                     layer_id: str = "regions") -> Any:
    """A pydeck ``GeoJsonLayer`` of polygons filled with ``colors`` (one per row), outlined in grey."""
    import pydeck as pdk

    if frame.crs is None:
        raise ValidationError("the regions have no CRS; set it before mapping")
    data = frame.to_crs("EPSG:4326")
    features = []
    for geometry, props, color in zip(data.geometry, _records(data, columns), colors, strict=True):
        if geometry is None or geometry.is_empty:
            continue
        features.append({"type": "Feature", "geometry": geometry.__geo_interface__,
                         "properties": {**props, "fill": color}})
    return pdk.Layer("GeoJsonLayer", {"type": "FeatureCollection", "features": features}, id=layer_id,
                     pickable=bool(columns), stroked=True, filled=True, get_fill_color="properties.fill",
                     get_line_color=[90, 90, 90, 160], line_width_min_pixels=0.5)


def polygons_layer(frame: gpd.GeoDataFrame, color: Sequence[int], *, columns: Sequence[str] = (),
                   layer_id: str = "areas") -> Any:
    """A pydeck ``GeoJsonLayer`` of polygons in one colour (e.g. service areas)."""
    return choropleth_layer(frame, [list(color)] * len(frame), columns=columns, layer_id=layer_id)


def points_layer(frame: pd.DataFrame, *, color: Sequence[int] | str, radius_m: float | str = 80.0,
                 columns: Sequence[str] = (), layer_id: str = "points", min_pixels: float = 3.0) -> Any:
    """A pydeck ``ScatterplotLayer``; ``frame`` needs ``lon`` and ``lat`` columns.

    ``color`` and ``radius_m`` may name a column (per-point RGBA list / radius in metres). The
    points answer the mouse (show a tooltip) only when ``columns`` names their tooltip fields.
    """
    import pydeck as pdk

    keep = ["lon", "lat", *columns]
    if isinstance(color, str):
        keep.append(color)
    if isinstance(radius_m, str):
        keep.append(radius_m)
    data = _records(pd.DataFrame(frame), list(dict.fromkeys(keep)))
    return pdk.Layer("ScatterplotLayer", data, id=layer_id, pickable=bool(columns), get_position=["lon", "lat"],
                     get_fill_color=color if isinstance(color, str) else list(color),
                     get_radius=radius_m if isinstance(radius_m, str) else float(radius_m),
                     radius_min_pixels=min_pixels, stroked=True, get_line_color=[40, 40, 40, 200],
                     line_width_min_pixels=0.5)


def lines_layer(frame: pd.DataFrame, *, color: Sequence[int] | str, width_px: float = 1.5,
                columns: Sequence[str] = (), layer_id: str = "lines") -> Any:
    """A pydeck ``LineLayer``; ``frame`` needs ``lon0, lat0, lon1, lat1``."""
    import pydeck as pdk

    keep = ["lon0", "lat0", "lon1", "lat1", *columns] + ([color] if isinstance(color, str) else [])
    data = _records(pd.DataFrame(frame), list(dict.fromkeys(keep)))
    return pdk.Layer("LineLayer", data, id=layer_id, pickable=bool(columns), get_source_position=["lon0", "lat0"],
                     get_target_position=["lon1", "lat1"],
                     get_color=color if isinstance(color, str) else list(color), get_width=width_px)


def view_for(lon: Sequence[float] | np.ndarray, lat: Sequence[float] | np.ndarray, *, pitch: float = 0.0) -> Any:
    """A pydeck ``ViewState`` framing the given coordinates."""
    import pydeck as pdk

    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    if lon.size == 0:
        return pdk.ViewState(longitude=127.8, latitude=36.3, zoom=6)
    span = max(float(np.ptp(lon)), float(np.ptp(lat)) * 1.3, 1e-3)
    # deck.gl web mercator: 512 * 2**zoom pixels span 360 degrees; fit the span into about 460 pixels
    zoom = float(np.clip(np.log2(460.0 * 360.0 / 512.0 / span), 4, 16))
    return pdk.ViewState(longitude=float(lon.mean()), latitude=float(lat.mean()), zoom=zoom, pitch=pitch)


def with_tips(frame: pd.DataFrame, titles: Sequence[str], lines: Sequence[Sequence[str]]) -> pd.DataFrame:
    """``frame`` with the tooltip fields of :data:`TOOLTIP_HTML`: a title and plain-text lines per row."""
    if len(titles) != len(frame) or len(lines) != len(frame):
        raise ValidationError(f"with_tips: {len(frame)} rows but {len(titles)} titles and {len(lines)} line lists; "
                              "give one of each per row")
    return frame.assign(tip_title=[str(t) for t in titles], tip_body=["\n".join(map(str, row)) for row in lines])


def _layer_records(layer: Any) -> list[dict[str, Any]]:
    """The objects a layer hands to the tooltip (GeoJSON features are read through ``properties``)."""
    data = getattr(layer, "data", None)
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        return [{**feature, **(feature.get("properties") or {})} for feature in data["features"]]
    if isinstance(data, pd.DataFrame):
        return data.to_dict("records")
    return list(data) if isinstance(data, list) else []


def tooltip_problems(layers: Sequence[Any], tooltip: str | None) -> list[str]:
    """What would show wrong in the tooltip of a map with these ``layers`` (empty when none).

    A pickable layer must carry every ``{field}`` the template names (else the browser shows
    the literal ``{field}``), and no value may hold HTML tags (Streamlit escapes substituted
    values, so ``<b>`` would show as text).
    """
    fields = _FIELD.findall(tooltip or "")
    problems = []
    for layer in layers:
        if not getattr(layer, "pickable", False):
            continue
        layer_id = getattr(layer, "id", "?")
        if not fields:
            problems.append(f"layer {layer_id!r} is pickable but the map has no tooltip; make it non-pickable")
            continue
        records = _layer_records(layer)
        missing = sorted({f for record in records for f in fields if f not in record})
        if missing:  # an empty layer has nothing to hover
            problems.append(f"layer {layer_id!r} lacks the tooltip field(s) {missing}; add them "
                            "(see with_tips) or make the layer non-pickable")
        tagged = sorted({f for record in records for f in fields if _TAG.search(str(record.get(f, "")))})
        if tagged:
            problems.append(f"layer {layer_id!r}: the tooltip field(s) {tagged} hold HTML tags, which Streamlit "
                            "shows as text; put plain text in the fields and markup in the template")
    return problems


def deck(layers: Sequence[Any], view: Any, *, tooltip: str | None = TOOLTIP_HTML) -> Any:
    """A pydeck ``Deck`` without a basemap (renders offline), with an HTML tooltip template.

    The template (default :data:`TOOLTIP_HTML`) holds the markup; the layers' fields hold plain
    text, newlines become line breaks. Raises :class:`ValidationError` when a pickable layer
    lacks a field of the template or puts markup in one (see :func:`tooltip_problems`).
    """
    import pydeck as pdk

    problems = tooltip_problems(layers, tooltip)
    if problems:
        raise ValidationError("map tooltip: " + "; ".join(problems))
    tip = ({"html": tooltip, "style": {"fontSize": "12px", "whiteSpace": "pre-line", "maxWidth": "320px"}}
           if tooltip else None)
    return pdk.Deck(layers=list(layers), initial_view_state=view, map_style=None, map_provider=None, tooltip=tip)


def node_street_names(G: Any, nodes: Sequence[Any]) -> list[str]:
    """A readable place for each graph node: the street names of its edges (``"율곡로 / 창경궁로"``).

    OSM edges carry ``name`` as a string or a list; a node with no named edge gets
    ``"unnamed road (node <id>)"``.
    """
    out = []
    for node in nodes:
        names: list[str] = []
        if node not in G:
            out.append(f"node {node}")
            continue
        edges = list(G.edges(node, data=True)) + (list(G.in_edges(node, data=True)) if G.is_directed() else [])
        for _, _, attributes in edges:
            name = attributes.get("name")
            for item in name if isinstance(name, list) else [name]:
                if isinstance(item, str) and item and item not in names:
                    names.append(item)
        out.append(" / ".join(names[:2]) if names else f"unnamed road (node {node})")
    return out


def graph_segments(G: Any) -> pd.DataFrame:
    """Straight node-to-node segments of a road graph, one per node pair.

    Columns ``lon0, lat0, lon1, lat1`` and the end nodes ``node0, node1`` (to name a segment
    by its interchanges or streets in a tooltip).
    """
    x = {n: d["x"] for n, d in G.nodes(data=True)}
    y = {n: d["y"] for n, d in G.nodes(data=True)}
    pairs = {(u, v) if str(u) <= str(v) else (v, u) for u, v in G.edges()}
    rows = [(x[u], y[u], x[v], y[v], u, v) for u, v in sorted(pairs, key=str)]
    return pd.DataFrame(rows, columns=["lon0", "lat0", "lon1", "lat1", "node0", "node1"])


# --------------------------------------------------------------------------------------------------
# Base geography drawn from the census boundaries (no tiles, so it renders offline)

#: Colours of the base geography: land, province / district outlines, census-area outlines, labels.
BASE_COLORS: dict[str, list[int]] = {
    "land": [246, 243, 236, 255], "province": [110, 110, 110, 220], "district": [130, 130, 130, 200],
    "area": [175, 175, 175, 150], "label": [60, 60, 60, 255],
}
#: Simplification tolerance (m, in EPSG:5179) by level: a national outline needs no 10 m detail.
_BASE_TOLERANCE_M = {"sido": 1000.0, "sigungu": 150.0, "adm3": 40.0}
#: Round numbers of metres a scale bar may show.
_SCALE_STEPS_M = (50, 100, 200, 250, 500, 1_000, 2_000, 2_500, 5_000, 10_000, 20_000, 25_000, 50_000, 100_000,
                  200_000, 250_000, 500_000)
_WORLD_M = 40_075_016.686  # equator length of the web-mercator sphere deck.gl draws on


@dataclass(frozen=True)
class BaseGeography:
    """The base layers of a map (drawn under the data) and their legend rows.

    ``layers`` go first in a deck's layer list; ``legend`` rows go last in its legend.
    ``areas`` holds the polygons drawn (EPSG:4326, with ``name_ko``, ``level``) for tests and
    exports.
    """

    layers: tuple[Any, ...]
    legend: tuple[LegendEntry, ...]
    areas: gpd.GeoDataFrame


@lru_cache(maxsize=4)
def _level_frame(level: str, tolerance_m: float) -> gpd.GeoDataFrame:
    """The boundaries of one census level, simplified and in EPSG:4326 (cached; callers copy)."""
    from . import census

    frame = census.load_census_level(level)
    names = {"sido": ("sido_name_ko", "sido_name_en"), "sigungu": ("sigungu_name_ko", "sido_name_en"),
             "adm3": ("adm3_name_ko", "sigungu_name_ko")}[level]
    out = gpd.GeoDataFrame({"name_ko": frame[names[0]].astype(str), "context": frame[names[1]].astype(str),
                            "level": level}, geometry=frame.geometry.simplify(tolerance_m), crs=frame.crs)
    # no snapping of coordinates to a grid: repeated vertices give deck.gl's line joins zero-length
    # segments, which it draws as spikes across the map
    return out[~out.geometry.is_empty & out.geometry.notna()].to_crs("EPSG:4326")


def _check_bounds(bounds: Any) -> tuple[float, float, float, float]:
    """``bounds`` as four finite floats (west, south, east, north) with west < east, south < north, |lat| <= 90."""
    try:
        west, south, east, north = (float(value) for value in bounds)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"map bounds {bounds!r} must be four numbers (west, south, east, north) in degrees"
                              ) from exc
    if not np.isfinite([west, south, east, north]).all():
        raise ValidationError(f"map bounds {bounds!r} must be finite numbers (west, south, east, north) in degrees")
    if not (-90.0 <= south <= 90.0 and -90.0 <= north <= 90.0):
        raise ValidationError(f"map bounds {bounds!r}: south and north are latitudes within -90..90; the order is "
                              "(west, south, east, north), longitude first (were latitude and longitude swapped?)")
    if not (west < east and south < north):
        raise ValidationError(f"map bounds {bounds!r} are not (west, south, east, north) in degrees with west < east "
                              "and south < north")
    return west, south, east, north


def _in_bounds(frame: gpd.GeoDataFrame, bounds: tuple[float, float, float, float] | None) -> gpd.GeoDataFrame:
    if bounds is None:
        return frame.copy()
    return frame[frame.intersects(shapely.box(*bounds))]


def base_geography(bounds: tuple[float, float, float, float] | None = None, *, levels: Sequence[str] = ("sido",),
                   labels: str | None = None, fill_land: bool = True) -> BaseGeography:
    """Census boundaries as the base of a map: land, outlines and Korean names, offline.

    Parameters
    ----------
    bounds
        ``(west, south, east, north)`` in degrees; only the areas meeting this box are drawn
        (``None``: the whole country).
    levels
        Boundary levels to outline, coarsest first: ``"sido"`` (17 provinces: the coastline and
        province borders), ``"sigungu"`` (districts, gu), ``"adm3"`` (census areas, dong).
    labels
        Level whose Korean names are written on the map at each area's representative point
        (``None``: no labels). Hovering an area shows its name and the area it lies in.
    fill_land
        Fill the first level's polygons in a light land colour (so the coast shows against the sea).

    Returns
    -------
    BaseGeography
        Layers to draw under the data, and their legend rows.
    """
    import pydeck as pdk

    if bounds is not None:
        bounds = _check_bounds(bounds)
    unknown = [level for level in levels if level not in _BASE_TOLERANCE_M]
    if unknown or not levels:
        raise ValidationError(f"base geography levels {list(levels)}: use one or more of {list(_BASE_TOLERANCE_M)}")
    if labels is not None and labels not in levels:
        raise ValidationError(f"labels={labels!r} is not among the levels drawn {list(levels)}")
    widths = {"sido": 1.2, "sigungu": 1.0, "adm3": 0.5}
    colors = {"sido": BASE_COLORS["province"], "sigungu": BASE_COLORS["district"], "adm3": BASE_COLORS["area"]}
    words = {"sido": "province (sido) boundary and coastline", "sigungu": "district (si/gun/gu) boundary",
             "adm3": "census area (eup/myeon/dong) boundary"}
    layers, legend, drawn = [], [], []
    for position, level in enumerate(levels):
        frame = _in_bounds(_level_frame(level, _BASE_TOLERANCE_M[level]), bounds)
        if frame.empty:
            continue
        drawn.append(frame)
        fill = fill_land and position == 0
        pickable = level == (labels or levels[-1])
        features = [{"type": "Feature", "geometry": geometry.__geo_interface__,
                     "properties": {"tip_title": name, "tip_body": f"{words[level].split(' (')[0]} in {context}"
                                    if level != "sido" else f"{context} (province)"}}
                    for geometry, name, context in zip(frame.geometry, frame["name_ko"], frame["context"])]
        layers.append(pdk.Layer("GeoJsonLayer", {"type": "FeatureCollection", "features": features},
                                id=f"base_{level}", pickable=pickable, stroked=True, filled=fill or pickable,
                                get_fill_color=BASE_COLORS["land"] if fill else [0, 0, 0, 0],
                                get_line_color=colors[level], line_width_min_pixels=widths[level]))
        legend.append(LegendEntry(colors[level], words[level], "line"))
        if level == labels:
            points = frame.geometry.representative_point()
            text = pd.DataFrame({"lon": points.x.round(5), "lat": points.y.round(5), "name": frame["name_ko"]})
            layers.append(pdk.Layer("TextLayer", text.to_dict("records"), id=f"base_{level}_labels",
                                    pickable=False, get_position=["lon", "lat"], get_text="name", get_size=12,
                                    get_color=BASE_COLORS["label"], character_set=sorted(
                                        set("".join(text["name"]))),
                                    font_family="'Noto Sans CJK KR', 'Noto Sans KR', sans-serif"))
    if fill_land and drawn:
        legend.insert(0, LegendEntry(BASE_COLORS["land"], "land (census boundaries, Statistics Korea)", "box"))
    areas = (pd.concat(drawn, ignore_index=True) if drawn else
             gpd.GeoDataFrame({"name_ko": [], "context": [], "level": []}, geometry=[], crs="EPSG:4326"))
    return BaseGeography(tuple(layers), tuple(legend), gpd.GeoDataFrame(areas, crs="EPSG:4326"))


def bounds_of(lon: Sequence[float] | np.ndarray, lat: Sequence[float] | np.ndarray, *,
              margin: float = 0.15) -> tuple[float, float, float, float]:
    """``(west, south, east, north)`` of the points, widened by ``margin`` of their span on each side."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    keep = np.isfinite(lon) & np.isfinite(lat)
    if not keep.any():
        raise ValidationError("no finite coordinates to frame a map on")
    lon, lat = lon[keep], lat[keep]
    dx, dy = max(float(np.ptp(lon)), 0.01) * margin, max(float(np.ptp(lat)), 0.01) * margin
    return float(lon.min() - dx), float(lat.min() - dy), float(lon.max() + dx), float(lat.max() + dy)


def scale_bar(view: Any, *, max_px: float = 120.0) -> tuple[float, float]:
    """A round distance and its length in pixels at a view's opening zoom and latitude.

    deck.gl draws the world 512 * 2**zoom pixels wide, so one pixel spans
    ``40,075 km * cos(latitude) / (512 * 2**zoom)``. Returns ``(metres, pixels)`` with the longest
    round distance of at most ``max_px`` pixels.
    """
    metres_per_px = _WORLD_M * np.cos(np.radians(float(view.latitude))) / (512.0 * 2.0 ** float(view.zoom))
    fitting = [m for m in _SCALE_STEPS_M if m / metres_per_px <= max_px] or [_SCALE_STEPS_M[0]]
    metres = float(fitting[-1])
    return metres, metres / metres_per_px


def scale_bar_html(view: Any) -> str:
    """An HTML scale bar for the legend, valid at the map's opening zoom (it says so)."""
    metres, pixels = scale_bar(view)
    label = f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"
    return (f'<div class="mp-scale" style="margin-top:6px;font-size:0.8em">'
            f'<div style="width:{pixels:.0f}px;height:5px;border:1px solid #333;border-top:none"></div>'
            f'{html.escape(label)} <span style="color:#666">(at the opening zoom)</span></div>')
