"""Trends.Earth's SDG 15.3.1 rules, restated independently of dualuse, for the tests to compare against.

Read from ConservationInternational/trends.earth-algorithms at commit
35b2b7d7ed11b03192bc66b3ebe87d04d5bbe616 and ConservationInternational/trends.earth
(the QGIS plugin) at commit a447d15e7e1d5e3f2b2937504345f87763b7ea64:

- ``te_algorithms/gdal/land_deg/land_deg_numba.py``
  - ``calc_deg_sdg`` (lines 528–559): start from productivity; a land-cover or
    SOC decline makes the pixel degraded; a still-stable pixel with a
    land-cover or SOC improvement becomes improved;
  - ``sdg_status_expanded`` (lines 305–335): the 7-class status from the
    baseline and the reporting-period status;
  - ``sdg_status_expanded_to_simple`` (lines 338–366): classes 1–3 degraded,
    4 stable, 5–7 improved;
  - ``recode_deg_soc`` (lines 428–443): SOC change of −10 % or worse degraded,
    +10 % or better improved;
- ``te_algorithms/gdal/land_deg/counterbalancing_numba.py``,
  ``classify_gains_losses`` (lines 56–88): classes 1–2 loss, 6–7 gain, 3–5 neutral;
- the plugin's ``LDMP/data/land_cover_transition_matrix_unccd.json`` (the
  default UNCCD land-cover degradation matrix) and
  ``LDMP/data/land_cover_nesting_unccd_esa.json`` (ESA CCI classes into the
  seven UNCCD classes: shrubland 120–122 and sparse vegetation 150–153 are
  Grassland, bare 200–202 and snow 220 are Other land).

The functions are written element by element, as plain Python, so that they
share no code with dualuse's vectorised version.
"""

from __future__ import annotations

DEGRADED, STABLE, IMPROVED = -1, 0, 1

#: The seven UNCCD land-cover classes, in the plugin's code order 1–7.
TE_CLASSES: tuple[str, ...] = ("Tree-covered", "Grassland", "Cropland", "Wetland", "Artificial", "Other land",
                               "Water body")

#: ``land_cover_transition_matrix_unccd.json``: meaning of each transition, rows = from, columns = to.
TE_MATRIX: dict[str, dict[str, int]] = {
    "Tree-covered": {"Tree-covered": 0, "Grassland": -1, "Cropland": -1, "Wetland": -1, "Artificial": -1,
                     "Other land": -1, "Water body": 0},
    "Grassland": {"Tree-covered": 1, "Grassland": 0, "Cropland": 1, "Wetland": -1, "Artificial": -1,
                  "Other land": -1, "Water body": 0},
    "Cropland": {"Tree-covered": 1, "Grassland": -1, "Cropland": 0, "Wetland": -1, "Artificial": -1,
                 "Other land": -1, "Water body": 0},
    "Wetland": {"Tree-covered": -1, "Grassland": -1, "Cropland": -1, "Wetland": 0, "Artificial": -1,
                "Other land": -1, "Water body": 0},
    "Artificial": {"Tree-covered": 1, "Grassland": 1, "Cropland": 1, "Wetland": 1, "Artificial": 0,
                   "Other land": 1, "Water body": 0},
    "Other land": {"Tree-covered": 1, "Grassland": 1, "Cropland": 1, "Wetland": 1, "Artificial": -1,
                   "Other land": 0, "Water body": 0},
    "Water body": {c: 0 for c in TE_CLASSES},
}

#: dualuse's land types in the UNCCD classes, as ``land_cover_nesting_unccd_esa.json`` nests the ESA classes
#: they stand for (shrubland: ESA 120–122; bare: ESA 200–202).
TE_CLASS_OF: dict[str, str] = {
    "cropland": "Cropland", "grassland": "Grassland", "shrubland": "Grassland", "forest": "Tree-covered",
    "wetland": "Wetland", "bare": "Other land", "artificial": "Artificial", "water": "Water body",
}


def calc_deg_sdg(productivity: int, land_cover: int, soc: int) -> int:
    """SDG 15.3.1 status of one pixel from its three sub-indicators (``calc_deg_sdg``)."""
    status = productivity
    if land_cover == DEGRADED or soc == DEGRADED:
        status = DEGRADED
    if status == STABLE and (land_cover == IMPROVED or soc == IMPROVED):
        status = IMPROVED
    return status


def sdg_status_expanded(baseline: int, reporting: int) -> int:
    """The 7-class status of one pixel (``sdg_status_expanded``)."""
    if baseline == DEGRADED and reporting == DEGRADED:
        return 1
    if baseline in (STABLE, IMPROVED) and reporting == DEGRADED:
        return 2
    if baseline == DEGRADED and reporting == STABLE:
        return 3
    if baseline == STABLE and reporting == STABLE:
        return 4
    if baseline == IMPROVED and reporting == STABLE:
        return 5
    if baseline in (DEGRADED, STABLE) and reporting == IMPROVED:
        return 6
    return 7


def sdg_status_expanded_to_simple(status: int) -> int:
    """The SDG 15.3.1 status of a 7-class status (``sdg_status_expanded_to_simple``)."""
    if status in (1, 2, 3):
        return DEGRADED
    if status == 4:
        return STABLE
    return IMPROVED


def classify_gains_losses(status: int) -> int:
    """Counterbalancing class of a 7-class status (``classify_gains_losses``): −1 loss, 0 neutral, +1 gain."""
    if status in (1, 2):
        return -1
    if status in (6, 7):
        return 1
    return 0


def recode_deg_soc(percent_change: float) -> int:
    """SOC sub-indicator from the percent change of the stock (``recode_deg_soc``)."""
    if percent_change <= -10:
        return DEGRADED
    if percent_change >= 10:
        return IMPROVED
    return STABLE


def land_cover_indicator(from_type: str, to_type: str) -> int:
    """The default matrix's meaning of a transition between two dualuse land types."""
    return TE_MATRIX[TE_CLASS_OF[from_type]][TE_CLASS_OF[to_type]]
