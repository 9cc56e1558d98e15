"""Base geography of the maps: census boundaries (land, coast, provinces, districts, dong) drawn offline,
Korean names, and a scale bar that matches deck.gl's web-mercator scale."""

from __future__ import annotations

import json

import numpy as np
import pytest
from shapely.geometry import Point

from mobility_plan import ValidationError, census, maps


@pytest.fixture(scope="module")
def national():
    return maps.base_geography(labels="sido")


def test_national_base_outlines_all_17_provinces_with_their_korean_names(national):
    assert sorted(national.areas["name_ko"]) == sorted(census.load_census_sido()["sido_name_ko"])
    ids = [layer.id for layer in national.layers]
    assert ids == ["base_sido", "base_sido_labels"]
    land, labels = national.layers
    assert land.filled and land.stroked and land.pickable
    names = {record["name"] for record in labels.data}
    assert names == set(national.areas["name_ko"]) and "서울특별시" in names
    # each label sits on its own province (within ~2 km of the simplified outline drawn)
    for record, geometry in zip(labels.data, national.areas.geometry):
        assert geometry.distance(Point(record["lon"], record["lat"])) < 0.02, record["name"]
    # land, outline and coast are in the legend; the page stays small (coordinates rounded, simplified)
    assert [entry.shape for entry in national.legend] == ["box", "line"]
    assert len(json.dumps(land.data)) < 1_000_000  # 0.8 MB measured (1 km simplification, full coordinates)


def test_base_layers_pass_the_tooltip_check_and_hover_names_the_area(national):
    assert maps.tooltip_problems(national.layers, maps.TOOLTIP_HTML) == []
    feature = national.layers[0].data["features"][0]
    assert feature["properties"]["tip_title"] == national.areas["name_ko"].iloc[0]
    assert "(province)" in feature["properties"]["tip_body"]
    deck = maps.deck(list(national.layers), maps.view_for([126.0, 129.5], [34.0, 38.0]))
    assert [layer.id for layer in deck.layers] == ["base_sido", "base_sido_labels"]


def test_city_base_is_cut_to_the_bounds_with_districts_and_dong_names():
    bounds = (126.95, 37.54, 127.02, 37.60)  # around Jung-gu and Jongno-gu, Seoul
    city = maps.base_geography(bounds, levels=("sigungu", "adm3"), labels="adm3", fill_land=False)
    counts = city.areas["level"].value_counts()
    assert 3 <= counts["sigungu"] <= 12 and 30 <= counts["adm3"] <= 150
    assert {"종로구", "중구"} <= set(city.areas.loc[city.areas["level"] == "sigungu", "name_ko"])
    assert "사직동" in set(city.areas["name_ko"])
    west, south, east, north = bounds
    assert (city.areas.bounds["maxx"] >= west).all() and (city.areas.bounds["minx"] <= east).all()
    assert (city.areas.bounds["maxy"] >= south).all() and (city.areas.bounds["miny"] <= north).all()
    # only the finest level answers the mouse and carries labels; nothing is filled without fill_land
    by_id = {layer.id: layer for layer in city.layers}
    assert not by_id["base_sigungu"].pickable and by_id["base_adm3"].pickable
    assert "base_adm3_labels" in by_id and "base_sigungu_labels" not in by_id
    assert by_id["base_sigungu"].get_fill_color == [0, 0, 0, 0]
    assert "land" not in " ".join(entry.label for entry in city.legend)


def test_bounds_outside_korea_draw_nothing_and_bad_arguments_are_named():
    empty = maps.base_geography((0.0, 0.0, 1.0, 1.0))
    assert empty.layers == () and empty.areas.empty
    with pytest.raises(ValidationError, match="west < east"):
        maps.base_geography((127.0, 37.0, 126.0, 38.0))
    with pytest.raises(ValidationError, match="levels"):
        maps.base_geography(levels=("county",))
    with pytest.raises(ValidationError, match="not among the levels"):
        maps.base_geography(levels=("sido",), labels="adm3")
    with pytest.raises(ValidationError, match="no finite coordinates"):
        maps.bounds_of([np.nan], [np.nan])


def test_scale_bar_matches_web_mercator_and_is_a_round_distance():
    view = maps.view_for([126.9, 127.1], [37.5, 37.6])
    metres, pixels = maps.scale_bar(view)
    metres_per_px = 40_075_016.686 * np.cos(np.radians(view.latitude)) / (512 * 2 ** view.zoom)
    assert pixels == pytest.approx(metres / metres_per_px)
    assert pixels <= 120 and metres in (50, 100, 200, 250, 500, 1_000, 2_000, 2_500, 5_000, 10_000)
    # one zoom level in: half the metres per pixel, so the bar of the same distance doubles
    closer = type(view)(longitude=view.longitude, latitude=view.latitude, zoom=view.zoom + 1)
    (m1, p1), (m2, p2) = maps.scale_bar(view), maps.scale_bar(closer)
    assert p2 / m2 == pytest.approx(2 * p1 / m1)
    text = maps.legend_html("t", [], view=view)
    assert "mp-scale" in text and ("km" in text or " m" in text) and "opening zoom" in text
