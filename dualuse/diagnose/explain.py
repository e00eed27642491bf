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
from dualuse.progress import LOG, inner_stages, stage
from dualuse.solve.highs import (
    SolveResult,
    Status,
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


#: The explanation's default time budget is this many times the solve's own time [s] ...
EXPLAIN_SOLVE_MULTIPLE = 5.0
#: ... and at least this long [s]: each re-solve is about as long as the solve, and there are a dozen or more.
EXPLAIN_MIN_S = 10.0


def explain_budget_s(solve_s: float | None) -> float:
    """The explanation's default time budget [s]: :data:`EXPLAIN_SOLVE_MULTIPLE` times the solve's time
    ``solve_s`` [s], at least :data:`EXPLAIN_MIN_S` (the minimum alone when no solve ran yet)."""
    return max(EXPLAIN_MIN_S, EXPLAIN_SOLVE_MULTIPLE * (solve_s or 0.0))


#: The explanation's one item when it was not asked for (``--no-explain``).
NOT_EXPLAINED: dict[str, Any] = {
    "kind": "not_explained",
    "message": "which requirements conflict was not worked out (--no-explain); run without it for the "
               "explanation and the least change of each parameter"}


class _OutOfTime(Exception):
    """The explanation's time budget is spent."""


class _Budget:
    """The explanation's time budget, shared by its re-solves, each also held to the solve's own limit."""

    def __init__(self, time_limit_s: float | None, budget_s: float) -> None:
        self.time_limit_s = time_limit_s
        self.budget_s = float(budget_s) or INF  # 0: no budget
        self.start = time.perf_counter()
        self.solves = 0

    def limit(self, scenario: Scenario) -> float:
        """The time limit of the next re-solve [s]; raises :class:`_OutOfTime` when nothing is left."""
        remaining = self.budget_s - (time.perf_counter() - self.start)
        if remaining <= 0.01:
            raise _OutOfTime
        own = float(self.time_limit_s if self.time_limit_s is not None else scenario.time_limit_s) or INF
        return min(own, remaining)

    def solve(self, m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> SolveResult:
        """Solve a re-built model within the budget; :class:`_OutOfTime` when the budget stopped it."""
        limit = self.limit(scenario)
        result = solve_model(m, coef, scenario, limit)
        self.solves += 1
        if result.status is Status.TIME_LIMIT and time.perf_counter() - self.start >= self.budget_s - 0.01:
            raise _OutOfTime
        return result


def explain_infeasibility(coef: Coefficients, scenario: Scenario, time_limit_s: float | None = None,
                          budget_s: float | None = None) -> list[dict[str, Any]]:
    """Which requirements conflict, and how far each policy parameter must move.

    Returns a list of plain-data items, each with a ``kind``:

    - ``conflict``: one requirement of an irreducible conflicting set (``constraint``, ``group``, ``requirement``);
    - ``alone``: how far a requirement falls short when it alone gives way, the others kept
      (``relaxation``, ``unit``, ``message``);
    - ``fix``: one parameter changed alone, the rest unchanged: ``parameter``, ``current``, ``suggested``
      (None and ``feasible`` false when no value of it alone makes the scenario feasible);
    - ``combined``: the least combined relaxation of all requirements, each relative to its scale;
    - ``cut_short`` (last, when the time budget ran out): ``budget_s``, ``solves`` and a ``message``
      saying that what comes before is what was found in time.

    Empty when no relaxation of the requirements makes the scenario feasible.

    Parameters
    ----------
    time_limit_s : time limit of each re-solve [s] [default: the scenario's ``time_limit_s``]
    budget_s : time budget of the whole explanation [s]; 0 for none [default: :data:`EXPLAIN_MIN_S`]
    """
    budget = _Budget(time_limit_s, EXPLAIN_MIN_S if budget_s is None else budget_s)
    found: dict[str, list[dict[str, Any]]] = {"conflict": [], "alone": [], "fix": [], "combined": []}
    with stage("explanation", f"re-solves within {_budget_words(budget.budget_s)}"), inner_stages():
        try:
            if not _explain(coef, scenario, budget, found):
                return []
        except _OutOfTime:
            items = found["conflict"] + found["alone"] + found["fix"] + found["combined"]
            return items + [{"kind": "cut_short", "budget_s": budget.budget_s, "solves": budget.solves,
                             "message": f"the explanation was cut short at its time budget of "
                                        f"{budget.budget_s:g} s, after {budget.solves} re-solve(s)"
                                        + (": the findings above are what it reached" if items else
                                           ", before it found which requirements conflict")
                                        + "; raise --explain-time-limit (0: no limit) for the whole of it"}]
    return found["conflict"] + found["alone"] + found["fix"] + found["combined"]


def _budget_words(budget_s: float) -> str:
    return "no time limit" if not math.isfinite(budget_s) else f"{budget_s:g} s"


def _explain(coef: Coefficients, scenario: Scenario, budget: _Budget, found: dict[str, list[dict[str, Any]]]) -> bool:
    """Fill ``found`` step by step (so that a budget spent midway keeps what came before); False when no
    relaxation of the requirements makes the scenario feasible."""
    LOG.info("explanation: every requirement relaxed at once")
    combined = _relaxations(coef, scenario, frozenset(ELASTIC_FAMILIES), budget)
    if combined is None:
        return False
    hard = build_model(coef, scenario)
    present = [f for f in ELASTIC_FAMILIES if hard.component(f) is not None]
    LOG.info("explanation: which requirements conflict")
    conflict = conflicting_requirements(coef, scenario, budget=budget)
    found["conflict"] += [{"kind": "conflict", "constraint": f, "group": g, "requirement": requirement(f, g)}
                          for f, g in conflict or []]
    shortfalls: list[dict[str, Any]] = []
    for family in present:
        LOG.info("explanation: %s alone", FAMILY[family].words.name)
        alone = _relaxations(coef, scenario, frozenset({family}), budget)
        shortfalls += [{**item, "kind": "alone", **_stuck_reason(item, coef, scenario)} for item in alone or []]
        found["alone"] = list(shortfalls)
        fix = _fix(family, alone, hard.component(family).is_indexed(), coef, scenario, budget)
        if fix is not None:
            found["fix"].append(fix)
    found["fix"] += _alternatives(present, shortfalls + combined, coef, scenario, budget)
    found["combined"] = [{**item, "kind": "combined"} for item in combined]
    return True


def _fix(family: str, alone: list[dict[str, Any]] | None, several_rows: bool, coef: Coefficients,
         scenario: Scenario, budget: _Budget) -> dict[str, Any] | None:
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
        delta = _uniform_relaxation(coef, scenario, family, budget)
        suggested = None if delta is None else current - relaxation.slack * delta
    else:
        suggested = alone[0]["suggested"]
    if suggested is None or not in_range(parameter, suggested):
        return {**item, "message": beyond_range(parameter, up=relaxation.slack < 0)}
    amount = sum(i["relaxation"] for i in alone)
    return {**item, "suggested": suggested, "feasible": True,
            "message": fill(family, FAMILY[family].words.fix, None, amount, current, suggested)}


def _alternatives(present: list[str], involved: list[dict[str, Any]], coef: Coefficients, scenario: Scenario,
                  budget: _Budget) -> list[dict[str, Any]]:
    """Other settings the table names for a family in the conflict (``ldn_scope = "region"``), tried."""
    out = []
    for family in present:
        alternative = FAMILY[family].relaxation.alternative
        if alternative is None or not any(i["constraint"] == family for i in involved):
            continue
        if getattr(scenario, alternative.parameter) != alternative.applies:
            continue
        feasible = _feasible(coef, scenario.replace(**{alternative.parameter: alternative.value}), budget)
        out.append({"kind": "fix", "parameter": alternative.parameter, "current": alternative.applies,
                    "suggested": alternative.value if feasible else None, "feasible": feasible,
                    "constraint": family, "message": alternative.works if feasible else alternative.fails})
    return out


def _relaxations(coef: Coefficients, scenario: Scenario, elastic: frozenset[str],
                 budget: _Budget) -> list[dict[str, Any]] | None:
    """Solve the elastic model; the nonzero relaxations in policy terms, or None if still infeasible."""
    m = build_model(coef, scenario, elastic=elastic)
    result = budget.solve(m, coef, scenario)
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
                        budget: _Budget) -> float | None:
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
    result = budget.solve(m, coef, scenario)
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


def _feasible(coef: Coefficients, scenario: Scenario, budget: _Budget) -> bool:
    m = build_model(coef, scenario)
    return budget.solve(m, coef, scenario).status.has_plan


def conflicting_requirements(coef: Coefficients, scenario: Scenario, time_limit_s: float | None = None, *,
                             budget: _Budget | None = None) -> list[tuple[str, Any]] | None:
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
    if budget is None:
        limit = float(time_limit_s if time_limit_s is not None else scenario.time_limit_s) or INF
    else:
        limit = budget.limit(scenario)
    deadline = time.perf_counter() + (limit if math.isfinite(limit) else 1e9)
    # the solve's own options: on this LP, interior point told feasibility apart in 0.6 s at 20,000 parcels,
    # where dual simplex took 17 s (and 50 s again after each relaxed row)
    h = new_highs(highs_options(scenario, compiled.is_mip, limit))
    h.passModel(lp)
    if not compiled.is_mip and coef.n_parcels <= IIS_MAX_PARCELS:
        candidates = _narrowed_by_iis(h, candidates, deadline)
    keep = _deletion_filter(h, lp, family_of, candidates, deadline)
    if budget is not None:
        budget.limit(scenario)  # a budget spent during the filter leaves the set unproven: _OutOfTime
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
