"""Hydrogen backcast: metrics on hand-made points, kept stations kept, no post-2019 leak, the provider."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from mobility_plan import h2_backcast as hb
from mobility_plan._errors import ValidationError
from mobility_plan.data import CRS_METRIC

# --------------------------------------------------------------------------- metrics on hand-made points


def test_match_shares_on_hand_made_points():
    proposed = [(0, 0), (10_000, 0), (50_000, 0)]
    real = [(3_000, 0), (0, 9_000)]
    shares = hb.match_shares(proposed, real, radii_m=(5_000, 10_000))
    # (0,0) is 3 km from a real station, (10 km, 0) 7 km, (50 km, 0) 47 km
    assert shares.proposed_near_real == pytest.approx((1 / 3, 2 / 3))
    # (3 km, 0) is 3 km from a proposed site, (0, 9 km) 9 km
    assert shares.real_near_proposed == pytest.approx((1 / 2, 1.0))
    assert list(shares.values()) == pytest.approx([1 / 3, 2 / 3, 1 / 2, 1.0])


def test_match_shares_counts_a_point_at_exactly_the_radius():
    shares = hb.match_shares([(0, 0)], [(5_000, 0)], radii_m=(4_999.0, 5_000.0))
    assert shares.proposed_near_real == (0.0, 1.0)
    assert shares.real_near_proposed == (0.0, 1.0)


@pytest.mark.parametrize("bad, message", [
    ([(0, 0, 0)], "shape"),
    ([(np.nan, 0)], "NaN"),
])
def test_match_shares_rejects_malformed_points(bad, message):
    with pytest.raises(ValidationError, match=message):
        hb.match_shares(bad, [(0, 0)])


def test_match_shares_rejects_non_positive_radius():
    with pytest.raises(ValidationError, match="radii_m"):
        hb.match_shares([(0, 0)], [(0, 0)], radii_m=(0.0,))


def test_random_baseline_scores_each_draw_like_the_model():
    rng = np.random.default_rng(3)
    candidates = rng.uniform(0, 60_000, size=(40, 2))
    real = rng.uniform(0, 60_000, size=(9, 2))
    weights = rng.uniform(0, 5, size=40)
    weights[:5] = 0.0
    for w in (None, weights):
        baseline = hb.random_baseline(candidates, real, n_pick=7, draws=25, seed=11, radii_m=(5_000, 10_000),
                                      weights=w)
        assert baseline.shares.shape == (25, 4)
        assert baseline.picks.shape == (25, 7)
        for draw in range(25):
            assert len(set(baseline.picks[draw])) == 7
            expected = hb.match_shares(candidates[baseline.picks[draw]], real).values()
            np.testing.assert_allclose(baseline.shares[draw], expected)
    assert not np.isin(baseline.picks, np.arange(5)).any(), "a candidate of weight 0 was drawn"
    again = hb.random_baseline(candidates, real, n_pick=7, draws=25, seed=11, radii_m=(5_000, 10_000),
                               weights=weights)
    np.testing.assert_array_equal(again.picks, baseline.picks)


def test_weighted_random_draws_follow_the_weights():
    candidates = np.array([[0.0, 0.0], [100_000.0, 0.0]])
    baseline = hb.random_baseline(candidates, [(0.0, 0.0)], n_pick=1, draws=4_000, seed=5, radii_m=(5_000,),
                                  weights=[9.0, 1.0])
    share_heavy = float(np.mean(baseline.picks[:, 0] == 0))
    assert share_heavy == pytest.approx(0.9, abs=0.02)
    assert baseline.mean[0] == pytest.approx(share_heavy)  # a pick of candidate 0 is 0 m from the real one
    uniform = hb.random_baseline(candidates, [(0.0, 0.0)], n_pick=1, draws=4_000, seed=5, radii_m=(5_000,))
    assert float(np.mean(uniform.picks[:, 0] == 0)) == pytest.approx(0.5, abs=0.03)


def test_random_baseline_refuses_more_picks_than_weighted_candidates():
    with pytest.raises(ValidationError, match="weight > 0"):
        hb.random_baseline([(0, 0), (1, 1), (2, 2)], [(0, 0)], n_pick=2, draws=3, seed=0, radii_m=(5_000,),
                           weights=[1.0, 0.0, 0.0])


# --------------------------------------------------------------------------- tiny siting instances


def _points(xy, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=[Point(x, y) for x, y in xy], crs=CRS_METRIC)


def _tiny_inputs() -> hb.SitingInputs:
    """Demand A (weight 100) beside a station of 2019, demand B (weight 10) 50 km away."""
    demand = _points([(0, 0), (50_000, 0)], adm3_code=["A", "B"], sido_code=["11", "11"], demand=[100.0, 10.0])
    candidates = _points([(0, 0), (50_000, 0)], site_id=["adm3:A", "adm3:B"], kind=["adm3", "adm3"],
                         name=["A", "B"], demand=[100.0, 10.0])
    return hb.SitingInputs(demand=demand, candidates=candidates)


def _tiny_stations(*, post_2019_xy=(20_000, 0)) -> gpd.GeoDataFrame:
    return _points([(1_000, 0), post_2019_xy], build_year=[2019, 2021], station_id=[1, 2], name=["old", "new"])


def test_kept_stations_are_kept_and_count_as_open():
    inputs = _tiny_inputs()
    # with the 2019 station kept, A is already covered: the one new station goes to B
    proposed = hb.site_new_stations(_tiny_stations(), inputs, kept_until_year=2019, n_new=1,
                                    variant=hb.Variant(radius_m=5_000))
    assert proposed["site_id"].tolist() == ["adm3:B"]
    # with nothing kept (end-2018), the heavier demand A gets it
    proposed = hb.site_new_stations(_tiny_stations(), inputs, kept_until_year=2018, n_new=1,
                                    variant=hb.Variant(radius_m=5_000))
    assert proposed["site_id"].tolist() == ["adm3:A"]


def test_backcast_keeps_every_old_station_at_its_real_coordinates():
    stations = _tiny_stations()
    parameters = hb.BackcastParameters(
        kept_until_year=2019, built_from_year=2020, built_to_year=2024, inner_kept_until_year=2017,
        inner_built_from_year=2018, inner_built_to_year=2019, match_radii_m=(5_000.0, 10_000.0), random_draws=10,
        random_seed=1, baseline_percentile=95.0, mclp_radii_m=(5_000.0,), flow_shares=(0.0,), fcev_range_km=609.0)
    result = hb.run_backcast(stations, _tiny_inputs(), kept_until_year=2019, built_from_year=2020,
                             built_to_year=2024, variant=hb.Variant(radius_m=5_000), parameters=parameters)
    assert result.n_kept == 1 and result.n_new == 1
    kept = result.kept.to_crs(CRS_METRIC)
    assert (kept.geometry.x.round(3).tolist(), kept.geometry.y.round(3).tolist()) == ([1_000.0], [0.0])
    assert result.real["station_id"].tolist() == [2]
    assert result.proposed.crs.to_epsg() == 4326 and result.real.crs.to_epsg() == 4326
    # proposed B (50 km, 0) lies 30 km from the real 2021 station (20 km, 0): no match at 5 or 10 km
    assert list(result.shares.values()) == [0.0, 0.0, 0.0, 0.0]


def test_stations_without_crs_are_refused():
    stations = pd.DataFrame({"build_year": [2019]})
    stations = gpd.GeoDataFrame(stations, geometry=[Point(0, 0)])
    with pytest.raises(ValidationError, match="no CRS"):
        hb.site_new_stations(stations, _tiny_inputs(), kept_until_year=2019, n_new=1,
                             variant=hb.Variant(radius_m=5_000))


@pytest.mark.parametrize("kwargs, message", [
    ({"radius_m": 0.0}, "radius_m"),
    ({"radius_m": 5_000.0, "flow_share": 1.0}, "flow_share"),
])
def test_variant_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        hb.Variant(**kwargs)


def test_parameter_table_errors_name_the_row(tmp_path):
    good = hb.PARAMETERS_CSV.read_text(encoding="utf-8")
    missing = tmp_path / "missing.csv"
    missing.write_text("\n".join(line for line in good.splitlines() if not line.startswith("random_draws")),
                       encoding="utf-8")
    with pytest.raises(ValidationError, match="random_draws"):
        hb.load_backcast_parameters(missing)
    text = tmp_path / "text.csv"
    text.write_text(good.replace("random_seed,20191231", "random_seed,twenty"), encoding="utf-8")
    with pytest.raises(ValidationError, match="random_seed"):
        hb.load_backcast_parameters(text)


def test_shipped_parameters_hold_out_2020_2024_and_choose_on_earlier_years():
    parameters = hb.load_backcast_parameters()
    assert (parameters.kept_until_year, parameters.built_from_year, parameters.built_to_year) == (2019, 2020, 2024)
    assert parameters.inner_built_to_year <= parameters.kept_until_year
    assert parameters.match_radii_m == (5_000.0, 10_000.0)
    assert parameters.random_draws == 200


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def real_inputs(shared_data):
    """The stations and the inputs of the shipped run (cached: the provider test reuses the run)."""
    from mobility_plan.data import load_hydrogen_stations

    return load_hydrogen_stations(), hb.hydrogen_backcast().inputs


@pytest.mark.slow
def test_inputs_keep_every_candidate_without_snapping(real_inputs):
    _, inputs = real_inputs
    assert (inputs.candidates["kind"] == "adm3").sum() == 3501
    assert (inputs.candidates["kind"] == "rest_area").sum() == 199
    assert inputs.candidates.crs.to_epsg() == 5179 and inputs.demand.crs.to_epsg() == 5179
    assert inputs.demand["demand"].sum() == pytest.approx(51_817_499, rel=1e-6)
    assert len(inputs.flow_sites) > 20 and set(inputs.flow_sites) <= set(inputs.candidates["site_id"])


@pytest.mark.slow
def test_no_post_2019_information_reaches_the_siting(real_inputs):
    stations, inputs = real_inputs
    variant = hb.Variant(radius_m=5_000, flow_share=0.1)
    base = hb.site_new_stations(stations, inputs, kept_until_year=2019, n_new=189, variant=variant)
    # move every post-2019 station to random places, rename it, and add an invented 2023 station
    perturbed = stations.copy()
    later = perturbed["build_year"] > 2019
    rng = np.random.default_rng(0)
    perturbed.loc[later, "geometry"] = gpd.points_from_xy(rng.uniform(126.5, 129.0, later.sum()),
                                                          rng.uniform(34.8, 37.8, later.sum()), crs="EPSG:4326")
    perturbed.loc[later, "name"] = "moved"
    extra = perturbed.iloc[[0]].copy()
    extra["build_year"] = 2023
    perturbed = pd.concat([perturbed, extra], ignore_index=True)
    again = hb.site_new_stations(perturbed, inputs, kept_until_year=2019, n_new=189, variant=variant)
    assert again["site_id"].tolist() == base["site_id"].tolist()
    only_old = hb.site_new_stations(stations[stations["build_year"] <= 2019], inputs, kept_until_year=2019,
                                    n_new=189, variant=variant)
    assert only_old["site_id"].tolist() == base["site_id"].tolist()
    assert (base["by"] == "flow").sum() == 19
    # a change in the kept stations does change the sites: the check above can fail
    fewer = hb.site_new_stations(stations, inputs, kept_until_year=2018, n_new=189, variant=variant)
    assert fewer["site_id"].tolist() != base["site_id"].tolist()


@pytest.mark.slow
def test_hydrogen_provider_rows_and_map_layers(shared_data):
    from mobility_plan.validate import run_checks

    rows = run_checks(["hydrogen"])
    assert len(rows) == 4
    assert all(row.area == "hydrogen" and row.unit == "%" and row.higher_is_better for row in rows)
    assert [("proposed sites" in row.measure, "5 km" in row.measure) for row in rows] == [
        (True, True), (True, False), (False, True), (False, False)]
    for row in rows:
        assert 0.0 <= row.model_value <= 100.0
        assert row.goal_value > row.baseline_value  # "met" means strictly above the demand-weighted p95
        assert "uniform random mean" in row.baseline and "demand-weighted random p95" in row.baseline
        assert row.met == (row.model_value > row.baseline_value)
    details = rows[0].details
    assert len(details["real"]) == 189 and len(details["proposed"]) == 189 and len(details["kept"]) == 32
    assert details["proposed"].crs.to_epsg() == 4326 and details["real"].crs.to_epsg() == 4326
    assert details["real"]["build_year"].between(2020, 2024).all()
    stations = details["stations"]  # the Validation page's one map: proposed against real, kept stations too
    assert stations["kind"].value_counts().sort_index().tolist() == [32, 189, 189]
    assert stations["lon"].between(124, 132).all() and stations["lat"].between(33, 39).all()
    assert "leak" in rows[0].note and "inner backcast" in rows[0].note


@pytest.mark.slow
def test_cli_validate_prints_the_hydrogen_rows(shared_data, capsys):
    from mobility_plan.cli import main

    assert main(["validate", "--only", "hydrogen"]) == 0
    out = capsys.readouterr().out
    for phrase in ("real station within 5 km", "real station within 10 km", "proposed site within 5 km",
                   "proposed site within 10 km", "demand-weighted random p95"):
        assert phrase in out


def test_weighted_baseline_draws_by_the_models_demand():
    inputs = _tiny_inputs()
    candidates = inputs.candidates.copy()
    candidates["demand"] = [0.0, 10.0]  # only B carries demand
    parameters = hb.BackcastParameters(
        kept_until_year=2019, built_from_year=2020, built_to_year=2024, inner_kept_until_year=2017,
        inner_built_from_year=2018, inner_built_to_year=2019, match_radii_m=(5_000.0, 10_000.0), random_draws=50,
        random_seed=1, baseline_percentile=95.0, mclp_radii_m=(5_000.0,), flow_shares=(0.0,), fcev_range_km=609.0)
    result = hb.run_backcast(_tiny_stations(), hb.SitingInputs(demand=inputs.demand, candidates=candidates),
                             kept_until_year=2019, built_from_year=2020, built_to_year=2024,
                             variant=hb.Variant(radius_m=5_000), parameters=parameters)
    assert (result.weighted.picks == 1).all()
    assert set(result.uniform.picks.ravel()) == {0, 1}
