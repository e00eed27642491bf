r"""Land-based income of every (parcel, use) pair in the normal year and in each drought year.

A drought year changes two terms of a pair's income :math:`I_j`
(:mod:`dualuse.model.livelihood_values`): the harvest, valued at the same
price per t, is the year's harvest :math:`p_{s,j}`, and the community's share
of the PV sales follows the year's generation :math:`E_{s,j}`:

.. math::
    I_{s,j} = v_t p_{s,j} + \lambda_u A_i + \sigma_u\, p_x E_{s,j} + \pi_u A_i
              + p_{CO_2} \tfrac{44}{12} \max(\Delta SOC_j, 0) / H

Leases and payments per hectare, and the soil carbon paid over the horizon,
are those of the normal year: a drought year does not change the area under
a use, and the horizon's carbon is not one year's.  Work is the normal
year's too (labour per hectare, PV operation per MWp and the mini-grid's
operators do not change with one year's rain).
"""

from __future__ import annotations

import numpy as np

from dualuse.inputs.catalogue import Catalogue
from dualuse.inputs.scenario import Scenario
from dualuse.model.coefficients import Coefficients
from dualuse.model.livelihood_values import livelihood_values


def income_by_year(coef: Coefficients, catalogue: Catalogue, scenario: Scenario) -> np.ndarray:
    """Each pair's land-based income [USD/yr] in the normal year (row 0) and in each drought year (rows 1...),
    shape [1 + drought years, pairs]; only the normal year without drought years."""
    harvest = [coef.productivity_t]
    energy = [coef.energy_mwh]
    if coef.drought is not None:
        harvest += list(coef.drought.harvest_t)
        energy += list(coef.drought.energy_mwh)
    land_type = coef.land_type[coef.parcel]
    value_usd_t = catalogue.harvest_value_usd_t[land_type]
    rows = [livelihood_values(catalogue, coef.use, land_type, coef.area_ha[coef.parcel], coef.capacity_mwp,
                              energy_mwh, harvest_t * value_usd_t, coef.soc_change_t,
                              scenario.price_export_usd_mwh, scenario.horizon_years).income_usd_yr
            for harvest_t, energy_mwh in zip(harvest, energy)]
    return np.vstack(rows)
