"""dualuse's LDN statuses against Trends.Earth's own rules (tests/trends_earth_reference.py), exhaustively."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from trends_earth_reference import (
    calc_deg_sdg,
    classify_gains_losses,
    recode_deg_soc,
    sdg_status_expanded,
    sdg_status_expanded_to_simple,
)

from dualuse.model.ldn import (
    balance_class,
    expanded_status,
    indicator,
    one_out_all_out,
    reporting_status,
    sdg_status,
)
from dualuse.vocabulary import LDN_BASELINES, LDN_RESPONSES

STATUSES = (-1, 0, 1)
TRIPLES = list(itertools.product(STATUSES, repeat=3))


def test_one_out_all_out_is_calc_deg_sdg_on_all_27_combinations() -> None:
    ours = one_out_all_out(np.array(TRIPLES))
    assert ours.tolist() == [calc_deg_sdg(*t) for t in TRIPLES]


def test_seven_classes_and_their_two_readings_are_trends_earths() -> None:
    pairs = list(itertools.product(STATUSES, STATUSES))
    baseline, reporting = np.array(pairs).T
    classes = expanded_status(baseline, reporting)
    assert classes.tolist() == [sdg_status_expanded(b, r) for b, r in pairs]
    seven = np.arange(1, 8)
    assert sdg_status(seven).tolist() == [sdg_status_expanded_to_simple(c) for c in range(1, 8)]
    assert balance_class(seven).tolist() == [classify_gains_losses(c) for c in range(1, 8)]


def test_soc_indicator_counts_ten_percent_as_trends_earth_does() -> None:
    percent = np.array([-100.0, -10.0001, -10.0, -9.999, 0.0, 9.999, 10.0, 10.0001, 250.0])
    assert indicator(percent / 100.0, 0.10, inclusive=True).tolist() == [recode_deg_soc(p) for p in percent]


@pytest.mark.parametrize("baseline_mode", LDN_BASELINES)
@pytest.mark.parametrize("response", LDN_RESPONSES)
def test_reporting_status_follows_the_response_hierarchy_and_the_baseline(response: str, baseline_mode: str) -> None:
    """Every (own sub-indicators, baseline status): a ``reverse`` action is judged as Trends.Earth judges the
    sub-indicators it observes; any other action cannot improve on its own; under ``persist`` the baseline trend
    joins the productivity sub-indicator, lifted to stable by an action that halts decline."""
    rows = [(own, d) for own in TRIPLES for d in STATUSES]
    own = np.array([r[0] for r in rows])
    baseline = np.array([r[1] for r in rows])
    ours = reporting_status(own, baseline, response, baseline_mode)
    expected = []
    for (p, lc, soc), d in rows:
        if response != "reverse":
            p, lc, soc = min(p, 0), min(lc, 0), min(soc, 0)
        if baseline_mode == "persist":
            trend = max(d, 0) if response in ("avoid", "reduce", "reverse") else d
            p = calc_deg_sdg(p, trend, 0) if trend else p  # the trend as one more sub-indicator
        expected.append(calc_deg_sdg(p, lc, soc))
    assert ours.tolist() == expected


def test_a_degraded_parcel_left_alone_is_class_3_when_stable_and_class_1_when_it_persists() -> None:
    untouched = np.zeros((3, 3), dtype=np.int8)
    baseline = np.array([-1, 0, 1])
    stable = expanded_status(baseline, reporting_status(untouched, baseline, "none", "stable"))
    persist = expanded_status(baseline, reporting_status(untouched, baseline, "none", "persist"))
    assert stable.tolist() == [3, 4, 5] and persist.tolist() == [1, 4, 7]
    assert sdg_status(stable).tolist() == [-1, 0, 1] and balance_class(stable).tolist() == [0, 0, 0]
    assert balance_class(persist).tolist() == [-1, 0, 1]


# --------------------------------------------------------------------------- the coefficients, exhaustively


def _grid_region() -> dict[str, np.ndarray]:
    """The columns of a region with one parcel for every (land type, baseline status, SOC stock): stocks of 1 and
    1000 t C/ha make the same SOC rate a change beyond ±10 % or inside it."""
    from dualuse.vocabulary import LAND_TYPES

    combos = [(t, d, soc) for t in range(len(LAND_TYPES)) for d in STATUSES for soc in (1.0, 1000.0)]
    n = len(combos)
    land, baseline, soc = (np.array(v) for v in zip(*combos))
    fields = dict(parcel_id=np.arange(n), land_type=land.astype(np.int8), degradation=baseline.astype(np.int8),
                  soc_t_ha=soc, area_ha=np.ones(n), pv_yield_kwh_kwp=np.full(n, 1800.0),
                  productivity_t_ha=np.ones(n), slope_deg=np.zeros(n), protected=np.zeros(n, dtype=bool),
                  grid_km=np.zeros(n), community=np.full(n, -1))
    return fields


@pytest.mark.parametrize("npp_change", [-0.5, 0.0, 0.25])
@pytest.mark.parametrize("soc_rate", [-1.0, 0.0, 1.0])
@pytest.mark.parametrize("baseline_mode", LDN_BASELINES)
def test_every_parcel_and_use_is_classed_as_trends_earth_classes_it(npp_change: float, soc_rate: float,
                                                                    baseline_mode: str) -> None:
    """For every land type, baseline status and SOC stock, every use of the default catalogue (its cover under
    Trends.Earth's matrix and its response) with the given NPP change and SOC rate: dualuse's 7-class status,
    SDG 15.3.1 status and counterbalancing class are Trends.Earth's, from the reference rules."""
    import dataclasses
    from types import SimpleNamespace

    from trends_earth_reference import land_cover_indicator

    from dualuse.inputs.catalogue import load_catalogue
    from dualuse.inputs.scenario import load_scenario
    from dualuse.model.ldn import ldn_classes
    from dualuse.vocabulary import LAND_TYPES

    fields = _grid_region()
    region = SimpleNamespace(n_parcels=len(fields["land_type"]), **fields)
    base = load_catalogue()
    uses = tuple(dataclasses.replace(u, npp_change=np.full(len(LAND_TYPES), npp_change),
                                     soc_rate_t_ha_yr=np.full(len(LAND_TYPES), soc_rate))
                 if u.name != "current" else u for u in base.uses)
    catalogue = dataclasses.replace(base, uses=uses)
    scenario = load_scenario(sets={"ldn_baseline": baseline_mode})
    classes = ldn_classes(region, catalogue, scenario)[baseline_mode]
    for i, (t, d, soc) in enumerate(zip(fields["land_type"], fields["degradation"], fields["soc_t_ha"])):
        for u, use in enumerate(catalogue.uses):
            land_cover = land_cover_indicator(LAND_TYPES[t], LAND_TYPES[use.cover[t]])
            npp = use.npp_change[t]
            productivity = (1 if npp > scenario.productivity_threshold else -1 if npp < -scenario.productivity_threshold
                            else 0)
            soc_percent = 100.0 * use.soc_rate_t_ha_yr[t] * scenario.horizon_years / soc
            own = (productivity, land_cover, recode_deg_soc(soc_percent))
            if use.response != "reverse":
                own = tuple(min(v, 0) for v in own)
            p, lc, s = own
            if baseline_mode == "persist":
                trend = max(d, 0) if use.response != "none" else d
                p = calc_deg_sdg(p, trend, 0)
            expected = sdg_status_expanded(int(d), calc_deg_sdg(p, lc, s))
            assert classes[i, u] == expected, (LAND_TYPES[t], int(d), soc, use.name)
            assert sdg_status(np.array([classes[i, u]]))[0] == sdg_status_expanded_to_simple(expected)
            assert balance_class(np.array([classes[i, u]]))[0] == classify_gains_losses(expected)
