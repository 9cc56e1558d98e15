"""Demand layers: regional allocation of the fleet, energy and hydrogen demand, infrastructure need.

Regional allocation (national fleet -> sido -> sigungu -> ADM3)
----------------------------------------------------------------
EVs, year-specific provinces: for a ``year`` the provincial shares are those of the
monthly EV stock by province (``fleet/ev_stock_sido_monthly.csv``) at the end of that
year; past the last month used, each province's stock grows by its mean monthly
additions over the last ``share_trend_window_months`` (12) of the series
(:func:`provincial_shares`). Without a year, the 2025-04 registrations give them.
Within a province, EVs follow the private (non-business, 비사업용) registrations by
sigungu (2025-04): business fleets (rentals, leases, about a fifth) are registered at
their head offices (Incheon Gyeyang-gu, Sinan-gun), which says little about where they
run, so they are spread like the private cars of their province and reported apart as
``business_vehicles`` (depot demand, see below). Fuel-cell cars: sido shares from the
2024-08 stock. Where counts are
thin they are blended with a census driver by shrinkage (an empirical-Bayes style
prior): for region ``i`` with ``c_i`` observed vehicles out of ``C`` and census
household share ``h_i``,

    share_i = (c_i + lambda h_i) / (C + lambda),

with ``lambda`` (vehicles) = ``prior_share`` x ``C`` (default 2 %). Regions with many
vehicles keep their observed share; a region with a handful borrows from its
households. Below the observed level (sigungu within sido for fuel-cell cars, ADM3
within sigungu for both), vehicles follow the census households. Vehicle counts are
integers allocated top-down with the largest-remainder method, so the counts add up
exactly to the national figure at every level and shares sum to exactly 1.

Infrastructure need
-------------------
EVs: private vehicles = vehicles x (1 - business share of the province's registrations);
home chargers = private vehicles x home access, where home access =
``a_non`` x (1 - apartment share) + ``a_apt`` x apartment share (census 2025); public
slow chargers = private vehicles x (1 - home access) x
``public_slow_chargers_per_ev_without_home``; fast chargers = vehicles x
``fast_chargers_per_ev`` (business fleets use them too). Public need = slow + fast.
Business fleets charge slowly at their depots (``business_vehicles``, not in the public
need). The two ratios follow ``data/charger_ratio_path.csv``: the ratios observed in
2022 (charger list / stock) up to 2022, the Ministry of Environment 2030 targets from
2030, linear in between (:func:`charger_ratios`).
Fuel-cell cars: stations = ceil(kg/day / (station capacity x utilisation)).
Parameters and their sources are in ``data/vehicle_parameters.csv``.

Existing supply: chargers of the 2022 national list by sigungu and sido (it has no
coordinates, so none at ADM3), and commercial hydrogen stations of the 2024 list built
in or before the year, placed in regions by their coordinates.
"""

from __future__ import annotations

from collections.abc import Iterable

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from . import census, data
from ._errors import DataSourceError, ValidationError
from ._io import read_csv_text
from .fleet import VEHICLES, actual_stock, vehicle_parameter

__all__ = [
    "LEVELS",
    "size_site",
    "hydrogen_stations_on_network",
    "DemandParameters",
    "largest_remainder",
    "allocate_to_regions",
    "need_by_year",
    "regional_shares",
    "allocate_fleet",
    "energy_demand",
    "infrastructure_need",
    "need_map",
    "QueueSizing",
    "erlang_c",
    "size_servers",
    "queue_capacity",
    "stations_needed",
    "existing_chargers",
    "existing_hydrogen_stations",
    "ChargerRatios",
    "charger_ratio_path",
    "charger_ratios",
    "provincial_shares",
    "business_shares",
    "actual_regional_stock",
    "CHARGER_LIST_DATE",
]

#: Date of the national EV charger list (``stations/ev_chargers_20221027.csv``), the only one shipped.
CHARGER_LIST_DATE = "2022-10-27"

#: Region levels, coarse to fine.
LEVELS = ("sido", "sigungu", "adm3")

_CODE = census.LEVEL_CODE


@dataclass(frozen=True)
class DemandParameters:
    """Parameters of the energy and infrastructure-need rules.

    Defaults come from ``data/vehicle_parameters.csv``; the two charger ratios from
    ``data/charger_ratio_path.csv`` for a year (:func:`charger_ratios`).
    ``public_slow_chargers_per_ev_without_home`` counts public slow chargers per
    *private* EV without home charging (business fleets charge at depots).
    """

    daily_distance_km: float
    energy_kwh_per_km: float
    hydrogen_kg_per_km: float
    fast_chargers_per_ev: float
    public_slow_chargers_per_ev_without_home: float
    home_charging_access_non_apartment: float
    home_charging_access_apartment: float
    station_capacity_kg_per_day: float
    station_utilisation: float
    prior_share: float = 0.02

    @classmethod
    def defaults(cls, vehicle: str = "ev", *, year: int | None = None, **overrides: float) -> DemandParameters:
        """Parameters from ``data/vehicle_parameters.csv``; keyword overrides are validated.

        Parameters
        ----------
        vehicle
            ``ev`` or ``fcev``.
        year
            Year of the charger ratios (:func:`charger_ratios`); None: the last year of the
            path (the 2030 target ratios).
        **overrides
            Parameter values replacing the defaults (None leaves a default).
        """
        ratios = charger_ratios(int(charger_ratio_path()["year"].max()) if year is None else year)
        values = {
            "daily_distance_km": vehicle_parameter("daily_distance_km", vehicle),
            "energy_kwh_per_km": vehicle_parameter("energy_kwh_per_km", "ev"),
            "hydrogen_kg_per_km": vehicle_parameter("hydrogen_kg_per_km", "fcev"),
            "fast_chargers_per_ev": ratios.fast_chargers_per_ev,
            "public_slow_chargers_per_ev_without_home": ratios.public_slow_chargers_per_private_ev_without_home,
            "home_charging_access_non_apartment": vehicle_parameter("home_charging_access_non_apartment", "ev"),
            "home_charging_access_apartment": vehicle_parameter("home_charging_access_apartment", "ev"),
            "station_capacity_kg_per_day": vehicle_parameter("station_capacity_small_kg_per_day", "fcev"),
            "station_utilisation": vehicle_parameter("station_utilisation", "fcev"),
        }
        unknown = sorted(set(overrides) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValidationError(f"unknown demand parameter(s) {unknown}; known: {sorted(cls.__dataclass_fields__)}")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values).validated()

    def with_charger_ratios(self, year: int, *, keep: Iterable[str] = ()) -> DemandParameters:
        """A copy with the two charger ratios of ``year`` (:func:`charger_ratios`), other values kept.

        For callers that resolved their parameters once (a scenario) and need each year's
        ratios. ``keep`` names ratios a user set on purpose (``fast_chargers_per_ev``,
        ``public_slow_chargers_per_ev_without_home``): those stay as they are.
        """
        import dataclasses

        ratios = charger_ratios(year)
        year_values = {"fast_chargers_per_ev": ratios.fast_chargers_per_ev,
                       "public_slow_chargers_per_ev_without_home":
                           ratios.public_slow_chargers_per_private_ev_without_home}
        kept = set(keep)
        return dataclasses.replace(self, **{k: v for k, v in year_values.items() if k not in kept}).validated()

    def validated(self) -> DemandParameters:
        """Return self after checking every rule; raises :class:`ValidationError` naming the value."""
        positive = ("daily_distance_km", "energy_kwh_per_km", "hydrogen_kg_per_km", "station_capacity_kg_per_day")
        for name in positive:
            value = getattr(self, name)
            if not np.isfinite(value) or value <= 0:
                raise ValidationError(f"{name} must be > 0, got {value}")
        for name in ("fast_chargers_per_ev", "public_slow_chargers_per_ev_without_home", "prior_share"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise ValidationError(f"{name} must be >= 0, got {value}")
        for name in ("home_charging_access_non_apartment", "home_charging_access_apartment"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValidationError(f"{name} is a share and must lie in [0, 1], got {value}")
        if not 0 < self.station_utilisation <= 1:
            raise ValidationError(f"station_utilisation must lie in (0, 1], got {self.station_utilisation}")
        return self


# --------------------------------------------------------------------------- year-specific inputs

_RATIO_PARAMETERS = ("fast_chargers_per_ev", "public_slow_chargers_per_private_ev_without_home")


@dataclass(frozen=True)
class ChargerRatios:
    """Public chargers per EV used for one year (see ``data/charger_ratio_path.csv``).

    Attributes
    ----------
    year
        The year asked.
    fast_chargers_per_ev
        Fast chargers per EV (all EVs).
    public_slow_chargers_per_private_ev_without_home
        Public slow chargers per private EV without home charging.
    basis
        ``"observed 2022"``, ``"target 2030"`` or ``"linear between 2022 and 2030"``.
    """

    year: int
    fast_chargers_per_ev: float
    public_slow_chargers_per_private_ev_without_home: float
    basis: str


def charger_ratio_path() -> pd.DataFrame:
    """The charger ratios per year with their sources (``data/charger_ratio_path.csv``).

    Raises
    ------
    DataSourceError
        When a ratio is missing, not positive, or a year is listed twice.
    """
    return _charger_ratio_path().copy()


@lru_cache(maxsize=1)
def _charger_ratio_path() -> pd.DataFrame:
    table = read_csv_text(data.PROJECT_DATA / "charger_ratio_path.csv", encoding="utf-8",
                          expected_columns=["year", "parameter", "value", "unit", "source"])
    table["year"] = pd.to_numeric(table["year"], errors="coerce")
    table["value"] = pd.to_numeric(table["value"], errors="coerce")
    problems = []
    if table[["year", "value"]].isna().any().any() or (table["value"] <= 0).any():
        problems.append("every year and value must be a number > 0")
    if table.duplicated(["year", "parameter"]).any():
        problems.append("a (year, parameter) pair is listed twice")
    for name in _RATIO_PARAMETERS:
        if set(table.loc[table["parameter"] == name, "year"]) != set(table["year"]):
            problems.append(f"{name} is not given for every year")
    if problems:
        raise DataSourceError(f"data/charger_ratio_path.csv: {'; '.join(problems)}; fix the table")
    table["year"] = table["year"].astype("int64")
    return table


def charger_ratios(year: int) -> ChargerRatios:
    """Charger ratios for ``year``: the first listed year's before it, the last one's after, linear between.

    The table lists the ratios observed in 2022 (charger list of 2022-10-27 / EVs
    registered then) and the 2030 targets; a planner asking about 2026 gets ratios a
    half of the way from the observed supply to the target.
    """
    if int(year) != year:
        raise ValidationError(f"year must be a whole number, got {year}")
    table = charger_ratio_path()
    years = sorted(table["year"].unique())
    values = {}
    for name in _RATIO_PARAMETERS:
        series = table[table["parameter"] == name].set_index("year")["value"].sort_index()
        values[name] = float(np.interp(year, series.index.to_numpy(), series.to_numpy()))
    if year <= years[0]:
        basis = f"observed {years[0]}"
    elif year >= years[-1]:
        basis = f"target {years[-1]}"
    else:
        before = max(y for y in years if y <= year)
        after = min(y for y in years if y > year)
        basis = f"linear between {before} and {after}"
    return ChargerRatios(int(year), values[_RATIO_PARAMETERS[0]], values[_RATIO_PARAMETERS[1]], basis)


def _month(value: str | pd.Timestamp) -> pd.Timestamp:
    try:
        month = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"information_before must be a month like '2022-12', got {value!r}") from exc
    return pd.Timestamp(year=month.year, month=month.month, day=1)


def provincial_shares(year: int, *, information_before: str | pd.Timestamp | None = None,
                      window_months: int | None = None) -> pd.DataFrame:
    """Each province's share of the EVs registered at the end of ``year``, from the monthly series.

    Only the months of ``fleet/ev_stock_sido_monthly.csv`` strictly before
    ``information_before`` are used (all by default). If December of ``year`` is among
    them, its shares are returned. Otherwise, from the last month used, each province's
    stock grows by its mean monthly additions over the last ``share_trend_window_months``
    (``data/vehicle_parameters.csv``): stock_i + h x additions_i per month, h the months
    to December of ``year``; shares are the normalised result. Before the first month
    of the series the first month's shares hold.

    Parameters
    ----------
    year
        The year whose year-end shares are wanted.
    information_before
        First month NOT to use (``"2022-12"`` uses the series up to November 2022).
    window_months
        Months of additions averaged for the trend (default ``share_trend_window_months``).

    Returns
    -------
    pandas.DataFrame
        ``sido_code``, ``share`` (sums to 1), ``stock_vehicles`` (projected or observed
        at the end of ``year``); ``attrs`` holds ``last_month`` used and
        ``horizon_months``.

    Raises
    ------
    ValidationError
        When no month before ``information_before`` exists, or ``window_months`` < 1.
    """
    if window_months is None:
        window_months = int(vehicle_parameter("share_trend_window_months", "ev"))
    if int(window_months) != window_months or window_months < 1:
        raise ValidationError(f"window_months must be a whole number >= 1, got {window_months}")
    monthly = data.load_ev_stock_sido_monthly()
    table = monthly.pivot(index="month", columns="sido_code", values="ev_stock").astype("float64").sort_index()
    if information_before is not None:
        first_unused = _month(information_before)
        table = table[table.index < first_unused]
        if table.empty:
            raise ValidationError(f"the monthly EV series starts {monthly['month'].min():%Y-%m}; no month before "
                                  f"{first_unused:%Y-%m} to use")
    target = pd.Timestamp(year=int(year), month=12, day=1)
    last = table.index.max()
    if target in table.index:
        stock, last, horizon = table.loc[target], target, 0
    elif target < table.index.min():
        stock, last, horizon = table.iloc[0], table.index.min(), 0
    elif target < last:  # a gap in the series: the last month before it, with the trend
        last = table.index[table.index < target].max()
        stock, horizon = _trend(table[table.index <= last], target, int(window_months))
    else:
        stock, horizon = _trend(table, target, int(window_months))
    frame = pd.DataFrame({"sido_code": stock.index.astype(str), "share": (stock / stock.sum()).to_numpy(),
                          "stock_vehicles": stock.to_numpy()})
    frame.attrs.update(last_month=f"{last:%Y-%m}", horizon_months=int(horizon))
    return frame


def _trend(table: pd.DataFrame, target: pd.Timestamp, window: int) -> tuple[pd.Series, int]:
    """Stock at ``target`` from the last row plus the mean monthly additions over the window."""
    last = table.index.max()
    horizon = (target.year - last.year) * 12 + target.month - last.month
    start = last - pd.DateOffset(months=window)
    earlier = table[table.index <= start]
    if earlier.empty:  # a short series: the whole of it
        earlier = table.iloc[:1]
    first = earlier.index.max()
    months = (last.year - first.year) * 12 + last.month - first.month
    rate = (table.loc[last] - table.loc[first]) / months if months > 0 else table.loc[last] * 0.0
    return (table.loc[last] + horizon * rate).clip(lower=0.0), horizon


@lru_cache(maxsize=1)
def _registrations_by_use() -> pd.DataFrame:
    registrations = census.attach_sigungu_codes(data.load_ev_registrations_sigungu())
    table = registrations.pivot_table(index="sigungu_code", columns="use", values="total", aggfunc="sum",
                                      fill_value=0)
    for use in ("business", "non_business"):
        if use not in table.columns:
            table[use] = 0
    table["sido_code"] = registrations.groupby("sigungu_code")["sido_code"].first().reindex(table.index)
    return table[["sido_code", "business", "non_business"]].astype({"business": "float64",
                                                                    "non_business": "float64"})


def business_shares(level: str = "sido") -> pd.Series:
    """Share of business (사업용) EVs in each province's registrations (2025-04), by ``sido_code``.

    ``level`` ``"national"`` gives the national share (a one-element Series).
    """
    table = _registrations_by_use()
    if level == "national":
        totals = table[["business", "non_business"]].sum()
        return pd.Series({"national": totals["business"] / totals.sum()}, name="business_share")
    if level != "sido":
        raise ValidationError(f"level must be 'sido' or 'national', got {level!r}")
    sido = table.groupby("sido_code")[["business", "non_business"]].sum()
    return (sido["business"] / sido.sum(axis=1)).rename("business_share")


# --------------------------------------------------------------------------- allocation


def largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Split the integer ``total`` in proportion to ``weights``; the parts add up exactly.

    Ties in the remainders go to the earlier position, so the result is deterministic.

    Raises
    ------
    ValidationError
        If ``total`` is negative or weights are negative, not finite or all zero
        while ``total`` > 0.
    """
    weights = np.asarray(weights, dtype="float64")
    if total < 0 or int(total) != total:
        raise ValidationError(f"total must be a whole number >= 0, got {total}")
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValidationError("weights must be finite and >= 0")
    total = int(total)
    if total == 0 or len(weights) == 0:
        return np.zeros(len(weights), dtype="int64")
    if weights.sum() <= 0:
        raise ValidationError(f"cannot split {total} over weights that are all zero")
    exact = weights / weights.sum() * total
    parts = np.floor(exact).astype("int64")
    left = total - int(parts.sum())
    order = np.lexsort((np.arange(len(exact)), -(exact - parts)))
    parts[order[:left]] += 1
    return parts


def allocate_to_regions(total: int, shares: pd.Series) -> pd.Series:
    """Split a whole number of vehicles over regions by given shares (largest remainder).

    Parameters
    ----------
    total
        Vehicles to split (>= 0).
    shares
        Share per region code; must be >= 0 and sum to 1 (within 1e-9).

    Raises
    ------
    ValidationError
        When the shares are negative, missing or do not sum to 1.
    """
    values = pd.to_numeric(shares, errors="coerce")
    if values.isna().any() or (values < 0).any():
        raise ValidationError("shares must be numbers >= 0 for every region")
    if abs(float(values.sum()) - 1.0) > 1e-9:
        raise ValidationError(f"shares sum to {float(values.sum()):.12g}, not 1; normalise them (divide by their sum)")
    return pd.Series(largest_remainder(total, values.to_numpy()), index=shares.index, name="vehicles")


def _shrink(observed: pd.Series, driver: pd.Series, prior_share: float) -> pd.Series:
    observed = observed.reindex(driver.index).fillna(0.0)
    total = observed.sum()
    prior = prior_share * total
    driver_share = driver / driver.sum()
    share = (observed + prior * driver_share) / (total + prior)
    return share / share.sum()


def _within(frame: pd.DataFrame, group: str, driver: str) -> pd.Series:
    """Share of each row within its group, by ``driver`` (equal split where the driver is all 0)."""
    sums = frame.groupby(group)[driver].transform("sum")
    counts = frame.groupby(group)[driver].transform("size")
    return pd.Series(np.where(sums > 0, frame[driver] / sums.where(sums > 0, 1), 1.0 / counts), index=frame.index)


def regional_shares(vehicle: str, *, prior_share: float = 0.02, year: int | None = None,
                    information_before: str | pd.Timestamp | None = None) -> pd.DataFrame:
    """Share of the national fleet in every ADM3 area, with its sigungu and sido.

    See the module docstring for the method.

    Parameters
    ----------
    vehicle
        ``ev`` or ``fcev``.
    prior_share
        Strength of the census prior (share of the observed total).
    year
        EVs: provincial shares at the end of this year (:func:`provincial_shares`);
        None: the provinces of the 2025-04 registrations. Ignored for fuel-cell cars.
    information_before
        EVs with a ``year``: use only the months of the monthly series before this one.

    Returns
    -------
    pandas.DataFrame
        One row per ADM3 area: ``adm3_code``, ``sigungu_code``, ``sido_code``,
        ``share`` (of the national fleet; sums to 1), ``share_in_sigungu``,
        ``sigungu_share``, ``sigungu_share_in_sido``, ``sido_share``.
    """
    if vehicle not in VEHICLES:
        raise ValidationError(f"vehicle must be one of {VEHICLES}, got {vehicle!r}")
    if not np.isfinite(prior_share) or prior_share < 0:
        raise ValidationError(f"prior_share must be >= 0, got {prior_share}")
    adm3 = census.load_census_adm3()
    frame = pd.DataFrame(adm3[["adm3_code", "sigungu_code", "sido_code", "households"]])
    sigungu = frame.groupby("sigungu_code").agg(households=("households", "sum"), sido_code=("sido_code", "first"))
    if vehicle == "ev":
        registrations = _registrations_by_use()
        private = _shrink(registrations["non_business"], sigungu["households"], prior_share)
        sigungu["share_in_sido"] = private / sigungu["sido_code"].map(private.groupby(sigungu["sido_code"]).sum())
        if year is None:
            everyone = registrations[["business", "non_business"]].sum(axis=1)
            sido_share = _shrink(everyone, sigungu["households"], prior_share).groupby(sigungu["sido_code"]).sum()
        else:
            provinces = provincial_shares(year, information_before=information_before)
            sido_share = provinces.set_index("sido_code")["share"].reindex(
                sorted(sigungu["sido_code"].unique())).fillna(0.0)
            sido_share = sido_share / sido_share.sum()
        sigungu["share"] = sigungu["share_in_sido"] * sigungu["sido_code"].map(sido_share)
    else:
        stock = data.load_ev_fcev_stock_sido()
        latest = stock[stock["vehicle"] == "fcev"]
        latest = latest[latest["month"] == latest["month"].max()]
        observed = latest.groupby("sido_code")["stock"].sum().astype("float64")
        sido_households = sigungu.groupby("sido_code")["households"].sum()
        sido_share = _shrink(observed, sido_households, prior_share)
        sigungu["share_in_sido"] = _within(sigungu.reset_index(), "sido_code", "households").to_numpy()
        sigungu["share"] = sigungu["share_in_sido"] * sigungu["sido_code"].map(sido_share)
    frame["share_in_sigungu"] = _within(frame, "sigungu_code", "households")
    frame["sigungu_share"] = frame["sigungu_code"].map(sigungu["share"])
    frame["sigungu_share_in_sido"] = frame["sigungu_code"].map(sigungu["share_in_sido"])
    frame["sido_share"] = frame["sido_code"].map(sido_share)
    frame["share"] = frame["share_in_sigungu"] * frame["sigungu_share"]
    frame["share"] /= frame["share"].sum()
    for column, level in (("share", "adm3"), ("sido_share", "sido")):
        values = frame[column] if level == "adm3" else frame.drop_duplicates("sido_code")[column]
        if abs(values.sum() - 1.0) > 1e-9:
            raise ValidationError(f"{level} shares sum to {values.sum():.12f}, not 1; check the input tables")
    return frame.drop(columns="households")


def allocate_fleet(vehicle: str, national_vehicles: int, *, level: str = "sido", prior_share: float = 0.02,
                   regions: list[str] | None = None, year: int | None = None,
                   information_before: str | pd.Timestamp | None = None) -> pd.DataFrame:
    """Allocate a national fleet (whole vehicles) to regions, top-down by largest remainder.

    Parameters
    ----------
    vehicle
        ``ev`` or ``fcev``.
    national_vehicles
        National fleet (vehicles, > 0).
    level
        ``sido``, ``sigungu`` or ``adm3``.
    prior_share
        Strength of the census prior (share of the observed total).
    regions
        Keep only these region codes of ``level`` (all by default).
    year, information_before
        Year-specific provincial shares (EVs), see :func:`regional_shares`.

    Returns
    -------
    pandas.DataFrame
        ``code``, ``region`` (Korean name), ``region_en`` (sido English name),
        ``sido_code``, ``share``, ``vehicles`` (integers adding up to
        ``national_vehicles`` over all regions of every level).

    Raises
    ------
    ValidationError
        On a fleet <= 0, an unknown level or an unknown region code.
    """
    if level not in LEVELS:
        raise ValidationError(f"level must be one of {LEVELS}, got {level!r}")
    if not np.isfinite(national_vehicles) or national_vehicles <= 0:
        raise ValidationError(f"the national fleet must be > 0 vehicles, got {national_vehicles}")
    national = int(round(national_vehicles))
    shares = regional_shares(vehicle, prior_share=prior_share, year=year, information_before=information_before)
    sido = shares.drop_duplicates("sido_code")[["sido_code", "sido_share"]].sort_values("sido_code")
    sido["vehicles"] = allocate_to_regions(national, sido.set_index("sido_code")["sido_share"]).to_numpy()
    sigungu = shares.drop_duplicates("sigungu_code")[["sigungu_code", "sido_code", "sigungu_share_in_sido"]]
    sigungu = sigungu.sort_values("sigungu_code")
    sigungu["vehicles"] = 0
    for code, group in sigungu.groupby("sido_code"):
        total = int(sido.loc[sido["sido_code"] == code, "vehicles"].iloc[0])
        sigungu.loc[group.index, "vehicles"] = largest_remainder(total, group["sigungu_share_in_sido"].to_numpy())
    adm3 = shares.sort_values("adm3_code").copy()
    adm3["vehicles"] = 0
    per_sigungu = sigungu.set_index("sigungu_code")["vehicles"]
    for code, group in adm3.groupby("sigungu_code"):
        adm3.loc[group.index, "vehicles"] = largest_remainder(int(per_sigungu[code]), group["share_in_sigungu"].to_numpy())
    table = _region_table(level)
    if level == "sido":
        counts = sido.set_index("sido_code")["vehicles"]
        share = sido.set_index("sido_code")["sido_share"]
    elif level == "sigungu":
        counts = sigungu.set_index("sigungu_code")["vehicles"]
        share = shares.drop_duplicates("sigungu_code").set_index("sigungu_code")["sigungu_share"]
    else:
        counts = adm3.set_index("adm3_code")["vehicles"]
        share = adm3.set_index("adm3_code")["share"]
    table["share"] = table["code"].map(share).astype("float64")
    table["vehicles"] = table["code"].map(counts).astype("int64")
    return _select_regions(table, regions, level)


def _select_regions(table: pd.DataFrame, regions: list[str] | None, level: str) -> pd.DataFrame:
    if regions is None:
        return table.reset_index(drop=True)
    wanted = [str(r) for r in regions]
    unknown = sorted(set(wanted) - set(table["code"]))
    if unknown:
        raise ValidationError(
            f"unknown {level} code(s) {unknown}; {level} codes look like {table['code'].head(3).tolist()}"
        )
    return table[table["code"].isin(wanted)].reset_index(drop=True)


def _region_table(level: str) -> pd.DataFrame:
    """Codes, names and census drivers of every region of ``level`` (no geometry)."""
    sido_names = data.load_sido_table().set_index("sido_code")
    if level == "sido":
        regions = census.load_census_sido()
        names = regions["sido_name_ko"]
    elif level == "sigungu":
        regions = census.load_census_sigungu()
        names = regions["sido_code"].map(sido_names["name_ko_short"]) + " " + regions["sigungu_name_ko"]
    else:
        regions = census.load_census_adm3()
        names = (regions["sido_code"].map(sido_names["name_ko_short"]) + " " + regions["sigungu_name_ko"] + " "
                 + regions["adm3_name_ko"])
    return pd.DataFrame({
        "code": regions[_CODE[level]].astype(str),
        "region": names.astype(str),
        "region_en": regions["sido_name_en"].astype(str),
        "sido_code": regions["sido_code"].astype(str),
        "population": regions["population"].astype("float64"),
        "households": regions["households"].astype("float64"),
        "apartment_share": regions["apartment_share"].astype("float64"),
    })


# --------------------------------------------------------------------------- energy and need


def energy_demand(vehicle: str, vehicles: pd.Series | np.ndarray | float,
                  parameters: DemandParameters | None = None) -> tuple[Any, str]:
    """Daily energy (EV, kWh/day) or hydrogen (FCEV, kg/day) for a number of vehicles.

    Returns
    -------
    (values, unit)
        ``vehicles`` x km/day x kWh/km (or kg/km), and ``"kWh/day"`` or ``"kg/day"``.
    """
    p = parameters or DemandParameters.defaults(vehicle)
    if vehicle == "ev":
        return vehicles * p.daily_distance_km * p.energy_kwh_per_km, "kWh/day"
    if vehicle == "fcev":
        return vehicles * p.daily_distance_km * p.hydrogen_kg_per_km, "kg/day"
    raise ValidationError(f"vehicle must be one of {VEHICLES}, got {vehicle!r}")


def stations_needed(hydrogen_kg_per_day: float, *, capacity_kg_per_day: float, utilisation: float) -> int:
    """Hydrogen stations needed: ceil(kg/day / (capacity x utilisation)); 0 without demand."""
    if capacity_kg_per_day <= 0:
        raise ValidationError(f"capacity_kg_per_day must be > 0, got {capacity_kg_per_day}")
    if not 0 < utilisation <= 1:
        raise ValidationError(f"utilisation must lie in (0, 1], got {utilisation}")
    if hydrogen_kg_per_day < 0:
        raise ValidationError(f"hydrogen demand must be >= 0 kg/day, got {hydrogen_kg_per_day}")
    return int(math.ceil(hydrogen_kg_per_day / (capacity_kg_per_day * utilisation) - 1e-9))


def existing_chargers(level: str) -> pd.DataFrame:
    """Chargers of the 2022 national list per region: ``code``, ``existing_fast``, ``existing_slow``.

    Raises
    ------
    ValidationError
        For ``adm3``: the list has no coordinates.
    """
    if level == "adm3":
        raise ValidationError("the 2022 charger list has no coordinates, so it cannot be counted per ADM3 area; "
                              "use level 'sido' or 'sigungu'")
    return _charger_counts(level).copy()


@lru_cache(maxsize=4)
def _charger_counts(level: str) -> pd.DataFrame:
    chargers = census.attach_sigungu_codes(data.load_ev_chargers())
    counts = chargers.groupby([_CODE[level], "charger_class"], observed=True).size().unstack(fill_value=0)
    return pd.DataFrame({
        "code": counts.index.astype(str),
        "existing_fast": counts.get("fast", 0).to_numpy(),
        "existing_slow": counts.get("slow", 0).to_numpy(),
    })


def existing_hydrogen_stations(level: str, year: int, *, commercial_only: bool = True) -> pd.DataFrame:
    """Hydrogen stations built in or before ``year`` per region (by their coordinates).

    Returns
    -------
    pandas.DataFrame
        ``code``, ``existing`` (stations).
    """
    stations = data.load_hydrogen_stations()
    stations = stations[stations["valid_location"] & (stations["build_year"] <= year)]
    if commercial_only:
        stations = stations[stations["use"] == "commercial"]
    if level == "sido":
        counts = stations.groupby("sido_code").size()
    else:
        polygons = census.load_census_level(level)[[_CODE[level], "geometry"]]
        joined = gpd.sjoin(stations.to_crs(polygons.crs), polygons, how="left", predicate="within")
        counts = joined.groupby(_CODE[level]).size()
    return pd.DataFrame({"code": counts.index.astype(str), "existing": counts.to_numpy().astype("int64")})


def actual_regional_stock(vehicle: str, year: int, *, level: str = "sido") -> pd.DataFrame:
    """Vehicles registered at the end of ``year`` by province, where a published table has them.

    EVs: the December row of the monthly series (2018-2024); fuel-cell cars: 2023-12.
    Finer levels have no year-end counts (the sigungu registrations are of 2025-04).

    Returns
    -------
    pandas.DataFrame
        ``code``, ``actual_vehicles``; empty when no table covers ``year`` at ``level``.
    """
    if vehicle not in VEHICLES:
        raise ValidationError(f"vehicle must be one of {VEHICLES}, got {vehicle!r}")
    empty = pd.DataFrame({"code": pd.Series(dtype="string"), "actual_vehicles": pd.Series(dtype="int64")})
    if level != "sido":
        return empty
    december = pd.Timestamp(year=int(year), month=12, day=1)
    if vehicle == "ev":
        monthly = data.load_ev_stock_sido_monthly()
        rows = monthly[monthly["month"] == december]
        counts = rows.set_index("sido_code")["ev_stock"]
    else:
        stock = data.load_ev_fcev_stock_sido()
        rows = stock[(stock["vehicle"] == "fcev") & (stock["month"] == december)]
        counts = rows.groupby("sido_code")["stock"].sum()
    if counts.empty:
        return empty
    return pd.DataFrame({"code": counts.index.astype(str), "actual_vehicles": counts.to_numpy().astype("int64")})


def hydrogen_stations_on_network(G: Any, *, max_snap_m: float = 3000.0) -> gpd.GeoDataFrame:
    """Commercial hydrogen stations snapped to a road graph's nearest node.

    Returns
    -------
    geopandas.GeoDataFrame
        The commercial stations with ``node``, ``snap_distance_m`` and ``on_network``
        (snapped within ``max_snap_m`` metres).
    """
    from . import network

    stations = data.load_hydrogen_stations()
    stations = stations[stations["use"] == "commercial"].copy()
    snapped = network.snap_points(G, stations, max_snap_distance_m=1e12)
    stations["node"] = snapped["node"].to_numpy()
    stations["snap_distance_m"] = snapped["snap_distance_m"].to_numpy()
    stations["on_network"] = stations["snap_distance_m"] <= max_snap_m
    return stations


def infrastructure_need(
    vehicle: str,
    national_vehicles: float,
    *,
    year: int,
    level: str = "sido",
    parameters: DemandParameters | None = None,
    regions: list[str] | None = None,
    backcast: bool = False,
    information_before: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Vehicles, energy, infrastructure need, existing supply and deficit per region.

    Parameters
    ----------
    vehicle
        ``ev`` or ``fcev``.
    national_vehicles
        National fleet in ``year`` (vehicles, > 0).
    year
        The year the fleet refers to; existing hydrogen stations are those built by then.
    level
        ``sido``, ``sigungu`` or ``adm3``.
    parameters
        Demand parameters (default: ``DemandParameters.defaults(vehicle, year=year)``,
        the charger ratios of ``year``).
    regions
        Keep only these region codes.
    backcast
        Allow a past year (to compare a past target with what was built).
    information_before
        EVs: provincial shares from the months of the monthly series before this one
        (for honest backtests); all months by default.

    Returns
    -------
    pandas.DataFrame
        ``year``, ``level``, ``code``, ``region``, ``region_en``, ``vehicles``,
        ``energy_per_day`` and ``energy_unit``, ``need`` and ``need_unit`` (public
        chargers, or stations), ``existing``, ``deficit`` (max(need - existing, 0),
        per charger type for EVs), plus detail columns: EVs ``home_access``,
        ``home_chargers``, ``public_slow_need``, ``fast_need``, ``existing_slow``,
        ``existing_fast``, ``business_vehicles`` (depot demand), ``private_vehicles``;
        fuel-cell cars ``station_capacity_kg_per_day``.
    """
    p = (parameters or DemandParameters.defaults(vehicle, year=year)).validated()
    last_year = int(actual_stock(vehicle).index.max())
    if year < last_year and not backcast:
        raise ValidationError(f"year {year} is before the last actual year {last_year}; plans look forward "
                              "(pass backcast=True to look back)")
    table = allocate_fleet(vehicle, national_vehicles, level=level, prior_share=p.prior_share, year=year,
                           information_before=information_before)
    energy, unit = energy_demand(vehicle, table["vehicles"].astype("float64"), p)
    table.insert(0, "year", int(year))
    table.insert(1, "level", level)
    table["energy_per_day"] = energy
    table["energy_unit"] = unit
    if vehicle == "ev":
        apartment = table["apartment_share"].fillna(0.0)
        table["home_access"] = (p.home_charging_access_non_apartment * (1 - apartment)
                                + p.home_charging_access_apartment * apartment)
        business = table["sido_code"].map(business_shares("sido")).fillna(float(business_shares("national").iloc[0]))
        table["business_vehicles"] = np.round(table["vehicles"] * business).astype("int64")
        table["private_vehicles"] = table["vehicles"] - table["business_vehicles"]
        table["home_chargers"] = np.ceil(table["private_vehicles"] * table["home_access"] - 1e-9).astype("int64")
        table["public_slow_need"] = np.ceil(
            table["private_vehicles"] * (1 - table["home_access"]) * p.public_slow_chargers_per_ev_without_home - 1e-9
        ).astype("int64")
        table["fast_need"] = np.ceil(table["vehicles"] * p.fast_chargers_per_ev - 1e-9).astype("int64")
        table["need"] = table["public_slow_need"] + table["fast_need"]
        table["need_unit"] = "public chargers"
        if level == "adm3":  # the charger list has addresses down to the sigungu only: no supply per census area
            for column in ("existing_slow", "existing_fast", "existing", "deficit"):
                table[column] = np.nan
        else:
            supply = existing_chargers(level).set_index("code")
            table["existing_slow"] = table["code"].map(supply["existing_slow"]).fillna(0).astype("int64")
            table["existing_fast"] = table["code"].map(supply["existing_fast"]).fillna(0).astype("int64")
            table["existing"] = table["existing_slow"] + table["existing_fast"]
            table["deficit"] = ((table["public_slow_need"] - table["existing_slow"]).clip(lower=0)
                                + (table["fast_need"] - table["existing_fast"]).clip(lower=0))
    else:
        table["need"] = [
            stations_needed(kg, capacity_kg_per_day=p.station_capacity_kg_per_day, utilisation=p.station_utilisation)
            for kg in table["energy_per_day"]
        ]
        table["need_unit"] = "stations"
        table["station_capacity_kg_per_day"] = p.station_capacity_kg_per_day
        supply = existing_hydrogen_stations(level, year).set_index("code")["existing"]
        table["existing"] = table["code"].map(supply).fillna(0).astype("int64")
        table["deficit"] = (table["need"] - table["existing"]).clip(lower=0).astype("int64")
    return _select_regions(table, regions, level)


def need_by_year(
    vehicle: str,
    years: list[int],
    *,
    level: str = "sido",
    model: str = "logistic",
    target: float | None = None,
    target_year: int | None = None,
    parameters: DemandParameters | None = None,
) -> pd.DataFrame:
    """:func:`infrastructure_need` for each year, the national fleet following the projection.

    The national fleet of each year comes from :func:`mobility_plan.fleet.project_fleet`
    (bent to ``target`` in ``target_year`` when given); provincial shares and charger ratios are
    those of each year (see :func:`infrastructure_need`).
    """
    from .fleet import project_fleet

    if not years:
        raise ValidationError("years must list at least one year")
    projection = project_fleet(vehicle, max(years), model=model, target=target, target_year=target_year)
    stock = projection.set_index("year")["stock_vehicles"]
    frames = [infrastructure_need(vehicle, float(stock.loc[year]), year=year, level=level, parameters=parameters)
              for year in sorted(years)]
    return pd.concat(frames, ignore_index=True)


def need_map(vehicle: str, national_vehicles: float, *, year: int, level: str = "sido",
             parameters: DemandParameters | None = None, backcast: bool | None = None) -> gpd.GeoDataFrame:
    """:func:`infrastructure_need` on the region polygons (EPSG:5179), ready for choropleths.

    ``backcast=None`` (the default) looks back whenever ``year`` is before the last registered
    year: a map of a past year is a question about what was built, not a plan.
    """
    if backcast is None:
        backcast = year < int(actual_stock(vehicle).index.max())
    table = infrastructure_need(vehicle, national_vehicles, year=year, level=level, parameters=parameters,
                                backcast=backcast)
    polygons = census.load_census_level(level)[[_CODE[level], "geometry"]].rename(columns={_CODE[level]: "code"})
    return gpd.GeoDataFrame(table.merge(polygons, on="code", how="left"), geometry="geometry", crs=polygons.crs)


# --------------------------------------------------------------------------- queueing


@dataclass(frozen=True)
class QueueSizing:
    """An M/M/c sizing result.

    Attributes
    ----------
    servers
        Plugs or dispensers.
    offered_load_erlang
        Arrival rate x mean service time.
    utilisation
        Offered load / servers.
    wait_probability
        Erlang-C probability that an arrival waits.
    mean_wait_min
        Mean wait in queue (minutes).
    """

    servers: int
    offered_load_erlang: float
    utilisation: float
    wait_probability: float
    mean_wait_min: float


def erlang_c(servers: int, arrival_rate_per_h: float, service_time_min: float) -> QueueSizing:
    """Erlang-C (M/M/c) waiting probability and mean wait for a given number of servers.

    With offered load ``a = lambda / mu`` and ``c`` servers, the Erlang-B blocking
    probability follows the stable recursion ``B_0 = 1``,
    ``B_k = a B_{k-1} / (k + a B_{k-1})``; then ``C = c B_c / (c - a (1 - B_c))`` and
    the mean wait is ``C / (c mu - lambda)`` (Erlang 1917; Kleinrock 1975, ch. 3).

    Raises
    ------
    ValidationError
        If rates are not positive, or the queue is unstable (utilisation >= 1).
    """
    if servers < 1 or int(servers) != servers:
        raise ValidationError(f"servers must be a whole number >= 1, got {servers}")
    if not np.isfinite(arrival_rate_per_h) or arrival_rate_per_h < 0:
        raise ValidationError(f"arrival_rate_per_h must be >= 0, got {arrival_rate_per_h}")
    if not np.isfinite(service_time_min) or service_time_min <= 0:
        raise ValidationError(f"service_time_min must be > 0, got {service_time_min}")
    service_rate_per_h = 60.0 / service_time_min
    load = arrival_rate_per_h / service_rate_per_h
    utilisation = load / servers
    if utilisation >= 1:
        raise ValidationError(
            f"unstable queue: utilisation {utilisation:.3f} >= 1 ({arrival_rate_per_h:g} arrivals/h x "
            f"{service_time_min:g} min on {servers} server(s)); add servers or reduce arrivals"
        )
    blocking = 1.0
    for k in range(1, int(servers) + 1):
        blocking = load * blocking / (k + load * blocking)
    wait_probability = servers * blocking / (servers - load * (1 - blocking)) if load > 0 else 0.0
    mean_wait_h = wait_probability / (servers * service_rate_per_h - arrival_rate_per_h)
    return QueueSizing(int(servers), load, utilisation, float(wait_probability), float(mean_wait_h * 60.0))


def size_servers(
    arrival_rate_per_h: float,
    service_time_min: float,
    *,
    max_wait_probability: float = 0.2,
    max_mean_wait_min: float = 5.0,
    max_servers: int = 10_000,
) -> QueueSizing:
    """Fewest plugs or dispensers keeping P(wait) and the mean wait under the limits.

    Parameters
    ----------
    arrival_rate_per_h
        Vehicles arriving per hour (at the design hour).
    service_time_min
        Mean time a vehicle holds a plug or dispenser (minutes).
    max_wait_probability
        Upper limit of the Erlang-C probability of waiting (0-1).
    max_mean_wait_min
        Upper limit of the mean wait in queue (minutes).
    """
    if not 0 < max_wait_probability <= 1:
        raise ValidationError(f"max_wait_probability must lie in (0, 1], got {max_wait_probability}")
    if max_mean_wait_min < 0:
        raise ValidationError(f"max_mean_wait_min must be >= 0, got {max_mean_wait_min}")
    load = arrival_rate_per_h * service_time_min / 60.0
    servers = max(1, int(math.floor(load)) + 1)
    while servers <= max_servers:
        result = erlang_c(servers, arrival_rate_per_h, service_time_min)
        if result.wait_probability <= max_wait_probability and result.mean_wait_min <= max_mean_wait_min:
            return result
        servers += 1
    raise ValidationError(f"more than {max_servers} servers would be needed; check the arrival rate and units")


def queue_capacity(
    servers: int,
    service_time_min: float,
    *,
    max_wait_probability: float = 0.2,
    max_mean_wait_min: float = 5.0,
) -> float:
    """Largest arrival rate (vehicles/h) that ``servers`` plugs or dispensers serve within the limits.

    The inverse of :func:`size_servers`, found by bisection on the Erlang-C
    formulas; use it to size capacity levels for
    :class:`mobility_plan.siting.CapacitatedSiting`.
    """
    if servers < 1 or int(servers) != servers:
        raise ValidationError(f"servers must be a whole number >= 1, got {servers}")
    if service_time_min <= 0:
        raise ValidationError(f"service_time_min must be > 0, got {service_time_min}")
    ceiling = servers * 60.0 / service_time_min  # utilisation 1
    low, high = 0.0, ceiling * (1 - 1e-9)
    for _ in range(60):
        middle = (low + high) / 2
        result = erlang_c(servers, middle, service_time_min)
        if result.wait_probability <= max_wait_probability and result.mean_wait_min <= max_mean_wait_min:
            low = middle
        else:
            high = middle
    return low


def size_site(vehicles_per_day: float, vehicle: str, *, service_min: float, max_wait_probability: float = 0.2,
              max_mean_wait_min: float = 10.0) -> tuple[int, float]:
    """Plugs (or dispensers) for one site from the vehicles it serves per day, and their capacity.

    The design-hour share of the daily vehicles (``design_hour_share`` in
    ``data/vehicle_parameters.csv``) arrive as a Poisson stream; :func:`size_servers` gives
    the fewest servers meeting the waiting limits.

    Returns
    -------
    servers, capacity_vehicles_per_h
        At least one server; capacity = servers x 60 / ``service_min``.
    """
    from .fleet import vehicle_parameter

    arrivals = vehicles_per_day * vehicle_parameter("design_hour_share", vehicle)
    if arrivals <= 0:
        return 1, 60.0 / service_min
    sized = size_servers(arrivals, service_min, max_wait_probability=max_wait_probability,
                         max_mean_wait_min=max_mean_wait_min)
    return sized.servers, sized.servers * 60.0 / service_min
