"""The objective is invariant to what does not bind: its coefficients are read from the data, never from a limit.

A limit whose shadow price is 0 can move (the budget doubled, the grid's
export capacity doubled, the food floor halved or doubled below the plan's
harvest) and the plan and the objective stay the same.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import five_parcels, shadow_prices_by_name

from dualuse.inputs.catalogue import load_catalogue
from dualuse.inputs.region import read_region
from dualuse.inputs.scenario import make_scenario
from dualuse.model.build import build_model
from dualuse.model.coefficients import compute_coefficients
from dualuse.model.kpis import cost_scale_usd
from dualuse.prepare.example import write_example
from dualuse.run import run_scenario

CAT = load_catalogue()


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    return read_region(five_parcels(tmp_path_factory.mktemp("objective") / "r.gpkg"))


def _same_plan(a, b) -> None:
    np.testing.assert_allclose(a.shares, b.shares, rtol=0, atol=1e-9)
    assert b.objective == pytest.approx(a.objective, rel=1e-12, abs=1e-12)


def test_objective_coefficients_ignore_every_right_hand_side(region):
    """The built objective's coefficients are the same whatever the budget, caps, floors and targets."""
    base = make_scenario({})
    coef = compute_coefficients(region, CAT, base)
    reference = build_model(coef, base).matrix_form.objective[3]
    for change in (dict(budget_usd=1.0), dict(budget_usd=1e12), dict(grid_export_mwh=0.0),
                   dict(grid_export_mwh=1e9), dict(food_floor=0.0), dict(food_floor=0.99), dict(ldn_target=0.05),
                   dict(max_pv_share=0.1), dict(min_restored_ha=10.0), dict(ldn_scope="off")):
        scenario = base.replace(**change)
        rows = build_model(compute_coefficients(region, CAT, scenario), scenario).matrix_form.objective[3]
        np.testing.assert_array_equal(rows.column, reference.column, err_msg=str(change))
        np.testing.assert_array_equal(rows.value, reference.value, err_msg=str(change))


def test_cost_is_measured_against_the_costliest_plan(region):
    """The tie-break's scale is Σ over parcels of the costliest eligible pair plus all demand delivered."""
    scenario = make_scenario({})
    coef = compute_coefficients(region, CAT, scenario)
    costliest = sum(coef.cost_usd[coef.parcel == i].max() for i in range(coef.n_parcels))
    expected = (costliest + scenario.delivery_cost_usd_mwh * coef.demand_mwh.sum()
                + scenario.connection_cost_usd * coef.households[coef.demand_mwh > 0].sum())
    assert cost_scale_usd(coef, scenario) == pytest.approx(expected, rel=1e-12)
    assert cost_scale_usd(coef, scenario.replace(budget_usd=1.0)) == cost_scale_usd(coef, scenario)


def test_doubling_a_budget_that_does_not_bind_changes_nothing(region):
    scenario = make_scenario(dict(budget_usd=1e9, food_floor=0.5))
    plan = run_scenario(region, CAT, scenario)
    assert plan.kpis["cost_usd"] < 0.5 * scenario.budget_usd
    assert shadow_prices_by_name(plan)["budget"] == 0.0
    _same_plan(plan, run_scenario(region, CAT, scenario.replace(budget_usd=2e9)))


def test_doubling_a_grid_capacity_that_does_not_bind_changes_nothing(region):
    """The budget binds, so less is exported than the grid could take; twice the capacity, the same plan."""
    scenario = make_scenario(dict(budget_usd=3e7, food_floor=0.5, grid_export_mwh=1e6))
    plan = run_scenario(region, CAT, scenario)
    assert shadow_prices_by_name(plan)["budget"] > 0
    assert plan.kpis["export_mwh"] < 0.5 * scenario.grid_export_mwh
    assert shadow_prices_by_name(plan)["grid_export"] == 0.0
    _same_plan(plan, run_scenario(region, CAT, scenario.replace(grid_export_mwh=2e6)))


@pytest.mark.parametrize("floor", [0.2, 0.9])
def test_moving_a_food_floor_that_does_not_bind_changes_nothing(region, floor):
    """The plan keeps 92 % of today's harvest: a floor of 0.45, doubled to 0.9 or halved, does not bind."""
    scenario = make_scenario(dict(budget_usd=1e9, food_floor=0.45))
    plan = run_scenario(region, CAT, scenario)
    assert plan.kpis["productivity"] > 0.9
    assert shadow_prices_by_name(plan)["food_floor"] == 0.0
    _same_plan(plan, run_scenario(region, CAT, scenario.replace(food_floor=floor)))


def test_example_region_with_a_budget_beyond_every_plan(tmp_path):
    """On the example region, a budget above the costliest plan's cost and twice that give the same plan."""
    write_example(tmp_path / "example.gpkg", parcels=150, seed=3)
    example = read_region(tmp_path / "example.gpkg")
    scenario = make_scenario({})
    most = compute_coefficients(example, CAT, scenario).max_cost_usd
    plan = run_scenario(example, CAT, scenario.replace(budget_usd=1.01 * most))
    assert shadow_prices_by_name(plan)["budget"] == 0.0
    _same_plan(plan, run_scenario(example, CAT, scenario.replace(budget_usd=2.02 * most)))
