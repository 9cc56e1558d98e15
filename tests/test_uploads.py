"""Uploaded layers: every bad file gets a message naming the problem and the fix; good ones feed city siting."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
from shapely.geometry import Point, Polygon

from mobility_plan import ValidationError
from mobility_plan.city import city_instance
from mobility_plan.explore import solve_city
from mobility_plan.uploads import read_upload

SEOUL = [(126.978, 37.566), (126.990, 37.570), (126.970, 37.575), (126.985, 37.560)]


def _geojson(frame: gpd.GeoDataFrame) -> bytes:
    return frame.to_json().encode("utf-8")


def _points(weights=(10.0, 20.0, 5.0, 1.0), crs="EPSG:4326", coords=SEOUL) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"weight": list(weights)}, geometry=[Point(c) for c in coords], crs=crs)


def test_good_points_and_geopackage_are_read_in_wgs84(tmp_path):
    upload = read_upload(_geojson(_points()), "demand.geojson", geometry="points", weight_column="weight")
    frame = upload.frame
    assert frame.crs.to_epsg() == 4326 and len(frame) == 4 and frame["weight"].sum() == 36
    assert upload.declared_crs == "EPSG:4326" and not upload.reprojected
    metric = _points().to_crs("EPSG:5179")
    metric.to_file(tmp_path / "d.gpkg", driver="GPKG")
    back = read_upload((tmp_path / "d.gpkg").read_bytes(), "d.gpkg", geometry="points", weight_column="weight")
    assert back.frame.crs.to_epsg() == 4326 and back.frame.geometry.x.between(126.9, 127.0).all()
    assert back.declared_crs == "EPSG:5179" and back.reprojected
    assert back.crs_note == "declared CRS EPSG:5179, reprojected to EPSG:4326 (lon/lat)"
    assert (back.frame.get_coordinates() - frame.get_coordinates()).abs().to_numpy().max() < 1e-9  # same places


def test_geojson_in_korean_metres_reports_its_declared_crs():
    metric = _points().to_crs("EPSG:5179")
    upload = read_upload(metric.to_json(to_wgs84=False).encode(), "folder/demand.geojson", weight_column="weight")
    assert upload.declared_crs == "EPSG:5179" and upload.reprojected and upload.filename == "demand.geojson"
    assert upload.frame.geometry.x.between(126.96, 127.0).all() and upload.frame.geometry.y.between(37.55, 37.58).all()


@pytest.mark.parametrize("make, name, kwargs, message", [
    (lambda: b"not json at all", "a.geojson", {}, "is not valid JSON"),
    (lambda: b"SQLite format 3\x00" + bytes(200), "a.gpkg", {}, "cannot be read as a GeoPackage"),
    (lambda: b"", "a.geojson", {}, "is empty"),
    (lambda: _geojson(_points()), "a.shp", {}, "unsupported file type"),
    (lambda: b"x" * 2_100_000, "a.geojson", {"max_mb": 2}, "above the 2 MB limit"),
    (lambda: json.dumps({"type": "FeatureCollection", "features": []}).encode(), "a.geojson", {}, "no features"),
    # metres written as if they were degrees: a wrong CRS
    (lambda: _geojson(_points(coords=[(955000.0, 1950000.0)] * 4)), "a.geojson", {}, "which are not degrees"),
    (lambda: _geojson(_points(coords=[(139.7, 35.7)] * 4)), "a.geojson", {}, "outside South Korea"),
    (lambda: _geojson(gpd.GeoDataFrame({"weight": [1]}, geometry=[Polygon([(126.9, 37.5), (127.0, 37.6),
                                                                              (127.0, 37.5), (126.9, 37.6)])],
                                       crs="EPSG:4326")), "a.geojson", {}, "invalid geometry"),
    (lambda: _geojson(_points()), "a.geojson", {"geometry": "polygons"}, "needs MultiPolygon or Polygon"),
    (lambda: _geojson(_points()), "a.geojson", {"geometry": "lines"}, "geometry must be one of"),
    (lambda: _geojson(_points()), "a.geojson", {"weight_column": "evs"}, "no column 'evs'"),
    (lambda: _geojson(_points(weights=(1.0, -2.0, 3.0, 4.0))), "a.geojson", {"weight_column": "weight"}, ">= 0"),
])
def test_bad_uploads_are_named(make, name, kwargs, message):
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_upload(make(), name, **kwargs)


def test_uploaded_demand_and_candidates_drive_city_siting(shared_data):
    demand = read_upload(_geojson(_points()), "demand.geojson", weight_column="weight").frame
    sites = read_upload(_geojson(_points(weights=(1, 1, 1), coords=[(126.982, 37.568), (126.975, 37.571),
                                                                     (126.988, 37.563)])),
                        "sites.geojson", geometry="points").frame
    city = city_instance("osm_seoul_central", "11", demand_points=demand, candidate_points=sites,
                         lock_existing=False)
    assert len(city.demand_nodes) == 4 and city.weight_unit == "weight" and city.weights.sum() == 36
    assert len(city.site_nodes) <= 3
    layout = solve_city(city, new_sites=1, radius_s=600, keep_existing=False)
    assert layout.kpis["sites_total"] == 1 and layout.kpis["evs"] == 36
    far = read_upload(_geojson(_points(coords=[(129.07, 35.18)] * 4)), "busan.geojson", weight_column="weight").frame
    with pytest.raises(ValidationError, match="no road access"):
        city_instance("osm_seoul_central", "11", demand_points=far)
