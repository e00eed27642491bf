"""The model's fast paths give, to the last bit, what the straightforward computations give.

Rows in matrix form without a sort, the KPIs gathered once per column set,
per-parcel maxima by ``reduceat``, the break-evens' prices added at once,
and the pre-solve checks' Lagrangian dual over the non-dominated pairs only:
each is checked here against the plain numpy it replaces, on awkward inputs
(ties, repeated columns, zeros, empty rows) and on a 300-parcel example.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from dualuse.diagnose.lagrangian import dual_function
from dualuse.diagnose.presolve import _maximise_by_bisection, least_cost_usd, ldn_reach
from dualuse.inputs.catalogue import load_catalogue
from dualuse.inputs.region import read_region
from dualuse.inputs.scenario import load_scenario
from dualuse.model.breakeven import _add_terms, _row_keys, _Statement, pair_prices
from dualuse.model.coefficients import compute_coefficients
from dualuse.model.family_table import FAMILIES
from dualuse.model.kpis import KPIS, column_vector, evaluate_kpis
from dualuse.model.livelihoods import today_livelihoods
from dualuse.model.objective import objective_factors
from dualuse.model.rows import Rows
from dualuse.vocabulary import USES

BUSY = {"food_floor": "0.5", "min_access_share": "0.2", "livelihood_floor": "0.5", "jobs_floor": "0.3",
        "max_pv_share": "0.5", "min_restored_ha": "10", "ldn_target": "0.01", "weight_livelihoods": "0.5",
        "drought_food_floor": "0.3"}


@pytest.fixture(scope="module")
def example(example_region):  # type: ignore[no-untyped-def]
    scenario = load_scenario(sets=BUSY)
    return compute_coefficients(read_region(example_region), load_catalogue(), scenario), scenario


def _entries_reference(row, column, value, lower, upper, n_rows) -> Rows:  # type: ignore[no-untyped-def]
    row, value = np.asarray(row, dtype=np.int64), np.asarray(value, dtype=float)
    keep = value != 0.0
    row, column, value = row[keep], np.asarray(column, dtype=np.int64)[keep], value[keep]
    order = np.argsort(row, kind="stable")
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(row, minlength=n_rows), out=indptr[1:])
    return Rows(indptr, column[order].astype(np.int32), value[order],
                np.broadcast_to(np.asarray(lower, dtype=float), (n_rows,)).copy(),
                np.broadcast_to(np.asarray(upper, dtype=float), (n_rows,)).copy())


def _same_rows(a: Rows, b: Rows) -> None:
    for name in ("indptr", "column", "value", "lower", "upper"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name


@pytest.mark.parametrize("n_rows", [1, 3, 300, 70_000])
@pytest.mark.parametrize("ordered", [True, False])
def test_rows_from_entries_equal_a_stable_sort(n_rows: int, ordered: bool) -> None:
    rng = np.random.default_rng(n_rows)
    n = 5_000
    row = rng.integers(0, n_rows, n)
    row = np.sort(row) if ordered else row
    value = rng.choice([0.0, 1.0, -2.5, 1e-300], n)
    column = rng.integers(0, 10 * n, n)
    _same_rows(Rows.from_entries(row, column, value, -1.0, np.arange(n_rows, dtype=float), n_rows),
               _entries_reference(row, column, value, -1.0, np.arange(n_rows, dtype=float), n_rows))
    _same_rows(Rows.single(column, value, 0.5), _entries_reference(np.zeros(n), column, value, 0.5, np.inf, 1))
    _same_rows(Rows.from_entries([], [], [], 0.0, 1.0, n_rows), _entries_reference([], [], [], 0.0, 1.0, n_rows))


def test_adding_terms_at_once_equals_adding_them_in_turn() -> None:
    rng = np.random.default_rng(1)
    for columns in (np.arange(0, 50, 3), rng.permutation(40)[:25], rng.integers(0, 30, 60), np.array([7])):
        price, expected = rng.normal(size=50), None
        expected = price.copy()
        terms = rng.normal(size=columns.size) * 1e-3
        np.add.at(expected, columns, terms)
        _add_terms(price, columns, terms)
        assert np.array_equal(price, expected)


def test_the_kpis_equal_each_rows_own_evaluation(example) -> None:  # type: ignore[no-untyped-def]
    coef, scenario = example
    rng = np.random.default_rng(2)
    x = rng.random(coef.n_pairs)
    served, export = rng.random(coef.demand_mwh.size) * coef.demand_mwh, 123.0
    vector = column_vector(coef, x, served, export)
    fresh = {k.name: k.row(coef, scenario).evaluate(vector) for k in KPIS}  # rows of their own, not shared
    assert evaluate_kpis(coef, scenario, x, served, export) == fresh


def _prices_reference(coef, scenario, duals) -> np.ndarray:  # type: ignore[no-untyped-def]
    price = np.zeros(coef.n_pairs)
    for kpi, factor in objective_factors(coef, scenario):
        row = next(k for k in KPIS if k.name == kpi).row(coef, scenario)
        pairs = row.columns < coef.n_pairs
        np.add.at(price, row.columns[pairs], factor * row.values[pairs])
    statement = _Statement(coef, scenario)
    for family in FAMILIES:
        if family.name == "allocation" or family.structure == "breaks":
            continue
        stated = family.builder(statement, coef, scenario)
        if stated is None:
            continue
        given = duals[family.name]
        y = (np.array([given[key] for key in _row_keys(stated.index)]) if isinstance(given, dict)
             else np.full(stated.rows.n_rows, float(given)))
        rows = stated.rows
        row_of_entry = np.repeat(np.arange(rows.n_rows), np.diff(rows.indptr))
        pairs = rows.column < coef.n_pairs
        np.add.at(price, rows.column[pairs].astype(np.int64), -y[row_of_entry[pairs]] * rows.value[pairs])
    return price


def test_pair_prices_equal_the_terms_added_in_turn(example) -> None:  # type: ignore[no-untyped-def]
    coef, scenario = example
    rng = np.random.default_rng(3)
    statement, duals = _Statement(coef, scenario), {}
    for family in FAMILIES:
        if family.name == "allocation" or family.structure == "breaks":
            continue
        stated = family.builder(statement, coef, scenario)
        if stated is not None:
            duals[family.name] = (float(rng.normal()) if stated.index is None
                                  else {key: float(rng.normal()) for key in _row_keys(stated.index)})
    assert {"ldn_neutrality", "community_supply", "livelihood_floor", "jobs_floor", "pv_cap"} <= set(duals)
    assert np.array_equal(pair_prices(coef, scenario, duals), _prices_reference(coef, scenario, duals))


def test_per_parcel_figures_equal_their_plain_forms(example) -> None:  # type: ignore[no-untyped-def]
    coef, scenario = example
    most = np.zeros(coef.n_parcels)
    np.maximum.at(most, coef.parcel, coef.energy_mwh)
    assert coef.max_energy_mwh == float(most.sum())
    assert np.array_equal(coef.pair_area_ha, coef.area_ha[coef.parcel])
    assert np.array_equal(coef.pair_community, coef.community[coef.parcel])
    current = (coef.use == USES.index("current")).astype(float)
    linked = coef.pair_community >= 0
    income = np.bincount(coef.pair_community[linked], weights=(coef.income_usd_yr * current)[linked],
                         minlength=coef.demand_mwh.size)
    assert np.array_equal(today_livelihoods(coef).income_usd_yr, income)


def _every_pair(coef, value, parcel_group, target):  # type: ignore[no-untyped-def]
    starts = np.searchsorted(coef.parcel, np.arange(coef.n_parcels))
    pair_group = parcel_group[coef.parcel]
    inside = parcel_group >= 0
    group_of_parcel = np.where(inside, parcel_group, 0)

    def evaluate(lam):  # type: ignore[no-untyped-def]
        lam_pair = np.where(pair_group >= 0, lam[np.maximum(pair_group, 0)], 0.0)
        score = coef.cost_usd - lam_pair * value
        best = np.minimum.reduceat(score, starts)
        value_at = np.maximum.reduceat(np.where(score <= best[coef.parcel], value, -np.inf), starts)
        bound = lam * target + np.bincount(group_of_parcel[inside], weights=best[inside], minlength=target.size)
        slope = target - np.bincount(group_of_parcel[inside], weights=value_at[inside], minlength=target.size)
        return bound, slope
    return evaluate


def _tied_pairs(seed: int) -> SimpleNamespace:
    """Parcels of one to five uses, costs and values from a few levels: ties, repeats and dominated pairs."""
    rng = np.random.default_rng(seed)
    eligible = rng.random((60, 5)) < 0.6
    eligible[:, 0] = True
    parcel, use = np.nonzero(eligible)
    cost = rng.choice([0.0, 1.0, 2.0, 2.0, 5.0], parcel.size)
    cost[use == 0] = 0.0
    return SimpleNamespace(parcel=parcel, use=use, cost_usd=cost, n_parcels=60,
                           value=rng.choice([-1.0, 0.0, 0.5, 1.0, 1.0, 3.0], parcel.size),
                           group=rng.integers(-1, 3, 60))


@pytest.mark.parametrize("seed", range(6))
def test_the_dual_over_the_front_pairs_equals_it_over_every_pair(seed: int) -> None:
    pairs = _tied_pairs(seed)
    target = np.array([5.0, 0.0, 12.0])
    fast = dual_function(pairs, pairs.value, pairs.group, target)
    plain = _every_pair(pairs, pairs.value, pairs.group, target)
    for lam in ([0.0, 0.0, 0.0], [1.0, 2.0, 0.5], [1e6, 1e-9, 3.0], [0.5, 0.5, 0.5], [2.0, 1.0, 1.0]):
        for got, want in zip(fast(np.array(lam)), plain(np.array(lam))):
            assert np.array_equal(got, want)
    fast = dual_function(pairs, pairs.value, pairs.group, target)
    reachable = np.ones(3, dtype=bool)
    assert np.array_equal(_maximise_by_bisection(fast, reachable, 60),
                          _maximise_by_bisection(plain, reachable, 60))


def test_the_least_cost_of_ldn_is_the_bisection_over_every_pair(example) -> None:  # type: ignore[no-untyped-def]
    coef, scenario = example
    reach = ldn_reach(coef, scenario)
    target = scenario.ldn_target * reach["area"] + 0.5 * (reach["most"] - scenario.ldn_target * reach["area"])
    got = least_cost_usd(coef, reach["gain"], reach["group"], target)
    plain = _maximise_by_bisection(_every_pair(coef, reach["gain"], reach["group"], target),
                                   np.ones(target.size, dtype=bool), 60)
    assert np.array_equal(got, np.maximum(plain, 0.0)) and (got > 0).any()
