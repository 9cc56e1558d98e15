"""GeoJSON export (RFC 7946): WGS84 lon/lat, right-hand polygons, deterministic bytes, atomic writes."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import mapping

from ._errors import DataSourceError, ValidationError
from ._io import write_bytes_atomic

__all__ = ["to_geojson", "geojson_bytes", "read_geojson", "json_ready", "dumps_strict"]

#: Decimal places kept in coordinates (1e-6 degrees is about 0.1 m).
COORDINATE_DECIMALS = 6


def _plain(value: Any) -> Any:
    """JSON-ready scalar: numpy types to Python, NaN / inf / NA to null, dates to ISO text."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if not math.isfinite(value) else value
    if isinstance(value, (str, bool, int)):
        return value
    try:
        import pandas as pd

        if value is pd.NA or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)):
            return None
        if isinstance(value, pd.Timestamp):
            return value.isoformat()
    except (TypeError, ValueError):
        pass
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def json_ready(value: Any) -> Any:
    """``value`` with every NaN / inf / NA turned into ``None`` and numpy scalars into Python ones, recursively.

    Use it (or :func:`dumps_strict`) for every JSON the tool writes or prints: JSON has no
    ``Infinity`` or ``NaN``. The producer of a value that may be missing states why next to
    it (e.g. ``"gap": null, "gap_note": "no bound proven"``).
    """
    if isinstance(value, Mapping):
        return {str(k) if not isinstance(k, str) else k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_ready(v) for v in value.tolist()]
    return _plain(value)


def dumps_strict(value: Any, **options: Any) -> str:
    """``json.dumps`` of :func:`json_ready(value) <json_ready>` that refuses NaN / inf (strict RFC 8259 JSON)."""
    options.setdefault("ensure_ascii", False)
    return json.dumps(json_ready(value), allow_nan=False, **options)


def _round(coordinates: Any) -> Any:
    if isinstance(coordinates, (list, tuple)) and coordinates and isinstance(coordinates[0], (int, float)):
        return [round(float(c), COORDINATE_DECIMALS) for c in coordinates]
    return [_round(c) for c in coordinates]


def geojson_bytes(frame: gpd.GeoDataFrame, *, sort_by: list[str] | None = None) -> bytes:
    """Serialise a GeoDataFrame as an RFC 7946 FeatureCollection (deterministic bytes).

    Geometries are reprojected to EPSG:4326, polygon rings oriented by the right-hand
    rule (exterior counter-clockwise), coordinates rounded to 6 decimals; features are
    sorted by ``sort_by`` (default: as given) and keys sorted, so the same frame always
    gives the same bytes.

    Raises
    ------
    ValidationError
        If the frame has no CRS, or holds empty or invalid geometries.
    """
    if not isinstance(frame, gpd.GeoDataFrame):
        raise ValidationError(f"expected a GeoDataFrame, got {type(frame).__name__}")
    if frame.crs is None:
        raise ValidationError("the GeoDataFrame has no CRS; set it with .set_crs(...) before exporting")
    geometry = frame.geometry
    bad = frame.index[geometry.isna() | geometry.is_empty].tolist()
    if bad:
        raise ValidationError(f"features {bad[:10]} have empty or missing geometry; drop or fix them before export")
    invalid = frame.index[~geometry.is_valid].tolist()
    if invalid:
        raise ValidationError(f"features {invalid[:10]} have invalid geometry; repair with shapely.make_valid")
    data = frame.to_crs("EPSG:4326") if frame.crs.to_epsg() != 4326 else frame
    if sort_by:
        data = data.sort_values(sort_by, kind="mergesort")
    snapped = shapely.set_precision(data.geometry.values, 10.0 ** -COORDINATE_DECIMALS)  # collapsed slivers go
    broken = ~shapely.is_valid(snapped)
    if broken.any():  # reprojection and the 1e-6 degree grid can make thin parts touch: repair them
        snapped[broken] = shapely.make_valid(snapped[broken], method="structure", keep_collapsed=False)
    oriented = shapely.orient_polygons(snapped, exterior_cw=False)
    columns = [c for c in data.columns if c != data.geometry.name]
    features = []
    records = data[columns].to_dict("records") if columns else [{}] * len(data)
    for geom, row in zip(oriented, records, strict=True):
        shape = mapping(geom)
        features.append({
            "type": "Feature",
            "properties": {str(c): _plain(v) for c, v in row.items()},
            "geometry": {"type": shape["type"], "coordinates": _round(shape["coordinates"])},
        })
    collection = {"type": "FeatureCollection", "features": features}
    return (json.dumps(collection, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")


def to_geojson(frame: gpd.GeoDataFrame, path: Path | str, *, sort_by: list[str] | None = None,
               overwrite: bool = True) -> Path:
    """Write ``frame`` as RFC 7946 GeoJSON through a temporary file and a rename.

    Raises
    ------
    ValidationError
        If ``path`` exists and ``overwrite`` is false, is a folder, cannot be written
        (permissions, a read-only disk), or the frame cannot be exported.
    """
    path = Path(path)
    if path.is_dir():
        raise ValidationError(f"{path} is a folder, not a file; give a file name such as {path / 'layer.geojson'} "
                              "(the folder and its files are kept)")
    if path.exists() and not overwrite:
        raise ValidationError(f"{path} exists; pass overwrite=True to replace it")
    payload = geojson_bytes(frame, sort_by=sort_by)
    try:
        return write_bytes_atomic(path, payload)
    except OSError as exc:  # permissions, read-only or full disk, a parent that is a file: nothing was replaced
        raise ValidationError(f"cannot write {path} ({exc.strerror or exc}); choose a folder you may write to "
                              "(an existing file there is kept)") from exc


def read_geojson(path: Path | str) -> gpd.GeoDataFrame:
    """Read a GeoJSON file back with GeoPandas (for checks and round trips).

    Raises
    ------
    DataSourceError
        If ``path`` is missing, a folder, or not a readable GeoJSON file.
    """
    path = Path(path)
    if path.is_dir():
        raise DataSourceError(f"{path} is a folder, not a GeoJSON file; give the .geojson file inside it")
    if not path.is_file():
        raise DataSourceError(f"{path} does not exist; check the path (written by export.to_geojson?)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # noqa: BLE001 - pyogrio's own errors name drivers, not the fix
        raise DataSourceError(f"{path} cannot be read as GeoJSON (damaged, truncated or another format: "
                              f"{type(exc).__name__}); write it again with export.to_geojson, or check that it "
                              "is a complete GeoJSON FeatureCollection") from None
