r"""Lexicographic priorities by the ε-step: each KPI optimised in turn, the ones before it held.

For the KPIs :math:`f_1, …, f_K` of the scenario's ``priorities`` (each
maximised, or minimised when less is better: :math:`\beta_k = \pm 1`):

1. solve :math:`f_1^* = \max \beta_1 f_1`;
2. add the ε-row :math:`\beta_1 f_1 \ge \beta_1 f_1^* - \epsilon |f_1^*|`
   (:func:`~dualuse.model.objective.add_priority_hold`), replace the
   objective by :math:`\max \beta_2 f_2`, solve;
3. and so on through :math:`f_K`; the plan is the last level's solution.

Each level is a solve of the same model, changed only through its arrays
(:func:`~dualuse.model.rows.add_rows`, :func:`~dualuse.model.rows.set_objective`),
so that it reaches HiGHS through the arrays hand-over and a share-mode LP
takes the structured solve at every level.  This ε-step is chosen over
HiGHS's own lexicographic objectives (``passLinearObjectives``) because each
level's optimum is then the value of a solve of its own, reported, and the
last level's duals include the price of every hold: what one unit more of
an earlier priority given up would gain the last one.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dualuse.inputs.scenario import Scenario
from dualuse.model.build import build_model
from dualuse.model.coefficients import Coefficients
from dualuse.model.kpis import KPI, column_vector, kpi_row
from dualuse.model.objective import (
    add_level_objective,
    add_priority_hold,
    priority_hold_name,
    priority_kpis,
)
from dualuse.solve.highs import SolveResult, Status, solve_model


def solve_priorities(coef: Coefficients, scenario: Scenario, time_limit_s: float | None = None,
                     write_lp: str | None = None) -> SolveResult:
    """Solve the scenario's priorities level by level; the last level's result, with ``priority_levels``.

    Each level has the whole time limit.  A level without a plan ends the
    solve: its result is returned (with the levels solved before it) for the
    caller to raise.  ``timings`` add up over the levels; ``write_lp`` writes
    the last level's LP.
    """
    kpis = priority_kpis(scenario)
    m = build_model(coef, scenario)
    levels: list[dict[str, Any]] = []
    timings: dict[str, float] = {}
    result = SolveResult(status=Status.ERROR, message="no priorities")
    for k, kpi in enumerate(kpis, start=1):
        if k > 1:
            previous = levels[-1]
            previous["held_at"] = add_priority_hold(m, coef, scenario, k - 1, previous["kpi"], previous["optimum"])
            add_level_objective(m, coef, scenario, kpi.name)
        result = solve_model(m, coef, scenario, time_limit_s, write_lp=write_lp if k == len(kpis) else None)
        for name, seconds in result.timings.items():
            timings[name] = timings.get(name, 0.0) + seconds
        if not result.status.has_plan:
            break
        vector = column_vector(coef, result.x, result.served_mwh, result.export_mwh)
        levels.append({"level": k, "kpi": kpi.name, "unit": kpi.unit, "better": kpi.better,
                       "optimum": kpi_row(coef, scenario, kpi.name).evaluate(vector), "held_at": math.nan,
                       "shadow_price": math.nan})
    for level in levels[:-1]:
        level["shadow_price"] = hold_price(result, coef, scenario, level["level"], level["kpi"])
    result.priority_levels = levels
    result.timings = timings
    return result


def hold_price(result: SolveResult, coef: Coefficients, scenario: Scenario, level: int, kpi: str) -> float:
    r"""The last level's gain per unit of an earlier priority given up, in the last KPI's unit (× its β).

    The hold's row is :math:`\beta f / M \ge L`, so a row dual :math:`y`
    (:math:`\partial\,\text{objective} / \partial L`) is a price of
    :math:`-y / M` per unit of :math:`f` given up; ≥ 0 at an optimum.
    NaN without duals (a MILP).
    """
    dual = result.duals.get(priority_hold_name(level, kpi))
    if dual is None or not np.isfinite(dual):
        return math.nan
    return -float(dual) / KPI[kpi].magnitude(coef, scenario) + 0.0
