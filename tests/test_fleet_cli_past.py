"""`mobility-plan fleet` for past years (#14 section 5): actual stock beside the allocation, chargers then."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mobility_plan.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def december_2022(shared_data):
    """Seoul's and the nation's EVs at the end of 2022, read straight from the monthly CSV."""
    raw = pd.read_csv(shared_data / "fleet" / "ev_stock_sido_monthly.csv", encoding="utf-8-sig").set_index("date")
    return raw.loc["2022-12"]


def test_2022_with_the_target_answers_the_planners_question(capsys, december_2022):
    assert main(["fleet", "--vehicle", "ev", "--year", "2022", "--target", "430000"]) == 0
    out = capsys.readouterr().out
    assert "EV fleet 430,000 vehicles (target 430,000 vehicles in 2022)" in out
    assert f"actual stock 2022: {int(december_2022['sum17']):,} vehicles (90.7% of the 430,000 asked)" in out
    assert "actual Dec 2022" in out.splitlines()[1]
    seoul = next(line for line in out.splitlines() if line.split()[:2] == ["11", "서울특별시"])
    assert int(seoul.split()[3]) == int(december_2022["서울"])  # actual column beside the allocation
    assert "existing 191,514" in out and "the 2022-10-27 national charger list" in out
    assert "observed 2022" in out
    need_line = next(line for line in out.splitlines() if line.startswith("need for the actual stock"))
    need = int(need_line.split(":")[1].split()[0].replace(",", ""))
    assert abs(need / 191_514 - 1) <= 0.15 and "existing (on the 2022-10-27 list) 191,514" in need_line


def test_2022_json_without_target_allocates_the_actual_stock(capsys, december_2022):
    assert main(["fleet", "--vehicle", "ev", "--year", "2022", "--json"]) == 0
    records = pd.DataFrame(json.loads(capsys.readouterr().out))
    assert records["vehicles"].sum() == records["actual_vehicles"].sum() == int(december_2022["sum17"]) == 389_855
    # the provinces of 2022 are the observed December shares, so the allocation is the actual stock
    assert (records["vehicles"] == records["actual_vehicles"]).all()
    assert records["existing"].sum() == 191_514
    assert (records["business_vehicles"] + records["private_vehicles"] == records["vehicles"]).all()


def test_2023_uses_the_actual_stock_and_says_what_the_charger_list_misses(capsys):
    assert main(["fleet", "--vehicle", "ev", "--year", "2023", "--level", "sigungu", "--top", "5"]) == 0
    out = capsys.readouterr().out
    assert "EV fleet 543,900 vehicles (actual stock 2023), sigungu level" in out
    assert "actual stock 2023: 543,900 vehicles" in out
    assert "chargers built after 2022-10-27 as missing" in out
    assert "linear between 2022 and 2030" in out
    assert "actual Dec" not in out  # no year-end counts by sigungu: no column pretending otherwise


def test_fcev_past_year_and_future_year_still_work(capsys):
    assert main(["fleet", "--vehicle", "fcev", "--year", "2023"]) == 0
    out = capsys.readouterr().out
    assert "actual Dec 2023" in out and "built in or before 2023" in out and "existing (built by 2023)" in out
    assert main(["fleet", "--vehicle", "ev", "--year", "2030", "--target", "4200000"]) == 0
    out = capsys.readouterr().out
    assert "target 2030" in out and "actual stock" not in out and "trended 70 months from 2025-02" in out
    assert main(["fleet", "--vehicle", "ev", "--year", "2013"]) == 2
    assert "before the first actual year 2014" in capsys.readouterr().err
