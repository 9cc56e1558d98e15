"""Fleet model: policy targets, vehicle parameters, diffusion curves and banded forecasts of the EV and FCEV stock.

Two diffusion curves are fitted to the national year-end stock:

* logistic: ``S(t) = K / (1 + exp(-r (t - t0)))`` with saturation ``K``, growth rate
  ``r`` (1/year) and midpoint ``t0`` (year);
* Bass (1969): ``S(t) = m F(t)``, ``F(t) = (1 - e^{-(p+q)(t-s)}) / (1 + (q/p) e^{-(p+q)(t-s)})``
  with market potential ``m``, innovation ``p``, imitation ``q`` and start year ``s``.

Both are fitted by least squares on ``log(1 + stock)`` (relative errors, so that the
early years weigh as much as the recent ones). In *target mode* the curve is forced
through a target ``(year, stock)`` exactly: ``K`` (or ``m``) is expressed through the
other parameters so that ``S(target_year) = target``, and the remaining parameters
are fitted to the history.

The forecasters of :data:`FORECASTERS` (target paths, damped trend, additions growth,
their ensemble and a rolling-origin selection) give a band (low / central / high) and can
be fitted on what was known at any origin year, targets included (each target carries its
publication date); :func:`holdout` scores them against the naive baseline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType

import numpy as np
import pandas as pd
from scipy.optimize import brentq, least_squares

from ._errors import DataSourceError, ValidationError
from ._io import read_csv_text
from .data import PROJECT_DATA, check_year, load_national_fleet_stock

__all__ = [
    "VEHICLES",
    "MODELS",
    "DiffusionFit",
    "load_targets",
    "load_vehicle_parameters",
    "vehicle_parameter",
    "actual_stock",
    "target_below_stock_problem",
    "fit_diffusion",
    "project_fleet",
    "target_gap",
    "backtest",
    "FORECASTERS",
    "ForecastModel",
    "Realisation",
    "StockForecast",
    "Holdout",
    "targets_known_by",
    "realisation_factor",
    "forecast_stock",
    "forecast_vehicle",
    "naive_growth",
    "holdout",
]

#: Vehicle types: battery-electric cars and fuel-cell (hydrogen) cars.
VEHICLES = ("ev", "fcev")
#: Diffusion curves available.
MODELS = ("logistic", "bass")


def _check_vehicle(vehicle: str) -> str:
    if vehicle not in VEHICLES:
        raise ValidationError(f"vehicle must be one of {VEHICLES}, got {vehicle!r}")
    return vehicle


@lru_cache(maxsize=1)
def _targets() -> pd.DataFrame:
    table = read_csv_text(PROJECT_DATA / "targets.csv", encoding="utf-8",
                          expected_columns=["year", "item", "value", "value_high", "unit", "status", "published",
                                            "source"])
    table["published"] = table["published"].astype(str)
    table["year"] = table["year"].astype("int64")
    return table


def load_targets() -> pd.DataFrame:
    """Return the policy targets of ``data/targets.csv``.

    Returns
    -------
    pandas.DataFrame
        ``year``, ``item`` (``ev_stock``, ``fcev_stock``, ``ev_chargers``,
        ``h2_stations``), ``value``, ``value_high`` (upper end of a range, else
        missing), ``unit``, ``status`` (``original`` / ``revised``), ``source``.
    """
    return _targets().copy()


@lru_cache(maxsize=1)
def _parameters() -> pd.DataFrame:
    return read_csv_text(PROJECT_DATA / "vehicle_parameters.csv", encoding="utf-8",
                         expected_columns=["parameter", "vehicle", "value", "unit", "source"])


def load_vehicle_parameters() -> pd.DataFrame:
    """Return the vehicle and station parameters of ``data/vehicle_parameters.csv`` with sources."""
    return _parameters().copy()


def vehicle_parameter(name: str, vehicle: str) -> float:
    """Return one parameter value (in the unit the table states) for ``vehicle``.

    Raises
    ------
    ValidationError
        If the table has no such parameter for that vehicle.
    """
    table = _parameters()
    row = table[(table["parameter"] == name) & (table["vehicle"] == vehicle)]
    if row.empty:
        known = sorted(table.loc[table["vehicle"] == vehicle, "parameter"])
        raise ValidationError(f"no parameter {name!r} for {vehicle!r} in data/vehicle_parameters.csv; known: {known}")
    return float(row["value"].iloc[0])


def actual_stock(vehicle: str) -> pd.Series:
    """Return the national year-end stock of ``vehicle`` (vehicles), indexed by year."""
    _check_vehicle(vehicle)
    stock = load_national_fleet_stock()
    return stock.set_index("year")[f"{vehicle}_stock"].astype("float64").rename(f"{vehicle}_stock")


def target_below_stock_problem(vehicle: str, target: float, year: int, *, what: str) -> str | None:
    """Say why a stock ``target`` for ``year`` falls below the registered stock, or ``None``.

    The one rule for scenario files and the command line: a target for the last actual
    year or later cannot lie below the last registered year-end stock (a target cannot
    undo registrations). Targets for earlier years are look-backs and are not judged here.
    """
    history = actual_stock(vehicle)
    last_year, last_stock = int(history.index.max()), float(history.iloc[-1])
    if year >= last_year and target < last_stock:
        return (f"{what} {target:,.0f} is below today's stock {last_stock:,.0f} {vehicle.upper()}s (registered at "
                f"the end of {last_year}); a target cannot undo registrations: give at least "
                f"{last_stock:,.0f} vehicles, or check the number of zeros")
    return None


# --------------------------------------------------------------------------- curves


def _logistic(t: np.ndarray, saturation: float, rate: float, midpoint: float) -> np.ndarray:
    return saturation / (1.0 + np.exp(-rate * (t - midpoint)))


def _bass_share(t: np.ndarray, p: float, q: float, start: float) -> np.ndarray:
    tau = np.maximum(t - start, 0.0)
    decay = np.exp(-(p + q) * tau)
    return (1.0 - decay) / (1.0 + (q / p) * decay)


@dataclass(frozen=True)
class DiffusionFit:
    """A fitted diffusion curve of a national vehicle stock.

    Attributes
    ----------
    model
        ``logistic`` or ``bass``.
    parameters
        Logistic: ``saturation`` (vehicles), ``rate`` (1/year), ``midpoint`` (year).
        Bass: ``market_potential`` (vehicles), ``p``, ``q`` (1/year), ``start`` (year).
    years, observed
        The data fitted (years and vehicles).
    mape_pct
        Mean absolute percentage error over the fitted years with stock > 0.
    rmse_vehicles
        Root mean square error (vehicles).
    target
        ``(year, vehicles)`` the curve was forced through, or ``None``.
    at_bound
        Fitted parameters that ended on a bound of their search range: the data do
        not identify them (e.g. a saturation just above today's stock).
    """

    model: str
    parameters: Mapping[str, float]
    years: tuple[int, ...]
    observed: tuple[float, ...]
    mape_pct: float
    rmse_vehicles: float
    target: tuple[int, float] | None = None
    at_bound: tuple[str, ...] = ()

    def stock(self, years: Iterable[int] | np.ndarray) -> np.ndarray:
        """Stock (vehicles) the curve gives for ``years``."""
        t = np.asarray(list(years) if not isinstance(years, np.ndarray) else years, dtype="float64")
        p = self.parameters
        if self.model == "logistic":
            return _logistic(t, p["saturation"], p["rate"], p["midpoint"])
        return p["market_potential"] * _bass_share(t, p["p"], p["q"], p["start"])


def _errors(fitted: np.ndarray, observed: np.ndarray) -> tuple[float, float]:
    positive = observed > 0
    mape = float(np.mean(np.abs(fitted[positive] - observed[positive]) / observed[positive]) * 100)
    rmse = float(np.sqrt(np.mean((fitted - observed) ** 2)))
    return mape, rmse


def fit_diffusion(
    years: Iterable[int],
    stock: Iterable[float],
    *,
    model: str = "logistic",
    target: float | None = None,
    target_year: int | None = None,
    saturation: float | None = None,
) -> DiffusionFit:
    """Fit a logistic or Bass curve to a yearly stock, optionally forced through a target.

    Parameters
    ----------
    years, stock
        Year-end observations (vehicles), at least four years.
    model
        ``logistic`` or ``bass``.
    target, target_year
        Stock (vehicles) the curve must reach in ``target_year`` (both or neither). The
        curve then also passes through the last observation, so the projection
        continues from today's stock; only the remaining parameters are fitted.
    saturation
        Fix the saturation ``K`` (logistic) or market potential ``m`` (Bass), in
        vehicles, instead of fitting it. Early-phase data rarely identify it.

    Returns
    -------
    DiffusionFit

    Raises
    ------
    ValidationError
        On fewer than four observations, negative stock, an unknown model, a target
        <= 0 or a target year not after the last observed year.
    """
    if model not in MODELS:
        raise ValidationError(f"model must be one of {MODELS}, got {model!r}")
    t = np.asarray(list(years), dtype="float64")
    y = np.asarray(list(stock), dtype="float64")
    if len(t) != len(y) or len(t) < 4:
        raise ValidationError(f"need at least four (year, stock) observations of equal length, got {len(t)}, {len(y)}")
    if not np.isfinite(y).all() or (y < 0).any():
        raise ValidationError("stock values must be finite and >= 0 vehicles")
    if (target is None) != (target_year is None):
        raise ValidationError("give both target and target_year, or neither")
    if target is not None:
        if not np.isfinite(target) or target <= 0:
            raise ValidationError(f"target must be > 0 vehicles, got {target}")
        if target_year <= t.max():
            raise ValidationError(
                f"target_year {target_year} must come after the last observed year {int(t.max())}"
            )
    log_y = np.log1p(y)
    peak = max(y.max(), 1.0)
    last_year, last_stock = float(t[np.argmax(t)]), float(y[np.argmax(t)])
    if target is not None and target <= last_stock:
        raise ValidationError(
            f"target {target:,.0f} vehicles is not above the last actual stock {last_stock:,.0f} "
            f"({int(last_year)}); a diffusion curve cannot fall to it"
        )
    fixed = saturation is not None
    if fixed and (not np.isfinite(saturation) or saturation <= peak):
        raise ValidationError(f"saturation must exceed the largest observed stock {peak:,.0f} vehicles, got {saturation}")

    if model == "logistic":
        if target is not None:
            # through (last year, last stock) and (target year, target): K and t0 follow from r
            min_rate = np.log(target / last_stock) / (target_year - last_year)

            def unpack(theta):
                rate = theta[0]
                # S(t) = K / (1 + u e^{-r (t - L)}) with S(L) = last and S(T) = target
                u = (target - last_stock) / max(last_stock - target * np.exp(-rate * (target_year - last_year)), 1e-12)
                return {"saturation": last_stock * (1.0 + u), "rate": rate, "midpoint": last_year + np.log(u) / rate}
            x0, bounds = [min(max(min_rate * 1.5, 0.05), 2.9)], ([min_rate * 1.0001 + 1e-6], [3.0])
        elif fixed:
            def unpack(theta):
                return {"saturation": saturation, "rate": theta[0], "midpoint": theta[1]}
            x0, bounds = [0.4, last_year + 3], ([0.01, t.min() - 30], [3.0, last_year + 80])
        else:
            def unpack(theta):
                return {"saturation": theta[0], "rate": theta[1], "midpoint": theta[2]}
            x0 = [peak * 5, 0.4, last_year + 3]
            bounds = ([peak * 1.0001, 0.01, t.min() - 30], [peak * 1e4, 3.0, last_year + 80])

        def curve(theta, at):
            p = unpack(theta)
            return _logistic(at, p["saturation"], p["rate"], p["midpoint"])
    else:
        if target is not None:
            # through the last actual and the target: start s solves F(L)/F(T) = last/target
            ratio = last_stock / target

            def unpack(theta):
                p, q = theta

                def gap(start):
                    share_t = _bass_share(np.array([float(target_year)]), p, q, start)[0]
                    return _bass_share(np.array([last_year]), p, q, start)[0] / share_t - ratio
                low, high = last_year - 300.0, last_year - 1e-6
                start = brentq(gap, low, high) if gap(low) > 0 > gap(high) else low
                share = _bass_share(np.array([float(target_year)]), p, q, start)[0]
                return {"market_potential": target / max(share, 1e-12), "p": p, "q": q, "start": start}
            x0, bounds = [0.005, 0.5], ([1e-6, 1e-3], [0.5, 3.0])
        elif fixed:
            def unpack(theta):
                return {"market_potential": saturation, "p": theta[0], "q": theta[1], "start": theta[2]}
            x0, bounds = [0.005, 0.5, t.min() - 1], ([1e-6, 1e-3, t.min() - 15], [0.5, 3.0, t.min() - 0.01])
        else:
            def unpack(theta):
                return {"market_potential": theta[0], "p": theta[1], "q": theta[2], "start": theta[3]}
            x0 = [peak * 5, 0.005, 0.5, t.min() - 1]
            bounds = ([peak * 1.0001, 1e-6, 1e-3, t.min() - 15], [peak * 1e4, 0.5, 3.0, t.min() - 0.01])

        def curve(theta, at):
            p = unpack(theta)
            return p["market_potential"] * _bass_share(at, p["p"], p["q"], p["start"])

    def residuals(theta):
        return np.log1p(np.maximum(curve(theta, t), 0.0)) - log_y

    lower, upper = np.array(bounds[0], dtype="float64"), np.array(bounds[1], dtype="float64")
    best = None
    # a few starting points: the log-space problem has flat directions
    for scale in (1.0, 0.5, 2.0):
        guess = np.array(x0, dtype="float64")
        guess[0] *= scale
        guess = np.clip(guess, lower + 1e-9 * np.maximum(1, np.abs(lower)), upper - 1e-9 * np.maximum(1, np.abs(upper)))
        solution = least_squares(residuals, guess, bounds=(lower, upper), x_scale="jac", max_nfev=5000)
        if best is None or solution.cost < best.cost:
            best = solution
    parameters = {k: float(v) for k, v in unpack(best.x).items()}
    names = [k for k in parameters if not (target is not None and k in ("saturation", "market_potential", "midpoint",
                                                                         "start"))]
    names = [k for k in names if not (fixed and k in ("saturation", "market_potential"))]
    at_bound = tuple(
        name for name, value, lo, hi in zip(names, best.x, lower, upper)
        if (value <= lo * 1.01 or value >= hi / 1.01 if name in ("saturation", "market_potential")
            else min(value - lo, hi - value) <= 1e-3 * (hi - lo))
    )
    fitted = curve(best.x, t)
    mape, rmse = _errors(fitted, y)
    return DiffusionFit(
        model=model,
        parameters=MappingProxyType(parameters),
        years=tuple(int(v) for v in t),
        observed=tuple(float(v) for v in y),
        mape_pct=mape,
        rmse_vehicles=rmse,
        target=None if target is None else (int(target_year), float(target)),
        at_bound=at_bound,
    )


def project_fleet(
    vehicle: str,
    until_year: int,
    *,
    model: str = "logistic",
    target: float | None = None,
    target_year: int | None = None,
    fit_from: int = 2014,
) -> pd.DataFrame:
    """Yearly national stock: actual years, then the projection with its band.

    Parameters
    ----------
    vehicle
        ``ev`` or ``fcev``.
    until_year
        Last year of the projection.
    model
        A diffusion curve (:data:`MODELS`: ``logistic``, ``bass``) or a forecaster with a
        band (:data:`FORECASTERS`, e.g. ``ensemble``, which reads the official targets itself).
    target, target_year
        Bend a diffusion curve to reach ``target`` vehicles in ``target_year``.
    fit_from
        First year of history used in a diffusion fit.

    Returns
    -------
    pandas.DataFrame
        ``year``, ``stock_vehicles`` (central), ``stock_low_vehicles`` and
        ``stock_high_vehicles`` (the band; equal to the central value for actual years and
        for a diffusion curve), ``kind`` (``actual`` or ``projected``), ``model``.

    Raises
    ------
    ValidationError
        On an unknown model, ``until_year`` before the last actual year, or a target
        given to a forecaster (they read data/targets.csv; bend a diffusion curve instead).
    """
    if model not in MODELS and model not in FORECASTERS:
        raise ValidationError(f"model must be one of {MODELS + tuple(FORECASTERS)}, got {model!r}")
    for value, what in ((until_year, "until_year"), (target_year, "target_year")):
        problem = None if value is None else check_year(value, what=what)
        if problem:
            raise ValidationError(problem)
    history = actual_stock(vehicle)
    last = int(history.index.max())
    if until_year < last:
        raise ValidationError(f"until_year {until_year} is before the last actual year {last}")
    future = np.arange(last + 1, until_year + 1)
    if model in FORECASTERS:
        if target is not None or target_year is not None:
            raise ValidationError(f"model {model!r} reads the official targets from data/targets.csv and takes no "
                                  "target; use model='logistic' or 'bass' to bend a curve through a target")
        if future.size:
            projected = forecast_vehicle(vehicle, future, origin_year=last, model=model).frame()
        else:
            projected = pd.DataFrame({"year": future, "stock_vehicles": [], "stock_low_vehicles": [],
                                      "stock_high_vehicles": []})
    else:
        fitted = history[history.index >= fit_from]
        fit = fit_diffusion(fitted.index, fitted.to_numpy(), model=model, target=target, target_year=target_year)
        central = fit.stock(future)
        projected = pd.DataFrame({"year": future.astype("int64"), "stock_vehicles": central,
                                  "stock_low_vehicles": central, "stock_high_vehicles": central})
    actual = pd.DataFrame({"year": history.index.astype("int64"), "stock_vehicles": history.to_numpy(),
                           "stock_low_vehicles": history.to_numpy(), "stock_high_vehicles": history.to_numpy()})
    frame = pd.concat([actual.assign(kind="actual"), projected.assign(kind="projected")], ignore_index=True)
    frame["year"] = frame["year"].astype("int64")
    frame["model"] = model
    return frame[["year", "stock_vehicles", "stock_low_vehicles", "stock_high_vehicles", "kind", "model"]]


def target_gap(vehicle: str) -> pd.DataFrame:
    """Compare each stock target whose year has passed with the registered stock.

    Returns
    -------
    pandas.DataFrame
        ``year``, ``target_vehicles``, ``target_high_vehicles``, ``actual_vehicles``,
        ``achieved_pct`` (actual / target x 100), ``gap_vehicles`` (target - actual),
        ``status``, ``source``.
    """
    history = actual_stock(vehicle)
    targets = _targets()[_targets()["item"] == f"{vehicle}_stock"]
    rows = []
    for row in targets.itertuples():
        if row.year not in history.index:
            continue
        actual = float(history.loc[row.year])
        rows.append({
            "year": int(row.year),
            "target_vehicles": float(row.value),
            "target_high_vehicles": float(row.value_high) if pd.notna(row.value_high) else np.nan,
            "actual_vehicles": actual,
            "achieved_pct": actual / float(row.value) * 100.0,
            "gap_vehicles": float(row.value) - actual,
            "status": row.status,
            "source": row.source,
        })
    return pd.DataFrame(rows)


def backtest(
    vehicle: str, *, model: str = "logistic", fit_years: tuple[int, int] = (2014, 2020),
    test_years: tuple[int, int] = (2021, 2024),
) -> tuple[pd.DataFrame, float, DiffusionFit]:
    """Fit on ``fit_years`` (inclusive), predict ``test_years``; return (table, MAPE %, fit)."""
    history = actual_stock(vehicle)
    train = history[(history.index >= fit_years[0]) & (history.index <= fit_years[1])]
    test = history[(history.index >= test_years[0]) & (history.index <= test_years[1])]
    if test.empty:
        raise ValidationError(f"no actual stock in the test years {test_years}")
    fit = fit_diffusion(train.index, train.to_numpy(), model=model)
    predicted = fit.stock(test.index.to_numpy())
    table = pd.DataFrame({
        "year": test.index.astype("int64"),
        "actual_vehicles": test.to_numpy(),
        "predicted_vehicles": predicted,
    })
    table["error_pct"] = (table["predicted_vehicles"] - table["actual_vehicles"]) / table["actual_vehicles"] * 100
    mape = float(table["error_pct"].abs().mean())
    return table, mape, fit


# --------------------------------------------------------------------------- forecasters with a band
#
# The diffusion curves above cannot identify the saturation from the early S-curve (the
# 2014-2020 logistic under-predicts 2021-2024 EVs by 20-64 %). The forecasters below are
# built for an honest hold-out: each is fitted on the years up to an *origin* and on the
# official targets *published* by the end of that year, nothing later. Their tuning (the
# damping factor) is chosen inside the fit by rolling-origin evaluation on the years given.


@lru_cache(maxsize=1)
def _forecast_settings() -> pd.DataFrame:
    return read_csv_text(PROJECT_DATA / "fleet_forecast_settings.csv", encoding="utf-8",
                         expected_columns=["setting", "value", "unit", "source"])


@lru_cache(maxsize=1)
def _settings_by_name() -> tuple[Mapping[str, float], tuple[float, ...]]:
    table = _forecast_settings()
    single = MappingProxyType({str(k): float(v) for k, v in zip(table["setting"], table["value"])
                               if k != "damping_candidate"})
    return single, tuple(float(v) for v in table.loc[table["setting"] == "damping_candidate", "value"])


def _setting(name: str) -> float:
    single, _ = _settings_by_name()
    if name not in single:
        raise ValidationError(f"no setting {name!r} in data/fleet_forecast_settings.csv")
    return single[name]


def _damping_candidates() -> tuple[float, ...]:
    return _settings_by_name()[1]


def _published_year(value: object) -> int:
    text = str(value).strip()
    if len(text) < 4 or not text[:4].isdigit():
        raise DataSourceError(f"data/targets.csv: published {value!r} is not a date; write the year the target was "
                              "published as YYYY or YYYY-MM")
    return int(text[:4])


def targets_known_by(vehicle: str, year: int) -> pd.DataFrame:
    """Stock targets of ``vehicle`` published by the end of ``year`` (the latest per target year).

    A range (``value``-``value_high``) counts as its midpoint. A target superseded later
    (e.g. 3 M EVs by 2030, replaced in 2023 by 4.2 M) is the one known before the revision.

    Returns
    -------
    pandas.DataFrame
        ``year`` (target year), ``target_vehicles``, ``published``, ``source``; sorted by year.
    """
    _check_vehicle(vehicle)
    table = _targets()
    rows = table[table["item"] == f"{vehicle}_stock"].reset_index(drop=True)
    latest = _latest_known(_stock_targets(vehicle), year)
    published = [_published_year(v) for v in rows["published"]]
    keep = []
    for target_year in latest:  # the row _latest_known kept: the last one of its publication year
        match = [i for i in range(len(rows)) if rows["year"][i] == target_year and published[i] <= year]
        keep.append(max(match, key=lambda i: (published[i], i)))
    chosen = rows.loc[keep]
    return pd.DataFrame({"year": chosen["year"].astype("int64").to_numpy(),
                         "target_vehicles": np.asarray(list(latest.values()), dtype="float64"),
                         "published": chosen["published"].astype(str).to_numpy(),
                         "source": chosen["source"].to_numpy()})


@dataclass(frozen=True)
class Realisation:
    """How far the stock reached the last official target due by an origin year.

    Attributes
    ----------
    factor
        ``min(actual / target, cap)``; 1.0 when no target was due (then ``target_year`` is None).
    target_year, target_vehicles, actual_vehicles
        The target used and the stock registered that year.
    """

    factor: float
    target_year: int | None = None
    target_vehicles: float | None = None
    actual_vehicles: float | None = None


def _stock_targets(vehicle: str) -> tuple[tuple[int, float, int], ...]:
    """Every stock target of ``vehicle``: ``(target year, vehicles, year published)``; a range is its middle."""
    table = _targets()
    rows = table[table["item"] == f"{vehicle}_stock"]
    return tuple(
        (int(r.year), (float(r.value) + float(r.value_high)) / 2 if pd.notna(r.value_high) else float(r.value),
         _published_year(r.published))
        for r in rows.itertuples()
    )


def _as_records(targets: Iterable[tuple]) -> tuple[tuple[int, float, int], ...]:
    """Targets as ``(year, vehicles, published)``; a pair without a publication year counts as always known."""
    records = []
    for target in targets:
        if len(target) == 2:
            records.append((int(target[0]), float(target[1]), -10**6))
        elif len(target) == 3:
            records.append((int(target[0]), float(target[1]), int(target[2])))
        else:
            raise ValidationError(f"a target is (year, vehicles) or (year, vehicles, year published), got {target!r}")
    return tuple(records)


def _latest_known(records: tuple[tuple[int, float, int], ...], origin: float) -> dict[int, float]:
    """The latest target per target year among those published by ``origin``."""
    latest: dict[int, tuple[int, float]] = {}
    for year, value, published in records:  # file order breaks ties between the same publication year
        if published <= origin and (year not in latest or published >= latest[year][0]):
            latest[year] = (published, value)
    return {year: value for year, (_, value) in sorted(latest.items())}


def _realisation_from(records: tuple[tuple[int, float, int], ...], t: np.ndarray, y: np.ndarray) -> Realisation:
    """actual / target of the last target due by the last year of ``t`` (known by then), capped."""
    origin = t[-1]
    due = {year: value for year, value in _latest_known(records, origin).items() if year <= origin and year in t}
    if not due:
        return Realisation(1.0)
    year = max(due)
    actual = float(y[np.flatnonzero(t == year)[0]])
    return Realisation(float(min(actual / due[year], _setting("realisation_cap"))), int(year), float(due[year]), actual)


def realisation_factor(vehicle: str, origin_year: int, history: pd.Series | None = None) -> Realisation:
    """Track record of the targets: actual / target for the last target due by ``origin_year``.

    Only targets published by ``origin_year`` and stock up to ``origin_year`` are read, so
    a hold-out from 2020 sees only what was known at the end of 2020. The factor is capped
    (``realisation_cap`` in data/fleet_forecast_settings.csv).
    """
    history = actual_stock(vehicle) if history is None else history
    seen = history[history.index <= origin_year].sort_index()
    return _realisation_from(_stock_targets(vehicle), seen.index.to_numpy(dtype="float64"),
                             seen.to_numpy(dtype="float64"))


def _cumulative_damping(phi: float, steps: np.ndarray) -> np.ndarray:
    """sum_{k=1..h} phi^k for each h in ``steps``."""
    return np.array([np.sum(phi ** np.arange(1, h + 1)) if h > 0 else 0.0 for h in steps])


def _damped_trend(t: np.ndarray, y: np.ndarray, future: np.ndarray, phi: float) -> np.ndarray:
    growth = np.log(y[-1] / y[-2])
    return y[-1] * np.exp(growth * _cumulative_damping(phi, (future - t[-1]).astype(int)))


def _additions_growth(t: np.ndarray, y: np.ndarray, future: np.ndarray, phi: float) -> np.ndarray:
    window = int(_setting("additions_window_years"))
    additions = np.diff(y)[-window:]
    years = t[1:][-window:]
    keep = additions > 0
    if keep.sum() >= 2:
        slope, intercept = np.polyfit(years[keep], np.log(additions[keep]), 1)
        level = np.exp(intercept + slope * t[-1])
    else:
        slope, level = 0.0, max(float(additions[-1]), 0.0)
    steps = np.arange(1, int(future.max() - t[-1]) + 1)
    yearly = level * np.exp(slope * _cumulative_damping(phi, steps))
    path = y[-1] + np.cumsum(yearly)
    return path[(future - t[-1]).astype(int) - 1]


def _choose_damping(t: np.ndarray, y: np.ndarray, member) -> float:
    """Damping factor with the smallest mean |log error| over rolling origins inside ``t``."""
    origins = [k for k in t[:-1] if k >= t[-1] - _setting("rolling_origin_years") and (t <= k).sum() >= 3]
    if not origins:
        return _setting("damping_default")
    scores = []
    for phi in _damping_candidates():
        errors = []
        for origin in origins:
            inside, after = t <= origin, t > origin
            predicted = member(t[inside], y[inside], t[after], phi)
            errors.extend(np.abs(np.log(predicted / y[after])))
        scores.append(float(np.mean(errors)))
    return _damping_candidates()[int(np.argmin(scores))]


def _target_path(t: np.ndarray, y: np.ndarray, future: np.ndarray, targets: tuple[tuple[int, float], ...],
                 factor: float, phi: float) -> np.ndarray:
    """Log-linear path from the last stock through the (realised) targets, damped growth after them."""
    anchors_t, anchors_y = [float(t[-1])], [float(y[-1])]
    for year, value in sorted(targets):
        if year > anchors_t[-1] and value * factor > anchors_y[-1]:
            anchors_t.append(float(year))
            anchors_y.append(value * factor)
    if len(anchors_t) == 1:
        return _damped_trend(t, y, future, phi)
    log_path = np.interp(future, anchors_t, np.log(anchors_y))
    beyond = future > anchors_t[-1]
    if beyond.any():
        growth = (np.log(anchors_y[-1]) - np.log(anchors_y[-2])) / (anchors_t[-1] - anchors_t[-2])
        log_path[beyond] = np.log(anchors_y[-1]) + growth * _cumulative_damping(
            phi, (future[beyond] - anchors_t[-1]).astype(int))
    return np.exp(log_path)


@dataclass(frozen=True)
class ForecastModel:
    """One entry of :data:`FORECASTERS`: a name, what it does, and the members it combines."""

    name: str
    description: str
    members: tuple[str, ...] = ()


#: Forecasting models with a band, by name (the registry read by the CLI, the validation and the app).
FORECASTERS: Mapping[str, ForecastModel] = MappingProxyType({
    "target_path": ForecastModel(
        "target_path", "log-linear path from the last stock through the official targets known at the origin "
        "(taken at face value), damped growth after the last target"),
    "target_path_realised": ForecastModel(
        "target_path_realised", "the same path through the targets scaled by their track record (actual / target "
        "of the last target due by the origin, capped at 1)"),
    "damped_trend": ForecastModel(
        "damped_trend", "last year's log growth of the stock, damped by phi each year (phi by rolling origin)"),
    "additions_growth": ForecastModel(
        "additions_growth", "log-linear trend of the annual additions of the last three years, its growth damped "
        "by phi (rolling origin), cumulated onto the stock"),
    "ensemble": ForecastModel(
        "ensemble", "median of the four models above in log space; band = lowest and highest member",
        members=("target_path", "target_path_realised", "damped_trend", "additions_growth")),
    "selected": ForecastModel(
        "selected", "whichever of the five models above has the smallest error over rolling origins inside the "
        "years given (each inner fit sees only the targets published by its own origin); band = the largest "
        "|log error| of that model at each horizon over those rolling origins"),
})

#: Models the rolling-origin selection chooses from (registry order breaks ties).
_SELECTABLE = ("target_path", "target_path_realised", "damped_trend", "additions_growth", "ensemble")


@dataclass(frozen=True)
class StockForecast:
    """A forecast of a national stock from an origin year, with its band.

    Attributes
    ----------
    model
        Name in :data:`FORECASTERS`.
    origin_year
        Last year of data the forecast saw.
    years
        Forecast years (all after ``origin_year``).
    central_vehicles, low_vehicles, high_vehicles
        Central path and band (vehicles). For a single model the band is its spread over
        every candidate damping factor; for the ensemble, the lowest and highest member.
    members
        Each member's path (vehicles) by name; for a single model, itself.
    damping
        Damping factor phi chosen by rolling origin on the years up to the origin.
    realisation
        Track record of the targets used by ``target_path_realised``.
    targets
        ``(year, vehicles)`` of the targets known at the origin that the target paths read.
    selected
        For ``selected``: the model chosen by rolling origin; else None.
    rolling_origin_error_pct
        For ``selected``: mean |log error| x 100 of each candidate over the rolling origins.
    """

    model: str
    origin_year: int
    years: tuple[int, ...]
    central_vehicles: tuple[float, ...]
    low_vehicles: tuple[float, ...]
    high_vehicles: tuple[float, ...]
    members: Mapping[str, tuple[float, ...]]
    damping: float
    realisation: Realisation
    targets: tuple[tuple[int, float], ...] = ()
    selected: str | None = None
    rolling_origin_error_pct: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    def frame(self) -> pd.DataFrame:
        """``year``, ``stock_vehicles`` (central), ``stock_low_vehicles``, ``stock_high_vehicles``."""
        return pd.DataFrame({"year": np.asarray(self.years, dtype="int64"),
                             "stock_vehicles": np.asarray(self.central_vehicles),
                             "stock_low_vehicles": np.asarray(self.low_vehicles),
                             "stock_high_vehicles": np.asarray(self.high_vehicles)})


def forecast_stock(
    years: Iterable[int],
    stock: Iterable[float],
    forecast_years: Iterable[int],
    *,
    model: str = "ensemble",
    targets: Iterable[tuple[int, float]] = (),
    realisation: Realisation | None = None,
) -> StockForecast:
    """Forecast a yearly stock from plain arrays (the core of every forecaster).

    Parameters
    ----------
    years, stock
        Year-end observations (vehicles) of consecutive years up to the origin (the last
        year); leading years with zero stock are dropped (growth is measured in logs). At
        least three positive years.
    forecast_years
        Years to forecast, all after the last observed year.
    model
        A name in :data:`FORECASTERS`.
    targets
        Official targets as ``(year, vehicles)`` (known at the origin) or ``(year, vehicles,
        year published)``: only those published by the origin are read, the latest per
        target year; the paths use those due after the origin.
    realisation
        Track record of the targets; by default computed from the targets due by the
        origin (:func:`realisation_factor`), 1 when none was due.

    Returns
    -------
    StockForecast

    Notes
    -----
    Damped trend: Gardner & McKenzie (1985), "Forecasting trends in time series",
    Management Science 31(10). Rolling-origin choice: Tashman (2000), "Out-of-sample
    tests of forecasting accuracy", International Journal of Forecasting 16(4).
    """
    if model not in FORECASTERS:
        raise ValidationError(f"model must be one of {tuple(FORECASTERS)}, got {model!r}")
    t = np.asarray(list(years), dtype="float64")
    y = np.asarray(list(stock), dtype="float64")
    future = np.asarray(list(forecast_years), dtype="float64")
    if len(t) != len(y):
        raise ValidationError(f"years and stock differ in length ({len(t)} and {len(y)})")
    if not np.isfinite(y).all() or (y < 0).any():
        raise ValidationError("stock values must be finite and >= 0 vehicles")
    order = np.argsort(t)
    t, y = t[order], y[order]
    started = np.cumsum(y > 0) > 0  # drop the years before the first vehicle
    t, y = t[started], y[started]
    if (y <= 0).any() or (np.diff(t) != 1).any():
        raise ValidationError("stock must be given for consecutive years and stay > 0 once the first vehicle is "
                              "registered (growth and annual additions are measured year on year)")
    if len(t) < 3:
        raise ValidationError(f"need at least three years with stock > 0 to forecast, got {len(t)}")
    if future.size == 0 or future.min() <= t[-1]:
        raise ValidationError(f"forecast_years must all come after the last observed year {int(t[-1])}")
    records = _as_records(targets)
    if model == "selected":
        return _select_by_rolling_origin(t, y, future, records, realisation)
    targets = tuple((year, value) for year, value in _latest_known(records, t[-1]).items() if year > t[-1])
    realisation = _realisation_from(records, t, y) if realisation is None else realisation
    phi_trend = _choose_damping(t, y, _damped_trend)
    phi_additions = _choose_damping(t, y, _additions_growth)
    def member_paths(trend: float, additions: float) -> dict[str, np.ndarray]:
        return {
            "target_path": _target_path(t, y, future, targets, 1.0, trend),
            "target_path_realised": _target_path(t, y, future, targets, realisation.factor, trend),
            "damped_trend": _damped_trend(t, y, future, trend),
            "additions_growth": _additions_growth(t, y, future, additions),
        }

    paths = member_paths(phi_trend, phi_additions)
    names = FORECASTERS[model].members or (model,)
    chosen = np.vstack([paths[name] for name in names])
    central = np.exp(np.median(np.log(chosen), axis=0))
    if len(names) > 1:
        low, high = chosen.min(axis=0), chosen.max(axis=0)
    else:  # a single model: the spread over every damping factor it could have chosen
        spread = np.vstack([member_paths(phi, phi)[model] for phi in _damping_candidates()] + [central])
        low, high = spread.min(axis=0), spread.max(axis=0)
    return StockForecast(
        model=model,
        origin_year=int(t[-1]),
        years=tuple(int(v) for v in future),
        central_vehicles=tuple(float(v) for v in central),
        low_vehicles=tuple(float(v) for v in low),
        high_vehicles=tuple(float(v) for v in high),
        members=MappingProxyType({name: tuple(float(v) for v in paths[name]) for name in names}),
        damping=float(phi_trend),
        realisation=realisation,
        targets=targets,
    )


def _select_by_rolling_origin(t: np.ndarray, y: np.ndarray, future: np.ndarray,
                              records: tuple[tuple[int, float, int], ...],
                              realisation: Realisation | None) -> StockForecast:
    """The ``selected`` model: the candidate with the smallest rolling-origin error inside ``t``."""
    origins = [k for k in t[:-1] if k >= t[-1] - _setting("rolling_origin_years") and (t <= k).sum() >= 3]
    errors: dict[str, dict[int, list[float]]] = {name: {} for name in _SELECTABLE}
    for origin in origins:
        inside = t <= origin
        for name in _SELECTABLE:
            inner = forecast_stock(t[inside], y[inside], t[~inside], model=name, targets=records)
            for year, predicted, actual in zip(t[~inside], inner.central_vehicles, y[~inside]):
                errors[name].setdefault(int(year - origin), []).append(abs(float(np.log(predicted / actual))))
    scores = {name: float(np.mean([e for by_h in errors[name].values() for e in by_h])) if origins else np.nan
              for name in _SELECTABLE}
    best = min(_SELECTABLE, key=lambda name: scores[name]) if origins else "ensemble"
    chosen = forecast_stock(t, y, future, model=best, targets=records, realisation=realisation)
    central = np.asarray(chosen.central_vehicles)
    if origins:  # widest error seen up to each horizon; beyond the horizons seen, the widest of all
        seen = errors[best]
        widest = np.maximum.accumulate([max(seen.get(h, [0.0])) for h in range(1, max(seen) + 1)])
        steps = (future - t[-1]).astype(int)
        spread = np.exp(widest[np.minimum(steps, len(widest)) - 1])
        low, high = central / spread, central * spread
    else:
        low, high = np.asarray(chosen.low_vehicles), np.asarray(chosen.high_vehicles)
    return StockForecast(
        model="selected", origin_year=chosen.origin_year, years=chosen.years,
        central_vehicles=chosen.central_vehicles,
        low_vehicles=tuple(float(v) for v in np.minimum(low, central)),
        high_vehicles=tuple(float(v) for v in np.maximum(high, central)),
        members=MappingProxyType({best: chosen.central_vehicles}), damping=chosen.damping,
        realisation=chosen.realisation, targets=chosen.targets, selected=best,
        rolling_origin_error_pct=MappingProxyType({name: score * 100 for name, score in scores.items()}),
    )


def forecast_vehicle(
    vehicle: str,
    forecast_years: Iterable[int],
    *,
    origin_year: int,
    model: str = "ensemble",
    history: pd.Series | None = None,
) -> StockForecast:
    """Forecast the national stock of ``vehicle`` knowing only what was known at the end of ``origin_year``.

    Reads the stock of the years <= ``origin_year`` and the targets published by then
    (:func:`targets_known_by`); the realisation factor uses the targets due by then.

    Parameters
    ----------
    history
        Stock by year to use instead of the registered one (tests blank the later years).
    """
    history = actual_stock(vehicle) if history is None else history.astype("float64")
    seen = history[history.index <= origin_year]
    if seen.empty or int(seen.index.max()) != origin_year:
        raise ValidationError(f"no registered {vehicle} stock for the origin year {origin_year}")
    return forecast_stock(seen.index, seen.to_numpy(), forecast_years, model=model,
                          targets=_stock_targets(vehicle))


def naive_growth(years: Iterable[int], stock: Iterable[float], forecast_years: Iterable[int]) -> np.ndarray:
    """Naive baseline: the mean year-on-year growth factor of the last three years carried forward.

    ``S(T + h) = S(T) g^h`` with ``g`` the mean of ``S(t) / S(t-1)`` over the last
    ``naive_window_years`` years (2018-2020 for a 2020 origin).
    """
    t = np.asarray(list(years), dtype="float64")
    y = np.asarray(list(stock), dtype="float64")
    order = np.argsort(t)
    t, y = t[order], y[order]
    window = int(_setting("naive_window_years"))
    if len(y) < window + 1 or (y[-window - 1:-1] <= 0).any():
        raise ValidationError(f"the naive baseline needs {window + 1} years with stock > 0 before the forecast")
    growth = float(np.mean(y[-window:] / y[-window - 1:-1]))
    future = np.asarray(list(forecast_years), dtype="float64")
    return y[-1] * growth ** (future - t[-1])


@dataclass(frozen=True)
class Holdout:
    """A hold-out test of one forecaster against the naive baseline of the same run.

    Attributes
    ----------
    vehicle, model, origin_year
        What was fitted, and the last year it saw.
    table
        ``year``, ``actual_vehicles``, ``predicted_vehicles``, ``low_vehicles``,
        ``high_vehicles``, ``naive_vehicles``, ``error_pct``, ``naive_error_pct``.
    mape_pct, naive_mape_pct
        Mean absolute percentage errors over the test years.
    band_coverage
        Share of the test years whose actual stock lies inside the band.
    forecast
        The forecast itself.
    """

    vehicle: str
    model: str
    origin_year: int
    table: pd.DataFrame
    mape_pct: float
    naive_mape_pct: float
    band_coverage: float
    forecast: StockForecast


def holdout(vehicle: str, *, model: str = "ensemble", origin_year: int = 2020,
            test_years: tuple[int, int] = (2021, 2024)) -> Holdout:
    """Fit on the years up to ``origin_year`` (and targets published by then); score ``test_years``."""
    history = actual_stock(vehicle)
    test = history[(history.index >= test_years[0]) & (history.index <= test_years[1])]
    if test.empty or test_years[0] <= origin_year:
        raise ValidationError(f"test years {test_years} must follow the origin {origin_year} and have registered stock")
    forecast = forecast_vehicle(vehicle, test.index, origin_year=origin_year, model=model)
    seen = history[history.index <= origin_year]
    naive = naive_growth(seen.index, seen.to_numpy(), test.index)
    table = pd.DataFrame({"year": test.index.astype("int64"), "actual_vehicles": test.to_numpy(),
                          "predicted_vehicles": forecast.central_vehicles, "low_vehicles": forecast.low_vehicles,
                          "high_vehicles": forecast.high_vehicles, "naive_vehicles": naive})
    table["error_pct"] = (table["predicted_vehicles"] / table["actual_vehicles"] - 1) * 100
    table["naive_error_pct"] = (table["naive_vehicles"] / table["actual_vehicles"] - 1) * 100
    inside = (table["actual_vehicles"] >= table["low_vehicles"]) & (table["actual_vehicles"] <= table["high_vehicles"])
    return Holdout(vehicle, model, origin_year, table, float(table["error_pct"].abs().mean()),
                   float(table["naive_error_pct"].abs().mean()), float(inside.mean()), forecast)
