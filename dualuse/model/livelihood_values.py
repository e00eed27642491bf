r"""What each (parcel, use) pair gives the people who live from the land: work and income.

Per pair :math:`j` (parcel :math:`i`, use :math:`u`, land type :math:`t`), for
the whole parcel under the use:

.. math::
    J_j = \ell_{ut} A_i + o_u C_j \quad \text{[FTE]}, \qquad
    B_j = b_u C_j \quad \text{[job-years]},

.. math::
    I_j = v_t p_j + \lambda_u A_i + \sigma_u\, p_x E_j + \pi_u A_i
          + p_{CO_2} \tfrac{44}{12} \max(\Delta SOC_j, 0) / H \quad \text{[USD/yr]}

with :math:`\ell` the labour per hectare of the use on the land type
(``labour_fte_ha_yr``), :math:`o` and :math:`b` the PV operation and
construction employment factors per MWp, :math:`C_j` the PV capacity [MWp];
:math:`v_t p_j` the harvest at its value (the net-benefit objective's price),
:math:`\lambda` a land lease [USD/ha/yr], :math:`\sigma` the community's share of
the PV sales, valued at the grid price :math:`p_x` (``price_export_usd_mwh``),
:math:`E_j` the generation [MWh/yr], :math:`\pi` a payment for ecosystem
services [USD/ha/yr], :math:`p_{CO_2}` the price paid per t CO₂ of soil carbon
gained, :math:`\Delta SOC_j` the SOC change over the horizon :math:`H` [t C].
These are planning estimates from the catalogue's coefficients, not a
household survey.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dualuse.inputs.catalogue import Catalogue

#: t CO2 per t C.
CO2_PER_C = 44.0 / 12.0


@dataclass(frozen=True, eq=False)
class LivelihoodValues:
    """Per pair: permanent work [FTE], construction work [job-years] and land-based income [USD/yr]."""

    jobs_fte: np.ndarray
    construction_job_years: np.ndarray
    income_usd_yr: np.ndarray


def livelihood_values(catalogue: Catalogue, use: np.ndarray, land_type: np.ndarray, area_ha: np.ndarray,
                      capacity_mwp: np.ndarray, energy_mwh: np.ndarray, harvest_value_usd_yr: np.ndarray,
                      soc_change_t: np.ndarray, price_export_usd_mwh: float,
                      horizon_years: float) -> LivelihoodValues:
    """Work and income of each pair (arrays per pair: its use, land type, area [ha], capacity [MWp],
    generation [MWh/yr], harvest value [USD/yr] and SOC change over the horizon [t C])."""
    uses = catalogue.uses
    labour = np.stack([u.labour_fte_ha_yr for u in uses])  # [use, land type]
    operation = np.array([u.operation_fte_mwp for u in uses])
    construction = np.array([u.construction_job_years_mwp for u in uses])
    lease = np.array([u.land_lease_usd_ha_yr for u in uses])
    sales_share = np.array([u.sales_share_to_community for u in uses])
    pes = np.array([u.pes_usd_ha_yr for u in uses])
    jobs_fte = labour[use, land_type] * area_ha + operation[use] * capacity_mwp
    carbon_usd_yr = catalogue.carbon_price_usd_t_co2 * CO2_PER_C * np.maximum(soc_change_t, 0.0) / horizon_years
    income = (harvest_value_usd_yr + (lease[use] + pes[use]) * area_ha
              + sales_share[use] * price_export_usd_mwh * energy_mwh + carbon_usd_yr)
    return LivelihoodValues(jobs_fte=jobs_fte, construction_job_years=construction[use] * capacity_mwp,
                            income_usd_yr=income)
