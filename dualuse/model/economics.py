r"""A plan's economics: the levelised cost of its PV, and its net benefit per use [USD/yr].

Both are ratios or shares of the net benefit (the KPI ``net_benefit_usd_yr``,
:mod:`dualuse.model.kpis`), so they are computed from a solution, not
written as rows of the model.
"""

from __future__ import annotations

import math

import numpy as np

from dualuse.inputs.scenario import Scenario
from dualuse.model.coefficients import Coefficients
from dualuse.model.kpis import net_value_usd_per_mwh
from dualuse.vocabulary import USES

#: The uses that generate electricity.
PV_USES: tuple[str, ...] = ("solar", "agrivoltaic")


def _pv_pairs(coef: Coefficients) -> np.ndarray:
    return np.isin(coef.use, [USES.index(u) for u in PV_USES])


def pv_lcoe_usd_mwh(coef: Coefficients, x: np.ndarray) -> float:
    r"""The levelised cost of the plan's PV generation [USD/MWh]; NaN when the plan generates none.

    .. math:: \mathrm{LCOE} = \frac{\sum_{j \in PV} (\mathrm{CRF}_u K_j + o^{MW}_u C_j + o^{ha}_u A_j)\, x_j}
                                   {\sum_{j \in PV} E_j x_j}

    with the yearly cost of each PV pair (its capital cost, grid connection
    included, annualised over the use's life, and its operating cost:
    :func:`~dualuse.model.coefficients.annual_cost`) and its generation
    :math:`E_j` [MWh/yr].  Delivery to households is not in it.
    """
    pv = _pv_pairs(coef)
    energy_mwh = float(coef.energy_mwh[pv] @ x[pv])
    if energy_mwh <= 0:
        return math.nan
    return float(coef.annual_cost_usd_yr[pv] @ x[pv]) / energy_mwh


def net_benefit_by_use(coef: Coefficients, scenario: Scenario, x: np.ndarray, served_mwh: np.ndarray,
                       export_mwh: float) -> dict[str, float]:
    r"""The net benefit [USD/yr] of each use's land; they add up to the KPI ``net_benefit_usd_yr``.

    A use's pairs bring their harvest value less their yearly cost; the
    energy sold (to households net of the annualised delivery cost, and to
    the grid) goes to the PV uses in proportion to their generation.
    """
    own = np.bincount(coef.use, weights=(coef.harvest_value_usd_yr - coef.annual_cost_usd_yr) * x,
                      minlength=len(USES))
    energy = np.bincount(coef.use, weights=coef.energy_mwh * x, minlength=len(USES))
    sold = float(net_value_usd_per_mwh(coef, scenario) @ served_mwh) + scenario.price_export_usd_mwh * export_mwh
    total_energy = float(energy.sum())
    if total_energy > 0:
        own = own + sold * energy / total_energy
    return {use: float(own[k]) + 0.0 for k, use in enumerate(USES)}
