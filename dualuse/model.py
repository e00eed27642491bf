r"""The Pyomo formulation: one function per constraint family, its maths in the docstring.

Notation: parcels :math:`i \in I`, uses :math:`u \in U`, land types
:math:`t \in T`, communities :math:`c \in C`; :math:`A_i` parcel area [ha];
:math:`e_{iu}` energy [MWh/yr], :math:`p_{iu}` harvest [t/yr], :math:`k_{iu}`
cost [USD], :math:`q_{iu} \in \{-1, 0, 1\}` LDN status, all for the whole
parcel under use :math:`u` (:mod:`dualuse.coefficients`).

The variable ``x`` is indexed by the eligible (parcel, use) *pairs*
``0 … n_pairs − 1`` (``coef.parcel[j]``, ``coef.use[j]``): an ineligible pair
has no variable at all.  Row bodies are built from the coefficient arrays as
``LinearExpression`` objects, not from indexed ``Param`` rules, which keeps
construction close to the cost of the solver's own work (FACTS.md).

The model stays an ordinary ``ConcreteModel``: inspect it, add constraints to
it, or write it with ``m.write("plan.lp")``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from dualuse.catalogue import USES
from dualuse.coefficients import Coefficients, land_type_name
from dualuse.region import LAND_TYPES
from dualuse.scenario import Scenario

#: The aggregate constraint families that the infeasibility explanation may relax.
ELASTIC_FAMILIES: tuple[str, ...] = ("budget", "ldn_neutrality", "food_floor", "pv_cap", "min_restored")

SOLAR = USES.index("solar")
AGRIVOLTAIC = USES.index("agrivoltaic")
RESTORATION = USES.index("restoration")


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
    m = pyo.ConcreteModel(name="dualuse")
    m.elastic_families = elastic
    add_variables(m, coef, scenario)
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
    return m


# --------------------------------------------------------------------------- helpers


def linear(coefs: Iterable[float], variables: Sequence[pyo.Var]) -> LinearExpression:
    """Σ coefs · variables as one LinearExpression (no intermediate sum expressions)."""
    return LinearExpression(constant=0.0, linear_coefs=[float(c) for c in coefs], linear_vars=list(variables))


def _pair_vars(m: pyo.ConcreteModel, pairs: np.ndarray) -> list[pyo.Var]:
    x = m.x
    return [x[j] for j in pairs.tolist()]


def _slack(m: pyo.ConcreteModel, name: str, index: Sequence[int] | None = None) -> pyo.Var:
    """A non-negative slack variable registered with its scale for the least-relaxation objective."""
    var = pyo.Var(index, within=pyo.NonNegativeReals) if index is not None else pyo.Var(
        within=pyo.NonNegativeReals)
    m.add_component(f"slack_{name}", var)
    return var


# --------------------------------------------------------------------------- families


def add_variables(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> None:
    r"""Shares :math:`x_j \in [0, 1]` of each eligible pair (binary in ``whole`` mode),
    deliveries :math:`s_c \in [0, D_c]` [MWh/yr] and grid export :math:`g \in [0, G]` [MWh/yr]."""
    m.PAIRS = pyo.RangeSet(0, coef.n_pairs - 1, doc="eligible (parcel, use) pairs")
    m.PARCELS = pyo.RangeSet(0, coef.n_parcels - 1, doc="parcels")
    m.COMMUNITIES = pyo.RangeSet(0, coef.demand_mwh.size - 1, doc="communities")
    domain = pyo.Binary if scenario.mode == "whole" else pyo.UnitInterval
    m.x = pyo.Var(m.PAIRS, within=domain, doc="share of the parcel under the use [-]")
    m.served = pyo.Var(m.COMMUNITIES, within=pyo.NonNegativeReals,
                       bounds=lambda m, c: (0.0, float(coef.demand_mwh[c])),
                       doc="energy delivered to the community's households [MWh/yr]")
    m.export = pyo.Var(within=pyo.NonNegativeReals, bounds=(0.0, scenario.grid_export_mwh),
                       doc="energy sent to the grid [MWh/yr]")


def add_allocation(m: pyo.ConcreteModel, coef: Coefficients) -> None:
    r"""Every parcel is wholly allocated.

    .. math:: \sum_{u} x_{iu} = 1 \quad \forall i \in I
    """
    starts = np.searchsorted(coef.parcel, np.arange(coef.n_parcels + 1)).tolist()
    x = m.x

    def rule(m: pyo.ConcreteModel, i: int) -> tuple[float, LinearExpression, float]:
        lo, hi = starts[i], starts[i + 1]
        return (1.0, LinearExpression(constant=0.0, linear_coefs=[1.0] * (hi - lo),
                                      linear_vars=[x[j] for j in range(lo, hi)]), 1.0)

    m.allocation = pyo.Constraint(m.PARCELS, rule=rule, doc="shares of each parcel sum to 1")


def add_budget(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario, elastic: bool = False) -> None:
    r"""Capital cost of actions and of delivery to communities within the budget.

    .. math:: \sum_{iu} k_{iu} x_{iu} + \kappa \sum_c s_c \le B

    with :math:`\kappa` the delivery cost [USD per MWh/yr] and :math:`B` the budget [USD].
    """
    paid = np.flatnonzero(coef.cost_usd)
    body = linear(coef.cost_usd[paid], _pair_vars(m, paid))
    if len(m.COMMUNITIES) and scenario.delivery_cost_usd_mwh > 0:
        body += linear([scenario.delivery_cost_usd_mwh] * len(m.COMMUNITIES), list(m.served.values()))
    if elastic:
        body -= _slack(m, "budget")
    m.budget = pyo.Constraint(expr=body <= scenario.budget_usd, doc="capital budget [USD]")


def add_ldn_neutrality(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario,
                       elastic: bool = False) -> None:
    r"""Land degradation neutrality: area improved minus area degraded, like for like.

    .. math::
        \sum_{i \in I_t} A_i \sum_u q_{iu} x_{iu} \ge \tau A_t \quad \forall t \in T

    per land type (scope ``land_type``), or once over the pooled region
    (scope ``region``); absent with scope ``off``.  :math:`\tau` is the net
    improvement target (0 = neutrality).  Water bodies are not land: SDG
    15.3.1 leaves them out of the land area, and so does this constraint.
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
    m.LDN_GROUPS = pyo.Set(initialize=[land_type_name(k) if scenario.ldn_scope == "land_type" else "region"
                                       for k in keys], ordered=True, doc="groups within which LDN holds")
    weight = coef.pair_area_ha * coef.ldn_status
    slack = _slack(m, "ldn_neutrality", list(m.LDN_GROUPS)) if elastic else None
    names = list(m.LDN_GROUPS)
    m.ldn_group_area_ha = {name: float(coef.area_ha[parcel_groups == key].sum()) for name, key in zip(names, keys)}

    def rule(m: pyo.ConcreteModel, name: str) -> object:
        key = keys[names.index(name)]
        in_group = groups == key
        pairs = np.flatnonzero(in_group & (weight != 0))
        if pairs.size == 0:  # no use changes the balance: keep the row, so that a positive target is infeasible
            pairs = np.flatnonzero(in_group)[:1]
        body = linear(weight[pairs], _pair_vars(m, pairs))
        if slack is not None:
            body += slack[name]
        return body >= scenario.ldn_target * m.ldn_group_area_ha[name]

    m.ldn_neutrality = pyo.Constraint(m.LDN_GROUPS, rule=rule,
                                      doc="net LDN gain per land type [ha] ≥ target × area")


def add_energy_access(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> None:
    r"""Energy reaches households of a parcel's own community; the grid takes the rest.

    .. math::
        s_c \le \eta \sum_{i \in I_c} \sum_u e_{iu} x_{iu} \quad \forall c \in C

        \frac{1}{\eta}\sum_c s_c + g \le \sum_{iu} e_{iu} x_{iu}

    with :math:`s_c \le D_c` (the community's demand, a variable bound) and
    :math:`g \le G` (the grid's export capacity).
    """
    eta = scenario.delivery_efficiency
    producing = np.flatnonzero(coef.energy_mwh > 0)
    if len(m.COMMUNITIES):
        community = coef.pair_community[producing]
        order = np.argsort(community, kind="stable")
        bounds = np.searchsorted(community[order], np.arange(len(m.COMMUNITIES) + 1)).tolist()

        def supply(m: pyo.ConcreteModel, c: int) -> object:
            pairs = producing[order[bounds[c]:bounds[c + 1]]]
            if pairs.size == 0:
                return m.served[c] <= 0
            return m.served[c] - linear(eta * coef.energy_mwh[pairs], _pair_vars(m, pairs)) <= 0

        m.community_supply = pyo.Constraint(m.COMMUNITIES, rule=supply,
                                            doc="delivery to a community ≤ η × its parcels' generation [MWh/yr]")
    body = m.export - linear(coef.energy_mwh[producing], _pair_vars(m, producing))
    if len(m.COMMUNITIES):
        body += linear([1.0 / eta] * len(m.COMMUNITIES), list(m.served.values()))
    m.energy_balance = pyo.Constraint(expr=body <= 0, doc="deliveries and export ≤ generation [MWh/yr]")


def add_food_floor(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario, elastic: bool = False) -> None:
    r"""Food security: the plan's harvest stays above a share of today's.

    .. math:: \sum_{iu} p_{iu} x_{iu} \ge \varphi P_0
    """
    if coef.baseline_productivity_t <= 0 or scenario.food_floor <= 0:
        return
    pairs = np.flatnonzero(coef.productivity_t)
    body = linear(coef.productivity_t[pairs], _pair_vars(m, pairs))
    if elastic:
        body += _slack(m, "food_floor")
    m.food_floor = pyo.Constraint(expr=body >= scenario.food_floor * coef.baseline_productivity_t,
                                  doc="harvest ≥ φ × today's [t DM/yr]")


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
        body = linear(coef.pair_area_ha[pairs], _pair_vars(m, pairs))
        if elastic_pv:
            body -= _slack(m, "pv_cap")
        if pairs.size or elastic_pv:
            m.pv_cap = pyo.Constraint(expr=body <= scenario.max_pv_share * total_ha,
                                      doc="area under PV ≤ the largest share of the region [ha]")
    if scenario.min_restored_ha > 0:
        pairs = np.flatnonzero(coef.use == RESTORATION)
        body = linear(coef.pair_area_ha[pairs], _pair_vars(m, pairs))
        if elastic_restored:
            body += _slack(m, "min_restored")
        m.min_restored = pyo.Constraint(expr=body >= scenario.min_restored_ha, doc="restored area ≥ the least [ha]")


def add_plant_size(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> None:
    r"""A PV plant on a parcel is either absent or at least the smallest size (semicontinuous).

    .. math:: m\, y_j \le c_j x_j, \quad x_j \le y_j, \quad y_j \in \{0, 1\}
        \quad \forall j: u_j \in \{solar, agrivoltaic\}

    with :math:`c_j` the capacity of the whole parcel [MWp] and :math:`m` the smallest plant [MWp].
    """
    if scenario.min_plant_mwp <= 0:
        return
    pairs = np.flatnonzero(np.isin(coef.use, (SOLAR, AGRIVOLTAIC))).tolist()
    m.PV_PAIRS = pyo.Set(initialize=pairs, ordered=True, doc="PV pairs")
    m.build = pyo.Var(m.PV_PAIRS, within=pyo.Binary, doc="a plant is built on the pair")
    m.plant_min = pyo.Constraint(m.PV_PAIRS, rule=lambda m, j: scenario.min_plant_mwp * m.build[j]
                                 - float(coef.capacity_mw[j]) * m.x[j] <= 0, doc="plant ≥ smallest size [MWp]")
    m.plant_on = pyo.Constraint(m.PV_PAIRS, rule=lambda m, j: m.x[j] - m.build[j] <= 0,
                                doc="a share only where a plant is built")


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
    pair_coef = np.zeros(coef.n_pairs)
    served_coef = 0.0
    export_coef = 0.0
    if norm["demand_mwh"] > 0:
        served_coef += scenario.weight_access / norm["demand_mwh"]
    if norm["max_delivery_mwh"] > 0:
        served_coef += scenario.weight_energy / norm["max_delivery_mwh"]
        export_coef += scenario.weight_energy / norm["max_delivery_mwh"]
    if norm["baseline_productivity_t"] > 0:
        pair_coef += scenario.weight_productivity * coef.productivity_t / norm["baseline_productivity_t"]
    pair_coef -= scenario.weight_cost * coef.cost_usd / norm["cost_scale_usd"]
    served_coef -= scenario.weight_cost * scenario.delivery_cost_usd_mwh / norm["cost_scale_usd"]
    pairs = np.flatnonzero(pair_coef)
    body = linear(pair_coef[pairs], _pair_vars(m, pairs)) + export_coef * m.export
    if len(m.COMMUNITIES):
        body += linear([served_coef] * len(m.COMMUNITIES), list(m.served.values()))
    m.objective = pyo.Objective(expr=body, sense=pyo.maximize, doc="weighted KPIs [-]")


def add_least_relaxation(m: pyo.ConcreteModel) -> None:
    r"""Minimise the total relaxation of the elastic families, each slack relative to its scale.

    .. math:: \min \sum_k \sigma_k / \max(|b_k|, 1)

    with :math:`b_k` the right-hand side (the budget, the food floor, the caps)
    and, for LDN, the area of the land type, so that every relaxation counts
    as a share of what it relaxes.
    """
    terms = []
    for name in ("budget", "food_floor", "pv_cap", "min_restored"):
        slack = m.component(f"slack_{name}")
        con = m.component(name)
        if slack is not None and con is not None:
            rhs = con.upper if con.upper is not None else con.lower
            terms.append(slack / max(abs(pyo.value(rhs)), 1.0))
    slack = m.component("slack_ldn_neutrality")
    if slack is not None:
        for name in m.LDN_GROUPS:
            terms.append(slack[name] / max(m.ldn_group_area_ha[name], 1.0))
    m.objective = pyo.Objective(expr=sum(terms), sense=pyo.minimize, doc="least scaled relaxation")
