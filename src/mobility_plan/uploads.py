"""Checks for layers a planner uploads (demand or candidate sites as GeoJSON / GeoPackage).

:func:`read_upload` turns the bytes of an uploaded file into a GeoDataFrame in WGS84 or
raises :class:`ValidationError` with a message that names the problem and the fix: too
large, unknown format, unreadable, no CRS, coordinates outside South Korea (a wrong CRS),
empty or invalid geometry, wrong geometry type, missing or negative weight column.
"""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePath

import geopandas as gpd
import numpy as np

from ._errors import ValidationError

__all__ = ["read_upload", "MAX_UPLOAD_MB", "KOREA_BOUNDS"]

#: Largest upload accepted (MB).
MAX_UPLOAD_MB = 20.0
#: lon_min, lat_min, lon_max, lat_max of South Korea with a margin (WGS84).
KOREA_BOUNDS = (124.0, 33.0, 132.0, 39.0)
_FORMATS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG"}
_TYPES = {"points": {"Point"}, "polygons": {"Polygon", "MultiPolygon"},
          "any": {"Point", "Polygon", "MultiPolygon"}}


def read_upload(content: bytes, filename: str, *, geometry: str = "any", weight_column: str | None = None,
                max_mb: float = MAX_UPLOAD_MB) -> gpd.GeoDataFrame:
    """Read and check an uploaded layer.

    Parameters
    ----------
    content
        The file's bytes.
    filename
        Its name (the extension decides the format: .geojson, .json, .gpkg).
    geometry
        ``points``, ``polygons`` or ``any`` (points or polygons).
    weight_column
        A numeric column that must exist with values >= 0 (e.g. demand weights).
    max_mb
        Size limit in MB.

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:4326, index reset.

    Raises
    ------
    ValidationError
        Naming the problem and how to fix it.
    """
    suffix = PurePath(filename).suffix.lower()
    if suffix not in _FORMATS:
        raise ValidationError(f"{filename}: unsupported file type {suffix or '(none)'}; upload GeoJSON (.geojson) "
                              "or GeoPackage (.gpkg)")
    size_mb = len(content) / 1e6
    if size_mb > max_mb:
        raise ValidationError(f"{filename} is {size_mb:.1f} MB, above the {max_mb:.0f} MB limit; simplify it or keep "
                              "only the features of the study area")
    if not content:
        raise ValidationError(f"{filename} is empty; upload a file with features")
    try:
        with tempfile.TemporaryDirectory(prefix="mobility-plan-upload-") as folder:
            path = Path(folder) / f"upload{suffix}"  # the reader needs the right extension (GPKG)
            path.write_bytes(content)
            frame = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # noqa: BLE001 - any reader failure becomes one clear message
        raise ValidationError(f"{filename} cannot be read as {_FORMATS[suffix]} ({str(exc).splitlines()[0][:200]}); "
                              "check that the file is complete and in that format") from exc
    if len(frame) == 0:
        raise ValidationError(f"{filename} has no features; upload a layer with at least one feature")
    if frame.crs is None:
        raise ValidationError(f"{filename} has no coordinate reference system; save it with one (e.g. EPSG:4326 "
                              "or EPSG:5179)")
    missing = frame.geometry.isna() | frame.geometry.is_empty
    if missing.any():
        raise ValidationError(f"{filename}: features {frame.index[missing].tolist()[:10]} have empty or no geometry; "
                              "remove them")
    types = set(frame.geom_type)
    allowed = _TYPES.get(geometry)
    if allowed is None:
        raise ValidationError(f"geometry must be one of {sorted(_TYPES)}, got {geometry!r}")
    if not types <= allowed:
        raise ValidationError(f"{filename} holds {sorted(types)} geometries; this layer needs "
                              f"{' or '.join(sorted(allowed))}")
    invalid = ~frame.geometry.is_valid
    if invalid.any():
        raise ValidationError(f"{filename}: features {frame.index[invalid].tolist()[:10]} have invalid geometry "
                              "(e.g. self-intersecting polygons); repair them (shapely.make_valid, QGIS 'Fix "
                              "geometries')")
    frame = frame.to_crs("EPSG:4326")
    x0, y0, x1, y1 = frame.total_bounds
    lon0, lat0, lon1, lat1 = KOREA_BOUNDS
    if x0 < lon0 or y0 < lat0 or x1 > lon1 or y1 > lat1:
        raise ValidationError(f"{filename}: coordinates span lon {x0:.3f}..{x1:.3f}, lat {y0:.3f}..{y1:.3f}, outside "
                              f"South Korea; the declared CRS ({frame.crs.to_string() if frame.crs else '?'}) is "
                              "probably wrong (e.g. metres labelled as degrees); fix the CRS and upload again")
    if weight_column is not None:
        if weight_column not in frame.columns:
            raise ValidationError(f"{filename} has no column {weight_column!r} (found {list(frame.columns)[:10]}); "
                                  f"add the demand weight as {weight_column!r}")
        weights = frame[weight_column].astype("float64", errors="ignore")
        values = np.asarray(weights, dtype=object)
        try:
            numeric = values.astype(float)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"{filename}: column {weight_column!r} must hold numbers") from exc
        if not np.isfinite(numeric).all() or (numeric < 0).any():
            raise ValidationError(f"{filename}: column {weight_column!r} must hold finite numbers >= 0")
        frame[weight_column] = numeric
    return frame.reset_index(drop=True)
