"""Dataset registry, data directory and the loaders, on the real shipped files."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from mobility_plan import DataSourceError, ValidationError, data
from mobility_plan.data import KOREA_BOUNDS


def _inside_korea(frame) -> bool:
    lon_min, lat_min, lon_max, lat_max = KOREA_BOUNDS
    return bool(frame["lon"].between(lon_min, lon_max).all() and frame["lat"].between(lat_min, lat_max).all())


def test_data_dir_follows_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
    assert data.data_dir() == tmp_path.resolve()
    monkeypatch.delenv(data.DATA_DIR_ENV)
    assert data.data_dir() != tmp_path.resolve()


def test_registry_lists_every_file_with_provenance(shared_data):
    sources = data.load_sources()
    assert len(sources) >= 17
    for entry in sources.values():
        assert entry.publisher and entry.source and entry.licence and len(entry.sha256) == 64
        assert (shared_data / entry.file).is_file(), entry.file


def test_check_sources_reports_all_ok_on_shared_data(shared_data):
    report = data.check_sources()
    assert set(report["status"]) == {"ok"}, report[report["status"] != "ok"]


def test_check_sources_detects_missing_and_corrupt(tmp_path, shared_data):
    (tmp_path / "fleet").mkdir()
    shutil.copy(shared_data / "fleet" / "ev_fcev_stock_sido.csv", tmp_path / "fleet")
    (tmp_path / "stations").mkdir()
    (tmp_path / "stations" / "hydrogen_stations_2024.csv").write_text("tampered", encoding="utf-8")
    report = data.check_sources(directory=tmp_path).set_index("key")["status"]
    assert report["ev_fcev_stock_sido"] == "ok"
    assert report["hydrogen_stations"] == "corrupt"
    assert report["ev_chargers"] == "missing"


def test_missing_file_error_says_where_to_get_it_and_which_setting(tmp_path):
    with pytest.raises(DataSourceError) as info:
        data.load_hydrogen_stations(directory=tmp_path)
    message = str(info.value)
    assert "hydrogen_stations_2024.csv" in message and data.DATA_DIR_ENV in message and "ev.or.kr" in message


def test_unknown_dataset_key():
    with pytest.raises(ValidationError, match="unknown dataset"):
        data.source_path("no_such_dataset")


def test_truncated_file_is_reported(tmp_path, shared_data):
    (tmp_path / "stations").mkdir()
    lines = (shared_data / "stations" / "hydrogen_stations_2024.csv").read_bytes().splitlines(keepends=True)
    (tmp_path / "stations" / "hydrogen_stations_2024.csv").write_bytes(b"".join(lines[:100]))
    with pytest.raises(DataSourceError, match="truncated"):
        data.load_hydrogen_stations(directory=tmp_path)


def test_file_reencoded_in_wrong_encoding_is_reported(tmp_path, shared_data):
    (tmp_path / "stations").mkdir()
    text = (shared_data / "stations" / "hydrogen_stations_2024.csv").read_bytes().decode("utf-8-sig")
    (tmp_path / "stations" / "hydrogen_stations_2024.csv").write_bytes(text.encode("cp949", errors="replace"))
    with pytest.raises(DataSourceError, match="utf-8-sig"):
        data.load_hydrogen_stations(directory=tmp_path)


def test_hydrogen_stations(shared_data):
    h2 = data.load_hydrogen_stations()
    assert len(h2) == 221
    assert h2.crs.to_epsg() == 4326
    assert _inside_korea(h2) and h2["valid_location"].all()
    assert h2["build_year"].between(2005, 2024).all()
    assert set(h2["use"]) <= {"commercial", "research", "other"}
    # the published region column says 충청/경상/광구 for four stations; the address decides
    assert h2["sido_code"].notna().all() and h2["sido_code"].nunique() == 17
    assert h2.loc[h2["address"].str.startswith("충청북도 보은군"), "sido_code"].eq("33").all()


def test_kepco_stations(shared_data):
    kepco = data.load_kepco_ev_stations()
    assert len(kepco) == 4635
    assert _inside_korea(kepco)
    assert kepco["registered"].notna().mean() > 0.99


def test_ev_chargers(shared_data):
    chargers = data.load_ev_chargers()
    assert len(chargers) == 191_514
    counts = chargers["charger_class"].value_counts()
    assert counts["fast"] == 20_575 and counts["slow"] == 170_939
    assert chargers["sido_code"].nunique() == 17
    assert (chargers["power_kw"] > 0).all()
    fast = chargers[chargers["charger_class"] == "fast"]
    assert fast["power_kw"].min() >= 50 and set(fast["power_kw"].unique()) >= {50.0, 100.0, 200.0, 400.0}
    assert {"operator", "sigungu_name_ko", "access"} <= set(chargers.columns)


def test_rest_areas_joined_to_2023_list(shared_data):
    rest = data.load_rest_areas()
    assert len(rest) == 199
    assert _inside_korea(rest)
    assert rest["matched_2023"].sum() >= 160
    assert rest["has_h2_2023"].fillna(False).sum() >= 15
    row = rest.set_index("name").loc["강릉(강릉)"]
    assert bool(row["has_ev_2023"]) is True and bool(row["has_h2_2023"]) is False


def test_fleet_series(shared_data):
    stock = data.load_national_fleet_stock()
    assert stock["year"].tolist() == list(range(2014, 2026))
    assert int(stock.set_index("year").loc[2022, "ev_stock"]) == 389_855
    assert int(stock.set_index("year").loc[2022, "fcev_stock"]) == 29_623
    monthly = data.load_ev_stock_sido_monthly()
    assert monthly["sido_code"].nunique() == 17
    dec_2022 = monthly[monthly["month"] == "2022-12-01"]["ev_stock"].sum()
    assert dec_2022 == 389_855
    by_sido = data.load_ev_fcev_stock_sido()
    assert len(by_sido) == 51 and by_sido["sido_code"].nunique() == 17
    sigungu = data.load_ev_registrations_sigungu()
    assert int(sigungu["total"].sum()) == 719_039
    assert set(sigungu["use"]) == {"business", "non_business"}


def test_tollgate_od(shared_data):
    od = data.load_tollgate_od()
    assert od["date"].min().strftime("%Y-%m-%d") == "2022-10-01"
    assert od["date"].max().strftime("%Y-%m-%d") == "2022-10-31"
    assert len(od) == 14_906 * 2 * 6
    assert set(od["vehicle_class"]) == set(range(1, 7))
    first = od[(od["date"] == "2022-10-01") & (od["origin_gate_code"] == 101) & (od["destination_gate_code"] == 102)]
    assert first.loc[first["direction"] == "to_destination", "vehicles"].sum() == 4495
    assert (od["vehicles"] >= 0).all() and np.issubdtype(od["vehicles"].dtype, np.integer)


def test_sido_names():
    assert data.sido_code_for_name("강원도") == data.sido_code_for_name("강원특별자치도") == "32"
    assert data.sido_code_for_name("Seoul") == "11"
    with pytest.raises(ValidationError, match="unknown province"):
        data.sido_code_for_name("Atlantis")
