"""The numbers of a plan report and how they read: area per use, the LDN balance, the headline KPIs, access
per community, the shadow prices in plain sentences, and the formatting of every number shown.

Everything here is computed from the tables :mod:`dualuse.report.read` returns;
nothing is drawn.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from dualuse.report.read import PlanFile
from dualuse.vocabulary import LAND_TYPES, USES

#: Shares of a parcel closer to 1 than this count as a parcel under one use.
WHOLE_SHARE_TOL = 1e-6
#: Shadow prices smaller than this in magnitude mean the limit does not bind.
IDLE_SHADOW = 1e-12


# --------------------------------------------------------------------------- formatting


def format_number(value: float, percent: bool = False, digits: int | None = None) -> str:
    """A number for a table or a sentence: a percentage to 0.1 %, ``digits`` decimals, or by magnitude;
    "–" for what is not a finite number."""
    if value is None or not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(value):
        return "–"
    if percent:
        return f"{value:.1%}"
    if digits is not None:
        return f"{value:,.{digits}f}"
    magnitude = abs(value)
    if magnitude == 0:
        return "0"
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 1:
        return f"{value:,.2f}"
    return f"{value:.3g}"


def format_short(value: Any) -> str:
    """A number in few characters: whole numbers with thousands separators, others to 6 significant digits."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        return str(value)
    if not math.isfinite(value):
        return "–"
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{value:,.0f}"
    return f"{value:,.6g}"


def format_change(value: float, percent: bool = False) -> str:
    """A change with its sign: a change of a share in percentage points (``+3.2 pp``), others by magnitude."""
    if value is None or not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(value):
        return "–"
    if percent:
        points = 100.0 * value
        return "0 pp" if abs(points) < 0.05 else f"{points:+.1f} pp"
    text = format_number(value)
    return ("+" + text) if value > 0 else text


def format_signed(value: float) -> str:
    """A whole number of ha with its sign; magnitudes under 0.5 print as 0."""
    return "0" if abs(value) < 0.5 else f"{value:+,.0f}"


def format_bar_value(value: float, percent: bool = False) -> str:
    """The value printed on a chart's bar: to the precision its magnitude needs."""
    if not math.isfinite(value):
        return "–"
    if percent:
        return "0%" if value == 0 else f"{value:.0%}" if abs(value) >= 0.1 else f"{value:.1%}"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:,.1f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".") if magnitude > 0 else "0"


# --------------------------------------------------------------------------- land use and LDN


def area_by_use_ha(plan: pd.DataFrame) -> dict[str, float]:
    """Area allocated to each use, all shares counted [ha]."""
    area = plan["area_ha"].to_numpy(float)
    return {u: float(area @ plan[f"share_{u}"].to_numpy(float)) for u in USES}


def ldn_balance(plan: pd.DataFrame, scenario: dict[str, Any]) -> tuple[pd.DataFrame, dict[str, Any]]:
    r"""The LDN balance per land type: counterbalancing gains, losses and net against the target, and the verdict.

    Gains and losses are the plan layer's ``ldn_gain_ha`` and ``ldn_loss_ha``
    (the area of each parcel whose 7-class status at the horizon is a gain,
    6–7, or a loss, 1–2, under the run's ``ldn_baseline``), summed per land
    type; the net is their difference.  Water is not land and is left out
    (SDG 15.3.1).  The target is ``ldn_target`` × the land type's area; a
    land type is neutral when net ≥ target (within 1e-6 of its area, the
    solver's tolerance).

    Parameters
    ----------
    plan : DataFrame — the plan layer: ``land_type``, ``area_ha``, ``ldn_gain_ha``, ``ldn_loss_ha``,
      ``share_<use>`` (and optionally ``degradation``, the baseline SDG 15.3.1 status)
    scenario : dict — the run's scenario (``ldn_target``, ``ldn_scope``, ``ldn_baseline``)

    Returns
    -------
    (DataFrame, dict)
        One row per land type, then a row ``all land``: ``land_type``,
        ``label``, ``area_ha``, ``gains_ha``, ``losses_ha``, ``net_ha``,
        ``target_ha``, ``baseline_gains_ha``, ``baseline_losses_ha``,
        ``baseline_net_ha``, ``neutral``, ``shortfall_ha``, ``verdict``;
        and notes: ``split_ha``, ``water_ha``, ``scope``, ``target``, ``baseline``.
    """
    parcels = _parcel_balance(plan)
    shares = plan[[f"share_{u}" for u in USES]].to_numpy(float)
    split = shares.max(axis=1) < 1.0 - WHOLE_SHARE_TOL
    water = parcels["land_type"] == "water"
    target_share = float(scenario.get("ldn_target", 0.0) or 0.0)
    table = _judge(_by_land_type(parcels[~water]), target_share)
    notes = {"split_ha": float(plan["area_ha"].to_numpy(float)[split].sum()),
             "water_ha": float(parcels.loc[water, "area_ha"].sum()),
             "scope": str(scenario.get("ldn_scope", "land_type")), "target": target_share,
             "baseline": str(scenario.get("ldn_baseline", "stable"))}
    return table, notes


def _parcel_balance(plan: pd.DataFrame) -> pd.DataFrame:
    """Per parcel: land type, area, and the area gained, lost and net with the plan, and the area improving
    and degraded at baseline (the ``degradation`` column) [ha]."""
    land = plan["land_type"].astype(str).str.strip().str.lower().to_numpy()
    area = plan["area_ha"].to_numpy(float)
    gains = plan["ldn_gain_ha"].to_numpy(float)
    losses = plan["ldn_loss_ha"].to_numpy(float)
    baseline = plan["degradation"].to_numpy(float) if "degradation" in plan else np.zeros(len(plan))
    baseline = np.nan_to_num(baseline)
    return pd.DataFrame({
        "land_type": land, "area_ha": area, "gains_ha": gains, "losses_ha": losses, "net_ha": gains - losses,
        "baseline_gains_ha": area * (baseline > 0), "baseline_losses_ha": area * (baseline < 0)})


def _by_land_type(parcels: pd.DataFrame) -> pd.DataFrame:
    """The parcels' areas summed per land type, in the order of :data:`LAND_TYPES` (others after, sorted),
    then a row ``all land``."""
    by_type = parcels.groupby("land_type", sort=False).sum(numeric_only=True)
    order = [t for t in LAND_TYPES if t in by_type.index] + sorted(t for t in by_type.index if t not in LAND_TYPES)
    by_type = by_type.loc[order]
    total = by_type.sum().to_frame("all land").T
    table = pd.concat([by_type, total])
    table.index.name = "land_type"
    return table.reset_index()


def _judge(table: pd.DataFrame, target_share: float) -> pd.DataFrame:
    """Add to each row its target, whether it is neutral, its shortfall, its label and its verdict."""
    table["baseline_net_ha"] = table["baseline_gains_ha"] - table["baseline_losses_ha"]
    table["target_ha"] = target_share * table["area_ha"]
    tolerance = 1e-6 * np.maximum(table["area_ha"].to_numpy(float), 1.0)
    table["neutral"] = table["net_ha"].to_numpy(float) >= table["target_ha"].to_numpy(float) - tolerance
    table["shortfall_ha"] = np.clip(table["target_ha"] - table["net_ha"], 0.0, None).where(~table["neutral"], 0.0)
    table["label"] = [t.capitalize() if t != "all land" else "All land" for t in table["land_type"]]
    table["verdict"] = [_verdict(row, target_share) for row in table.itertuples()]
    return table


def _verdict(row: Any, target_share: float) -> str:
    """One sentence: whether a land type meets the target, with its gains, losses, net and target [ha]."""
    if target_share == 0:
        met, missed = "is neutral", "is not neutral"
    elif target_share > 0:
        met, missed = "meets the net-gain target", "falls short of the net-gain target"
    else:
        met, missed = "stays within the allowed net loss", "loses more than the allowed net loss"
    numbers = (f"gains {row.gains_ha:,.0f} ha, losses {row.losses_ha:,.0f} ha, net {format_signed(row.net_ha)} ha "
               f"against a target of {format_signed(row.target_ha)} ha")
    if row.neutral:
        return f"{row.label} {met}: {numbers}."
    return f"{row.label} {missed}: {numbers}, {row.shortfall_ha:,.0f} ha short."


# --------------------------------------------------------------------------- KPIs and access


#: The headline KPIs: (summary kpi, label, as a percentage).
HEADLINE_KPIS: tuple[tuple[str, str, bool], ...] = (
    ("energy_mwh", "PV generation", False),
    ("capacity_mwp", "Installed PV capacity", False),
    ("served_mwh", "Energy delivered to households", False),
    ("export_mwh", "Energy sent to the grid", False),
    ("households_served", "Households gaining access", False),
    ("unserved_households", "Households still without electricity", False),
    ("access", "Share of unserved demand met", True),
    ("productivity_t", "Harvest", False),
    ("productivity", "Harvest relative to today", True),
    ("restored_ha", "Restored area", False),
    ("sdg_improved_ha", "SDG 15.3.1 improved area at the horizon", False),
    ("sdg_degraded_ha", "SDG 15.3.1 degraded area at the horizon", False),
    ("ldn_gain_ha", "Counterbalancing gains", False),
    ("ldn_loss_ha", "Counterbalancing losses", False),
    ("ldn_net_ha", "Net LDN balance (gains − losses)", False),
    ("ldn_net_stable_ha", "Net LDN balance if the baseline status holds", False),
    ("ldn_net_persist_ha", "Net LDN balance if baseline trends persist", False),
    ("soc_change_t", "Soil organic carbon change", False),
    ("cost_usd", "Cost, delivery included", False),
    ("budget_usd", "Budget", False),
)


def kpi_table(pf: PlanFile) -> pd.DataFrame:
    """Baseline and plan of the headline KPIs, read from the summary table (absent rows left out)."""
    rows = []
    for key, label, percent in HEADLINE_KPIS:
        if not (pf.summary["kpi"] == key).any():
            continue
        today, plan = pf.kpi(key, "baseline"), pf.kpi(key)
        rows.append({"kpi": key, "label": label, "unit": "%" if percent else pf.unit(key), "today": today,
                     "plan": plan, "change": plan - today, "percent": percent})
    return pd.DataFrame(rows)


def access_table(communities: pd.DataFrame) -> pd.DataFrame:
    """Per community: households without electricity, demand, served, households gaining access, share met."""
    frame = pd.DataFrame(communities).drop(columns=["geometry", "geom"], errors="ignore")
    out = frame[["community_id", "unserved_households", "demand_mwh", "served_mwh", "households_served"]].copy()
    demand = out["demand_mwh"].to_numpy(float)
    out["access_share"] = np.divide(out["served_mwh"].to_numpy(float), demand, out=np.zeros_like(demand),
                                    where=demand > 0)
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- the objective and shadow prices


def household_objective(pf: PlanFile) -> float:
    """Objective value of one more household gaining access, at the region's average household demand.

    Access is served energy over total demand, weighted by ``weight_access``;
    a household of average demand D/H adds ``weight_access / H`` to the
    objective (H: households without electricity today).  NaN where there is
    no such household or access has no weight.
    """
    households = pf.kpi("unserved_households", "baseline")
    weight = float(pf.scenario.get("weight_access", math.nan))
    if not (math.isfinite(households) and households > 0 and math.isfinite(weight) and weight > 0):
        return math.nan
    return weight / households


def objective_sentence(pf: PlanFile) -> str:
    """What the objective is, with this run's weights."""
    s = pf.scenario
    parts = [f"{s.get('weight_access', '?')} × the share of unserved demand met",
             f"{s.get('weight_energy', '?')} × energy delivered as a share of the region's most generation",
             f"{s.get('weight_productivity', '?')} × harvest relative to today"]
    if s.get("weight_livelihoods"):
        parts.append(f"{s['weight_livelihoods']} × land-based income relative to today")
    text = ("The objective is " + ", plus ".join(parts) + f", less {s.get('weight_cost', '?')} × the cost as a "
            f"share of the costliest plan's; this plan scores {format_number(pf.kpi('objective'))}.")
    per_household = household_objective(pf)
    if math.isfinite(per_household):
        text += (f" One more household gaining access is worth about {per_household:.3g} of objective "
                 f"({s.get('weight_access')} ÷ {pf.kpi('unserved_households', 'baseline'):,.0f} households "
                 "without electricity today, at the region's average household demand); the sentences below use "
                 "it to put each shadow price in households.")
    return text


def shadow_price_sentences(pf: PlanFile) -> list[str]:
    """One plain sentence per shadow price of the summary table (``shadow_*`` rows)."""
    rows = pf.summary[pf.summary["kpi"].astype(str).str.startswith("shadow_")]
    per_household = household_objective(pf)
    sentences = []
    for row in rows.itertuples():
        name = str(row.kpi)[len("shadow_"):]
        value = float(row.plan) if pd.notna(row.plan) else math.nan
        idle = not math.isfinite(value) or abs(value) < IDLE_SHADOW
        if name == "budget":
            sentences.append(_budget_sentence(pf, value, idle, per_household))
        elif name.startswith("ldn_"):
            sentences.append(_ldn_sentence(name[len("ldn_"):], value, idle, per_household))
        elif name == "food_floor":
            sentences.append(_food_floor_sentence(float(pf.scenario.get("food_floor", math.nan)), value, idle,
                                                  per_household))
        elif name == "energy_balance":
            sentences.append("More generation would not improve the plan." if idle else
                             f"Each extra 1,000 MWh/yr that the region's PV could generate would raise "
                             f"the objective by about {1000 * value:.3g}{_in_households(1000 * value, per_household)}.")
        elif name == "grid_export":
            sentences.append("The grid's export capacity is not binding." if idle else
                             f"Each extra 1,000 MWh/yr of grid export capacity would raise "
                             f"the objective by about {1000 * value:.3g}{_in_households(1000 * value, per_household)}.")
        else:
            meaning = str(getattr(row, "meaning", "") or name)
            sentences.append(f"{meaning[:1].upper()}{meaning[1:]}: {value:.3g} ({row.unit}).")
    return sentences


def _in_households(objective: float, per_household: float) -> str:
    """The clause putting an objective value in households gaining access ("" without a household's worth)."""
    if not math.isfinite(per_household):
        return ""
    count = objective / per_household
    text = f"{count:,.0f}" if count >= 9.5 else f"{count:.2g}"
    return f" — worth as much as about {text} more household{'' if text == '1' else 's'} gaining access"


def _budget_sentence(pf: PlanFile, value: float, idle: bool, per_household: float) -> str:
    """What USD 1 M more budget would buy, or that the budget does not bind."""
    if idle:
        spent, budget = pf.kpi("cost_usd"), pf.kpi("budget_usd")
        return (f"The budget is not binding: the plan spends USD {spent / 1e6:,.1f} M of USD {budget / 1e6:,.1f} M, "
                "and more money would not improve it.")
    return (f"Each extra USD 1 M of budget would raise the objective by about {value:.3g}"
            f"{_in_households(value, per_household)}"
            + (f", or USD {per_household * 1e6 / value:,.0f} for each household's worth of objective."
               if math.isfinite(per_household) else "."))


def _ldn_sentence(group: str, value: float, idle: bool, per_household: float) -> str:
    """What 1,000 ha less net LDN gain in one land type (or the region) would buy, or that it does not bind."""
    where = "the region" if group == "region" else group
    if idle:
        return f"The LDN requirement in {where} is not binding: relaxing it would not improve the plan."
    return (f"Requiring 1,000 ha less net LDN gain in {where} would raise the objective by about "
            f"{1000 * value:.3g}{_in_households(1000 * value, per_household)}: LDN there is a binding limit of the "
            "plan.")


def _food_floor_sentence(floor: float, value: float, idle: bool, per_household: float) -> str:
    """What one point less of the food-security floor would buy, or that it does not bind."""
    if idle:
        return f"The food-security floor ({floor:.0%} of today's harvest) is not binding."
    return (f"Lowering the food-security floor by one percentage point of today's harvest (now {floor:.0%}) "
            f"would raise the objective by about {value:.3g}{_in_households(value, per_household)}.")
