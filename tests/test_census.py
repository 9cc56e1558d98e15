"""Census layer: 2025 counts on 2020 ADM3 polygons, aggregates and joins to the fleet tables."""

from __future__ import annotations

import pytest

from mobility_plan import ValidationError, census, data


@pytest.fixture(scope="module")
def adm3():
    return census.load_census_adm3()


def test_adm3_population_and_crs(adm3):
    assert len(adm3) == 3501
    assert adm3.crs.to_epsg() == 5179
    assert adm3["population"].sum() == pytest.approx(51_817_499, abs=1)
    assert 51.7e6 < adm3["population"].sum() < 51.9e6
    assert adm3["adm3_code"].is_unique
    assert adm3.geometry.is_valid.all() and not adm3.geometry.is_empty.any()
    assert set(adm3.geom_type) <= {"Polygon", "MultiPolygon"}
    share = adm3["apartment_share"].dropna()
    assert share.between(0, 1).all()
    assert (adm3["match"] == "code").mean() > 0.9


def test_aggregates_preserve_totals(adm3):
    sigungu = census.load_census_sigungu()
    sido = census.load_census_sido()
    assert sigungu["sigungu_code"].is_unique and sido["sido_code"].is_unique
    assert len(sido) == 17
    for column in ("population", "households", "housing_units", "households_apartment"):
        assert sigungu[column].sum() == pytest.approx(adm3[column].sum())
        assert sido[column].sum() == pytest.approx(adm3[column].sum())
    seoul = sido.set_index("sido_code").loc["11"]
    assert 9.0e6 < seoul["population"] < 9.7e6
    # Gunwi-gun moved to Daegu in 2023
    assert sigungu.set_index("sigungu_code").loc["22520", "sido_code"] == "22"


def test_every_census_sigungu_joins_the_fleet_tables():
    sigungu = census.load_census_sigungu()
    ev = census.attach_sigungu_codes(data.load_ev_registrations_sigungu())
    chargers = census.attach_sigungu_codes(data.load_ev_chargers())
    assert set(ev["sigungu_code"]) == set(sigungu["sigungu_code"])
    assert set(chargers["sigungu_code"]) == set(sigungu["sigungu_code"])
    assert int(ev["total"].sum()) == 719_039


def test_sigungu_lookup_names_districts_and_errors():
    suwon = census.sigungu_code_for_name("31", "수원시 장안구")
    assert suwon == census.sigungu_code_for_name("31", "수원시") == "31010"
    assert census.sigungu_code_for_name("37", "군위군") == "22520"
    with pytest.raises(ValidationError, match="unknown sigungu"):
        census.sigungu_code_for_name("11", "없는구")
    with pytest.raises(ValidationError, match="needs the columns"):
        census.attach_sigungu_codes(data.load_national_fleet_stock())


def test_loaders_return_copies():
    first = census.load_census_sido()
    first["population"] = 0
    assert census.load_census_sido()["population"].sum() > 5e7
