"""The Pyomo model of one scenario: variables, named totals, every constraint family of the table, the objective.

How the model is built (chosen by measurement, ``benchmarks/RESULTS.md``):
each family first states its rows as numpy arrays (:mod:`dualuse.model.rows`),
and the Pyomo constraint is then made from those very arrays; the arrays
stay on the model (``m.matrix_form``) for the hand-over to HiGHS
(:mod:`dualuse.solve.handover`).  The model stays an ordinary
``ConcreteModel``: inspect it, add variables, constraints or another
objective to it.
"""

from __future__ import annotations

import gc

import numpy as np
import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC

from dualuse.errors import DualuseError
from dualuse.inputs.scenario import Scenario
from dualuse.model.coefficients import Coefficients
from dualuse.model.families import FamilyRows
from dualuse.model.family_table import ELASTIC_FAMILIES, FAMILIES, ConstraintFamily
from dualuse.model.kpis import kpi_row
from dualuse.model.objective import add_least_relaxation, add_objective
from dualuse.model.rows import MatrixForm, Rows, add_nonnegative, add_rows, add_total

#: From this many (parcel, use) pairs, ``build_model`` ends with one full garbage collection.
LARGE_MODEL_PAIRS = 200_000


def build_model(coef: Coefficients, scenario: Scenario,
                elastic: frozenset[str] = frozenset()) -> pyo.ConcreteModel:
    """The dualuse model for one scenario: its variables, named totals, the families of
    :data:`~dualuse.model.family_table.FAMILIES` in their order, and the objective.

    Parameters
    ----------
    coef : Coefficients — the model's data
    scenario : Scenario — validated policy parameters
    elastic : frozenset of str — constraint families (of
        :data:`~dualuse.model.family_table.ELASTIC_FAMILIES`) given a penalised slack in every row; when any
        is given the objective becomes the least total relaxation (used to explain infeasibility)
    """
    unknown = sorted(set(elastic) - set(ELASTIC_FAMILIES))
    if unknown:
        raise DualuseError(f"internal error: no relaxation for {', '.join(unknown)}")
    with PauseGC():  # millions of live objects: the cyclic collector would only rescan them, for nothing
        m = pyo.ConcreteModel(name="dualuse")
        m.elastic_families = frozenset(elastic)
        add_variables(m, coef, scenario)
        add_totals(m, coef, scenario)
        for family in FAMILIES:
            add_family(m, family, family.builder(m, coef, scenario), family.name in elastic)
        if elastic:
            add_least_relaxation(m, coef, scenario)
        else:
            add_objective(m, coef, scenario)
    if coef.n_pairs >= LARGE_MODEL_PAIRS:
        # the collector left the new objects in its youngest generation: one full pass now (about
        # a second per million parcels) instead of three passes later, in the middle of other work
        gc.collect()
    return m


def add_variables(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> None:
    r"""Shares :math:`x_j \in [0, 1]` of each eligible pair (binary in ``whole`` mode),
    deliveries :math:`s_c \in [0, D_c]` [MWh/yr] and grid export :math:`g \in [0, G]` [MWh/yr],
    registered as the model's first columns in that order (:mod:`dualuse.model.kpis`)."""
    m.matrix_form = MatrixForm()
    m.PAIRS = pyo.RangeSet(0, coef.n_pairs - 1, doc="eligible (parcel, use) pairs")
    m.PARCELS = pyo.RangeSet(0, coef.n_parcels - 1, doc="parcels")
    m.COMMUNITIES = pyo.RangeSet(0, coef.demand_mwh.size - 1, doc="communities")
    domain = pyo.Binary if scenario.mode == "whole" else pyo.UnitInterval
    m.x = pyo.Var(m.PAIRS, within=domain, doc="share of the parcel under the use [-]")
    demand_mwh = coef.demand_mwh.tolist()
    m.served = pyo.Var(m.COMMUNITIES, within=pyo.NonNegativeReals,
                       bounds=lambda m, c: (0.0, demand_mwh[c]),
                       doc="energy delivered to the community's households [MWh/yr]")
    m.export = pyo.Var(within=pyo.NonNegativeReals, bounds=(0.0, scenario.grid_export_mwh),
                       doc="energy sent to the grid [MWh/yr]")
    for name in ("x", "served", "export"):
        m.matrix_form.add_variable(name, m.component(name))


def add_totals(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> None:
    r"""Named totals: ``m.cost_usd`` and ``m.productivity_t``, the rows of the KPIs of those names.

    .. math::
        K = \sum_{iu} k_{iu} x_{iu} + \kappa \sum_c s_c \;\text{[USD]}, \qquad
        P = \sum_{iu} p_{iu} x_{iu} \;\text{[t DM/yr]}

    Each is the body of its family's row (budget, food floor), made from
    the same arrays; they are also there for a user's own constraints.
    """
    for name, doc in (("cost_usd", "capital cost of the plan, delivery included [USD]"),
                      ("productivity_t", "harvest [t DM/yr]")):
        row = kpi_row(coef, scenario, name)
        add_total(m, name, Rows.single(row.columns, row.values), doc)


def add_family(m: pyo.ConcreteModel, family: ConstraintFamily, stated: FamilyRows | None, elastic: bool) -> None:
    """Make a family's Pyomo constraint from the rows its builder stated (nothing when it stated none).

    With ``elastic``, every row first gets a non-negative slack column
    ``slack_<family>`` (one per row, indexed like the family), signed as the
    family's :class:`~dualuse.model.families.Relaxation` says: added to the
    body of a ≥ row, taken off the body of a ≤ row.  A row stated as a named
    total (``stated.total``) gets that total's expression as its body.
    """
    if stated is None:
        return
    rows = stated.rows
    slack = None
    if elastic:
        sign = family.relaxation.slack
        bounds = rows.lower if sign > 0 else rows.upper
        if not np.isfinite(bounds).all():
            raise DualuseError(f"internal error: the slack of {family.name} does not relax its rows")
        index = list(stated.index) if stated.index is not None else None
        first = add_nonnegative(m, f"slack_{family.name}", index, f"relaxation of {family.name}")
        rows = rows.with_column_per_row(first, float(sign))
        slack = m.component(f"slack_{family.name}")
    row_bodies = None
    if stated.total is not None:
        total = m.component(stated.total)
        row_bodies = [total if slack is None else total + family.relaxation.slack * slack]
    add_rows(m, family.name, rows, stated.doc, stated.index, row_bodies)
