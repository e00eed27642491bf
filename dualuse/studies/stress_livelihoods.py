"""Livelihoods in the stress test: each community's land-based income and jobs in every year of a fixed plan.

For the normal year and each drought year :math:`s`, with the plan's shares
:math:`x` and deliveries :math:`s_c`, a community's income is
:math:`I_c(s) = \\sum_{j \\in c} I_{s,j} x_j` (:mod:`dualuse.model.drought_livelihoods`:
the harvest and the PV sales share follow the year) and its jobs
:math:`J_c = \\sum_{j \\in c} J_j x_j + \\mu s_c / h_c`, the same in every year.
Each is set against today's in the same year (every parcel under its
current use, nothing delivered), which ``livelihood_floor`` and
``jobs_floor`` bound when above 0, and against the plan's own normal year.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dualuse.inputs.scenario import Scenario
from dualuse.model.coefficients import Coefficients
from dualuse.model.livelihoods import CURRENT, community_livelihoods, today_livelihoods

#: A share or ratio this far below its floor counts as below it (solver tolerance).
FLOOR_TOLERANCE = 1e-6


def _share(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.divide(numerator, denominator, out=np.full(np.shape(numerator), np.nan, dtype=float),
                     where=np.asarray(denominator) > 0)


def _below(share: np.ndarray, today: np.ndarray, floor: float) -> np.ndarray:
    """Communities with some today that keep less than the floor (none when the floor is off)."""
    if floor <= 0:
        return np.zeros(np.shape(share), dtype=bool)
    return (np.asarray(today) > 0) & (np.nan_to_num(share, nan=np.inf) < floor - FLOOR_TOLERANCE)


def _by_community(coef: Coefficients, values: np.ndarray) -> np.ndarray:
    linked = coef.pair_community >= 0
    return np.bincount(coef.pair_community[linked], weights=values[linked], minlength=coef.demand_mwh.size)


def stress_livelihoods(coef: Coefficients, scenario: Scenario, x: np.ndarray, served_mwh: np.ndarray,
                       income_usd_yr: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The livelihood columns of the stress tables: one row per year, and one per (year, community) in the
    order of :func:`dualuse.studies.stress.evaluate`, from each pair's income per year ``income_usd_yr``
    [year, pair] (normal year first) under the shares ``x`` and the deliveries ``served_mwh`` [MWh/yr]."""
    current = (coef.use == CURRENT).astype(float)
    jobs_c = community_livelihoods(coef, x, served_mwh).jobs_fte
    today_jobs_c = today_livelihoods(coef).jobs_fte
    households_per_mwh = np.divide(1.0, coef.household_mwh, out=np.zeros_like(coef.household_mwh),
                                   where=coef.household_mwh > 0)
    jobs = float(coef.jobs_fte @ x + coef.minigrid_fte_household * (households_per_mwh * served_mwh).sum())
    today_jobs = float(coef.jobs_fte @ current)
    jobs_share_c = _share(jobs_c, today_jobs_c)
    below_jobs = _below(jobs_share_c, today_jobs_c, scenario.jobs_floor)
    normal_c, normal = _by_community(coef, income_usd_yr[0] * x), float(income_usd_yr[0] @ x)
    rows, per_community = [], []
    for income_pair in income_usd_yr:
        income_c, today_c = _by_community(coef, income_pair * x), _by_community(coef, income_pair * current)
        share_c = _share(income_c, today_c)
        below_income = _below(share_c, today_c, scenario.livelihood_floor)
        income, today = float(income_pair @ x), float(income_pair @ current)
        rows.append({"income_usd_yr": income, "today_income_usd_yr": today,
                     "income_share": float(_share(np.array(income), np.array(today))),
                     "income_ratio_normal": float(_share(np.array(income), np.array(normal))),
                     "livelihood_floor": scenario.livelihood_floor, "jobs_fte": jobs, "today_jobs_fte": today_jobs,
                     "jobs_share": float(_share(np.array(jobs), np.array(today_jobs))),
                     "jobs_ratio_normal": 1.0 if jobs > 0 else np.nan, "jobs_floor": scenario.jobs_floor,
                     "communities_below_livelihood_floor": int(below_income.sum()),
                     "communities_below_jobs_floor": int(below_jobs.sum())})
        per_community.append(pd.DataFrame({
            "income_usd_yr": income_c, "today_income_usd_yr": today_c, "income_share": share_c,
            "income_ratio_normal": _share(income_c, normal_c), "livelihood_floor": scenario.livelihood_floor,
            "below_livelihood_floor": below_income, "jobs_fte": jobs_c, "today_jobs_fte": today_jobs_c,
            "jobs_share": jobs_share_c, "jobs_ratio_normal": np.where(jobs_c > 0, 1.0, np.nan),
            "jobs_floor": scenario.jobs_floor, "below_jobs_floor": below_jobs}))
    communities = pd.concat(per_community, ignore_index=True) if coef.demand_mwh.size else pd.DataFrame()
    return pd.DataFrame(rows), communities
