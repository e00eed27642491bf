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
relaxed.  :data:`FAMILIES` says, for each family in the order of its rows,
its builder, whether it keeps the LP's shape (one allocation row per parcel
and a few coupling rows), how it is relaxed to explain infeasibility, how
its dual reads as a shadow price, and the words the explanation uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo

from dualuse.inputs.scenario import Scenario
from dualuse.model.access import access_floor
from dualuse.model.coefficients import Coefficients, land_type_name
from dualuse.model.kpis import export_column, served_columns
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
    if scenario.ldn_scope == "off":
        return LdnGroups([], np.full(coef.n_parcels, -1, dtype=np.int64), np.zeros(0), [])
    by_type = scenario.ldn_scope == "land_type"
    code = np.where(coef.is_land, coef.land_type if by_type else 0, -1)
    balance_ha = coef.pair_area_ha * coef.ldn_status
    lowest = np.full(coef.n_parcels, np.inf)
    highest = np.full(coef.n_parcels, -np.inf)
    np.minimum.at(lowest, coef.parcel, balance_ha)
    np.maximum.at(highest, coef.parcel, balance_ha)
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
    pair_group = groups.parcel_group[coef.parcel]
    in_group = np.flatnonzero(pair_group >= 0)
    rows = Rows.from_entries(pair_group[in_group], in_group, (coef.pair_area_ha * coef.ldn_status)[in_group],
                             scenario.ldn_target * groups.area_ha, INF, len(groups.names))
    return FamilyRows(rows, "net LDN gain per land type [ha] ≥ target × area", m.LDN_GROUPS)


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
    pairs = np.flatnonzero(np.isin(coef.use, (SOLAR, AGRIVOLTAIC)))
    if scenario.max_pv_share >= 1.0 or not pairs.size:
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



# --------------------------------------------------------------------------- THE FAMILIES TABLE


@dataclass(frozen=True)
class Alternative:
    """Another setting of another parameter that may make the scenario feasible: ``parameter``, when it
    is ``applies``, tried at ``value``; ``works`` and ``fails`` are the words for either outcome."""

    parameter: str
    applies: str
    value: str
    works: str
    fails: str


@dataclass(frozen=True)
class Relaxation:
    """How a family gives way when the infeasibility explanation relaxes it.

    ``slack`` is the elastic slack's sign in each row: +1 adds to the body of a
    ≥ row, −1 comes off the body of a ≤ row.  ``parameter`` is the scenario
    parameter whose value sets the rows' bound, ``per_unit(coef, scenario)``
    how far one unit of it moves each row's bound (so that a relaxation σ is
    the parameter moved by σ / per_unit), and ``measure`` what a relaxation
    is a share of: ``"bound"`` (the row's own bound: a share of the budget)
    or ``"per_unit"`` (LDN: a share of the land type's area, as τ may be 0).
    ``unit`` is the slack's unit; ``digits`` the decimals of a suggested value
    of the parameter (0: a whole number).  ``alternative`` is another setting
    worth trying when the family is in the conflict.
    """

    slack: int
    parameter: str
    per_unit: Callable[[Coefficients, Scenario], np.ndarray | float]
    measure: str
    unit: str
    digits: int
    alternative: Alternative | None = None

    def scale(self, rows: Rows, coef: Coefficients, scenario: Scenario) -> np.ndarray:
        """Per row, what a relaxation of it is measured against (before the floor of 1)."""
        if self.measure == "bound":
            return np.abs(rows.active_bound())
        return np.broadcast_to(np.asarray(self.per_unit(coef, scenario), dtype=float), (rows.n_rows,))


@dataclass(frozen=True)
class Dual:
    """How the LP dual of a family's row reads as a shadow price: the objective gained per unit it is relaxed.

    HiGHS's row dual is the change of the objective per unit increase of the
    row's active bound.  Relaxing a ≤ row raises its bound and relaxing a ≥
    row lowers it, so ``sign`` is +1 for a ≤ row and −1 for a ≥ row, and every
    shadow price is ≥ 0 at an optimum.  ``per(coef)`` is how many of the
    row's units make one unit of the price (USD 1 M, 1 % of today's harvest);
    ``{group}`` in the name and meaning stands for the row of an indexed family.
    """

    name: str
    unit: str
    meaning: str
    sign: int
    per: Callable[[Coefficients], float]

    def value(self, dual: float, coef: Coefficients) -> float:
        return self.sign * dual * self.per(coef)


@dataclass(frozen=True)
class Words:
    """The words the infeasibility explanation uses for a family (templates for ``str.format``).

    ``name`` names the family; for a family of several rows, ``row`` names
    one of them (``{group}``: its group), ``whole`` the one row over the
    pooled region, ``others`` the family's other rows together.  ``short``
    says what falls short when the family alone gives way, ``relaxed`` the
    least relaxation as a fix, ``fix`` the parameter changed alone,
    ``stuck`` why no plan moves a row.  Their fields: ``amount`` (the
    relaxation in its unit), ``current``, ``suggested`` (rounded toward
    feasibility), ``value`` (the suggested value to 4 decimals),
    ``measure`` (what the relaxation is measured against), ``requirement``,
    ``allow``, ``under``, ``meeting`` and ``reason`` (the other requirements
    in the way).
    """

    name: str
    row: str = ""
    whole: str = ""
    others: str = ""
    short: str = ""
    relaxed: str = ""
    fix: str = ""
    stuck: str = ""


@dataclass(frozen=True)
class ConstraintFamily:
    """One entry of :data:`FAMILIES`.

    ``structure`` says what the family does to the LP's shape, for the
    structured solver: ``"allocation"`` (the one row per parcel),
    ``"coupling"`` (a few aggregate rows over the pairs, deliveries and
    export), or ``"breaks"`` (rows or integer columns that break the shape:
    such a model goes to the generic solver).
    """

    name: str
    builder: Callable[[pyo.ConcreteModel, Coefficients, Scenario], FamilyRows | None]
    structure: str
    words: Words
    relaxation: Relaxation | None = None
    dual: Dual | None = None


def _one(coef: Coefficients, scenario: Scenario) -> float:
    return 1.0


def _group_area_ha(coef: Coefficients, scenario: Scenario) -> np.ndarray:
    return ldn_groups(coef, scenario).area_ha


def _baseline_harvest_t(coef: Coefficients, scenario: Scenario) -> float:
    return coef.baseline_productivity_t


def _region_area_ha(coef: Coefficients, scenario: Scenario) -> float:
    return float(coef.area_ha.sum())


def _usd_million(coef: Coefficients) -> float:
    return 1e6


def _unit(coef: Coefficients) -> float:
    return 1.0


def _percent_of_harvest_t(coef: Coefficients) -> float:
    return coef.baseline_productivity_t / 100.0


#: Every constraint family, in the order of its rows in the model (``allocation`` first: row i is parcel i).
FAMILIES: tuple[ConstraintFamily, ...] = (
    ConstraintFamily("allocation", allocation, "allocation", Words("every parcel wholly allocated")),
    ConstraintFamily(
        "budget", budget, "coupling",
        Words("the budget",
              short="{meeting} costs {amount} more than the budget",
              relaxed="the budget is {amount} short: raise budget_usd from {current} to at least {suggested}",
              fix="raise the budget by at least {amount} (budget_usd from {current} to {suggested} or more)"),
        Relaxation(slack=-1, parameter="budget_usd", per_unit=_one, measure="bound", unit="USD", digits=0),
        Dual(name="budget", unit="objective per USD 1 M", meaning="objective gained by each extra USD 1 M of budget",
             sign=+1, per=_usd_million)),
    ConstraintFamily(
        "ldn_neutrality", ldn_neutrality, "coupling",
        Words("land degradation neutrality", row="LDN in land type '{group}'", whole="LDN over the region",
              others="LDN in the other land types",
              short="{requirement} needs {amount} more net gain {allow}{reason}",
              relaxed="{requirement} needs {amount} more net gain than the plan can reach: it reaches {value} "
                      "of its {measure} against ldn_target = {current}",
              fix="lower ldn_target from {current} to {suggested} or below",
              stuck="no use allowed there changes its LDN status"),
        Relaxation(slack=+1, parameter="ldn_target", per_unit=_group_area_ha, measure="per_unit", unit="ha", digits=4,
                   alternative=Alternative("ldn_scope", "land_type", POOLED,
                               "set ldn_scope=region, to balance gains and losses over the whole region instead "
                               "of within each land type",
                               "ldn_scope=region (LDN pooled over the region) does not make it feasible either")),
        Dual(name="ldn_{group}", unit="objective per ha",
             meaning="objective gained per ha less net LDN gain required in {group}", sign=-1, per=_unit)),
    ConstraintFamily("community_supply", community_supply, "coupling", Words("delivery to each community")),
    ConstraintFamily(
        "min_access", min_access, "coupling",
        Words("the fairness floor", row="the fairness floor of community '{group}'",
              whole="the fairness floor", others="the fairness floor of the other communities",
              short="{requirement} falls {amount} short{under}",
              relaxed="{requirement} is {amount} out of reach: lower min_access_share from {current} to "
                      "{suggested} or below",
              fix="lower min_access_share from {current} to {suggested} or below"),
        Relaxation(slack=+1, parameter="min_access_share", per_unit=_one, measure="per_unit",
                   unit="share of demand", digits=4),
        Dual(name="min_access_{group}", unit="objective per unit share",
             meaning="objective gained per unit lower share of its demand guaranteed to community {group}",
             sign=-1, per=_unit)),
    ConstraintFamily("energy_balance", energy_balance, "coupling", Words("the energy balance"),
                     dual=Dual(name="energy_balance", unit="objective per MWh/yr",
                               meaning="objective gained per extra MWh/yr generated", sign=+1, per=_unit)),
    ConstraintFamily(
        "food_floor", food_floor, "coupling",
        Words("the food-security floor",
              short="the harvest falls {amount} short of the food-security floor{under}",
              relaxed="the harvest falls {amount} short of the food floor: lower food_floor from {current} to "
                      "{suggested} or below",
              fix="lower food_floor from {current} to {suggested} or below"),
        Relaxation(slack=+1, parameter="food_floor", per_unit=_baseline_harvest_t, measure="bound", unit="t DM/yr",
                   digits=4),
        Dual(name="food_floor", unit="objective per 1 % of today's harvest",
             meaning="objective gained per percentage point lower food floor", sign=-1, per=_percent_of_harvest_t)),
    ConstraintFamily(
        "pv_cap", pv_cap, "coupling",
        Words("the cap on PV area",
              short="the cap on PV area is {amount} too tight{under}",
              relaxed="the PV cap is {amount} too tight: raise max_pv_share to {suggested}",
              fix="raise max_pv_share from {current} to {suggested} or more"),
        Relaxation(slack=-1, parameter="max_pv_share", per_unit=_region_area_ha, measure="bound", unit="ha", digits=4)),
    ConstraintFamily(
        "min_restored", min_restored, "coupling",
        Words("the least restored area",
              short="{amount} of the least restored area are out of reach{under}",
              relaxed="{amount} of the required restoration cannot be reached: lower min_restored_ha from "
                      "{current} to {suggested} or below",
              fix="lower min_restored_ha from {current} to {suggested} or below"),
        Relaxation(slack=+1, parameter="min_restored_ha", per_unit=_one, measure="bound", unit="ha", digits=0)),
    ConstraintFamily("plant_min", plant_min, "breaks", Words("the smallest plant size")),
    ConstraintFamily("plant_on", plant_on, "breaks", Words("PV only where a plant is built")),
)

FAMILY: dict[str, ConstraintFamily] = {f.name: f for f in FAMILIES}

#: The grid's export capacity is the upper bound of the export column, not a row: its shadow price is the
#: column dual (reduced cost) of ``export`` while the export is at that bound, and 0 otherwise.
GRID_EXPORT_DUAL = Dual(name="grid_export", unit="objective per MWh/yr",
                        meaning="objective gained per extra MWh/yr of grid export capacity (grid_export_mwh)",
                        sign=+1, per=_unit)

#: The families the infeasibility explanation may relax (those with a :class:`Relaxation`).
ELASTIC_FAMILIES: tuple[str, ...] = tuple(f.name for f in FAMILIES if f.relaxation is not None)


def requirement(family: str, group: Any = None) -> str:
    """A family's row in planner words: "LDN in land type 'bare'", "LDN over the region", "the budget"."""
    words = FAMILY[family].words
    if not words.row:
        return words.name
    return words.whole if group is None or group == POOLED else words.row.format(group=group)
