r"""Near-optimal alternatives: the near-optimality row, the objectives that spread plans apart, and cuts.

Modelling to generate alternatives (MGA) solves the model once for its
optimum :math:`z^*`, then again with the objective held near it,

.. math:: z(v) \ge z^* - \sigma |z^*| \qquad \text{(near-optimality row)}

(:math:`\sigma` the slack, e.g. 0.02; :math:`\le` with :math:`+` for a
minimised objective), while another objective pushes the plan away from the
plans found so far.  The row is one aggregate row over the pairs (and the
deliveries and export the objective counts), so the model keeps its shape:
one allocation row per parcel and a few coupling rows, and the structured
solve still applies.  Everything here is stated as rows
(:mod:`dualuse.model.rows`) on a built model, the way a priority level's hold
is (:func:`dualuse.model.objective.add_priority_hold`); a study applies it
through the run's adjustment hook (:class:`dualuse.run.Adjustment`).

Distances are in hectares: with :math:`x^k_{iu}` the shares of earlier plan
:math:`k` and :math:`A_i` the parcel areas, two plans differ on
:math:`\tfrac12 \sum_i A_i \sum_u |x_{iu} - x^k_{iu}|` ha.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyomo.environ as pyo

from dualuse.errors import UsageError
from dualuse.inputs.scenario import Scenario
from dualuse.model.coefficients import Coefficients
from dualuse.model.kpis import kpi_row
from dualuse.model.objective import objective_factors
from dualuse.model.rows import INF, MatrixForm, Rows, add_rows, set_objective
from dualuse.vocabulary import USES

#: The name of the near-optimality row in the model (and of its dual).
NEAR_OPTIMALITY = "near_optimality"
#: The name of the cuts' rows.
CUTS = "portfolio_cuts"
CURRENT = USES.index("current")


def near_optimal_bound(optimum: float, slack: float, sense: int = pyo.maximize) -> float:
    """The worst objective a plan within ``slack`` of ``optimum`` may have: :math:`z^* \\mp \\sigma |z^*|`."""
    give = slack * abs(optimum)
    return optimum - give if sense == pyo.maximize else optimum + give


def objective_gap(value: float, optimum: float, sense: int = pyo.maximize) -> float:
    """How far ``value`` falls short of ``optimum``, relative to :math:`|z^*|` (0 at the optimum, ≥ 0 below it)."""
    short = optimum - value if sense == pyo.maximize else value - optimum
    return short / max(abs(optimum), 1e-12)


def check_objective_mode(scenario: Scenario) -> None:
    """Refuse a lexicographic scenario: its objective is a sequence of levels, with no single optimum to hold."""
    if scenario.objective_mode == "priorities":
        raise UsageError("near-optimal alternatives need one objective to hold near its optimum; "
                         "objective_mode = priorities solves several in turn: use weighted or net_benefit")


def add_near_optimality(m: pyo.ConcreteModel, optimum: float, slack: float) -> None:
    r"""Hold the model's own objective within ``slack`` of ``optimum`` (before the objective is replaced).

    .. math:: \sum_k c_k v_k \ge z^* - \sigma |z^*|

    with :math:`c` the objective's coefficients over the model's columns
    (:math:`\le` and :math:`+` for a minimised objective).  With
    :math:`\sigma > 0` the optimum itself is well inside the row, so the row
    needs no margin for the solver's tolerances.
    """
    if not slack > 0:
        raise UsageError(f"the slack of a near-optimal plan must be above 0 (got {slack:g})")
    form: MatrixForm = m.matrix_form
    if form.objective is None:
        raise UsageError("internal error: the model has no objective to hold")
    _, _, sense, rows = form.objective
    if sense == pyo.maximize:
        held = rows.bounded(near_optimal_bound(optimum, slack, sense), INF)
    else:
        held = rows.bounded(-INF, near_optimal_bound(optimum, slack, sense))
    add_rows(m, NEAR_OPTIMALITY, held, f"objective held within {slack:g} of its optimum {optimum:.10g}")


def set_pair_objective(m: pyo.ConcreteModel, coef: Coefficients, weight: np.ndarray, doc: str) -> None:
    r"""Replace the objective by :math:`\max \sum_{iu} w_{iu} x_{iu}`, ``weight`` given per parcel and use
    (an array ``[n_parcels, len(USES)]``; a negative weight pushes a pair out)."""
    weight = np.asarray(weight, dtype=float)
    if weight.shape != (coef.n_parcels, len(USES)):
        raise UsageError(f"internal error: weights of shape {weight.shape} for {coef.n_parcels} parcels")
    values = weight[coef.parcel, coef.use]
    used = np.flatnonzero(values)
    if m.component("objective") is not None:
        m.del_component(m.objective)
    set_objective(m, Rows.single(used, values[used]), pyo.maximize, doc)


def overlap_weight(coef: Coefficients, previous: np.ndarray) -> np.ndarray:
    r"""Hop-skip-jump weights: :math:`w_{iu} = -A_i \bar x_{iu}` for every action :math:`u` (not the
    current use), with :math:`\bar x` the mean shares of the earlier plans (``previous``,
    ``[plans, n_parcels, len(USES)]``).

    Maximising :math:`\sum w x` minimises the area-weighted overlap of the
    actions with those of the earlier plans,
    :math:`\sum_i A_i \sum_{u \ne \text{current}} x_{iu} \bar x_{iu}`: a pair
    that every earlier plan used weighs most, one that none used weighs
    nothing.  Land left as it is does not count as overlap, or the
    alternatives would spend their slack on cheap changes everywhere (grazing
    management on every rangeland parcel) only to differ from the land as it is.
    """
    mean = np.asarray(previous, dtype=float).mean(axis=0)
    weight = -coef.area_ha[:, None] * mean
    weight[:, CURRENT] = 0.0
    return weight


def random_weight(coef: Coefficients, seed: int, by: str) -> np.ndarray:
    r"""Random-direction weights: :math:`w_{iu} = A_i r_{g(i)u}`, :math:`r \sim N(0, 1)` from ``seed``,
    drawn per parcel (``by = "parcel"``) or per community (``"community"``: the parcels of a community
    share their draws; parcels outside any community share one more)."""
    rng = np.random.default_rng(seed)
    if by == "parcel":
        draw = rng.standard_normal((coef.n_parcels, len(USES)))
    elif by == "community":
        groups = rng.standard_normal((int(coef.demand_mwh.size) + 1, len(USES)))
        draw = groups[np.where(coef.community >= 0, coef.community, coef.demand_mwh.size)]
    else:
        raise UsageError(f"random directions are drawn per parcel or per community, not '{by}'")
    return coef.area_ha[:, None] * draw


def add_cuts(m: pyo.ConcreteModel, coef: Coefficients, previous: np.ndarray, threshold: float,
             cut_share: float) -> int:
    r"""Cut off each earlier plan: at least ``cut_share`` of the area it gave to actions goes elsewhere.

    With :math:`S_k` the action pairs of plan :math:`k` (a use other than
    the current one, holding at least ``threshold`` of its parcel),

    .. math:: \sum_{(i,u) \in S_k} A_i x_{iu} \le (1 - \delta) \sum_{(i,u) \in S_k} A_i x^k_{iu} \quad \forall k

    For whole parcels and a small :math:`\delta` this is the classical cut
    ("not this selection again": at least one selected unit is dropped); for
    shares it asks for a real change, not a sliver.  Returns the number of
    rows added (a plan with no action pair cannot be cut off and adds none).
    """
    previous = np.asarray(previous, dtype=float)
    share = previous[:, coef.parcel, coef.use]  # [plans, pairs]
    chosen = (share >= threshold) & (coef.use != CURRENT)[None, :]
    kept = chosen.any(axis=1)
    row_of, pair = np.nonzero(chosen[kept])
    if pair.size == 0:
        return 0
    area = coef.area_ha[coef.parcel[pair]]
    n_rows = int(kept.sum())
    used_ha = area * share[kept][row_of, pair]
    upper = (1.0 - cut_share) * np.bincount(row_of, weights=used_ha, minlength=n_rows)
    m.CUT_PLANS = pyo.RangeSet(0, n_rows - 1, doc="earlier plans that are cut off")
    add_rows(m, CUTS, Rows.from_entries(row_of, pair, area, -INF, upper, n_rows),
             f"each earlier plan's action area changed by at least {cut_share:g}", index=m.CUT_PLANS)
    return n_rows


def objective_from_kpis(coef: Coefficients, scenario: Scenario, kpis: Mapping[str, float]) -> float:
    r"""A plan's objective under ``scenario``, from its KPI values (as a plan reports them).

    Each KPI is :math:`(r \cdot v + c)/n` of the solution :math:`v`
    (:class:`~dualuse.model.kpis.KpiRow`), so the objective's terms
    :math:`f\, r \cdot v` are :math:`f (n\,\mathrm{KPI} - c)`, with the factors
    of :func:`~dualuse.model.objective.objective_factors` (weighted) or 1 for
    the net benefit.  This is how a plan solved under another objective (an
    alternative) is scored against the optimum.
    """
    check_objective_mode(scenario)
    terms = ([("net_benefit_usd_yr", 1.0)] if scenario.objective_mode == "net_benefit"
             else objective_factors(coef, scenario))
    total = 0.0
    for kpi, factor in terms:
        row = kpi_row(coef, scenario, kpi)
        total += factor * (float(kpis[kpi]) * row.normaliser - row.constant)
    return total


def land_distance_ha(area_ha: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    r"""The area on which two plans' shares differ: :math:`\tfrac12 \sum_i A_i \sum_u |a_{iu} - b_{iu}|` [ha]."""
    return 0.5 * float((np.asarray(area_ha, dtype=float)[:, None] * np.abs(np.asarray(a) - np.asarray(b))).sum())
