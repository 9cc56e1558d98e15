"""Hostile inputs (issue #14, "no silent wrong answers"): data files, scenario and sweep files and command-line
values that used to give a wrong answer with exit 0, or a traceback. Each case asserts a clear error naming the
problem and the fix, or an honest result.

Data cases build a data folder in tmp_path of links to the real files, with the one file under test replaced by a
modified copy; nothing is written into the repository or the shared data folder."""

from __future__ import annotations

import os
import tomllib
import warnings
from pathlib import Path

import pytest

from mobility_plan import DataSourceError, ValidationError, data
from mobility_plan.scenario import SCENARIO_DIR, load_scenario
from mobility_plan.sweep import MAX_SWEEP_RUNS, load_sweep, sweep_from_dict

from .conftest import assert_clear_error, tree_state

pytestmark = pytest.mark.filterwarnings("ignore::mobility_plan.data.ChangedDataWarning")

STOCK = "fleet/national_ev_fcev_stock_yearend.csv"
KEPCO = "stations/kepco_ev_stations_20250630.csv"
HYDROGEN = "stations/hydrogen_stations_2024.csv"
REST_AREAS = "stations/rest_areas_20210809.csv"
ACCEPT = data.ACCEPT_CHANGED_ENV


@pytest.fixture(autouse=True)
def _own_cache(monkeypatch, tmp_path):
    monkeypatch.setenv(data.CACHE_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(ACCEPT, raising=False)


def _data_folder(tmp_path: Path, shared_data: Path, name: str, edit, *, encoding: str = "utf-8") -> Path:
    """A data folder of links to every registered file, with ``name`` replaced by ``edit(text)``."""
    root = tmp_path / "data"
    for entry in data.load_sources().values():
        link = root / entry.file
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(shared_data / entry.file)
    target = root / name
    text = (shared_data / name).read_bytes().decode(encoding)
    target.unlink()
    if edit is not None:
        target.write_bytes(edit(text).encode(encoding))
    return root


def _env(root: Path, tmp_path: Path, *, accept: str | None = None) -> dict[str, str]:
    env = {data.DATA_DIR_ENV: str(root), data.CACHE_DIR_ENV: str(tmp_path / "cache")}
    if accept:
        env[ACCEPT] = accept
    return env


def _swap_lat_lon_header(text: str) -> str:
    header, rest = text.split("\n", 1)
    return header.replace("위도", "@").replace("경도", "위도").replace("@", "경도") + "\n" + rest


def _scale_stock(text: str, factor: int, *, year: str | None = None) -> str:
    lines = text.splitlines(keepends=True)
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",", 3)
        if year is None or cells[0] == year:
            cells[1], cells[2] = str(int(cells[1]) * factor), str(int(cells[2]) * factor)
        out.append(",".join(cells))
    return "".join(out)


# --------------------------------------------------------------------------- data files, through the CLI


def test_swapped_kepco_coordinates_stop_the_run_instead_of_zero_stations(run_cli, tmp_path, shared_data):
    root = _data_folder(tmp_path, shared_data, KEPCO, _swap_lat_lon_header, encoding="cp949")
    result = run_cli("summary", env=_env(root, tmp_path, accept="kepco_ev_stations"), timeout=300)
    assert_clear_error(result, "latitude and longitude are swapped", "위도", "경도", "kepco_ev_stations_20250630.csv")


def test_changed_kepco_file_is_refused_with_both_fixes(run_cli, tmp_path, shared_data):
    root = _data_folder(tmp_path, shared_data, KEPCO, _swap_lat_lon_header, encoding="cp949")
    result = run_cli("summary", env=_env(root, tmp_path), timeout=300)
    assert_clear_error(result, "not the registered 'kepco_ev_stations' file", "SHA-256",
                       f"{ACCEPT}=kepco_ev_stations", "Restore the original")


def test_stock_table_times_100_is_refused_not_projected(run_cli, tmp_path, shared_data):
    root = _data_folder(tmp_path, shared_data, STOCK, lambda text: _scale_stock(text, 100))
    result = run_cli("fleet", "--vehicle", "ev", "--year", "2030", env=_env(root, tmp_path, accept="all"))
    assert_clear_error(result, "implausible national stock", "vehicles of all kinds registered in Korea")


def test_stock_file_replaced_by_a_folder(run_cli, tmp_path, shared_data):
    root = _data_folder(tmp_path, shared_data, STOCK, None)
    (root / STOCK).mkdir()
    result = run_cli("fleet", "--vehicle", "ev", "--year", "2030", env=_env(root, tmp_path))
    output = assert_clear_error(result, "is a folder, not a file", "national_ev_fcev_stock_yearend.csv")
    assert "does not exist" not in output


def test_stock_file_replaced_by_a_fifo_does_not_hang(run_cli, tmp_path, shared_data):
    root = _data_folder(tmp_path, shared_data, STOCK, None)
    os.mkfifo(root / STOCK)
    result = run_cli("fleet", "--vehicle", "ev", "--year", "2030", env=_env(root, tmp_path), timeout=120)
    assert_clear_error(result, "named pipe (FIFO)", "national_ev_fcev_stock_yearend.csv")


def test_data_status_names_what_differs(run_cli, tmp_path, shared_data):
    root = _data_folder(tmp_path, shared_data, STOCK, lambda text: text + "2026,1000000,50000,mine\n")
    result = run_cli("data", "status", "--data-dir", str(root), "--quick", env=_env(root, tmp_path))
    assert result.returncode == 1, result.stderr  # --quick skips checksums but still compares sizes
    result = run_cli("data", "status", "--data-dir", str(root), env=_env(root, tmp_path))
    output = result.stdout + result.stderr
    assert result.returncode == 1 and "Traceback" not in output
    assert "national_fleet_stock" in output and "bytes instead of the registered" in output


# --------------------------------------------------------------------------- data files, library calls


@pytest.mark.parametrize("edit, needle", [
    (lambda text: _scale_stock(text, 100, year="2016"), "x190 in a year"),
    (lambda text: text.replace("2019,", "2018,", 1), "repeat the same year_end"),
    (lambda text: text.replace("2022,389855,", '2022,"389,855",', 1), "non-numeric value(s) (line 10: '389,855')"),
    (lambda text: text.replace("389855", "-389855", 1), "negative value(s)"),
    (lambda text: text.replace("2014,", "1914,", 1), "year_end 1914 is outside the years mobility_plan handles"),
    (lambda text: text.replace("2025,", "2095,", 1), "year_end 2095 is outside the years mobility_plan handles"),
], ids=["one-row-x100", "duplicate-year", "non-numeric", "negative", "year-1914", "year-2095"])
def test_malformed_stock_rows_are_refused(tmp_path, shared_data, edit, needle):
    root = _data_folder(tmp_path, shared_data, STOCK, edit)
    with pytest.raises(DataSourceError) as info:
        data.load_national_fleet_stock(directory=root, accept_changed=True)
    assert needle in str(info.value) and STOCK in str(info.value)


def test_swapped_hydrogen_coordinates_are_refused(tmp_path, shared_data):
    root = _data_folder(tmp_path, shared_data, HYDROGEN, _swap_lat_lon_header)
    with pytest.raises(DataSourceError, match="swapped"):
        data.load_hydrogen_stations(directory=root, accept_changed=True)


def test_projected_coordinates_in_rest_areas_are_refused(tmp_path, shared_data):
    def to_metres(text: str) -> str:
        lines = text.split("\n")
        header = lines[0].split(",")
        lat, lon = header.index("위도"), header.index("경도")
        for i in range(1, len(lines)):
            cells = lines[i].split(",")
            if len(cells) == len(header):
                cells[lat], cells[lon] = "1950000.0", "955000.0"
                lines[i] = ",".join(cells)
        return "\n".join(lines)

    root = _data_folder(tmp_path, shared_data, REST_AREAS, to_metres, encoding="cp949")
    with pytest.raises(DataSourceError, match="projected metres"):
        data.load_rest_areas(directory=root, accept_changed=True)


def test_a_few_stations_outside_korea_give_an_honest_count(tmp_path, shared_data):
    def move_two(text: str) -> str:
        lines = text.split("\n")
        for i in (1, 2):
            cells = lines[i].split(",")
            cells[-2], cells[-1] = "35.68", "139.69"  # Tokyo
            lines[i] = ",".join(cells)
        return "\n".join(lines)

    root = _data_folder(tmp_path, shared_data, HYDROGEN, move_two)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stations = data.load_hydrogen_stations(directory=root, accept_changed=True)
    messages = [str(w.message) for w in caught if issubclass(w.category, data.DataQualityWarning)]
    assert messages and "2 of 221 points lie outside Korea" in messages[0]
    assert int(stations["valid_location"].sum()) == 219


def test_kepco_in_another_encoding(tmp_path, shared_data):
    root = _data_folder(tmp_path, shared_data, KEPCO, lambda text: text, encoding="cp949")
    (root / KEPCO).write_bytes((shared_data / KEPCO).read_bytes().decode("cp949").encode("utf-8"))
    with pytest.raises(DataSourceError, match="not valid cp949 text.*MOBILITY_PLAN_ACCEPT_CHANGED_DATA"):
        data.load_kepco_ev_stations(directory=root)


def test_truncated_rest_area_file(tmp_path, shared_data):
    root = _data_folder(tmp_path, shared_data, REST_AREAS, lambda text: text[: len(text) // 3], encoding="cp949")
    with pytest.raises(DataSourceError, match=r"data rows instead of 199 \(truncated\?\)"):
        data.load_rest_areas(directory=root)


def test_empty_stock_file(tmp_path, shared_data):
    root = _data_folder(tmp_path, shared_data, STOCK, lambda text: "")
    with pytest.raises(DataSourceError, match="it is empty"):
        data.load_national_fleet_stock(directory=root)
    with pytest.raises(DataSourceError, match="is empty"):
        data.load_national_fleet_stock(directory=root, accept_changed=True)


def test_extra_and_missing_columns(tmp_path, shared_data):
    root = _data_folder(tmp_path, shared_data, STOCK, lambda text: text.replace("\n", ",x\n"))
    with pytest.raises(DataSourceError, match="5 columns instead of 4"):
        data.load_national_fleet_stock(directory=root)
    (root / STOCK).write_text((shared_data / STOCK).read_text(encoding="utf-8").replace("ev_stock,", "evs,", 1),
                              encoding="utf-8")
    with pytest.raises(DataSourceError, match=r"\['ev_stock'\] are missing"):
        data.load_national_fleet_stock(directory=root)


def test_duplicated_month_and_registration_rows(tmp_path, shared_data):
    monthly = "fleet/ev_stock_sido_monthly.csv"
    root = _data_folder(tmp_path, shared_data, monthly, lambda text: text.replace("2019-01,", "2018-12,", 1))
    with pytest.raises(DataSourceError, match="repeat the same date"):
        data.load_ev_stock_sido_monthly(directory=root, accept_changed=True)


# --------------------------------------------------------------------------- scenario files


def _scenario_file(tmp_path: Path, edit) -> Path:
    """korea_2030.toml with one line edited (plain text, so TOML's nan / inf can be written)."""
    text = (SCENARIO_DIR / "korea_2030.toml").read_text(encoding="utf-8")
    path = tmp_path / "edited.toml"
    path.write_text(edit(text), encoding="utf-8")
    return path


@pytest.mark.parametrize("old, new, needle", [
    ("range_km = 600.0", "range_km = nan", "'range_km' must be a finite number, got nan"),
    ("range_km = 600.0", "range_km = inf", "'range_km' must be a finite number, got inf"),
    ("radius_s = 1800.0", "radius_s = nan", "'radius_s' must be a finite number"),
    ("time_limit_s = 60", "time_limit_s = inf", "'time_limit_s' must be a finite number"),
    ("target_vehicles = 850000", "target_vehicles = nan", "'target_vehicles' must be a finite number"),
    ("station_utilisation = 0.7", "station_utilisation = nan", "'station_utilisation' must be a finite number"),
    ("station_capacity_kg_per_day = 250", "station_capacity_kg_per_day = -inf",
     "'station_capacity_kg_per_day' must be a finite number"),
    ('model = "logistic"', 'model = "logistic"\nprior_share = nan', "'prior_share' must be a finite number"),
], ids=["range-nan", "range-inf", "radius-nan", "time-limit-inf", "target-nan", "utilisation-nan",
        "capacity-minus-inf", "prior-share-nan"])
def test_nan_or_inf_in_every_scenario_number(tmp_path, old, new, needle):
    path = _scenario_file(tmp_path, lambda text: text.replace(old, new, 1))
    with pytest.raises(ValidationError) as info:
        load_scenario(path)
    assert needle in str(info.value) and str(path) in str(info.value)


@pytest.mark.parametrize("old, new, needle", [
    ("lock_existing = true", 'lock_existing = "no"', "'lock_existing' must be true or false"),
    ('name = "regional_h2"', 'name = "regional_h2"\nregion = 11', "'region' must be a region code as a string"),
    ("target_year = 2030", 'target_year = "2030"', "'target_year' must be a whole year such as 2030, got '2030'"),
    ("years = [2026, 2028, 2030]", "years = [2026, 2028, 3030]", "3030 is outside the years"),
    ("target_vehicles = 850000", "target_vehicles = 85000000", "above the 26,298,000 vehicles of all kinds"),
    ("range_km = 600.0", "rang_km = 600.0", "unknown key 'rang_km'; did you mean 'range_km'?"),
    ('name = "korea_2030"', 'name = "../../x"', "'name' '../../x' is not a plain name"),
    ('name = "korea_2030"', 'name = 2030', "'name' must be a string"),
], ids=["no-as-boolean", "int-region", "string-year", "year-3030", "target-above-registered", "unknown-key",
        "traversal-name", "int-name"])
def test_wrong_types_in_scenarios(tmp_path, old, new, needle):
    path = _scenario_file(tmp_path, lambda text: text.replace(old, new, 1))
    with pytest.raises(ValidationError) as info:
        load_scenario(path)
    assert needle in str(info.value) and str(path) in str(info.value)


def test_traversal_name_writes_nothing_outside_out(run_cli, tmp_path):
    path = _scenario_file(tmp_path, lambda text: text.replace('name = "korea_2030"', 'name = "../../x"', 1))
    before = tree_state(tmp_path)
    result = run_cli("plan", str(path), str(SCENARIO_DIR / "seoul_central_ev.toml"), "--out",
                     str(tmp_path / "work" / "out"), "--quiet")
    assert_clear_error(result, "is not a plain name", "edited.toml")
    after = {k: v for k, v in tree_state(tmp_path).items() if not k.startswith(("cache/", "cwd/"))}
    assert after == before and not (tmp_path / "x").exists()


def test_no_as_boolean_through_the_cli(run_cli, tmp_path):
    path = _scenario_file(tmp_path, lambda text: text.replace("lock_existing = true", 'lock_existing = "no"', 1))
    result = run_cli("plan", str(path), "--out", str(tmp_path / "out"), "--quiet")
    assert_clear_error(result, "lock_existing", "true or false", "the string 'no'", "edited.toml")
    assert not (tmp_path / "out").exists()


def test_scenario_path_that_is_a_fifo(run_cli, tmp_path):
    fifo = tmp_path / "scenario.toml"
    os.mkfifo(fifo)
    result = run_cli("plan", str(fifo), "--out", str(tmp_path / "out"), "--quiet", timeout=120)
    assert_clear_error(result, "named pipe (FIFO)")


# --------------------------------------------------------------------------- sweep files


def _sweep(grid: dict, **head) -> dict:
    return {"sweep": {"name": "t", "base": "korea_2022_backcast", **head}, "grid": grid}


def test_huge_grid_is_refused_before_any_run_is_built():
    # 3 keys x 1,000 values = 10^9 runs: building them would need terabytes, counting takes microseconds
    values = list(range(1000))
    grid = {"fleet.target_vehicles": values, "layer.x.range_km": values, "fleet.prior_share": values}
    with pytest.raises(ValidationError, match=r"1000 x 1000 x 1000 = 1,000,000,000 runs.*--max-runs 1000000000"):
        sweep_from_dict(_sweep(grid))


@pytest.mark.slow
def test_huge_grid_through_the_cli_and_the_explicit_flag(run_cli, tmp_path):
    path = tmp_path / "big.toml"
    values = ", ".join(str(300 + v) for v in range(100))
    path.write_text('[sweep]\nname = "big"\nbase = "korea_2030"\n[grid]\n'
                    f'"layer.expressway_h2.range_km" = [{values}]\n"fleet.target_vehicles" = [{values}]\n'
                    f'"fleet.prior_share" = [{values}]\n', encoding="utf-8")
    result = run_cli("sweep", str(path), "--out", str(tmp_path / "out"), "--workers", "0", "--quiet")
    assert_clear_error(result, "1,000,000 runs", f"limit of {MAX_SWEEP_RUNS:,}", "--max-runs")
    assert not (tmp_path / "out").exists()
    result = run_cli("sweep", str(path), "--out", str(tmp_path / "out"), "--max-runs", "0")
    assert_clear_error(result, "--max-runs", "must be a whole number >= 1")


def test_max_runs_is_the_explicit_switch():
    grid = {"fleet.target_vehicles": [300000, 350000, 400000], "scenario.level": ["sido", "sigungu"]}
    with pytest.raises(ValidationError, match="3 x 2 = 6 runs, more than the limit of 5"):
        sweep_from_dict(_sweep(grid), max_runs=5)
    assert len(sweep_from_dict(_sweep(grid), max_runs=6).runs) == 6


@pytest.mark.parametrize("content, needle", [
    (_sweep({"fleet.target_vehicles": [430000.0, float("nan")]}), "NaN or infinity"),
    (_sweep({"layer.x.budgets_by_year": [{"2022": float("inf")}]}), "NaN or infinity"),
    (_sweep({"fleet.target_vehicles": [430000]}, time_limit_s=float("nan")), "'time_limit_s' must be a finite"),
    (_sweep({"fleet.target_vehicles": [430000]}, name="../../x"), "'name' '../../x' is not a plain name"),
    (_sweep({"fleet.target_vehicles": [430000]}, layers="expressway_h2"), "'layers' must be a list"),
    (_sweep({"fleet.target_vehicles": [430000]}, base=7), "'base' must be a string"),
], ids=["nan-value", "inf-in-table", "nan-time-limit", "traversal-name", "layers-string", "int-base"])
def test_wrong_types_in_sweeps(content, needle):
    with pytest.raises(ValidationError) as info:
        sweep_from_dict(content)
    assert needle in str(info.value)


def test_long_sweep_names_give_valid_run_scenario_names():
    sweep = sweep_from_dict(_sweep({"fleet.target_vehicles": [430000, 431000]}, name="n" * 64))
    names = [run.content["scenario"]["name"] for run in sweep.runs]
    assert all(len(name) <= 64 and ".." not in name for name in names)


def test_sweep_path_that_is_a_folder(tmp_path):
    (tmp_path / "s.toml").mkdir()
    with pytest.raises(ValidationError, match="is a folder, not a file"):
        load_sweep(tmp_path / "s.toml")


# --------------------------------------------------------------------------- command-line values


@pytest.mark.parametrize("args, needles", [
    (["--top", "0"], ["--top", "must be a whole number >= 1, got 0"]),
    (["--top", "-3"], ["--top", "must be a whole number >= 1"]),
    (["--target", "40000000"], ["--target 40,000,000 is above the 26,298,000 vehicles"]),
    (["--target", "nan"], ["argument --target: must be a finite number"]),
], ids=["top-0", "top-negative", "target-above-registered", "target-nan"])
def test_fleet_command_values(run_cli, args, needles):
    result = run_cli("fleet", "--vehicle", "ev", "--year", "2030", *args)
    assert_clear_error(result, *needles)


def test_fleet_year_outside_the_documented_range(run_cli):
    result = run_cli("fleet", "--vehicle", "ev", "--year", "20300")
    assert_clear_error(result, "--year 20300 is outside the years mobility_plan handles", "2010 to 2050")


def test_the_shipped_scenarios_still_pass_every_rule():
    for path in sorted(SCENARIO_DIR.glob("*.toml")):
        content = tomllib.loads(path.read_text(encoding="utf-8"))
        assert load_scenario(path).name == content["scenario"]["name"]


@pytest.mark.parametrize("args, needle", [
    (["plan", "korea_2030", "--out", "out", "--time-limit", "nan"], "argument --time-limit: must be a finite number"),
    (["solve", "--model", "frlm", "--range-km", "inf", "--p", "3"], "argument --range-km: must be a finite number"),
    (["solve", "--model", "lscp", "--radius", "-5"], "argument --radius: must be a finite number >= 0"),
], ids=["plan-time-limit-nan", "solve-range-inf", "solve-radius-negative"])
def test_nan_inf_or_negative_numbers_on_the_command_line(run_cli, args, needle):
    assert_clear_error(run_cli(*args), needle)


def test_grid_values_of_another_type_than_the_base_are_refused_up_front():
    content = {"sweep": {"name": "t", "base": "korea_2030"},
               "grid": {"layer.expressway_h2.lock_existing": [True, "no"], "fleet.target_vehicles": ["850000"]}}
    with pytest.raises(ValidationError) as info:
        sweep_from_dict(content)
    message = str(info.value)
    assert "'layer.expressway_h2.lock_existing' has ['no'], but the base scenario gives a boolean (True)" in message
    assert "'fleet.target_vehicles' has ['850000'], but the base scenario gives a number" in message
    # integers and floats are both numbers; a key the base lacks is left to the per-run checks
    grid = {"layer.expressway_h2.range_km": [300, 450.5], "layer.expressway_h2.region": ["11"]}
    assert len(sweep_from_dict({"sweep": {"name": "t", "base": "korea_2030"}, "grid": grid}).runs) == 2
