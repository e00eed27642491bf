r"""Livelihoods per community: work and land-based income today and in a plan, and the floors that keep them.

A parcel's work and income belong to the community its ``community_id``
names (the same link that carries its power to households: the service
area); a parcel without one counts in the region's totals only.  Per
community :math:`c`, with :math:`J_j`, :math:`I_j` the work [FTE] and income
[USD/yr] of pair :math:`j` (:mod:`dualuse.model.livelihood_values`):

.. math::
    J_c(x, s) = \sum_{j \in c} J_j x_j + \mu\, s_c / h_c, \qquad
    I_c(x) = \sum_{j \in c} I_j x_j

with :math:`\mu` the mini-grid's local operation work per household served
and :math:`s_c / h_c` the households it serves.  Today is every parcel under
its current use and nothing delivered: :math:`J_c^0`, :math:`I_c^0`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo

from dualuse.inputs.scenario import Scenario
from dualuse.model.coefficients import Coefficients
from dualuse.model.families import FamilyRows
from dualuse.model.kpis import served_columns
from dualuse.model.memo import kept
from dualuse.model.per_parcel import largest
from dualuse.model.rows import INF, Rows
from dualuse.vocabulary import USES

CURRENT = USES.index("current")


@dataclass(frozen=True, eq=False)
class CommunityLivelihoods:
    """Per community (in the order of ``coef.community_id``): permanent work [FTE], construction work
    [job-years] and land-based income [USD/yr]."""

    jobs_fte: np.ndarray
    construction_job_years: np.ndarray
    income_usd_yr: np.ndarray


def _households_per_mwh(coef: Coefficients) -> np.ndarray:
    return np.divide(1.0, coef.household_mwh, out=np.zeros_like(coef.household_mwh), where=coef.household_mwh > 0)


def _by_community(coef: Coefficients, values: np.ndarray) -> np.ndarray:
    """Per community, the sum of per-pair ``values`` over its parcels' pairs (in pair order)."""
    # one bin more at the front for the pairs without a community: the communities' sums are the same
    return np.bincount(coef.pair_community + 1, weights=values, minlength=coef.demand_mwh.size + 1)[1:]


def community_livelihoods(coef: Coefficients, x: np.ndarray, served_mwh: np.ndarray) -> CommunityLivelihoods:
    """Each community's work, construction work and income under the shares ``x`` (per pair) and the
    deliveries ``served_mwh`` (per community) [MWh/yr]."""
    x = np.asarray(x, dtype=float)
    minigrid = coef.minigrid_fte_household * _households_per_mwh(coef) * np.asarray(served_mwh, dtype=float)
    return CommunityLivelihoods(jobs_fte=_by_community(coef, coef.jobs_fte * x) + minigrid,
                                construction_job_years=_by_community(coef, coef.construction_job_years * x),
                                income_usd_yr=_by_community(coef, coef.income_usd_yr * x))


def today_livelihoods(coef: Coefficients) -> CommunityLivelihoods:
    """Each community's work and income today: every parcel under its current use, nothing delivered (made once
    per coefficients: treat as read-only)."""
    return kept(coef, "today_livelihoods", ("use", "community", "jobs_fte", "construction_job_years",
                                            "income_usd_yr", "minigrid_fte_household", "household_mwh",
                                            "demand_mwh"),
                lambda: community_livelihoods(coef, (coef.use == CURRENT).astype(float),
                                              np.zeros(coef.demand_mwh.size)))


def most_livelihoods(coef: Coefficients) -> CommunityLivelihoods:
    """The most income and the most work each community's parcels can give, each parcel under its best use for
    it and every household served (bounds for the floors; construction work under the most PV)."""
    def most(values: np.ndarray) -> np.ndarray:
        per_parcel = largest(coef, values)
        linked = coef.community >= 0
        return np.bincount(coef.community[linked], weights=per_parcel[linked], minlength=coef.demand_mwh.size)

    minigrid = coef.minigrid_fte_household * coef.households * (coef.demand_mwh > 0)
    return CommunityLivelihoods(jobs_fte=most(coef.jobs_fte) + minigrid,
                                construction_job_years=most(coef.construction_job_years),
                                income_usd_yr=most(coef.income_usd_yr))


def _group_ids(coef: Coefficients, members: np.ndarray) -> list[str]:
    return [coef.community_id[c] if coef.community_id else str(c) for c in members.tolist()]


def _member_pairs(coef: Coefficients, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pairs on the parcels of the communities ``members``, and each one's row (its community's position
    in ``members``)."""
    row_of = np.full(coef.demand_mwh.size + 1, -1, dtype=np.int64)  # the last entry: parcels without a community
    row_of[members] = np.arange(members.size)
    pair_row = row_of[coef.pair_community]
    pairs = np.flatnonzero(pair_row >= 0)
    return pairs, pair_row[pairs]


def livelihood_floor(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> FamilyRows | None:
    r"""Keep livelihoods: every community keeps at least a share of today's land-based income.

    .. math:: \frac{1}{I_c^0} \sum_{j \in c} I_j x_j \ge \varphi_I \quad \forall c \in C: I_c^0 > 0

    with :math:`\varphi_I` the floor (``livelihood_floor``).  The row is stated
    as a share of today's income, so that its dual is the objective per unit
    share of that community's floor; absent when :math:`\varphi_I = 0`.
    """
    today = today_livelihoods(coef).income_usd_yr
    members = np.flatnonzero(today > 0)
    if scenario.livelihood_floor <= 0 or not members.size:
        return None
    m.LIVELIHOOD_FLOOR = pyo.Set(initialize=_group_ids(coef, members), ordered=True,
                                 doc="communities under the livelihood floor")
    pairs, row = _member_pairs(coef, members)
    rows = Rows.from_entries(row, pairs, coef.income_usd_yr[pairs] / today[members][row],
                             scenario.livelihood_floor, INF, members.size)
    return FamilyRows(rows, "a community's land-based income / today's ≥ the livelihood floor", m.LIVELIHOOD_FLOOR)


def jobs_floor(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> FamilyRows | None:
    r"""Keep work: every community keeps at least a share of today's jobs on its land.

    .. math:: \frac{1}{J_c^0} \Big(\sum_{j \in c} J_j x_j + \mu\, s_c / h_c\Big) \ge \varphi_J
              \quad \forall c \in C: J_c^0 > 0

    with :math:`\varphi_J` the floor (``jobs_floor``) and :math:`\mu s_c / h_c`
    the mini-grid's local operation work; absent when :math:`\varphi_J = 0`.
    """
    today = today_livelihoods(coef).jobs_fte
    members = np.flatnonzero(today > 0)
    if scenario.jobs_floor <= 0 or not members.size:
        return None
    m.JOBS_FLOOR = pyo.Set(initialize=_group_ids(coef, members), ordered=True, doc="communities under the jobs floor")
    pairs, row = _member_pairs(coef, members)
    minigrid = coef.minigrid_fte_household * _households_per_mwh(coef)[members] / today[members]
    rows = Rows.from_entries(np.concatenate([row, np.arange(members.size)]),
                             np.concatenate([pairs, served_columns(coef)[members]]),
                             np.concatenate([coef.jobs_fte[pairs] / today[members][row], minigrid]),
                             scenario.jobs_floor, INF, members.size)
    return FamilyRows(rows, "a community's jobs / today's ≥ the jobs floor", m.JOBS_FLOOR)


def worst_shares(coef: Coefficients, x: np.ndarray, served_mwh: np.ndarray) -> dict[str, float]:
    """The lowest share of today's income, and of today's jobs, any community keeps in the plan (NaN when no
    community has any today)."""
    today, planned = today_livelihoods(coef), community_livelihoods(coef, x, served_mwh)
    out = {}
    for key, name in (("income_usd_yr", "min_income_share"), ("jobs_fte", "min_jobs_share")):
        base, value = getattr(today, key), getattr(planned, key)
        held = base > 0
        out[name] = float((value[held] / base[held]).min()) if held.any() else float("nan")
    return out


def livelihood_columns(coef: Coefficients, x: np.ndarray, served_mwh: np.ndarray,
                       rural_households: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The communities layer's livelihood columns: work [FTE] and income [USD/yr] today, in the plan and their
    change, construction work [job-years], the relative change of income, and with ``rural_households``
    (people who live from the land, per community; NaN unknown) the income per household [USD/yr]."""
    today, planned = today_livelihoods(coef), community_livelihoods(coef, x, served_mwh)
    n = coef.demand_mwh.size
    out = {
        "jobs_fte_today": today.jobs_fte.copy(), "jobs_fte": planned.jobs_fte,
        "jobs_fte_change": planned.jobs_fte - today.jobs_fte,
        "construction_job_years": planned.construction_job_years,
        "income_usd_yr_today": today.income_usd_yr.copy(), "income_usd_yr": planned.income_usd_yr,
        "income_usd_yr_change": planned.income_usd_yr - today.income_usd_yr,
        "income_change_share": np.divide(planned.income_usd_yr - today.income_usd_yr, today.income_usd_yr,
                                         out=np.full(n, np.nan), where=today.income_usd_yr > 0),
    }
    households = np.full(n, np.nan) if rural_households is None else np.asarray(rural_households, dtype=float)
    known = np.isfinite(households) & (households > 0)
    for name, values in (("income_usd_yr_per_household_today", today.income_usd_yr),
                         ("income_usd_yr_per_household", planned.income_usd_yr)):
        out[name] = np.divide(values, households, out=np.full(n, np.nan), where=known)
    return out
