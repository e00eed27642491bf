r"""The fairness floor's reach: what share of its demand each community can be guaranteed.

The floor ``min_access_share`` asks every community with demand for a share
of it; a community whose own parcels cannot deliver that share gets what they
can deliver, and one whose parcels can carry no PV is left out, so that the
floor never makes a scenario infeasible through land a community does not
have (:func:`dualuse.model.families.min_access` states the rows,
:mod:`dualuse.diagnose.presolve` warns of the communities capped or left out).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dualuse.inputs.scenario import Scenario
from dualuse.model.coefficients import Coefficients
from dualuse.model.per_parcel import largest


@dataclass(frozen=True, eq=False)
class AccessFloor:
    """Per community of the fairness floor: the communities it holds for (indices into ``demand_mwh``),
    each one's floor as a share of its demand, and whether that floor was capped at what the
    community's own parcels can deliver (the rest of the communities with demand: those whose parcels
    can carry no PV, left out)."""

    community: np.ndarray
    share: np.ndarray
    capped: np.ndarray
    left_out: np.ndarray


def access_floor(coef: Coefficients, scenario: Scenario) -> AccessFloor:
    r"""The fairness floor of each community with demand: :math:`\min(m, R_c / D_c)`.

    :math:`m` is ``min_access_share``, :math:`D_c` the community's demand and
    :math:`R_c = \eta \sum_{i \in I_c} \max_u e_{iu}` the most its own parcels
    can deliver (every one under its most productive PV use).  A community
    whose parcels can carry no PV (:math:`R_c = 0`) is left out, and so is
    every community when :math:`m = 0`: the floor never makes a scenario
    infeasible through land a community does not have.
    """
    n = coef.demand_mwh.size
    if scenario.min_access_share <= 0:  # no floor: no community is held, capped or left out
        none = np.zeros(0, dtype=np.int64)
        return AccessFloor(none, np.zeros(0), np.zeros(0, dtype=bool), none.copy())
    most_mwh = np.maximum(0.0, largest(coef, coef.energy_mwh))
    linked = coef.community >= 0
    reach_mwh = scenario.delivery_efficiency * np.bincount(coef.community[linked], weights=most_mwh[linked],
                                                           minlength=n)
    reach_share = np.divide(reach_mwh, coef.demand_mwh, out=np.zeros(n), where=coef.demand_mwh > 0)
    wanted = (coef.demand_mwh > 0) & (scenario.min_access_share > 0)
    held = wanted & (reach_share > 0)
    share = np.minimum(scenario.min_access_share, reach_share)
    capped = held & (reach_share < scenario.min_access_share)
    members = np.flatnonzero(held)
    return AccessFloor(members, share[members], capped[members], np.flatnonzero(wanted & ~held))
