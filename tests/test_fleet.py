"""Targets, parameters and diffusion curves of the national fleet."""

from __future__ import annotations

import numpy as np
import pytest

from mobility_plan import ValidationError, fleet


def test_targets_table_holds_the_policy_figures():
    targets = fleet.load_targets()
    def value(year, item, status="original"):
        row = targets[(targets["year"] == year) & (targets["item"] == item) & (targets["status"] == status)]
        return float(row["value"].iloc[0])
    assert value(2022, "ev_stock") == 430_000
    assert value(2025, "ev_stock") == 1_130_000
    assert value(2030, "ev_stock") == 4_200_000
    assert value(2030, "ev_chargers") == 1_230_000
    assert value(2030, "fcev_stock") == 850_000 and value(2030, "fcev_stock", "revised") == 300_000
    assert [value(y, "h2_stations") for y in (2022, 2025, 2030, 2040)] == [310, 450, 660, 1200]
    fcev_2022 = targets[(targets["year"] == 2022) & (targets["item"] == "fcev_stock")].iloc[0]
    assert (fcev_2022["value"], fcev_2022["value_high"]) == (65_000, 67_000)
    assert targets["source"].str.len().min() > 20


def test_vehicle_parameters_have_sources_and_units():
    table = fleet.load_vehicle_parameters()
    assert table["source"].str.len().min() > 10 and table["unit"].notna().all()
    assert fleet.vehicle_parameter("hydrogen_kg_per_km", "fcev") == pytest.approx(0.0104)
    assert {250, 500, 1000} <= {fleet.vehicle_parameter(f"station_capacity_{c}_kg_per_day", "fcev")
                                 for c in ("small", "medium", "large")}
    with pytest.raises(ValidationError, match="no parameter"):
        fleet.vehicle_parameter("warp_factor", "ev")


def test_target_gap_2022():
    gap = fleet.target_gap("ev").set_index("year")
    assert gap.loc[2022, "actual_vehicles"] == 389_855
    assert gap.loc[2022, "achieved_pct"] == pytest.approx(90.66, abs=0.01)
    assert gap.loc[2022, "gap_vehicles"] == 40_145


@pytest.mark.parametrize("model", fleet.MODELS)
def test_fit_recovers_a_known_curve(model):
    years = np.arange(2010, 2026)
    if model == "logistic":
        truth = 1_000_000 / (1 + np.exp(-0.5 * (years - 2024)))
    else:
        tau = years - 2008.0
        decay = np.exp(-(0.01 + 0.4) * tau)
        truth = 2_000_000 * (1 - decay) / (1 + 40 * decay)
    fit = fleet.fit_diffusion(years, truth, model=model)
    assert fit.mape_pct < 1.0
    assert np.allclose(fit.stock(years), truth, rtol=0.02)
    assert not fit.at_bound


@pytest.mark.parametrize("model", fleet.MODELS)
@pytest.mark.parametrize("vehicle, target", [("ev", 4_200_000), ("fcev", 850_000), ("fcev", 300_000)])
def test_target_mode_hits_the_target_from_todays_stock(model, vehicle, target):
    history = fleet.actual_stock(vehicle)
    fit = fleet.fit_diffusion(history.index, history.to_numpy(), model=model, target=target, target_year=2030)
    assert fit.stock([2030])[0] == pytest.approx(target, rel=1e-6)
    assert fit.stock([2025])[0] == pytest.approx(history[2025], rel=1e-3)
    path = fit.stock(np.arange(2025, 2031))
    assert np.all(np.diff(path) > 0)


def test_project_fleet_joins_actuals_and_projection():
    projection = fleet.project_fleet("fcev", 2030, target=850_000, target_year=2030)
    assert projection["year"].tolist() == list(range(2014, 2031))
    assert (projection["kind"] == "actual").sum() == 12
    assert projection.iloc[-1]["stock_vehicles"] == pytest.approx(850_000)


def test_backtest_reports_errors():
    table, mape, fit = fleet.backtest("ev", model="logistic")
    assert table["year"].tolist() == [2021, 2022, 2023, 2024]
    assert mape == pytest.approx(table["error_pct"].abs().mean())
    assert fit.years == tuple(range(2014, 2021))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"target": 0, "target_year": 2030}, "target must be > 0"),
        ({"target": -5, "target_year": 2030}, "target must be > 0"),
        ({"target": 1e6, "target_year": 2020}, "must come after the last observed year"),
        ({"target": 1e6}, "both target and target_year"),
        ({"target": 10, "target_year": 2030}, "not above the last actual stock"),
        ({"model": "gompertz"}, "model must be one of"),
        ({"saturation": 10}, "saturation must exceed"),
    ],
)
def test_bad_fit_inputs(kwargs, message):
    history = fleet.actual_stock("ev")
    with pytest.raises(ValidationError, match=message):
        fleet.fit_diffusion(history.index, history.to_numpy(), **kwargs)


def test_unknown_vehicle():
    with pytest.raises(ValidationError, match="vehicle must be one of"):
        fleet.actual_stock("bus")
