"""RFC 7946 GeoJSON export: CRS, orientation, determinism, atomic writes, read back with GeoPandas."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Point, Polygon

from mobility_plan import ValidationError, census, demand
from mobility_plan.export import geojson_bytes, read_geojson, to_geojson


def test_regions_round_trip_in_wgs84_with_right_hand_rings(tmp_path):
    need = demand.need_map("fcev", 850_000, year=2030, level="sido")
    need["geometry"] = need.geometry.simplify(500)
    path = to_geojson(need, tmp_path / "regions.geojson", sort_by=["code"])
    back = read_geojson(path)
    assert back.crs.to_epsg() == 4326 and len(back) == 17
    assert back["vehicles"].sum() == 850_000
    lon, lat = back.geometry.centroid.x, back.geometry.centroid.y
    assert lon.between(124, 132).all() and lat.between(33, 39).all()
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert "crs" not in raw  # RFC 7946 has no crs member
    for feature in raw["features"]:
        polygons = feature["geometry"]["coordinates"]
        if feature["geometry"]["type"] == "Polygon":
            polygons = [polygons]
        for rings in polygons:
            assert shapely.LinearRing(rings[0]).is_ccw  # exterior counter-clockwise


def test_bytes_are_deterministic_and_values_clean():
    frame = gpd.GeoDataFrame({"id": [2, 1], "value": [np.nan, np.int64(5)], "name": ["서울", "부산"]},
                             geometry=[Point(127.0, 37.5), Point(129.0, 35.1)], crs="EPSG:4326")
    first = geojson_bytes(frame, sort_by=["id"])
    assert first == geojson_bytes(frame.iloc[::-1], sort_by=["id"])
    content = json.loads(first)
    assert [f["properties"]["id"] for f in content["features"]] == [1, 2]
    assert content["features"][1]["properties"]["value"] is None
    assert "서울" in first.decode("utf-8")


def test_bad_frames_and_no_silent_overwrite(tmp_path):
    frame = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(127, 37)])
    with pytest.raises(ValidationError, match="no CRS"):
        geojson_bytes(frame)
    empty = gpd.GeoDataFrame({"a": [1]}, geometry=[Polygon()], crs="EPSG:4326")
    with pytest.raises(ValidationError, match="empty or missing geometry"):
        geojson_bytes(empty)
    bowtie = gpd.GeoDataFrame({"a": [1]}, geometry=[Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])], crs="EPSG:4326")
    with pytest.raises(ValidationError, match="invalid geometry"):
        geojson_bytes(bowtie)
    target = tmp_path / "x.geojson"
    target.write_text("keep", encoding="utf-8")
    good = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(127, 37)], crs="EPSG:4326")
    with pytest.raises(ValidationError, match="exists"):
        to_geojson(good, target, overwrite=False)
    assert target.read_text(encoding="utf-8") == "keep"


def test_adm3_layer_exports():
    adm3 = census.load_census_adm3().head(50)
    adm3["geometry"] = adm3.geometry.simplify(50)
    content = json.loads(geojson_bytes(adm3[["adm3_code", "population", "geometry"]], sort_by=["adm3_code"]))
    assert len(content["features"]) == 50
