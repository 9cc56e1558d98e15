"""The 'allocation' backtest provider: figures reproduced by hand from the raw published tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mobility_plan import allocation_validation as av
from mobility_plan import ValidationError, census, data, demand
from mobility_plan.cli import main
from mobility_plan.validate import providers

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def raw_monthly(shared_data):
    """The monthly EV stock by province read straight from the CSV (no library loader)."""
    raw = pd.read_csv(shared_data / "fleet" / "ev_stock_sido_monthly.csv", encoding="utf-8-sig", dtype={"date": str})
    return raw.drop(columns=["sum17", "src"]).set_index("date").astype("float64")


@pytest.fixture(scope="module")
def checks():
    return av.allocation_checks()


def _shares(raw: pd.DataFrame, month: str) -> pd.Series:
    return raw.loc[month] / raw.loc[month].sum()


def test_trend_window_was_chosen_before_2022():
    from mobility_plan.fleet import vehicle_parameter

    table = av.trend_window_backtest()
    assert set(table["year"]) == {2020, 2021} and len(table) == 2 * 2 * 4
    assert table.attrs["best_window"] == int(vehicle_parameter("share_trend_window_months", "ev"))
    with pytest.raises(ValidationError, match="before the evaluation year 2022"):
        av.trend_window_backtest(years=(2021, 2022))


def test_provider_is_registered():
    assert providers()["allocation"] is av.allocation_checks


def test_carry_forward_baseline_by_hand(raw_monthly, checks):
    hand = float((_shares(raw_monthly, "2021-12") - _shares(raw_monthly, "2022-12")).abs().mean() * 100)
    assert hand == pytest.approx(0.688, abs=0.001)  # issue #17: "carrying December-2021 shares forward gives 0.69"
    share_rows = [c for c in checks if c.measure.startswith("EV shares by province, Dec 2022")]
    assert len(share_rows) == 2
    for row in share_rows:
        assert row.baseline_value == pytest.approx(hand, abs=1e-9)
        assert row.unit == "pp" and row.goal_value == 0.5 and not row.higher_is_better


def test_twelve_month_trend_by_hand(raw_monthly, checks):
    # information up to 2021-12: stock + 12 x mean monthly additions of 2021 (2020-12 -> 2021-12)
    last, first = raw_monthly.loc["2021-12"], raw_monthly.loc["2020-12"]
    projected = last + 12 * (last - first) / 12
    hand = projected / projected.sum()
    model = demand.provincial_shares(2022, information_before="2022-01")
    assert model.attrs == {"last_month": "2021-12", "horizon_months": 12}
    sido = data.load_sido_table().set_index("name_ko_short")["sido_code"]  # 서울 -> 11
    hand.index = hand.index.map(sido)
    got = model.set_index("sido_code")["share"]
    assert np.allclose(got.reindex(hand.index).to_numpy(), hand.to_numpy(), atol=1e-12)
    error = float((hand - _shares(raw_monthly, "2022-12").rename(index=sido)).abs().mean() * 100)
    row = next(c for c in checks if "12 months ahead" in c.measure)
    assert row.model_value == pytest.approx(error, abs=1e-9)
    # the trend beats carrying December 2021 forward on the same information
    assert row.beats_baseline


def test_one_month_row_never_sees_december_2022(monkeypatch, checks):
    row = next(c for c in checks if "1 month ahead" in c.measure)
    assert row.details["last_month"] == "2022-11" and row.met
    # the same figure with every month from December 2022 on removed from the data
    monthly = data.load_ev_stock_sido_monthly()
    cut = monthly[monthly["month"] < "2022-12-01"].reset_index(drop=True)
    monkeypatch.setattr(data, "load_ev_stock_sido_monthly", lambda **_: cut.copy())
    blind = demand.provincial_shares(2022, information_before="2022-12").set_index("sido_code")["share"]
    monkeypatch.undo()
    seen = demand.provincial_shares(2022, information_before="2022-12").set_index("sido_code")["share"]
    assert np.allclose(blind.sort_index().to_numpy(), seen.sort_index().to_numpy(), atol=0)
    # and the note names the honest same-information baseline, which the model does not beat
    assert "carry 2022-11 forward" in row.note and "does NOT beat" in row.note


def test_sigungu_rank_correlation_and_households_baseline(shared_data, checks):
    row = next(c for c in checks if c.unit == "rho")
    # households baseline by hand: census households vs chargers of the raw list counted per sigungu code
    chargers = census.attach_sigungu_codes(data.load_ev_chargers()).groupby("sigungu_code").size()
    households = census.load_census_sigungu().set_index("sigungu_code")["households"]
    joined = pd.concat([households, chargers.rename("chargers")], axis=1).fillna({"chargers": 0})
    ranks = joined.rank()
    hand = float(np.corrcoef(ranks["households"], ranks["chargers"])[0, 1])
    assert row.baseline_value == pytest.approx(hand, abs=1e-9)
    assert row.baseline_value == pytest.approx(0.951, abs=0.001)  # issue #17
    assert row.details["sigungu"] == 229
    # the old model (2025-04 shares of all registrations, 2030 ratios) was at 0.913; the new one is better
    assert 0.93 < row.model_value < 1.0
    slow, fast = row.details["slow_rho"], row.details["fast_rho"]
    assert f"slow {slow[0]:.3f} / {slow[1]:.3f}, fast {fast[0]:.3f} / {fast[1]:.3f}" in row.note
    if not row.met:
        assert "goal NOT met" in row.note and f"{row.model_value:.3f}" in row.note


def test_national_need_is_a_labelled_calibration(shared_data, checks):
    row = next(c for c in checks if c.area == "need")
    raw = pd.read_csv(shared_data / "stations" / "ev_chargers_20221027.csv", encoding="cp949", usecols=["기종(대)"])
    assert row.details["existing"] == len(raw) == 191_514
    assert abs(row.details["need"] / 191_514 - 1) * 100 == pytest.approx(row.model_value)
    assert row.met and row.model_value <= 15
    assert "CALIBRATION, not a forecast" in row.note
    # the old 2030-target ratios gave 0.59x (issue #17: 113,119 needed)
    assert row.details["need_with_target_ratios"] / 191_514 == pytest.approx(0.59, abs=0.01)


def test_validate_cli_prints_the_allocation_rows(capsys):
    assert main(["validate", "--only", "allocation"]) == 0
    out = capsys.readouterr().out
    for text in ("carry Dec-2021 shares forward", "census households", "191,514 chargers", "CALIBRATION",
                 "12 months ahead", "goals met"):
        assert text in out
