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
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ._errors import ValidationError

__all__ = ["LegendEntry", "color_bins", "legend_html", "choropleth_layer", "points_layer", "lines_layer",
           "polygons_layer", "deck", "graph_segments", "view_for", "with_tips", "tooltip_problems",
           "node_street_names",
           "OSM_ATTRIBUTION", "PALETTES", "CATEGORY_COLORS", "TOOLTIP_HTML", "TOOLTIP_FIELDS"]

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


def legend_html(title: str, entries: Sequence[LegendEntry], *, note: str = "") -> str:
    """A small HTML legend (title, swatches, labels, optional note such as the attribution)."""
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
    return (f'<div class="mp-legend" role="figure" aria-label="legend" style="font-size:0.85em;line-height:1.2">'
            f'<b>Legend — {html.escape(title)}</b>{"".join(rows)}{foot}</div>')


def _records(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
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
