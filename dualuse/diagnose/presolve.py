r"""Pre-solve checks: requirements no plan can meet, and settings that will hurt the solver.

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
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from dualuse.diagnose.lagrangian import dual_function
from dualuse.diagnose.messages import ceil_text, floor_text, usd
from dualuse.inputs.region import Region
from dualuse.inputs.scenario import Scenario
from dualuse.inputs.schema import Problem
from dualuse.model.access import access_floor
from dualuse.model.coefficients import Coefficients
from dualuse.model.families import RESTORATION, ldn_groups
from dualuse.model.family_table import FAMILIES, FAMILY, requirement
from dualuse.model.kpis import delivery_cost_usd_per_mwh
from dualuse.model.livelihoods import most_livelihoods, today_livelihoods
from dualuse.model.per_parcel import parcel_starts
from dualuse.vocabulary import LAND_TYPES, USES

#: Coefficients above this (in any row) make HiGHS's tolerances meaningless.
LARGE_COEFFICIENT = 1e12
#: Coefficients below this are near HiGHS's small_matrix_value (1e-9), under which they are dropped.
SMALL_COEFFICIENT = 1e-6
#: A row whose largest and smallest coefficients differ by more than this factor loses precision.
WIDE_RANGE = 1e10
#: Relative tolerance under which a slack or a shortfall counts as zero.
TOLERANCE = 1e-7

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
        """The finding as a :class:`~dualuse.inputs.region.Problem` of layer ``scenario``."""
        return Problem(self.severity, "scenario", self.parameter, self.message, self.fix, self.ids,
                       self.count or len(self.ids))

    def to_dict(self) -> dict[str, Any]:
        constraint = next((f.name for f in FAMILIES if f.relaxation is not None
                           and f.relaxation.parameter == self.parameter), self.check)
        return {"kind": "presolve", "check": self.check, "constraint": constraint, "severity": self.severity,
                "parameter": self.parameter, "group": self.group, "current": self.current, "suggested": self.suggested,
                "message": self.message, "fix": self.fix, "ids": [_plain(i) for i in self.ids],
                "count": self.count or len(self.ids)}


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


# --------------------------------------------------------------------------- per-parcel helpers


def _starts(coef: Coefficients) -> np.ndarray:
    """Index of each parcel's first pair (pairs are grouped by parcel; every parcel has one: current)."""
    return parcel_starts(coef)


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
    inside = parcel_group >= 0
    reach = np.bincount(parcel_group[inside], weights=most_per_parcel(coef, value)[inside], minlength=n_groups)
    scale = np.maximum(np.abs(target), 1.0)
    out = np.full(n_groups, np.inf)
    reachable = reach >= target - TOLERANCE * scale
    if not reachable.any():
        return out
    best_bound = _maximise_by_bisection(dual_function(coef, value, parcel_group, target), reachable, iterations)
    out[reachable] = np.maximum(best_bound[reachable], 0.0)
    return out


def _maximise_by_bisection(evaluate: Any, reachable: np.ndarray, iterations: int) -> np.ndarray:
    """The best bound of a concave dual over λ ≥ 0 per group: bracket λ until the supergradient turns,
    then bisect (geometrically while the bracket spans orders of magnitude)."""
    lo = np.zeros(reachable.size)
    best_bound, slope = evaluate(lo)
    hi = np.ones(reachable.size)
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
    return best_bound


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
    reach = ldn_reach(coef, scenario)
    findings += _check_ldn(coef, scenario, reach)
    findings += _check_fixed_ldn(coef, scenario)
    findings += _check_food(coef, scenario)
    findings += _check_restoration(coef, scenario)
    findings += _check_budget(coef, scenario, region, findings, reach)
    findings += _check_communities(coef, scenario, region)
    findings += _check_access_floor(coef, scenario, region)
    findings += _check_plant_size(coef, scenario)
    findings += _check_livelihood_floors(coef, scenario)
    findings += _check_coefficients(coef, scenario, region)
    return sorted(findings, key=lambda f: f.severity != "error")


def ldn_reach(coef: Coefficients, scenario: Scenario) -> dict[str, Any]:
    """Per LDN group (:func:`~dualuse.model.families.ldn_groups`): its area, the most net gain any plan
    reaches and today's [ha], with each parcel's group and each pair's gain."""
    groups = ldn_groups(coef, scenario)
    names, group, area = groups.names, groups.parcel_group, groups.area_ha
    gain = coef.pair_area_ha * coef.ldn_status
    inside = group >= 0
    n = len(names)
    most = np.bincount(group[inside], weights=most_per_parcel(coef, gain)[inside], minlength=n)
    current = coef.use == USES.index("current")
    today = np.bincount(group[coef.parcel[current & inside[coef.parcel]]],
                        weights=gain[current & inside[coef.parcel]], minlength=n)
    return {"names": names, "group": group, "gain": gain, "area": area, "most": most, "today": today}


def _check_ldn(coef: Coefficients, scenario: Scenario, reach: dict[str, Any] | None = None) -> list[Finding]:
    reach = ldn_reach(coef, scenario) if reach is None else reach
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
        where = requirement("ldn_neutrality", name)
        out.append(Finding(
            "error", "ldn_reachable", "ldn_target",
            f"{where} cannot reach ldn_target = {scenario.ldn_target:g}:{why} even with every parcel under the "
            f"use that gains most, its net gain is at most {most[k]:,.0f} ha ({most[k] / area[k]:.4f} of its "
            f"{area[k]:,.0f} ha) against {need[k]:,.0f} ha required",
            f"lower ldn_target to {floor_text(tau_max)} or below (further if the budget binds too){region_hint}",
            group=name, current=scenario.ldn_target, suggested=tau_max))
    return out


def _check_fixed_ldn(coef: Coefficients, scenario: Scenario) -> list[Finding]:
    """A warning for each LDN group that no plan can move: it is left out of the constraint, and why."""
    out = []
    for name, area_ha, balance_ha in ldn_groups(coef, scenario).fixed:
        need_ha = scenario.ldn_target * area_ha
        verdict = ("it meets the target" if balance_ha >= need_ha - TOLERANCE * max(area_ha, 1.0) else
                   f"it falls {need_ha - balance_ha:,.0f} ha short of the target")
        out.append(Finding(
            "warning", "ldn_fixed", "ldn_scope",
            f"{requirement('ldn_neutrality', name)} is left out of the LDN constraint: no use allowed there "
            f"changes the LDN status of any of its {area_ha:,.0f} ha, so its balance is {balance_ha:,.0f} ha "
            f"whatever the plan ({verdict}, under ldn_baseline = {scenario.ldn_baseline}); the plan reports it",
            "nothing to do for this plan; to count it against gains elsewhere, set ldn_scope=region",
            group=name, current=balance_ha))
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
        f"lower food_floor to {floor_text(share)} or below (further if the budget or LDN bind too)",
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


def _requirement_costs(coef: Coefficients, scenario: Scenario,
                       reach: dict[str, Any] | None = None) -> tuple[dict[str, float], dict[str, float]]:
    """The least cost [USD] of each requirement alone (those out of reach are left out: reported above),
    and of LDN per land type where it costs anything (``reach``: :func:`ldn_reach`, when made already)."""
    costs: dict[str, float] = {}
    per_type: dict[str, float] = {}
    if scenario.ldn_scope != "off":
        reach = ldn_reach(coef, scenario) if reach is None else reach
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
    return costs, per_type


def _check_budget(coef: Coefficients, scenario: Scenario, region: Region | None,
                  earlier: list[Finding], reach: dict[str, Any] | None = None) -> list[Finding]:
    out: list[Finding] = []
    budget = scenario.budget_usd
    costs, per_type = _requirement_costs(coef, scenario, reach)
    for family, cost in costs.items():
        if cost > budget * (1 + 1e-6) + 1.0:
            detail = ""
            if family == "ldn_neutrality" and per_type:
                top = sorted(per_type.items(), key=lambda kv: -kv[1])[:4]
                detail = " (" + ", ".join(f"'{n}' {usd(v)}" for n, v in top) + ")"
            what = ("LDN in every land type" if family == "ldn_neutrality" and scenario.ldn_scope == "land_type"
                    else requirement(family))
            out.append(Finding(
                "error", "budget_covers_requirement", "budget_usd",
                f"{what} costs at least {usd(cost)}{detail} with the cheapest mix of uses, every other "
                f"requirement left aside, but the budget is {usd(budget)}",
                f"raise budget_usd by at least {usd(cost - budget, up=True)}, to {ceil_text(cost)} or more, or "
                f"lower {FAMILY[family].relaxation.parameter}", current=budget, suggested=cost))
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
        most += float(delivery_cost_usd_per_mwh(coef, scenario) @ coef.demand_mwh)
        if budget > most * (1 + 1e-9) and most > 0:
            out.append(Finding(
                "warning", "budget_binds", "budget_usd",
                f"the budget ({usd(budget)}) exceeds the cost of the costliest possible plan "
                f"({usd(most)}), so it never binds: its shadow price is 0 and any budget above that gives "
                "the same plan",
                f"lower budget_usd to {ceil_text(most)} for the same plan, or check its unit",
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


def _check_access_floor(coef: Coefficients, scenario: Scenario, region: Region | None) -> list[Finding]:
    """A warning for the communities whose own parcels cannot deliver the fairness floor: the floor is
    capped at what they can deliver, or (no parcel that can carry PV) they are left out of it."""
    floor = access_floor(coef, scenario)
    ids = np.asarray(coef.community_id, dtype=object) if coef.community_id else np.arange(coef.demand_mwh.size)
    out = []
    capped = floor.community[floor.capped]
    if capped.size:
        worst = float(floor.share[floor.capped].min())
        out.append(Finding(
            "warning", "access_floor_capped", "min_access_share",
            f"{capped.size} community(ies) cannot get {scenario.min_access_share:.1%} of their demand from their "
            f"own parcels (the least reaches {worst:.1%}): their fairness floor is what their parcels can "
            "deliver, every one of them under its most productive PV use",
            "lower min_access_share, or link these communities to more parcels",
            current=scenario.min_access_share, suggested=worst, ids=tuple(ids[capped][:5].tolist()),
            count=int(capped.size)))
    if floor.left_out.size:
        out.append(Finding(
            "warning", "access_floor_left_out", "min_access_share",
            f"{floor.left_out.size} community(ies) with demand are left out of the fairness floor: no parcel of "
            "theirs can carry PV",
            "link these communities to parcels that can carry PV, or accept that they are not served",
            current=scenario.min_access_share, ids=tuple(ids[floor.left_out][:5].tolist()),
            count=int(floor.left_out.size)))
    return out


def _check_livelihood_floors(coef: Coefficients, scenario: Scenario) -> list[Finding]:
    """An error for the communities that cannot keep the livelihood or jobs floor with every parcel under its
    best use for it (:func:`~dualuse.model.livelihoods.most_livelihoods`)."""
    today, most = today_livelihoods(coef), most_livelihoods(coef)
    ids = np.asarray(coef.community_id, dtype=object) if coef.community_id else np.arange(coef.demand_mwh.size)
    out = []
    for parameter, key, what in (("livelihood_floor", "income_usd_yr", "land-based income"),
                                 ("jobs_floor", "jobs_fte", "jobs")):
        floor, base, reach = getattr(scenario, parameter), getattr(today, key), getattr(most, key)
        short = (floor > 0) & (base > 0) & (reach < floor * base * (1 - TOLERANCE))
        if short.any():
            share = float((reach[short] / base[short]).min())
            out.append(Finding(
                "error", f"{parameter}_reachable", parameter,
                f"{short.sum()} community(ies) cannot keep {floor:g} × today's {what}, even with every parcel "
                f"under its best use for it (the least reaches {share:.4f} × today's)",
                f"lower {parameter} to {floor_text(share)} or below (further if other requirements bind too)",
                current=floor, suggested=share, ids=tuple(ids[short][:5].tolist()), count=int(short.sum())))
    return out


def _check_plant_size(coef: Coefficients, scenario: Scenario) -> list[Finding]:
    if scenario.min_plant_mwp <= 0:
        return []
    pv = coef.capacity_mwp > 0
    if not pv.any() or (coef.capacity_mwp[pv] >= scenario.min_plant_mwp).any():
        return []
    largest = float(coef.capacity_mwp[pv].max())
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
        ("energy_balance", coef.energy_mwh, "MWh/yr", "",
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
        name = FAMILY[family].words.name
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
