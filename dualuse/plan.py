"""``Plan``: the chosen allocation per parcel, its KPIs and its shadow prices."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dualuse.vocabulary import USES

from dualuse.inputs.catalogue import Catalogue
from dualuse.model.coefficients import Coefficients
from dualuse.vocabulary import LAND_TYPES
from dualuse.inputs.region import Region
from dualuse.inputs.scenario import Scenario
from dualuse.solve.highs import SolveResult, Status

#: KPI name -> (unit, meaning).  The order is the order of the summary table.
KPI_UNITS: dict[str, tuple[str, str]] = {
    "access": ("share", "share of the unserved households' demand met"),
    "energy": ("share", "energy delivered (households + grid) over the most the region could usefully deliver"),
    "productivity": ("share", "harvest relative to today's"),
    "energy_mwh": ("MWh/yr", "PV generation"),
    "delivered_mwh": ("MWh/yr", "energy delivered to households and to the grid"),
    "served_mwh": ("MWh/yr", "energy delivered to households"),
    "export_mwh": ("MWh/yr", "energy sent to the grid"),
    "capacity_mw": ("MWp", "installed PV capacity"),
    "households_served": ("households", "households gaining access"),
    "unserved_households": ("households", "households without electricity today"),
    "productivity_t": ("t DM/yr", "harvest"),
    "restored_ha": ("ha", "area under restoration"),
    "degraded_ha": ("ha", "land degraded at the horizon (SDG 15.3.1; water excluded)"),
    "improved_ha": ("ha", "land improving at the horizon (SDG 15.3.1; water excluded)"),
    "ldn_net_ha": ("ha", "land improved − land degraded (water excluded)"),
    "soc_change_t": ("t C", "change of the soil organic carbon stock over the horizon"),
    "cost_usd": ("USD", "capital cost of the plan, delivery included"),
    "budget_usd": ("USD", "budget"),
    **{f"area_{u}_ha": ("ha", f"area under {u}") for u in USES},
}


@dataclass
class Plan:
    """The result of one solve.

    Attributes
    ----------
    shares : ndarray [parcel, use] — share of each parcel under each use (uses in :data:`USES` order)
    served_mwh : ndarray — per community, energy delivered [MWh/yr]
    kpis : dict — name -> plan value (units in :data:`KPI_UNITS`)
    baseline : dict — name -> value today, for the same KPIs
    shadow_prices : list of dict — name, value, unit, meaning (LP only)
    """

    region: Region
    catalogue: Catalogue
    scenario: Scenario
    coef: Coefficients
    result: SolveResult
    shares: np.ndarray
    kpis: dict[str, float]
    baseline: dict[str, float]
    shadow_prices: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def status(self) -> Status:
        return self.result.status

    @property
    def objective(self) -> float:
        return self.result.objective

    @property
    def gap(self) -> float:
        return self.result.gap

    def parcel_values(self) -> dict[str, np.ndarray]:
        """Per-parcel results: the columns that the plan layer adds to the input."""
        coef, x = self.coef, self.result.x

        def per_parcel(values: np.ndarray) -> np.ndarray:
            return np.bincount(coef.parcel, weights=values * x, minlength=coef.n_parcels)

        dominant = np.argmax(self.shares, axis=1)
        status = np.zeros((coef.n_parcels, len(USES)), dtype=np.int8)
        status[coef.parcel, coef.use] = coef.ldn_status
        out: dict[str, np.ndarray] = {
            "area_ha": coef.area_ha,
            "use": np.array(USES, dtype=object)[dominant],
            **{f"share_{u}": self.shares[:, k] for k, u in enumerate(USES)},
            "capacity_mw": per_parcel(coef.capacity_mw),
            "energy_mwh": per_parcel(coef.energy_mwh),
            "productivity_t": per_parcel(coef.productivity_t),
            "ldn_status": status[np.arange(coef.n_parcels), dominant],
            "ldn_net": per_parcel(coef.ldn_status.astype(float)),
            "ldn_gain": per_parcel((coef.ldn_status > 0).astype(float)),
            "ldn_loss": per_parcel((coef.ldn_status < 0).astype(float)),
            "soc_change_t": per_parcel(coef.soc_change_t),
            "cost": per_parcel(coef.cost_usd),
        }
        return out

    def community_values(self) -> pd.DataFrame:
        """Per community: demand, energy served, households served."""
        coef = self.coef
        served = self.result.served_mwh
        frame = self.region.communities[["community_id", "unserved_households"]].copy()
        frame["household_kwh_yr"] = coef.household_mwh * 1000.0
        frame["demand_mwh"] = coef.demand_mwh
        frame["served_mwh"] = served
        frame["households_served"] = np.divide(served, coef.household_mwh, out=np.zeros_like(served),
                                               where=coef.household_mwh > 0)
        frame["access_share"] = np.divide(served, coef.demand_mwh, out=np.zeros_like(served),
                                          where=coef.demand_mwh > 0)
        return frame

    def summary(self) -> pd.DataFrame:
        """KPI, unit, baseline and plan side by side; then the shadow prices."""
        rows = [{"kpi": k, "unit": KPI_UNITS[k][0], "baseline": self.baseline.get(k, math.nan),
                 "plan": self.kpis[k], "meaning": KPI_UNITS[k][1]} for k in KPI_UNITS]
        rows += [{"kpi": f"shadow_{s['name']}", "unit": s["unit"], "baseline": math.nan, "plan": s["value"],
                  "meaning": s["meaning"]} for s in self.shadow_prices]
        rows.append({"kpi": "objective", "unit": "-", "baseline": math.nan, "plan": self.objective,
                     "meaning": "weighted sum of the unit-free KPIs less the cost tie-break"})
        return pd.DataFrame(rows)


def make_plan(region: Region, catalogue: Catalogue, scenario: Scenario, coef: Coefficients,
              result: SolveResult) -> Plan:
    """Gather a solved result into a Plan with KPIs and shadow prices."""
    shares = np.zeros((coef.n_parcels, len(USES)))
    shares[coef.parcel, coef.use] = result.x
    kpis = compute_kpis(coef, scenario, result.x, result.served_mwh, result.export_mwh)
    baseline = baseline_kpis(coef, region, scenario)
    return Plan(region=region, catalogue=catalogue, scenario=scenario, coef=coef, result=result, shares=shares,
                kpis=kpis, baseline=baseline, shadow_prices=shadow_prices(result, coef, scenario))


def compute_kpis(coef: Coefficients, scenario: Scenario, x: np.ndarray, served_mwh: np.ndarray,
                 export_mwh: float) -> dict[str, float]:
    """Every KPI of an allocation, recomputed from the shares (not read from the solver's objective)."""
    area = coef.pair_area_ha * x
    land = coef.pair_land_type != LAND_TYPES.index("water")  # water is not land for LDN
    demand = float(coef.demand_mwh.sum())
    served = float(served_mwh.sum())
    households = float(np.divide(served_mwh, coef.household_mwh, out=np.zeros_like(served_mwh),
                                 where=coef.household_mwh > 0).sum())
    productivity = float(coef.productivity_t @ x)
    delivered = served + export_mwh
    kpis = {
        "access": served / demand if demand > 0 else 0.0,
        "energy": delivered / coef.max_delivery_mwh if coef.max_delivery_mwh > 0 else 0.0,
        "productivity": productivity / coef.baseline_productivity_t if coef.baseline_productivity_t > 0 else 0.0,
        "energy_mwh": float(coef.energy_mwh @ x),
        "delivered_mwh": delivered,
        "served_mwh": served,
        "export_mwh": float(export_mwh),
        "capacity_mw": float(coef.capacity_mw @ x),
        "households_served": households,
        "unserved_households": float(coef.households.sum()) - households,
        "productivity_t": productivity,
        "restored_ha": float(area[coef.use == USES.index("restoration")].sum()),
        "degraded_ha": float(area[(coef.ldn_status < 0) & land].sum()),
        "improved_ha": float(area[(coef.ldn_status > 0) & land].sum()),
        "soc_change_t": float(coef.soc_change_t @ x),
        "cost_usd": float(coef.cost_usd @ x) + scenario.delivery_cost_usd_mwh * served,
        "budget_usd": scenario.budget_usd,
    }
    kpis["ldn_net_ha"] = kpis["improved_ha"] - kpis["degraded_ha"]
    for k, u in enumerate(USES):
        kpis[f"area_{u}_ha"] = float(area[coef.use == k].sum())
    return {k: kpis[k] for k in KPI_UNITS}


def baseline_kpis(coef: Coefficients, region: Region, scenario: Scenario) -> dict[str, float]:
    """The same KPIs for today: every parcel under its current use, nothing delivered."""
    current = (coef.use == USES.index("current")).astype(float)
    return compute_kpis(coef, scenario, current, np.zeros_like(coef.demand_mwh), 0.0)


def shadow_prices(result: SolveResult, coef: Coefficients, scenario: Scenario) -> list[dict[str, Any]]:
    """The policy reading of the LP duals: objective gained per unit each requirement is relaxed.

    HiGHS's row dual is the change of the objective per unit increase of the
    row's active bound; relaxing a ≤ row raises its bound and relaxing a ≥ row
    lowers it, hence the signs below.  All values are ≥ 0 at an optimum.
    """
    duals = result.duals
    out: list[dict[str, Any]] = []
    if not duals:
        return out
    if "budget" in duals:
        out.append({"name": "budget", "value": duals["budget"] * 1e6, "unit": "objective per USD 1 M",
                    "meaning": "objective gained by each extra USD 1 M of budget"})
    for group, dual in sorted(duals.get("ldn_neutrality", {}).items()):
        out.append({"name": f"ldn_{group}", "value": -dual, "unit": "objective per ha",
                    "meaning": f"objective gained per ha less net LDN gain required in {group}"})
    if "food_floor" in duals:
        out.append({"name": "food_floor", "value": -duals["food_floor"] * coef.baseline_productivity_t / 100.0,
                    "unit": "objective per 1 % of today's harvest",
                    "meaning": "objective gained per percentage point lower food floor"})
    if "energy_balance" in duals:
        out.append({"name": "grid_export", "value": duals["energy_balance"],
                    "unit": "objective per MWh/yr", "meaning": "objective gained per extra MWh/yr generated"})
    for price in out:
        price["value"] = float(price["value"]) + 0.0  # no -0.0 in tables
    return out
