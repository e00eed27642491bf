"""The table of constraint families: :data:`FAMILIES`, and what each family's entry says.

For each family, in the order of its rows in the model: its builder
(:mod:`dualuse.model.families` and the modules of the families added since),
whether it keeps the LP's shape (one allocation row per parcel and a few
coupling rows), how it is relaxed to explain infeasibility, how its dual
reads as a shadow price, and the words the explanation uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo

from dualuse.inputs.scenario import Scenario
from dualuse.model.coefficients import Coefficients
from dualuse.model.connectivity import boundary_above, boundary_below
from dualuse.model.families import (
    POOLED,
    FamilyRows,
    allocation,
    budget,
    community_supply,
    energy_balance,
    food_floor,
    ldn_groups,
    ldn_neutrality,
    min_access,
    min_restored,
    plant_min,
    plant_on,
    pv_cap,
)
from dualuse.model.drought import drought_cvar, drought_cvar_tail, drought_expected, drought_floor
from dualuse.model.livelihoods import jobs_floor, livelihood_floor
from dualuse.model.rows import Rows


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


def _percentage_point(coef: Coefficients) -> float:
    return 0.01


def _drought_words(name: str, row: str = "", whole: str = "", others: str = "") -> Words:
    return Words(name, row=row, whole=whole, others=others,
                 short="{requirement} falls {amount} short{under}",
                 relaxed="{requirement} is {amount} out of reach: lower drought_food_floor from {current} to "
                         "{suggested} or below",
                 fix="lower drought_food_floor from {current} to {suggested} or below")


def _drought_relaxation() -> Relaxation:
    return Relaxation(slack=+1, parameter="drought_food_floor", per_unit=_one, measure="per_unit",
                      unit="share of the drought year's harvest today", digits=4)



def _community_floor(name: str, builder: Callable[..., FamilyRows | None], parameter: str, floor: str, unit: str,
                     dual_unit: str, meaning: str, per: Callable[[Coefficients], float]) -> ConstraintFamily:
    """A family ``name`` of one floor row per community, set by the scenario's ``parameter``: its words, its
    relaxation (``parameter`` lowered, measured in ``unit``) and its dual per community (``meaning``, per
    ``per``)."""
    return ConstraintFamily(
        name, builder, "coupling",
        Words(floor, row=f"{floor} of community '{{group}}'", whole=floor, others=f"{floor} of the other communities",
              short="{requirement} falls {amount} short{under}",
              relaxed=f"{{requirement}} is {{amount}} out of reach: lower {parameter} from {{current}} to "
                      "{suggested} or below",
              fix=f"lower {parameter} from {{current}} to {{suggested}} or below"),
        Relaxation(slack=+1, parameter=parameter, per_unit=_one, measure="per_unit", unit=unit, digits=4),
        Dual(name=f"{name}_{{group}}", unit=dual_unit, meaning=meaning, sign=-1, per=per))


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
    _community_floor("min_access", min_access, "min_access_share", "the fairness floor", "share of demand",
                     "objective per unit share",
                     "objective gained per unit lower share of its demand guaranteed to community {group}", _unit),
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
    ConstraintFamily(
        "drought_floor", drought_floor, "coupling",
        _drought_words("the drought food floor", row="the drought food floor in drought year '{group}'",
                       whole="the drought food floor", others="the drought food floor in the other drought years"),
        _drought_relaxation(),
        Dual(name="drought_floor_{group}", unit="objective per 1 % of the year's harvest today",
             meaning="objective gained per percentage point lower drought food floor in drought year {group}",
             sign=-1, per=_percentage_point)),
    ConstraintFamily(
        "drought_expected", drought_expected, "coupling",
        _drought_words("the expected drought food floor"), _drought_relaxation(),
        Dual(name="drought_expected", unit="objective per 1 % of the years' harvest today",
             meaning="objective gained per percentage point lower floor on the drought years' expected harvest "
                     "ratio", sign=-1, per=_percentage_point)),
    ConstraintFamily(
        "drought_cvar", drought_cvar, "coupling",
        _drought_words("the drought food floor on the worst years (CVaR)"), _drought_relaxation(),
        Dual(name="drought_cvar", unit="objective per 1 % of the years' harvest today",
             meaning="objective gained per percentage point lower floor on the mean harvest ratio of the worst "
                     "cvar_alpha of the drought years", sign=-1, per=_percentage_point)),
    ConstraintFamily("drought_cvar_tail", drought_cvar_tail, "coupling",
                     Words("the drought years' shortfall below the worst-years quantile"),
                     dual=Dual(name="drought_tail_{group}", unit="objective per unit harvest ratio",
                               meaning="objective gained per unit more harvest ratio in drought year {group}: above "
                                       "0 only for the years in the worst cvar_alpha share, which bind",
                               sign=-1, per=_unit)),
    _community_floor("livelihood_floor", livelihood_floor, "livelihood_floor", "the livelihood floor", "share of today's income",
                     "objective per 1 % of today's income",
                     "objective gained per percentage point lower share of today's land-based income kept by "
                     "community {group}", _percentage_point),
    _community_floor("jobs_floor", jobs_floor, "jobs_floor", "the jobs floor", "share of today's jobs",
                     "objective per 1 % of today's jobs",
                     "objective gained per percentage point lower share of today's jobs kept by community {group}",
                     _percentage_point),
    ConstraintFamily("restoration_boundary_above", boundary_above, "breaks",
                     Words("the boundary of restoration, one side of each shared edge")),
    ConstraintFamily("restoration_boundary_below", boundary_below, "breaks",
                     Words("the boundary of restoration, the other side of each shared edge")),
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
