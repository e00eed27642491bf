"""``Plan``: the chosen allocation per parcel, its KPIs and its shadow prices."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from dualuse.inputs.catalogue import Catalogue
from dualuse.inputs.region import Region
from dualuse.inputs.scenario import Scenario
from dualuse.model.breakeven import break_evens
from dualuse.model.coefficients import Coefficients
from dualuse.model.connectivity import CONNECTIVITY_UNITS, connectivity_figures, plan_adjacency
from dualuse.model.economics import net_benefit_by_use, pv_lcoe_usd_mwh
from dualuse.model.family_table import FAMILIES, GRID_EXPORT_DUAL, Dual
from dualuse.model.kpis import KPI_UNITS, evaluate_kpis
from dualuse.model.ldn import balance_class, sdg_status
from dualuse.model.robustness import Robustness, drought_years_table, robustness_summary_rows
from dualuse.model.livelihoods import livelihood_columns, worst_shares
from dualuse.solve.highs import SolveResult, Status
from dualuse.vocabulary import LAND_TYPES, LDN_BASELINES, USES


@dataclass
class Plan:
    """The result of one solve.

    Attributes
    ----------
    region, catalogue, scenario : the inputs the plan was made from
    coef : Coefficients — the model's data
    result : SolveResult — what HiGHS returned (status, objective, gap, shares per pair ``x``,
        ``served_mwh`` per community, ``export_mwh``, duals, timings)
    shares : ndarray [parcel, use] — share of each parcel under each use (uses in :data:`USES` order)
    kpis : dict — name -> plan value (units in :data:`~dualuse.model.kpis.KPI_UNITS`)
    baseline : dict — name -> value today, for the same KPIs
    shadow_prices : list of dict — name, value, unit, meaning (LP only)
    break_even : dict — use -> {coefficient -> relative change, or None}: for each use with (almost) no
        land, the change of its capital cost and of its retention at which it takes land
        (:func:`~dualuse.model.breakeven.break_evens`; LP only)
    timings : dict — wall time [s] of each stage of the run outside the solve
    robustness : Robustness or None — with a drought floor, the nominal plan solved without it
        (:mod:`dualuse.model.robustness`)
    connectivity : dict — the restored area's boundary [km], patches and largest patch [ha]
        (:data:`~dualuse.model.connectivity.CONNECTIVITY_UNITS`; NaN where the adjacency is not known)
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
    break_even: dict[str, dict[str, float | None]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    robustness: Robustness | None = None
    connectivity: dict[str, float] = field(default_factory=dict)

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
        seven = np.zeros((coef.n_parcels, len(USES)), dtype=np.int8)
        seven[coef.parcel, coef.use] = coef.ldn_class[self.scenario.ldn_baseline]
        dominant_class = seven[np.arange(coef.n_parcels), dominant]
        area = coef.pair_area_ha
        out: dict[str, np.ndarray] = {
            "area_ha": coef.area_ha,
            "use": np.array(USES, dtype=object)[dominant],
            **{f"share_{u}": self.shares[:, k] for k, u in enumerate(USES)},
            "capacity_mwp": per_parcel(coef.capacity_mwp),
            "energy_mwh": per_parcel(coef.energy_mwh),
            "productivity_t": per_parcel(coef.productivity_t),
            "ldn_class": dominant_class,
            "sdg_status": sdg_status(dominant_class),
            "ldn_gain_ha": per_parcel(area * (coef.ldn_status > 0)),
            "ldn_loss_ha": per_parcel(area * (coef.ldn_status < 0)),
            "sdg_degraded_ha": per_parcel(area * (coef.sdg_status < 0)),
            "soc_change_t": per_parcel(coef.soc_change_t),
            "cost_usd": per_parcel(coef.cost_usd),
        }
        return out

    def to_geodataframe(self) -> gpd.GeoDataFrame:
        """The plan layer as the GeoPackage holds it, in the region's CRS: the input columns, then the plan's
        (:meth:`parcel_values`; an input column of the same name as a plan column is kept as
        ``input_<name>``), one row per parcel in the input's order, geometry column ``geom``."""
        values = self.parcel_values()
        source = self.region.parcels
        geometry_name = source.geometry.name
        columns: dict[str, Any] = {}
        for column in source.columns:
            if column != geometry_name:
                columns[f"input_{column}" if column in values else column] = _frame_column(source[column])
        columns.update(values)
        columns["use"] = pd.Series(values["use"], dtype=object, copy=False)
        frame = pd.DataFrame(columns)
        geo = gpd.GeoDataFrame(frame, geometry=source.geometry.to_numpy(), crs=source.crs)
        return geo.rename_geometry("geom")

    def kpis_frame(self) -> pd.DataFrame:
        """The KPIs, one row each (index ``kpi``): ``value`` of the plan, ``baseline`` today, ``change``
        (value − baseline), ``unit`` and ``meaning``."""
        frame = pd.DataFrame({"kpi": list(KPI_UNITS),
                              "value": [self.kpis[k] for k in KPI_UNITS],
                              "baseline": [self.baseline.get(k, math.nan) for k in KPI_UNITS],
                              "unit": [unit for unit, _ in KPI_UNITS.values()],
                              "meaning": [meaning for _, meaning in KPI_UNITS.values()]}).set_index("kpi")
        frame.insert(2, "change", frame["value"] - frame["baseline"])
        return frame

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
        rural = self.region.communities.get("rural_households")
        if rural is not None:
            frame["rural_households"] = rural.to_numpy(dtype=float)
        for column, values in livelihood_columns(coef, self.result.x, served,
                                                 None if rural is None else rural.to_numpy(dtype=float)).items():
            frame[column] = values
        return frame

    def ldn_balance(self) -> pd.DataFrame:
        """The LDN balance per land type under both baseline assumptions, whatever the constraint used.

        One row per (``ldn_baseline``, land type): area, counterbalancing gains,
        losses and their net [ha], the net the scenario's ``ldn_target`` asks
        for, whether the land type is in the LDN constraint (water never is; a
        land type no use can move is left out: :func:`dualuse.model.families.ldn_groups`)
        and whether it meets the target.  The rows of the scenario's own
        baseline say what the constraint held.
        """
        from dualuse.model.families import ldn_groups

        coef, x = self.coef, self.result.x
        constrained = set(ldn_groups(coef, self.scenario).names) if self.scenario.ldn_scope == "land_type" else set()
        land = coef.is_land
        types = np.unique(coef.land_type[land]).tolist()
        of_type = [coef.pair_land_type == t for t in types]
        rows = []
        for mode in LDN_BASELINES:
            balance = balance_class(coef.ldn_class[mode]) * coef.pair_area_ha * x
            gain, loss = balance > 0, balance < 0
            for t, pairs in zip(types, of_type):
                area_ha = float(coef.area_ha[land & (coef.land_type == t)].sum())
                gains, losses = float(balance[pairs & gain].sum()), float(-balance[pairs & loss].sum())
                target = self.scenario.ldn_target * area_ha
                rows.append({"ldn_baseline": mode, "land_type": LAND_TYPES[t], "area_ha": area_ha, "gains_ha": gains,
                             "losses_ha": losses + 0.0, "net_ha": gains - losses, "target_ha": target,
                             "in_constraint": LAND_TYPES[t] in constrained,
                             "meets_target": gains - losses >= target - 1e-6 * max(area_ha, 1.0),
                             "held_to": mode == self.scenario.ldn_baseline})
        return pd.DataFrame(rows)

    def drought_years(self) -> pd.DataFrame:
        """Per drought year of the region: the plan's harvest, ratio, shortfall and energy, beside the
        nominal plan's when a drought floor was held (empty without drought years)."""
        return drought_years_table(self.coef, self.scenario, self.result.x, self.robustness)

    def summary(self) -> pd.DataFrame:
        """KPI, unit, baseline and plan side by side; then the shadow prices."""
        rows = [{"kpi": k, "unit": KPI_UNITS[k][0], "baseline": self.baseline.get(k, math.nan),
                 "plan": self.kpis[k], "meaning": KPI_UNITS[k][1]} for k in KPI_UNITS]
        today, planned = access_equity(self.coef, np.zeros_like(self.coef.demand_mwh)), access_equity(
            self.coef, self.result.served_mwh)
        rows += [{"kpi": k, "unit": unit, "baseline": today[k], "plan": planned[k], "meaning": meaning}
                 for k, (unit, meaning) in ACCESS_EQUITY_UNITS.items()]
        worst_today = worst_shares(self.coef, (self.coef.use == USES.index("current")).astype(float),
                                   np.zeros_like(self.coef.demand_mwh))
        worst = worst_shares(self.coef, self.result.x, self.result.served_mwh)
        rows += [{"kpi": k, "unit": unit, "baseline": worst_today[k], "plan": worst[k], "meaning": meaning}
                 for k, (unit, meaning) in LIVELIHOOD_EQUITY_UNITS.items()]
        rows += [{"kpi": k, "unit": unit, "baseline": 0.0 if math.isfinite(self.connectivity.get(k, math.nan))
                  else math.nan, "plan": self.connectivity.get(k, math.nan), "meaning": meaning}
                 for k, (unit, meaning) in CONNECTIVITY_UNITS.items()]  # nothing is restored today
        rows += self._economics_rows() + self._priority_rows()
        rows += [{"kpi": f"shadow_{s['name']}", "unit": s["unit"], "baseline": math.nan, "plan": s["value"],
                  "meaning": s["meaning"]} for s in self.shadow_prices]
        rows += [{"kpi": f"break_even_{use}_{name}", "unit": "relative change", "baseline": math.nan,
                  "plan": math.nan if change is None else change,
                  "meaning": f"{use} enters on at least one parcel when its {name} changes by this share "
                             f"(−0.2 = 20 % lower; empty: no change of this coefficient alone)"}
                 for use, changes in self.break_even.items() for name, change in changes.items()]
        rows += robustness_summary_rows(self.coef, self.scenario, self.result.x, self.kpis, self.robustness)
        rows.append({"kpi": "objective", "unit": OBJECTIVE_UNITS[self.scenario.objective_mode][0], "baseline": math.nan,
                     "plan": self.objective, "meaning": OBJECTIVE_UNITS[self.scenario.objective_mode][1]})
        return pd.DataFrame(rows)

    def economics(self) -> dict[str, float]:
        """The summary's economic rows alone, KPI -> the plan's value: the net benefit, the LCOE of the
        plan's PV and each use's net benefit."""
        return {"net_benefit_usd_yr": self.kpis["net_benefit_usd_yr"],
                **{row["kpi"]: row["plan"] for row in self._economics_rows()}}

    def _economics_rows(self) -> list[dict[str, Any]]:
        """The LCOE of the plan's PV and the net benefit of each use's land (today's beside them)."""
        coef, result = self.coef, self.result
        current = (coef.use == USES.index("current")).astype(float)
        today = net_benefit_by_use(coef, self.scenario, current, np.zeros_like(coef.demand_mwh), 0.0)
        planned = net_benefit_by_use(coef, self.scenario, result.x, result.served_mwh, result.export_mwh)
        rows = [{"kpi": "lcoe_pv_usd_mwh", "unit": "USD/MWh", "baseline": math.nan,
                 "plan": pv_lcoe_usd_mwh(coef, result.x),
                 "meaning": "levelised cost of the plan's PV generation: capital (grid connection included) "
                            "annualised over the use's life at discount_rate, plus operating cost, per MWh"}]
        rows += [{"kpi": f"net_benefit_{use}_usd_yr", "unit": "USD/yr", "baseline": today[use],
                  "plan": planned[use], "meaning": f"net benefit of the land under {use} (the PV uses share the "
                  "energy sold in proportion to their generation)"} for use in USES]
        return rows

    def _priority_rows(self) -> list[dict[str, Any]]:
        """Each priority level's optimum, and the shadow price of holding it (objective_mode = priorities)."""
        rows = []
        for level in self.result.priority_levels:
            name = f"priority_{level['level']}_{level['kpi']}"
            rows.append({"kpi": name, "unit": level["unit"], "baseline": math.nan, "plan": level["optimum"],
                         "meaning": f"optimum of {level['kpi']} at priority level {level['level']}, the earlier "
                                    f"levels held (held for later levels at {level['held_at']:.6g})"})
            if math.isfinite(level["shadow_price"]):
                rows.append({"kpi": f"shadow_{name}", "unit": f"objective per {level['unit']}",
                             "baseline": math.nan, "plan": level["shadow_price"],
                             "meaning": f"the last level's gain per unit of {level['kpi']} given up"})
        return rows


def _frame_column(values: pd.Series) -> Any:
    """An input column for the plan frame, without its index: text in pandas' default text dtype (what
    pandas makes of the column's values as Python strings), anything else as its numpy values."""
    if isinstance(values.dtype, pd.StringDtype):
        text = pd.Series(["text"]).dtype
        if isinstance(text, pd.StringDtype):
            return values.astype(text).array
    return values.to_numpy()


#: The objective's unit and meaning under each ``objective_mode`` of the scenario.
OBJECTIVE_UNITS: dict[str, tuple[str, str]] = {
    "weighted": ("-", "weighted sum of the unit-free KPIs less the cost tie-break"),
    "net_benefit": ("USD/yr", "net benefit: energy and harvest at their prices less annualised capital and "
                    "operating costs"),
    "priorities": ("last KPI", "the last priority's KPI (negated when less is better), the earlier ones held"),
}


#: How evenly access is shared, beside the KPIs (not linear in the model's columns, so not in the KPI table):
#: name -> (unit, meaning).
ACCESS_EQUITY_UNITS: dict[str, tuple[str, str]] = {
    "min_access_share": ("share", "access share (served over unserved demand) of the worst-served community "
                         "with demand"),
    "access_gini": ("—", "Gini coefficient of the access shares of the communities with demand (0: all the "
                    "same share; towards 1: access to a few)"),
}


#: The communities' worst-kept livelihoods, beside the KPIs (a minimum over communities, not linear):
#: name -> (unit, meaning).
LIVELIHOOD_EQUITY_UNITS: dict[str, tuple[str, str]] = {
    "min_income_share": ("share of today", "the lowest share of today's land-based income any community keeps"),
    "min_jobs_share": ("share of today", "the lowest share of today's jobs on its land any community keeps"),
}


def access_equity(coef: Coefficients, served_mwh: np.ndarray) -> dict[str, float]:
    """The worst-served community's access share and the Gini coefficient of the access shares, over the
    communities with demand (NaN for both when no community has any)."""
    with_demand = coef.demand_mwh > 0
    if not with_demand.any():
        return {"min_access_share": math.nan, "access_gini": math.nan}
    share = np.asarray(served_mwh, dtype=float)[with_demand] / coef.demand_mwh[with_demand]
    return {"min_access_share": float(share.min()), "access_gini": gini(share)}


def gini(values: np.ndarray) -> float:
    r"""The Gini coefficient of non-negative values: half their mean absolute difference over their mean.

    .. math:: G = \frac{\sum_i \sum_j |a_i - a_j|}{2 n^2 \bar a}
                = \frac{2 \sum_k k\, a_{(k)}}{n \sum_k a_k} - \frac{n + 1}{n}

    with :math:`a_{(k)}` the values in ascending order (:math:`k = 1 … n`);
    0 when every value is 0.
    """
    ordered = np.sort(np.asarray(values, dtype=float))
    n, total = ordered.size, float(ordered.sum())
    if n == 0 or total <= 0:
        return 0.0
    return max(float(2.0 * (np.arange(1, n + 1) @ ordered) / (n * total) - (n + 1) / n), 0.0)


def make_plan(region: Region, catalogue: Catalogue, scenario: Scenario, coef: Coefficients,
              result: SolveResult) -> Plan:
    """Gather a solved result into a Plan with KPIs and shadow prices."""
    shares = np.zeros((coef.n_parcels, len(USES)))
    shares[coef.parcel, coef.use] = result.x
    kpis = compute_kpis(coef, scenario, result.x, result.served_mwh, result.export_mwh)
    restored = shares[:, USES.index("restoration")]
    baseline = baseline_kpis(coef, region, scenario)
    return Plan(region=region, catalogue=catalogue, scenario=scenario, coef=coef, result=result, shares=shares,
                kpis=kpis, baseline=baseline, shadow_prices=shadow_prices(result, coef, scenario),
                connectivity=connectivity_figures(plan_adjacency(region, coef, restored), coef.area_ha, restored),
                break_even=plan_break_evens(result, coef, catalogue, scenario))


def plan_break_evens(result: SolveResult, coef: Coefficients, catalogue: Catalogue,
                     scenario: Scenario) -> dict[str, dict[str, float | None]]:
    """The break-evens of an optimal LP's idle uses (:func:`~dualuse.model.breakeven.break_evens`); none for a
    MILP, a plan without duals, or an objective other than ``weighted`` (the break-evens price the weighted
    objective's coefficients)."""
    if result.status is not Status.OPTIMAL or not result.duals or scenario.mode != "share" \
            or scenario.min_plant_mwp > 0 or scenario.objective_mode != "weighted" \
            or scenario.restoration_boundary_weight > 0:
        return {}
    return break_evens(coef, catalogue, scenario, result.duals, result.x)


def compute_kpis(coef: Coefficients, scenario: Scenario, x: np.ndarray, served_mwh: np.ndarray,
                 export_mwh: float) -> dict[str, float]:
    """Every KPI of an allocation (:data:`~dualuse.model.kpis.KPIS`), recomputed from the shares, not
    read from the solver's objective."""
    return evaluate_kpis(coef, scenario, x, served_mwh, export_mwh)


def baseline_kpis(coef: Coefficients, region: Region, scenario: Scenario) -> dict[str, float]:
    """The same KPIs for today: every parcel under its current use, nothing delivered."""
    current = (coef.use == USES.index("current")).astype(float)
    return compute_kpis(coef, scenario, current, np.zeros_like(coef.demand_mwh), 0.0)


def shadow_prices(result: SolveResult, coef: Coefficients, scenario: Scenario) -> list[dict[str, Any]]:
    """The policy reading of the LP duals: objective gained per unit each requirement is relaxed.

    Names, units, meanings and signs come from the families table
    (:class:`~dualuse.model.family_table.Dual`); all values are ≥ 0 at an optimum.
    """
    out: list[dict[str, Any]] = []
    for family in FAMILIES:
        if family.dual is None or family.name not in result.duals:
            continue
        duals = result.duals[family.name]
        if isinstance(duals, dict):
            out += [_price(family.dual, dual, coef, group) for group, dual in sorted(duals.items())]
        else:
            out.append(_price(family.dual, duals, coef))
    export_dual = result.col_duals.get("export", math.nan)
    if math.isfinite(export_dual):
        out.append(_price(GRID_EXPORT_DUAL, export_cap_dual(export_dual, result.export_mwh, scenario), coef))
    return out


def export_cap_dual(column_dual: float, export_mwh: float, scenario: Scenario) -> float:
    """The dual of the grid's export capacity: the export column's dual while the export is at its cap.

    A column's dual is the objective's change per unit its active bound
    moves.  Below the cap the export is basic (dual 0) or at its lower bound
    0, where the dual prices that bound, not the cap: the cap's dual is then
    0.  With a cap of 0 both bounds are active, and only a gain from more
    export prices the cap.
    """
    cap = scenario.grid_export_mwh
    if cap <= 0:
        return max(column_dual, 0.0)
    return column_dual if export_mwh >= cap * (1 - 1e-9) else 0.0


def _price(dual: Dual, value: float, coef: Coefficients, group: Any = None) -> dict[str, Any]:
    return {"name": dual.name.format(group=group), "value": float(dual.value(value, coef)) + 0.0,  # no -0.0
            "unit": dual.unit, "meaning": dual.meaning.format(group=group)}


def planner_prices(plan: Plan) -> list[dict[str, Any]]:
    """The shadow prices in a planner's units: households of access, and USD of budget, per unit relaxed.

    With :math:`H` the households without electricity today and :math:`w_a`
    the weight of access, one more household of average demand gaining
    access is worth :math:`w_a / H` of objective; a price :math:`p`
    (objective per unit) is then worth :math:`p H / w_a` households per unit
    (for the budget: households per USD 1 M).  With the budget's price
    :math:`b` (objective per USD 1 M) above 0, a price :math:`p` is also
    worth :math:`10^6 p / b` USD per unit: the budget that would raise the
    objective as much as one unit more of what it prices (for LDN: USD per
    ha less net gain required).  Both are equivalences at the margin, not
    predictions.  One dict per shadow price: ``name``, ``per`` (the unit
    relaxed), ``households`` and ``usd`` (None where they do not apply).
    """
    households = plan.baseline.get("unserved_households", 0.0)
    weight = plan.scenario.weight_access
    per_household = weight / households if households > 0 and weight > 0 else math.nan
    budget = next((s["value"] for s in plan.shadow_prices if s["name"] == "budget"), 0.0)
    out = []
    for price in plan.shadow_prices:
        value = price["value"]
        per = price["unit"].removeprefix("objective per ")
        usd = 1e6 * value / budget if budget > 0 and price["name"] != "budget" else None
        households = value / per_household if math.isfinite(per_household) else None
        out.append({"name": price["name"], "per": per, "households": households, "usd": usd})
    return out

