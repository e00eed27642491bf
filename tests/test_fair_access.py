"""Fair access: a Multi-Tier Framework tier per community, delivery costed per connection, a fairness floor.

The hand-solved case: two communities A and B of 100 and 40 tier-3
households, each with one 10 ha bare parcel of its own; only access counts.  A's parcel
is sunny and beside the grid, B's less sunny and 40 km away, so a MWh/yr
served costs

    k_c = (capex_usd_mwp + grid_cost_usd_mw_km × grid_km_c) / (η × yield_c)
          + delivery_cost_usd_mwh + connection_cost_usd / h

with h the household's demand [MWh/yr].  The budget pays for 80 % of A's
demand D_A: without the floor the optimum spends it all on A.  With a floor
of 0.5, B gets exactly half its demand D_B and A what is left (more than
half of its own, so A's floor does not bind); moving the floor by δ moves
δ D_B k_B of budget from A to B, so the objective (served over all demand D)
changes by δ D_B (1 − k_B / k_A) / D and B's shadow price is
D_B (k_B / k_A − 1) / D.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyogrio
import pytest
from helpers import parcel, read_plan, recheck_plan, write_region

from dualuse.diagnose.presolve import presolve_checks
from dualuse.errors import InfeasibleError, InputError
from dualuse.inputs.catalogue import load_catalogue
from dualuse.inputs.region import read_region
from dualuse.inputs.scenario import MTF_TIER_KWH_YR, make_scenario
from dualuse.model.coefficients import compute_coefficients
from dualuse.plan import gini
from dualuse.run import solve_region

CAT = load_catalogue()
SOLAR = CAT.use("solar")
HOUSEHOLDS = {"A": 100, "B": 40}
YIELD_A, YIELD_B, GRID_KM_B = 2000.0, 1600.0, 40.0
#: Only access counts; LDN and the food floor off; nothing exported.
ACCESS_ONLY = dict(weight_access=1.0, weight_energy=0.0, weight_productivity=0.0, ldn_scope="off", food_floor=0.0,
                   grid_export_mwh=0.0)


def two_communities(path, tiers=(None, None)):
    communities = [{"community_id": c, "unserved_households": n} for c, n in HOUSEHOLDS.items()]
    for row, tier in zip(communities, tiers):
        if tier is not None:
            row["mtf_tier"] = tier
    return write_region(path, [parcel("bare", community_id="A", pv_yield_kwh_kwp=YIELD_A, area_ha=10.0),
                               parcel("bare", community_id="B", pv_yield_kwh_kwp=YIELD_B, grid_km=GRID_KM_B,
                                      area_ha=10.0)], communities)


def cost_per_mwh(scenario, yield_kwh_kwp, grid_km):
    """USD per MWh/yr served, generation, delivery and connections included."""
    household_mwh = scenario.household_kwh_yr / 1000.0
    generation = (SOLAR.capex_usd_mwp + scenario.grid_cost_usd_mw_km * grid_km) / (
        scenario.delivery_efficiency * yield_kwh_kwp)
    return generation + scenario.delivery_cost_usd_mwh + scenario.connection_cost_usd / household_mwh


def base_scenario(**overrides):
    scenario = make_scenario(ACCESS_ONLY)
    demand_mwh = {c: n * scenario.household_kwh_yr / 1000.0 for c, n in HOUSEHOLDS.items()}
    budget = 0.8 * demand_mwh["A"] * cost_per_mwh(scenario, YIELD_A, 0.0)
    return make_scenario({**ACCESS_ONLY, "budget_usd": budget, **overrides}), demand_mwh


def served(path):
    frame = pd.DataFrame(pyogrio.read_dataframe(path, layer="communities", read_geometry=False))
    return frame.set_index("community_id")


def summary_value(path, name):
    _, summary, _ = read_plan(path)
    return float(summary.loc[summary["kpi"] == name, "plan"].iloc[0])


def test_without_the_floor_the_budget_goes_to_the_cheaper_community(tmp_path):
    region = two_communities(tmp_path / "r.gpkg")
    scenario, demand_mwh = base_scenario()
    solve_region(region, tmp_path / "p.gpkg", scenario=scenario)
    recheck_plan(tmp_path / "p.gpkg", region)
    frame = served(tmp_path / "p.gpkg")
    assert frame.loc["A", "served_mwh"] == pytest.approx(0.8 * demand_mwh["A"], rel=1e-6)
    assert frame.loc["B", "served_mwh"] == pytest.approx(0.0, abs=1e-6)
    assert summary_value(tmp_path / "p.gpkg", "min_access_share") == pytest.approx(0.0, abs=1e-7)


def test_the_floor_gives_the_costly_community_exactly_its_share(tmp_path):
    region = two_communities(tmp_path / "r.gpkg")
    scenario, demand_mwh = base_scenario(min_access_share=0.5)
    plan = solve_region(region, tmp_path / "p.gpkg", scenario=scenario)
    totals = recheck_plan(tmp_path / "p.gpkg", region)
    k_a, k_b = cost_per_mwh(scenario, YIELD_A, 0.0), cost_per_mwh(scenario, YIELD_B, GRID_KM_B)
    assert k_b > k_a
    frame = served(tmp_path / "p.gpkg")
    assert frame.loc["B", "served_mwh"] == pytest.approx(0.5 * demand_mwh["B"], rel=1e-6)
    served_a = (scenario.budget_usd - 0.5 * demand_mwh["B"] * k_b) / k_a
    assert served_a > 0.5 * demand_mwh["A"]
    assert frame.loc["A", "served_mwh"] == pytest.approx(served_a, rel=1e-6)
    assert totals["cost_usd"] == pytest.approx(scenario.budget_usd, rel=1e-6)
    # the worst-served community's share, and the Gini coefficient of two shares: |a − b| / (2 (a + b))
    shares = frame["access_share"].to_numpy()
    assert summary_value(tmp_path / "p.gpkg", "min_access_share") == pytest.approx(0.5, rel=1e-6)
    assert summary_value(tmp_path / "p.gpkg", "access_gini") == pytest.approx(
        abs(shares[0] - shares[1]) / (2 * shares.sum()), rel=1e-6)

    prices = {s["name"]: s["value"] for s in plan.shadow_prices}
    price = prices["min_access_B"]
    total_mwh = sum(demand_mwh.values())
    assert price == pytest.approx(demand_mwh["B"] * (k_b / k_a - 1) / total_mwh, rel=1e-4)
    assert prices["min_access_A"] == pytest.approx(0.0, abs=1e-9)
    assert summary_value(tmp_path / "p.gpkg", "shadow_min_access_B") == pytest.approx(price, rel=1e-9)
    # a finite difference of the floor, re-solved
    objectives = []
    for floor in (0.49, 0.51):
        again = solve_region(region, tmp_path / f"p{floor}.gpkg", scenario=scenario.replace(min_access_share=floor))
        objectives.append(again.objective)
    assert price == pytest.approx((objectives[0] - objectives[1]) / 0.02, rel=1e-4)


def test_the_floor_is_capped_at_what_a_communitys_own_parcels_deliver(tmp_path):
    """B's only parcel is forest (no PV): B is left out of the floor with a warning, not made infeasible."""
    region = write_region(tmp_path / "r.gpkg", [parcel("bare", community_id="A", area_ha=10.0),
                                                parcel("forest", community_id="B", area_ha=10.0)],
                          [{"community_id": "A", "unserved_households": 100},
                           {"community_id": "B", "unserved_households": 100}])
    scenario = make_scenario({**ACCESS_ONLY, "budget_usd": 1e9, "min_access_share": 0.5})
    coef = compute_coefficients(read_region(region), CAT, scenario)
    findings = presolve_checks(coef, scenario, read_region(region))
    left_out = [f for f in findings if f.check == "access_floor_left_out"]
    assert left_out and left_out[0].ids == ("B",) and left_out[0].severity == "warning"
    solve_region(region, tmp_path / "p.gpkg", scenario=scenario)
    recheck_plan(tmp_path / "p.gpkg", region)
    assert served(tmp_path / "p.gpkg").loc["B", "served_mwh"] == pytest.approx(0.0, abs=1e-9)


def test_a_floor_the_budget_cannot_pay_for_is_explained(tmp_path):
    region = two_communities(tmp_path / "r.gpkg")
    scenario, demand_mwh = base_scenario(min_access_share=1.0)
    with pytest.raises(InfeasibleError) as info:
        solve_region(region, tmp_path / "p.gpkg", scenario=scenario)
    fixes = [e for e in info.value.explanation if e["kind"] == "fix" and e["parameter"] == "min_access_share"]
    assert fixes and fixes[0]["feasible"]
    assert "min_access_share" in str(info.value)


def test_a_communitys_tier_sets_its_demand(tmp_path):
    """B at tier 1 and C with household_kwh_yr beside tier 5: B's households use the tier-1 figure, C's its
    own; A keeps the scenario's tier.  Re-checked from the written communities layer."""
    communities = [{"community_id": "A", "unserved_households": 100, "mtf_tier": None, "household_kwh_yr": None},
                   {"community_id": "B", "unserved_households": 100, "mtf_tier": 1, "household_kwh_yr": None},
                   {"community_id": "C", "unserved_households": 100, "mtf_tier": 5, "household_kwh_yr": 500.0}]
    region = write_region(tmp_path / "r.gpkg", [parcel("bare", community_id=c, area_ha=10.0) for c in "ABC"],
                          communities)
    scenario = make_scenario({**ACCESS_ONLY, "budget_usd": 1e9, "mtf_tier": 3})
    solve_region(region, tmp_path / "p.gpkg", scenario=scenario)
    recheck_plan(tmp_path / "p.gpkg", region)
    frame = served(tmp_path / "p.gpkg")
    expected_kwh = {"A": MTF_TIER_KWH_YR[3], "B": MTF_TIER_KWH_YR[1], "C": 500.0}
    for community, kwh in expected_kwh.items():
        assert frame.loc[community, "household_kwh_yr"] == pytest.approx(kwh)
        assert frame.loc[community, "demand_mwh"] == pytest.approx(100 * kwh / 1000.0)


@pytest.mark.parametrize("tier", [0, 6, 2.5])
def test_a_tier_outside_one_to_five_is_refused(tmp_path, tier):
    region = write_region(tmp_path / "r.gpkg", [parcel("bare", community_id="A")],
                          [{"community_id": "A", "unserved_households": 10, "mtf_tier": tier}])
    with pytest.raises(InputError, match="mtf_tier"):
        read_region(region)


def test_connections_are_paid_per_household_served(tmp_path):
    """The cost in the summary is the parcels' cost, the per-MWh delivery and one connection per household
    served, recomputed from the written plan; the budget holds it."""
    region = two_communities(tmp_path / "r.gpkg", tiers=(1, 4))
    scenario = make_scenario({**ACCESS_ONLY, "budget_usd": 4e5})
    solve_region(region, tmp_path / "p.gpkg", scenario=scenario)
    totals = recheck_plan(tmp_path / "p.gpkg", region)
    plan, _, _ = read_plan(tmp_path / "p.gpkg")
    frame = served(tmp_path / "p.gpkg")
    households = (frame["served_mwh"] / (frame["household_kwh_yr"] / 1000.0)).to_numpy()
    np.testing.assert_allclose(households, frame["households_served"], rtol=1e-9)
    cost = (plan["cost_usd"].sum() + scenario.delivery_cost_usd_mwh * frame["served_mwh"].sum()
            + scenario.connection_cost_usd * households.sum())
    assert households.sum() > 0
    assert summary_value(tmp_path / "p.gpkg", "cost_usd") == pytest.approx(cost, rel=1e-9)
    assert totals["cost_usd"] == pytest.approx(cost, rel=1e-9)
    assert cost <= scenario.budget_usd * (1 + 1e-6)


def test_gini_by_hand():
    """Four shares 0, 0.25, 0.5, 1: Σ_i Σ_j |a_i − a_j| = 2 × (0.25 + 0.5 + 1 + 0.25 + 0.75 + 0.5) = 6.5,
    over 2 n² ā = 2 × 16 × 0.4375 = 14: G = 0.4643."""
    assert gini(np.array([0.5, 0.0, 1.0, 0.25])) == pytest.approx(6.5 / 14.0, rel=1e-12)
    assert gini(np.array([0.3, 0.3, 0.3])) == pytest.approx(0.0, abs=1e-12)
    assert gini(np.zeros(3)) == 0.0
    assert gini(np.array([0.0, 0.0, 1.0])) == pytest.approx(2.0 / 3.0, rel=1e-12)
