"""Fleet model: policy targets, vehicle parameters and diffusion curves of the EV and FCEV stock.

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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

import numpy as np
import pandas as pd
from scipy.optimize import brentq, least_squares

from ._errors import ValidationError
from ._io import read_csv_text
from .data import PROJECT_DATA, load_national_fleet_stock

__all__ = [
    "VEHICLES",
    "MODELS",
    "DiffusionFit",
    "load_targets",
    "load_vehicle_parameters",
    "vehicle_parameter",
    "actual_stock",
    "fit_diffusion",
    "project_fleet",
    "target_gap",
    "backtest",
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
                          expected_columns=["year", "item", "value", "value_high", "unit", "status", "source"])
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
    """Yearly national stock: actual years, then the fitted (or target-bent) curve.

    Parameters
    ----------
    vehicle
        ``ev`` or ``fcev``.
    until_year
        Last year of the projection.
    model
        ``logistic`` or ``bass``.
    target, target_year
        Bend the curve to reach ``target`` vehicles in ``target_year``.
    fit_from
        First year of history used in the fit.

    Returns
    -------
    pandas.DataFrame
        ``year``, ``stock_vehicles``, ``kind`` (``actual`` or ``projected``),
        ``model``.
    """
    history = actual_stock(vehicle)
    last = int(history.index.max())
    if until_year < last:
        raise ValidationError(f"until_year {until_year} is before the last actual year {last}")
    fitted = history[history.index >= fit_from]
    fit = fit_diffusion(fitted.index, fitted.to_numpy(), model=model, target=target, target_year=target_year)
    future = np.arange(last + 1, until_year + 1)
    frame = pd.concat(
        [
            pd.DataFrame({"year": history.index.astype("int64"), "stock_vehicles": history.to_numpy(),
                          "kind": "actual"}),
            pd.DataFrame({"year": future.astype("int64"), "stock_vehicles": fit.stock(future), "kind": "projected"}),
        ],
        ignore_index=True,
    )
    frame["model"] = model
    return frame


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
