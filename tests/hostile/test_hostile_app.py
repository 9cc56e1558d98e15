"""Hostile uploads through the app: every bad layer a planner might drop on the EV charging page.

Each file goes through the real page (Streamlit AppTest, real uploader, real readers). The
page must show one ``st.error`` naming the problem and the fix, never an exception, a
server path, a memory path or a GDAL driver hint; it must stop before solving; and nothing
may be written to the temporary folder (uploads are read in memory).
"""

from __future__ import annotations

import json
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, Polygon
from streamlit.testing.v1 import AppTest

from .conftest import tree_state

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
SEOUL = [(126.978, 37.566), (126.990, 37.570), (126.970, 37.575), (126.985, 37.560)]
#: Fragments that betray the machinery behind the message (paths, readers, drivers).
LEAKS = ("/tmp", "vsimem", "vsizip", "mobility-plan-upload", "driver", "gdal", "ogr", "pyogrio", "traceback",
         "fiona", "sqlite3.")


def _points(coords=SEOUL, *, crs="EPSG:4326", weights=None) -> gpd.GeoDataFrame:
    weights = weights if weights is not None else [10.0, 20.0, 5.0, 1.0][:len(coords)]
    return gpd.GeoDataFrame({"weight": weights}, geometry=[Point(c) for c in coords], crs=crs)


def _geojson(frame: gpd.GeoDataFrame, **kwargs) -> bytes:
    return frame.to_json(**kwargs).encode("utf-8")


def _collection(*features: dict) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode("utf-8")


def _feature(coordinates, weight=1.0) -> dict:
    geometry = None if coordinates is None else {"type": "Point", "coordinates": coordinates}
    return {"type": "Feature", "properties": {"weight": weight}, "geometry": geometry}


def _geopackage(tmp: Path, *frames: gpd.GeoDataFrame) -> bytes:
    path = tmp / "layers.gpkg"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="'crs' was not provided")  # the no-CRS case, on purpose
        for number, frame in enumerate(frames):
            frame.to_file(path, layer=f"layer_{number}", driver="GPKG")
    return path.read_bytes()


def _bowtie() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"weight": [1.0]}, geometry=[Polygon([(126.9, 37.5), (127.0, 37.6), (127.0, 37.5),
                                                                  (126.9, 37.6)])], crs="EPSG:4326")


def _korean_cp949() -> bytes:
    text = ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"이름": "종로구", '
            '"weight": 3}, "geometry": {"type": "Point", "coordinates": [126.98, 37.57]}}]}')
    return text.encode("cp949")


# name -> (file name, builder(tmp) -> bytes, uploader, words the error must hold)
CASES: dict[str, tuple[str, Callable[[Path], bytes], str, tuple[str, ...]]] = {
    "degrees declared as EPSG:5179": ("demand.geojson",
                                      lambda t: _geojson(_points().set_crs("EPSG:5179", allow_override=True),
                                                         to_wgs84=False), "demand",
                                      ("declares EPSG:5179", "look like lon/lat degrees", "declare EPSG:4326")),
    "metres declared as degrees": ("demand.geojson", lambda t: _geojson(_points(coords=[(955000.0, 1950000.0)] * 4)),
                                   "demand", ("declares EPSG:4326", "not degrees", "EPSG:5179")),
    "no CRS": ("demand.gpkg", lambda t: _geopackage(t, _points().set_crs(None, allow_override=True)), "demand",
               ("no coordinate reference system", "EPSG:4326")),
    "lon and lat swapped": ("demand.geojson", lambda t: _geojson(_points(coords=[(y, x) for x, y in SEOUL])),
                            "demand", ("swapped", "[longitude, latitude]")),
    "empty file": ("demand.geojson", lambda t: b"", "demand", ("is empty",)),
    "only whitespace": ("demand.geojson", lambda t: b" \n\t\n", "demand", ("is empty",)),
    "no features": ("demand.geojson", lambda t: _collection(), "demand", ("no features",)),
    "self-intersecting polygon": ("demand.geojson", lambda t: _geojson(_bowtie()), "demand",
                                  ("invalid geometry", "make_valid")),
    "lines for demand": ("demand.geojson", lambda t: _geojson(gpd.GeoDataFrame(
        {"weight": [1.0]}, geometry=[LineString([(126.9, 37.5), (127.0, 37.6)])], crs="EPSG:4326")), "demand",
        ("LineString", "needs")),
    "polygons for candidate sites": ("sites.geojson", lambda t: _geojson(_bowtie().buffer(0).to_frame("geometry")),
                                     "sites", ("this layer needs Point",)),
    "plain text": ("demand.geojson", lambda t: "stations near Seoul Station, about 40".encode(), "demand",
                   ("not valid JSON",)),
    "JSON that is not GeoJSON": ("demand.geojson", lambda t: json.dumps({"stations": [1, 2]}).encode(), "demand",
                                 ("JSON but not GeoJSON", "FeatureCollection")),
    "ZIP renamed .geojson": ("demand.geojson", lambda t: b"PK\x03\x04\x14\x00\x00\x00" + bytes(300), "demand",
                             ("ZIP archive", "unzip")),
    "PNG renamed .geojson": ("demand.geojson", lambda t: b"\x89PNG\r\n\x1a\n" + bytes(300), "demand",
                             ("PNG image",)),
    "GeoPackage renamed .geojson": ("demand.geojson", lambda t: _geopackage(t, _points()), "demand",
                                    ("GeoPackage", "rename it to .gpkg")),
    "GeoJSON renamed .gpkg": ("demand.gpkg", lambda t: _geojson(_points()), "demand",
                              ("not a GeoPackage", "rename it to .geojson")),
    "damaged GeoPackage": ("demand.gpkg", lambda t: _geopackage(t, _points())[:3000], "demand",
                           ("cannot be read as a GeoPackage",)),
    "truncated GeoJSON": ("demand.geojson", lambda t: _geojson(_points())[:-40], "demand",
                          ("not valid JSON", "complete")),
    "huge coordinates": ("demand.geojson", lambda t: _geojson(_points(coords=[(1e300, 1e300)] * 4)), "demand",
                         ("not degrees",)),
    "NaN coordinates": ("demand.geojson", lambda t: _collection(_feature([float("nan"), 37.5]),
                                                                 _feature([127.0, 37.5])), "demand",
                        ("NaN or infinite coordinates", "[1]")),
    "points in Tokyo": ("demand.geojson", lambda t: _geojson(_points(coords=[(139.70, 35.69)] * 4)), "demand",
                        ("outside South Korea",)),
    "one point in Tokyo": ("demand.geojson", lambda t: _geojson(_points(coords=[*SEOUL[:3], (139.70, 35.69)])),
                           "demand", ("features [4] lie outside South Korea",)),
    "over the size limit": ("demand.geojson", lambda t: b" " * 21_000_000 + _geojson(_points()), "demand",
                            ("above the 20 MB limit",)),
    "CP949 encoding": ("demand.geojson", lambda t: _korean_cp949(), "demand", ("not UTF-8", "CP949", "UTF-8")),
    "UTF-16 encoding": ("demand.geojson", lambda t: _geojson(_points()).decode().encode("utf-16"), "demand",
                        ("UTF-16",)),
    "GeoPackage with two layers": ("demand.gpkg", lambda t: _geopackage(t, _points(), _points().to_crs(5179)),
                                   "demand", ("2 layers", "'layer_0'", "'layer_1'")),
    "feature without geometry": ("demand.geojson", lambda t: _collection(_feature(None), _feature([127.0, 37.5])),
                                 "demand", ("empty or no geometry",)),
    "no weight column": ("demand.geojson", lambda t: _geojson(_points().rename(columns={"weight": "evs"})),
                         "demand", ("no column 'weight'", "evs")),
    "text weights": ("demand.geojson", lambda t: _collection(_feature([127.0, 37.5], "many")), "demand",
                     ("must hold numbers", "'many'")),
    "missing weight": ("demand.geojson", lambda t: _collection(_feature([127.0, 37.5], None),
                                                                _feature([126.99, 37.56], 2.0)), "demand",
                       ("not finite for features [1]",)),
    "negative weight": ("demand.geojson", lambda t: _geojson(_points(weights=[1.0, -2.0, 3.0, 4.0])), "demand",
                        (">= 0",)),
    "all weights zero": ("demand.geojson", lambda t: _geojson(_points(weights=[0.0] * 4)), "demand",
                         ("no demand",)),
}


pytestmark = pytest.mark.usefixtures("app_process_state")  # tests/conftest.py: AppTest runs in this process


def _city_page() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=300)
    at.switch_page("app_pages/city.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "EV charging (city)"
    return at


def _upload(at: AppTest, uploader: str, name: str, content: bytes | None) -> AppTest:
    """Put ``content`` in one of the page's uploaders (clear both first) and rerun the page."""
    mime = "application/geopackage+sqlite3" if name.endswith(".gpkg") else "application/geo+json"
    for widget in at.get("file_uploader"):
        widget.set_value(None)
    widget = next(w for w in at.get("file_uploader") if w.key == f"city_{uploader}_upload")
    widget.set_value(None if content is None else (name, content, mime))
    return at.run()


@pytest.fixture(scope="module")
def city_page(shared_data) -> AppTest:
    """One session on the city page, as a user who tries one bad file after another (the solve runs once)."""
    return _city_page()


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_hostile_upload_gets_a_clear_message_on_the_page(case, city_page, tmp_path, monkeypatch):
    name, build, uploader, needles = CASES[case]
    content = build(tmp_path)
    scratch = tmp_path / "tempdir"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    before = tree_state(ROOT / "data")
    at = _upload(city_page, uploader, name, content)
    assert not at.exception, f"{case}: the page raised {[e.value for e in at.exception]}"
    errors = [e.value for e in at.error]
    assert len(errors) == 1, f"{case}: expected one error, got {errors}"
    message = errors[0]
    for needle in needles:
        assert needle.lower() in message.lower(), f"{case}: {needle!r} missing from {message!r}"
    assert message.startswith(name), f"{case}: the message does not name the file: {message!r}"
    leaked = [word for word in LEAKS if word in message.lower()]
    assert not leaked, f"{case}: the message shows {leaked}: {message!r}"
    assert not at.success, f"{case}: a bad upload was accepted: {[s.value for s in at.success]}"
    assert not at.metric, f"{case}: the page solved after a refused upload"
    assert list(scratch.iterdir()) == [], f"{case}: the upload left files in the temporary folder"
    assert tree_state(ROOT / "data") == before


@pytest.mark.slow
def test_layer_in_korean_metres_is_reprojected_and_its_crs_reported(shared_data, tmp_path):
    """A demand layer in EPSG:5179 (the CRS of Korean census data) is accepted, reprojected and solved."""
    content = _geopackage(tmp_path, _points().to_crs("EPSG:5179"))
    at = _upload(_city_page(), "demand", "census_demand.gpkg", content)
    assert not at.exception and not at.error, [e.value for e in at.error]
    message = at.success[0].value
    assert "census_demand.gpkg: 4 features, total weight 36" in message
    assert "declared CRS EPSG:5179, reprojected to EPSG:4326" in message
    assert at.metric, "the page did not solve with the uploaded layer"
    assert _metrics(at)["Sites: new / existing"].startswith("10 / ")


@pytest.mark.slow
def test_fixing_a_bad_upload_recovers_the_page(shared_data, tmp_path):
    """The same session: a refused file, then the corrected file, then the uploader cleared."""
    at = _upload(_city_page(), "demand", "demand.geojson", _geojson(_points(coords=[(y, x) for x, y in SEOUL])))
    assert "swapped" in at.error[0].value and not at.metric
    at = _upload(at, "demand", "demand.geojson", _geojson(_points()))
    assert not at.exception and not at.error
    assert "declared CRS EPSG:4326 (lon/lat degrees)" in at.success[0].value and at.metric
    at = _upload(at, "sites", "sites.geojson", _geojson(_bowtie()))
    assert "needs Point" in at.error[0].value and not at.metric
    widget = next(w for w in at.get("file_uploader") if w.key == "city_sites_upload")
    widget.set_value(None)
    at.run()
    assert not at.exception and not at.error and at.metric


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}
