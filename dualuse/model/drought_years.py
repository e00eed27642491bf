"""Per drought year and (parcel, use) pair: harvest and energy, from the region's drought years and the catalogue.

In drought year :math:`s` the current use of parcel :math:`i` yields
:math:`y_{si}` [t DM/ha] (the region's ``productivity_scenarios``) and a
use :math:`u` keeps :math:`\\rho^d_u(t_i)` of it (the catalogue's
``drought_retention``, by default its normal-year ``retention``), so that

.. math:: p_{s,iu} = A_i\\, y_{si}\\, \\rho^d_u(t_i), \\qquad P_{0,s} = \\sum_i A_i\\, y_{si}

and PV generates :math:`e_{s,iu} = C_{iu}\\, \\mathrm{PV}_{si}` [MWh/yr].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dualuse.inputs.catalogue import Catalogue
from dualuse.inputs.drought import DroughtYears


@dataclass(frozen=True, eq=False)
class DroughtCoefficients:
    """The model's data for the drought years.

    Attributes
    ----------
    names : tuple of str — the drought years
    probability : ndarray — per year, its probability
    harvest_t : ndarray [year, pair] — harvest of the whole parcel under the use in that year [t DM/yr]
    energy_mwh : ndarray [year, pair] — PV generation of the whole parcel under the use in that year [MWh/yr]
    baseline_harvest_t : ndarray — per year, today's harvest in that year: every parcel under its current use
        [t DM/yr]
    parcel_baseline_t : ndarray [year, parcel] — today's harvest of each parcel in that year [t DM/yr]
    """

    names: tuple[str, ...]
    probability: np.ndarray
    harvest_t: np.ndarray
    energy_mwh: np.ndarray
    baseline_harvest_t: np.ndarray
    parcel_baseline_t: np.ndarray

    @property
    def n_years(self) -> int:
        return len(self.names)


def drought_coefficients(years: DroughtYears | None, catalogue: Catalogue, parcel: np.ndarray, use: np.ndarray,
                         area_ha: np.ndarray, land_type: np.ndarray,
                         capacity_mwp: np.ndarray) -> DroughtCoefficients | None:
    """Harvest and energy of every pair in every drought year (None without drought years)."""
    if years is None:
        return None
    retention = np.stack([u.drought_retention_or_normal for u in catalogue.uses])   # [use, land type]
    # in place, in the memory order the year tables' own gives (the products' sums depend on it)
    harvest_t = np.asarray(years.productivity_t_ha, dtype=float)[:, parcel]
    harvest_t *= area_ha[parcel] * retention[use, land_type[parcel]]
    energy_mwh = np.asarray(years.pv_yield_kwh_kwp, dtype=float)[:, parcel]
    energy_mwh *= capacity_mwp
    parcel_baseline_t = years.productivity_t_ha * area_ha
    return DroughtCoefficients(names=years.names, probability=years.probability, harvest_t=harvest_t,
                               energy_mwh=energy_mwh, baseline_harvest_t=parcel_baseline_t.sum(axis=1),
                               parcel_baseline_t=parcel_baseline_t)
