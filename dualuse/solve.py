"""HiGHS through Pyomo: options, statuses, duals, infeasibility diagnosis.

The Pyomo model is compiled to a sparse matrix by Pyomo's
``LinearStandardFormCompiler`` and handed to HiGHS with
``highspy.Highs.passModel``; solution values and row duals are mapped back to
the model's pairs and constraints.  FACTS.md measured this path at 1.6× the
bare-highspy floor at 100,000 parcels, against 3.3–4.9× for Pyomo's
appsi/contrib HiGHS interfaces, which translate expression by expression.

HiGHS options (chosen by measurement, FACTS.md): LPs use the interior-point
solver with crossover, which was 13× faster than dual simplex at 100,000
parcels; crossover gives a vertex solution and row duals (the shadow prices
of budget, LDN and food floor are policy answers), and a crossover start
tolerance of 1e-4 halved its time without changing the optimum.  MILPs use
HiGHS's branch and cut with ``mip_rel_gap`` from the scenario.
"""

from __future__ import annotations

import enum
import math
import time
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.common.errors import InfeasibleConstraintException
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from dualuse.coefficients import Coefficients
from dualuse.errors import DualuseError, InfeasibleError, TimeLimitError, UnboundedError
from dualuse.model import ELASTIC_FAMILIES, build_model
from dualuse.scenario import Scenario

INF = highspy.kHighsInf


class Status(enum.Enum):
    """The outcome of a solve."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"  # time limit reached with a plan: may not be optimal
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    TIME_LIMIT = "time_limit"  # time limit reached with no plan
    ERROR = "error"

    @property
    def has_plan(self) -> bool:
        return self in (Status.OPTIMAL, Status.FEASIBLE)


@dataclass
class SolveResult:
    """What HiGHS returned, mapped back to the model."""

    status: Status
    objective: float = math.nan
    gap: float = math.nan
    x: np.ndarray = field(default_factory=lambda: np.zeros(0))
    served_mwh: np.ndarray = field(default_factory=lambda: np.zeros(0))
    export_mwh: float = 0.0
    duals: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    solver: dict[str, Any] = field(default_factory=dict)
    size: dict[str, int] = field(default_factory=dict)
    message: str = ""


@dataclass
class CompiledModel:
    """A Pyomo model as HiGHS's sparse LP, and the maps back."""

    lp: highspy.HighsLp
    columns: list[Any]
    rows: list[Any]
    n_pairs: int
    n_parcels: int
    is_mip: bool


def highs_options(scenario: Scenario, is_mip: bool, time_limit_s: float | None = None) -> dict[str, Any]:
    """HiGHS options for one solve (see the module docstring for why)."""
    options: dict[str, Any] = {
        "output_flag": False,
        "threads": scenario.threads,
        "random_seed": scenario.seed,
        "time_limit": float(time_limit_s if time_limit_s is not None else scenario.time_limit_s) or INF,
    }
    if is_mip:
        options["mip_rel_gap"] = scenario.mip_gap
    else:
        options["solver"] = "ipm"
        options["run_crossover"] = "on"
        options["start_crossover_tolerance"] = 1e-4
    return options


def compile_model(m: pyo.ConcreteModel, n_pairs: int, n_parcels: int) -> CompiledModel:
    """Compile the model with Pyomo's standard-form compiler into a ``HighsLp``.

    Columns are ordered ``x`` first, so column ``j < n_pairs`` is pair ``j``;
    rows are ordered ``allocation`` first, so row ``i < n_parcels`` is parcel ``i``.
    """
    var_order = [m.x, m.served, m.export] + [v for v in m.component_objects(pyo.Var, descend_into=True)
                                             if v.local_name not in ("x", "served", "export")]
    con_order = [m.allocation] + [c for c in m.component_objects(pyo.Constraint, active=True, descend_into=True)
                                  if c.local_name != "allocation"]
    repn = LinearStandardFormCompiler().write(m, mixed_form=True, set_sense=None,
                                              column_order=var_order, row_order=con_order)
    columns, rows = repn.columns, repn.rows
    if len(columns) < n_pairs or columns[0] is not m.x[0] or columns[n_pairs - 1] is not m.x[n_pairs - 1]:
        raise DualuseError("internal error: the compiled columns are not in pair order")

    lp = highspy.HighsLp()
    lp.num_col_ = len(columns)
    lp.num_row_ = len(rows)
    objective = next(iter(repn.objectives))
    lp.sense_ = highspy.ObjSense.kMaximize if objective.sense == pyo.maximize else highspy.ObjSense.kMinimize
    lp.offset_ = float(repn.c_offset[0]) if len(repn.c_offset) else 0.0
    lp.col_cost_ = np.asarray(repn.c.toarray()[0] if repn.c.shape[0] else np.zeros(len(columns)), dtype=float)

    lower = np.fromiter((-INF if v.lb is None else v.lb for v in columns), dtype=float, count=len(columns))
    upper = np.fromiter((INF if v.ub is None else v.ub for v in columns), dtype=float, count=len(columns))
    lp.col_lower_ = lower
    lp.col_upper_ = upper

    bound_type = np.fromiter((r.bound_type for r in rows), dtype=np.int8, count=len(rows))
    rhs = np.asarray(repn.rhs, dtype=float)
    lp.row_lower_ = np.where(bound_type <= 0, rhs, -INF)
    lp.row_upper_ = np.where(bound_type >= 0, rhs, INF)

    A = repn.A.tocsc()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(float)
    lp.a_matrix_.num_col_ = len(columns)
    lp.a_matrix_.num_row_ = len(rows)

    integral = np.fromiter((v.is_integer() for v in columns), dtype=bool, count=len(columns))
    is_mip = bool(integral.any())
    if is_mip:
        lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                           for i in integral]
    return CompiledModel(lp=lp, columns=columns, rows=rows, n_pairs=n_pairs, n_parcels=n_parcels, is_mip=is_mip)


def run_highs(compiled: CompiledModel, options: dict[str, Any]) -> tuple[highspy.Highs, float]:
    """Pass the LP to a fresh HiGHS and run it; returns the solver and its run time [s]."""
    h = highspy.Highs()
    for key, value in options.items():
        h.setOptionValue(key, value)
    h.passModel(compiled.lp)
    start = time.perf_counter()
    h.run()
    return h, time.perf_counter() - start


def _status(h: highspy.Highs, compiled: CompiledModel, options: dict[str, Any]) -> Status:
    status = h.getModelStatus()
    has_solution = h.getInfo().primal_solution_status == 2  # kSolutionStatusFeasible
    S = highspy.HighsModelStatus
    if status == S.kOptimal:
        return Status.OPTIMAL
    if status in (S.kTimeLimit, S.kIterationLimit, S.kSolutionLimit, S.kInterrupt):
        return Status.FEASIBLE if has_solution else Status.TIME_LIMIT
    if status == S.kInfeasible:
        return Status.INFEASIBLE
    if status == S.kUnbounded:
        return Status.UNBOUNDED
    if status == S.kUnboundedOrInfeasible:
        # presolve cannot tell the two apart; ask again without it (FACTS.md)
        h2, _ = run_highs(compiled, {**options, "presolve": "off"})
        again = h2.getModelStatus()
        return Status.UNBOUNDED if again == S.kUnbounded else Status.INFEASIBLE
    return Status.ERROR


def solve_model(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario,
                time_limit_s: float | None = None) -> SolveResult:
    """Solve a built model and map the solution back to pairs, communities and named constraints."""
    t0 = time.perf_counter()
    try:
        compiled = compile_model(m, coef.n_pairs, coef.n_parcels)
    except InfeasibleConstraintException as exc:  # a row with no variables that cannot hold
        return SolveResult(status=Status.INFEASIBLE, message=str(exc),
                           timings={"handover_s": time.perf_counter() - t0, "highs_s": 0.0})
    t_compile = time.perf_counter() - t0
    options = highs_options(scenario, compiled.is_mip, time_limit_s)
    h, t_solve = run_highs(compiled, options)
    status = _status(h, compiled, options)
    info = h.getInfo()
    result = SolveResult(
        status=status,
        timings={"handover_s": t_compile, "highs_s": t_solve},
        solver={"name": "HiGHS", "version": f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}",
                "interface": "pyomo LinearStandardFormCompiler -> highspy.passModel",
                "options": {k: v for k, v in options.items() if k != "output_flag"},
                "model_status": h.modelStatusToString(h.getModelStatus())},
        size={"rows": compiled.lp.num_row_, "columns": compiled.lp.num_col_,
              "nonzeros": int(len(compiled.lp.a_matrix_.value_)), "mip": int(compiled.is_mip)},
    )
    if not status.has_plan:
        return result
    t1 = time.perf_counter()
    solution = h.getSolution()
    values = np.asarray(solution.col_value, dtype=float)
    result.objective = float(info.objective_function_value)
    result.gap = float(info.mip_gap) if compiled.is_mip else 0.0
    if compiled.is_mip and not math.isfinite(result.gap):
        result.gap = math.nan
    result.x = np.clip(values[:coef.n_pairs], 0.0, 1.0)
    n_comm = coef.demand_mwh.size
    result.served_mwh = np.maximum(values[coef.n_pairs:coef.n_pairs + n_comm], 0.0) + 0.0  # no -0.0
    result.export_mwh = max(float(values[coef.n_pairs + n_comm]), 0.0) + 0.0
    # every other variable (slacks, plant switches) is few: load it into the Pyomo model
    for column, value in zip(compiled.columns[coef.n_pairs + n_comm + 1:], values[coef.n_pairs + n_comm + 1:]):
        column.set_value(float(value), skip_validation=True)
    if not compiled.is_mip and solution.dual_valid:
        result.duals = _named_duals(compiled, np.asarray(solution.row_dual, dtype=float))
    result.timings["readback_s"] = time.perf_counter() - t1
    return result


def _named_duals(compiled: CompiledModel, row_dual: np.ndarray) -> dict[str, Any]:
    """Duals of the aggregate rows, keyed by constraint name (indexed ones as name -> {index: dual}).

    The sign is the change of the objective per unit the constraint is
    relaxed (HiGHS's row dual is ∂objective/∂row bound for either sense).
    """
    out: dict[str, Any] = {}
    for r in range(compiled.n_parcels, len(compiled.rows)):
        con = compiled.rows[r].constraint
        comp = con.parent_component()
        name = comp.local_name
        dual = float(row_dual[r])
        if comp.is_indexed():
            out.setdefault(name, {})[con.index()] = dual
        else:
            out[name] = dual
    return out


def solve(coef: Coefficients, scenario: Scenario, time_limit_s: float | None = None,
          explain: bool = True, write_lp: str | None = None) -> tuple[pyo.ConcreteModel, SolveResult]:
    """Build and solve; raise a typed error when there is no plan.

    Raises
    ------
    InfeasibleError — with the relaxations that would make the scenario feasible
    TimeLimitError, UnboundedError, DualuseError
    """
    t0 = time.perf_counter()
    m = build_model(coef, scenario)
    t_build = time.perf_counter() - t0
    if write_lp:
        m.write(write_lp, io_options={"symbolic_solver_labels": True})
    result = solve_model(m, coef, scenario, time_limit_s)
    result.timings = {"build_s": t_build, **result.timings}
    raise_for_status(result, coef, scenario, explain)
    return m, result


def raise_for_status(result: SolveResult, coef: Coefficients, scenario: Scenario, explain: bool = True) -> None:
    """Raise the typed error for a result without a plan."""
    if result.status.has_plan:
        return
    if result.status is Status.INFEASIBLE:
        explanation = explain_infeasibility(coef, scenario) if explain else []
        raise InfeasibleError(infeasibility_message(explanation), explanation)
    if result.status is Status.TIME_LIMIT:
        raise TimeLimitError(f"the time limit of {scenario.time_limit_s:g} s passed before any plan was found; "
                             "raise --time-limit, or use mode=share (an LP) instead of a MILP")
    if result.status is Status.UNBOUNDED:
        raise UnboundedError("the model is unbounded: a coefficient in the catalogue or a custom constraint "
                             "leaves an objective term without limit")
    raise DualuseError(f"HiGHS stopped with status '{result.solver.get('model_status')}'")


# --------------------------------------------------------------------------- infeasibility

_FAMILY_TEXT = {
    "budget": "the budget",
    "ldn_neutrality": "land degradation neutrality",
    "food_floor": "the food-security floor",
    "pv_cap": "the cap on PV area",
    "min_restored": "the least restored area",
}


def _relaxations(coef: Coefficients, scenario: Scenario, elastic: frozenset[str]
                 ) -> tuple[list[dict[str, Any]] | None, list[str]]:
    """Solve the elastic model: the nonzero relaxations in policy terms (None if still infeasible),
    and the elastic families that the model has."""
    m = build_model(coef, scenario, elastic=elastic)
    present = [f for f in ELASTIC_FAMILIES if m.component(f"slack_{f}") is not None]
    result = solve_model(m, coef, scenario)
    if not result.status.has_plan:
        return None, present
    out: list[dict[str, Any]] = []
    for family in present:
        slack = m.component(f"slack_{family}")
        for index, var in slack.items():
            amount = float(var.value or 0.0)
            group = index if slack.is_indexed() else None
            if amount > 1e-6 * max(1.0, _scale(m, family, group)):
                out.append(_describe(family, group, amount, m, coef, scenario))
    return out, present


def _scale(m: pyo.ConcreteModel, family: str, group: Any) -> float:
    if family == "ldn_neutrality":
        return m.ldn_group_area_ha[group]
    con = m.component(family)
    rhs = con.upper if con.upper is not None else con.lower
    return abs(pyo.value(rhs))


def _describe(family: str, group: Any, amount: float, m: pyo.ConcreteModel, coef: Coefficients,
              scenario: Scenario) -> dict[str, Any]:
    """One relaxation as data and as a sentence a planner can act on."""
    item: dict[str, Any] = {"constraint": family, "group": group, "relaxation": amount}
    if family == "budget":
        item.update(unit="USD", parameter="budget_usd", current=scenario.budget_usd,
                    suggested=scenario.budget_usd + amount,
                    message=f"the budget is USD {amount / 1e6:,.2f} M short: raise budget_usd from "
                            f"{scenario.budget_usd:,.0f} to at least {scenario.budget_usd + amount:,.0f}")
    elif family == "ldn_neutrality":
        area = m.ldn_group_area_ha[group]
        target = scenario.ldn_target - amount / area
        where = f"land type '{group}'" if group != "region" else "the region"
        item.update(unit="ha", parameter="ldn_target", current=scenario.ldn_target, suggested=target,
                    message=f"LDN in {where} needs {amount:,.0f} ha more net gain than the plan can reach: "
                            f"lower ldn_target from {scenario.ldn_target:g} to {target:.4f} or below")
    elif family == "food_floor":
        p0 = coef.baseline_productivity_t
        floor = scenario.food_floor - amount / p0
        item.update(unit="t DM/yr", parameter="food_floor", current=scenario.food_floor, suggested=floor,
                    message=f"the harvest falls {amount:,.0f} t/yr short of the food floor: lower food_floor "
                            f"from {scenario.food_floor:g} to {floor:.4f} or below")
    elif family == "pv_cap":
        total = float(coef.area_ha.sum())
        share = scenario.max_pv_share + amount / total
        item.update(unit="ha", parameter="max_pv_share", current=scenario.max_pv_share, suggested=share,
                    message=f"the PV cap is {amount:,.0f} ha too tight: raise max_pv_share to {share:.4f}")
    elif family == "min_restored":
        need = scenario.min_restored_ha - amount
        item.update(unit="ha", parameter="min_restored_ha", current=scenario.min_restored_ha, suggested=need,
                    message=f"{amount:,.0f} ha of the required restoration cannot be reached: lower "
                            f"min_restored_ha from {scenario.min_restored_ha:,.0f} to {need:,.0f} or below")
    return item


def explain_infeasibility(coef: Coefficients, scenario: Scenario) -> list[dict[str, Any]]:
    """Which requirements conflict, and how far each policy parameter must move.

    An elastic re-solve gives every aggregate requirement (budget, LDN per
    land type, food floor, caps) a non-negative slack and minimises their sum,
    each relative to its scale: the nonzero slacks are the requirements in
    conflict, together ("combined").  Then each requirement is made elastic
    alone, the others hard: that slack is how far that one parameter would
    have to move by itself ("alone"), or None if it cannot fix the plan alone.
    """
    combined, present = _relaxations(coef, scenario, frozenset(ELASTIC_FAMILIES))
    if combined is None:
        return []
    for item in combined:
        item["kind"] = "combined"
    alone: list[dict[str, Any]] = []
    for family in present:
        found, _ = _relaxations(coef, scenario, frozenset({family}))
        if found is None:
            alone.append({"kind": "alone", "constraint": family, "group": None, "relaxation": None,
                          "message": f"relaxing {_FAMILY_TEXT[family]} alone cannot make the plan feasible"})
        else:
            for item in found:
                item["kind"] = "alone"
            alone.extend(found)
    return combined + alone


def infeasibility_message(explanation: list[dict[str, Any]]) -> str:
    """The explanation as text for the terminal."""
    if not explanation:
        return ("the scenario is infeasible: no plan meets every requirement, and relaxing the budget, "
                "LDN, food floor and caps does not help either; check the catalogue and the input")
    combined = [e for e in explanation if e["kind"] == "combined"]
    alone = [e for e in explanation if e["kind"] == "alone"]
    families = sorted({_FAMILY_TEXT[e["constraint"]] for e in combined})
    lines = ["the scenario is infeasible: " + " and ".join(families) + " cannot all be met."]
    lines.append("Least combined relaxation:")
    lines += [f"  - {e['message']}" for e in combined]
    if alone:
        lines.append("Or, one parameter alone:")
        lines += [f"  - {e['message']}" for e in alone]
    return "\n".join(lines)
