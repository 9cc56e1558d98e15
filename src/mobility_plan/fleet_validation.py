"""Fleet backtests: every fleet model fitted on what was known at the end of 2020, scored on 2021-2024.

Registers the ``fleet`` provider of :mod:`mobility_plan.validate`. Each model sees the
national stock up to 2020 and the official targets published by the end of 2020
(:func:`mobility_plan.fleet.targets_known_by`); its year-end stock 2021-2024 is scored by
the mean absolute percentage error beside the naive baseline of the same run (the mean
2018-2020 growth factor carried forward). Nothing from 2021 on is used to fit or to choose.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from . import fleet
from .validate import Check, register_provider

__all__ = ["FleetGoal", "FLEET_GOALS", "ORIGIN_YEAR", "TEST_YEARS", "holdout_series", "fleet_checks"]

#: Last year the hold-out fits see, and the years it is scored on.
ORIGIN_YEAR = 2020
TEST_YEARS = (2021, 2024)


@dataclass(frozen=True)
class FleetGoal:
    """The hold-out goal of one vehicle (issue #17): MAPE at most ``mape_pct``."""

    label: str
    mape_pct: float
    stretch_pct: float | None = None


FLEET_GOALS = {"ev": FleetGoal("EV", 15.0, 10.0), "fcev": FleetGoal("FCEV", 25.0)}
_BASELINE = "naive growth (mean 2018-2020 growth factor carried forward)"


def holdout_series(vehicle: str, model: str) -> tuple[pd.DataFrame, float, float, str]:
    """Hold-out table, MAPE, naive MAPE and a fit note for ``model`` (a diffusion curve or a forecaster).

    Returns
    -------
    table : pandas.DataFrame
        ``year``, ``actual_vehicles``, ``predicted_vehicles``, ``low_vehicles``,
        ``high_vehicles``, ``naive_vehicles``, ``error_pct``, ``naive_error_pct``.
    mape_pct, naive_mape_pct : float
    note : str
    """
    if model in fleet.FORECASTERS:
        result = fleet.holdout(vehicle, model=model, origin_year=ORIGIN_YEAR, test_years=TEST_YEARS)
        forecast = result.forecast
        last = result.table.iloc[-1]
        note = (f"{int(last['year'])}: {last['predicted_vehicles']:,.0f} [band {last['low_vehicles']:,.0f} - "
                f"{last['high_vehicles']:,.0f}] against {last['actual_vehicles']:,.0f} registered; band covers "
                f"{result.band_coverage:.0%} of the test years; damping phi {forecast.damping:.2f} "
                "(rolling origin on years <= 2020)")
        if forecast.selected is not None:
            scores = ", ".join(f"{name} {value:.0f} %" for name, value in forecast.rolling_origin_error_pct.items())
            note += (f"; chose {forecast.selected} by rolling origins before 2020 (mean |log error| {scores}; "
                     "ties go to the simpler model); band = its largest rolling-origin error per horizon")
        if model in ("target_path_realised", "ensemble"):
            record = forecast.realisation
            if record.target_year is not None:
                note += (f"; realisation factor {record.factor:.3f} (registered {record.actual_vehicles:,.0f} of "
                         f"{record.target_vehicles:,.0f} targeted for {record.target_year}, capped at 1)")
        return result.table, result.mape_pct, result.naive_mape_pct, note
    table, mape, fit = fleet.backtest(vehicle, model=model, fit_years=(2014, ORIGIN_YEAR), test_years=TEST_YEARS)
    history = fleet.actual_stock(vehicle)
    seen = history[history.index <= ORIGIN_YEAR]
    naive = fleet.naive_growth(seen.index, seen.to_numpy(), table["year"])
    table = table.assign(low_vehicles=table["predicted_vehicles"], high_vehicles=table["predicted_vehicles"],
                         naive_vehicles=naive)
    table["naive_error_pct"] = (table["naive_vehicles"] / table["actual_vehicles"] - 1) * 100
    note = "no band (a single curve)"
    if fit.at_bound:
        note += f"; parameters on a bound: {', '.join(fit.at_bound)} (not identified by 2014-2020)"
    columns = ["year", "actual_vehicles", "predicted_vehicles", "low_vehicles", "high_vehicles", "naive_vehicles",
               "error_pct", "naive_error_pct"]
    return table[columns], mape, float(table["naive_error_pct"].abs().mean()), note


def _why_missed(vehicle: str, table: pd.DataFrame) -> str:
    errors = ", ".join(f"{int(r.year)} {r.error_pct:+.0f} %" for r in table.itertuples())
    if vehicle == "ev":
        return (f"goal missed ({errors}): nothing known in 2020 foretold the 2021-2022 jump in yearly additions; "
                "only the official targets did, and the one target due by 2020 had been reached at 67 %")
    return (f"goal missed ({errors}): four years of fuel-cell sales before 2021 and targets that ran far ahead "
            "of registrations (the one due by 2020 had been beaten), so nothing known in 2020 showed the 2023 stall")


def fleet_checks(*, models: tuple[str, ...] | None = None) -> list[Check]:
    """One row per vehicle and model: hold-out MAPE 2021-2024 beside the naive baseline."""
    models = models or (*fleet.MODELS, *fleet.FORECASTERS)
    rows = []
    for vehicle, goal in FLEET_GOALS.items():
        stock = fleet.actual_stock(vehicle)
        history = pd.DataFrame({"year": stock.index[stock.index <= ORIGIN_YEAR].astype("int64"),
                                "actual_vehicles": stock[stock.index <= ORIGIN_YEAR].to_numpy()})
        for model in models:
            table, mape, naive_mape, note = holdout_series(vehicle, model)
            check_goal = f"<= {goal.mape_pct:g}" + (f" (stretch {goal.stretch_pct:g})" if goal.stretch_pct else "")
            if mape > goal.mape_pct:
                note = f"{note}; {_why_missed(vehicle, table)}"
            rows.append(Check(
                area="fleet",
                measure=f"{goal.label} stock {TEST_YEARS[0]}-{TEST_YEARS[1]}, MAPE (fit to {ORIGIN_YEAR})",
                unit="%",
                model=model,
                model_value=float(mape),
                baseline=_BASELINE,
                baseline_value=float(naive_mape),
                goal=check_goal,
                goal_value=goal.mape_pct,
                note=f"{model}: {note}",
                details={"series": table, "history": history, "vehicle": vehicle},
            ))
    return rows


@register_provider("fleet")
def _provider() -> list[Check]:
    return fleet_checks()

