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


# --------------------------------------------------------------------------- forecasters with a band

DOUBLING_YEARS = np.arange(2016, 2021)
DOUBLING_STOCK = np.array([100.0, 200.0, 400.0, 800.0, 1600.0])


def test_targets_known_by_2020_exclude_later_revisions():
    ev = fleet.targets_known_by("ev", 2020).set_index("year")["target_vehicles"]
    assert ev.to_dict() == {2020: 200_000, 2022: 430_000, 2025: 1_130_000, 2030: 3_000_000}  # not the 4.2 M of 2023
    ev_now = fleet.targets_known_by("ev", 2025).set_index("year")["target_vehicles"]
    assert ev_now[2030] == 4_200_000
    fcev = fleet.targets_known_by("fcev", 2020).set_index("year")["target_vehicles"]
    assert fcev.to_dict() == {2020: 9_000, 2022: 66_000, 2025: 200_000, 2030: 850_000}  # 65-67k counts as 66k
    assert fleet.targets_known_by("fcev", 2018).set_index("year")["target_vehicles"].to_dict() == {2020: 9_000}
    assert fleet.load_targets()["published"].str.match(r"^\d{4}(-\d{2})?$").all()


def test_realisation_factor_reads_only_the_target_due_by_the_origin():
    ev = fleet.realisation_factor("ev", 2020)
    assert (ev.target_year, ev.target_vehicles, ev.actual_vehicles) == (2020, 200_000, 134_962)
    assert ev.factor == pytest.approx(134_962 / 200_000)
    assert fleet.realisation_factor("fcev", 2020).factor == 1.0  # 10,906 of 9,000: capped, not inflated
    assert fleet.realisation_factor("ev", 2025).factor == pytest.approx(899_000 / 1_130_000)
    assert fleet.realisation_factor("ev", 2019) == fleet.Realisation(1.0)  # no target due yet


def test_damped_trend_by_hand_on_a_doubling_series():
    forecast = fleet.forecast_stock(DOUBLING_YEARS, DOUBLING_STOCK, [2021, 2022], model="damped_trend")
    # constant growth: every rolling origin prefers the least damping on the grid, 0.95
    assert forecast.damping == 0.95
    assert forecast.central_vehicles == pytest.approx((1600 * 2 ** 0.95, 1600 * 2 ** (0.95 + 0.95 ** 2)))
    # band: the same model under the strongest damping of the grid (0.5) and the weakest (0.95)
    assert forecast.low_vehicles == pytest.approx((1600 * 2 ** 0.5, 1600 * 2 ** 0.75))
    assert forecast.high_vehicles == pytest.approx(forecast.central_vehicles)


def test_damping_is_chosen_by_rolling_origin():
    # log growth halves every year: 1, 1/2, 1/4, 1/8 -> phi = 0.5 predicts every inner origin exactly
    log_stock = np.cumsum([0.0, 1.0, 0.5, 0.25, 0.125, 0.0625])
    forecast = fleet.forecast_stock(np.arange(2015, 2021), 1000 * np.exp(log_stock), [2021], model="damped_trend")
    assert forecast.damping == 0.5
    assert forecast.central_vehicles[0] == pytest.approx(1000 * np.exp(log_stock[-1] + 0.0625 * 0.5))


def test_additions_growth_and_target_paths_by_hand():
    forecast = fleet.forecast_stock(DOUBLING_YEARS, DOUBLING_STOCK, [2021, 2022, 2023], model="ensemble",
                                    targets=[(2022, 6400.0)], realisation=fleet.Realisation(0.5, 2020, 1, 1))
    members = forecast.members
    # additions 200, 400, 800 double: 800 * 2^0.95 added in 2021, then 800 * 2^(0.95 + 0.9025)
    first = 800 * 2 ** 0.95
    assert members["additions_growth"][:2] == pytest.approx((1600 + first, 1600 + first + 800 * 2 ** 1.8525))
    # face value: log-linear from 1,600 (2020) to 6,400 (2022), then the growth of that segment damped
    assert members["target_path"] == pytest.approx((3200, 6400, 6400 * 2 ** 0.95))
    # realised at 0.5: through 3,200 in 2022
    assert members["target_path_realised"][:2] == pytest.approx((np.sqrt(1600 * 3200), 3200))
    paths = np.log(np.vstack(list(members.values())))
    assert forecast.central_vehicles == pytest.approx(tuple(np.exp(np.median(paths, axis=0))))
    assert forecast.low_vehicles == pytest.approx(tuple(np.exp(paths.min(axis=0))))
    assert forecast.high_vehicles == pytest.approx(tuple(np.exp(paths.max(axis=0))))


def test_naive_growth_by_hand():
    stock = [10.0, 20.0, 30.0, 45.0]  # growth factors 2, 1.5, 1.5 -> mean 5/3
    assert fleet.naive_growth([2017, 2018, 2019, 2020], stock, [2021, 2022]) == pytest.approx(
        [45 * 5 / 3, 45 * (5 / 3) ** 2])


@pytest.mark.parametrize("vehicle", fleet.VEHICLES)
@pytest.mark.parametrize("model", list(fleet.FORECASTERS))
def test_holdout_uses_no_year_after_2020(vehicle, model):
    history = fleet.actual_stock(vehicle)
    honest = fleet.forecast_vehicle(vehicle, range(2021, 2025), origin_year=2020, model=model)
    scrambled = history.copy()
    scrambled[scrambled.index > 2020] = scrambled[scrambled.index > 2020] * 7 + 12_345
    again = fleet.forecast_vehicle(vehicle, range(2021, 2025), origin_year=2020, model=model, history=scrambled)
    blanked = fleet.forecast_vehicle(vehicle, range(2021, 2025), origin_year=2020, model=model,
                                     history=history[history.index <= 2020])
    assert again == honest and blanked == honest
    known_in_2020 = {"ev": [(2022, 430_000), (2025, 1_130_000), (2030, 3_000_000)],
                     "fcev": [(2022, 66_000), (2025, 200_000), (2030, 850_000)]}[vehicle]
    assert list(honest.targets) == known_in_2020  # 4.2 M EVs and 300,000 FCEVs by 2030 date from 2023


@pytest.mark.parametrize("vehicle", fleet.VEHICLES)
@pytest.mark.parametrize("model", list(fleet.FORECASTERS))
def test_projection_band_contains_the_central_path(vehicle, model):
    projection = fleet.project_fleet(vehicle, 2040, model=model)
    projected = projection[projection["kind"] == "projected"]
    assert projected["year"].tolist() == list(range(2026, 2041))
    assert (projected["stock_low_vehicles"] <= projected["stock_vehicles"] * (1 + 1e-12)).all()
    assert (projected["stock_vehicles"] <= projected["stock_high_vehicles"] * (1 + 1e-12)).all()
    assert np.isfinite(projected[["stock_vehicles", "stock_low_vehicles", "stock_high_vehicles"]]).all().all()
    assert (projected["stock_vehicles"] >= fleet.actual_stock(vehicle).iloc[-1]).all()
    actual = projection[projection["kind"] == "actual"]
    assert (actual["stock_low_vehicles"] == actual["stock_vehicles"]).all()


def test_ensemble_band_is_wider_than_nothing_and_holds_its_members():
    forecast = fleet.forecast_vehicle("ev", range(2026, 2041), origin_year=2025)
    assert set(forecast.members) == set(fleet.FORECASTERS["ensemble"].members)
    low, high = np.array(forecast.low_vehicles), np.array(forecast.high_vehicles)
    assert (high > low).all()
    for path in forecast.members.values():
        assert (np.array(path) >= low - 1e-6).all() and (np.array(path) <= high + 1e-6).all()


def test_holdout_table_and_baseline():
    result = fleet.holdout("ev", model="ensemble")
    table = result.table
    assert table["year"].tolist() == [2021, 2022, 2023, 2024]
    history = fleet.actual_stock("ev")
    growth = np.mean([history[y] / history[y - 1] for y in (2018, 2019, 2020)])
    assert table["naive_vehicles"].tolist() == pytest.approx([history[2020] * growth ** h for h in range(1, 5)])
    assert result.naive_mape_pct == pytest.approx(37.45, abs=0.01)
    assert result.mape_pct == pytest.approx(table["error_pct"].abs().mean())
    assert result.forecast.origin_year == 2020


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: fleet.project_fleet("ev", 2030, model="ensemble", target=1e6, target_year=2030), "takes no target"),
        (lambda: fleet.project_fleet("ev", 2030, model="arima"), "model must be one of"),
        (lambda: fleet.forecast_stock([2019, 2020], [1, 2], [2021]), "at least three years"),
        (lambda: fleet.forecast_stock([2018, 2019, 2020], [1, 2, 4], [2020]), "must all come after"),
        (lambda: fleet.forecast_stock([2018, 2019, 2020], [1, -2, 4], [2021]), "finite and >= 0"),
        (lambda: fleet.forecast_stock([2016, 2018, 2019, 2020], [1, 2, 3, 4], [2021]), "consecutive years"),
        (lambda: fleet.forecast_stock([2017, 2018, 2019, 2020], [1, 0, 3, 4], [2021]), "stay > 0"),
        (lambda: fleet.forecast_vehicle("ev", [2031], origin_year=2030), "no registered ev stock"),
        (lambda: fleet.holdout("ev", origin_year=2022, test_years=(2021, 2024)), "must follow the origin"),
    ],
)
def test_bad_forecast_inputs(call, message):
    with pytest.raises(ValidationError, match=message):
        call()


def test_selection_by_rolling_origin_sees_only_targets_published_by_each_inner_origin():
    years = np.arange(2014, 2021)
    stock = 100.0 * 2.0 ** (years - 2014)  # doubling
    good = [(2018, 1600.0, 2014), (2020, 6400.0, 2014)]  # known early and exactly right
    picked = fleet.forecast_stock(years, stock, [2021, 2022], model="selected", targets=good)
    assert picked.selected == "target_path" and picked.rolling_origin_error_pct["target_path"] == pytest.approx(0)
    wrong = [(2018, 16000.0, 2014), (2020, 64000.0, 2014)]  # ten times too high
    picked = fleet.forecast_stock(years, stock, [2021, 2022], model="selected", targets=wrong)
    assert picked.selected in ("damped_trend", "additions_growth")
    # a target published in the origin year itself cannot have steered any inner origin's choice
    late = good + [(2022, 1e9, 2020)]
    again = fleet.forecast_stock(years, stock, [2021, 2022], model="selected", targets=late)
    assert dict(again.rolling_origin_error_pct) == dict(
        fleet.forecast_stock(years, stock, [2021, 2022], model="selected", targets=good).rolling_origin_error_pct)
    # the band is the chosen model's largest inner error by horizon, around the central path
    assert (np.array(again.low_vehicles) <= np.array(again.central_vehicles)).all()
    assert (np.array(again.central_vehicles) <= np.array(again.high_vehicles)).all()


def test_selection_from_2020_uses_the_pre_2021_record():
    forecast = fleet.forecast_vehicle("ev", range(2021, 2025), origin_year=2020, model="selected")
    scores = forecast.rolling_origin_error_pct
    assert set(scores) == {"target_path", "target_path_realised", "damped_trend", "additions_growth", "ensemble"}
    assert forecast.selected == min(scores, key=scores.get)
    # no target was due before 2020, so the realised path equals the face-value one at every inner origin
    assert scores["target_path"] == scores["target_path_realised"]


@pytest.mark.parametrize("published, message", [("spring", "is not a date"), (None, "published")])
def test_targets_without_a_publication_date_are_refused(tmp_path, monkeypatch, published, message):
    from mobility_plan import DataSourceError

    table = fleet.load_targets()
    if published is None:
        table = table.drop(columns="published")
    else:
        table.loc[table["item"] == "ev_stock", "published"] = published
    (tmp_path / "targets.csv").write_text(table.to_csv(index=False), encoding="utf-8")
    monkeypatch.setattr(fleet, "PROJECT_DATA", tmp_path)
    fleet._targets.cache_clear()
    try:
        with pytest.raises(DataSourceError, match=message):
            fleet.targets_known_by("ev", 2020)
    finally:
        monkeypatch.undo()
        fleet._targets.cache_clear()
    assert len(fleet.targets_known_by("ev", 2020)) == 4
