r"""An infeasible scenario explained in policy terms: which requirements conflict, and how far each must move.

After a solve that HiGHS proves infeasible, :func:`explain_infeasibility`
says which requirements conflict and how far each policy parameter would
have to move; every family it may relax, the direction and scale of the
relaxation and the parameter that moves it are read from the families
table (:data:`~dualuse.model.family_table.FAMILIES`):

1. *which*: one irreducible set of conflicting requirements (budget, LDN per
   land type, food floor, caps) — HiGHS's IIS (``iis_strategy`` 2, from the
   LP) narrows the rows on LPs of up to :data:`IIS_MAX_PARCELS` parcels, then
   a deletion filter over the aggregate rows, the parcel rows always kept,
   makes it irreducible (one interior-point run per requirement);
2. *how far*: for each policy parameter alone, the least move that makes the
   scenario feasible with everything else unchanged — an elastic re-solve
   with a penalised slack on that requirement only (for a parameter that
   sets several rows, such as ``ldn_target``, one move of the parameter for
   all its rows), and whether another setting (``ldn_scope = "region"``)
   would do;
3. the least combined relaxation of all requirements, each relative to its
   scale.
"""

from __future__ import annotations

import math
import time
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.common.errors import InfeasibleConstraintException

from dualuse.diagnose.messages import beyond_range, cannot_alone, fill, in_range
from dualuse.diagnose.presolve import TOLERANCE, ldn_reach
from dualuse.inputs.scenario import Scenario
from dualuse.model.build import build_model
from dualuse.model.coefficients import Coefficients
from dualuse.model.family_table import ELASTIC_FAMILIES, FAMILY, requirement
from dualuse.solve.handover import INF, compile_model
from dualuse.solve.highs import (
    highs_options,
    new_highs,
    run_quietly,
    solve_model,
    stdout_to_stderr,
)
from dualuse.vocabulary import USES

#: HiGHS's IIS narrows the conflict only on models up to this many parcels: it took 0.45 s at 1,000 parcels,
#: 4.5 s at 5,000 and 98 s at 20,000, and does not heed its time limit (benchmarks/bench_checks.py).
IIS_MAX_PARCELS = 2_000
#: The deletion filter runs on models up to this many parcels: one solve per requirement, 4 s in all at
#: 20,000 parcels and 38 s at 100,000 (benchmarks/bench_checks.py); above it the requirements in conflict
#: are read from the relaxations instead (those that fix the scenario alone are in every conflict).
CONFLICT_MAX_PARCELS = 50_000


def explain_infeasibility(coef: Coefficients, scenario: Scenario,
                          time_limit_s: float | None = None) -> list[dict[str, Any]]:
    """Which requirements conflict, and how far each policy parameter must move.

    Returns a list of plain-data items, each with a ``kind``:

    - ``conflict``: one requirement of an irreducible conflicting set (``constraint``, ``group``, ``requirement``);
    - ``alone``: how far a requirement falls short when it alone gives way, the others kept
      (``relaxation``, ``unit``, ``message``);
    - ``fix``: one parameter changed alone, the rest unchanged: ``parameter``, ``current``, ``suggested``
      (None and ``feasible`` false when no value of it alone makes the scenario feasible);
    - ``combined``: the least combined relaxation of all requirements, each relative to its scale.

    Empty when no relaxation of the requirements makes the scenario feasible.
    """
    combined = _relaxations(coef, scenario, frozenset(ELASTIC_FAMILIES), time_limit_s)
    if combined is None:
        return []
    hard = build_model(coef, scenario)
    present = [f for f in ELASTIC_FAMILIES if hard.component(f) is not None]
    conflict = conflicting_requirements(coef, scenario, time_limit_s)
    items: list[dict[str, Any]] = []
    if conflict:
        items += [{"kind": "conflict", "constraint": f, "group": g, "requirement": requirement(f, g)}
                  for f, g in conflict]
    fixes: list[dict[str, Any]] = []
    shortfalls: list[dict[str, Any]] = []
    for family in present:
        alone = _relaxations(coef, scenario, frozenset({family}), time_limit_s)
        shortfalls += [{**item, "kind": "alone", **_stuck_reason(item, coef, scenario)} for item in alone or []]
        fix = _fix(family, alone, hard.component(family).is_indexed(), coef, scenario, time_limit_s)
        if fix is not None:
            fixes.append(fix)
    fixes += _alternatives(present, shortfalls + combined, coef, scenario, time_limit_s)
    items += shortfalls + fixes + [{**item, "kind": "combined"} for item in combined]
    return items


def _fix(family: str, alone: list[dict[str, Any]] | None, several_rows: bool, coef: Coefficients,
         scenario: Scenario, time_limit_s: float | None) -> dict[str, Any] | None:
    """The family's parameter changed alone: the least move that makes the scenario feasible, or that
    none does (None when the family needs no relaxation)."""
    relaxation = FAMILY[family].relaxation
    parameter = relaxation.parameter
    current = getattr(scenario, parameter)
    item = {"kind": "fix", "parameter": parameter, "current": current, "suggested": None, "feasible": False,
            "constraint": family}
    if alone is None:
        return {**item, "message": cannot_alone(parameter)}
    if not alone:
        return None
    if several_rows:  # one parameter sets every row: move it once for all
        delta = _uniform_relaxation(coef, scenario, family, time_limit_s)
        suggested = None if delta is None else current - relaxation.slack * delta
    else:
        suggested = alone[0]["suggested"]
    if suggested is None or not in_range(parameter, suggested):
        return {**item, "message": beyond_range(parameter, up=relaxation.slack < 0)}
    amount = sum(i["relaxation"] for i in alone)
    return {**item, "suggested": suggested, "feasible": True,
            "message": fill(family, FAMILY[family].words.fix, None, amount, current, suggested)}


def _alternatives(present: list[str], involved: list[dict[str, Any]], coef: Coefficients, scenario: Scenario,
                  time_limit_s: float | None) -> list[dict[str, Any]]:
    """Other settings the table names for a family in the conflict (``ldn_scope = "region"``), tried."""
    out = []
    for family in present:
        alternative = FAMILY[family].relaxation.alternative
        if alternative is None or not any(i["constraint"] == family for i in involved):
            continue
        if getattr(scenario, alternative.parameter) != alternative.applies:
            continue
        feasible = _feasible(coef, scenario.replace(**{alternative.parameter: alternative.value}), time_limit_s)
        out.append({"kind": "fix", "parameter": alternative.parameter, "current": alternative.applies,
                    "suggested": alternative.value if feasible else None, "feasible": feasible,
                    "constraint": family, "message": alternative.works if feasible else alternative.fails})
    return out


def _relaxations(coef: Coefficients, scenario: Scenario, elastic: frozenset[str],
                 time_limit_s: float | None = None) -> list[dict[str, Any]] | None:
    """Solve the elastic model; the nonzero relaxations in policy terms, or None if still infeasible."""
    m = build_model(coef, scenario, elastic=elastic)
    result = solve_model(m, coef, scenario, time_limit_s)
    if not result.status.has_plan:
        return None
    out: list[dict[str, Any]] = []
    for built in m.matrix_form.families:
        slack = m.component(f"slack_{built.name}")
        if slack is None:
            continue
        relaxation = FAMILY[built.name].relaxation
        scale = relaxation.scale(built.rows, coef, scenario)
        per_unit = np.broadcast_to(np.asarray(relaxation.per_unit(coef, scenario), dtype=float), scale.shape)
        for r, (index, var) in enumerate(slack.items()):
            amount = float(var.value or 0.0)
            if amount > 1e-6 * max(1.0, float(scale[r])):
                group = index if slack.is_indexed() else None
                out.append(_describe(built.name, group, amount, float(scale[r]), float(per_unit[r]), scenario))
    return out


def _describe(family: str, group: Any, amount: float, measure: float, per_unit: float,
              scenario: Scenario) -> dict[str, Any]:
    """One relaxation as data and as a sentence a planner can act on: the parameter moved by it."""
    relaxation = FAMILY[family].relaxation
    current = getattr(scenario, relaxation.parameter)
    suggested = current - relaxation.slack * amount / per_unit
    return {"constraint": family, "group": group, "relaxation": amount, "requirement": requirement(family, group),
            "unit": relaxation.unit, "parameter": relaxation.parameter, "current": current, "suggested": suggested,
            "message": fill(family, FAMILY[family].words.relaxed, group, amount, current, suggested, measure)}


def _uniform_relaxation(coef: Coefficients, scenario: Scenario, family: str,
                        time_limit_s: float | None = None) -> float | None:
    """The least move δ of the family's parameter (in its relaxing direction) that makes the scenario
    feasible, everything else unchanged: every row relaxed by δ × its bound per unit (None: no δ will do)."""
    m = build_model(coef, scenario, elastic=frozenset({family}))
    slack = m.component(f"slack_{family}")
    if slack is None:
        return None
    per_unit = np.broadcast_to(np.asarray(FAMILY[family].relaxation.per_unit(coef, scenario), dtype=float),
                               (len(slack),))
    per = dict(zip(slack.keys(), per_unit.tolist()))
    m.del_component(m.objective)
    m.uniform_relaxation = pyo.Var(within=pyo.NonNegativeReals, doc="one move of the parameter for every row")
    m.uniform = pyo.Constraint(slack.index_set(), rule=lambda m, g: slack[g] - per[g] * m.uniform_relaxation <= 0,
                               doc="each row relaxed by the same move of the parameter")
    m.objective = pyo.Objective(expr=m.uniform_relaxation, sense=pyo.minimize)
    result = solve_model(m, coef, scenario, time_limit_s)
    if not result.status.has_plan:
        return None
    return max(float(m.uniform_relaxation.value or 0.0), 0.0)


def _stuck_reason(item: dict[str, Any], coef: Coefficients, scenario: Scenario) -> dict[str, str]:
    """For a row no plan can move beyond today's (an LDN group where no eligible use changes the
    status), why: the family's ``stuck`` words and the eligible uses."""
    stuck = FAMILY[item["constraint"]].words.stuck
    if not stuck:
        return {}
    reach = ldn_reach(coef, scenario)
    k = reach["names"].index(item["group"]) if item["group"] in reach["names"] else -1
    if k < 0 or reach["most"][k] > reach["today"][k] + TOLERANCE * max(reach["area"][k], 1.0):
        return {}
    in_group = reach["group"][coef.parcel] == k
    uses = sorted({USES[u] for u in np.unique(coef.use[in_group])}, key=USES.index)
    return {"reason": f"{stuck}; eligible: {', '.join(uses)}"}


def _feasible(coef: Coefficients, scenario: Scenario, time_limit_s: float | None = None) -> bool:
    m = build_model(coef, scenario)
    return solve_model(m, coef, scenario, time_limit_s).status.has_plan


def conflicting_requirements(coef: Coefficients, scenario: Scenario,
                             time_limit_s: float | None = None) -> list[tuple[str, Any]] | None:
    """One irreducible set of requirements that cannot all hold, as (family, group) pairs.

    The parcel rows (every parcel wholly allocated) and the variable bounds
    always hold; the aggregate requirements are the candidates.  On an LP of
    at most :data:`IIS_MAX_PARCELS` parcels, HiGHS's IIS (strategy 2, from
    the LP) first narrows them; then a deletion filter drops each candidate
    in turn and keeps it only if the rest become feasible without it.
    Returns None when the conflict is not computed: a model larger than
    :data:`CONFLICT_MAX_PARCELS` parcels, a row that is infeasible on its
    own, or a solver that stops undecided.
    """
    if coef.n_parcels > CONFLICT_MAX_PARCELS:
        return None
    m = build_model(coef, scenario)
    try:
        compiled = compile_model(m, coef.n_pairs, coef.n_parcels)
    except InfeasibleConstraintException:
        return None
    lp = compiled.lp
    lp.col_cost_ = np.zeros(lp.num_col_)  # feasibility only
    lp.offset_ = 0.0
    rows = compiled.rows
    family_of = {r: rows[r].constraint.parent_component().local_name for r in range(compiled.n_parcels, len(rows))}
    candidates = [r for r, family in family_of.items() if family in ELASTIC_FAMILIES]
    if not candidates:
        return None
    limit = float(time_limit_s if time_limit_s is not None else scenario.time_limit_s) or INF
    deadline = time.perf_counter() + (limit if math.isfinite(limit) else 1e9)
    # the solve's own options: on this LP, interior point told feasibility apart in 0.6 s at 20,000 parcels,
    # where dual simplex took 17 s (and 50 s again after each relaxed row)
    h = new_highs(highs_options(scenario, compiled.is_mip, limit))
    h.passModel(lp)
    if not compiled.is_mip and coef.n_parcels <= IIS_MAX_PARCELS:
        candidates = _narrowed_by_iis(h, candidates, deadline)
    keep = _deletion_filter(h, lp, family_of, candidates, deadline)
    if keep is None:
        return None
    out = []
    for r in keep:
        con = rows[r].constraint
        out.append((family_of[r], con.index() if con.parent_component().is_indexed() else None))
    return out


def _narrowed_by_iis(h: highspy.Highs, candidates: list[int], deadline: float) -> list[int]:
    """The candidate rows in HiGHS's IIS (strategy 2), or all of them when it finds none."""
    h.setOptionValue("iis_strategy", 2)
    h.setOptionValue("time_limit", max(1.0, deadline - time.perf_counter()))
    with stdout_to_stderr():
        status, iis = h.getIis()
    if status == highspy.HighsStatus.kOk and iis.valid_:
        in_iis = set(int(r) for r in iis.row_index_)
        narrowed = [r for r in candidates if r in in_iis]
        if narrowed:
            return narrowed
    return candidates


def _deletion_filter(h: highspy.Highs, lp: highspy.HighsLp, family_of: dict[int, str], candidates: list[int],
                     deadline: float) -> list[int] | None:
    """Drop each candidate row in turn, keeping it only if the rest become feasible without it (the
    other aggregate rows set free); None when even all candidates together do not conflict."""
    lower = np.asarray(lp.row_lower_, dtype=float)
    upper = np.asarray(lp.row_upper_, dtype=float)
    for r in family_of:
        if r not in candidates:
            h.changeRowBounds(r, -INF, INF)

    def infeasible() -> bool | None:
        h.setOptionValue("time_limit", max(0.1, deadline - time.perf_counter()))
        run_quietly(h)
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible:
            return True
        if status == highspy.HighsModelStatus.kOptimal:
            return False
        return None

    if infeasible() is not True:
        for r in family_of:  # the narrowed set did not conflict on its own: use every requirement
            h.changeRowBounds(r, lower[r], upper[r])
        candidates = [r for r, family in family_of.items() if family in ELASTIC_FAMILIES]
        if infeasible() is not True:
            return None
    keep = []
    for r in candidates:
        h.changeRowBounds(r, -INF, INF)
        if infeasible() is True:
            continue  # the rest conflict without it
        h.changeRowBounds(r, lower[r], upper[r])
        keep.append(r)
    return keep
