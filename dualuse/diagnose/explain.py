r"""Pre-solve checks, and the explanation of an infeasible scenario in policy terms.

Before a solve, :func:`presolve_checks` looks at the coefficients and the
scenario together, in the spirit of prioritizr's presolve check: a
requirement that no plan can meet is an error (the scenario is certainly
infeasible; ``solve`` exits 3 without solving), a setting that will hurt
the solver or make a parameter meaningless is a warning.  Each finding says
how to fix it.  The bounds are computed, not guessed:

- the most net LDN gain, harvest or restored area is every parcel under
  the use that gives most of it;
- the least cost of a requirement :math:`\sum_j v_j x_j \ge T` (with every
  parcel wholly allocated) is the value of its Lagrangian dual
  :math:`\max_{\lambda \ge 0} \lambda T + \sum_i \min_{u} (k_{iu} - \lambda v_{iu})`,
  which equals the LP's least cost (the allocation rows have the
  integrality property) and is a lower bound at every :math:`\lambda`; it is
  maximised by bisection on its supergradient, vectorised over land types.

After a solve that HiGHS proves infeasible, :func:`explain_infeasibility`
says which requirements conflict and how far each policy parameter would
have to move:

1. *which*: one irreducible set of conflicting requirements (budget, LDN per
   land type, food floor, caps) — HiGHS's IIS (``iis_strategy`` 2, from the
   LP) narrows the rows on LPs of up to :data:`IIS_MAX_PARCELS` parcels, then
   a deletion filter over the aggregate rows, the parcel rows always kept,
   makes it irreducible (one interior-point run per requirement);
2. *how far*: for each policy parameter alone, the least move that makes the
   scenario feasible with everything else unchanged — an elastic re-solve
   with a penalised slack on that requirement only (for ``ldn_target``, one
   slack proportional to each land type's area, since τ is one number for
   all land types), and whether ``ldn_scope = "region"`` would do;
3. the least combined relaxation of all requirements, each relative to its
   scale.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.common.errors import InfeasibleConstraintException

from dualuse.vocabulary import USES
from dualuse.model.coefficients import Coefficients
from dualuse.model.build import ELASTIC_FAMILIES, RESTORATION, build_model
from dualuse.vocabulary import LAND_TYPES
from dualuse.inputs.region import Region
from dualuse.inputs.schema import Problem
from dualuse.inputs.scenario import Scenario
from dualuse.solve.highs import INF, compile_model, highs_options, solve_model

#: Coefficients above this (in any row) make HiGHS's tolerances meaningless.
LARGE_COEFFICIENT = 1e12
#: Coefficients below this are near HiGHS's small_matrix_value (1e-9), under which they are dropped.
SMALL_COEFFICIENT = 1e-6
#: A row whose largest and smallest coefficients differ by more than this factor loses precision.
WIDE_RANGE = 1e10
#: HiGHS's IIS narrows the conflict only on models up to this many parcels: it took 0.45 s at 1,000 parcels,
#: 4.5 s at 5,000 and 98 s at 20,000, and does not heed its time limit (benchmarks/bench_checks.py).
IIS_MAX_PARCELS = 2_000
#: The deletion filter runs on models up to this many parcels: one solve per requirement, 4 s in all at
#: 20,000 parcels and 38 s at 100,000 (benchmarks/bench_checks.py); above it the requirements in conflict
#: are read from the relaxations instead (those that fix the scenario alone are in every conflict).
CONFLICT_MAX_PARCELS = 50_000
#: Relative tolerance under which a slack or a shortfall counts as zero.
TOLERANCE = 1e-7

_FAMILY_TEXT = {
    "budget": "the budget",
    "ldn_neutrality": "land degradation neutrality",
    "food_floor": "the food-security floor",
    "pv_cap": "the cap on PV area",
    "min_restored": "the least restored area",
}
#: The scenario parameter that moves each requirement.
_FAMILY_PARAMETER = {
    "budget": "budget_usd",
    "ldn_neutrality": "ldn_target",
    "food_floor": "food_floor",
    "pv_cap": "max_pv_share",
    "min_restored": "min_restored_ha",
}


# --------------------------------------------------------------------------- findings


@dataclass(frozen=True)
class Finding:
    """One result of a pre-solve check.

    ``severity`` is ``"error"`` when the scenario is certainly infeasible, else
    ``"warning"``; ``suggested`` is the value of ``parameter`` that the check
    computed as the bound (the fix), when there is one.
    """

    severity: str
    check: str
    parameter: str
    message: str
    fix: str
    group: str | None = None
    current: float | None = None
    suggested: float | None = None
    ids: tuple[Any, ...] = ()
    count: int = 0

    def to_problem(self) -> Problem:
        """The finding as a :class:`~dualuse.inputs.schema.Problem` of layer ``scenario``."""
        return Problem(self.severity, "scenario", self.parameter, self.message, self.fix, self.ids,
                       self.count or len(self.ids))

    def to_dict(self) -> dict[str, Any]:
        constraint = {p: f for f, p in _FAMILY_PARAMETER.items()}.get(self.parameter, self.check)
        return {"kind": "presolve", "check": self.check, "constraint": constraint, "severity": self.severity,
                "parameter": self.parameter, "group": self.group, "current": self.current, "suggested": self.suggested,
                "message": self.message, "fix": self.fix, "ids": [_plain(i) for i in self.ids],
                "count": self.count or len(self.ids)}


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _requirement(family: str, group: Any = None) -> str:
    """A requirement in planner words: "LDN in land type 'bare'", "the budget"."""
    if family == "ldn_neutrality":
        return "LDN over the region" if group in (None, "region") else f"LDN in land type '{group}'"
    return _FAMILY_TEXT[family]


def _join(items: list[str]) -> str:
    items = list(dict.fromkeys(items))
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# --------------------------------------------------------------------------- per-parcel helpers


def _starts(coef: Coefficients) -> np.ndarray:
    """Index of each parcel's first pair (pairs are grouped by parcel; every parcel has one: current)."""
    return np.searchsorted(coef.parcel, np.arange(coef.n_parcels))


def ldn_groups(coef: Coefficients, scenario: Scenario) -> tuple[list[str], np.ndarray]:
    """The LDN groups as :func:`dualuse.model.build.add_ldn_neutrality` forms them.

    Returns their names (land types, or ``region``) and each parcel's group
    index, −1 outside LDN (water, which SDG 15.3.1 leaves out, or scope ``off``).
    """
    water = LAND_TYPES.index("water")
    land = coef.land_type != water
    if scenario.ldn_scope == "off" or not land.any():
        return [], np.full(coef.n_parcels, -1, dtype=np.int64)
    if scenario.ldn_scope == "region":
        return ["region"], np.where(land, 0, -1).astype(np.int64)
    codes = np.unique(coef.land_type[land])
    lookup = np.full(len(LAND_TYPES), -1, dtype=np.int64)
    lookup[codes] = np.arange(codes.size)
    return [LAND_TYPES[c] for c in codes], lookup[coef.land_type]


def most_per_parcel(coef: Coefficients, value: np.ndarray) -> np.ndarray:
    """Per parcel, the most of a per-pair ``value`` that any one of its eligible uses gives."""
    return np.maximum.reduceat(value, _starts(coef))


def least_cost_usd(coef: Coefficients, value: np.ndarray, parcel_group: np.ndarray, target: np.ndarray,
                   iterations: int = 60) -> np.ndarray:
    r"""Per group, a lower bound on the cost [USD] of reaching :math:`\sum_{j \in g} v_j x_j \ge T_g`.

    The Lagrangian dual :math:`\max_\lambda \lambda T + \sum_i \min_u (k_{iu} - \lambda v_{iu})`
    of the requirement with the allocation rows, maximised by bisection on
    its supergradient (every λ tried gives a valid bound; the best is kept).
    ``inf`` where the target is beyond reach, 0 where today's uses meet it for free.

    Parameters
    ----------
    value : ndarray — per pair, what the pair contributes to the requirement
    parcel_group : ndarray of int — per parcel, its group (−1: outside every group)
    target : ndarray — per group, the right-hand side :math:`T_g`
    """
    n_groups = target.size
    starts = _starts(coef)
    pair_group = parcel_group[coef.parcel]
    inside = parcel_group >= 0
    group_of_parcel = np.where(inside, parcel_group, 0)
    reach = np.bincount(group_of_parcel[inside], weights=most_per_parcel(coef, value)[inside], minlength=n_groups)
    scale = np.maximum(np.abs(target), 1.0)
    out = np.full(n_groups, np.inf)
    reachable = reach >= target - TOLERANCE * scale
    if not reachable.any():
        return out

    def evaluate(lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lam_pair = np.where(pair_group >= 0, lam[np.maximum(pair_group, 0)], 0.0)
        score = coef.cost_usd - lam_pair * value
        best = np.minimum.reduceat(score, starts)
        at_best = score <= best[coef.parcel]
        value_at = np.maximum.reduceat(np.where(at_best, value, -np.inf), starts)
        bound = lam * target + np.bincount(group_of_parcel[inside], weights=best[inside], minlength=n_groups)
        slope = target - np.bincount(group_of_parcel[inside], weights=value_at[inside], minlength=n_groups)
        return bound, slope

    lo = np.zeros(n_groups)
    best_bound, slope = evaluate(lo)
    hi = np.ones(n_groups)
    rising = reachable & (slope > 0)
    for _ in range(80):  # bracket: grow hi until the supergradient turns
        if not rising.any():
            break
        bound, slope_hi = evaluate(hi)
        best_bound = np.maximum(best_bound, bound)
        still = rising & (slope_hi > 0)
        lo = np.where(still, hi, lo)
        hi = np.where(still, hi * 16.0, hi)
        rising = still
    active = reachable & (slope > 0)
    for _ in range(iterations):
        if not active.any():
            break
        mid = np.where((lo > 0) & (hi > 1e3 * lo), np.sqrt(np.maximum(lo, 1e-300) * hi), 0.5 * (lo + hi))
        bound, slope_mid = evaluate(mid)
        best_bound = np.maximum(best_bound, bound)
        up = slope_mid > 0
        lo = np.where(active & up, mid, lo)
        hi = np.where(active & ~up, mid, hi)
    out[reachable] = np.maximum(best_bound[reachable], 0.0)
    return out


# --------------------------------------------------------------------------- pre-solve checks


def presolve_checks(coef: Coefficients, scenario: Scenario, region: Region | None = None) -> list[Finding]:
    """Every pre-solve finding for this scenario on this region, errors first.

    Errors are requirements that no plan can meet (LDN target, food floor,
    least restored area beyond reach; a budget below the least cost of a
    requirement); warnings are coefficient ranges that will hurt the solver,
    a budget that buys no action or never binds, communities with demand
    that no parcel can supply, and no parcel that can host the smallest plant.
    """
    findings: list[Finding] = []
    findings += _check_ldn(coef, scenario)
    findings += _check_food(coef, scenario)
    findings += _check_restoration(coef, scenario)
    findings += _check_budget(coef, scenario, region, findings)
    findings += _check_communities(coef, scenario, region)
    findings += _check_plant_size(coef, scenario)
    findings += _check_coefficients(coef, scenario, region)
    return sorted(findings, key=lambda f: f.severity != "error")


def _ldn_reach(coef: Coefficients, scenario: Scenario) -> dict[str, Any]:
    names, group = ldn_groups(coef, scenario)
    gain = coef.pair_area_ha * coef.ldn_status
    inside = group >= 0
    n = len(names)
    area = np.bincount(group[inside], weights=coef.area_ha[inside], minlength=n)
    most = np.bincount(group[inside], weights=most_per_parcel(coef, gain)[inside], minlength=n)
    current = coef.use == USES.index("current")
    today = np.bincount(group[coef.parcel[current & inside[coef.parcel]]],
                        weights=gain[current & inside[coef.parcel]], minlength=n)
    return {"names": names, "group": group, "gain": gain, "area": area, "most": most, "today": today}


def _check_ldn(coef: Coefficients, scenario: Scenario) -> list[Finding]:
    reach = _ldn_reach(coef, scenario)
    names, area, most = reach["names"], reach["area"], reach["most"]
    if not names:
        return []
    need = scenario.ldn_target * area
    short = most < need - TOLERANCE * np.maximum(area, 1.0)
    if not short.any():
        return []
    tau_max = float(np.min(most / np.where(area > 0, area, 1.0)))
    pooled_share = most.sum() / area.sum() if area.sum() > 0 else 0.0
    region_hint = ""
    if scenario.ldn_scope == "land_type" and pooled_share >= scenario.ldn_target:
        region_hint = (f", or set ldn_scope=region to balance gains and losses over the whole region (pooled, "
                       f"at most {pooled_share:.4f} of its area can be gained, before the budget)")
    out = []
    group = reach["group"]
    for k in np.flatnonzero(short):
        name = names[k]
        in_group = group[coef.parcel] == k
        changes = (reach["gain"][in_group] != reach["gain"][in_group].min()).any() if in_group.any() else False
        uses = sorted({USES[u] for u in np.unique(coef.use[in_group])}, key=USES.index)
        why = ("" if changes else
               f" no use allowed there changes its LDN status (eligible: {', '.join(uses)}), so its balance "
               f"stays at today's {reach['today'][k]:,.0f} ha;")
        where = _requirement("ldn_neutrality", name)
        out.append(Finding(
            "error", "ldn_reachable", "ldn_target",
            f"{where} cannot reach ldn_target = {scenario.ldn_target:g}:{why} even with every parcel under the "
            f"use that gains most, its net gain is at most {most[k]:,.0f} ha ({most[k] / area[k]:.4f} of its "
            f"{area[k]:,.0f} ha) against {need[k]:,.0f} ha required",
            f"lower ldn_target to {_floor(tau_max)} or below (further if the budget binds too){region_hint}",
            group=name, current=scenario.ldn_target, suggested=tau_max))
    return out


def _check_food(coef: Coefficients, scenario: Scenario) -> list[Finding]:
    p0 = coef.baseline_productivity_t
    if p0 <= 0 or scenario.food_floor <= 0:
        return []
    most = float(most_per_parcel(coef, coef.productivity_t).sum())
    if most >= scenario.food_floor * p0 * (1 - TOLERANCE):
        return []
    share = most / p0
    return [Finding(
        "error", "food_reachable", "food_floor",
        f"the food-security floor asks for {scenario.food_floor:g} × today's harvest ({scenario.food_floor * p0:,.0f} "
        f"t DM/yr), but even with every parcel under its most productive use the region harvests at most "
        f"{most:,.0f} t DM/yr ({share:.4f} × today's)",
        f"lower food_floor to {_floor(share)} or below (further if the budget or LDN bind too)",
        current=scenario.food_floor, suggested=share)]


def _check_restoration(coef: Coefficients, scenario: Scenario) -> list[Finding]:
    if scenario.min_restored_ha <= 0:
        return []
    restorable = coef.use == RESTORATION
    area = float(coef.pair_area_ha[restorable].sum())
    if area >= scenario.min_restored_ha * (1 - TOLERANCE):
        return []
    excluded = np.ones(coef.n_parcels, dtype=bool)
    excluded[coef.parcel[restorable]] = False
    kinds = sorted({LAND_TYPES[t] for t in np.unique(coef.land_type[excluded])})
    return [Finding(
        "error", "restoration_reachable", "min_restored_ha",
        f"min_restored_ha asks for {scenario.min_restored_ha:,.0f} ha of restoration, but only {area:,.0f} ha "
        f"may be restored: the catalogue, protection or slope rule it out on {excluded.sum():,} parcel(s) "
        f"({float(coef.area_ha[excluded].sum()):,.0f} ha; land types {', '.join(kinds) or 'none'})",
        f"lower min_restored_ha to {math.floor(area):,} or below (further if the budget binds too), or allow "
        "restoration on more land in the catalogue",
        current=scenario.min_restored_ha, suggested=area)]


def _check_budget(coef: Coefficients, scenario: Scenario, region: Region | None,
                  earlier: list[Finding]) -> list[Finding]:
    out: list[Finding] = []
    budget = scenario.budget_usd
    # least cost of each requirement alone; requirements already out of reach are reported above
    costs: dict[str, float] = {}
    per_type: dict[str, float] = {}
    if scenario.ldn_scope != "off":
        reach = _ldn_reach(coef, scenario)
        if reach["names"]:
            lb = least_cost_usd(coef, reach["gain"], reach["group"], scenario.ldn_target * reach["area"])
            if np.isfinite(lb).all():
                costs["ldn_neutrality"] = float(lb.sum())
                per_type = {n: float(v) for n, v in zip(reach["names"], lb) if v > 0}
    if scenario.food_floor > 0 and coef.baseline_productivity_t > 0:
        lb = least_cost_usd(coef, coef.productivity_t, np.zeros(coef.n_parcels, dtype=np.int64),
                            np.array([scenario.food_floor * coef.baseline_productivity_t]))
        if np.isfinite(lb[0]):
            costs["food_floor"] = float(lb[0])
    if scenario.min_restored_ha > 0:
        restored = np.where(coef.use == RESTORATION, coef.pair_area_ha, 0.0)
        lb = least_cost_usd(coef, restored, np.zeros(coef.n_parcels, dtype=np.int64),
                            np.array([scenario.min_restored_ha]))
        if np.isfinite(lb[0]):
            costs["min_restored"] = float(lb[0])
    for family, cost in costs.items():
        if cost > budget * (1 + 1e-6) + 1.0:
            detail = ""
            if family == "ldn_neutrality" and per_type:
                top = sorted(per_type.items(), key=lambda kv: -kv[1])[:4]
                detail = " (" + ", ".join(f"'{n}' {_usd(v)}" for n, v in top) + ")"
            what = ("LDN in every land type" if family == "ldn_neutrality" and scenario.ldn_scope == "land_type"
                    else _requirement(family))
            out.append(Finding(
                "error", "budget_covers_requirement", "budget_usd",
                f"{what} costs at least {_usd(cost)}{detail} with the cheapest mix of uses, every other "
                f"requirement left aside, but the budget is {_usd(budget)}",
                f"raise budget_usd by at least {_usd(cost - budget, up=True)}, to {_ceil(cost)} or more, or "
                f"lower {_FAMILY_PARAMETER[family]}", current=budget, suggested=cost))
    paid = (coef.cost_usd > 0) & (coef.use != USES.index("current"))
    if paid.any():
        j = int(np.flatnonzero(paid)[np.argmin(coef.cost_usd[paid])])
        cheapest = float(coef.cost_usd[j])
        parcel = region.parcel_id[coef.parcel[j]] if region is not None else int(coef.parcel[j])
        if budget < cheapest:
            whole = scenario.mode == "whole"
            out.append(Finding(
                "warning", "budget_buys_action", "budget_usd",
                f"the budget (USD {budget:,.0f}) is below the cost of the cheapest whole-parcel action (USD "
                f"{cheapest:,.0f}: {USES[coef.use[j]]} on parcel {parcel}): "
                + ("in whole-parcel mode no action fits, so every paid action is ruled out" if whole else
                   f"it pays for at most {budget / cheapest:.1%} of that parcel"),
                "raise budget_usd, or check its unit (USD, not USD M)", current=budget, suggested=cheapest))
        most = float(np.maximum.reduceat(coef.cost_usd, _starts(coef)).sum())
        most += scenario.delivery_cost_usd_mwh * float(coef.demand_mwh.sum())
        if budget > most * (1 + 1e-9) and most > 0:
            out.append(Finding(
                "warning", "budget_binds", "budget_usd",
                f"the budget ({_usd(budget)}) exceeds the cost of the costliest possible plan "
                f"({_usd(most)}), so it never binds: its shadow price is 0, and the cost tie-break "
                "(weight_cost × cost / budget) weakens as the budget grows",
                f"lower budget_usd to {_ceil(most)} for the same plans with a proper tie-break, or check its unit",
                current=budget, suggested=most))
    return out


def _check_communities(coef: Coefficients, scenario: Scenario, region: Region | None) -> list[Finding]:
    n = coef.demand_mwh.size
    if n == 0:
        return []
    producing = (coef.energy_mwh > 0) & (coef.pair_community >= 0)
    has_pv = np.bincount(coef.pair_community[producing], minlength=n) > 0
    has_parcel = np.bincount(coef.community[coef.community >= 0], minlength=n) > 0
    out = []
    for mask, why, fix in (
            (~has_parcel, "no parcel names them in community_id",
             "set community_id on the parcels that can supply them, or drop them from 'communities'"),
            (has_parcel & ~has_pv, "none of their parcels may carry PV (land type, protection or slope rule it out)",
             "check their parcels' land types, slopes and protection, or link them to other parcels")):
        stranded = mask & (coef.demand_mwh > 0)
        if not stranded.any():
            continue
        ids = (tuple(region.communities["community_id"].to_numpy()[stranded][:5]) if region is not None
               else tuple(np.flatnonzero(stranded)[:5].tolist()))
        out.append(Finding(
            "warning", "community_supply", "",
            f"{stranded.sum()} community(ies) with {coef.households[stranded].sum():,.0f} unserved households "
            f"({coef.demand_mwh[stranded].sum():,.0f} MWh/yr) cannot be served: {why}",
            fix, ids=ids, count=int(stranded.sum())))
    return out


def _check_plant_size(coef: Coefficients, scenario: Scenario) -> list[Finding]:
    if scenario.min_plant_mwp <= 0:
        return []
    pv = coef.capacity_mw > 0
    if not pv.any() or (coef.capacity_mw[pv] >= scenario.min_plant_mwp).any():
        return []
    largest = float(coef.capacity_mw[pv].max())
    return [Finding(
        "warning", "plant_size", "min_plant_mwp",
        f"no parcel can host a plant of min_plant_mwp = {scenario.min_plant_mwp:g} MWp: the largest a whole "
        f"parcel takes is {largest:.3g} MWp, so the plan has no PV",
        f"lower min_plant_mwp to {largest:.3g} or below", current=scenario.min_plant_mwp, suggested=largest)]


def _check_coefficients(coef: Coefficients, scenario: Scenario, region: Region | None) -> list[Finding]:
    """Matrix coefficients of each aggregate row family that will hurt HiGHS, with the likely unit slip."""
    gain = np.abs(coef.pair_area_ha * coef.ldn_status)
    families = (
        ("budget", coef.cost_usd, "USD", "budget_usd",
         "check the catalogue's capex units (capex_usd_ha per ha, capex_usd_mwp per MWp) and "
         "grid_cost_usd_mw_km; very small costs come from slivers"),
        ("ldn_neutrality", gain, "ha", "",
         "parcel areas drive these: merge slivers, and split parcels larger than a district"),
        ("food_floor", coef.productivity_t, "t DM/yr", "",
         "check productivity_t_ha is in t per ha per year (not kg), and merge slivers"),
        ("energy", coef.energy_mwh, "MWh/yr", "",
         "check pv_yield_kwh_kwp is a yearly total in kWh/kWp (not Wh), and merge slivers"),
    )
    out = []
    for family, values, unit, parameter, fix in families:
        nonzero = np.abs(values[values != 0])
        if nonzero.size == 0:
            continue
        low, high = float(nonzero.min()), float(nonzero.max())
        problems = []
        if high > LARGE_COEFFICIENT:
            problems.append(f"values up to {high:.3g} {unit}")
        if low < SMALL_COEFFICIENT:
            problems.append(f"values down to {low:.3g} {unit} (HiGHS drops values under 1e-9)")
        if high / low > WIDE_RANGE:
            problems.append(f"a range of {high / low:.2g} between its largest and smallest value")
        if not problems:
            continue
        j = np.flatnonzero(np.abs(values) == (high if high > LARGE_COEFFICIENT else low))[:1]
        ids = tuple(region.parcel_id[coef.parcel[j]]) if region is not None and j.size else ()
        name = _FAMILY_TEXT.get(family, "the energy balance")
        out.append(Finding(
            "warning", "coefficient_range", parameter,
            f"the coefficients of {name} have {' and '.join(problems)}: HiGHS works to a relative tolerance of "
            "about 1e-7, so the plan may be imprecise or the solve may fail",
            fix, ids=ids, count=len(ids)))
    if scenario.budget_usd > LARGE_COEFFICIENT:
        out.append(Finding("warning", "coefficient_range", "budget_usd",
                           f"budget_usd = {scenario.budget_usd:.3g} is beyond what HiGHS handles precisely",
                           "give the budget in USD; it is probably in another currency unit",
                           current=scenario.budget_usd))
    if coef.demand_mwh.size and coef.demand_mwh.max() > LARGE_COEFFICIENT:
        out.append(Finding("warning", "coefficient_range", "",
                           f"a community's demand of {coef.demand_mwh.max():.3g} MWh/yr is beyond what HiGHS "
                           "handles precisely", "check unserved_households and household_kwh_yr (kWh, not Wh)"))
    return out


def _floor(value: float, digits: int = 4) -> str:
    """A bound to lower a parameter to, rounded down so that the rounded value still works."""
    scale = 10 ** digits
    return f"{math.floor(value * scale + 1e-9) / scale + 0.0:g}"


def _ceil(value: float) -> str:
    return f"{math.ceil(value):,}"


def _usd(value: float, up: bool = False) -> str:
    """An amount of money for a sentence: USD 1.24 M, or USD 25,014 below a million (rounded up if ``up``)."""
    if abs(value) >= 1e6:
        millions = math.ceil(value / 1e4) / 100 if up else value / 1e6
        return f"USD {millions:,.2f} M"
    return f"USD {math.ceil(value) if up else round(value):,}"


# --------------------------------------------------------------------------- explaining infeasibility


def _relaxations(coef: Coefficients, scenario: Scenario, elastic: frozenset[str],
                 time_limit_s: float | None = None) -> list[dict[str, Any]] | None:
    """Solve the elastic model; the nonzero relaxations in policy terms, or None if still infeasible."""
    m = build_model(coef, scenario, elastic=elastic)
    result = solve_model(m, coef, scenario, time_limit_s)
    if not result.status.has_plan:
        return None
    out: list[dict[str, Any]] = []
    for family in ELASTIC_FAMILIES:
        slack = m.component(f"slack_{family}")
        if slack is None:
            continue
        for index, var in slack.items():
            amount = float(var.value or 0.0)
            group = index if slack.is_indexed() else None
            if amount > 1e-6 * max(1.0, _scale(m, family, group)):
                out.append(_describe(family, group, amount, m, coef, scenario))
    return out


def _scale(m: pyo.ConcreteModel, family: str, group: Any) -> float:
    if family == "ldn_neutrality":
        return float(m.ldn_group_area_ha[group])
    con = m.component(family)
    rhs = con.upper if con.upper is not None else con.lower
    return abs(float(pyo.value(rhs)))


def _describe(family: str, group: Any, amount: float, m: pyo.ConcreteModel, coef: Coefficients,
              scenario: Scenario) -> dict[str, Any]:
    """One relaxation as data and as a sentence a planner can act on."""
    item: dict[str, Any] = {"constraint": family, "group": group, "relaxation": amount,
                            "requirement": _requirement(family, group)}
    if family == "budget":
        item.update(unit="USD", parameter="budget_usd", current=scenario.budget_usd,
                    suggested=scenario.budget_usd + amount,
                    message=f"the budget is {_usd(amount, up=True)} short: raise budget_usd from "
                            f"{scenario.budget_usd:,.0f} to at least {_ceil(scenario.budget_usd + amount)}")
    elif family == "ldn_neutrality":
        area = m.ldn_group_area_ha[group]
        target = scenario.ldn_target - amount / area
        item.update(unit="ha", parameter="ldn_target", current=scenario.ldn_target, suggested=target,
                    message=f"{_requirement(family, group)} needs {amount:,.0f} ha more net gain than the plan can "
                            f"reach: it reaches {target:.4f} of its {area:,.0f} ha against ldn_target = "
                            f"{scenario.ldn_target:g}")
    elif family == "food_floor":
        p0 = coef.baseline_productivity_t
        floor = scenario.food_floor - amount / p0
        item.update(unit="t DM/yr", parameter="food_floor", current=scenario.food_floor, suggested=floor,
                    message=f"the harvest falls {amount:,.0f} t DM/yr short of the food floor: lower food_floor "
                            f"from {scenario.food_floor:g} to {_floor(floor)} or below")
    elif family == "pv_cap":
        total = float(coef.area_ha.sum())
        share = scenario.max_pv_share + amount / total
        item.update(unit="ha", parameter="max_pv_share", current=scenario.max_pv_share, suggested=share,
                    message=f"the PV cap is {amount:,.0f} ha too tight: raise max_pv_share to {share:.4f}")
    elif family == "min_restored":
        need = scenario.min_restored_ha - amount
        item.update(unit="ha", parameter="min_restored_ha", current=scenario.min_restored_ha, suggested=need,
                    message=f"{amount:,.0f} ha of the required restoration cannot be reached: lower "
                            f"min_restored_ha from {scenario.min_restored_ha:,.0f} to {math.floor(need):,} or below")
    return item


def _uniform_ldn_relaxation(coef: Coefficients, scenario: Scenario, time_limit_s: float | None = None
                            ) -> float | None:
    """The least δ such that ldn_target − δ is feasible, everything else unchanged (None: no δ will do)."""
    m = build_model(coef, scenario, elastic=frozenset({"ldn_neutrality"}))
    if m.component("slack_ldn_neutrality") is None:
        return None
    m.del_component(m.objective)
    m.ldn_relaxation = pyo.Var(within=pyo.NonNegativeReals, doc="uniform lowering of ldn_target [-]")
    m.ldn_uniform = pyo.Constraint(
        m.LDN_GROUPS, rule=lambda m, g: m.slack_ldn_neutrality[g] - m.ldn_group_area_ha[g] * m.ldn_relaxation <= 0,
        doc="each land type relaxed by the same share of its area")
    m.objective = pyo.Objective(expr=m.ldn_relaxation, sense=pyo.minimize)
    result = solve_model(m, coef, scenario, time_limit_s)
    if not result.status.has_plan:
        return None
    return max(float(m.ldn_relaxation.value or 0.0), 0.0)


def _stuck_reason(item: dict[str, Any], coef: Coefficients, scenario: Scenario) -> dict[str, str]:
    """For an LDN group in which no eligible use changes the LDN status: why no plan can move it."""
    if item["constraint"] != "ldn_neutrality":
        return {}
    reach = _ldn_reach(coef, scenario)
    k = reach["names"].index(item["group"]) if item["group"] in reach["names"] else -1
    if k < 0 or reach["most"][k] > reach["today"][k] + TOLERANCE * max(reach["area"][k], 1.0):
        return {}
    in_group = reach["group"][coef.parcel] == k
    uses = sorted({USES[u] for u in np.unique(coef.use[in_group])}, key=USES.index)
    return {"reason": f"no use allowed there changes its LDN status; eligible: {', '.join(uses)}"}


def _feasible(coef: Coefficients, scenario: Scenario, time_limit_s: float | None = None) -> bool:
    m = build_model(coef, scenario)
    return solve_model(m, coef, scenario, time_limit_s).status.has_plan


def conflicting_requirements(coef: Coefficients, scenario: Scenario,
                             time_limit_s: float | None = None) -> list[tuple[str, Any]] | None:
    """One irreducible set of requirements that cannot all hold, as (family, group) pairs.

    The parcel rows (every parcel wholly allocated) and the variable bounds
    always hold; the aggregate requirements are the candidates.  On an LP of
    at most :data:`IIS_MAX_PARCELS` parcels, HiGHS's IIS (strategy 2, from
    the LP) first narrows them; then a deletion filter drops each candidate
    in turn and keeps it only if the rest become feasible without it.
    Returns None when the conflict is not computed: a model larger than
    :data:`CONFLICT_MAX_PARCELS` parcels, a row that is infeasible on its
    own, or a solver that stops undecided.
    """
    if coef.n_parcels > CONFLICT_MAX_PARCELS:
        return None
    m = build_model(coef, scenario)
    try:
        compiled = compile_model(m, coef.n_pairs, coef.n_parcels)
    except InfeasibleConstraintException:
        return None
    lp = compiled.lp
    lp.col_cost_ = np.zeros(lp.num_col_)  # feasibility only
    lp.offset_ = 0.0
    rows = compiled.rows
    family_of = {r: rows[r].constraint.parent_component().local_name for r in range(compiled.n_parcels, len(rows))}
    candidates = [r for r, family in family_of.items() if family in ELASTIC_FAMILIES]
    if not candidates:
        return None
    limit = float(time_limit_s if time_limit_s is not None else scenario.time_limit_s) or INF
    deadline = time.perf_counter() + (limit if math.isfinite(limit) else 1e9)
    h = highspy.Highs()
    # the solve's own options: on this LP, interior point told feasibility apart in 0.6 s at 20,000 parcels,
    # where dual simplex took 17 s (and 50 s again after each relaxed row)
    for key, value in highs_options(scenario, compiled.is_mip, limit).items():
        h.setOptionValue(key, value)
    h.passModel(lp)
    if not compiled.is_mip and coef.n_parcels <= IIS_MAX_PARCELS:
        h.setOptionValue("iis_strategy", 2)
        h.setOptionValue("time_limit", max(1.0, deadline - time.perf_counter()))
        status, iis = h.getIis()
        if status == highspy.HighsStatus.kOk and iis.valid_:
            in_iis = set(int(r) for r in iis.row_index_)
            narrowed = [r for r in candidates if r in in_iis]
            if narrowed:
                candidates = narrowed
    lower = np.asarray(lp.row_lower_, dtype=float)
    upper = np.asarray(lp.row_upper_, dtype=float)
    for r in family_of:
        if r not in candidates:
            h.changeRowBounds(r, -INF, INF)

    def infeasible() -> bool | None:
        h.setOptionValue("time_limit", max(0.1, deadline - time.perf_counter()))
        h.run()
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible:
            return True
        if status == highspy.HighsModelStatus.kOptimal:
            return False
        return None

    if infeasible() is not True:
        for r in family_of:  # the narrowed set did not conflict on its own: use every requirement
            h.changeRowBounds(r, lower[r], upper[r])
        candidates = [r for r, family in family_of.items() if family in ELASTIC_FAMILIES]
        if infeasible() is not True:
            return None
    keep = []
    for r in candidates:
        h.changeRowBounds(r, -INF, INF)
        if infeasible() is True:
            continue  # the rest conflict without it
        h.changeRowBounds(r, lower[r], upper[r])
        keep.append(r)
    out = []
    for r in keep:
        con = rows[r].constraint
        out.append((family_of[r], con.index() if con.parent_component().is_indexed() else None))
    return out


def explain_infeasibility(coef: Coefficients, scenario: Scenario,
                          time_limit_s: float | None = None) -> list[dict[str, Any]]:
    """Which requirements conflict, and how far each policy parameter must move.

    Returns a list of plain-data items, each with a ``kind``:

    - ``conflict``: one requirement of an irreducible conflicting set (``constraint``, ``group``, ``requirement``);
    - ``alone``: how far a requirement falls short when it alone gives way, the others kept
      (``relaxation``, ``unit``, ``message``);
    - ``fix``: one parameter changed alone, the rest unchanged: ``parameter``, ``current``, ``suggested``
      (None and ``feasible`` false when no value of it alone makes the scenario feasible);
    - ``combined``: the least combined relaxation of all requirements, each relative to its scale.

    Empty when no relaxation of the requirements makes the scenario feasible.
    """
    combined = _relaxations(coef, scenario, frozenset(ELASTIC_FAMILIES), time_limit_s)
    if combined is None:
        return []
    hard = build_model(coef, scenario)
    present = [f for f in ELASTIC_FAMILIES if hard.component(f) is not None]
    conflict = conflicting_requirements(coef, scenario, time_limit_s)
    items: list[dict[str, Any]] = []
    if conflict:
        items += [{"kind": "conflict", "constraint": f, "group": g, "requirement": _requirement(f, g)}
                  for f, g in conflict]
    fixes: list[dict[str, Any]] = []
    shortfalls: list[dict[str, Any]] = []
    for family in present:
        alone = _relaxations(coef, scenario, frozenset({family}), time_limit_s)
        parameter = _FAMILY_PARAMETER[family]
        current = getattr(scenario, parameter)
        if alone is None:
            fixes.append({"kind": "fix", "parameter": parameter, "current": current, "suggested": None,
                          "feasible": False, "constraint": family,
                          "message": f"changing {parameter} alone cannot make the scenario feasible"})
            continue
        for item in alone:
            shortfalls.append({**item, "kind": "alone", **_stuck_reason(item, coef, scenario)})
        if not alone:
            continue
        if family == "ldn_neutrality":
            delta = _uniform_ldn_relaxation(coef, scenario, time_limit_s)
            suggested = None if delta is None else scenario.ldn_target - delta
            if suggested is None or suggested < -1.0:
                fixes.append({"kind": "fix", "parameter": parameter, "current": current, "suggested": None,
                              "feasible": False, "constraint": family,
                              "message": "lowering ldn_target alone, down to −1, cannot make the scenario feasible"})
            else:
                fixes.append({"kind": "fix", "parameter": parameter, "current": current, "suggested": suggested,
                              "feasible": True, "constraint": family,
                              "message": f"lower ldn_target from {current:g} to {_floor(suggested)} or below"})
            continue
        amount = sum(item["relaxation"] for item in alone)
        suggested = alone[0]["suggested"]
        if family == "budget":
            text = (f"raise the budget by at least {_usd(amount, up=True)} (budget_usd from {current:,.0f} to "
                    f"{_ceil(suggested)} or more)")
        elif family == "food_floor":
            text = f"lower food_floor from {current:g} to {_floor(suggested)} or below"
        elif family == "pv_cap":
            text = f"raise max_pv_share from {current:g} to {math.ceil(suggested * 1e4) / 1e4:.4f} or more"
        else:
            text = f"lower min_restored_ha from {current:,.0f} to {math.floor(suggested):,} or below"
        fixes.append({"kind": "fix", "parameter": parameter, "current": current, "suggested": suggested,
                      "feasible": True, "constraint": family, "message": text})
    ldn_involved = any(i["constraint"] == "ldn_neutrality" for i in shortfalls + combined)
    if scenario.ldn_scope == "land_type" and ldn_involved:
        pooled = _feasible(coef, scenario.replace(ldn_scope="region"), time_limit_s)
        fixes.append({"kind": "fix", "parameter": "ldn_scope", "current": "land_type",
                      "suggested": "region" if pooled else None, "feasible": pooled, "constraint": "ldn_neutrality",
                      "message": ("set ldn_scope=region, to balance gains and losses over the whole region instead "
                                  "of within each land type" if pooled else
                                  "ldn_scope=region (LDN pooled over the region) does not make it feasible either")})
    items += shortfalls + fixes + [{**item, "kind": "combined"} for item in combined]
    return items


def infeasibility_message(explanation: list[dict[str, Any]]) -> str:
    """The explanation as text for the terminal: the conflict, each shortfall, and the fixes.

    One short requirement reads as one sentence with its fixes, e.g. "LDN in
    land type 'bare' needs 1,240 ha more net gain than the budget allows:
    raise the budget by at least USD 0.80 M (…), or lower ldn_target from
    0.05 to −0.0312 or below."
    """
    if not explanation:
        return ("the scenario is infeasible: no plan meets every requirement, and relaxing the budget, "
                "LDN, food floor and caps does not help either; check the catalogue and the input")
    presolve = [e for e in explanation if e.get("kind") == "presolve"]
    conflict = [e for e in explanation if e.get("kind") == "conflict"]
    alone = [e for e in explanation if e.get("kind") == "alone"]
    fixes = [e for e in explanation if e.get("kind") == "fix" and e.get("feasible")]
    stuck = [e for e in explanation if e.get("kind") == "fix" and not e.get("feasible")]
    combined = [e for e in explanation if e.get("kind") == "combined"]
    fix_text = [f["message"] for f in fixes]
    lines: list[str] = []
    names = [e["requirement"] for e in conflict] or sorted({e["requirement"] for e in alone + combined})
    headline = (_join(names).replace("LDN", "land degradation neutrality (LDN)", 1)
                + (" cannot all be met." if len(names) > 1 else " cannot be met.")) if names else ""
    if presolve:
        lines.append("the scenario is infeasible, as the pre-solve checks show:")
        lines += [f"  - {e['message']}. Fix: {e['fix']}" for e in presolve]
        if headline:
            lines.append("The solver agrees: " + headline)
    elif headline:
        lines.append("the scenario is infeasible: " + headline)
    # the budget's own shortfall is the first fix; say it as a sentence only when nothing else falls short
    short = [e for e in alone if e["constraint"] != "budget"] or alone
    for e in short:
        sentence = _shortfall(e, _blockers(e, conflict, fixes))
        tail = (": " + ", or ".join(fix_text) + ".") if len(short) == 1 and fix_text else "."
        lines.append(f"  - {sentence}{tail}")
    if len(short) == 1 and fix_text:
        fix_text = []
    if fix_text:
        lines.append("Any one of these makes it feasible, the rest unchanged:")
        lines += [f"  - {t}" for t in fix_text]
    if stuck:
        lines.append("Not enough on its own: " + "; ".join(f["message"] for f in stuck) + ".")
    if len(combined) > 1 and not presolve:
        lines.append("Least combined relaxation (every requirement moved a little):")
        lines += [f"  - {e['message']}" for e in combined]
    return "\n".join(lines)


def _blockers(item: dict[str, Any], conflict: list[dict[str, Any]], fixes: list[dict[str, Any]]) -> list[str]:
    """The other requirements that keep ``item`` from being met, in words."""
    if not conflict:  # a parameter that fixes the scenario alone is in every conflict
        return [_FAMILY_TEXT[f["constraint"]] for f in fixes
                if f["constraint"] != item["constraint"] and f["parameter"] != "ldn_scope"]
    others = [c["requirement"] for c in conflict
              if c["constraint"] != item["constraint"] or (c["constraint"] == "ldn_neutrality"
                                                           and c["requirement"] != item["requirement"])]
    if item["constraint"] == "ldn_neutrality":
        ldn_others = [o for o in others if o.startswith("LDN")]
        others = [o for o in others if not o.startswith("LDN")] + (
            ["LDN in the other land types" if len(ldn_others) > 1 else ldn_others[0]] if ldn_others else [])
    return others


def _shortfall(item: dict[str, Any], others: list[str]) -> str:
    amount = item["relaxation"]
    allow = (f"than {_join(others)} allow" + ("s" if len(others) == 1 else "")) if others else \
        "than any plan can reach"
    under = f" under {_join(others)}" if others else ""
    family = item["constraint"]
    if family == "ldn_neutrality":
        reason = f" ({item['reason']})" if item.get("reason") else ""
        return f"{item['requirement']} needs {amount:,.0f} ha more net gain {allow}{reason}"
    if family == "budget":
        what = f"meeting {_join(others)}" if others else "the requirements"
        return f"{what} costs {_usd(amount, up=True)} more than the budget"
    if family == "food_floor":
        return f"the harvest falls {amount:,.0f} t DM/yr short of the food-security floor{under}"
    if family == "pv_cap":
        return f"the cap on PV area is {amount:,.0f} ha too tight{under}"
    return f"{amount:,.0f} ha of the least restored area are out of reach{under}"


def presolve_error(findings: list[Finding]) -> list[dict[str, Any]]:
    """The error findings as explanation items (``kind`` ``presolve``)."""
    return [f.to_dict() for f in findings if f.severity == "error"]
