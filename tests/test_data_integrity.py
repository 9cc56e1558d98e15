"""Data files are checked when loaded: registry checksums (cached), the setting that accepts a newer file,
and sanity checks of content (swapped coordinates, implausible stocks, duplicates, non-numeric cells).

Every test builds a modified copy of a real file under tmp_path and points the loader at it."""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

import pytest

from mobility_plan import DataSourceError, data

STOCK = "fleet/national_ev_fcev_stock_yearend.csv"
KEPCO = "stations/kepco_ev_stations_20250630.csv"
HYDROGEN = "stations/hydrogen_stations_2024.csv"


@pytest.fixture(autouse=True)
def _own_cache(monkeypatch, tmp_path):
    """A fresh checksum cache per test, and no accepted changes inherited from the environment."""
    monkeypatch.setenv(data.CACHE_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(data.ACCEPT_CHANGED_ENV, raising=False)


def _copy(shared_data: Path, root: Path, name: str) -> Path:
    target = root / "data" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(shared_data / name, target)
    target.chmod(0o644)
    return target


def _rewrite(path: Path, encoding: str, edit) -> None:
    text = path.read_bytes().decode(encoding)
    path.write_bytes(edit(text).encode(encoding))


def _scale_stock(text: str, factor: int, *, year: str | None = None) -> str:
    lines = text.splitlines(keepends=True)
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",", 3)
        if year is None or cells[0].lstrip("\ufeff") == year:
            cells[1] = str(int(cells[1]) * factor)
            cells[2] = str(int(cells[2]) * factor)
        out.append(",".join(cells))
    return "".join(out)


# --------------------------------------------------------------------------- checksums


def test_unchanged_files_pass_and_the_digest_is_cached_by_size_and_mtime(shared_data, tmp_path):
    path = _copy(shared_data, tmp_path, STOCK)
    assert data.source_difference("national_fleet_stock", path) is None
    cache = tmp_path / "cache" / "checksums.json"
    stored = json.loads(cache.read_text(encoding="utf-8"))
    key = str(path.resolve())
    assert stored[key][2] == data.load_sources()["national_fleet_stock"].sha256
    # the cache is what answers while size and mtime match: a planted digest is returned as is ...
    stored[key][2] = "0" * 64
    cache.write_text(json.dumps(stored), encoding="utf-8")
    data._CHECKSUMS.clear()
    data._CHECKSUMS_LOADED.clear()
    assert data.file_sha256(path) == "0" * 64
    # ... and a new modification time makes it read the file again
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))
    assert data.file_sha256(path) == data.load_sources()["national_fleet_stock"].sha256


def test_a_corrupt_or_unwritable_cache_only_costs_speed(shared_data, tmp_path, monkeypatch):
    path = _copy(shared_data, tmp_path, STOCK)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "checksums.json").write_text("{not json", encoding="utf-8")
    data._CHECKSUMS_LOADED.clear()
    assert data.source_difference("national_fleet_stock", path) is None
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder should be", encoding="utf-8")
    monkeypatch.setenv(data.CACHE_DIR_ENV, str(blocked))
    assert data.file_sha256(path) == data.load_sources()["national_fleet_stock"].sha256


def test_changed_file_is_refused_naming_file_difference_and_both_fixes(shared_data, tmp_path):
    path = _copy(shared_data, tmp_path, STOCK)
    _rewrite(path, "utf-8", lambda text: text.replace("389855", "389856"))  # same size, one digit
    with pytest.raises(DataSourceError) as info:
        data.load_national_fleet_stock(directory=tmp_path / "data")
    message = str(info.value)
    assert str(path) in message and "national_fleet_stock" in message and "SHA-256" in message
    assert f"{data.ACCEPT_CHANGED_ENV}=national_fleet_stock" in message and "Restore the original" in message


def test_accepting_a_newer_file_warns_and_loads_it(shared_data, tmp_path, monkeypatch):
    path = _copy(shared_data, tmp_path, STOCK)
    _rewrite(path, "utf-8", lambda text: text.replace("389855", "389856"))
    monkeypatch.setenv(data.ACCEPT_CHANGED_ENV, "kepco_ev_stations, national_fleet_stock")
    with pytest.warns(data.ChangedDataWarning, match="national_fleet_stock"):
        stock = data.load_national_fleet_stock(directory=tmp_path / "data")
    assert int(stock.set_index("year").loc[2022, "ev_stock"]) == 389_856
    monkeypatch.setenv(data.ACCEPT_CHANGED_ENV, "all")
    with pytest.warns(data.ChangedDataWarning):
        data.load_national_fleet_stock(directory=tmp_path / "data")
    monkeypatch.delenv(data.ACCEPT_CHANGED_ENV)
    with pytest.warns(data.ChangedDataWarning):
        data.load_national_fleet_stock(directory=tmp_path / "data", accept_changed=True)
    with pytest.raises(DataSourceError):
        data.load_national_fleet_stock(directory=tmp_path / "data")


def test_data_status_reports_the_difference(shared_data, tmp_path):
    path = _copy(shared_data, tmp_path, STOCK)
    path.write_bytes(path.read_bytes() + b"2026,1,1,x\n")
    report = data.check_sources(directory=tmp_path / "data").set_index("key")
    assert report.loc["national_fleet_stock", "status"] == "corrupt"
    assert "bytes" in report.loc["national_fleet_stock", "detail"]


@pytest.mark.parametrize("edit, needle", [
    (lambda text: "", "empty"),
    (lambda text: text[: len(text) // 2], "truncated"),
    (lambda text: text.rstrip("\n")[:-3], "cut off"),
    (lambda text: text.replace("fcev_stock,", "fcev_stock,extra,", 1), "5 columns instead of 4"),
    (lambda text: text.replace("fcev_stock", "fcev", 1), "['fcev_stock'] are missing"),
])
def test_changed_table_diagnosis_says_what_differs(shared_data, tmp_path, edit, needle):
    path = _copy(shared_data, tmp_path, STOCK)
    _rewrite(path, "utf-8", edit)
    with pytest.raises(DataSourceError, match="Restore the original") as info:
        data.load_national_fleet_stock(directory=tmp_path / "data")
    assert needle in str(info.value) and str(path) in str(info.value)


def test_wrong_encoding_is_named_even_when_the_change_is_accepted(shared_data, tmp_path):
    path = _copy(shared_data, tmp_path, KEPCO)
    path.write_bytes(path.read_bytes().decode("cp949").encode("utf-8"))
    with pytest.raises(DataSourceError, match="not valid cp949 text"):
        data.load_kepco_ev_stations(directory=tmp_path / "data")
    with pytest.warns(data.ChangedDataWarning), pytest.raises(DataSourceError, match="cp949"):
        data.load_kepco_ev_stations(directory=tmp_path / "data", accept_changed=True)


def test_folder_or_fifo_in_place_of_a_file_is_named_as_such(tmp_path):
    target = tmp_path / "data" / STOCK
    target.mkdir(parents=True)
    with pytest.raises(DataSourceError, match="is a folder, not a file"):
        data.load_national_fleet_stock(directory=tmp_path / "data")
    assert data.check_sources(directory=tmp_path / "data").set_index("key").loc[
        "national_fleet_stock", "status"] == "corrupt"
    target.rmdir()
    os.mkfifo(target)
    with pytest.raises(DataSourceError, match=r"named pipe \(FIFO\)") as info:  # and it does not block
        data.load_national_fleet_stock(directory=tmp_path / "data")
    assert "does not exist" not in str(info.value)


# --------------------------------------------------------------------------- coordinates


def _swap_header(text: str) -> str:
    header, rest = text.split("\n", 1)
    header = header.replace("위도", "@").replace("경도", "위도").replace("@", "경도")
    return header + "\n" + rest


@pytest.mark.parametrize("name, loader, encoding", [
    (KEPCO, data.load_kepco_ev_stations, "cp949"),
    (HYDROGEN, data.load_hydrogen_stations, "utf-8"),
])
def test_swapped_latitude_and_longitude_are_refused(shared_data, tmp_path, name, loader, encoding):
    path = _copy(shared_data, tmp_path, name)
    _rewrite(path, encoding, _swap_header)
    with pytest.warns(data.ChangedDataWarning), pytest.raises(DataSourceError, match="swapped") as info:
        loader(directory=tmp_path / "data", accept_changed=True)
    assert "'위도'" in str(info.value) and "'경도'" in str(info.value) and str(path) in str(info.value)


def _move_rows(text: str, count: int, lon: str, lat: str) -> str:
    """Put the coordinates of the first ``count`` hydrogen stations elsewhere (last two columns)."""
    lines = text.split("\n")
    for i in range(1, count + 1):
        cells = lines[i].split(",")
        cells[-2], cells[-1] = lat, lon
        lines[i] = ",".join(cells)
    return "\n".join(lines)


def test_a_few_points_outside_korea_are_counted_in_a_warning(shared_data, tmp_path):
    path = _copy(shared_data, tmp_path, HYDROGEN)
    _rewrite(path, "utf-8", lambda text: _move_rows(text, 3, "139.69", "35.68"))  # Tokyo
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stations = data.load_hydrogen_stations(directory=tmp_path / "data", accept_changed=True)
    quality = [w for w in caught if issubclass(w.category, data.DataQualityWarning)]
    assert len(quality) == 1 and "3 of 221 points lie outside Korea" in str(quality[0].message)
    assert int((~stations["valid_location"]).sum()) == 3 and len(stations) == 221


def test_many_points_outside_korea_or_projected_metres_are_refused(shared_data, tmp_path):
    path = _copy(shared_data, tmp_path, HYDROGEN)
    original = path.read_bytes()
    _rewrite(path, "utf-8", lambda text: _move_rows(text, 40, "139.69", "35.68"))
    with pytest.warns(data.ChangedDataWarning), pytest.raises(DataSourceError, match="40 of 221 points"):
        data.load_hydrogen_stations(directory=tmp_path / "data", accept_changed=True)
    path.write_bytes(original)
    _rewrite(path, "utf-8", lambda text: _move_rows(text, 221, "955000.0", "1950000.0"))
    with pytest.warns(data.ChangedDataWarning), pytest.raises(DataSourceError, match="projected metres"):
        data.load_hydrogen_stations(directory=tmp_path / "data", accept_changed=True)


# --------------------------------------------------------------------------- stock tables


@pytest.mark.parametrize("edit, needle", [
    (lambda text: _scale_stock(text, 100), "2022: 41,"),               # 2022: 41.9 M > 25.5 M vehicles
    (lambda text: _scale_stock(text, 100, year="2016"), "x190 in a year"),     # one row multiplied
    (lambda text: text.replace("2019,", "2018,", 1), "repeat the same year_end"),
    (lambda text: text.replace("389855", "389,855", 1).replace("389,855,", '"389,855",', 1), "non-numeric"),
    (lambda text: text.replace("389855", "-389855", 1), "negative"),
    (lambda text: text.replace("389855", "389855.5", 1), "fractional"),
    (lambda text: text.replace("2014,", "1914,", 1), "outside the years mobility_plan handles"),
    (lambda text: text.replace("389855,", ",", 1), "empty cell"),
])
def test_implausible_national_stock_is_refused(shared_data, tmp_path, edit, needle):
    path = _copy(shared_data, tmp_path, STOCK)
    _rewrite(path, "utf-8", edit)
    with pytest.warns(data.ChangedDataWarning), pytest.raises(DataSourceError) as info:
        data.load_national_fleet_stock(directory=tmp_path / "data", accept_changed=True)
    assert needle in str(info.value) and str(path) in str(info.value)


def test_the_real_stock_history_passes_the_plausibility_rules(shared_data):
    stock = data.load_national_fleet_stock()
    for column in ("ev_stock", "fcev_stock"):
        ratios = stock[column] / stock[column].shift()
        grown = ratios[stock[column].shift() >= 100]
        assert grown.max() < data.MAX_STOCK_GROWTH_PER_YEAR and grown.min() >= data.MIN_STOCK_RATIO_PER_YEAR


def test_monthly_and_provincial_tables_refuse_duplicates_and_bad_cells(shared_data, tmp_path):
    monthly = _copy(shared_data, tmp_path, "fleet/ev_stock_sido_monthly.csv")
    _rewrite(monthly, "utf-8", lambda text: text.replace("2019-01,", "2018-12,", 1))
    with pytest.warns(data.ChangedDataWarning), pytest.raises(DataSourceError, match="repeat the same date"):
        data.load_ev_stock_sido_monthly(directory=tmp_path / "data", accept_changed=True)
    sido = _copy(shared_data, tmp_path, "fleet/ev_fcev_stock_sido.csv")
    _rewrite(sido, "utf-8", lambda text: text.replace("72937", "unknown", 1))
    with pytest.warns(data.ChangedDataWarning), pytest.raises(DataSourceError, match="non-numeric.*'unknown'"):
        data.load_ev_fcev_stock_sido(directory=tmp_path / "data", accept_changed=True)
    registrations = _copy(shared_data, tmp_path, "fleet/ev_registrations_sigungu_20250407.csv")
    _rewrite(registrations, "cp949", lambda text: text + text.split("\n")[1] + "\n")
    with pytest.warns(data.ChangedDataWarning), pytest.raises(DataSourceError, match="repeat the same"):
        data.load_ev_registrations_sigungu(directory=tmp_path / "data", accept_changed=True)


# --------------------------------------------------------------------------- fact tables


def test_registered_vehicles_table_has_sources_and_bounds_the_fleet():
    table = data.load_registered_vehicles()
    assert table["source"].str.contains("MOLIT").all() and table["year"].is_monotonic_increasing
    assert table["vehicles"].is_monotonic_increasing and 20e6 < table["vehicles"].min()
    assert data.registered_vehicles(2040) == (26_298_000, 2024)
    assert data.registered_vehicles(2022) == (25_503_000, 2022)
    assert data.registered_vehicles(2018) == (25_503_000, 2022)  # a later total bounds an earlier year
    assert data.registered_vehicles(2012) == (20_989_885, 2015)
    assert data.fleet_size_problem(4_200_000, year=2030, what="target") is None
    assert "above the 26,298,000 vehicles" in data.fleet_size_problem(42_000_000, year=2030, what="target")
    assert "finite" in data.fleet_size_problem(float("nan"), year=2030, what="target")


def test_year_range_is_documented_and_enforced():
    assert data.check_year(2030, what="year") is None
    assert data.check_year(data.FIRST_YEAR, what="year") is None and data.check_year(data.LAST_YEAR, what="y") is None
    assert "outside the years" in data.check_year(20300, what="year")
    assert "whole year" in data.check_year(True, what="year")
    assert "whole year" in data.check_year(2030.5, what="year")


# --------------------------------------------------------------------------- networks


def test_registered_network_files_are_checked_but_a_folder_of_your_own_is_not(shared_data, tmp_path, monkeypatch):
    from mobility_plan import network

    for folder in ("data/expressway_2011", "own"):
        (tmp_path / folder).mkdir(parents=True)
        for name in ("node.csv", "arc_twoway.csv", "arc_oneway.csv", "demand_matrix.csv"):
            shutil.copy(shared_data / "expressway_2011" / name, tmp_path / folder / name)
        node = tmp_path / folder / "node.csv"
        node.chmod(0o644)
        node.write_bytes(node.read_bytes().replace(b"37.", b"37.0", 1))
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "data"))
    with pytest.raises(DataSourceError, match="not the registered 'expressway_nodes' file"):
        network.graph_from_expressway()
    assert network.graph_from_expressway(tmp_path / "own").number_of_nodes() == 324
    graph = tmp_path / "data" / "osm" / "seoul_yongsan_drive.graphml"
    graph.parent.mkdir()
    graph.write_bytes((shared_data / "osm" / "seoul_yongsan_drive.graphml").read_bytes()[:-100])
    with pytest.raises(DataSourceError, match="not the registered 'osm_seoul_yongsan' file"):
        network.load_graph(graph)
    graph.unlink()
    graph.mkdir()
    with pytest.raises(DataSourceError, match="is a folder, not a file"):
        network.load_graphml(graph)
