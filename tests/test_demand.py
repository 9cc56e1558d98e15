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
    assert main(["fleet", "--vehicle", "ev", "--target", "0", "--year", "2030"]) == 2
    assert "--target must be > 0" in capsys.readouterr().err
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
