"""The columns of a sweep's or a front's results table: which are varied parameters, KPIs and shadow prices,
how each is labelled (with its unit), and which the report's tables show.
"""

from __future__ import annotations

import pandas as pd

from dualuse.inputs.scenario import PARAMETER_BY_NAME
from dualuse.model.kpis import KPI_UNITS
from dualuse.report.read import PLAN_STATUSES

#: KPIs plotted against each varied parameter, in order, where the results have them.
SWEEP_KPIS: tuple[str, ...] = ("objective", "access", "households_served", "energy_mwh", "capacity_mwp",
                               "productivity", "restored_ha", "ldn_net_ha", "cost_usd")
#: Columns that describe a row rather than measure it.
_META = {"id", "name", "status", "message", "scenario", "explanation", "plan", "plan_path", "gap", "point", "knee"}
_LABELS = {"objective": "Objective", "access": "Unserved demand met [share]",
           "households_served": "Households gaining access", "energy_mwh": "PV generation [MWh/yr]",
           "capacity_mwp": "Installed PV [MWp]", "productivity": "Harvest relative to today",
           "productivity_t": "Harvest [t DM/yr]", "restored_ha": "Restored [ha]", "sdg_degraded_ha": "SDG 15.3.1 degraded [ha]",
           "sdg_improved_ha": "SDG 15.3.1 improved [ha]", "ldn_net_ha": "Net LDN balance [ha]", "cost_usd": "Cost [USD]",
           "served_mwh": "Delivered to households [MWh/yr]", "export_mwh": "Sent to the grid [MWh/yr]",
           "soc_change_t": "Soil carbon change [t C]"}
_PARAMETER_LABELS = {"budget_usd": "Budget", "ldn_target": "LDN net-gain target", "food_floor": "Food-security floor",
                     "max_pv_share": "Largest PV share", "min_restored_ha": "Smallest restored area",
                     "grid_export_mwh": "Grid export limit", "delivery_cost_usd_mwh": "Delivery cost",
                     "delivery_efficiency": "Delivery efficiency", "grid_cost_usd_mw_km": "Grid connection cost",
                     "weight_access": "Weight of access", "weight_energy": "Weight of energy",
                     "weight_productivity": "Weight of harvest", "weight_cost": "Weight of cost",
                     "horizon_years": "LDN horizon", "mtf_tier": "MTF tier", "min_plant_mwp": "Smallest PV plant",
                     "ldn_scope": "LDN scope", "ldn_baseline": "LDN baseline assumption",
                     "productivity_threshold": "Productivity change threshold", "soc_threshold": "SOC change threshold",
                     "priorities": "Priorities", "priority_tolerance": "Priority tolerance",
                     "price_household_usd_mwh": "Household electricity price",
                     "price_export_usd_mwh": "Grid export price", "discount_rate": "Discount rate",
                     "delivery_lifetime_years": "Delivery lifetime", "mode": "Allocation mode",
                     "lp_method": "LP method", "mip_gap": "MIP gap"}
_SUFFIX_UNITS = (("_usd", "USD"), ("_mwh", "MWh/yr"), ("_mw", "MWp"), ("_ha", "ha"), ("_t", "t"), ("_s", "s"),
                 ("_km", "km"))
#: Shadow prices plotted per 1,000 units, so that their values read as ordinary numbers.
_SHADOW_PER_THOUSAND = ("shadow_ldn_", "shadow_grid_export", "shadow_energy_balance")


def shadow_scale(name: str) -> float:
    """The factor a shadow-price column is multiplied by in a chart (1,000 for those per ha or MWh/yr)."""
    return 1000.0 if name.startswith(_SHADOW_PER_THOUSAND) else 1.0


def column_label(name: str, units: dict[str, str]) -> str:
    """A readable axis label with the unit, for a results column."""
    if name in _LABELS:
        return _LABELS[name]
    if name == "shadow_budget":
        return "Budget [objective per USD 1 M]"
    if name.startswith("shadow_ldn_"):
        return f"LDN in {name[len('shadow_ldn_'):]} [objective per 1,000 ha]"
    if name == "shadow_energy_balance":
        return "Generation [objective per 1,000 MWh/yr]"
    if name == "shadow_grid_export":
        return "Grid export capacity [objective per 1,000 MWh/yr]"
    if name == "shadow_food_floor":
        return "Food floor [objective per point of today's harvest]"
    if name in PARAMETER_BY_NAME:
        p = PARAMETER_BY_NAME[name]
        label = _PARAMETER_LABELS.get(name) or _first_phrase(p.help) or name
        return f"{label} [{p.unit}]" if p.unit not in _NO_UNIT else label
    if name in KPI_UNITS:
        unit, meaning = KPI_UNITS[name]
        label = _first_phrase(meaning) or name
        return f"{label} [{unit}]" if unit not in _NO_UNIT else label
    unit = units.get(name) or next((u for suffix, u in _SUFFIX_UNITS if name.endswith(suffix)), "")
    return f"{name} [{unit}]" if unit else name


#: Units not worth printing in a label.
_NO_UNIT = ("—", "-", "")


def _first_phrase(text: str) -> str:
    """The first phrase of a parameter's help or a KPI's meaning, capitalised: its label."""
    for stop in (":", ";", ",", " (", " — "):
        text = text.split(stop)[0]
    text = text.strip()
    return text[:1].upper() + text[1:]


def header_label(name: str, units: dict[str, str]) -> str:
    """The head of a results table's column: the column's label, or its name for ids and texts."""
    if name in _META or name in ("role", "maximise", "against", "epsilon"):
        return {"id": "Id", "name": "Scenario", "status": "Status", "message": "Message", "solve_s": "Solve [s]",
                "point": "Point", "knee": "Knee", "role": "Role", "epsilon": "ε (held value)"}.get(name, name)
    if name.startswith("epsilon_") and name[len("epsilon_"):] in KPI_UNITS:  # a front's held bound
        return f"ε of {column_label(name[len('epsilon_'):], units)}"
    if name == "knee_distance":
        return "Distance beyond the extremes' plane [scaled]"
    label = column_label(name, units)
    return label.replace("per 1,000 ", "per ") if shadow_scale(name) != 1.0 else label  # tables are unscaled


def classify_columns(table: pd.DataFrame) -> dict[str, list[str]]:
    """Sort the columns of a results table: varied parameters (numeric and categorical), KPIs, shadow prices.

    A parameter is a column named like a scenario parameter
    (:data:`~dualuse.inputs.scenario.PARAMETERS`); it is varied when it takes
    more than one value.  Every other numeric column but times and ids is a
    KPI; ``shadow_*`` columns are shadow prices.
    """
    parameters = [c for c in table.columns if c in PARAMETER_BY_NAME]
    varied = [c for c in parameters if table[c].nunique(dropna=True) > 1]
    numeric = [c for c in varied if pd.api.types.is_numeric_dtype(table[c])]
    categorical = [c for c in varied if c not in numeric]
    shadows = [c for c in table.columns if str(c).startswith("shadow_") and pd.api.types.is_numeric_dtype(table[c])]
    kpis = [c for c in table.columns if c not in parameters and c not in _META and c not in shadows
            and pd.api.types.is_numeric_dtype(table[c]) and not str(c).startswith("time")
            and not str(c).endswith("_s")]
    return {"varied": numeric, "categorical": categorical, "kpis": kpis, "shadows": shadows,
            "parameters": parameters}


def has_plan(table: pd.DataFrame) -> pd.Series:
    """Which rows have a plan: status optimal or feasible (or, without a status, an objective)."""
    if "status" in table:
        return table["status"].astype(str).str.lower().isin(PLAN_STATUSES)
    if "objective" in table:
        return table["objective"].notna()
    return pd.Series(True, index=table.index)


def scenario_columns(table: pd.DataFrame) -> list[str]:
    """The columns of the scenario table in the report: who, what varied, the outcome, the headline KPIs."""
    columns = classify_columns(table)
    wanted = ["id", "name", *columns["varied"], *columns["categorical"], "status", "objective",
              *[k for k in SWEEP_KPIS if k != "objective"], *columns["shadows"], "solve_s", "message"]
    return [c for c in dict.fromkeys(wanted) if c in table.columns]


def front_columns(points: pd.DataFrame) -> list[str]:
    """The columns of a front's points table in the report: the two KPIs traded, and how each point was made."""
    traded = [str(points[c].iloc[0]) for c in ("maximise", "against") if c in points and len(points)]
    if "kpis" in points and len(points):  # a front in three or more KPIs
        traded = str(points["kpis"].iloc[0]).split(",")
    wanted = ["point", "role", "status", *traded, "epsilon", *[c for c in points.columns if str(c).startswith("rate_")],
              *[c for c in points.columns if str(c).startswith("epsilon_")], "objective", "knee_distance", "knee",
              "message"]
    shown = [c for c in dict.fromkeys(wanted) if c in points.columns]
    return shown if len(shown) > 2 else [c for c in points.columns if c != "scenario"]
