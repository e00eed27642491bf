"""Every reported shadow price is what its name says: checked against a finite-difference re-solve.

For each price, a scenario in which its constraint binds is solved, then
solved again with the constraint relaxed by a small step either way (the
scenario parameter, or the row's bound for a price of one row of an indexed
family); (objective change) / (step in the price's unit) must equal the
reported value, with the same sign, to :data:`RTOL` on both sides.  The steps
are small enough for the optimal basis to stay the same, so the objective is
linear in them and the two one-sided slopes agree.  Where the LP is
degenerate at the optimum (a row that binds at a kink of the objective: a
little relaxation buys nothing, a little tightening costs), the dual is
any value between the two slopes, and the test checks that the reported one
lies in that bracket.
"""

from __future__ import annotations

import pyomo.environ as pyo
import pytest
from helpers import parcel, write_region

from dualuse.inputs.catalogue import load_catalogue
from dualuse.inputs.region import read_region
from dualuse.inputs.scenario import make_scenario
from dualuse.model.build import build_model
from dualuse.model.coefficients import compute_coefficients
from dualuse.model.families import ldn_groups
from dualuse.plan import make_plan
from dualuse.run import run_scenario
from dualuse.solve.highs import solve_model

CAT = load_catalogue()
#: Relative agreement of a reported shadow price with either one-sided finite difference.
RTOL = 1e-3


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    """Five parcels of distinct sun, harvest and status, one village of 200 households in two of them."""
    path = tmp_path_factory.mktemp("prices") / "r.gpkg"
    write_region(path, [
        parcel("bare", community_id="village", pv_yield_kwh_kwp=1900.0, area_ha=20.0),
        parcel("bare", pv_yield_kwh_kwp=1800.0, area_ha=50.0),
        parcel("cropland", productivity_t_ha=2.0, degradation=-1, pv_yield_kwh_kwp=1750.0, area_ha=100.0),
        parcel("grassland", productivity_t_ha=1.5, pv_yield_kwh_kwp=1700.0, area_ha=80.0, community_id="village"),
        parcel("cropland", productivity_t_ha=3.0, pv_yield_kwh_kwp=1850.0, area_ha=60.0),
    ], communities=[{"community_id": "village", "unserved_households": 200}])
    return read_region(path)


def _prices(plan) -> dict[str, float]:
    return {s["name"]: s["value"] for s in plan.shadow_prices}


def _slopes_by_parameter(region, scenario, parameter: str, step: float, per_unit_step: float) -> tuple[float, float]:
    """Objective gained per unit of the price when ``parameter`` moves by +step and by −step (the relaxing
    direction is the sign of ``step``); ``per_unit_step`` is one step in the price's unit."""
    base = run_scenario(region, CAT, scenario).objective
    value = getattr(scenario, parameter)
    up = run_scenario(region, CAT, scenario.replace(**{parameter: value + step})).objective
    down = run_scenario(region, CAT, scenario.replace(**{parameter: value - step})).objective
    return (up - base) / per_unit_step, (base - down) / per_unit_step


def _row_objective(region, scenario, family: str, index, move: float) -> float:
    """The objective with one row's active bound moved by ``move`` (its upper bound of a ≤ row, else its lower)."""
    coef = compute_coefficients(region, CAT, scenario)
    m = build_model(coef, scenario)
    component = m.component(family)
    row = component if index is None else component[index]
    lower, upper = pyo.value(row.lower) if row.has_lb() else None, pyo.value(row.upper) if row.has_ub() else None
    if upper is not None:
        row.set_value((lower, row.body, upper + move))
    else:
        row.set_value((lower + move, row.body, None))
    result = solve_model(m, coef, scenario)
    return make_plan(region, CAT, scenario, coef, result).objective


def _assert_price(price: float, forward: float, backward: float, degenerate: bool = False) -> None:
    """``price`` equals both one-sided slopes; or, at a degenerate optimum, lies between them (the gain
    per unit relaxed can only fall as the relaxation grows: forward ≤ backward; which end an optimal dual
    vertex gives depends on the path that solved the LP, so either end, 0 included, is right)."""
    assert price > 0 or (degenerate and price >= 0)
    if degenerate:
        assert forward < backward * (1 - RTOL)
        assert forward * (1 - RTOL) <= price <= backward * (1 + RTOL)
        return
    assert forward == pytest.approx(price, rel=RTOL)
    assert backward == pytest.approx(price, rel=RTOL)


def test_budget_price_is_the_objective_per_usd_million(region):
    scenario = make_scenario(dict(budget_usd=3e7, food_floor=0.5))
    step = 1e-3 * scenario.budget_usd
    forward, backward = _slopes_by_parameter(region, scenario, "budget_usd", step, step / 1e6)
    _assert_price(_prices(run_scenario(region, CAT, scenario))["budget"], forward, backward)


@pytest.mark.parametrize("group, degenerate", [("bare", False), ("grassland", True)])
def test_ldn_price_is_the_objective_per_ha_less_net_gain_required(region, group, degenerate):
    """One land type's row relaxed alone by ±0.01 ha (a ≥ row: relaxing lowers its bound).

    The grassland parcel is all agrivoltaics, balance 0 = target 0: a
    little less net gain required buys nothing (solar there would lose more
    harvest than it gains energy), a little more costs grazing on it; the
    dual HiGHS reports is the cost of tightening, in the bracket.
    """
    scenario = make_scenario(dict(budget_usd=1e9, food_floor=0.5))
    price = _prices(run_scenario(region, CAT, scenario))[f"ldn_{group}"]
    base = _row_objective(region, scenario, "ldn_neutrality", group, 0.0)
    step_ha = 0.01
    forward = (_row_objective(region, scenario, "ldn_neutrality", group, -step_ha) - base) / step_ha
    backward = (base - _row_objective(region, scenario, "ldn_neutrality", group, +step_ha)) / step_ha
    _assert_price(price, forward, backward, degenerate)


def test_ldn_prices_sum_to_the_change_of_the_ldn_target(region):
    """Lowering ldn_target lowers every group's bound by step × its area at once: Σ price × area,
    in the bracket of the two slopes (the grassland row is degenerate, as above)."""
    scenario = make_scenario(dict(budget_usd=1e9, food_floor=0.5, ldn_target=0.0))
    plan = run_scenario(region, CAT, scenario)
    groups = ldn_groups(plan.coef, scenario)
    expected = sum(_prices(plan)[f"ldn_{name}"] * area for name, area in zip(groups.names, groups.area_ha))
    step = 1e-5
    forward, backward = _slopes_by_parameter(region, scenario, "ldn_target", -step, step)
    _assert_price(expected, forward, backward, degenerate=True)


def test_food_floor_price_is_the_objective_per_point_of_todays_harvest(region):
    scenario = make_scenario(dict(budget_usd=1e9, food_floor=0.97))
    assert run_scenario(region, CAT, scenario).kpis["productivity"] == pytest.approx(0.97, rel=1e-6)
    step = 1e-4  # a share of today's harvest: 0.01 percentage points
    forward, backward = _slopes_by_parameter(region, scenario, "food_floor", -step, step * 100)
    _assert_price(_prices(run_scenario(region, CAT, scenario))["food_floor"], forward, backward)


def test_grid_export_price_is_the_objective_per_mwh_of_grid_capacity(region):
    """The cap binds: the export column sits at its upper bound, and its dual prices the cap."""
    scenario = make_scenario(dict(budget_usd=1e9, food_floor=0.5, grid_export_mwh=20_000.0))
    plan = run_scenario(region, CAT, scenario)
    assert plan.kpis["export_mwh"] == pytest.approx(20_000.0, rel=1e-9)
    step = 1.0
    forward, backward = _slopes_by_parameter(region, scenario, "grid_export_mwh", step, step)
    _assert_price(_prices(plan)["grid_export"], forward, backward)


def test_grid_export_price_is_zero_below_the_cap_and_nothing_exported(region):
    """Nothing to export (access only, the village's demand far below the cap): the cap's price is 0."""
    scenario = make_scenario(dict(budget_usd=1e9, food_floor=0.5, weight_energy=0.0))
    plan = run_scenario(region, CAT, scenario)
    assert plan.kpis["export_mwh"] == pytest.approx(0.0, abs=1e-6)
    assert _prices(plan)["grid_export"] == 0.0
    up = run_scenario(region, CAT, scenario.replace(grid_export_mwh=2 * scenario.grid_export_mwh)).objective
    assert up == pytest.approx(plan.objective, rel=1e-12)


def test_energy_balance_price_is_the_objective_per_mwh_generated(region):
    """The energy balance's bound raised by ±1 MWh/yr: as if the region generated that much more."""
    scenario = make_scenario(dict(budget_usd=3e7, food_floor=0.5))
    price = _prices(run_scenario(region, CAT, scenario))["energy_balance"]
    base = _row_objective(region, scenario, "energy_balance", None, 0.0)
    step = 1.0
    forward = (_row_objective(region, scenario, "energy_balance", None, +step) - base) / step
    backward = (base - _row_objective(region, scenario, "energy_balance", None, -step)) / step
    _assert_price(price, forward, backward)


def test_export_column_dual_is_the_same_through_the_compiler(region):
    """A model changed outside its arrays goes to HiGHS through Pyomo's compiler: the same column duals."""
    scenario = make_scenario(dict(budget_usd=1e9, food_floor=0.5, grid_export_mwh=20_000.0))
    coef = compute_coefficients(region, CAT, scenario)
    arrays = solve_model(build_model(coef, scenario), coef, scenario)
    m = build_model(coef, scenario)
    m.energy_balance.set_value((None, m.energy_balance.body, 0.0))
    compiled = solve_model(m, coef, scenario)
    assert compiled.solver["handover"] == "compiler" and arrays.solver["handover"] == "arrays"
    assert compiled.col_duals["export"] == pytest.approx(arrays.col_duals["export"], rel=1e-6)
    assert compiled.col_duals["export"] > 0


def test_planner_units(region):
    """Households per unit = price × H / w_a; USD per unit = 10⁶ × price / budget price."""
    from dualuse.plan import planner_prices

    scenario = make_scenario(dict(budget_usd=3e7, food_floor=0.5))
    plan = run_scenario(region, CAT, scenario)
    prices = _prices(plan)
    households = plan.baseline["unserved_households"]
    converted = {p["name"]: p for p in planner_prices(plan)}
    assert converted["budget"]["per"] == "USD 1 M" and converted["budget"]["usd"] is None
    assert converted["budget"]["households"] == pytest.approx(prices["budget"] * households / scenario.weight_access)
    assert converted["ldn_bare"]["per"] == "ha"
    assert converted["ldn_bare"]["usd"] == pytest.approx(1e6 * prices["ldn_bare"] / prices["budget"])


def test_cli_gives_the_prices_in_planner_units(region, tmp_path):
    from click.testing import CliRunner

    from dualuse.cli import cli

    result = CliRunner().invoke(cli, ["solve", str(region.path), "-o", str(tmp_path / "p.gpkg"),
                                      "--set", "budget_usd=3e7", "--set", "food_floor=0.5"])
    assert result.exit_code == 0, result.output
    assert "households per USD 1 M" in result.output
    assert "USD" in next(line for line in result.output.splitlines() if "shadow price ldn_bare" in line)
