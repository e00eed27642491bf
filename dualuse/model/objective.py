r"""The objectives: the weighted KPIs of a plan, or the least relaxation that explains an infeasible scenario.

Both are made from rows (:mod:`dualuse.model.rows`): the weighted objective
from the KPIs' own rows (:mod:`dualuse.model.kpis`), the least relaxation
from the elastic slacks and the scale of each relaxation in the families
table (:mod:`dualuse.model.families`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo

from dualuse.inputs.scenario import Scenario
from dualuse.model.coefficients import Coefficients
from dualuse.model.families import FAMILY
from dualuse.model.kpis import KPI, cost_scale_usd, kpi_row
from dualuse.model.rows import MatrixForm, Rows, linear, set_objective

#: The weighted objective's terms, in the order their coefficients are summed: the scenario weight,
#: the KPI, and its sign (the cost counts against the plan).
OBJECTIVE_TERMS: tuple[tuple[str, str, int], ...] = (
    ("weight_access", "access", +1),
    ("weight_energy", "energy", +1),
    ("weight_productivity", "productivity", +1),
    ("weight_cost", "cost_usd", -1),
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
        row = kpi_row(coef, scenario, kpi)
        scale = row.normaliser * (cost_scale_usd(coef, scenario) if kpi == "cost_usd" else 1.0)
        if weight and scale:
            out.append((kpi, sign * (weight / scale)))
    return out


def add_objective(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> None:
    r"""Maximise the weighted sum of unit-free KPIs, less a small cost tie-break.

    .. math::
        \max\; w_a \frac{\sum_c s_c}{\sum_c D_c}
        + w_e \frac{\sum_c s_c + g}{E_{max}}
        + w_p \frac{\sum_{iu} p_{iu} x_{iu}}{P_0}
        - w_k \frac{\sum_{iu} k_{iu} x_{iu} + \kappa \sum_c s_c}{K_{max}}

    Every normaliser is read from the data, none from a constraint's
    right-hand side, so that a limit that does not bind (a budget, the
    grid's export capacity, the food floor, the LDN target) does not change
    the plan or the objective when it moves: :math:`\sum_c D_c` is the
    unserved households' demand; :math:`E_{max}` the region's most
    generation, every parcel under its most productive PV use
    (``max_energy_mwh``); :math:`P_0` today's harvest; :math:`K_{max}` the
    cost of the costliest plan, every parcel under its costliest eligible use
    and all demand delivered (:func:`~dualuse.model.kpis.cost_scale_usd`).
    The objective's shadow prices are then in these units: one unit of
    objective is all unserved demand met (at :math:`w_a = 1`), or
    :math:`E_{max}` delivered, or today's harvest, or the costliest plan's
    cost saved.
    """
    form: MatrixForm = m.matrix_form
    dense = np.zeros(len(form.columns))
    for kpi, factor in objective_factors(coef, scenario):
        row = kpi_row(coef, scenario, kpi)
        dense[row.columns] += factor * row.values
    used = np.flatnonzero(dense)
    set_objective(m, Rows.single(used, dense[used]), pyo.maximize, "weighted KPIs [-]")


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
