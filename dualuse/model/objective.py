r"""The objectives: what a plan optimises, or the least relaxation that explains an infeasible scenario.

The scenario's ``objective_mode`` chooses what a plan optimises:

- ``weighted``: the weighted sum of the unit-free KPIs (:func:`add_weighted_objective`);
- ``net_benefit``: the net benefit in USD/yr (:func:`add_net_benefit_objective`);
- ``priorities``: the KPIs of ``priorities`` one after another.  The model is
  built with the first level's objective (:func:`add_level_objective`); the
  solve then holds each level's optimum with an ε-row
  (:func:`add_priority_hold`) and optimises the next
  (:func:`dualuse.solve.priorities.solve_priorities`).

All are made from rows (:mod:`dualuse.model.rows`): the objectives from the
KPIs' own rows (:mod:`dualuse.model.kpis`), the least relaxation from the
elastic slacks and the scale of each relaxation in the families table
(:mod:`dualuse.model.families`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo

from dualuse.errors import UsageError
from dualuse.inputs.scenario import Scenario
from dualuse.model.coefficients import Coefficients
from dualuse.model.connectivity import penalty_terms
from dualuse.model.family_table import FAMILY
from dualuse.model.kpis import KPI, Kpi, cost_scale_usd, kpi_row
from dualuse.model.rows import INF, MatrixForm, Rows, add_rows, linear, set_objective

#: The absolute slack of a priority's hold, relative to the KPI's magnitude: the solver's own tolerance,
#: so that a level's optimum held exactly stays feasible.
HOLD_SLACK = 1e-9

#: The weighted objective's terms, in the order their coefficients are summed: the scenario weight,
#: the KPI, and its sign (the cost counts against the plan).
OBJECTIVE_TERMS: tuple[tuple[str, str, int], ...] = (
    ("weight_access", "access", +1),
    ("weight_energy", "energy", +1),
    ("weight_productivity", "productivity", +1),
    ("weight_cost", "cost_usd", -1),
    ("weight_livelihoods", "livelihoods", +1),
)


def objective_factors(coef: Coefficients, scenario: Scenario) -> list[tuple[str, float]]:
    """Each objective term's KPI and the factor its row's values are multiplied by: ±weight / scale.

    The scale is the KPI's normaliser (the unit-free shares), or for the cost
    :func:`~dualuse.model.kpis.cost_scale_usd`; a term whose weight or
    normaliser is 0 is left out.
    """
    out = []
    for weight_name, kpi, sign in OBJECTIVE_TERMS:
        weight = getattr(scenario, weight_name)
        if not weight:
            continue
        row = kpi_row(coef, scenario, kpi)
        scale = row.normaliser * (cost_scale_usd(coef, scenario) if kpi == "cost_usd" else 1.0)
        if weight and scale:
            out.append((kpi, sign * (weight / scale)))
    return out


def add_objective(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> None:
    """The objective the scenario's ``objective_mode`` chooses (for ``priorities``: the first level's)."""
    if scenario.objective_mode == "net_benefit":
        add_net_benefit_objective(m, coef, scenario)
    elif scenario.objective_mode == "priorities":
        add_level_objective(m, coef, scenario, priority_kpis(scenario)[0].name)
    else:
        add_weighted_objective(m, coef, scenario)


def add_weighted_objective(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> None:
    r"""Maximise the weighted sum of unit-free KPIs, less a small cost tie-break.

    .. math::
        \max\; w_a \frac{\sum_c s_c}{\sum_c D_c}
        + w_e \frac{\sum_c s_c + g}{E_{max}}
        + w_p \frac{\sum_{iu} p_{iu} x_{iu}}{P_0}
        - w_k \frac{\sum_{iu} k_{iu} x_{iu} + \kappa \sum_c s_c}{K_{max}}
        + w_l \frac{\sum_{iu} I_{iu} x_{iu}}{I_0}

    Every normaliser is read from the data, none from a constraint's
    right-hand side, so that a limit that does not bind (a budget, the
    grid's export capacity, the food floor, the LDN target) does not change
    the plan or the objective when it moves: :math:`\sum_c D_c` is the
    unserved households' demand; :math:`E_{max}` the region's most
    generation, every parcel under its most productive PV use
    (``max_energy_mwh``); :math:`P_0` today's harvest; :math:`I_0` today's land-based income
    (:mod:`dualuse.model.livelihood_values`); :math:`K_{max}` the
    cost of the costliest plan, every parcel under its costliest eligible use
    and all demand delivered (:func:`~dualuse.model.kpis.cost_scale_usd`).
    The objective's shadow prices are then in these units: one unit of
    objective is all unserved demand met (at :math:`w_a = 1`), or
    :math:`E_{max}` delivered, or today's harvest, or the costliest plan's
    cost saved.  With ``restoration_boundary_weight`` :math:`\beta > 0` the
    objective also pays :math:`\beta` per km of boundary between restored and
    unrestored land, in these same units (:mod:`dualuse.model.connectivity`).
    """
    form: MatrixForm = m.matrix_form
    penalty = penalty_terms(m, coef, scenario)  # the restoration boundary, if penalised
    set_objective(m, weighted_objective_rows(coef, scenario, len(form.columns), penalty), pyo.maximize,
                  "weighted KPIs [-]")


def weighted_objective_rows(coef: Coefficients, scenario: Scenario, n_columns: int,
                            penalty: tuple[np.ndarray, np.ndarray] | None = None) -> Rows:
    """The weighted objective (:func:`add_weighted_objective`) as one row over ``n_columns`` columns;
    ``penalty``: further (columns, coefficients) added to it (the restoration boundary's)."""
    dense = np.zeros(n_columns)
    for kpi, factor in objective_factors(coef, scenario):
        row = kpi_row(coef, scenario, kpi)
        dense[row.columns] += factor * row.values
    if penalty is not None:
        dense[penalty[0]] += penalty[1]
    used = np.flatnonzero(dense)
    return Rows.single(used, dense[used])


def add_net_benefit_objective(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> None:
    r"""Maximise the yearly net benefit of the plan [USD/yr] (the KPI ``net_benefit_usd_yr``).

    .. math::
        \max\; \sum_c (p_h - \mathrm{CRF}_d \kappa_c)\, s_c + p_x g
        + \sum_{iu} \big(v_{t(i)} p_{iu} - \mathrm{CRF}_u k_{iu} - o^{MW}_u C_{iu} - o^{ha}_u A_i\big) x_{iu}

    with :math:`p_h, p_x` the prices of energy delivered to households and
    exported [USD/MWh], :math:`v_t` the value of a tonne of harvest on land
    type :math:`t` [USD/t DM], :math:`k_{iu}` the capital cost, annualised by
    the capital recovery factor :math:`\mathrm{CRF}_u = r(1+r)^{n_u}/((1+r)^{n_u}-1)`
    over the use's life :math:`n_u` (:math:`\mathrm{CRF}_d` over the delivery
    assets' life), and :math:`o` the operating costs per MWp and per ha
    (:func:`~dualuse.model.coefficients.annual_cost`).  Its shadow prices are
    then in USD/yr per unit relaxed.
    """
    row = kpi_row(coef, scenario, "net_benefit_usd_yr")
    penalty_columns, penalty_values = penalty_terms(m, coef, scenario)  # the restoration boundary, if penalised
    set_objective(m, Rows.single(np.concatenate([row.columns, penalty_columns]),
                                 np.concatenate([row.values, penalty_values])), pyo.maximize, "net benefit [USD/yr]")


def priority_kpis(scenario: Scenario) -> tuple[Kpi, ...]:
    """The KPIs of the scenario's ``priorities``, in order; UsageError for a name not in the KPI table."""
    unknown = [name for name in scenario.priorities if name not in KPI]
    if unknown:
        raise UsageError(f"parameter 'priorities': {', '.join(unknown)} is not a KPI; choose among "
                         + ", ".join(KPI))
    return tuple(KPI[name] for name in scenario.priorities)


def add_level_objective(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario, kpi: str) -> None:
    r"""Optimise one KPI alone, in its own unit: maximise :math:`\beta f`, with :math:`\beta` the KPI's
    ``better`` (+1, or −1 for a KPI that is better smaller), so that every shadow price has the sign of a
    maximisation.  A model's previous objective is replaced."""
    row = kpi_row(coef, scenario, kpi)
    values = KPI[kpi].better * row.values / row.normaliser if row.normaliser else np.zeros_like(row.values)
    if m.component("objective") is not None:
        m.del_component(m.objective)
    penalty_columns, penalty_values = penalty_terms(m, coef, scenario)  # the restoration boundary, if penalised
    set_objective(m, Rows.single(np.concatenate([row.columns, penalty_columns]), np.concatenate([values, penalty_values])),
                  pyo.maximize, f"{kpi} alone (priority level)")


def priority_hold_name(level: int, kpi: str) -> str:
    """The name of the ε-row that holds priority ``level`` (from 1) at its optimum."""
    return f"priority_{level}_{kpi}"


def add_priority_hold(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario, level: int, kpi: str,
                      optimum: float) -> float:
    r"""Hold a KPI near its optimum :math:`f^*` with one ε-row: the bound in the KPI's unit.

    .. math:: \beta f \ge \beta f^* - \epsilon |f^*| - \delta

    with :math:`\epsilon` the scenario's ``priority_tolerance`` (the share
    of the optimum a later level may give up) and :math:`\delta` a margin
    of :data:`HOLD_SLACK` times the KPI's magnitude for the solver's
    tolerances.  The row, like the objective, is divided by the KPI's
    magnitude, so that it is of order one.
    """
    spec = KPI[kpi]
    row = kpi_row(coef, scenario, kpi)
    magnitude = spec.magnitude(coef, scenario)
    bound = optimum - spec.better * (scenario.priority_tolerance * abs(optimum) + HOLD_SLACK * magnitude)
    if row.normaliser:
        values = spec.better * row.values / row.normaliser / magnitude
        lower = spec.better * (bound - row.constant / row.normaliser) / magnitude
    else:
        values, lower = np.zeros_like(row.values), -INF
    add_rows(m, priority_hold_name(level, kpi), Rows.single(row.columns, values, lower, INF),
             f"{kpi} held within priority_tolerance of its optimum (priority {level})")
    return bound


def add_least_relaxation(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> None:
    r"""Minimise the total relaxation of the elastic families, each slack relative to its scale.

    .. math:: \min \sum_k \sigma_k / \max(|b_k|, 1)

    with :math:`b_k` what the families table measures each relaxation
    against: the right-hand side (the budget, the food floor, the caps) or,
    for LDN, the area of the land type, so that every relaxation counts as a
    share of what it relaxes.
    """
    form: MatrixForm = m.matrix_form
    columns: list[np.ndarray] = []
    values: list[np.ndarray] = []
    for built in form.families:
        if m.component(f"slack_{built.name}") is None:
            continue
        scale = FAMILY[built.name].relaxation.scale(built.rows, coef, scenario)
        columns.append(form.first_column(f"slack_{built.name}") + np.arange(built.rows.n_rows))
        values.append(1.0 / np.maximum(np.abs(scale), 1.0))
    set_objective(m, Rows.single(np.concatenate(columns or [np.zeros(0, np.int64)]),
                                 np.concatenate(values or [np.zeros(0)])), pyo.minimize, "least scaled relaxation")


def kpi_expression(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario, kpi: str) -> tuple[Any, float]:
    """A KPI as a linear expression of a built model's columns, and its magnitude (≥ 1).

    The expression's value is the KPI's (:func:`~dualuse.model.kpis.evaluate_kpis`);
    dividing it by the magnitude makes an objective or an ε-row of order one.
    """
    row = kpi_row(coef, scenario, kpi)
    columns = m.matrix_form.columns
    body = linear(row.values / row.normaliser if row.normaliser else np.zeros_like(row.values),
                  [columns[k] for k in row.columns.tolist()])
    if row.constant and row.normaliser:
        body = body + row.constant / row.normaliser
    return body, KPI[kpi].magnitude(coef, scenario)
