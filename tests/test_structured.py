"""The structured solve of the share-mode LP gives the general solve's optimum, valid shadow prices and a
feasible plan, or says it is not certified.

The reference is the general path: the same LP through ``compile_model`` and
``run_highs`` with interior point (``solver="ipx"``) and crossover, or HiGHS's
simplex on a hand-made LP.  Checks, each independent of the structured code:

- the objectives agree to 1e-9 relative;
- the duals the structured solve returns are an optimal dual solution of the
  whole LP: the LP-duality bound they give equals the objective to 1e-9
  relative (:func:`duality_bound`, from the full matrix).  This is the
  shadow-price property; where the optimum is degenerate, several dual
  solutions have it (a community whose delivery equals both its demand and
  its parcels' generation splits its dual between the two), so
  ``community_supply`` duals may differ from the general solve's while both
  pass this check;
- the duals of the policy rows (budget, LDN, food floor, caps), unique in
  these scenarios, agree with the general solve's to 1e-6 of the largest of
  them (``energy_balance``, like ``community_supply``, shares the delivery
  columns and its dual may differ, both being optimal);
- the solution is feasible for the whole LP (rows and bounds to 1e-7 of
  1 + |bound|).
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo
import pytest
import scipy.sparse as sp

from dualuse.inputs.catalogue import load_catalogue
from dualuse.inputs.region import read_region
from dualuse.inputs.scenario import make_scenario
from dualuse.model.build import ELASTIC_FAMILIES, build_model
from dualuse.model.coefficients import compute_coefficients
from dualuse.solve.handover import LpArrays
from dualuse.solve.highs import compile_model, highs_options, objective_scale, run_highs
from dualuse.solve.structured import (
    StructuredResult,
    StructuredStatus,
    solve_structured,
)


def _tie_free_catalogue():
    """The shipped catalogue but for regeneration on cropland keeping 95 % of the harvest instead of all of it:
    with the shipped retention of 1, restoring one cropland parcel or another of the same cost is a tie, the
    LP's duals are then not unique, and the comparisons below of the two solves' shadow prices need them to be."""
    import dataclasses

    from dualuse.vocabulary import LAND_TYPES

    shipped = load_catalogue(Path(__file__).resolve().parents[1] / "models" / "landuses.toml")
    retention = shipped.use("restoration").retention.copy()
    retention[LAND_TYPES.index("cropland")] = 0.95
    uses = tuple(dataclasses.replace(u, retention=retention) if u.name == "restoration" else u for u in shipped.uses)
    return dataclasses.replace(shipped, uses=uses)


CATALOGUE = _tie_free_catalogue()
INF = highspy.kHighsInf
OBJECTIVE_RTOL = 1e-9
DUAL_RTOL = 1e-6
FEASIBILITY = 1e-7
#: One threads value for every HiGHS run in the process (FACTS.md: HiGHS keeps one scheduler per process).
OPTIONS: dict[str, Any] = {"output_flag": False, "threads": 1}


# --------------------------------------------------------------------------- independent checks


def full_matrix(a: LpArrays) -> sp.csr_matrix:
    make = sp.csr_matrix if a.rowwise else sp.csc_matrix
    return make((a.value, a.index, a.start), shape=(a.num_row, a.num_col)).tocsr()


def violation(a: LpArrays, x: np.ndarray) -> float:
    """The largest violation of a row or a column bound by ``x``, relative to 1 + |bound|."""
    activity = full_matrix(a) @ x
    over = np.maximum(a.row_lower - activity, activity - a.row_upper)
    scale = 1.0 + np.where(activity < a.row_lower, np.abs(a.row_lower), np.abs(a.row_upper))
    size = np.minimum(np.abs(a.col_lower), np.abs(a.col_upper))
    column = np.maximum(a.col_lower - x, x - a.col_upper) / (1.0 + np.where(np.isfinite(size), size, 0.0))
    return float(max(np.max(over / np.where(np.isfinite(scale), scale, 1.0), initial=0.0),
                     np.max(column, initial=0.0)))


def duality_bound(a: LpArrays, row_dual: np.ndarray) -> float:
    """The bound on the LP's optimum that row duals ``y`` give (HiGHS's sign: ∂objective/∂bound):
    ``Σ_r y_r·(bound it points at) + Σ_j max or min over the column's bounds of (c − Aᵀy)_j x_j``."""
    s = 1.0 if a.sense == pyo.maximize else -1.0
    y = row_dual
    reduced = a.col_cost - full_matrix(a).T @ y
    rows = np.where(s * y > 0, y * np.where(s * y > 0, a.row_upper, 0.0), y * np.where(s * y < 0, a.row_lower, 0.0))
    tiny = np.abs(reduced) <= 1e-13 * (np.abs(a.col_cost) + abs(full_matrix(a)).T @ np.abs(y) + 1e-300)
    at = np.where(s * reduced > 0, a.col_upper, a.col_lower)
    assert np.all(tiny | np.isfinite(at)), "a dual that points at an infinite column bound"
    columns = np.where(tiny, 0.0, reduced * np.where(tiny, 0.0, at))
    assert np.all(np.isfinite(rows)), "a dual that points at an infinite row bound"
    return float(a.offset + rows.sum() + columns.sum())


def highs_reference(a: LpArrays, solver: str = "simplex") -> tuple[str, float, np.ndarray]:
    h = highspy.Highs()
    for key, value in {**OPTIONS, "solver": solver}.items():
        h.setOptionValue(key, value)
    a.pass_to(h)
    h.run()
    return (h.modelStatusToString(h.getModelStatus()), h.getInfo().objective_function_value,
            np.asarray(h.getSolution().row_dual))


def assert_exact(result: StructuredResult, a: LpArrays, objective: float) -> None:
    """Certified, the reference's objective, optimal duals and a feasible solution."""
    assert result.status is StructuredStatus.CERTIFIED, result.reason
    assert result.certificate.check_iterations == 0
    assert result.certificate.max_reduced_cost <= 1e-6
    assert abs(result.objective - objective) <= OBJECTIVE_RTOL * max(1.0, abs(objective))
    assert abs(duality_bound(a, result.row_dual) - objective) <= OBJECTIVE_RTOL * max(1.0, abs(objective))
    assert violation(a, result.col_value) <= FEASIBILITY
    assert result.row_dual.size == a.num_row and result.col_value.size == a.num_col
    np.testing.assert_array_equal(result.coupling_dual, result.row_dual[a.num_row - result.coupling_dual.size:])


# --------------------------------------------------------------------------- hand-made LPs


def random_lp(rng: np.random.Generator, n_parcels: int, n_rows: int, n_extra: int, sense: int,
              rowwise: bool, free_extra: bool = False) -> tuple[LpArrays, int, int]:
    """An LP of the share-mode shape with random coupling rows (≤, ≥, = and ranged), feasible by
    construction: its bounds are set around the activity of a random allocation."""
    counts = rng.integers(1, 5, n_parcels)
    n_pairs = int(counts.sum())
    parcel = np.repeat(np.arange(n_parcels), counts)
    n_col = n_pairs + n_extra
    coupling = sp.random(n_rows, n_col, density=0.5, random_state=rng,
                         data_rvs=lambda k: rng.normal(size=k) * rng.choice([1.0, 100.0], size=k)).tocsr()
    x0 = np.zeros(n_col)
    for i in range(n_parcels):
        x0[:n_pairs][parcel == i] = rng.dirichlet(np.ones(counts[i]))
    extra_lower = np.where(rng.random(n_extra) < 0.5, 0.0, -3.0)
    extra_upper = extra_lower + rng.uniform(1.0, 5.0, n_extra)
    if free_extra:
        extra_lower[:], extra_upper[:] = -INF, INF
    x0[n_pairs:] = rng.uniform(np.maximum(extra_lower, -3.0), np.minimum(extra_upper, 3.0))
    activity = coupling @ x0
    kind = rng.integers(0, 4, n_rows)  # ≤, ≥, =, ranged
    slack = rng.uniform(0.0, 2.0, n_rows) * (1.0 + np.abs(activity))
    row_lower = np.where(kind == 0, -INF, np.where(kind == 2, activity, activity - slack))
    row_upper = np.where(kind == 1, INF, np.where(kind == 2, activity, activity + slack))
    allocation = sp.csr_matrix((np.ones(n_pairs), (parcel, np.arange(n_pairs))), shape=(n_parcels, n_col))
    matrix = sp.vstack([allocation, coupling]).tocsr() if rowwise else sp.vstack([allocation, coupling]).tocsc()
    matrix.sort_indices()
    lp = LpArrays(sense, 0.5, rng.normal(size=n_col) * 1e-3, np.r_[np.zeros(n_pairs), extra_lower],
                  np.r_[np.ones(n_pairs), extra_upper], np.r_[np.ones(n_parcels), row_lower],
                  np.r_[np.ones(n_parcels), row_upper], matrix.indptr.astype(np.int32),
                  matrix.indices.astype(np.int32), matrix.data.astype(float), np.zeros(n_col, dtype=bool), rowwise)
    return lp, n_parcels, n_pairs


@pytest.mark.parametrize("seed", range(24))
def test_random_lps_reach_the_simplex_optimum(seed: int) -> None:
    rng = np.random.default_rng(seed)
    lp, n_parcels, n_pairs = random_lp(rng, int(rng.integers(1, 200)), int(rng.integers(0, 12)),
                                       int(rng.integers(0, 4)), pyo.maximize if seed % 2 else pyo.minimize,
                                       rowwise=seed % 3 != 0)
    status, objective, _ = highs_reference(lp)
    assert status == "Optimal"
    assert_exact(solve_structured(lp, n_parcels, n_pairs, OPTIONS), lp, objective)


def test_free_extra_columns_held_only_by_coupling_rows() -> None:
    """Free columns after the pairs: the elastic columns must not let the first masters run away."""
    for seed in range(6):
        lp, n_parcels, n_pairs = random_lp(np.random.default_rng(100 + seed), 60, 6, 3, pyo.maximize, True,
                                           free_extra=True)
        status, objective, _ = highs_reference(lp)
        result = solve_structured(lp, n_parcels, n_pairs, OPTIONS)
        if status == "Optimal":
            assert_exact(result, lp, objective)
        else:
            assert not result.status.has_solution


def budget_lp(budget: float) -> tuple[LpArrays, int, int]:
    r"""Three parcels, each 'keep' (profit 0, cost 0) or 'solar' (profit 1, 2 or 3; cost 1 each), and a budget
    row: the budget buys the most profitable solar first, so for a budget of 1.5 the optimum is
    3 + 0.5·2 = 4 with the middle parcel split, and the budget's dual is 2."""
    n_parcels, n_pairs = 3, 6
    rows = [[0, 1], [2, 3], [4, 5], [1, 3, 5]]
    values = [[1, 1], [1, 1], [1, 1], [1, 1, 1]]
    start = np.cumsum([0] + [len(r) for r in rows]).astype(np.int32)
    lp = LpArrays(pyo.maximize, 0.0, np.array([0.0, 1.0, 0.0, 2.0, 0.0, 3.0]), np.zeros(n_pairs), np.ones(n_pairs),
                  np.array([1.0, 1.0, 1.0, -INF]), np.array([1.0, 1.0, 1.0, budget]), start,
                  np.concatenate(rows).astype(np.int32), np.concatenate(values).astype(float),
                  np.zeros(n_pairs, dtype=bool))
    return lp, n_parcels, n_pairs


def test_the_budget_buys_the_most_profitable_solar_first() -> None:
    lp, n_parcels, n_pairs = budget_lp(1.5)
    result = solve_structured(lp, n_parcels, n_pairs, OPTIONS)
    assert_exact(result, lp, 4.0)
    np.testing.assert_allclose(result.col_value, [1.0, 0.0, 0.5, 0.5, 0.0, 1.0], atol=1e-12)
    assert result.coupling_dual[0] == pytest.approx(2.0, rel=1e-12)
    assert result.certificate.lagrangian_bound == pytest.approx(4.0, rel=1e-12)


def test_an_lp_without_coupling_rows_puts_each_parcel_on_its_best_pair() -> None:
    lp, n_parcels, n_pairs = random_lp(np.random.default_rng(5), 40, 0, 0, pyo.minimize, True)
    result = solve_structured(lp, n_parcels, n_pairs, OPTIONS)
    status, objective, _ = highs_reference(lp)
    assert_exact(result, lp, objective)


def test_infeasible_and_unbounded_lps_are_not_certified() -> None:
    lp, n_parcels, n_pairs = budget_lp(1.5)
    lp.row_lower[3] = 5.0  # spend at least 5 on three parcels that cost at most 1 each
    lp.row_upper[3] = INF
    infeasible = solve_structured(lp, n_parcels, n_pairs, OPTIONS, max_rounds=8)
    assert infeasible.status is StructuredStatus.NOT_CERTIFIED and infeasible.reason
    assert highs_reference(lp)[0] == "Infeasible"

    lp, n_parcels, n_pairs = budget_lp(1.5)
    lp.col_cost[:] = 0.0
    unbounded = LpArrays(lp.sense, 0.0, np.r_[lp.col_cost, 1.0], np.r_[lp.col_lower, 0.0], np.r_[lp.col_upper, INF],
                         lp.row_lower, lp.row_upper, lp.start, lp.index, lp.value, np.zeros(7, dtype=bool))
    result = solve_structured(unbounded, n_parcels, n_pairs, OPTIONS)  # column 6 is in no row
    assert result.status is StructuredStatus.NOT_CERTIFIED and "unbounded" in result.reason
    for no_solution in (infeasible, result):
        assert no_solution.col_value.size == 0 and math.isnan(no_solution.objective)


@pytest.mark.parametrize("change", ["coefficient", "order", "bound", "integer", "rhs"])
def test_an_lp_of_another_shape_is_not_certified(change: str) -> None:
    lp, n_parcels, n_pairs = budget_lp(1.5)
    if change == "coefficient":
        lp.value[0] = 2.0
    elif change == "order":
        lp.index[:4] = [0, 2, 1, 3]  # parcel 0 owns pairs 0 and 2: not consecutive
    elif change == "bound":
        lp.col_lower[2] = 0.25
    elif change == "integer":
        lp.integral[1] = True
    else:
        lp.row_upper[1] = 2.0
    result = solve_structured(lp, n_parcels, n_pairs, OPTIONS)
    assert result.status is StructuredStatus.NOT_CERTIFIED
    assert result.reason.startswith("not the share-mode shape")


def test_too_few_rounds_or_too_little_time_give_no_solution() -> None:
    lp, n_parcels, n_pairs = random_lp(np.random.default_rng(11), 150, 8, 2, pyo.maximize, True)
    for kwargs, options in (({"max_rounds": 1}, {}), ({}, {"time_limit": 1e-9})):
        result = solve_structured(lp, n_parcels, n_pairs, {**OPTIONS, **options}, **kwargs)
        if result.status.has_solution:  # one round can be enough: then it must be the optimum
            assert_exact(result, lp, highs_reference(lp)[1])
            continue
        assert result.col_value.size == 0 and result.row_dual.size == 0
        assert result.coupling_dual.size == lp.num_row - n_parcels  # still a seed for the next solve


# --------------------------------------------------------------------------- dualuse's own LP


def _bench_module():
    """``benchmarks/bench_structured.py``, whose regions the tests solve too."""
    spec = importlib.util.spec_from_file_location("dualuse_bench_structured",
                                                  Path(__file__).resolve().parents[1] / "benchmarks" /
                                                  "bench_structured.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def region_file(tmp: Path, parcels: int, seed: int, parcels_per_community: int | None = None) -> Path:
    """An example region; with ``parcels_per_community``, its communities replaced by many small ones
    (the benchmark's :func:`write_region`), written once per test module."""
    path = tmp / f"region-{parcels}-{seed}-{parcels_per_community}.gpkg"
    if not path.exists():
        _bench_module().write_region(path, parcels, seed, parcels_per_community)
    return path


@pytest.fixture(scope="module")
def regions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("structured")


def compiled_lp(path: Path, elastic: bool = False, **values: Any) -> tuple[Any, Any, dict[str, Any]]:
    scenario = make_scenario(values)
    coef = compute_coefficients(read_region(path), CATALOGUE, scenario)
    model = build_model(coef, scenario, frozenset(ELASTIC_FAMILIES) if elastic else frozenset())
    compiled = compile_model(model, coef.n_pairs, coef.n_parcels)
    compiled.model = model  # the rows name their constraints through the model: keep it alive as long
    options = highs_options(scenario, False)
    options["user_objective_scale"] = objective_scale(compiled.arrays.col_cost)
    return compiled, coef, options


def general_solve(compiled: Any, options: dict[str, Any]) -> tuple[float, np.ndarray]:
    """The general path: interior point with crossover on the whole LP."""
    h, _ = run_highs(compiled, {**options, "solver": "ipx", "run_crossover": "on"})
    assert h.modelStatusToString(h.getModelStatus()) == "Optimal"
    return h.getInfo().objective_function_value, np.asarray(h.getSolution().row_dual)


def assert_matches_general_solve(compiled: Any, coef: Any, options: dict[str, Any],
                                 **kwargs: Any) -> StructuredResult:
    lp = compiled.arrays
    result = solve_structured(lp, coef.n_parcels, coef.n_pairs, options, **kwargs)
    objective, row_dual = general_solve(compiled, options)
    assert_exact(result, lp, objective)
    assert abs(duality_bound(lp, row_dual) - objective) <= OBJECTIVE_RTOL * max(1.0, abs(objective))
    names = [compiled.rows[r].constraint.parent_component().local_name for r in range(coef.n_parcels, lp.num_row)]
    policy = np.flatnonzero(np.isin(names, POLICY_ROWS)) + coef.n_parcels
    # both dual vectors are optimal (each gives a duality bound equal to the objective, asserted above); an LDN
    # row at neutrality has a right-hand side of 0, so the bound cannot pin its dual, and when the LP is
    # dual degenerate there two optimal vertices price it differently (seen up to 1.6× apart on the example
    # regions with the 2026.12 catalogue, where regenerated cropland keeps its harvest): those rows are checked
    # as optimal, the rest to DUAL_RTOL
    pinned = policy[(np.asarray(names)[policy - coef.n_parcels] != "ldn_neutrality")
                    | (np.abs(lp.row_lower[policy]) > 0)]
    scale = max(float(np.max(np.abs(row_dual[policy]))), 1e-300)
    np.testing.assert_allclose(result.row_dual[pinned], row_dual[pinned], rtol=0, atol=DUAL_RTOL * scale)
    return result


#: The rows whose shadow prices a plan reports; unique in the scenarios below (``energy_balance`` and
#: ``community_supply`` share the delivery columns, and their duals are degenerate).
POLICY_ROWS = ("budget", "ldn_neutrality", "food_floor", "pv_cap", "min_restored")

SCENARIOS = {
    "default": (2000, 1, None, {}),
    "default, other seed": (2000, 2, None, {}),
    "small region": (300, 7, None, {}),
    "larger region": (5000, 3, None, {}),
    "binding budget": (3000, 8, None, {"budget_usd": 5e6}),
    "ample budget": (3000, 8, None, {"budget_usd": 2e8}),
    "tight PV cap": (3000, 5, None, {"budget_usd": 2e8, "max_pv_share": 0.0005}),
    "LDN pooled over the region": (3000, 6, None, {"ldn_scope": "region", "budget_usd": 2e8}),
    "LDN off": (3000, 6, None, {"ldn_scope": "off"}),
    "binding food floor": (3000, 7, None, {"food_floor": 0.999, "weight_productivity": 0.0, "budget_usd": 1e9,
                                           "grid_export_mwh": 1e8}),
    "least restored area": (3000, 9, None, {"min_restored_ha": 20000.0}),
    "many communities": (3000, 4, 5, {}),
    "a community per two parcels": (3000, 4, 2, {}),
    "livelihood and jobs floors": (3000, 2, None, {"livelihood_floor": 0.99, "jobs_floor": 0.99, "weight_energy": 20.0,
                                                   "budget_usd": 1e9, "grid_export_mwh": 1e8, "food_floor": 0.0}),
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_structured_solve_equals_the_general_solve(regions: Path, name: str) -> None:
    parcels, seed, per_community, values = SCENARIOS[name]
    compiled, coef, options = compiled_lp(region_file(regions, parcels, seed, per_community), **values)
    assert_matches_general_solve(compiled, coef, options)


def test_binding_rows_of_the_scenarios_bind(regions: Path) -> None:
    """The scenarios above test what they say: the budget, the PV cap, the food floor and a community's livelihood
    floor have a dual."""
    for name, row in (("binding budget", "budget"), ("tight PV cap", "pv_cap"), ("binding food floor", "food_floor"),
                      ("livelihood and jobs floors", "livelihood_floor")):
        parcels, seed, per_community, values = SCENARIOS[name]
        compiled, coef, options = compiled_lp(region_file(regions, parcels, seed, per_community), **values)
        _, row_dual = general_solve(compiled, options)
        names = [compiled.rows[r].constraint.parent_component().local_name for r in range(compiled.arrays.num_row)]
        assert any(abs(row_dual[r]) > 0 for r, n in enumerate(names) if n == row), name  # a row of the family


def test_the_least_relaxation_model_a_minimisation(regions: Path) -> None:
    compiled, coef, options = compiled_lp(region_file(regions, 2000, 1), elastic=True, food_floor=1.2)
    result = assert_matches_general_solve(compiled, coef, options)
    assert result.objective > 0  # the floor must be relaxed


def test_a_neighbouring_scenario_seeds_the_next_solve(regions: Path) -> None:
    path = region_file(regions, 3000, 8)
    first = assert_matches_general_solve(*compiled_lp(path, budget_usd=6e7))
    compiled, coef, options = compiled_lp(path, budget_usd=6.3e7)
    seeded = assert_matches_general_solve(compiled, coef, options, dual_estimate=first.coupling_dual)
    assert seeded.timings.get("estimate_cpu_s", 0.0) < first.timings["estimate_cpu_s"] + 0.05
    again = solve_structured(compiled.arrays, coef.n_parcels, coef.n_pairs, options,
                             dual_estimate=seeded.coupling_dual)
    assert again.rounds <= 2 and again.certified  # the optimum's own duals: little left to price


def test_the_sample_size_and_the_whole_lp_as_its_own_sample(regions: Path) -> None:
    compiled, coef, options = compiled_lp(region_file(regions, 2000, 2))
    for fraction in (0.02, 0.5, 1.0):
        assert_matches_general_solve(compiled, coef, options, sample_fraction=fraction)


def test_the_sample_takes_its_share_of_every_community(regions: Path) -> None:
    """Drawn along the parcels' most local rows, a 10 % sample has ⌊10 %⌋ or ⌈10 %⌉ of each community's
    parcels; a plain random sample leaves many of 600 small communities with none."""
    from dualuse.solve.structured_pricing import decompose, stratified_sample

    compiled, coef, options = compiled_lp(region_file(regions, 3000, 4, 5))
    dec = decompose(compiled.arrays, coef.n_parcels, coef.n_pairs)
    sample = stratified_sample(dec, 300, np.random.default_rng(0))
    assert sample.size == np.unique(sample).size == 300
    producing = np.zeros(coef.n_parcels, dtype=bool)  # parcels that enter their community's supply row
    producing[coef.parcel[(coef.energy_mwh > 0) & (coef.pair_community >= 0)]] = True
    counts = np.bincount(coef.community[sample][producing[sample]], minlength=coef.demand_mwh.size)
    sizes = np.bincount(coef.community[producing], minlength=coef.demand_mwh.size)
    assert np.all(counts >= np.floor(sizes * 0.1) - 1) and np.all(counts <= np.ceil(sizes * 0.1) + 1)


# -- the parts: basis hand-over, grouped reductions, cached row figures, fixed parcels' activity --

def test_a_basis_passed_as_a_file_is_the_one_passed_as_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    """The optimal basis of an LP, handed over as a basis file (as at a million parcels), restarts HiGHS in
    0 iterations and reads back unchanged."""
    from dualuse.solve import basis as basis_module
    from dualuse.solve.quiet import new_highs, run_quietly

    lp, _, _ = random_lp(np.random.default_rng(7), 120, 8, 3, pyo.maximize, True)
    h = new_highs({"output_flag": False, "solver": "simplex"})
    lp.pass_to(h)
    run_quietly(h)
    solved = h.getBasis()
    cols, rows = basis_module.basis_codes(solved.col_status), basis_module.basis_codes(solved.row_status)
    monkeypatch.setattr(basis_module, "FILE_ENTRIES", 0)
    again = new_highs({"output_flag": False, "solver": "simplex"})
    lp.pass_to(again)
    assert basis_module.set_basis(again, cols, rows)
    back = again.getBasis()
    assert np.array_equal(basis_module.basis_codes(back.col_status), cols)
    assert np.array_equal(basis_module.basis_codes(back.row_status), rows)
    run_quietly(again)
    assert again.getInfo().simplex_iteration_count == 0
    assert again.getInfo().objective_function_value == pytest.approx(h.getInfo().objective_function_value, rel=1e-12)


def test_grouped_reductions_and_column_splits_equal_plain_loops() -> None:
    from dualuse.solve.sparse import ColumnMatrix, reduce_groups

    rng = np.random.default_rng(3)
    sizes = rng.integers(0, 4, 50)  # a quarter of the groups empty
    offsets = np.r_[0, np.cumsum(sizes)]
    values = rng.normal(size=int(offsets[-1]))
    for ufunc, empty in ((np.maximum, -np.inf), (np.minimum, 7.0), (np.add, 0.0)):
        expected = [ufunc.reduce(values[a:b]) if b > a else empty for a, b in zip(offsets[:-1], offsets[1:])]
        assert np.allclose(reduce_groups(ufunc, values, offsets, empty), np.array(expected), rtol=1e-15, atol=1e-15)
    matrix = sp.random(9, 40, density=0.3, random_state=rng).tocsc()
    whole = ColumnMatrix(9, matrix.indptr.astype(np.int64), matrix.indices.astype(np.int32), matrix.data)
    for at in (0, 17, 40):
        left, right = whole.split(at)
        for part, chosen in ((left, np.arange(at)), (right, np.arange(at, 40))):
            reference = whole.columns(chosen)
            assert np.array_equal(part.indptr, reference.indptr) and np.array_equal(part.data, reference.data)
            assert np.array_equal(part.indices, reference.indices)
            assert np.array_equal(part.entry_column, reference.entry_column)


@pytest.mark.parametrize("rowwise", [True, False])
def test_row_figures_known_from_the_rows_equal_those_of_the_columns(rowwise: bool) -> None:
    import dataclasses

    from dualuse.solve.structured_pricing import decompose, row_price_scale, row_size

    lp, n_parcels, n_pairs = random_lp(np.random.default_rng(11), 80, 10, 3, pyo.minimize, rowwise)
    dec = decompose(lp, n_parcels, n_pairs)
    plain = dataclasses.replace(dec, known_row_size=None, known_price_scale=None)
    assert dec.known_row_size is not None and dec.known_price_scale is not None
    assert np.array_equal(row_size(dec), row_size(plain))
    assert np.array_equal(row_price_scale(dec), row_price_scale(plain))


def test_the_fixed_parcels_activity_follows_the_fixed_pairs() -> None:
    """The coupling activity of the fixed pairs, updated by the pairs that change, equals the product."""
    from dualuse.solve.structured import _start_master
    from dualuse.solve.structured_pricing import decompose

    lp, n_parcels, n_pairs = random_lp(np.random.default_rng(5), 150, 6, 2, pyo.maximize, True)
    dec = decompose(lp, n_parcels, n_pairs)
    master = _start_master(dec, np.zeros(dec.n_coupling))
    rng = np.random.default_rng(6)
    for _ in range(6):
        fixed = np.flatnonzero(rng.random(n_pairs) < 0.4)
        indicator = np.zeros(n_pairs)
        indicator[fixed] = 1.0
        assert np.allclose(master._fixed_activity(fixed), dec.pair_rows.dot(indicator), rtol=1e-12, atol=1e-12)


def test_a_basis_without_a_writable_temporary_folder_goes_as_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    from dualuse.solve import basis as basis_module
    from dualuse.solve.quiet import new_highs, run_quietly

    lp, _, _ = random_lp(np.random.default_rng(9), 60, 5, 2, pyo.minimize, True)
    h = new_highs({"output_flag": False, "solver": "simplex"})
    lp.pass_to(h)
    run_quietly(h)
    solved = h.getBasis()
    cols, rows = basis_module.basis_codes(solved.col_status), basis_module.basis_codes(solved.row_status)

    def no_folder(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError("the temporary folder is not writable")

    monkeypatch.setattr(basis_module, "FILE_ENTRIES", 0)
    monkeypatch.setattr(basis_module.tempfile, "mkstemp", no_folder)
    again = new_highs({"output_flag": False, "solver": "simplex"})
    lp.pass_to(again)
    assert basis_module.set_basis(again, cols, rows)
    run_quietly(again)
    assert again.getInfo().simplex_iteration_count == 0
