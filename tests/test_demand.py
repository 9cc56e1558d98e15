"""Regional allocation, energy, infrastructure need, Erlang-C sizing and the fleet CLI."""

from __future__ import annotations

import heapq
import json

import numpy as np
import pytest

from mobility_plan import ValidationError, census, demand
from mobility_plan.cli import main


def test_largest_remainder_is_exact_and_deterministic():
    parts = demand.largest_remainder(10, np.array([1.0, 1.0, 1.0]))
    assert parts.tolist() == [4, 3, 3]
    rng = np.random.default_rng(1)
    weights = rng.random(500)
    assert demand.largest_remainder(123_457, weights).sum() == 123_457
    with pytest.raises(ValidationError, match="all zero"):
        demand.largest_remainder(5, np.zeros(3))
    with pytest.raises(ValidationError, match="finite and >= 0"):
        demand.largest_remainder(5, np.array([1.0, -1.0]))


@pytest.mark.parametrize("vehicle", ["ev", "fcev"])
def test_allocation_adds_up_at_every_level(vehicle):
    shares = demand.regional_shares(vehicle)
    assert shares["share"].sum() == pytest.approx(1.0, abs=1e-12)
    assert shares.drop_duplicates("sido_code")["sido_share"].sum() == pytest.approx(1.0, abs=1e-12)
    assert shares.drop_duplicates("sigungu_code")["sigungu_share"].sum() == pytest.approx(1.0, abs=1e-12)
    national = 850_001
    tables = {level: demand.allocate_fleet(vehicle, national, level=level) for level in demand.LEVELS}
    for level, table in tables.items():
        assert int(table["vehicles"].sum()) == national, level
        assert table["code"].is_unique
    assert len(tables["sido"]) == 17
    assert set(tables["sigungu"]["code"]) == set(census.load_census_sigungu()["sigungu_code"])
    assert set(tables["adm3"]["code"]) == set(census.load_census_adm3()["adm3_code"])
    # finer levels add up to the coarser ones
    adm3 = tables["adm3"].merge(census.load_census_adm3()[["adm3_code", "sigungu_code"]], left_on="code",
                                right_on="adm3_code")
    per_sigungu = adm3.groupby("sigungu_code")["vehicles"].sum()
    assert per_sigungu.to_dict() == tables["sigungu"].set_index("code")["vehicles"].to_dict()
    per_sido = tables["sigungu"].groupby("sido_code")["vehicles"].sum()
    assert per_sido.to_dict() == tables["sido"].set_index("code")["vehicles"].to_dict()


def test_ev_allocation_follows_registrations():
    table = demand.allocate_fleet("ev", 719_039, level="sido", prior_share=0.0).set_index("code")
    # 2025-04 registrations: Gyeonggi has the most EVs, Sejong the fewest
    assert table["vehicles"].idxmax() == "31" and table["vehicles"].idxmin() == "29"


def test_prior_pulls_thin_regions_towards_census():
    observed = demand.allocate_fleet("fcev", 100_000, level="sido", prior_share=0.0).set_index("code")
    blended = demand.allocate_fleet("fcev", 100_000, level="sido", prior_share=0.5).set_index("code")
    # Jeju has 50 fuel-cell cars but 1.3 % of households: the prior raises its share
    assert blended.loc["39", "vehicles"] > observed.loc["39", "vehicles"]


def test_energy_and_station_need_worked_example():
    need = demand.infrastructure_need("fcev", 850_000, year=2030, level="sido")
    assert need["vehicles"].sum() == 850_000
    assert need["energy_unit"].unique().tolist() == ["kg/day"]
    # 850,000 x 35.2 km/day x 0.0104 kg/km
    assert need["energy_per_day"].sum() == pytest.approx(850_000 * 35.2 * 0.0104)
    row = need.sort_values("vehicles").iloc[-1]
    assert row["need"] == int(np.ceil(row["energy_per_day"] / (250 * 0.7) - 1e-9))
    assert need["existing"].sum() == 204  # commercial stations of the 2024 list
    assert (need["deficit"] == (need["need"] - need["existing"]).clip(lower=0)).all()
    earlier = demand.infrastructure_need("fcev", 850_000, year=2026, level="sido")
    assert earlier["existing"].sum() == 204
    sigungu = demand.infrastructure_need("fcev", 850_000, year=2030, level="sigungu")
    assert sigungu["existing"].sum() == 204


def test_ev_need_matches_the_2030_charger_target_scale():
    need = demand.infrastructure_need("ev", 4_200_000, year=2030, level="sido")
    assert need["fast_need"].sum() == pytest.approx(123_000, rel=0.01)
    assert need["public_slow_need"].sum() == pytest.approx(1_107_000, rel=0.03)
    assert need["existing"].sum() == 191_514
    # more apartments -> less home charging access
    assert np.corrcoef(need["apartment_share"], need["home_access"])[0, 1] < -0.99
    adm3 = demand.infrastructure_need("ev", 4_200_000, year=2030, level="adm3")
    assert adm3["existing"].isna().all() and adm3["need"].sum() > 0


def test_need_map_has_polygons():
    gdf = demand.need_map("fcev", 300_000, year=2030, level="sido")
    assert gdf.crs.to_epsg() == 5179 and len(gdf) == 17 and not gdf.geometry.is_empty.any()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: demand.allocate_fleet("ev", 0), "must be > 0 vehicles"),
        (lambda: demand.allocate_fleet("ev", -10), "must be > 0 vehicles"),
        (lambda: demand.allocate_fleet("ev", 10, level="county"), "level must be one of"),
        (lambda: demand.allocate_fleet("ev", 10, regions=["99"]), "unknown sido code"),
        (lambda: demand.infrastructure_need("ev", 10, year=2019), "before the last actual year"),
        (lambda: demand.DemandParameters.defaults("ev", energy_kwh_per_km=0), "energy_kwh_per_km must be > 0"),
        (lambda: demand.DemandParameters.defaults("fcev", hydrogen_kg_per_km=-1), "hydrogen_kg_per_km must be > 0"),
        (lambda: demand.DemandParameters.defaults("fcev", station_utilisation=1.5), "station_utilisation"),
        (lambda: demand.DemandParameters.defaults("fcev", warp=1), "unknown demand parameter"),
        (lambda: demand.erlang_c(2, 30, 5), "unstable queue: utilisation 1.250"),
        (lambda: demand.erlang_c(2, 24, 5), "unstable queue"),
        (lambda: demand.existing_chargers("adm3"), "no coordinates"),
    ],
)
def test_bad_inputs_name_the_value_and_rule(call, message):
    with pytest.raises(ValidationError, match=message):
        call()


def test_erlang_c_published_value():
    # c = 3, a = 2 Erlang: P(wait) = 4/9 (textbook value), Wq = C / (c mu - lambda)
    result = demand.erlang_c(3, 24.0, 5.0)
    assert result.wait_probability == pytest.approx(4 / 9, rel=1e-12)
    assert result.mean_wait_min == pytest.approx((4 / 9) / (36 - 24) * 60)
    assert demand.erlang_c(1, 6.0, 5.0).wait_probability == pytest.approx(0.5)  # M/M/1: P(wait) = rho


def _simulate(servers, rate_per_h, service_min, customers, seed):
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(60.0 / rate_per_h, customers))
    services = rng.exponential(service_min, customers)
    free = [0.0] * servers
    waits = np.empty(customers)
    for i in range(customers):
        start = max(arrivals[i], heapq.heappop(free))
        waits[i] = start - arrivals[i]
        heapq.heappush(free, start + services[i])
    return (waits[customers // 10:] > 0).mean(), waits[customers // 10:].mean()


def test_erlang_c_matches_a_discrete_event_simulation():
    formula = demand.erlang_c(4, 30.0, 6.0)
    shares, means = zip(*(_simulate(4, 30.0, 6.0, 60_000, seed) for seed in range(4)))
    assert np.mean(shares) == pytest.approx(formula.wait_probability, abs=0.02)
    assert np.mean(means) == pytest.approx(formula.mean_wait_min, rel=0.1)


def test_size_servers_meets_both_limits_with_fewest_servers():
    sized = demand.size_servers(20.0, 40.0, max_wait_probability=0.2, max_mean_wait_min=5.0)
    assert sized.wait_probability <= 0.2 and sized.mean_wait_min <= 5.0
    fewer = demand.erlang_c(sized.servers - 1, 20.0, 40.0)
    assert fewer.wait_probability > 0.2 or fewer.mean_wait_min > 5.0


def test_fleet_cli_json(capsys):
    assert main(["fleet", "--vehicle", "fcev", "--target", "850000", "--year", "2030", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) == 17 and sum(r["vehicles"] for r in records) == 850_000
    first = records[0]
    for key in ("region", "code", "vehicles", "energy_per_day", "energy_unit", "need", "existing", "deficit"):
        assert key in first
    assert first["energy_unit"] == "kg/day"


def test_fleet_cli_table_and_errors(capsys):
    assert main(["fleet", "--vehicle", "ev", "--year", "2028", "--level", "sigungu", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "logistic projection for 2028" in out and "90.7 % achieved" in out
    with pytest.raises(SystemExit) as refused:  # argparse refuses it before any work
        main(["fleet", "--vehicle", "ev", "--target", "0", "--year", "2030"])
    assert refused.value.code == 2 and "argument --target: must be a finite number > 0" in capsys.readouterr().err
    assert main(["fleet", "--vehicle", "ev", "--target", "10", "--year", "2010"]) == 2
    assert "before the first actual year 2014" in capsys.readouterr().err


def test_allocate_to_regions_checks_shares():
    import pandas as pd

    shares = pd.Series({"11": 0.5, "21": 0.5})
    assert demand.allocate_to_regions(11, shares).tolist() == [6, 5]
    with pytest.raises(ValidationError, match="sum to 0.9"):
        demand.allocate_to_regions(10, pd.Series({"11": 0.5, "21": 0.4}))
    with pytest.raises(ValidationError, match=">= 0"):
        demand.allocate_to_regions(10, pd.Series({"11": 1.5, "21": -0.5}))


def test_need_by_year_follows_the_target_path():
    table = demand.need_by_year("fcev", [2026, 2028, 2030], target=850_000, target_year=2030)
    totals = table.groupby("year")["vehicles"].sum()
    assert totals.index.tolist() == [2026, 2028, 2030]
    assert totals.is_monotonic_increasing and totals.loc[2030] == 850_000
    assert (table.groupby("year")["need"].sum().diff().dropna() >= 0).all()


# --------------------------------------------------------------------------- year-specific allocation (#17)


def test_charger_ratios_2022_recomputed_from_the_real_tables(shared_data):
    import pandas as pd

    chargers = pd.read_csv(shared_data / "stations" / "ev_chargers_20221027.csv", encoding="cp949",
                           usecols=["기종(대)"])["기종(대)"].value_counts()
    monthly = pd.read_csv(shared_data / "fleet" / "ev_stock_sido_monthly.csv", encoding="utf-8-sig")
    stock_oct_2022 = int(monthly.loc[monthly["date"] == "2022-10", "sum17"].iloc[0])
    registrations = pd.read_csv(shared_data / "fleet" / "ev_registrations_sigungu_20250407.csv", encoding="cp949")
    by_use = registrations.groupby("용도별")["계"].sum()
    private_share = by_use["비사업용"] / by_use.sum()
    sido = census.load_census_sido()
    apartment = float((sido["apartment_share"] * sido["households"]).sum() / sido["households"].sum())
    without_home = 1 - 0.5 * (1 - apartment)  # home access 0.5 outside apartments, 0 inside
    ratios = demand.charger_ratios(2022)
    assert ratios.basis == "observed 2022"
    assert ratios.fast_chargers_per_ev == pytest.approx(chargers["급속"] / stock_oct_2022, rel=1e-3)
    assert ratios.public_slow_chargers_per_private_ev_without_home == pytest.approx(
        chargers["완속"] / (stock_oct_2022 * private_share * without_home), rel=1e-3)
    target = demand.charger_ratios(2030)
    assert target.fast_chargers_per_ev == pytest.approx(123_000 / 4_200_000, rel=1e-3)
    assert target.public_slow_chargers_per_private_ev_without_home == pytest.approx(
        1_107_000 / (4_200_000 * private_share * without_home), rel=1e-3)


def test_charger_ratios_follow_the_path():
    early, start, middle, end, late = (demand.charger_ratios(y) for y in (2018, 2022, 2026, 2030, 2040))
    assert early.fast_chargers_per_ev == start.fast_chargers_per_ev and early.basis == "observed 2022"
    assert late.fast_chargers_per_ev == end.fast_chargers_per_ev and late.basis == "target 2030"
    assert middle.fast_chargers_per_ev == pytest.approx((start.fast_chargers_per_ev + end.fast_chargers_per_ev) / 2)
    assert middle.basis == "linear between 2022 and 2030"
    # no year: the 2030 targets (scenarios built before the path keep their numbers)
    assert demand.DemandParameters.defaults("ev").fast_chargers_per_ev == end.fast_chargers_per_ev
    assert demand.DemandParameters.defaults("ev", year=2022).fast_chargers_per_ev == start.fast_chargers_per_ev
    with pytest.raises(ValidationError, match="whole number"):
        demand.charger_ratios(2022.5)
    custom = demand.DemandParameters.defaults("ev", daily_distance_km=40.0).with_charger_ratios(2022)
    assert custom.daily_distance_km == 40.0 and custom.fast_chargers_per_ev == start.fast_chargers_per_ev
    assert custom.public_slow_chargers_per_ev_without_home == start.public_slow_chargers_per_private_ev_without_home


def test_provincial_shares_observed_and_trended(shared_data):
    import pandas as pd

    raw = pd.read_csv(shared_data / "fleet" / "ev_stock_sido_monthly.csv", encoding="utf-8-sig").set_index("date")
    names = demand.data.load_sido_table().set_index("name_ko_short")["sido_code"]
    december = raw.loc["2022-12", names.index].astype(float).rename(index=names)
    observed = demand.provincial_shares(2022).set_index("sido_code")
    assert observed.attrs["horizon_months"] == 0 and observed.attrs["last_month"] == "2022-12"
    assert np.allclose(observed["share"].reindex(december.index), december / december.sum(), atol=1e-15)
    # November 2022 + one month of the mean additions of Nov 2021 -> Nov 2022
    nov, nov_before = (raw.loc[m, names.index].astype(float).rename(index=names) for m in ("2022-11", "2021-11"))
    hand = nov + (nov - nov_before) / 12
    trended = demand.provincial_shares(2022, information_before="2022-12").set_index("sido_code")
    assert np.allclose(trended["share"].reindex(hand.index), hand / hand.sum(), atol=1e-12)
    future = demand.provincial_shares(2030)
    assert future.attrs == {"last_month": "2025-02", "horizon_months": 70}
    assert future["share"].sum() == pytest.approx(1.0) and (future["share"] > 0).all()
    with pytest.raises(ValidationError, match="no month before 2018-01"):
        demand.provincial_shares(2022, information_before="2018-01")


def test_year_specific_allocation_reproduces_the_actual_provinces():
    actual = demand.actual_regional_stock("ev", 2022).set_index("code")["actual_vehicles"]
    assert actual.sum() == 389_855 and len(actual) == 17
    table = demand.allocate_fleet("ev", 389_855, level="sido", year=2022).set_index("code")
    assert (table["vehicles"] == actual.reindex(table.index)).all()
    # sigungu counts add up to the provinces of that year
    sigungu = demand.allocate_fleet("ev", 389_855, level="sigungu", year=2022)
    assert sigungu.groupby("sido_code")["vehicles"].sum().to_dict() == table["vehicles"].to_dict()
    assert demand.actual_regional_stock("ev", 2022, level="sigungu").empty
    assert demand.actual_regional_stock("fcev", 2023)["actual_vehicles"].sum() > 30_000


def test_within_provinces_private_registrations_lead(shared_data):
    import pandas as pd

    registrations = census.attach_sigungu_codes(demand.data.load_ev_registrations_sigungu())
    private = registrations[registrations["use"] == "non_business"].groupby("sigungu_code")["total"].sum()
    shares = demand.regional_shares("ev", prior_share=0.0).drop_duplicates("sigungu_code").set_index("sigungu_code")
    incheon = shares[shares["sido_code"] == "23"]["sigungu_share_in_sido"]
    hand = private.reindex(incheon.index).fillna(0) / private.reindex(incheon.index).fillna(0).sum()
    assert np.allclose(incheon.to_numpy(), hand.to_numpy(), atol=1e-12)
    # head-office registrations no longer pull need: issue #17 had Sinan-gun 813 and Gyeyang-gu 2,429 needed
    need = demand.infrastructure_need("ev", 389_855, year=2022, level="sigungu", backcast=True).set_index("code")
    assert need.loc["36680", "need"] < 813 / 3 and need.loc["23070", "need"] < 2_429 / 2
    assert (need["business_vehicles"] + need["private_vehicles"] == need["vehicles"]).all()
    business = need["business_vehicles"].sum() / need["vehicles"].sum()
    assert 0.15 < business < 0.25  # about a fifth, as in the 2025-04 registrations
    raw = pd.read_csv(shared_data / "fleet" / "ev_registrations_sigungu_20250407.csv", encoding="cp949")
    by_use = raw.groupby("용도별")["계"].sum()
    assert demand.business_shares("national").iloc[0] == pytest.approx(by_use["사업용"] / by_use.sum())


def test_ev_need_2022_is_near_the_chargers_that_existed():
    need = demand.infrastructure_need("ev", 389_855, year=2022, level="sido", backcast=True)
    assert need["existing"].sum() == 191_514
    assert abs(need["need"].sum() / 191_514 - 1) <= 0.15
    # the 2030 targets alone would need far fewer (issue #17: 113,119, 0.59x)
    old = demand.infrastructure_need("ev", 389_855, year=2022, level="sido", backcast=True,
                                     parameters=demand.DemandParameters.defaults("ev"))
    assert old["need"].sum() < 0.65 * 191_514


def test_bad_charger_ratio_table_and_bad_month_are_named(tmp_path, monkeypatch):
    (tmp_path / "charger_ratio_path.csv").write_text(
        "year,parameter,value,unit,source\n"
        "2022,fast_chargers_per_ev,0.05,chargers/vehicle,x\n"
        "2030,fast_chargers_per_ev,-1,chargers/vehicle,x\n", encoding="utf-8")
    monkeypatch.setattr(demand.data, "PROJECT_DATA", tmp_path)
    demand._charger_ratio_path.cache_clear()
    try:
        with pytest.raises(demand.DataSourceError, match=r"charger_ratio_path.csv: every year and value must be a "
                                                         r"number > 0.*public_slow_chargers_per_private_ev_without_home"):
            demand.charger_ratios(2025)
    finally:
        monkeypatch.undo()
        demand._charger_ratio_path.cache_clear()
    assert demand.charger_ratios(2030).fast_chargers_per_ev == pytest.approx(0.0293)
    with pytest.raises(ValidationError, match="information_before must be a month like '2022-12'"):
        demand.provincial_shares(2022, information_before="last winter")


def test_need_map_of_a_past_year_is_a_look_back(shared_data):
    # the app's Fleet & demand page maps past years: need_map looks back by itself before the last registered year
    frame = demand.need_map("ev", 389_855, year=2022, level="sido")
    assert len(frame) == 17 and int(frame["vehicles"].sum()) == 389_855
    assert frame.geometry.notna().all() and (frame["need"] > 0).all()
    with pytest.raises(ValidationError, match="backcast=True"):
        demand.need_map("ev", 389_855, year=2022, level="sido", backcast=False)
