r"""The Pyomo formulation: one function per constraint family, its maths in the docstring.

Notation: parcels :math:`i \in I`, uses :math:`u \in U`, land types
:math:`t \in T`, communities :math:`c \in C`; :math:`A_i` parcel area [ha];
:math:`e_{iu}` energy [MWh/yr], :math:`p_{iu}` harvest [t/yr], :math:`k_{iu}`
cost [USD], :math:`q_{iu} \in \{-1, 0, 1\}` LDN status, all for the whole
parcel under use :math:`u` (:mod:`dualuse.model.coefficients`).

The variable ``x`` is indexed by the eligible (parcel, use) *pairs*
``0 … n_pairs − 1`` (``coef.parcel[j]``, ``coef.use[j]``): an ineligible pair
has no variable at all.

How the model is built (chosen by measurement, ``benchmarks/RESULTS.md``):
each family first states its rows in matrix form, as numpy arrays
(:class:`Rows`: for each row the columns, the coefficients and the bounds);
the Pyomo constraint is then made from those very arrays, one
``LinearExpression`` per row, with no indexed ``Param`` and no expression
arithmetic.  The arrays are kept on the model (``m.matrix_form``, a
:class:`MatrixForm`), so that the hand-over to HiGHS
(:func:`dualuse.solve.highs.compile_model`) can pass them as they are once it has
checked that the model still holds the families as built.

The model stays an ordinary ``ConcreteModel``: inspect it, add variables,
constraints or another objective to it, or write it with
``m.write("plan.lp")``.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC
from pyomo.core.expr import EqualityExpression, InequalityExpression, RangedExpression
from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression

from dualuse.vocabulary import USES
from dualuse.model.coefficients import Coefficients, land_type_name
from dualuse.vocabulary import LAND_TYPES
from dualuse.inputs.scenario import Scenario

#: The aggregate constraint families that the infeasibility explanation may relax.
ELASTIC_FAMILIES: tuple[str, ...] = ("budget", "ldn_neutrality", "food_floor", "pv_cap", "min_restored")

SOLAR = USES.index("solar")
AGRIVOLTAIC = USES.index("agrivoltaic")
RESTORATION = USES.index("restoration")

INF = math.inf

#: From this many (parcel, use) pairs, ``build_model`` ends with one full garbage collection.
LARGE_MODEL_PAIRS = 200_000


def build_model(coef: Coefficients, scenario: Scenario,
                elastic: frozenset[str] = frozenset()) -> pyo.ConcreteModel:
    """The dualuse model for one scenario.

    Parameters
    ----------
    coef : Coefficients — the model's data
    scenario : Scenario — validated policy parameters
    elastic : frozenset of str — constraint families (of :data:`ELASTIC_FAMILIES`)
        given a penalised slack; when any is given the objective becomes the
        least total relaxation (used to explain infeasibility)
    """
    with PauseGC():  # millions of live objects: the cyclic collector would only rescan them, for nothing
        m = pyo.ConcreteModel(name="dualuse")
        m.elastic_families = elastic
        add_variables(m, coef, scenario)
        add_totals(m, coef, scenario)
        add_allocation(m, coef)
        add_budget(m, coef, scenario, "budget" in elastic)
        add_ldn_neutrality(m, coef, scenario, "ldn_neutrality" in elastic)
        add_energy_access(m, coef, scenario)
        add_food_floor(m, coef, scenario, "food_floor" in elastic)
        add_policy_caps(m, coef, scenario, "pv_cap" in elastic, "min_restored" in elastic)
        add_plant_size(m, coef, scenario)
        if elastic:
            add_least_relaxation(m)
        else:
            add_objective(m, coef, scenario)
    if coef.n_pairs >= LARGE_MODEL_PAIRS:
        # the collector left the new objects in its youngest generation: one full pass now (about
        # a second per million parcels) instead of three passes later, in the middle of other work
        gc.collect()
    return m


# --------------------------------------------------------------------------- matrix form


@dataclass(frozen=True, eq=False)
class Rows:
    r"""Rows of one constraint family (or an objective) in matrix form.

    Row ``r`` is :math:`l_r \le \sum_k a_k v_{c_k} \le u_r` over
    ``k in indptr[r]:indptr[r + 1]``, with ``a = value``, ``c = column``
    (positions in :attr:`MatrixForm.columns`), ``l = lower`` and ``u = upper``
    (±inf for a missing bound).  Zero coefficients are never stored.
    """

    indptr: np.ndarray
    column: np.ndarray  # int32, as HiGHS takes it
    value: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    @property
    def n_rows(self) -> int:
        return int(self.lower.size)

    @classmethod
    def from_entries(cls, row: np.ndarray, column: np.ndarray, value: np.ndarray,
                     lower: np.ndarray | float, upper: np.ndarray | float, n_rows: int) -> Rows:
        """Rows from (row, column, value) entries; within a row, entries keep their given order."""
        row = np.asarray(row, dtype=np.int64)
        value = np.asarray(value, dtype=float)
        keep = value != 0.0
        row, column, value = row[keep], np.asarray(column, dtype=np.int64)[keep], value[keep]
        order = np.argsort(row, kind="stable")
        indptr = np.zeros(n_rows + 1, dtype=np.int64)
        np.cumsum(np.bincount(row, minlength=n_rows), out=indptr[1:])
        return cls(indptr=indptr, column=column[order].astype(np.int32), value=value[order],
                   lower=np.broadcast_to(np.asarray(lower, dtype=float), (n_rows,)).copy(),
                   upper=np.broadcast_to(np.asarray(upper, dtype=float), (n_rows,)).copy())

    @classmethod
    def single(cls, column: np.ndarray, value: np.ndarray, lower: float = -INF, upper: float = INF) -> Rows:
        """One row: ``lower ≤ Σ value · columns ≤ upper``."""
        column = np.asarray(column, dtype=np.int64)
        return cls.from_entries(np.zeros(column.size, dtype=np.int64), column, value, lower, upper, 1)


@dataclass(eq=False)
class Family:
    """One constraint component of the model as built: its rows, its data objects and their expressions."""

    name: str
    component: Any
    rows: Rows
    data: list[Any]
    expressions: list[Any]


@dataclass(eq=False)
class MatrixForm:
    """The model's own variables and constraint families as the arrays they were built from.

    Attributes
    ----------
    columns : list — the VarData of the model's own variables, in column order
        (``x`` first, so column ``j < n_pairs`` is pair ``j``; then ``served``,
        ``export``, and the rest in the order they were declared)
    variables : list of (name, component, first column, size)
    totals : list of (name, component, expression) — the named ``Expression`` components that
        constraints and the objective share
    families : list of Family — the constraint families, in declaration order
        (``allocation`` first, so row ``i < n_parcels`` is parcel ``i``)
    objective : tuple (component, expression, sense, Rows) or None
    """

    columns: list[Any] = field(default_factory=list)
    variables: list[tuple[str, Any, int, int]] = field(default_factory=list)
    totals: list[tuple[str, Any, Any]] = field(default_factory=list)
    families: list[Family] = field(default_factory=list)
    objective: tuple[Any, Any, int, Rows] | None = None

    def add_variable(self, name: str, component: Any) -> int:
        """Register a variable component's data as columns; its first column."""
        first = len(self.columns)
        data = list(component.values())
        self.columns.extend(data)
        self.variables.append((name, component, first, len(data)))
        return first

    def first_column(self, name: str) -> int:
        return next(first for n, _, first, _ in self.variables if n == name)


def _bodies(rows: Rows, columns: list[Any]) -> list[LinearExpression]:
    """One ``LinearExpression`` per row, made straight from the arrays: of the bare variables when the
    row's coefficients are all 1, else of monomial terms."""
    variables = [columns[k] for k in rows.column.tolist()]
    values = rows.value.tolist()
    starts = rows.indptr[:-1].tolist()
    ends = rows.indptr[1:].tolist()
    ones = np.ones(rows.n_rows, dtype=bool)
    non_unit = rows.value != 1.0
    if non_unit.any():
        ones[np.unique(np.searchsorted(rows.indptr, np.flatnonzero(non_unit), side="right") - 1)] = False
    return [LinearExpression(variables[a:b]) if unit
            else LinearExpression(list(map(MonomialTermExpression, zip(values[a:b], variables[a:b]))))
            for a, b, unit in zip(starts, ends, ones.tolist())]


def _relation(lower: float, body: Any, upper: float) -> Any:
    """``lower ≤ body ≤ upper`` as the Pyomo relational expression (±inf: no bound)."""
    if lower == upper:
        return EqualityExpression((body, upper))
    if lower == -INF:
        return InequalityExpression((body, upper), False)
    if upper == INF:
        return InequalityExpression((lower, body), False)
    return RangedExpression((lower, body, upper), (False, False))


def _expressions(rows: Rows, columns: list[Any]) -> list[Any]:
    """One Pyomo relational expression per row, made straight from the arrays."""
    return [_relation(lo, body, hi) for lo, body, hi in
            zip(rows.lower.tolist(), _bodies(rows, columns), rows.upper.tolist())]


def _add_rows(m: pyo.ConcreteModel, name: str, rows: Rows, doc: str, index: Any = None,
              expressions: list[Any] | None = None) -> None:
    """Add a constraint family made from ``rows``: scalar when ``index`` is None, else one row per
    member of ``index`` (a Pyomo set, in its order).  ``expressions`` (one per row) state the rows
    through the model's named totals instead; they must be the same rows."""
    form: MatrixForm = m.matrix_form
    if expressions is None:
        expressions = _expressions(rows, form.columns)
    if index is None:
        component = pyo.Constraint(expr=expressions[0], doc=doc)
    elif isinstance(index, pyo.RangeSet) and index.first() == 0:
        component = pyo.Constraint(index, rule=lambda m, k: expressions[k], doc=doc)
    else:
        position = {key: r for r, key in enumerate(index)}
        component = pyo.Constraint(index, rule=lambda m, k: expressions[position[k]], doc=doc)
    m.add_component(name, component)
    data = list(component.values())
    form.families.append(Family(name, component, rows, data, [d.expr for d in data]))


def _add_total(m: pyo.ConcreteModel, name: str, rows: Rows, doc: str) -> None:
    """A named total (a Pyomo ``Expression``) made from the single row ``rows``."""
    form: MatrixForm = m.matrix_form
    m.add_component(name, pyo.Expression(expr=_bodies(rows, form.columns)[0], doc=doc))
    component = m.component(name)
    form.totals.append((name, component, component.expr))


def _set_objective(m: pyo.ConcreteModel, rows: Rows, sense: int, doc: str, body: Any = None) -> None:
    """The objective ``rows`` (one row); ``body`` states it through the named totals instead."""
    form: MatrixForm = m.matrix_form
    if body is None:
        body = _bodies(rows, form.columns)[0]
    m.objective = pyo.Objective(expr=body, sense=sense, doc=doc)
    form.objective = (m.objective, m.objective.expr, sense, rows)


# --------------------------------------------------------------------------- helpers


def linear(coefs: Iterable[float], variables: Sequence[pyo.Var]) -> LinearExpression:
    """Σ coefs · variables as one LinearExpression (no intermediate sum expressions)."""
    values = coefs.tolist() if isinstance(coefs, np.ndarray) else [float(c) for c in coefs]
    return LinearExpression(list(map(MonomialTermExpression, zip(values, list(variables)))))


def _slack(m: pyo.ConcreteModel, name: str, index: Sequence[Any] | None = None) -> int:
    """A non-negative slack variable (one per member of ``index``); its first column."""
    var = pyo.Var(index, within=pyo.NonNegativeReals) if index is not None else pyo.Var(
        within=pyo.NonNegativeReals)
    m.add_component(f"slack_{name}", var)
    return m.matrix_form.add_variable(f"slack_{name}", var)


# --------------------------------------------------------------------------- families


def add_variables(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> None:
    r"""Shares :math:`x_j \in [0, 1]` of each eligible pair (binary in ``whole`` mode),
    deliveries :math:`s_c \in [0, D_c]` [MWh/yr] and grid export :math:`g \in [0, G]` [MWh/yr]."""
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


def _served_columns(m: pyo.ConcreteModel) -> np.ndarray:
    return m.matrix_form.first_column("served") + np.arange(len(m.COMMUNITIES))


def _cost_entries(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    columns = [np.arange(coef.n_pairs)]
    values = [coef.cost_usd]
    if len(m.COMMUNITIES) and scenario.delivery_cost_usd_mwh > 0:
        columns.append(_served_columns(m))
        values.append(np.full(len(m.COMMUNITIES), scenario.delivery_cost_usd_mwh))
    return np.concatenate(columns), np.concatenate(values)


def add_totals(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> None:
    r"""Named totals that the constraints and the objective share: ``m.cost_usd`` and ``m.productivity_t``.

    .. math::
        K = \sum_{iu} k_{iu} x_{iu} + \kappa \sum_c s_c \;\text{[USD]}, \qquad
        P = \sum_{iu} p_{iu} x_{iu} \;\text{[t DM/yr]}

    Stated once, each is used by its constraint (budget, food floor) and by
    the objective, which keeps the model smaller; they are also there for a
    user's own constraints.
    """
    _add_total(m, "cost_usd", Rows.single(*_cost_entries(m, coef, scenario)),
               "capital cost of the plan, delivery included [USD]")
    _add_total(m, "productivity_t", Rows.single(np.arange(coef.n_pairs), coef.productivity_t), "harvest [t DM/yr]")


def add_allocation(m: pyo.ConcreteModel, coef: Coefficients) -> None:
    r"""Every parcel is wholly allocated.

    .. math:: \sum_{u} x_{iu} = 1 \quad \forall i \in I
    """
    rows = Rows.from_entries(coef.parcel, np.arange(coef.n_pairs), np.ones(coef.n_pairs), 1.0, 1.0,
                             coef.n_parcels)
    _add_rows(m, "allocation", rows, "shares of each parcel sum to 1", m.PARCELS)


def add_budget(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario, elastic: bool = False) -> None:
    r"""Capital cost of actions and of delivery to communities within the budget.

    .. math:: \sum_{iu} k_{iu} x_{iu} + \kappa \sum_c s_c \le B

    with :math:`\kappa` the delivery cost [USD per MWh/yr] and :math:`B` the budget [USD].
    """
    columns, values = _cost_entries(m, coef, scenario)
    body = m.cost_usd
    if elastic:
        slack = _slack(m, "budget")
        columns, values = np.append(columns, slack), np.append(values, -1.0)
        body = body - m.slack_budget
    rows = Rows.single(columns, values, upper=scenario.budget_usd)
    _add_rows(m, "budget", rows, "capital budget [USD]", expressions=[_relation(-INF, body, scenario.budget_usd)])


def add_ldn_neutrality(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario,
                       elastic: bool = False) -> None:
    r"""Land degradation neutrality: area improved minus area degraded, like for like.

    .. math::
        \sum_{i \in I_t} A_i \sum_u q_{iu} x_{iu} \ge \tau A_t \quad \forall t \in T

    per land type (scope ``land_type``), or once over the pooled region
    (scope ``region``); absent with scope ``off``.  :math:`\tau` is the net
    improvement target (0 = neutrality).  Water bodies are not land: SDG
    15.3.1 leaves them out of the land area, and so does this constraint.
    A group in which no use changes the balance keeps its (empty) row, so
    that a positive target there is infeasible.
    """
    if scenario.ldn_scope == "off":
        return
    water = LAND_TYPES.index("water")
    by_type = scenario.ldn_scope == "land_type"
    groups = np.where(coef.pair_land_type == water, -1, coef.pair_land_type if by_type else 0)
    parcel_groups = np.where(coef.land_type == water, -1, coef.land_type if by_type else 0)
    keys = [k for k in np.unique(parcel_groups).tolist() if k >= 0]
    if not keys:
        return
    names = [land_type_name(k) if by_type else "region" for k in keys]
    m.LDN_GROUPS = pyo.Set(initialize=names, ordered=True, doc="groups within which LDN holds")
    group_area_ha = np.array([coef.area_ha[parcel_groups == key].sum() for key in keys])
    m.ldn_group_area_ha = dict(zip(names, group_area_ha.tolist()))
    weight = coef.pair_area_ha * coef.ldn_status
    in_group = np.flatnonzero(groups >= 0)
    row = [np.searchsorted(keys, groups[in_group])]
    columns = [in_group]
    values = [weight[in_group]]
    if elastic:
        row.append(np.arange(len(keys)))
        columns.append(_slack(m, "ldn_neutrality", names) + np.arange(len(keys)))
        values.append(np.ones(len(keys)))
    rows = Rows.from_entries(np.concatenate(row), np.concatenate(columns), np.concatenate(values),
                             scenario.ldn_target * group_area_ha, INF, len(keys))
    _add_rows(m, "ldn_neutrality", rows, "net LDN gain per land type [ha] ≥ target × area", m.LDN_GROUPS)


def add_energy_access(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> None:
    r"""Energy reaches households of a parcel's own community; the grid takes the rest.

    .. math::
        s_c \le \eta \sum_{i \in I_c} \sum_u e_{iu} x_{iu} \quad \forall c \in C

        \frac{1}{\eta}\sum_c s_c + g \le \sum_{iu} e_{iu} x_{iu}

    with :math:`s_c \le D_c` (the community's demand, a variable bound) and
    :math:`g \le G` (the grid's export capacity).
    """
    eta = scenario.delivery_efficiency
    n_communities = len(m.COMMUNITIES)
    producing = np.flatnonzero(coef.energy_mwh > 0)
    if n_communities:
        supplied = producing[coef.pair_community[producing] >= 0]
        rows = Rows.from_entries(
            np.concatenate([np.arange(n_communities), coef.pair_community[supplied]]),
            np.concatenate([_served_columns(m), supplied]),
            np.concatenate([np.ones(n_communities), -eta * coef.energy_mwh[supplied]]),
            -INF, 0.0, n_communities)
        _add_rows(m, "community_supply", rows, "delivery to a community ≤ η × its parcels' generation [MWh/yr]",
                  m.COMMUNITIES)
    rows = Rows.single(
        np.concatenate([[m.matrix_form.first_column("export")], producing, _served_columns(m)]),
        np.concatenate([[1.0], -coef.energy_mwh[producing], np.full(n_communities, 1.0 / eta)]),
        upper=0.0)
    _add_rows(m, "energy_balance", rows, "deliveries and export ≤ generation [MWh/yr]")


def add_food_floor(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario, elastic: bool = False) -> None:
    r"""Food security: the plan's harvest stays above a share of today's.

    .. math:: \sum_{iu} p_{iu} x_{iu} \ge \varphi P_0
    """
    if coef.baseline_productivity_t <= 0 or scenario.food_floor <= 0:
        return
    columns, values = np.arange(coef.n_pairs), coef.productivity_t
    body = m.productivity_t
    if elastic:
        slack = _slack(m, "food_floor")
        columns, values = np.append(columns, slack), np.append(values, 1.0)
        body = body + m.slack_food_floor
    floor_t = scenario.food_floor * coef.baseline_productivity_t
    rows = Rows.single(columns, values, lower=floor_t)
    _add_rows(m, "food_floor", rows, "harvest ≥ φ × today's [t DM/yr]", expressions=[_relation(floor_t, body, INF)])


def add_policy_caps(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario,
                    elastic_pv: bool = False, elastic_restored: bool = False) -> None:
    r"""Policy limits on the mix of uses.

    .. math::
        \sum_{i,\,u \in \{solar, agrivoltaic\}} A_i x_{iu} \le \sigma \sum_i A_i

        \sum_{i} A_i x_{i,restoration} \ge R_{min}
    """
    total_ha = float(coef.area_ha.sum())
    if scenario.max_pv_share < 1.0:
        pairs = np.flatnonzero(np.isin(coef.use, (SOLAR, AGRIVOLTAIC)))
        if pairs.size or elastic_pv:
            columns, values = [pairs], [coef.pair_area_ha[pairs]]
            if elastic_pv:
                columns.append(np.array([_slack(m, "pv_cap")]))
                values.append(np.array([-1.0]))
            rows = Rows.single(np.concatenate(columns), np.concatenate(values),
                               upper=scenario.max_pv_share * total_ha)
            _add_rows(m, "pv_cap", rows, "area under PV ≤ the largest share of the region [ha]")
    if scenario.min_restored_ha > 0:
        pairs = np.flatnonzero(coef.use == RESTORATION)
        columns, values = [pairs], [coef.pair_area_ha[pairs]]
        if elastic_restored:
            columns.append(np.array([_slack(m, "min_restored")]))
            values.append(np.array([1.0]))
        rows = Rows.single(np.concatenate(columns), np.concatenate(values), lower=scenario.min_restored_ha)
        _add_rows(m, "min_restored", rows, "restored area ≥ the least [ha]")


def add_plant_size(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> None:
    r"""A PV plant on a parcel is either absent or at least the smallest size (semicontinuous).

    .. math:: m\, y_j \le c_j x_j, \quad x_j \le y_j, \quad y_j \in \{0, 1\}
        \quad \forall j: u_j \in \{solar, agrivoltaic\}

    with :math:`c_j` the capacity of the whole parcel [MWp] and :math:`m` the smallest plant [MWp].
    """
    if scenario.min_plant_mwp <= 0:
        return
    pairs = np.flatnonzero(np.isin(coef.use, (SOLAR, AGRIVOLTAIC)))
    m.PV_PAIRS = pyo.Set(initialize=pairs.tolist(), ordered=True, doc="PV pairs")
    m.build = pyo.Var(m.PV_PAIRS, within=pyo.Binary, doc="a plant is built on the pair")
    build = m.matrix_form.add_variable("build", m.build) + np.arange(pairs.size)
    row = np.repeat(np.arange(pairs.size), 2)
    columns = np.column_stack([build, pairs]).ravel()
    minimum = np.column_stack([np.full(pairs.size, scenario.min_plant_mwp), -coef.capacity_mw[pairs]]).ravel()
    _add_rows(m, "plant_min", Rows.from_entries(row, columns, minimum, -INF, 0.0, pairs.size),
              "plant ≥ smallest size [MWp]", m.PV_PAIRS)
    switch = np.column_stack([np.ones(pairs.size), -np.ones(pairs.size)]).ravel()
    _add_rows(m, "plant_on", Rows.from_entries(row, np.column_stack([pairs, build]).ravel(), switch, -INF, 0.0,
                                               pairs.size), "a share only where a plant is built", m.PV_PAIRS)


def objective_terms(coef: Coefficients, scenario: Scenario) -> dict[str, float]:
    """The normalisers of the unit-free KPIs in the objective."""
    return {
        "demand_mwh": float(coef.demand_mwh.sum()),
        "max_delivery_mwh": coef.max_delivery_mwh,
        "baseline_productivity_t": coef.baseline_productivity_t,
        "cost_scale_usd": scenario.budget_usd if scenario.budget_usd > 0 else max(float(coef.cost_usd.max()), 1.0),
    }


def add_objective(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> None:
    r"""Maximise the weighted sum of unit-free KPIs, less a small cost tie-break.

    .. math::
        \max\; w_a \frac{\sum_c s_c}{\sum_c D_c}
        + w_e \frac{\sum_c s_c + g}{E_{max}}
        + w_p \frac{\sum_{iu} p_{iu} x_{iu}}{P_0}
        - w_k \frac{\sum_{iu} k_{iu} x_{iu} + \kappa \sum_c s_c}{B}

    :math:`E_{max}` is the most energy the region could usefully deliver: the
    lesser of its generation with every parcel under its most productive PV
    use and all demand plus the grid's export capacity; :math:`P_0` today's
    harvest.
    """
    norm = objective_terms(coef, scenario)
    served_coef = 0.0
    export_coef = 0.0
    if norm["demand_mwh"] > 0:
        served_coef += scenario.weight_access / norm["demand_mwh"]
    if norm["max_delivery_mwh"] > 0:
        served_coef += scenario.weight_energy / norm["max_delivery_mwh"]
        export_coef += scenario.weight_energy / norm["max_delivery_mwh"]
    harvest_coef = (scenario.weight_productivity / norm["baseline_productivity_t"]
                    if norm["baseline_productivity_t"] > 0 else 0.0)
    cost_coef = -scenario.weight_cost / norm["cost_scale_usd"]
    # the same objective as one dense row, summed term by term in the order the expression states it
    form: MatrixForm = m.matrix_form
    dense = np.zeros(len(form.columns))
    terms = []
    if harvest_coef:
        dense[:coef.n_pairs] += harvest_coef * coef.productivity_t
        terms.append(harvest_coef * m.productivity_t)
    if cost_coef:
        columns, values = _cost_entries(m, coef, scenario)
        dense[columns] += cost_coef * values
        terms.append(cost_coef * m.cost_usd)
    if export_coef:
        dense[form.first_column("export")] += export_coef
        terms.append(export_coef * m.export)
    if served_coef and len(m.COMMUNITIES):
        dense[_served_columns(m)] += served_coef
        terms.append(linear(np.full(len(m.COMMUNITIES), served_coef), list(m.served.values())))
    used = np.flatnonzero(dense)
    _set_objective(m, Rows.single(used, dense[used]), pyo.maximize, "weighted KPIs [-]",
                   body=sum(terms[1:], terms[0]) if terms else LinearExpression([]))


def add_least_relaxation(m: pyo.ConcreteModel) -> None:
    r"""Minimise the total relaxation of the elastic families, each slack relative to its scale.

    .. math:: \min \sum_k \sigma_k / \max(|b_k|, 1)

    with :math:`b_k` the right-hand side (the budget, the food floor, the caps)
    and, for LDN, the area of the land type, so that every relaxation counts
    as a share of what it relaxes.
    """
    form: MatrixForm = m.matrix_form
    columns: list[int] = []
    values: list[float] = []
    for name in ("budget", "food_floor", "pv_cap", "min_restored"):
        slack = m.component(f"slack_{name}")
        con = m.component(name)
        if slack is not None and con is not None:
            rhs = con.upper if con.upper is not None else con.lower
            columns.append(form.first_column(f"slack_{name}"))
            values.append(1.0 / max(abs(pyo.value(rhs)), 1.0))
    if m.component("slack_ldn_neutrality") is not None:
        first = form.first_column("slack_ldn_neutrality")
        for k, name in enumerate(m.LDN_GROUPS):
            columns.append(first + k)
            values.append(1.0 / max(m.ldn_group_area_ha[name], 1.0))
    _set_objective(m, Rows.single(np.array(columns, dtype=np.int64), np.array(values)), pyo.minimize,
                   "least scaled relaxation")
