r"""LDN status of a parcel under a use at the horizon, kept as Trends.Earth keeps it.

SDG 15.3.1 is assessed from three sub-indicators — productivity, land cover
and soil organic carbon (SOC) — each −1 (declining), 0 (stable) or +1
(improving), combined "one out, all out" (:func:`one_out_all_out`): any
decline makes the land degraded; otherwise any improvement makes it
improved.  Trends.Earth (``te_algorithms/gdal/land_deg/land_deg_numba.py``,
``calc_deg_sdg``) combines them so, and this module does the same.

Two statuses follow from the baseline status :math:`d` and the status
:math:`r` in the reporting period (here: at the plan's horizon), as the
UNCCD Good Practice Guidance addendum and Trends.Earth keep them
(``sdg_status_expanded``):

=================  =======  =======  =======
baseline \\ horizon  −1       0        +1
=================  =======  =======  =======
−1 degraded         1        3        6
0 stable            2        4        6
+1 improved         2        5        7
=================  =======  =======  =======

1 persistent degradation, 2 recent degradation, 3 baseline degradation
(degraded at baseline, stable since), 4 stability, 5 baseline improvement,
6 recent improvement, 7 persistent improvement.

- the **SDG 15.3.1 status** (``sdg_status_expanded_to_simple``): classes 1–3
  degraded, 4 stable, 5–7 improved — what the KPIs report as degraded land;
- the **counterbalancing class** (``counterbalancing_numba.classify_gains_losses``):
  classes 1–2 a loss, 6–7 a gain, 3–5 neutral — what the LDN constraint
  sums, per land type, as area of gains minus area of losses.

What a use does to the reporting status :math:`r`:

- its own indicators: the land-cover transition from the parcel's land type
  to the cover the use leaves behind (the catalogue's matrix), the use's
  relative NPP change beyond ±θ_p, and the relative SOC change over the
  horizon beyond ±θ_soc;
- its place in the LDN response hierarchy (Cowie et al. 2018; Trends.Earth's
  ``ldn_planning.py``): only a ``reverse`` action (restoration) creates a gain
  of its own; ``reduce`` and ``avoid`` actions (sustainable grazing,
  protection) prevent losses but gain nothing; a use with response ``none``
  (PV) neither heals degradation nor creates a gain;
- the baseline trend, as the scenario's ``ldn_baseline`` states it:
  ``stable`` — the baseline status holds and only the changes the plan causes
  count (the trend is 0: a degraded parcel left alone is class 3); ``persist``
  — business as usual, the baseline trend recurs to the horizon (a degraded
  parcel left alone is class 1, an improving one class 7), except where a
  ``reduce``, ``avoid`` or ``reverse`` action halts a decline.
"""

from __future__ import annotations

import numpy as np

from dualuse.inputs.catalogue import Catalogue, transition_matrix
from dualuse.inputs.region import Region
from dualuse.inputs.scenario import Scenario
from dualuse.vocabulary import LDN_BASELINES, LDN_RESPONSES

DEGRADED, STABLE, IMPROVING = -1, 0, 1

#: Which responses (:data:`~dualuse.vocabulary.LDN_RESPONSES`) may create gains of their own, and which halt a decline.
CREATES_GAINS: frozenset[str] = frozenset({"reverse"})
HALTS_DECLINE: frozenset[str] = frozenset({"avoid", "reduce", "reverse"})
assert CREATES_GAINS <= HALTS_DECLINE <= set(LDN_RESPONSES)

#: The 7-class status [baseline + 1, reporting + 1] (Trends.Earth ``sdg_status_expanded``).
EXPANDED = np.array([[1, 3, 6],
                     [2, 4, 6],
                     [2, 5, 7]], dtype=np.int8)
#: 7-class status -> SDG 15.3.1 status (index 0 unused).
SDG_OF_CLASS = np.array([0, -1, -1, -1, 0, 1, 1, 1], dtype=np.int8)
#: 7-class status -> counterbalancing class: −1 loss, 0 neutral, +1 gain (index 0 unused).
BALANCE_OF_CLASS = np.array([0, -1, -1, 0, 0, 0, 1, 1], dtype=np.int8)

CLASS_NAMES: dict[int, str] = {
    1: "persistent degradation", 2: "recent degradation", 3: "baseline degradation", 4: "stability",
    5: "baseline improvement", 6: "recent improvement", 7: "persistent improvement",
}


def one_out_all_out(indicators: np.ndarray) -> np.ndarray:
    """SDG status from sub-indicators ``[..., k]`` in −1/0/1: −1 if any is −1, else +1 if any is +1, else 0."""
    declines = (indicators == DEGRADED).any(axis=-1)
    improves = (indicators == IMPROVING).any(axis=-1)
    return np.where(declines, DEGRADED, np.where(improves, IMPROVING, STABLE)).astype(np.int8)


def expanded_status(baseline: np.ndarray, reporting: np.ndarray) -> np.ndarray:
    """The 7-class status (1–7) from the baseline and the reporting-period SDG status (each −1/0/1)."""
    return EXPANDED[np.asarray(baseline, dtype=np.int64) + 1, np.asarray(reporting, dtype=np.int64) + 1]


def sdg_status(expanded: np.ndarray) -> np.ndarray:
    """SDG 15.3.1 status of a 7-class status: classes 1–3 degraded, 4 stable, 5–7 improved."""
    return SDG_OF_CLASS[np.asarray(expanded, dtype=np.int64)]


def balance_class(expanded: np.ndarray) -> np.ndarray:
    """Counterbalancing class of a 7-class status: 1–2 loss (−1), 6–7 gain (+1), 3–5 neutral (0)."""
    return BALANCE_OF_CLASS[np.asarray(expanded, dtype=np.int64)]


def indicator(relative_change: np.ndarray, threshold: float, *, inclusive: bool) -> np.ndarray:
    """−1/0/+1 for a relative change beyond ±``threshold`` (``inclusive``: at the threshold counts)."""
    beyond = np.abs(relative_change) >= threshold if inclusive else np.abs(relative_change) > threshold
    return (np.sign(relative_change) * beyond).astype(np.int8)


def reporting_status(own: np.ndarray, baseline: np.ndarray, response: str, baseline_mode: str) -> np.ndarray:
    """The SDG status at the horizon of parcels under one use.

    Parameters
    ----------
    own : ndarray [parcel, 3] of int — the use's own sub-indicators (productivity, land cover, SOC), −1/0/1
    baseline : ndarray [parcel] of int — the SDG status at baseline, −1/0/1
    response : str — the use's place in the response hierarchy (:data:`~dualuse.vocabulary.LDN_RESPONSES`)
    baseline_mode : str — ``stable`` or ``persist`` (:data:`~dualuse.vocabulary.LDN_BASELINES`)
    """
    own = np.asarray(own, dtype=np.int8)
    if response not in CREATES_GAINS:
        own = np.minimum(own, STABLE)
    if baseline_mode not in LDN_BASELINES:
        raise ValueError(f"unknown LDN baseline {baseline_mode!r}")
    if baseline_mode == "stable":
        trend = np.zeros_like(baseline, dtype=np.int8)
    else:
        trend = np.asarray(baseline, dtype=np.int8)
        if response in HALTS_DECLINE:
            trend = np.maximum(trend, STABLE)
    own = own.reshape(own.shape[0], -1)  # as np.column_stack takes it: one column per sub-indicator
    declines, improves = trend == DEGRADED, trend == IMPROVING  # one out, all out, the trend among them
    for k in range(own.shape[1]):
        declines |= own[:, k] == DEGRADED
        improves |= own[:, k] == IMPROVING
    return np.where(declines, DEGRADED, np.where(improves, IMPROVING, STABLE)).astype(np.int8)


def own_indicators(region: Region, catalogue: Catalogue, scenario: Scenario, matrix: np.ndarray) -> np.ndarray:
    """Each use's own sub-indicators on each parcel: [parcel, use, (productivity, land cover, SOC)].

    Land cover: the matrix cell from the parcel's land type to the cover the
    use leaves behind.  Productivity: the use's relative NPP change beyond
    ±``productivity_threshold``.  SOC: the relative change of the parcel's
    stock over the horizon, −10 % or worse degraded and +10 % or better
    improved at the default ``soc_threshold`` (Trends.Earth's ``recode_deg_soc``);
    a parcel with no stock gains or loses all of it.
    """
    lt = region.land_type
    out = np.empty((region.n_parcels, len(catalogue.uses), 3), dtype=np.int8)
    for u, use in enumerate(catalogue.uses):
        soc_delta_t_ha = use.soc_rate_t_ha_yr[lt] * scenario.horizon_years
        no_stock = np.where(soc_delta_t_ha > 0, np.inf, np.where(soc_delta_t_ha < 0, -np.inf, 0.0))
        relative_soc = np.divide(soc_delta_t_ha, region.soc_t_ha, out=no_stock, where=region.soc_t_ha > 0)
        out[:, u, 0] = indicator(use.npp_change[lt], scenario.productivity_threshold, inclusive=False)
        out[:, u, 1] = matrix[lt, use.cover[lt]]
        out[:, u, 2] = indicator(relative_soc, scenario.soc_threshold, inclusive=True)
    return out


def ldn_classes(region: Region, catalogue: Catalogue, scenario: Scenario) -> dict[str, np.ndarray]:
    """The 7-class status [parcel, use] at the horizon under each baseline assumption of
    :data:`~dualuse.vocabulary.LDN_BASELINES` (the scenario's ``ldn_baseline`` is the one the plan is held to;
    the other is reported beside it)."""
    matrix = transition_matrix(catalogue, scenario.land_cover_matrix)
    own = own_indicators(region, catalogue, scenario, matrix)
    baseline = region.degradation.astype(np.int8)
    out = {}
    for mode in LDN_BASELINES:
        classes = np.empty((region.n_parcels, len(catalogue.uses)), dtype=np.int8)
        for u, use in enumerate(catalogue.uses):
            classes[:, u] = expanded_status(baseline, reporting_status(own[:, u], baseline, use.response, mode))
        out[mode] = classes
    return out
