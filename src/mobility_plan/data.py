"""Data directory, dataset registry and loaders of the shipped Korean tables.

Every external file is read in place from the data directory (see :func:`data_dir`)
and described in ``data/sources.toml``. Loaders return tidy tables with English
column names, proper dtypes and, for point data, a GeoDataFrame in EPSG:4326.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ._errors import DataSourceError, ValidationError
from ._io import read_csv_text

__all__ = [
    "DATA_DIR_ENV",
    "PROJECT_ROOT",
    "PROJECT_DATA",
    "checkout_root",
    "tables_dir",
    "DataSource",
    "data_dir",
    "load_sources",
    "source_path",
    "check_sources",
    "load_sido_table",
    "sido_code_for_name",
    "load_hydrogen_stations",
    "load_kepco_ev_stations",
    "load_ev_chargers",
    "load_rest_areas",
    "load_national_fleet_stock",
    "load_ev_stock_sido_monthly",
    "load_ev_fcev_stock_sido",
    "load_ev_registrations_sigungu",
    "load_tollgate_od",
]

#: Environment variable that overrides the data directory.
DATA_DIR_ENV = "MOBILITY_PLAN_DATA_DIR"


def checkout_root() -> Path | None:
    """The source checkout this code runs from (editable install or ``PYTHONPATH=src``), else ``None``.

    A checkout is recognised by its layout: ``src/mobility_plan`` beside ``data/__init__.py`` and
    ``pyproject.toml``. An installed package (a wheel in site-packages) has none.
    """
    package = Path(__file__).resolve().parent
    root = package.parents[1]
    if package.parent.name == "src" and (root / "data" / "__init__.py").is_file() and (root / "pyproject.toml").is_file():
        return root
    return None


def tables_dir() -> Path:
    """The folder of the project's own tables (CSV tables, ``sources.toml``, ``scenarios/``, ``sweeps/``).

    In a source checkout this is its ``data/`` folder (the tables that go with this code); in an
    installed package, the package data ``mobility_plan.tables`` found through
    :mod:`importlib.resources`.

    Raises
    ------
    DataSourceError
        If neither is there (a broken installation).
    """
    root = checkout_root()
    if root is not None:
        return root / "data"
    from importlib.resources import files

    try:
        tables = files("mobility_plan.tables")
    except ModuleNotFoundError as exc:
        raise DataSourceError("the package data mobility_plan.tables is missing: the installation is broken; "
                              "reinstall mobility-plan (pip install --force-reinstall mobility-plan)") from exc
    if not isinstance(tables, Path):  # e.g. a zipped install: the tables must be plain files
        raise DataSourceError(f"the package data mobility_plan.tables is not a folder ({tables}); install "
                              "mobility-plan unzipped (pip install)")
    return tables


#: Root of the source checkout, or ``None`` for an installed package (see :func:`checkout_root`).
PROJECT_ROOT = checkout_root()
#: The project's own small tables (targets, parameters, registry, scenarios, sweeps): one home, see :func:`tables_dir`.
PROJECT_DATA = tables_dir()

#: Geographic CRS of every lon/lat output.
CRS_LONLAT = "EPSG:4326"
#: Metric CRS used for distances and areas (Korea 2000 / Unified CS).
CRS_METRIC = "EPSG:5179"
#: Bounding box of South Korea (lon_min, lat_min, lon_max, lat_max), islands included.
KOREA_BOUNDS = (124.5, 33.0, 131.0, 38.7)


def data_dir() -> Path:
    """Return the folder holding the external datasets.

    Resolved, in order, from the ``MOBILITY_PLAN_DATA_DIR`` environment variable; then, in a
    source checkout only, ``../shared/data`` beside the repository when that folder exists, then
    ``data/external`` inside the repository. An installed package has no default.

    Returns
    -------
    pathlib.Path
        The data directory (it may not exist yet; :func:`check_sources` says).

    Raises
    ------
    DataSourceError
        In an installed package when ``MOBILITY_PLAN_DATA_DIR`` is not set.
    """
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    root = checkout_root()
    if root is None:
        raise DataSourceError(f"no data directory: set {DATA_DIR_ENV} to the folder that holds the Korean datasets "
                              "(see the README, 'Data'); an installed mobility-plan has no default location")
    shared = root.parent / "shared" / "data"
    if shared.is_dir():
        return shared
    return root / "data" / "external"


@dataclass(frozen=True)
class DataSource:
    """One external dataset as listed in ``data/sources.toml``."""

    key: str
    file: str
    description: str
    publisher: str
    source: str
    licence: str
    encoding: str
    rows: int
    sha256: str


@lru_cache(maxsize=4)
def load_sources(path: Path | None = None) -> dict[str, DataSource]:
    """Read the dataset registry.

    Parameters
    ----------
    path
        Registry file; defaults to the shipped ``sources.toml`` (see :func:`tables_dir`).

    Returns
    -------
    dict of str to DataSource
        The datasets keyed by their registry key.
    """
    path = Path(path) if path else PROJECT_DATA / "sources.toml"
    try:
        entries = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DataSourceError(f"cannot read the dataset registry {path}: {exc}") from exc
    fields = DataSource.__dataclass_fields__
    sources: dict[str, DataSource] = {}
    for key, entry in entries.items():
        missing = [f for f in fields if f != "key" and f not in entry]
        if missing:
            raise DataSourceError(f"registry entry [{key}] in {path} lacks {missing}")
        sources[key] = DataSource(key=key, **{f: entry[f] for f in fields if f != "key"})
    return sources


def _resolve_dir(directory: Path | str | None) -> Path:
    return Path(directory) if directory is not None else data_dir()


def source_path(key: str, *, directory: Path | str | None = None) -> Path:
    """Return the path of a registered dataset, checking that it exists.

    Parameters
    ----------
    key
        Registry key, e.g. ``"hydrogen_stations"``.
    directory
        Data directory; defaults to :func:`data_dir`.

    Raises
    ------
    ValidationError
        If ``key`` is not in the registry.
    DataSourceError
        If the file is missing; the message says where to get it and which
        setting points the project at it.
    """
    sources = load_sources()
    if key not in sources:
        raise ValidationError(f"unknown dataset {key!r}; known: {sorted(sources)}")
    entry = sources[key]
    path = _resolve_dir(directory) / entry.file
    if not path.is_file():
        raise DataSourceError(
            f"dataset {key!r} not found: {path} does not exist. Get {entry.file!r} from "
            f"{entry.publisher} ({entry.source}, licence {entry.licence}) and place it "
            f"under the data directory, or set {DATA_DIR_ENV} to the folder that holds it."
        )
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_sources(*, directory: Path | str | None = None, verify_checksums: bool = True) -> pd.DataFrame:
    """Report which registered datasets are present, missing or corrupt.

    Parameters
    ----------
    directory
        Data directory; defaults to :func:`data_dir`.
    verify_checksums
        Compare each file's SHA-256 with the registry (slower on big files).

    Returns
    -------
    pandas.DataFrame
        One row per dataset: ``key``, ``file``, ``status`` (``ok``, ``missing`` or
        ``corrupt``), ``size_mb``, ``detail``.
    """
    root = _resolve_dir(directory)
    rows = []
    for key, entry in load_sources().items():
        path = root / entry.file
        if not path.is_file():
            rows.append((key, entry.file, "missing", np.nan, f"get it from {entry.source}"))
            continue
        size_mb = path.stat().st_size / 1e6
        if verify_checksums and _sha256(path) != entry.sha256:
            rows.append((key, entry.file, "corrupt", size_mb, "SHA-256 differs from the registry"))
            continue
        rows.append((key, entry.file, "ok", size_mb, ""))
    return pd.DataFrame(rows, columns=["key", "file", "status", "size_mb", "detail"])


def _read_source(key: str, directory: Path | str | None, columns: list[str], **kwargs) -> pd.DataFrame:
    entry = load_sources()[key]
    path = source_path(key, directory=directory)
    frame = read_csv_text(path, encoding=entry.encoding, expected_columns=columns, **kwargs)
    if entry.rows and len(frame) < entry.rows:
        raise DataSourceError(
            f"{path} has {len(frame)} data rows, fewer than the {entry.rows} expected: the "
            "file is truncated. Restore the original file (see data/sources.toml)."
        )
    return frame


def _points(frame: pd.DataFrame, *, lon: str = "lon", lat: str = "lat") -> gpd.GeoDataFrame:
    """Turn lon/lat columns into a GeoDataFrame in EPSG:4326, checking they lie in Korea."""
    for column in (lon, lat):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    lon_min, lat_min, lon_max, lat_max = KOREA_BOUNDS
    inside = frame[lon].between(lon_min, lon_max) & frame[lat].between(lat_min, lat_max)
    frame["valid_location"] = inside
    geometry = gpd.points_from_xy(frame[lon].where(inside), frame[lat].where(inside))
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=CRS_LONLAT)


# --------------------------------------------------------------------------- regions


@lru_cache(maxsize=1)
def load_sido_table() -> pd.DataFrame:
    """Return the 17 provinces (sido) with KOSTAT code, English and Korean names.

    Returns
    -------
    pandas.DataFrame
        Columns ``sido_code`` (2-digit string), ``name_en``, ``name_ko``,
        ``name_ko_short``, ``aliases_ko`` and ``source``.
    """
    table = read_csv_text(PROJECT_DATA / "regions_sido.csv", encoding="utf-8", dtype={"sido_code": str})
    table["aliases_ko"] = table["aliases_ko"].fillna("")
    return table


@lru_cache(maxsize=1)
def _sido_name_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for row in load_sido_table().itertuples():
        names = [row.name_ko, row.name_ko_short, row.name_en, *filter(None, row.aliases_ko.split(";"))]
        for name in names:
            index[name.strip()] = row.sido_code
    return index


def sido_code_for_name(name: str) -> str:
    """Return the 2-digit sido code for a Korean (full, short or former) or English name.

    Raises
    ------
    ValidationError
        If the name is not a known province.
    """
    code = _sido_name_index().get(str(name).strip())
    if code is None:
        raise ValidationError(
            f"unknown province (sido) name {name!r}; expected one of the names in "
            f"data/regions_sido.csv such as '서울', '서울특별시' or 'Seoul'"
        )
    return code


def _sido_codes(names: pd.Series) -> pd.Series:
    index = _sido_name_index()
    codes = names.astype(str).str.strip().map(index)
    unknown = sorted(names[codes.isna()].astype(str).unique())
    if unknown:
        raise DataSourceError(
            f"unknown province names {unknown[:5]}; add them as aliases in data/regions_sido.csv"
        )
    return codes.astype("string")


# --------------------------------------------------------------------------- stations


def load_hydrogen_stations(*, directory: Path | str | None = None) -> gpd.GeoDataFrame:
    """Load the 221 hydrogen refuelling stations (state of 2024-10).

    Returns
    -------
    geopandas.GeoDataFrame
        ``station_id``, ``build_year``, ``name``, ``sido_name_ko``, ``sido_code``,
        ``address``, ``use`` (``commercial`` or ``research``), ``lon``, ``lat``,
        ``valid_location`` and point geometry in EPSG:4326.
    """
    columns = ["번호", "구축연도", "충전소명", "지역_대분류", "주소", "용도", "위도", "경도"]
    raw = _read_source("hydrogen_stations", directory, columns)
    use_map = {"상업용": "commercial", "연구용": "research"}
    frame = pd.DataFrame(
        {
            "station_id": raw["번호"].astype("int64"),
            "build_year": pd.to_numeric(raw["구축연도"], errors="coerce").astype("Int64"),
            "name": raw["충전소명"].astype("string"),
            "sido_name_ko": raw["지역_대분류"].astype("string").str.strip(),
            "address": raw["주소"].astype("string"),
            "use": raw["용도"].map(use_map).fillna("other").astype("string"),
            "lon": raw["경도"],
            "lat": raw["위도"],
        }
    )
    frame.insert(4, "sido_code", _sido_codes_from_address(frame["address"], frame["sido_name_ko"]))
    return _points(frame)


#: Typos in published region columns (checked against the addresses).
_REGION_TYPOS = {"광구": "광주"}


def _sido_codes_from_address(address: pd.Series, region: pd.Series) -> pd.Series:
    """Sido code of each row: the address's first word when it names a province, else
    the region column. Addresses are more reliable than the region columns of the
    published files (``충청``/``경상`` labels, chargers filed under the wrong sido)."""
    index = _sido_name_index()
    from_address = address.astype(str).str.split(n=1).str[0].map(index)
    from_region = region.astype(str).str.strip().replace(_REGION_TYPOS).map(index)
    codes = from_address.fillna(from_region)
    if codes.isna().any():
        bad = sorted(region[codes.isna()].astype(str).unique())
        raise DataSourceError(f"cannot tell the province of the regions {bad}; add them to data/regions_sido.csv")
    return codes.astype("string")


def load_kepco_ev_stations(*, directory: Path | str | None = None) -> gpd.GeoDataFrame:
    """Load the 4,635 KEPCO-operated EV charging stations (2025-06-30).

    Returns
    -------
    geopandas.GeoDataFrame
        ``station_id``, ``name``, ``address``, ``address_detail``, ``lon``, ``lat``,
        ``opening_hours``, ``phone``, ``registered`` (date), ``valid_location`` and
        point geometry in EPSG:4326.
    """
    columns = ["충전소아이디", "충전소명", "충전소주소", "상세주소", "위도", "경도", "이용가능시간", "연락처", "등록일자"]
    raw = _read_source("kepco_ev_stations", directory, columns)
    frame = pd.DataFrame(
        {
            "station_id": raw["충전소아이디"].astype("string"),
            "name": raw["충전소명"].astype("string"),
            "address": raw["충전소주소"].astype("string"),
            "address_detail": raw["상세주소"].astype("string"),
            "lon": raw["경도"],
            "lat": raw["위도"],
            "opening_hours": raw["이용가능시간"].astype("string"),
            "phone": raw["연락처"].astype("string"),
            "registered": pd.to_datetime(raw["등록일자"], errors="coerce"),
        }
    )
    return _points(frame)


#: Power assumed for chargers whose rating is not listed: AC slow 7 kW, DC fast 50 kW
#: (the standard ratings of Korean public chargers of that generation).
ASSUMED_SLOW_POWER_KW = 7.0
ASSUMED_FAST_POWER_KW = 50.0


def load_ev_chargers(*, directory: Path | str | None = None) -> pd.DataFrame:
    """Load the national EV charger list: 191,514 chargers (2022-10-27).

    Power comes from the listed rating (e.g. ``급속(100kW단독)``); where none is
    listed, 7 kW is assumed for slow AC and 50 kW for fast DC chargers and
    ``power_kw_source`` says ``assumed``.

    Returns
    -------
    pandas.DataFrame
        ``sido_name_ko`` (as published), ``sido_code`` (from the address where it
        names a province: some rows are filed under the wrong sido),
        ``sigungu_name_ko``, ``address``, ``station_name``, ``facility_group``, ``facility_type``, ``charger_class``
        (``fast`` / ``slow``), ``charger_model``, ``connector``, ``operator_group``,
        ``operator``, ``power_kw``, ``power_kw_source``, ``access`` (``public`` /
        ``restricted``), ``charger_id``.
    """
    columns = [
        "시도", "군구", "주소", "충전소명", "시설구분(대)", "시설구분(소)", "기종(대)", "기종(소)",
        "운영기관(대)", "운영기관(소)", "급속충전량", "충전기타입", "이용자제한", "충전기ID",
    ]
    raw = _read_source("ev_chargers", directory, columns)
    charger_class = raw["기종(대)"].map({"급속": "fast", "완속": "slow"})
    if charger_class.isna().any():
        bad = sorted(raw.loc[charger_class.isna(), "기종(대)"].astype(str).unique())[:5]
        raise DataSourceError(f"unexpected charger classes {bad} in the EV charger list (expected 급속/완속)")
    label = raw["급속충전량"].fillna(raw["기종(소)"]).astype(str)
    listed_kw = pd.to_numeric(label.str.extract(r"(\d+(?:\.\d+)?)\s*kW", expand=False), errors="coerce")
    assumed_kw = np.where(charger_class == "fast", ASSUMED_FAST_POWER_KW, ASSUMED_SLOW_POWER_KW)
    frame = pd.DataFrame(
        {
            "sido_name_ko": raw["시도"].astype("string").str.strip(),
            "sido_code": _sido_codes_from_address(raw["주소"], raw["시도"]),
            "sigungu_name_ko": raw["군구"].astype("string").str.strip(),
            "address": raw["주소"].astype("string"),
            "station_name": raw["충전소명"].astype("string"),
            "facility_group": raw["시설구분(대)"].astype("string"),
            "facility_type": raw["시설구분(소)"].astype("string"),
            "charger_class": charger_class.astype("category"),
            "charger_model": raw["기종(소)"].astype("string"),
            "connector": raw["충전기타입"].astype("string"),
            "operator_group": raw["운영기관(대)"].astype("string"),
            "operator": raw["운영기관(소)"].astype("string"),
            "power_kw": listed_kw.fillna(pd.Series(assumed_kw, index=raw.index)).astype("float64"),
            "power_kw_source": np.where(listed_kw.notna(), "listed", "assumed"),
            "access": raw["이용자제한"].map({"이용가능": "public", "이용자제한": "restricted"}).astype("string"),
            "charger_id": raw["충전기ID"].astype("int64"),
        }
    )
    frame["power_kw_source"] = frame["power_kw_source"].astype("category")
    return frame


def _rest_area_key(name: pd.Series) -> pd.Series:
    """Normalise a rest-area or fuel-station name for matching: drop suffixes and spaces."""
    key = name.astype(str).str.replace(r"\s+", "", regex=True)
    key = key.str.replace(r"(주유소|휴게소|충전소)$", "", regex=True)
    return key.str.replace(r"(주유소|휴게소)(?=\()", "", regex=True)


def load_rest_areas(*, directory: Path | str | None = None) -> gpd.GeoDataFrame:
    """Load the 199 expressway rest areas, joined by name to the 2023 EV/H2 list.

    The 2023 fuel-station list has no coordinates; its names (``황전(광양)주유소``)
    are matched to rest-area names (``황전(광양)``) after dropping the
    ``주유소``/``휴게소`` suffix and spaces.

    Returns
    -------
    geopandas.GeoDataFrame
        ``name``, ``road_type``, ``route_no``, ``route_name``, ``direction``,
        ``kind``, ``parking_spaces``, ``has_fuel``, ``has_lpg``, ``has_ev_2021``,
        ``phone``, ``matched_2023``, ``match_2023`` (``exact``, ``base_name`` for a
        match on the name without the bracketed direction, or missing), ``has_ev_2023``, ``has_h2_2023`` (nullable
        booleans: missing where unmatched), ``lon``, ``lat`` and points in EPSG:4326.
    """
    columns = ["휴게소명", "도로종류", "도로노선번호", "도로노선명", "도로노선방향", "위도", "경도", "휴게소종류",
               "주차면수", "주유소유무", "LPG충전소유무", "전기차충전소유무", "휴게소전화번호"]
    raw = _read_source("rest_areas", directory, columns)
    yes_no = {"Y": True, "N": False}
    frame = pd.DataFrame(
        {
            "name": raw["휴게소명"].astype("string").str.strip(),
            "road_type": raw["도로종류"].astype("string"),
            "route_no": pd.to_numeric(raw["도로노선번호"], errors="coerce").astype("Int64"),
            "route_name": raw["도로노선명"].astype("string"),
            "direction": raw["도로노선방향"].astype("string"),
            "kind": raw["휴게소종류"].astype("string"),
            "parking_spaces": pd.to_numeric(raw["주차면수"], errors="coerce").astype("Int64"),
            "has_fuel": raw["주유소유무"].map(yes_no).astype("boolean"),
            "has_lpg": raw["LPG충전소유무"].map(yes_no).astype("boolean"),
            "has_ev_2021": raw["전기차충전소유무"].map(yes_no).astype("boolean"),
            "phone": raw["휴게소전화번호"].astype("string"),
            "lon": raw["경도"],
            "lat": raw["위도"],
        }
    )
    fuel = _read_source("rest_area_fuel", directory, ["주유소명", "전화번호", "전기차 충전소", "수소차 충전소"])
    o_x = {"O": True, "X": False}
    fuel = pd.DataFrame(
        {
            "key": _rest_area_key(fuel["주유소명"]),
            "has_ev_2023": fuel["전기차 충전소"].astype(str).str.strip().map(o_x),
            "has_h2_2023": fuel["수소차 충전소"].astype(str).str.strip().map(o_x),
        }
    ).drop_duplicates("key")
    # Second pass on the name without the direction in brackets, used only where
    # every fuel station of that base name agrees on both flags.
    fuel["base"] = fuel["key"].str.replace(r"\(.*\)$", "", regex=True)
    agree = fuel.groupby("base")[["has_ev_2023", "has_h2_2023"]].nunique().eq(1).all(axis=1)
    by_base = fuel[fuel["base"].isin(agree[agree].index)].drop_duplicates("base")
    frame["key"] = _rest_area_key(frame["name"])
    frame["base"] = frame["key"].str.replace(r"\(.*\)$", "", regex=True)
    exact = frame.merge(fuel.drop(columns="base"), on="key", how="left")
    loose = frame[["base"]].merge(by_base.drop(columns="key"), on="base", how="left")
    frame = exact.drop(columns=["key", "base"])
    frame["match_2023"] = np.where(exact["has_ev_2023"].notna(), "exact", None)
    for column in ("has_ev_2023", "has_h2_2023"):
        fill = frame[column].isna() & loose[column].notna()
        frame.loc[fill, column] = loose.loc[fill, column]
        frame.loc[fill, "match_2023"] = "base_name"
    frame["match_2023"] = frame["match_2023"].astype("string")
    frame["matched_2023"] = frame["has_ev_2023"].notna()
    for column in ("has_ev_2023", "has_h2_2023"):
        frame[column] = frame[column].astype("boolean")
    return _points(frame)


# --------------------------------------------------------------------------- fleet


def load_national_fleet_stock(*, directory: Path | str | None = None) -> pd.DataFrame:
    """Load the national year-end stock of EVs and fuel-cell cars, 2014-2025.

    Returns
    -------
    pandas.DataFrame
        ``year``, ``ev_stock`` and ``fcev_stock`` (vehicles), ``source``.
    """
    raw = _read_source("national_fleet_stock", directory, ["year_end", "ev_stock", "fcev_stock", "source"])
    frame = pd.DataFrame(
        {
            "year": raw["year_end"].astype("int64"),
            "ev_stock": raw["ev_stock"].astype("int64"),
            "fcev_stock": raw["fcev_stock"].astype("int64"),
            "source": raw["source"].astype("string"),
        }
    )
    return frame.sort_values("year", ignore_index=True)


def load_ev_stock_sido_monthly(*, directory: Path | str | None = None) -> pd.DataFrame:
    """Load the monthly EV stock by province (17 sido), 2018-12 to 2025-02.

    Returns
    -------
    pandas.DataFrame
        Long table: ``month`` (first day of the month), ``sido_name_ko``,
        ``sido_code``, ``ev_stock`` (vehicles).

    Raises
    ------
    DataSourceError
        If a month's provinces do not add up to the file's own ``sum17`` column.
    """
    sido = load_sido_table()["name_ko_short"].tolist()
    raw = _read_source("ev_stock_sido_monthly", directory, ["date", *sido, "sum17"])
    total = raw[sido].sum(axis=1)
    bad = raw.loc[total != raw["sum17"], "date"].tolist()
    if bad:
        raise DataSourceError(f"monthly EV stock: provinces do not add up to sum17 for {bad[:5]}; the file is corrupt")
    long = raw.melt(id_vars=["date"], value_vars=sido, var_name="sido_name_ko", value_name="ev_stock")
    long["month"] = pd.to_datetime(long.pop("date"), format="%Y-%m")
    long["sido_code"] = _sido_codes(long["sido_name_ko"])
    long["ev_stock"] = long["ev_stock"].astype("int64")
    return long[["month", "sido_name_ko", "sido_code", "ev_stock"]].sort_values(
        ["month", "sido_code"], ignore_index=True
    )


def load_ev_fcev_stock_sido(*, directory: Path | str | None = None) -> pd.DataFrame:
    """Load EVs (2023-12) and fuel-cell cars (2023-12, 2024-08) by province.

    Returns
    -------
    pandas.DataFrame
        Long table: ``sido_name_ko``, ``sido_code``, ``vehicle`` (``ev`` / ``fcev``),
        ``month``, ``stock`` (vehicles).
    """
    raw = _read_source("ev_fcev_stock_sido", directory, ["sido", "ev_2023_12", "fcev_2023_12", "fcev_2024_08"])
    long = raw.melt(id_vars=["sido"], var_name="series", value_name="stock")
    parts = long["series"].str.extract(r"(?P<vehicle>ev|fcev)_(?P<y>\d{4})_(?P<m>\d{2})")
    frame = pd.DataFrame(
        {
            "sido_name_ko": long["sido"].astype("string"),
            "sido_code": _sido_codes(long["sido"]),
            "vehicle": parts["vehicle"].astype("string"),
            "month": pd.to_datetime(parts["y"] + "-" + parts["m"] + "-01"),
            "stock": long["stock"].astype("int64"),
        }
    )
    return frame.sort_values(["vehicle", "month", "sido_code"], ignore_index=True)


def load_ev_registrations_sigungu(*, directory: Path | str | None = None) -> pd.DataFrame:
    """Load EVs by sigungu, use and vehicle type (2025-04; 719,039 vehicles in all).

    The region label (``서울 중구``, ``경기 수원시 장안구``) is split into a province
    and a sigungu name; ``sido_code`` comes from the province. Sigungu codes are
    attached by :func:`mobility_plan.census.attach_sigungu_codes`.

    Returns
    -------
    pandas.DataFrame
        ``sido_name_ko``, ``sido_code``, ``sigungu_name_ko``, ``use``
        (``business`` / ``non_business``), ``passenger``, ``van``, ``truck``,
        ``special``, ``total`` (vehicles).
    """
    columns = ["시군구별", "연료별", "용도별", "승용", "승합", "화물", "특수", "계"]
    raw = _read_source("ev_registrations_sigungu", directory, columns)
    label = raw["시군구별"].astype(str).str.strip().str.split(n=1, expand=True)
    counts = {"passenger": "승용", "van": "승합", "truck": "화물", "special": "특수", "total": "계"}
    frame = pd.DataFrame(
        {
            "sido_name_ko": label[0].astype("string"),
            "sido_code": _sido_codes(label[0]),
            "sigungu_name_ko": label[1].astype("string"),
            "use": raw["용도별"].map({"사업용": "business", "비사업용": "non_business"}).astype("string"),
        }
    )
    for name, column in counts.items():
        frame[name] = pd.to_numeric(raw[column], errors="raise").astype("int64")
    parts = frame[["passenger", "van", "truck", "special"]].sum(axis=1)
    if (parts != frame["total"]).any():
        raise DataSourceError("EV registrations: vehicle types do not add up to the total; the file is corrupt")
    return frame


# --------------------------------------------------------------------------- traffic


def load_tollgate_od(*, directory: Path | str | None = None) -> pd.DataFrame:
    """Load toll-gate origin-destination daily volumes, October 2022.

    Returns
    -------
    pandas.DataFrame
        Long table: ``date``, ``origin_gate_code``, ``origin_gate_name``,
        ``destination_gate_code``, ``destination_gate_name``, ``direction``
        (``to_destination``: traffic from origin to destination; ``to_origin``: the
        reverse), ``vehicle_class`` (1-6), ``vehicles`` (vehicles/day).

    Raises
    ------
    DataSourceError
        If a row's classes do not add up to its published total.
    """
    directions = {"to_destination": "도착지방향", "to_origin": "출발지방향"}
    class_cols = {d: [f"{p}{k}종교통량" for k in range(1, 7)] for d, p in directions.items()}
    total_cols = {d: f"{p}총교통량" for d, p in directions.items()}
    keys = ["집계일자", "출발영업소코드", "도착영업소코드", "출발영업소명", "도착영업소명"]
    needed = keys + [c for cols in class_cols.values() for c in cols] + list(total_cols.values())
    raw = _read_source("tollgate_od", directory, needed)
    for direction, cols in class_cols.items():
        if (raw[cols].sum(axis=1) != raw[total_cols[direction]]).any():
            raise DataSourceError(f"toll-gate OD: classes do not add up to {total_cols[direction]}; the file is corrupt")
    base = pd.DataFrame(
        {
            "date": pd.to_datetime(raw["집계일자"].astype(str), format="%Y%m%d"),
            "origin_gate_code": raw["출발영업소코드"].astype("int64"),
            "origin_gate_name": raw["출발영업소명"].astype("string"),
            "destination_gate_code": raw["도착영업소코드"].astype("int64"),
            "destination_gate_name": raw["도착영업소명"].astype("string"),
        }
    )
    parts = []
    for direction, cols in class_cols.items():
        for vehicle_class, column in enumerate(cols, start=1):
            part = base.copy()
            part["direction"] = direction
            part["vehicle_class"] = np.int8(vehicle_class)
            part["vehicles"] = raw[column].astype("int64").to_numpy()
            parts.append(part)
    frame = pd.concat(parts, ignore_index=True)
    frame["direction"] = frame["direction"].astype("category")
    return frame.sort_values(
        ["date", "origin_gate_code", "destination_gate_code", "direction", "vehicle_class"], ignore_index=True
    )
