"""Checks for layers a planner uploads (demand or candidate sites as GeoJSON / GeoPackage).

:func:`read_upload` turns the bytes of an uploaded file into an :class:`UploadedLayer`
(features in WGS84 lon/lat, and the CRS the file declared) or raises
:class:`ValidationError` with a message that names the problem and the fix: too large,
empty, unknown format, a ZIP or other binary under a GeoJSON name, not UTF-8, not JSON,
JSON that is not GeoJSON, a GeoPackage with several layers, no CRS, coordinates that do
not fit the declared CRS (metres labelled as degrees, degrees labelled as metres,
longitude and latitude swapped), NaN or infinite coordinates, coordinates outside South
Korea, empty, invalid or wrongly typed geometry, a missing, non-numeric or negative
weight column.

The bytes are read in memory (no temporary file), and no message quotes the reader's own
error text, so a user never sees a server path or a GDAL driver hint.
"""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import dataclass
from pathlib import PurePath, PureWindowsPath

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyproj import CRS

from ._errors import ValidationError
from .data import CRS_LONLAT, KOREA_BOUNDS

__all__ = ["read_upload", "UploadedLayer", "MAX_UPLOAD_MB", "UPLOAD_MARGIN_DEG", "GEOMETRY_KINDS"]

#: Largest upload accepted (MB).
MAX_UPLOAD_MB = 20.0
#: Margin (degrees) added around :data:`mobility_plan.data.KOREA_BOUNDS` before an uploaded
#: feature counts as outside South Korea (coastal waters, Dokdo at 131.87 E).
UPLOAD_MARGIN_DEG = 1.0
#: Geometry types each kind of layer accepts.
GEOMETRY_KINDS: dict[str, frozenset[str]] = {
    "points": frozenset({"Point"}),
    "polygons": frozenset({"Polygon", "MultiPolygon"}),
    "any": frozenset({"Point", "Polygon", "MultiPolygon"}),
}
_FORMATS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GeoPackage"}
_GEOJSON_TYPES = {"FeatureCollection", "Feature", "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                  "MultiPolygon", "GeometryCollection"}
_MAGIC = {  # leading bytes of binary formats a user may upload under a GeoJSON / GeoPackage name
    b"PK\x03\x04": "a ZIP archive", b"PK\x05\x06": "an empty ZIP archive", b"\x1f\x8b": "a gzip archive",
    b"7z\xbc\xaf": "a 7-Zip archive", b"Rar!": "a RAR archive", b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"\xd0\xcf\x11\xe0": "an old Microsoft Office file",
}
_SQLITE = b"SQLite format 3\x00"
_LISTED = 10  # feature numbers quoted in a message


@dataclass(frozen=True)
class UploadedLayer:
    """An uploaded layer that passed every check.

    Attributes
    ----------
    frame
        The features in WGS84 lon/lat (EPSG:4326), index 0..n-1.
    filename
        The file's name as uploaded (without any folder).
    declared_crs
        The CRS the file declared, e.g. ``EPSG:5179`` (GeoJSON without a ``crs`` member is
        WGS84 lon/lat by RFC 7946 and reads as ``OGC:CRS84``).
    reprojected
        Whether the features were reprojected from ``declared_crs`` to EPSG:4326.
    """

    frame: gpd.GeoDataFrame
    filename: str
    declared_crs: str
    reprojected: bool

    @property
    def crs_note(self) -> str:
        """One line for the user: the declared CRS and what was done with it."""
        if self.reprojected:
            return f"declared CRS {self.declared_crs}, reprojected to {CRS_LONLAT} (lon/lat)"
        return f"declared CRS {self.declared_crs} (lon/lat degrees)"


def read_upload(content: bytes, filename: str, *, geometry: str = "any", weight_column: str | None = None,
                max_mb: float = MAX_UPLOAD_MB) -> UploadedLayer:
    """Read and check an uploaded layer.

    Parameters
    ----------
    content
        The file's bytes.
    filename
        Its name (the extension decides the format: .geojson, .json, .gpkg); a folder in
        front of it is dropped.
    geometry
        ``points``, ``polygons`` or ``any`` (points or polygons); see :data:`GEOMETRY_KINDS`.
    weight_column
        A numeric column that must exist with finite values >= 0, not all 0 (e.g. demand weights).
    max_mb
        Size limit in MB.

    Returns
    -------
    UploadedLayer
        The features in EPSG:4326 and the CRS the file declared.

    Raises
    ------
    ValidationError
        Naming the problem and how to fix it.
    """
    allowed = GEOMETRY_KINDS.get(geometry)
    if allowed is None:
        raise ValidationError(f"geometry must be one of {sorted(GEOMETRY_KINDS)}, got {geometry!r}")
    name = PureWindowsPath(PurePath(str(filename)).name).name or "the upload"
    suffix = PurePath(name).suffix.lower()
    if suffix not in _FORMATS:
        raise ValidationError(f"{name}: unsupported file type {suffix or '(no extension)'}; upload GeoJSON "
                              "(.geojson) or GeoPackage (.gpkg)")
    kind = _FORMATS[suffix]
    size_mb = len(content) / 1e6
    if size_mb > max_mb:
        raise ValidationError(f"{name} is {size_mb:.1f} MB, above the {max_mb:g} MB limit; simplify it or keep "
                              "only the features of the study area")
    if not content.strip():
        raise ValidationError(f"{name} is empty; upload a file with features")
    _check_container(content, name, kind)
    if kind == "GeoJSON":
        _check_geojson_text(content, name)
        frame = _read(content, name, kind, layer=None)
    else:
        frame = _read(content, name, kind, layer=_only_layer(content, name))
    if len(frame) == 0:
        raise ValidationError(f"{name} has no features; upload a layer with at least one feature")
    if frame.crs is None:
        raise ValidationError(f"{name} has no coordinate reference system; save it with one (EPSG:4326 for "
                              "lon/lat degrees, EPSG:5179 for Korean metres) and upload it again")
    declared = _crs_label(frame.crs)
    missing = frame.geometry.isna() | frame.geometry.is_empty
    if missing.any():
        raise ValidationError(f"{name}: features {_numbers(missing)} have empty or no geometry; remove them")
    types = set(frame.geom_type)
    if not types <= allowed:
        raise ValidationError(f"{name} holds {' and '.join(sorted(types))} geometries; this layer needs "
                              f"{' or '.join(sorted(allowed))} geometries: convert the others (e.g. lines or "
                              "polygons to their centroids in QGIS) and upload it again")
    _check_finite(frame, name, "")
    _check_units(frame, name, declared)
    invalid = ~frame.geometry.is_valid
    if invalid.any():
        raise ValidationError(f"{name}: features {_numbers(invalid)} have invalid geometry (e.g. self-intersecting "
                              "polygons); repair them (shapely.make_valid, QGIS 'Fix geometries') and upload again")
    reprojected = not CRS.from_user_input(frame.crs).equals(CRS.from_user_input(CRS_LONLAT), ignore_axis_order=True)
    if reprojected:
        frame = frame.to_crs(CRS_LONLAT)
        _check_finite(frame, name, f" after reprojection from {declared}")
    else:
        frame = frame.set_crs(CRS_LONLAT, allow_override=True)
    _check_inside_korea(frame, name, declared)
    if weight_column is not None:
        frame[weight_column] = _weights(frame, weight_column, name)
    return UploadedLayer(frame=frame.reset_index(drop=True), filename=name, declared_crs=declared,
                         reprojected=reprojected)


def _numbers(mask) -> str:
    """The first feature numbers (1-based, as a user counts them) where ``mask`` holds."""
    positions = (np.flatnonzero(np.asarray(mask)) + 1).tolist()
    more = f" and {len(positions) - _LISTED} more" if len(positions) > _LISTED else ""
    return f"{positions[:_LISTED]}{more}"


def _check_container(content: bytes, name: str, kind: str) -> None:
    """Refuse archives, images and other binaries before a reader sees them."""
    for magic, what in _MAGIC.items():
        if content.startswith(magic):
            hint = "unzip it and upload the .geojson or .gpkg inside" if "archive" in what else \
                "export the layer as GeoJSON or GeoPackage"
            raise ValidationError(f"{name} is {what}, not {kind}; {hint}")
    if kind == "GeoJSON" and content.startswith(_SQLITE):
        raise ValidationError(f"{name} is a GeoPackage (SQLite database), not GeoJSON; rename it to .gpkg")
    if kind == "GeoPackage" and not content.startswith(_SQLITE):
        if content.lstrip()[:1] in (b"{", b"["):
            raise ValidationError(f"{name} is not a GeoPackage: it looks like JSON; rename it to .geojson")
        raise ValidationError(f"{name} is not a GeoPackage (those are SQLite databases); export the layer as "
                              "GeoPackage or GeoJSON")


def _check_geojson_text(content: bytes, name: str) -> None:
    """UTF-8 JSON whose top level is a GeoJSON object (RFC 7946)."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValidationError(f"{name} is UTF-16 text; GeoJSON must be UTF-8 (RFC 7946): save it as UTF-8")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        try:
            content.decode("cp949")
        except UnicodeDecodeError:
            raise ValidationError(f"{name} is not text (byte {exc.start} is not UTF-8); upload a GeoJSON file, "
                                  "or a GeoPackage as .gpkg") from None
        raise ValidationError(f"{name} is not UTF-8 (it looks like CP949 / EUC-KR, common for Korean files); "
                              "GeoJSON must be UTF-8 (RFC 7946): save it as UTF-8 (QGIS: Export > Save Features "
                              "As, encoding UTF-8)") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{name} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
                              "check that the file is complete and exported as GeoJSON") from None
    except RecursionError:
        raise ValidationError(f"{name} nests JSON too deeply to be GeoJSON; export the layer as GeoJSON") from None
    kind = document.get("type") if isinstance(document, dict) else None
    if kind not in _GEOJSON_TYPES:
        found = (f"a JSON {type(document).__name__}" if not isinstance(document, dict)
                 else f"'type': {kind!r}" if "type" in document else "no 'type' member")
        raise ValidationError(f"{name} is JSON but not GeoJSON (found {found}, expected 'type': "
                              "'FeatureCollection'); export the layer as GeoJSON")


def _only_layer(content: bytes, name: str) -> str:
    """The one spatial layer of a GeoPackage."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            layers = pyogrio.list_layers(io.BytesIO(content))
    except Exception:  # noqa: BLE001 - any reader failure becomes one clear message
        raise ValidationError(f"{name} cannot be read as a GeoPackage (damaged or truncated); export it again "
                              "and upload the complete file") from None
    spatial = [str(row[0]) for row in layers if row[1] is not None]
    if not spatial:
        raise ValidationError(f"{name} holds no layer with geometry; upload a GeoPackage with one point or "
                              "polygon layer")
    if len(spatial) > 1:
        shown = ", ".join(repr(layer) for layer in spatial[:_LISTED])
        raise ValidationError(f"{name} holds {len(spatial)} layers ({shown}); it is not clear which one to use: "
                              "save the layer you mean in a GeoPackage of its own (or as GeoJSON) and upload that")
    return spatial[0]


def _read(content: bytes, name: str, kind: str, *, layer: str | None) -> gpd.GeoDataFrame:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return gpd.read_file(io.BytesIO(content), engine="pyogrio", layer=layer)
    except Exception:  # noqa: BLE001 - the reader's own text names memory paths and drivers, so it is not shown
        raise ValidationError(f"{name} cannot be read as {kind} (damaged, truncated or another format); check "
                              f"that the file is complete and exported as {kind}") from None


def _crs_label(crs) -> str:
    parsed = CRS.from_user_input(crs)
    authority = parsed.to_authority()
    return f"{authority[0]}:{authority[1]}" if authority else parsed.name


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) < 1e9 else f"{value:.3g}"


def _check_finite(frame: gpd.GeoDataFrame, name: str, when: str) -> None:
    coordinates = shapely.get_coordinates(frame.geometry.array, include_z=False)
    counts = shapely.get_num_coordinates(frame.geometry.array)
    bad_coordinate = ~np.isfinite(coordinates).all(axis=1)
    if bad_coordinate.any():
        owner = np.repeat(np.arange(len(frame)), counts)
        bad = np.zeros(len(frame), dtype=bool)
        bad[owner[bad_coordinate]] = True
        raise ValidationError(f"{name}: features {_numbers(bad)} have NaN or infinite coordinates{when}; fix or "
                              "remove them")


def _check_units(frame: gpd.GeoDataFrame, name: str, declared: str) -> None:
    """Coordinates must fit the declared CRS: degrees within ±180 / ±90, metres not tiny."""
    x0, y0, x1, y1 = frame.total_bounds
    if CRS.from_user_input(frame.crs).is_geographic:
        _check_swapped(frame, name)
        if max(abs(x0), abs(x1)) > 180 or max(abs(y0), abs(y1)) > 90:
            raise ValidationError(f"{name} declares {declared} (degrees) but its coordinates reach x {_fmt(x0)}.."
                                  f"{_fmt(x1)}, y {_fmt(y0)}..{_fmt(y1)}, which are not degrees (metres?); declare "
                                  "the CRS the coordinates are in (e.g. EPSG:5179) and upload it again")
    elif max(abs(x0), abs(x1)) <= 180 and max(abs(y0), abs(y1)) <= 90:
        raise ValidationError(f"{name} declares {declared} (metres) but its coordinates span x {x0:.3f}..{x1:.3f}, "
                              f"y {y0:.3f}..{y1:.3f}, which look like lon/lat degrees; declare EPSG:4326 (or save "
                              "without reprojecting) and upload it again")


def _korea_bounds() -> tuple[float, float, float, float]:
    lon0, lat0, lon1, lat1 = KOREA_BOUNDS
    return lon0 - UPLOAD_MARGIN_DEG, lat0 - UPLOAD_MARGIN_DEG, lon1 + UPLOAD_MARGIN_DEG, lat1 + UPLOAD_MARGIN_DEG


def _check_swapped(frame: gpd.GeoDataFrame, name: str) -> None:
    """Degrees in [latitude, longitude] order: every x is a Korean latitude and every y a Korean longitude."""
    lon0, lat0, lon1, lat1 = _korea_bounds()
    x0, y0, x1, y1 = frame.total_bounds
    if lon0 <= y0 and y1 <= lon1 and lat0 <= x0 and x1 <= lat1:
        raise ValidationError(f"{name}: longitude and latitude look swapped (x spans {x0:.3f}..{x1:.3f}, a "
                              f"latitude, y spans {y0:.3f}..{y1:.3f}, a longitude); write each position as "
                              "[longitude, latitude] (RFC 7946 order) and upload it again")


def _check_inside_korea(frame: gpd.GeoDataFrame, name: str, declared: str) -> None:
    lon0, lat0, lon1, lat1 = _korea_bounds()
    bounds = frame.geometry.bounds
    outside = ((bounds["minx"] < lon0) | (bounds["maxx"] > lon1) | (bounds["miny"] < lat0)
               | (bounds["maxy"] > lat1)).to_numpy()
    if not outside.any():
        return
    _check_swapped(frame, name)
    x0, y0, x1, y1 = frame.total_bounds
    where = f"lon {x0:.3f}..{x1:.3f}, lat {y0:.3f}..{y1:.3f}"
    if outside.all():
        raise ValidationError(f"{name}: coordinates span {where}, outside South Korea; the declared CRS "
                              f"({declared}) is probably wrong (e.g. metres labelled as degrees) or the layer is "
                              "of another place; fix the CRS and upload again")
    raise ValidationError(f"{name}: features {_numbers(outside)} lie outside South Korea (the layer spans {where}); "
                          "remove them or fix their coordinates")


def _weights(frame: gpd.GeoDataFrame, column: str, name: str) -> np.ndarray:
    if column not in frame.columns:
        raise ValidationError(f"{name} has no column {column!r} (found {list(frame.columns.drop('geometry'))[:10]}); "
                              f"add the demand weight as {column!r}")
    values = np.asarray(frame[column], dtype=object)
    try:
        numeric = np.array([float(value) if value is not None else np.nan for value in values], dtype="float64")
    except (TypeError, ValueError):
        raise ValidationError(f"{name}: column {column!r} must hold numbers (found e.g. "
                              f"{next((v for v in values if not _is_number(v)), None)!r}); fix the column") from None
    missing = ~np.isfinite(numeric)
    if missing.any():
        raise ValidationError(f"{name}: column {column!r} is missing or not finite for features {_numbers(missing)}; "
                              "give every feature a weight >= 0")
    if (numeric < 0).any():
        raise ValidationError(f"{name}: column {column!r} must hold numbers >= 0 (negative for features "
                              f"{_numbers(numeric < 0)})")
    if not (numeric > 0).any():
        raise ValidationError(f"{name}: every {column!r} is 0, so there is no demand to serve; give the features "
                              "their weight")
    return numeric


def _is_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
