"""Backtests against what Korea really built: one registry of checks, one table of results.

Each area of the library (fleet projections, regional allocation, charger need, hydrogen
siting) registers a *provider*: a function that runs its backtests with an honest hold-out and
returns :class:`Check` rows. ``mobility-plan validate`` runs every provider and prints one
table (measure, model, baseline, goal, met or not).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from ._errors import ValidationError

__all__ = ["Check", "CHECK_KINDS", "goals_met", "register_provider", "providers", "run_checks", "checks_frame"]


#: What a row of the validation table is: a true hold-out, or a calibration shown for transparency.
CHECK_KINDS = ("holdout", "calibration")


@dataclass(frozen=True)
class Check:
    """One backtest figure beside its naive baseline and its goal.

    Attributes
    ----------
    area : str
        Area of the library checked (``"fleet"``, ``"allocation"``, ``"need"``, ``"hydrogen"``).
    measure : str
        What is measured, with the hold-out named (``"EV stock 2021-2024, MAPE"``).
    unit : str
        Unit of ``model_value``, ``baseline_value`` and ``goal_value`` (``"%"``, ``"pp"``, ``"rho"``).
    model : str
        The model evaluated (``"ensemble (fit to 2020)"``).
    model_value : float
        The model's figure; NaN when it could not be computed (``note`` says why).
    baseline : str
        The naive baseline computed in the same run.
    baseline_value : float
        The baseline's figure.
    goal : str
        The goal as text (``"<= 15"``); ``goal_value`` and ``higher_is_better`` make it testable.
    goal_value : float
        The threshold of the goal.
    higher_is_better : bool
        True when larger figures are better (correlations, hit shares).
    note : str
        Anything a reader needs to interpret the row (hold-out years, sample sizes, why a goal is missed).
    kind : str
        ``"holdout"`` (a prediction checked on data it never saw) or ``"calibration"`` (a figure fitted
        on the same data it is compared with: it shows the fit carries, it proves nothing about forecasts).
        Only hold-outs count towards :func:`goals_met`.
    """

    area: str
    measure: str
    unit: str
    model: str
    model_value: float
    baseline: str
    baseline_value: float
    goal: str
    goal_value: float
    higher_is_better: bool = False
    note: str = ""
    kind: str = "holdout"
    details: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in CHECK_KINDS:
            raise ValidationError(f"Check.kind must be one of {CHECK_KINDS}, got {self.kind!r}")

    @property
    def met(self) -> bool:
        """True when ``model_value`` meets the goal (False when it is NaN)."""
        if not math.isfinite(self.model_value):
            return False
        if self.higher_is_better:
            return self.model_value >= self.goal_value
        return self.model_value <= self.goal_value

    @property
    def beats_baseline(self) -> bool:
        """True when the model is better than the baseline computed in the same run."""
        if not (math.isfinite(self.model_value) and math.isfinite(self.baseline_value)):
            return False
        if self.higher_is_better:
            return self.model_value > self.baseline_value
        return self.model_value < self.baseline_value

    def to_record(self) -> dict[str, Any]:
        """A JSON-safe record (NaN becomes None)."""
        record = asdict(self)
        record.pop("details")
        for key in ("model_value", "baseline_value", "goal_value"):
            value = record[key]
            record[key] = value if (value is not None and math.isfinite(value)) else None
        record["met"] = self.met
        record["beats_baseline"] = self.beats_baseline
        return record


def goals_met(rows: list[Check]) -> tuple[int, int]:
    """(met, total) over the hold-out rows; calibrations are shown but never counted as goals met."""
    holdouts = [row for row in rows if row.kind == "holdout"]
    return sum(row.met for row in holdouts), len(holdouts)


Provider = Callable[[], list[Check]]
_PROVIDERS: dict[str, Provider] = {}


def register_provider(name: str) -> Callable[[Provider], Provider]:
    """Register a function that returns backtest :class:`Check` rows under ``name``.

    Parameters
    ----------
    name : str
        Area name shown by ``mobility-plan validate --only``; one provider per name.
    """

    def wrap(func: Provider) -> Provider:
        known = _PROVIDERS.get(name)
        if known is not None and known.__qualname__ != func.__qualname__:
            raise ValidationError(f"a validation provider named {name!r} is already registered ({known.__module__}."
                                  f"{known.__qualname__}); choose another name")
        _PROVIDERS[name] = func
        return func

    return wrap


def _load_builtin_providers() -> None:
    """Import the modules that register the shipped providers (kept lazy: they load data)."""
    import importlib

    for module in ("fleet_validation", "allocation_validation", "h2_backcast"):
        try:
            importlib.import_module(f"{__package__}.{module}")
        except ModuleNotFoundError as exc:  # a provider module not (yet) in this build
            if exc.name != f"{__package__}.{module}":
                raise


def providers() -> dict[str, Provider]:
    """The registered providers by name, shipped ones included."""
    _load_builtin_providers()
    return dict(_PROVIDERS)


def run_checks(only: list[str] | None = None, *, progress: bool = False) -> list[Check]:
    """Run the registered backtests and return their rows.

    Parameters
    ----------
    only : list of str, optional
        Names of the providers to run; all when None.
    progress : bool
        Print each provider's name and time to stderr.

    Raises
    ------
    ValidationError
        When ``only`` names an unknown provider.
    """
    import sys

    available = providers()
    names = list(available) if only is None else list(only)
    unknown = [name for name in names if name not in available]
    if unknown:
        raise ValidationError(f"unknown validation area(s) {unknown}; choose from {sorted(available)}")
    rows: list[Check] = []
    for name in names:
        start = time.perf_counter()
        rows.extend(available[name]())
        if progress:
            print(f"  {name}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return rows


def checks_frame(rows: list[Check]) -> pd.DataFrame:
    """The rows as a table with the columns the CLI, the report and the app show."""
    records = [row.to_record() for row in rows]
    columns = ["area", "kind", "measure", "unit", "model", "model_value", "baseline", "baseline_value", "goal", "met",
               "beats_baseline", "note"]
    return pd.DataFrame.from_records(records, columns=columns)
