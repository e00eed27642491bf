"""The fast build and hand-over give the plan that a plain Pyomo model gives.

``build_model`` makes each constraint family from numpy arrays and keeps the
arrays on the model; ``compile_model`` hands those arrays to HiGHS when the
model still holds the families as built, and sends everything a user added
(or, after other changes, the whole model) through Pyomo's
``LinearStandardFormCompiler``.  These tests check that:

- the plan equals the one from an independent, idiomatic rule-based Pyomo
  model with indexed Params, solved through Pyomo's own HiGHS interface;
- the matrix, bounds and costs equal what the standard-form compiler makes
  of the same model, for every constraint family and mode;
- what a user adds to the model (a constraint, a variable, another
  objective) or changes in it (a deactivated row, a fixed or re-bounded
  variable, a replaced expression) reaches the solver;
- ``dualuse solve --write-lp`` writes an LP file that solves to the plan's objective.
"""

from __future__ import annotations

import gc
import importlib.util
import sys
from pathlib import Path
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo
import pytest
import scipy.sparse as sp
from click.testing import CliRunner
from helpers import parcel, read_plan, write_region
from pyomo.common.errors import InfeasibleConstraintException
from pyomo.contrib.solver.common.factory import SolverFactory

from dualuse.cli import cli
from dualuse.errors import DualuseError
from dualuse.inputs.catalogue import load_catalogue
from dualuse.inputs.region import read_region
from dualuse.inputs.scenario import Scenario, make_scenario
from dualuse.model.build import build_model
from dualuse.model.coefficients import Coefficients, compute_coefficients
from dualuse.model.family_table import ELASTIC_FAMILIES, FAMILIES
from dualuse.model.kpis import KPIS, cost_scale_usd, evaluate_kpis
from dualuse.model.objective import kpi_expression
from dualuse.solve.handover import Handover, compile_model, compile_standard_form
from dualuse.solve.highs import (
    Status,
    highs_options,
    new_highs,
    run_highs,
    solve,
    solve_model,
)
from dualuse.solve.structured import solve_structured
from dualuse.vocabulary import LAND_TYPES, USES

CATALOGUE = load_catalogue()
FAST = "matrix form"
PV_USES = (USES.index("solar"), USES.index("agrivoltaic"))
RESTORATION = USES.index("restoration")


@pytest.fixture(scope="module")
def region(example_region: Path) -> Any:
    return read_region(example_region)


def coefficients(region: Any, **overrides: Any) -> tuple[Coefficients, Scenario]:
    scenario = make_scenario(overrides)
    return compute_coefficients(region, CATALOGUE, scenario), scenario


# --------------------------------------------------------------------------- the independent reference


def reference_model(coef: Coefficients, scenario: Scenario) -> pyo.ConcreteModel:
    """The formulation of ``models/README.md`` written the plain way: sets, indexed Params, rules."""
    m = pyo.ConcreteModel()
    m.J = pyo.Set(initialize=range(coef.n_pairs))
    m.I = pyo.Set(initialize=range(coef.n_parcels))
    m.C = pyo.Set(initialize=range(coef.demand_mwh.size))
    area = coef.area_ha[coef.parcel]
    m.cost = pyo.Param(m.J, initialize=dict(enumerate(coef.cost_usd.tolist())))
    m.energy = pyo.Param(m.J, initialize=dict(enumerate(coef.energy_mwh.tolist())))
    m.harvest = pyo.Param(m.J, initialize=dict(enumerate(coef.productivity_t.tolist())))
    m.area = pyo.Param(m.J, initialize=dict(enumerate(area.tolist())))
    m.status = pyo.Param(m.J, initialize=dict(enumerate(coef.ldn_status.astype(float).tolist())))
    m.demand = pyo.Param(m.C, initialize=dict(enumerate(coef.demand_mwh.tolist())))
    m.x = pyo.Var(m.J, bounds=(0, 1))
    m.served = pyo.Var(m.C, bounds=lambda m, c: (0, m.demand[c]))
    m.export = pyo.Var(bounds=(0, scenario.grid_export_mwh))
    pairs_of = {i: [] for i in range(coef.n_parcels)}
    for j, i in enumerate(coef.parcel.tolist()):
        pairs_of[i].append(j)
    community = coef.community[coef.parcel]
    eta = scenario.delivery_efficiency
    # per MWh/yr delivered: the per-MWh delivery cost, and one connection per household's demand
    kappa = [scenario.delivery_cost_usd_mwh + (scenario.connection_cost_usd / h if h > 0 else 0.0)
             for h in coef.household_mwh.tolist()]

    m.allocation = pyo.Constraint(m.I, rule=lambda m, i: sum(m.x[j] for j in pairs_of[i]) == 1)
    m.budget = pyo.Constraint(expr=sum(m.cost[j] * m.x[j] for j in m.J) + sum(kappa[c] * m.served[c] for c in m.C)
                              <= scenario.budget_usd)
    land_type = coef.land_type[coef.parcel]
    water = LAND_TYPES.index("water")
    if scenario.ldn_scope != "off":
        if scenario.ldn_scope == "land_type":
            groups = {t: [j for j in m.J if land_type[j] == t] for t in sorted(set(coef.land_type.tolist()))
                      if t != water}
            group_area = {t: float(coef.area_ha[coef.land_type == t].sum()) for t in groups}
        else:
            groups = {0: [j for j in m.J if land_type[j] != water]}
            group_area = {0: float(coef.area_ha[coef.land_type != water].sum())}
        m.G = pyo.Set(initialize=list(groups))
        m.ldn = pyo.Constraint(m.G, rule=lambda m, t: sum(m.area[j] * m.status[j] * m.x[j] for j in groups[t])
                               >= scenario.ldn_target * group_area[t])
    m.supply = pyo.Constraint(m.C, rule=lambda m, c: m.served[c] <= eta * sum(
        m.energy[j] * m.x[j] for j in m.J if community[j] == c))
    m.balance = pyo.Constraint(expr=sum(m.served[c] for c in m.C) / eta + m.export
                               <= sum(m.energy[j] * m.x[j] for j in m.J))
    baseline_t = coef.baseline_productivity_t
    if baseline_t > 0 and scenario.food_floor > 0:
        m.food = pyo.Constraint(expr=sum(m.harvest[j] * m.x[j] for j in m.J) >= scenario.food_floor * baseline_t)
    pv = [j for j in m.J if coef.use[j] in PV_USES]
    if scenario.max_pv_share < 1:
        m.pv_cap = pyo.Constraint(expr=sum(m.area[j] * m.x[j] for j in pv)
                                  <= scenario.max_pv_share * float(coef.area_ha.sum()))
    if scenario.min_restored_ha > 0:
        m.restored = pyo.Constraint(expr=sum(m.area[j] * m.x[j] for j in m.J if coef.use[j] == RESTORATION)
                                    >= scenario.min_restored_ha)
    demand = float(coef.demand_mwh.sum())
    # the costliest plan: every parcel under its costliest use, all demand delivered (not the budget, a limit)
    costliest = np.zeros(coef.n_parcels)
    np.maximum.at(costliest, coef.parcel, coef.cost_usd)
    cost_scale = max(float(costliest.sum()) + float(np.dot(kappa, coef.demand_mwh)), 1.0)
    served = sum(m.served[c] for c in m.C)
    access = served / demand if demand > 0 else 0
    energy = (served + m.export) / coef.max_energy_mwh if coef.max_energy_mwh > 0 else 0
    harvest = sum(m.harvest[j] * m.x[j] for j in m.J) / baseline_t if baseline_t > 0 else 0
    spent = (sum(m.cost[j] * m.x[j] for j in m.J) + sum(kappa[c] * m.served[c] for c in m.C)) / cost_scale
    m.objective = pyo.Objective(expr=scenario.weight_access * access + scenario.weight_energy * energy
                                + scenario.weight_productivity * harvest - scenario.weight_cost * spent,
                                sense=pyo.maximize)
    return m


def solve_reference(m: pyo.ConcreteModel) -> float:
    """Solve through Pyomo's own HiGHS interface; the optimal objective (values loaded into ``m``)."""
    solver = SolverFactory("highs")
    results = solver.solve(m, load_solutions=False, raise_exception_on_nonoptimal_result=False, threads=1)
    assert results.solution_status.name == "optimal", results.termination_condition
    results.solution_loader.load_vars()
    return float(results.incumbent_objective)


def reference_violation(m: pyo.ConcreteModel, x: np.ndarray, served: np.ndarray, export: float) -> float:
    """The largest relative violation of the reference model's constraints at a given solution."""
    for j, value in enumerate(x.tolist()):
        m.x[j].set_value(value, skip_validation=True)
    for c, value in enumerate(served.tolist()):
        m.served[c].set_value(value, skip_validation=True)
    m.export.set_value(export, skip_validation=True)
    worst = 0.0
    for con in m.component_data_objects(pyo.Constraint, active=True):
        body = pyo.value(con.body)
        scale = max(1.0, abs(pyo.value(con.upper if con.upper is not None else con.lower)))
        if con.lower is not None:
            worst = max(worst, (pyo.value(con.lower) - body) / scale)
        if con.upper is not None:
            worst = max(worst, (body - pyo.value(con.upper)) / scale)
    return worst


SCENARIOS = {
    "default": {},
    "pooled LDN, PV cap, least restored area, tighter budget": {
        "ldn_scope": "region", "ldn_target": 0.02, "max_pv_share": 0.05, "min_restored_ha": 1500.0,
        "budget_usd": 2.0e7},
    "no LDN, no food floor, energy only": {
        "ldn_scope": "off", "food_floor": 0.0, "weight_productivity": 0.0, "weight_access": 2.0},
}


@pytest.mark.parametrize("overrides", list(SCENARIOS.values()), ids=list(SCENARIOS))
def test_plan_equals_rule_based_reference(region: Any, overrides: dict[str, Any]) -> None:
    """Same objective and the same plan as a rule-based Pyomo model with indexed Params, solved independently.

    The fast plan is feasible and optimal in the reference model, and the two plans agree in every KPI that the
    objective and the constraints fix.  Shares
    are not compared parcel by parcel: regeneration on cropland keeps the harvest, so restoring one cropland
    parcel or another of the same cost are alternative optima, and the two solves may pick either."""
    coef, scenario = coefficients(region, **overrides)
    m = build_model(coef, scenario)
    result = solve_model(m, coef, scenario)
    assert result.status is Status.OPTIMAL
    assert FAST in result.solver["interface"]

    reference = reference_model(coef, scenario)
    objective = solve_reference(reference)
    assert result.objective == pytest.approx(objective, rel=1e-6, abs=1e-9)
    reference_x = np.array([reference.x[j].value for j in range(coef.n_pairs)])
    # the fast plan is feasible and optimal in the reference model ...
    assert reference_violation(reference, result.x, result.served_mwh, result.export_mwh) < 1e-6
    assert pyo.value(reference.objective) == pytest.approx(objective, rel=1e-6, abs=1e-9)
    # ... and it is the same plan in every KPI the objective and the constraints fix (which land is restored
    # may differ between the optima, and with it the SDG 15.3.1 degraded area)
    reference_served = np.array([reference.served[c].value for c in range(coef.demand_mwh.size)])
    ours = evaluate_kpis(coef, scenario, result.x, result.served_mwh, result.export_mwh)
    theirs = evaluate_kpis(coef, scenario, reference_x, reference_served, float(reference.export.value))
    for name in ("access", "energy", "productivity", "served_mwh", "export_mwh", "productivity_t", "cost_usd",
                 "ldn_net_ha"):
        assert ours[name] == pytest.approx(theirs[name], rel=1e-5, abs=1e-4), name


# --------------------------------------------------------------------------- the matrix equals the compiler's


def as_matrices(compiled: Any, order: list[Any]) -> dict[str, Any]:
    """The LP as comparable arrays, its columns put in the order of the variables ``order``:
    the constraint matrix as CSC, bounds, costs, integrality."""
    lp = compiled.lp
    a = lp.a_matrix_
    shape = (lp.num_row_, lp.num_col_)
    parts = (np.asarray(a.value_), np.asarray(a.index_), np.asarray(a.start_))
    matrix = (sp.csr_array(parts, shape=shape) if a.format_ == highspy.MatrixFormat.kRowwise
              else sp.csc_array(parts, shape=shape)).tocsc()
    where = {id(v): k for k, v in enumerate(compiled.columns)}
    assert len(order) == lp.num_col_ and all(id(v) in where for v in order)
    permutation = np.array([where[id(v)] for v in order])
    matrix = matrix[:, permutation].tocsc()
    matrix.sort_indices()
    integrality = np.asarray([int(v) for v in lp.integrality_]) if len(lp.integrality_) else np.zeros(lp.num_col_)
    out = {"matrix": matrix, "sense": lp.sense_, "offset": lp.offset_, "integrality": integrality[permutation]}
    for name in ("col_cost", "col_lower", "col_upper"):
        out[name] = np.asarray(getattr(lp, f"{name}_"))[permutation]
    for name in ("row_lower", "row_upper"):
        out[name] = np.asarray(getattr(lp, f"{name}_"))
    return out


def assert_same_lp(fast: Any, general: Any) -> None:
    """Same matrix, bounds, costs, sense and integrality, column for column (matched by variable)."""
    order = list(fast.columns)
    a, b = as_matrices(fast, order), as_matrices(general, order)
    assert a["matrix"].shape == b["matrix"].shape
    assert a["matrix"].nnz == b["matrix"].nnz
    np.testing.assert_array_equal(a["matrix"].indptr, b["matrix"].indptr)
    np.testing.assert_array_equal(a["matrix"].indices, b["matrix"].indices)
    np.testing.assert_allclose(a["matrix"].data, b["matrix"].data, rtol=1e-15)
    for name in ("col_cost", "col_lower", "col_upper", "row_lower", "row_upper", "integrality"):
        np.testing.assert_allclose(a[name], b[name], rtol=1e-15, err_msg=name)
    assert a["sense"] == b["sense"]
    assert a["offset"] == pytest.approx(b["offset"])


MODELS = {
    "default": ({}, frozenset()),
    "every family elastic": ({"ldn_target": 0.05, "max_pv_share": 0.1, "min_restored_ha": 500.0},
                             frozenset({"budget", "ldn_neutrality", "food_floor", "pv_cap", "min_restored"})),
    "whole parcels, smallest plant": ({"mode": "whole", "min_plant_mwp": 5.0}, frozenset()),
    "pooled LDN, no delivery cost": ({"ldn_scope": "region", "delivery_cost_usd_mwh": 0.0}, frozenset()),
    "LDN off, no food floor": ({"ldn_scope": "off", "food_floor": 0.0}, frozenset()),
    "restoration boundary penalised": ({"restoration_boundary_weight": 0.001, "min_restored_ha": 500.0}, frozenset()),
}


@pytest.mark.parametrize("overrides, elastic", list(MODELS.values()), ids=list(MODELS))
def test_matrix_equals_standard_form_compiler(region: Any, overrides: dict[str, Any], elastic: frozenset[str]) -> None:
    """The arrays handed to HiGHS are exactly what Pyomo's compiler makes of the same model."""
    coef, scenario = coefficients(region, **overrides)
    m = build_model(coef, scenario, elastic=elastic)
    fast = compile_model(m, coef.n_pairs, coef.n_parcels)
    general = compile_standard_form(m, coef.n_pairs, coef.n_parcels)
    assert FAST in fast.interface and FAST not in general.interface
    assert_same_lp(fast, general)
    assert fast.is_mip == general.is_mip == (scenario.mode == "whole" or scenario.min_plant_mwp > 0)
    assert [r.constraint for r in fast.rows] == [r.constraint for r in general.rows]


#: A scenario in which every family of the table has rows (the example region has communities).
EVERY_FAMILY = {"max_pv_share": 0.1, "min_restored_ha": 500.0, "min_plant_mwp": 2.0, "min_access_share": 0.2,
                "livelihood_floor": 0.5, "jobs_floor": 0.5, "restoration_boundary_weight": 0.001}
#: The drought families have rows under their own drought_scope only (the example region has drought years).
DROUGHT_SCOPE = {"drought_floor": "every_scenario", "drought_expected": "expected", "drought_cvar": "cvar",
                 "drought_cvar_tail": "cvar"}


def every_family(family: str = "") -> dict[str, Any]:
    """:data:`EVERY_FAMILY` with a drought floor in the scope under which ``family`` has rows."""
    return {**EVERY_FAMILY, "drought_food_floor": 0.5, "drought_scope": DROUGHT_SCOPE.get(family, "every_scenario")}


def family_rows(compiled: Any, component: Any, order: list[Any]) -> dict[str, Any]:
    """The rows of one constraint component in a compiled LP: its matrix (columns in the order of the
    variables ``order``, as CSR) and bounds."""
    lp = as_matrices(compiled, order)
    rows = [r for r, entry in enumerate(compiled.rows) if entry.constraint.parent_component() is component]
    matrix = lp["matrix"].tocsr()[rows]
    matrix.sort_indices()
    return {"matrix": matrix, "lower": lp["row_lower"][rows], "upper": lp["row_upper"][rows],
            "names": [compiled.rows[r].constraint.name for r in rows]}


@pytest.mark.parametrize("family, elastic", [(f.name, False) for f in FAMILIES] + [(f, True) for f in ELASTIC_FAMILIES],
                         ids=[f.name for f in FAMILIES] + [f"{f} elastic" for f in ELASTIC_FAMILIES])
def test_each_familys_arrays_are_its_pyomo_constraint(region: Any, family: str, elastic: bool) -> None:
    """The rows a family hands to HiGHS from its arrays are the rows Pyomo's compiler makes of its
    Pyomo constraint, entry for entry, with its elastic slack when it has one."""
    coef, scenario = coefficients(region, **every_family(family))
    m = build_model(coef, scenario, elastic=frozenset({family}) if elastic else frozenset())
    component = m.component(family)
    assert component is not None and len(component) > 0
    fast = compile_model(m, coef.n_pairs, coef.n_parcels)
    general = compile_standard_form(m, coef.n_pairs, coef.n_parcels)
    assert fast.handover is Handover.ARRAYS and general.handover is Handover.COMPILER
    order = list(fast.columns)
    a, b = family_rows(fast, component, order), family_rows(general, component, order)
    assert a["names"] == b["names"]
    for name in ("indptr", "indices"):
        np.testing.assert_array_equal(getattr(a["matrix"], name), getattr(b["matrix"], name))
    np.testing.assert_allclose(a["matrix"].data, b["matrix"].data, rtol=1e-15)
    np.testing.assert_array_equal(a["lower"], b["lower"])
    np.testing.assert_array_equal(a["upper"], b["upper"])
    slack = m.component(f"slack_{family}")
    assert (slack is not None) == elastic
    if elastic:  # one slack per row, in that row alone
        columns = [k for k, v in enumerate(order) if v.parent_component() is slack]
        assert len(columns) == len(component)
        assert (a["matrix"][:, columns] != 0).sum(axis=0).tolist() == [1] * len(columns)


def test_the_families_table_is_the_models_table_of_contents(region: Any) -> None:
    """The families appear in the model in the table's order, allocation first, and the structure
    column says which of them keep the LP's shape."""
    coef, scenario = coefficients(region, **every_family())
    m = build_model(coef, scenario)
    assert [f.name for f in m.matrix_form.families] == [f.name for f in FAMILIES
                                                        if DROUGHT_SCOPE.get(f.name, "every_scenario") == "every_scenario"]
    assert {f.structure for f in FAMILIES} == {"allocation", "coupling", "breaks"}
    assert [f.name for f in FAMILIES if f.structure == "allocation"] == ["allocation"]
    assert all(f.relaxation.slack in (-1, 1) for f in FAMILIES if f.relaxation is not None)


def test_handover_path_is_named(region: Any) -> None:
    """Each hand-over path is recorded in the result: the arrays, the arrays and the compiler for a
    user's additions, the compiler for a model changed otherwise."""
    coef, scenario = coefficients(region)
    m = build_model(coef, scenario)
    assert solve_model(m, coef, scenario).solver["handover"] == Handover.ARRAYS.value
    m.restored_cap = pyo.Constraint(expr=m.x[int(np.flatnonzero(coef.use == RESTORATION)[0])] <= 0.5)
    assert solve_model(m, coef, scenario).solver["handover"] == Handover.ARRAYS_AND_COMPILER.value
    m.budget.set_value(m.budget.body <= scenario.budget_usd / 2)
    assert solve_model(m, coef, scenario).solver["handover"] == Handover.COMPILER.value


def test_objective_and_kpis_are_the_same_rows(region: Any) -> None:
    """The objective is the weighted sum of the KPIs a plan reports, less the cost tie-break, and each
    KPI's expression on the model takes the value the plan reports for it."""
    from dualuse.plan import compute_kpis

    coef, scenario = coefficients(region)
    m = build_model(coef, scenario)
    result = solve_model(m, coef, scenario)
    kpis = compute_kpis(coef, scenario, result.x, result.served_mwh, result.export_mwh)
    weighted = (scenario.weight_access * kpis["access"] + scenario.weight_energy * kpis["energy"]
                + scenario.weight_productivity * kpis["productivity"]
                - scenario.weight_cost * kpis["cost_usd"] / cost_scale_usd(coef, scenario))
    assert result.objective == pytest.approx(weighted, rel=1e-9)
    for j, value in enumerate(result.x.tolist()):
        m.x[j].set_value(value, skip_validation=True)
    for c, value in enumerate(result.served_mwh.tolist()):
        m.served[c].set_value(value, skip_validation=True)
    m.export.set_value(result.export_mwh, skip_validation=True)
    for kpi in KPIS:
        body, magnitude = kpi_expression(m, coef, scenario, kpi.name)
        assert pyo.value(body) == pytest.approx(kpis[kpi.name], rel=1e-9, abs=1e-9), kpi.name
        assert magnitude >= 1.0


def test_benchmark_floor_is_the_same_lp(region: Any) -> None:
    """``benchmarks/floor.py`` assembles, without Pyomo, the very LP dualuse hands to HiGHS, bit for bit."""
    spec = importlib.util.spec_from_file_location(
        "dualuse_benchmark_floor", Path(__file__).resolve().parents[1] / "benchmarks" / "floor.py")
    floor_module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = floor_module  # its dataclasses look their module up there
    spec.loader.exec_module(floor_module)
    floor_lp = floor_module.floor_lp

    coef, scenario = coefficients(region, budget_usd=3.0e7)
    fast = compile_model(build_model(coef, scenario), coef.n_pairs, coef.n_parcels)
    floor = floor_lp(coef, scenario)
    arrays = fast.arrays
    matrix = sp.csr_array((arrays.value, arrays.index, arrays.start), shape=(arrays.num_row, arrays.num_col)).tocsc()
    matrix.sort_indices()
    floor.matrix.sort_indices()
    for ours, theirs in [(matrix.indptr, floor.matrix.indptr), (matrix.indices, floor.matrix.indices),
                         (matrix.data, floor.matrix.data), (arrays.col_cost, floor.cost),
                         (arrays.col_lower, floor.col_lower), (arrays.col_upper, floor.col_upper),
                         (arrays.row_lower, floor.row_lower), (arrays.row_upper, floor.row_upper)]:
        np.testing.assert_array_equal(ours, theirs)


def test_bare_model_without_arrays_still_compiles(region: Any) -> None:
    """A model whose arrays were dropped (or that never had them) goes through the compiler, same LP."""
    coef, scenario = coefficients(region)
    m = build_model(coef, scenario)
    fast = compile_model(m, coef.n_pairs, coef.n_parcels)
    del m.matrix_form
    general = compile_model(m, coef.n_pairs, coef.n_parcels)
    assert FAST not in general.interface
    assert_same_lp(fast, general)


# --------------------------------------------------------------------------- what a user adds or changes


def solve_both(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> tuple[Any, float]:
    """Solve with ``solve_model`` (fast path where it applies) and, independently, the whole model through
    the compiler; both objectives must agree.  Returns the result and the compiler path's objective."""
    result = solve_model(m, coef, scenario)
    general = compile_standard_form(m, coef.n_pairs, coef.n_parcels)
    h, _ = run_highs(general, highs_options(scenario, general.is_mip))
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    objective = h.getInfo().objective_function_value
    assert result.objective == pytest.approx(objective, rel=1e-7, abs=1e-10)
    return result, objective


def pv_area_ha(coef: Coefficients, x: np.ndarray) -> float:
    pv = np.isin(coef.use, PV_USES)
    return float((coef.area_ha[coef.parcel] * x)[pv].sum())


def test_user_constraint_and_variable_reach_the_solver(region: Any) -> None:
    """A constraint and a variable added by a user bind the plan; the variable's value is loaded back."""
    coef, scenario = coefficients(region)
    m = build_model(coef, scenario)
    free = solve_model(m, coef, scenario)
    free_pv = pv_area_ha(coef, free.x)
    assert free_pv > 10.0

    pv = np.flatnonzero(np.isin(coef.use, PV_USES)).tolist()
    area = coef.area_ha[coef.parcel]
    m.pv_area = pyo.Var(within=pyo.NonNegativeReals, doc="area under PV [ha]")
    m.pv_area_def = pyo.Constraint(expr=m.pv_area == sum(float(area[j]) * m.x[j] for j in pv))
    m.pv_area_cap = pyo.Constraint(expr=m.pv_area <= free_pv / 2)
    capped, _ = solve_both(m, coef, scenario)
    assert FAST in capped.solver["interface"] and "additions" in capped.solver["interface"]
    assert pv_area_ha(coef, capped.x) == pytest.approx(free_pv / 2, rel=1e-6)
    assert m.pv_area.value == pytest.approx(free_pv / 2, rel=1e-6)
    assert capped.objective < free.objective
    assert capped.size["columns"] == free.size["columns"] + 1
    assert capped.size["rows"] == free.size["rows"] + 2


def test_user_objective_replaces_the_built_one(region: Any) -> None:
    """Deleting the objective and adding another (as the Pareto front does) solves for the new one."""
    coef, scenario = coefficients(region)
    m = build_model(coef, scenario)
    m.del_component(m.objective)
    restoration = np.flatnonzero(coef.use == RESTORATION).tolist()
    area = coef.area_ha[coef.parcel]
    m.most_restored = pyo.Objective(expr=sum(float(area[j]) * m.x[j] for j in restoration), sense=pyo.maximize)
    result, _ = solve_both(m, coef, scenario)
    assert FAST in result.solver["interface"]
    restored = float((area * result.x)[coef.use == RESTORATION].sum())
    assert result.objective == pytest.approx(restored, rel=1e-6)

    m.second = pyo.Objective(expr=m.export)
    with pytest.raises(DualuseError, match="2 active objectives"):
        compile_model(m, coef.n_pairs, coef.n_parcels)


def test_deactivated_rows_fixed_and_rebounded_variables(region: Any) -> None:
    """Deactivating a family or one of its rows, fixing a share or tightening a bound: the fast path follows."""
    coef, scenario = coefficients(region)
    m = build_model(coef, scenario)
    base = solve_model(m, coef, scenario)
    m.budget.deactivate()
    unbudgeted, _ = solve_both(m, coef, scenario)
    assert FAST in unbudgeted.solver["interface"]
    assert "budget" not in unbudgeted.duals
    assert unbudgeted.objective >= base.objective - 1e-9
    m.budget.activate()

    group = next(iter(m.LDN_GROUPS))
    m.ldn_neutrality[group].deactivate()
    relaxed, _ = solve_both(m, coef, scenario)
    assert FAST in relaxed.solver["interface"]
    assert group not in relaxed.duals["ldn_neutrality"]
    m.ldn_neutrality[group].activate()

    pv = np.flatnonzero(np.isin(coef.use, PV_USES))
    chosen = pv[np.argmax(base.x[pv])]  # the pair with the most PV in the plan
    m.x[int(chosen)].setub(0.0)
    other = int(np.flatnonzero(coef.use == RESTORATION)[0])
    m.x[other].fix(1.0)
    changed, _ = solve_both(m, coef, scenario)
    assert FAST in changed.solver["interface"]
    assert changed.x[chosen] == 0.0 and changed.x[other] == pytest.approx(1.0)
    siblings = np.flatnonzero(coef.parcel == coef.parcel[other])
    assert changed.x[siblings].sum() == pytest.approx(1.0)


def delivery_cost_usd(coef: Any, scenario: Any, served_mwh: np.ndarray) -> float:
    """The cost of delivering ``served_mwh``: per MWh/yr, and per household connected."""
    households = np.divide(served_mwh, coef.household_mwh, out=np.zeros_like(served_mwh),
                           where=coef.household_mwh > 0)
    return float(scenario.delivery_cost_usd_mwh * served_mwh.sum() + scenario.connection_cost_usd * households.sum())


def test_replaced_expression_sends_the_model_through_the_compiler(region: Any) -> None:
    """A built row given a new expression is no longer what the arrays say: the compiler takes the whole model."""
    coef, scenario = coefficients(region)
    m = build_model(coef, scenario)
    base = solve_model(m, coef, scenario)
    m.budget.set_value(m.budget.body <= scenario.budget_usd / 4)
    result, _ = solve_both(m, coef, scenario)
    assert FAST not in result.solver["interface"]
    assert float(coef.cost_usd @ result.x) + delivery_cost_usd(coef, scenario, result.served_mwh) <= (
        scenario.budget_usd / 4 * (1 + 1e-6))
    assert result.objective < base.objective


def test_changed_named_total_sends_the_model_through_the_compiler(region: Any) -> None:
    """``m.cost_usd`` feeds the budget and the objective: redefining it changes both, through the compiler."""
    coef, scenario = coefficients(region)
    m = build_model(coef, scenario)
    base = solve_model(m, coef, scenario)
    m.cost_usd.set_value(4 * m.cost_usd.expr)  # every action now costs four times as much
    result, _ = solve_both(m, coef, scenario)
    assert FAST not in result.solver["interface"]
    spent = float(coef.cost_usd @ result.x) + delivery_cost_usd(coef, scenario, result.served_mwh)
    assert spent <= scenario.budget_usd / 4 * (1 + 1e-6)
    assert result.objective < base.objective


def test_a_land_type_no_use_can_move_has_no_ldn_row(tmp_path: Path) -> None:
    """A land type whose balance no use can move is left out of the LDN rows (its balance is reported instead),
    so a positive target there does not make the model infeasible."""
    path = write_region(tmp_path / "r.gpkg", [parcel("artificial"), parcel("bare")])
    region = read_region(path)
    coef, scenario = coefficients(region, ldn_target=0.1)
    weight = coef.pair_area_ha * coef.ldn_status
    assert not weight[coef.parcel == 0].any()  # nothing moves the artificial parcel's balance
    m = build_model(coef, scenario)
    assert list(m.LDN_GROUPS) == ["bare"]
    assert solve_model(m, coef, scenario).status is Status.OPTIMAL


def test_an_empty_row_that_cannot_hold_is_infeasible_on_both_hand_overs(tmp_path: Path) -> None:
    """A least restored area on land where nothing may be restored: the row has no variables and a positive
    bound, which both hand-overs refuse before HiGHS runs, and the solve reports as infeasible."""
    path = write_region(tmp_path / "r.gpkg", [parcel("artificial"), parcel("artificial")])
    region = read_region(path)
    coef, scenario = coefficients(region, min_restored_ha=10.0)
    m = build_model(coef, scenario)
    with pytest.raises(InfeasibleConstraintException):
        compile_model(m, coef.n_pairs, coef.n_parcels)
    with pytest.raises(InfeasibleConstraintException):
        compile_standard_form(m, coef.n_pairs, coef.n_parcels)
    assert solve_model(m, coef, scenario).status is Status.INFEASIBLE


def test_model_let_go_while_highs_solves(region: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """``solve(keep_model=False)`` frees the model before HiGHS runs and gives the same plan."""
    coef, scenario = coefficients(region)
    model, kept = solve(coef, scenario)
    assert isinstance(model, pyo.ConcreteModel)
    del model
    gc.collect()

    def models() -> int:
        return sum(isinstance(o, pyo.ConcreteModel) and o.name == "dualuse" for o in gc.get_objects())

    before = models()  # any kept alive elsewhere in the session
    live: list[int] = []

    def counting(solver: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            live.append(models())
            return solver(*args, **kwargs)
        return run

    # whichever path solves the LP (structured by default, generic as its fallback), no model is alive then
    monkeypatch.setattr("dualuse.solve.highs.run_highs", counting(run_highs))
    monkeypatch.setattr("dualuse.solve.highs.solve_structured", counting(solve_structured))
    model, released = solve(coef, scenario, keep_model=False)
    assert model is None and live and set(live) == {before}
    assert released.objective == kept.objective
    np.testing.assert_array_equal(released.x, kept.x)
    np.testing.assert_array_equal(released.served_mwh, kept.served_mwh)
    assert released.duals == kept.duals


# --------------------------------------------------------------------------- the LP file


def test_write_lp_solves_to_the_plans_objective(example_region: Path, tmp_path: Path) -> None:
    """``dualuse solve --write-lp`` writes the model with readable names; HiGHS solves it to the same objective."""
    lp_path = tmp_path / "model.lp"
    out = tmp_path / "plan.gpkg"
    result = CliRunner().invoke(cli, ["solve", str(example_region), "-o", str(out), "--write-lp", str(lp_path)])
    assert result.exit_code == 0, result.output
    text = lp_path.read_text()
    for name in ("allocation(0)", "budget", "ldn_neutrality(", "energy_balance", "x(0)"):
        assert name in text, name
    h = new_highs({"output_flag": False, "threads": 1})
    assert h.readModel(str(lp_path)) == highspy.HighsStatus.kOk
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    _, _, run = read_plan(out)
    assert h.getInfo().objective_function_value == pytest.approx(float(run["objective"]), rel=1e-6)
    assert run["handover"] == Handover.ARRAYS.value
    n_parcels = len(read_region(example_region).area_ha)
    assert text.count("c_e_allocation(") == n_parcels
