r"""The constraint families: one builder per family, its maths in the docstring, and :data:`FAMILIES`.

Notation: parcels :math:`i \in I`, uses :math:`u \in U`, land types
:math:`t \in T`, communities :math:`c \in C`; :math:`A_i` parcel area [ha];
:math:`e_{iu}` energy [MWh/yr], :math:`p_{iu}` harvest [t/yr], :math:`k_{iu}`
cost [USD], :math:`q_{iu} \in \{-1, 0, 1\}` LDN status, all for the whole
parcel under use :math:`u` (:mod:`dualuse.model.coefficients`).  The variable
``x`` is indexed by the eligible (parcel, use) *pairs* ``0 … n_pairs − 1``
(``coef.parcel[j]``, ``coef.use[j]``): an ineligible pair has no variable.

A builder states its family's rows as arrays (:class:`FamilyRows`) and adds
nothing to the model but the variables only it uses;
:func:`dualuse.model.build.add_family` makes the Pyomo constraint from the
arrays, after giving every row an elastic slack when the family is to be
relaxed.  :data:`dualuse.model.family_table.FAMILIES` lists the families in
the order of their rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo

from dualuse.inputs.scenario import Scenario
from dualuse.model.access import access_floor
from dualuse.model.coefficients import Coefficients, land_type_name
from dualuse.model.kpis import export_column, served_columns
from dualuse.model.memo import kept
from dualuse.model.per_parcel import largest, smallest
from dualuse.model.rows import INF, MatrixForm, Rows
from dualuse.vocabulary import LAND_TYPES, USES

SOLAR = USES.index("solar")
AGRIVOLTAIC = USES.index("agrivoltaic")
RESTORATION = USES.index("restoration")
#: The name of the one LDN group when LDN is pooled over the region.
POOLED = "region"


@dataclass(frozen=True, eq=False)
class FamilyRows:
    """What a builder states: the rows, a doc, the index of an indexed family (a Pyomo set, in row
    order), and the named total whose expression is the body of its one row (its entries are that total's)."""

    rows: Rows
    doc: str
    index: Any = None
    total: str | None = None


@dataclass(frozen=True, eq=False)
class LdnGroups:
    """The groups within which LDN holds: names (land types, or ``region``), each parcel's group
    (−1 outside LDN: water, which SDG 15.3.1 leaves out, scope ``off``, or a group the plan cannot move)
    and each group's area [ha]; ``fixed`` lists the groups left out because no eligible use changes the
    counterbalancing class of any of their parcels, each as (name, area [ha], its balance [ha])."""

    names: list[str]
    parcel_group: np.ndarray
    area_ha: np.ndarray
    fixed: list[tuple[str, float, float]]


def ldn_groups(coef: Coefficients, scenario: Scenario) -> LdnGroups:
    """The LDN groups of the scenario's ``ldn_scope``: per land type, pooled over the region, or none.

    A group in which no plan can change any parcel's counterbalancing class
    (settlements, where only the current use is allowed) has a balance that
    is fixed before any choice: it is left out of the constraint, and its
    balance reported, rather than making every scenario infeasible by
    accident — neutrality there is not this plan's to give (Trends.Earth's
    counterbalancing reports a land type without gains or losses not at all).
    """
    return kept(coef, "ldn_groups", ("n_parcels", "land_type", "area_ha", "ldn_status"),
                lambda: _ldn_groups(coef, scenario.ldn_scope), extra=scenario.ldn_scope)


def _ldn_groups(coef: Coefficients, scope: str) -> LdnGroups:
    """:func:`ldn_groups` of the scope ``scope``, made afresh."""
    if scope == "off":
        return LdnGroups([], np.full(coef.n_parcels, -1, dtype=np.int64), np.zeros(0), [])
    by_type = scope == "land_type"
    code = np.where(coef.is_land, coef.land_type if by_type else 0, -1)
    balance_ha = coef.pair_area_ha * coef.ldn_status
    lowest = smallest(coef, balance_ha)
    highest = largest(coef, balance_ha)
    movable = lowest < highest
    keys, fixed = [], []
    for key in [k for k in np.unique(code).tolist() if k >= 0]:
        members = code == key
        if movable[members].any():
            keys.append(key)
        else:
            fixed.append((land_type_name(key) if by_type else POOLED, float(coef.area_ha[members].sum()),
                          float(lowest[members].sum())))
            code[members] = -1
    lookup = np.full(len(LAND_TYPES) + 1, -1, dtype=np.int64)
    lookup[keys] = np.arange(len(keys))
    area_ha = np.array([coef.area_ha[code == key].sum() for key in keys])
    names = [land_type_name(k) if by_type else POOLED for k in keys]
    return LdnGroups(names, lookup[code], area_ha, fixed)


# --------------------------------------------------------------------------- builders


def allocation(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> FamilyRows:
    r"""Every parcel is wholly allocated.

    .. math:: \sum_{u} x_{iu} = 1 \quad \forall i \in I
    """
    rows = Rows.from_entries(coef.parcel, np.arange(coef.n_pairs), np.ones(coef.n_pairs), 1.0, 1.0,
                             coef.n_parcels)
    return FamilyRows(rows, "shares of each parcel sum to 1", m.PARCELS)


def budget(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> FamilyRows:
    r"""Capital cost of actions and of delivery to communities within the budget.

    .. math:: \sum_{iu} k_{iu} x_{iu} + \kappa \sum_c s_c \le B

    with :math:`\kappa` the delivery cost [USD per MWh/yr] and :math:`B` the
    budget [USD]; the left side is the named total ``m.cost_usd``.
    """
    rows = m.matrix_form.total_rows("cost_usd").bounded(-INF, scenario.budget_usd)
    return FamilyRows(rows, "capital budget [USD]", total="cost_usd")


def ldn_neutrality(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> FamilyRows | None:
    r"""Land degradation neutrality: area improved minus area degraded, like for like.

    .. math::
        \sum_{i \in I_t} A_i \sum_u q_{iu} x_{iu} \ge \tau A_t \quad \forall t \in T

    per land type (scope ``land_type``), or once over the pooled region
    (scope ``region``); absent with scope ``off``.  :math:`\tau` is the net
    improvement target (0 = neutrality); :math:`q_{iu}` the counterbalancing
    class of the 7-class status (:mod:`dualuse.model.ldn`): +1 a gain, −1 a
    loss.  Water bodies are not land: SDG 15.3.1 leaves them out of the land
    area, and so does this constraint.  A group whose balance no plan can
    move is left out (:func:`ldn_groups`).
    """
    groups = ldn_groups(coef, scenario)
    if not groups.names:
        return None
    m.LDN_GROUPS = pyo.Set(initialize=groups.names, ordered=True, doc="groups within which LDN holds")
    rows = kept(coef, "ldn_rows", ("n_parcels", "land_type", "area_ha", "ldn_status"),
                lambda: _ldn_entries(coef, groups), extra=scenario.ldn_scope)
    return FamilyRows(rows.bounded(scenario.ldn_target * groups.area_ha, INF),
                      "net LDN gain per land type [ha] ≥ target × area", m.LDN_GROUPS)


def _ldn_entries(coef: Coefficients, groups: LdnGroups) -> Rows:
    """The LDN rows' entries, one row per group: each pair's area × counterbalancing class (bounds left open)."""
    pair_group = groups.parcel_group[coef.parcel]
    members = [np.flatnonzero(pair_group == k) for k in range(len(groups.names))]  # already in row order
    in_group = np.concatenate(members)
    return Rows.from_entries(np.repeat(np.arange(len(members)), [m.size for m in members]), in_group,
                             coef.pair_area_ha[in_group] * coef.ldn_status[in_group], -INF, INF, len(members))


def community_supply(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> FamilyRows | None:
    r"""Energy reaches households of a parcel's own community only.

    .. math:: s_c \le \eta \sum_{i \in I_c} \sum_u e_{iu} x_{iu} \quad \forall c \in C

    with :math:`s_c \le D_c` (the community's demand, a variable bound) and
    :math:`\eta` the delivery efficiency.
    """
    n_communities = coef.demand_mwh.size
    if not n_communities:
        return None
    producing = np.flatnonzero(coef.energy_mwh > 0)
    supplied = producing[coef.pair_community[producing] >= 0]
    rows = Rows.from_entries(
        np.concatenate([np.arange(n_communities), coef.pair_community[supplied]]),
        np.concatenate([served_columns(coef), supplied]),
        np.concatenate([np.ones(n_communities), -scenario.delivery_efficiency * coef.energy_mwh[supplied]]),
        -INF, 0.0, n_communities)
    return FamilyRows(rows, "delivery to a community ≤ η × its parcels' generation [MWh/yr]", m.COMMUNITIES)


def min_access(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> FamilyRows | None:
    r"""Fair access: every community with demand gets at least a share of it.

    .. math:: \frac{s_c}{D_c} \ge \min\Big(m, \frac{R_c}{D_c}\Big) \quad \forall c \in C: D_c > 0, R_c > 0

    with :math:`m` the floor (``min_access_share``), :math:`D_c` the
    community's demand and :math:`R_c` the most its own parcels can deliver
    (:func:`access_floor`).  The row is stated as a share of the demand, so
    its dual is the objective per unit share of that community's floor;
    absent when :math:`m = 0`.
    """
    floor = access_floor(coef, scenario)
    if not floor.community.size:
        return None
    ids = [coef.community_id[c] if coef.community_id else str(c) for c in floor.community.tolist()]
    m.ACCESS_FLOOR = pyo.Set(initialize=ids, ordered=True, doc="communities under the fairness floor")
    n_rows = floor.community.size
    rows = Rows.from_entries(np.arange(n_rows), served_columns(coef)[floor.community],
                             1.0 / coef.demand_mwh[floor.community], floor.share, INF, n_rows)
    return FamilyRows(rows, "delivery to a community / its demand ≥ the fairness floor", m.ACCESS_FLOOR)


def energy_balance(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> FamilyRows:
    r"""Deliveries (before their losses) and grid export within the region's generation.

    .. math:: \frac{1}{\eta}\sum_c s_c + g \le \sum_{iu} e_{iu} x_{iu}

    with :math:`g \le G` (the grid's export capacity, a variable bound).
    """
    producing = np.flatnonzero(coef.energy_mwh > 0)
    rows = Rows.single(
        np.concatenate([[export_column(coef)], producing, served_columns(coef)]),
        np.concatenate([[1.0], -coef.energy_mwh[producing],
                        np.full(coef.demand_mwh.size, 1.0 / scenario.delivery_efficiency)]),
        upper=0.0)
    return FamilyRows(rows, "deliveries and export ≤ generation [MWh/yr]")


def food_floor(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> FamilyRows | None:
    r"""Food security: the plan's harvest stays above a share of today's.

    .. math:: \sum_{iu} p_{iu} x_{iu} \ge \varphi P_0

    the left side being the named total ``m.productivity_t``; absent when
    :math:`\varphi = 0` or nothing is harvested today.
    """
    if coef.baseline_productivity_t <= 0 or scenario.food_floor <= 0:
        return None
    floor_t = scenario.food_floor * coef.baseline_productivity_t
    rows = m.matrix_form.total_rows("productivity_t").bounded(floor_t, INF)
    return FamilyRows(rows, "harvest ≥ φ × today's [t DM/yr]", total="productivity_t")


def pv_cap(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> FamilyRows | None:
    r"""Policy cap on the area under PV.

    .. math:: \sum_{i,\,u \in \{solar, agrivoltaic\}} A_i x_{iu} \le \sigma \sum_i A_i
    """
    if scenario.max_pv_share >= 1.0:
        return None
    pairs = np.flatnonzero(np.isin(coef.use, (SOLAR, AGRIVOLTAIC)))
    if not pairs.size:
        return None
    rows = Rows.single(pairs, coef.pair_area_ha[pairs], upper=scenario.max_pv_share * float(coef.area_ha.sum()))
    return FamilyRows(rows, "area under PV ≤ the largest share of the region [ha]")


def min_restored(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> FamilyRows | None:
    r"""Policy floor on the restored area.

    .. math:: \sum_{i} A_i x_{i,restoration} \ge R_{min}
    """
    if scenario.min_restored_ha <= 0:
        return None
    pairs = np.flatnonzero(coef.use == RESTORATION)
    rows = Rows.single(pairs, coef.pair_area_ha[pairs], lower=scenario.min_restored_ha)
    return FamilyRows(rows, "restored area ≥ the least [ha]")


def plant_min(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> FamilyRows | None:
    r"""A PV plant on a parcel is at least the smallest size, where it is built.

    .. math:: m\, y_j \le c_j x_j \quad \forall j: u_j \in \{solar, agrivoltaic\}, \qquad y_j \in \{0, 1\}

    with :math:`c_j` the capacity of the whole parcel [MWp] and :math:`m` the
    smallest plant [MWp].  Adds the switches :math:`y_j` (``m.build``) that
    :func:`plant_on` uses too.
    """
    if scenario.min_plant_mwp <= 0:
        return None
    pairs = np.flatnonzero(np.isin(coef.use, (SOLAR, AGRIVOLTAIC)))
    m.PV_PAIRS = pyo.Set(initialize=pairs.tolist(), ordered=True, doc="PV pairs")
    m.build = pyo.Var(m.PV_PAIRS, within=pyo.Binary, doc="a plant is built on the pair")
    build = m.matrix_form.add_variable("build", m.build) + np.arange(pairs.size)
    row = np.repeat(np.arange(pairs.size), 2)
    columns = np.column_stack([build, pairs]).ravel()
    minimum = np.column_stack([np.full(pairs.size, scenario.min_plant_mwp), -coef.capacity_mwp[pairs]]).ravel()
    return FamilyRows(Rows.from_entries(row, columns, minimum, -INF, 0.0, pairs.size),
                      "plant ≥ smallest size [MWp]", m.PV_PAIRS)


def plant_on(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> FamilyRows | None:
    r"""A PV share only where a plant is built (semicontinuous PV, with :func:`plant_min`).

    .. math:: x_j \le y_j \quad \forall j: u_j \in \{solar, agrivoltaic\}
    """
    if m.component("build") is None:
        return None
    form: MatrixForm = m.matrix_form
    pairs = np.asarray(list(m.PV_PAIRS), dtype=np.int64)
    build = form.first_column("build") + np.arange(pairs.size)
    row = np.repeat(np.arange(pairs.size), 2)
    switch = np.column_stack([np.ones(pairs.size), -np.ones(pairs.size)]).ravel()
    return FamilyRows(Rows.from_entries(row, np.column_stack([pairs, build]).ravel(), switch, -INF, 0.0, pairs.size),
                      "a share only where a plant is built", m.PV_PAIRS)
