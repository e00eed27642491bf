"""The three objectives a scenario chooses: weighted, priorities (lexicographic) and net benefit, each solved by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import parcel, recheck_plan, write_region

from dualuse.cli import cli
from dualuse.errors import UsageError
from dualuse.inputs.catalogue import load_catalogue
from dualuse.inputs.scenario import load_scenario, make_scenario
from dualuse.model.coefficients import capital_recovery_factor
from dualuse.run import solve_region
from dualuse.vocabulary import USES

CATALOGUE = load_catalogue()
SOLAR = CATALOGUE.use("solar")
AGRI = CATALOGUE.use("agrivoltaic")
#: No LDN, no food floor, no export, ample budget: only the objective chooses.
OPEN = dict(ldn_scope="off", food_floor=0.0, budget_usd=1e9, grid_export_mwh=0.0)


def two_village_fields(tmp_path):
    """Two 10 ha cropland fields of 2 t/ha in a village whose demand (200,000 MWh/yr) they cannot meet."""
    return write_region(tmp_path / "r.gpkg", [
        parcel("cropland", community_id="village", productivity_t_ha=2.0, area_ha=10.0),
        parcel("cropland", community_id="village", productivity_t_ha=2.0, area_ha=10.0),
    ], communities=[{"community_id": "village", "unserved_households": 100_000, "household_kwh_yr": 2000.0}])


def test_priorities_serve_access_first_where_the_weighted_sum_keeps_the_harvest(tmp_path):
    r"""Per hectare (η = 0.85, 1,800 kWh/kWp): solar delivers e_s = 0.87·1800·0.85 = 1,331.1 MWh and no
    harvest; agrivoltaics e_a = 0.39·1800·0.85 = 596.7 MWh and 0.9 of the harvest; demand D = 200,000 MWh.

    Weighted (w_a = w_p = 1, no energy or cost weight): a hectare is worth e_s/D = 0.0067 under solar,
    e_a/D + 0.9/20 = 0.0480 under agrivoltaics, 1/20 = 0.05 kept: keep all, access 0, productivity 1.

    Priorities [access, productivity], tolerance 0.1: level 1 puts all 20 ha under solar, access
    f₁* = 20·1331.1/D = 0.13311.  Level 2 holds access ≥ 0.9 f₁*, i.e. 23,959.8 MWh, and keeps the most
    harvest: agrivoltaics loses 0.1 of the harvest per 596.7 MWh, solar all of it per 1,331.1 MWh, so
    agrivoltaics first; 20 ha of it give 11,934 MWh, and turning a hectare of it to solar adds 734.4 MWh:
    s = 12,025.8 / 734.4 = 16.375 ha solar, a = 3.625 ha agrivoltaics, productivity 0.9·3.625/20 = 0.163125.
    """
    region = two_village_fields(tmp_path)
    weights = dict(weight_access=1.0, weight_productivity=1.0, weight_energy=0.0, weight_cost=0.0)
    weighted = solve_region(region, scenario=make_scenario({**OPEN, **weights}))
    assert weighted.kpis["access"] == pytest.approx(0.0, abs=1e-9)
    assert weighted.kpis["productivity"] == pytest.approx(1.0, rel=1e-9)

    scenario = make_scenario({**OPEN, **weights, "objective_mode": "priorities",
                              "priorities": ["access", "productivity"], "priority_tolerance": 0.1})
    plan = solve_region(region, tmp_path / "p.gpkg", scenario=scenario)
    recheck_plan(tmp_path / "p.gpkg", region)
    area = plan.coef.area_ha.sum()
    e_s, e_a = SOLAR.density_mwp_ha * 1800 * 0.85, AGRI.density_mwp_ha * 1800 * 0.85
    demand = 200_000.0
    access_star = area * e_s / demand
    held = 0.9 * access_star * demand
    solar_ha = (held - area * e_a) / (e_s - e_a)
    agri_ha = area - solar_ha
    assert solar_ha == pytest.approx(16.375, rel=1e-3)
    levels = plan.result.priority_levels
    assert [lv["kpi"] for lv in levels] == ["access", "productivity"]
    assert levels[0]["optimum"] == pytest.approx(access_star, rel=1e-7)
    assert levels[0]["held_at"] == pytest.approx(0.9 * access_star, rel=1e-7)
    assert levels[1]["optimum"] == pytest.approx(0.9 * agri_ha / area, rel=1e-6)
    # the plan is the last level's: its KPIs recomputed from the shares meet every level
    assert plan.kpis["access"] >= levels[0]["held_at"] - 1e-12
    assert plan.kpis["productivity"] == pytest.approx(levels[1]["optimum"], rel=1e-9)
    shares_ha = plan.shares * plan.coef.area_ha[:, None]
    assert shares_ha[:, USES.index("solar")].sum() == pytest.approx(solar_ha, rel=1e-6)
    assert shares_ha[:, USES.index("agrivoltaic")].sum() == pytest.approx(agri_ha, rel=1e-6)
    # the hold's price: productivity lost per unit of access gained at the margin, solar over agrivoltaics
    price = levels[0]["shadow_price"]
    assert price == pytest.approx(0.9 / area / ((e_s - e_a) / demand), rel=1e-6)
    summary = plan.summary().set_index("kpi")
    assert summary.loc["priority_1_access", "plan"] == pytest.approx(access_star, rel=1e-7)
    assert summary.loc["priority_2_productivity", "plan"] == pytest.approx(levels[1]["optimum"], rel=1e-9)
    assert summary.loc["shadow_priority_1_access", "plan"] == pytest.approx(price, rel=1e-9)


def test_a_minimised_priority_is_held_from_above(tmp_path):
    """[access, cost_usd]: the least cost of the most access; cost is held ≤ its optimum by a third level."""
    region = two_village_fields(tmp_path)
    scenario = make_scenario({**OPEN, "objective_mode": "priorities",
                              "priorities": ["access", "cost_usd", "productivity"]})
    plan = solve_region(region, scenario=scenario)
    access, cost, productivity = plan.result.priority_levels
    assert cost["better"] == -1 and cost["held_at"] == pytest.approx(cost["optimum"] * (1 + 1e-6), rel=1e-8)
    assert plan.kpis["cost_usd"] <= cost["held_at"] * (1 + 1e-9)
    assert plan.kpis["access"] >= access["held_at"] - 1e-12
    # all solar is the only way to the most access: within the default tolerance of 1e-6, no level can move it
    assert plan.shares[:, USES.index("solar")] == pytest.approx(np.ones(2), abs=1e-4)
    assert productivity["optimum"] == pytest.approx(0.0, abs=1e-4)


def test_priorities_must_name_kpis_and_parse_from_set():
    assert load_scenario(sets={"priorities": "access, productivity"}).priorities == ("access", "productivity")
    scenario = make_scenario({"objective_mode": "priorities", "priorities": ["access", "happiness"]})
    with pytest.raises(UsageError, match="happiness is not a KPI"):
        from dualuse.model.objective import priority_kpis
        priority_kpis(scenario)
    with pytest.raises(UsageError, match="priorities"):
        make_scenario({"priorities": ["access", "access"]})
    assert json.loads(make_scenario({"priorities": ["energy"]}).to_json())["priorities"] == ["energy"]


def test_capital_recovery_factor_by_hand():
    growth = 1.08 ** 25
    assert capital_recovery_factor(0.08, 25) == pytest.approx(0.08 * growth / (growth - 1))
    assert capital_recovery_factor(0.08, 25) == pytest.approx(0.0936788, rel=1e-6)
    assert capital_recovery_factor(0.0, 20) == pytest.approx(0.05)


@pytest.mark.parametrize("price_export_usd_mwh", [80.0, 50.0])
def test_net_benefit_on_one_field_by_hand(tmp_path, price_export_usd_mwh):
    r"""One cropland field of 2 t/ha, no village, the grid takes everything; r = 8 %.

    Solar: capacity C = 0.87 A MWp, generation 1,800 C MWh, capital 876,000 C USD annualised by
    CRF(8 %, 25) = 0.0936788, O&M 15,000 C USD/yr.  At USD 80/MWh solar is worth more than anything
    else and the net benefit is 1,800 C · 80 − (CRF · 876,000 + 15,000) C ≈ USD 408,000/yr; at USD 50/MWh
    it loses money and the field keeps its harvest, 2 A t at USD 300/t.
    """
    region = write_region(tmp_path / "r.gpkg", [parcel("cropland", productivity_t_ha=2.0, area_ha=10.0)])
    scenario = make_scenario({**OPEN, "grid_export_mwh": 1e9, "objective_mode": "net_benefit",
                              "price_export_usd_mwh": price_export_usd_mwh})
    plan = solve_region(region, tmp_path / "p.gpkg", scenario=scenario)
    recheck_plan(tmp_path / "p.gpkg", region)
    area = float(plan.coef.area_ha[0])
    capacity = SOLAR.density_mwp_ha * area
    crf = 0.08 * 1.08 ** 25 / (1.08 ** 25 - 1)
    yearly_cost = crf * SOLAR.capex_usd_mwp * capacity + SOLAR.opex_usd_mwp_yr * capacity
    solar_benefit = 1800.0 * capacity * price_export_usd_mwh - yearly_cost
    harvest = 2.0 * area * 300.0
    summary = plan.summary().set_index("kpi")
    if price_export_usd_mwh == 80.0:
        assert solar_benefit == pytest.approx(408_000, rel=2e-3)
        assert plan.shares[0, USES.index("solar")] == pytest.approx(1.0, rel=1e-9)
        assert plan.objective == pytest.approx(solar_benefit, rel=1e-9)
        assert summary.loc["net_benefit_solar_usd_yr", "plan"] == pytest.approx(solar_benefit, rel=1e-9)
    else:
        assert plan.shares[0, USES.index("current")] == pytest.approx(1.0, rel=1e-9)
        assert plan.objective == pytest.approx(harvest, rel=1e-9)
        assert summary.loc["net_benefit_current_usd_yr", "plan"] == pytest.approx(harvest, rel=1e-9)
    assert plan.kpis["net_benefit_usd_yr"] == pytest.approx(plan.objective, rel=1e-9)
    assert summary.loc["net_benefit_current_usd_yr", "baseline"] == pytest.approx(harvest, rel=1e-9)
    assert plan.break_even == {}


def test_lcoe_of_the_plan_pv_by_hand(tmp_path):
    """The LCOE is the PV's yearly cost over its generation: (CRF · capex + O&M) / (1,800 kWh/kWp)."""
    region = write_region(tmp_path / "r.gpkg", [parcel("bare", area_ha=10.0, grid_km=2.0)])
    scenario = make_scenario({**OPEN, "grid_export_mwh": 1e9, "weight_energy": 1.0})
    plan = solve_region(region, scenario=scenario)
    assert plan.shares[0, USES.index("solar")] == pytest.approx(1.0, rel=1e-9)
    crf = capital_recovery_factor(0.08, 25)
    per_mwp_yr = crf * (SOLAR.capex_usd_mwp + 2.0 * scenario.grid_cost_usd_mw_km) + SOLAR.opex_usd_mwp_yr
    lcoe = per_mwp_yr / 1800.0
    assert 50.0 < lcoe < 60.0
    assert plan.summary().set_index("kpi").loc["lcoe_pv_usd_mwh", "plan"] == pytest.approx(lcoe, rel=1e-9)


def test_solve_json_reports_levels_and_economics(tmp_path):
    region = two_village_fields(tmp_path)
    out = CliRunner().invoke(cli, ["solve", str(region), "-o", str(tmp_path / "p.gpkg"), "--json",
                                   "--set", "objective_mode=priorities", "--set", "priorities=access,productivity",
                                   "--set", "ldn_scope=off", "--set", "food_floor=0", "--set", "budget_usd=1e9"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert [lv["kpi"] for lv in data["priority_levels"]] == ["access", "productivity"]
    assert "lcoe_pv_usd_mwh" in data["economics"] and "net_benefit_solar_usd_yr" in data["economics"]
