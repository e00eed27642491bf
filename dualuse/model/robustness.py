"""A plan in the drought years: its harvest and energy per year, and the price of holding the drought floor.

:func:`drought_years_table` evaluates shares already chosen in every drought
year of the region (the shares fixed: only the harvest and the PV yield
change).  A run with a drought floor also solves the same scenario without
it, the *nominal* plan; :class:`Robustness` holds the two side by side: the
nominal plan's shortfall in each drought year, and what the robust plan
gives up in the normal year (objective, harvest, energy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dualuse.inputs.scenario import Scenario
from dualuse.model.coefficients import Coefficients
from dualuse.model.drought import counted_probability, counted_years, harvest_ratio, lower_cvar
from dualuse.model.drought_years import DroughtCoefficients


@dataclass(frozen=True, eq=False)
class Robustness:
    """The robust plan against the nominal one (the same scenario with ``drought_food_floor = 0``).

    Attributes
    ----------
    nominal_x : ndarray — the nominal plan's shares per pair
    nominal_objective, robust_objective : float — the two optima (the scenario's objective)
    nominal_kpis : dict — the nominal plan's KPIs in the normal year
    """

    nominal_x: np.ndarray
    nominal_objective: float
    robust_objective: float
    nominal_kpis: dict[str, float]

    @property
    def objective_given_up(self) -> float:
        """What holding the drought floor costs in the normal year: nominal optimum − robust optimum."""
        return self.nominal_objective - self.robust_objective


def year_values(drought: DroughtCoefficients, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per drought year, the harvest [t DM/yr] and PV generation [MWh/yr] of shares ``x`` per pair."""
    x = np.asarray(x, dtype=float)
    return drought.harvest_t @ x, drought.energy_mwh @ x


def scope_measure(drought: DroughtCoefficients, scenario: Scenario, x: np.ndarray) -> float:
    """The harvest ratio that the scenario's ``drought_scope`` holds to the floor: the worst year's
    (``every_scenario``), the probability-weighted mean (``expected``) or the worst ``cvar_alpha``'s mean."""
    years = counted_years(drought)
    if not years.size:
        return math.nan
    ratio = harvest_ratio(drought, x)[years]
    if scenario.drought_scope == "every_scenario":
        return float(ratio.min())
    probability = counted_probability(drought)
    if scenario.drought_scope == "expected":
        return float(probability @ ratio)
    return lower_cvar(ratio, probability, scenario.cvar_alpha)


def drought_years_table(coef: Coefficients, scenario: Scenario, x: np.ndarray,
                        robustness: Robustness | None = None) -> pd.DataFrame:
    """One row per drought year: probability, today's harvest in the year, the floor, the plan's harvest,
    ratio, shortfall and energy, and (with ``robustness``) the nominal plan's."""
    drought = coef.drought
    if drought is None:
        return pd.DataFrame()
    harvest_t, energy_mwh = year_values(drought, x)
    today_t = drought.baseline_harvest_t
    floor_t = scenario.drought_food_floor * today_t if scenario.drought_food_floor > 0 else np.full(today_t.size,
                                                                                                    np.nan)
    frame = pd.DataFrame({"scenario": list(drought.names), "probability": drought.probability,
                          "today_harvest_t": today_t, "floor_t": floor_t, "plan_harvest_t": harvest_t,
                          "plan_harvest_ratio": harvest_ratio(drought, x),
                          "plan_shortfall_t": np.maximum(floor_t - harvest_t, 0.0), "plan_energy_mwh": energy_mwh})
    if robustness is not None:
        nominal_t, nominal_mwh = year_values(drought, robustness.nominal_x)
        frame["nominal_harvest_t"] = nominal_t
        frame["nominal_harvest_ratio"] = harvest_ratio(drought, robustness.nominal_x)
        frame["nominal_shortfall_t"] = np.maximum(floor_t - nominal_t, 0.0)
        frame["nominal_energy_mwh"] = nominal_mwh
    return frame


def robustness_summary_rows(coef: Coefficients, scenario: Scenario, x: np.ndarray, kpis: dict[str, float],
                            robustness: Robustness | None) -> list[dict[str, Any]]:
    """The summary rows of the drought years: the held measure for the plan (and the nominal plan), and
    the price of robustness in the normal year."""
    drought = coef.drought
    if drought is None:
        return []
    scope = scenario.drought_scope
    rows = [{"kpi": "drought_harvest_ratio", "unit": "ratio", "baseline": 1.0,
             "plan": scope_measure(drought, scenario, x),
             "meaning": f"the drought years' harvest ratio that drought_scope = {scope} holds (the plan's harvest "
                        "over today's in the same year), to compare with drought_food_floor"}]
    if robustness is None:
        return rows
    nominal_shortfall = np.maximum(scenario.drought_food_floor * drought.baseline_harvest_t
                                   - drought.harvest_t @ robustness.nominal_x, 0.0)
    rows += [
        {"kpi": "nominal_drought_harvest_ratio", "unit": "ratio", "baseline": 1.0,
         "plan": scope_measure(drought, scenario, robustness.nominal_x),
         "meaning": "the same ratio for the nominal plan, solved without the drought floor"},
        {"kpi": "nominal_drought_shortfall_t", "unit": "t DM/yr", "baseline": math.nan,
         "plan": float(nominal_shortfall.max(initial=0.0)),
         "meaning": "the nominal plan's largest shortfall below the drought floor in any drought year "
                    "(table drought_years has each year's)"},
        {"kpi": "price_of_robustness", "unit": "objective", "baseline": robustness.nominal_objective,
         "plan": robustness.objective_given_up,
         "meaning": "objective given up in the normal year to hold the drought floor: the nominal optimum "
                    "(baseline column) less the robust one"},
    ]
    for name, unit in (("productivity_t", "t DM/yr"), ("energy_mwh", "MWh/yr")):
        if name in kpis and name in robustness.nominal_kpis:
            rows.append({"kpi": f"price_of_robustness_{name}", "unit": unit,
                         "baseline": robustness.nominal_kpis[name], "plan": robustness.nominal_kpis[name] - kpis[name],
                         "meaning": f"normal-year {name} of the nominal plan (baseline column) less the robust plan's"})
    return rows
