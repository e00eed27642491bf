"""Fronts reuse what they learn: every point takes the structured path, and the points along a line of the
front's grid start from the duals of the point before them, which changes no point."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import recheck_plan

import dualuse
from dualuse.export.gpkg import read_table
from dualuse.inputs.scenario import load_scenario
from dualuse.model.kpis import KPI_UNITS
from dualuse.prepare.example import write_example
from dualuse.studies.executor import CHAIN_LENGTH, open_executor
from dualuse.studies.pareto_nd import grid_lines
from dualuse.studies.store import ROWS_DIR

SCENARIO = load_scenario(None, {"ldn_scope": "region", "budget_usd": 4e6})
#: Six points: the two ends and four ε points, one chain of four along the front.
POINTS = 6


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("front_seed") / "region.gpkg"
    write_example(path, parcels=100, seed=8)
    return path


@pytest.fixture(scope="module")
def serial() -> Iterator[Executor]:
    with ThreadPoolExecutor(max_workers=1) as executor:
        yield executor


def stored_rows(folder: Path) -> dict[str, dict[str, Any]]:
    """Every solve of a front (the payoff table, the ends and the ε points), by id, as its store kept it."""
    return {path.stem: json.loads(path.read_text(encoding="utf-8"))["row"]
            for path in sorted((folder / ROWS_DIR).glob("*.json"))}


def assert_same_solves(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]], kpis: Sequence[str],
                       rtol: float) -> None:
    """The same solves, each with the same status and, with a plan, the same objective and front KPIs (to
    ``rtol``, relative).  The other KPIs are left out: where the LP has several optima, they may differ
    between optimal plans."""
    assert sorted(a) == sorted(b)
    for id_, row in a.items():
        other = b[id_]
        assert row["status"] == other["status"] in ("optimal", "infeasible"), (row["message"], other["message"])
        if row["status"] == "infeasible":  # ε beyond the front
            continue
        for key in ("objective", *kpis):
            assert row[key] == pytest.approx(other[key], rel=rtol, abs=1e-12), (id_, key)


def test_grid_lines_run_along_the_last_axis_that_varies() -> None:
    combos = [(a, b) for a in (1.0, 2.0) for b in (10.0, 20.0, 30.0)]
    assert grid_lines(combos, [2, 3]) == [[0, 1, 2], [3, 4, 5]]
    # the last held KPI does not vary: its lines would be single points, so they run along the first
    flat = [(a, 5.0) for a in (3.0, 1.0, 2.0)]
    assert grid_lines(flat, [3, 1]) == [[1, 2, 0]]


def test_a_seeded_front_has_the_same_points_and_says_so(region: Path, serial: Executor, tmp_path: Path) -> None:
    seeded = dualuse.pareto(region, "access", "productivity", points=POINTS, executor=serial, scenario=SCENARIO,
                            output=tmp_path / "seeded", progress=False)
    unseeded = dualuse.pareto(region, "access", "productivity", points=POINTS, executor=serial, scenario=SCENARIO,
                              output=tmp_path / "unseeded", plans=False, progress=False, seed_duals=False)
    rows = stored_rows(tmp_path / "seeded")
    assert len(rows) == POINTS + 2  # two single-objective optima, two lexicographic ends, the ε points
    assert_same_solves(rows, stored_rows(tmp_path / "unseeded"), ("access", "productivity"), rtol=1e-9)
    assert seeded.points["id"].tolist() == unseeded.points["id"].tolist()
    for kpi in ("access", "productivity", "objective"):
        np.testing.assert_allclose(seeded.points[kpi], unseeded.points[kpi], rtol=1e-9)
    # every solve took the structured path; along the front, each ε point but the first started from the
    # duals of the one before it (one chain), and nothing else was seeded
    assert all(row["structured_rounds"] > 0 for row in rows.values())
    table = seeded.points.set_index("epsilon")
    held = table[table["role"] == "ε"].sort_index()
    assert len(held) == POINTS - 2 <= CHAIN_LENGTH
    assert held["seeded"].tolist() == [False] + [True] * (len(held) - 1)
    assert not table[table["role"] != "ε"]["seeded"].any()
    assert not unseeded.points["seeded"].any()
    # the plan's run table says so too, and the seeded plan holds its ε and every other constraint
    first, second = (tmp_path / "seeded" / plan for plan in held["plan"].iloc[:2])
    for plan, was_seeded in ((first, False), (second, True)):
        run = read_table(plan, "run").iloc[0]
        assert run["lp_path"] == "structured" and not run["lp_path_reason"]
        assert bool(run["structured_seeded"]) is was_seeded
        assert run["front_role"] == "ε"
    totals = recheck_plan(second, region)
    epsilon = float(held.index[1])
    harvest_today = held["productivity_t"].iloc[1] / held["productivity"].iloc[1]
    assert totals["productivity_t"] / harvest_today >= epsilon - 1e-6


def test_a_seeded_front_in_three_kpis_seeds_along_its_grid_lines(region: Path, serial: Executor,
                                                                tmp_path: Path) -> None:
    kpis = ["access", "productivity", "restored_ha"]
    seeded = dualuse.pareto_nd(region, kpis, points=3, executor=serial, scenario=SCENARIO, plans=False,
                               output=tmp_path / "seeded", progress=False)
    dualuse.pareto_nd(region, kpis, points=3, executor=serial, scenario=SCENARIO, plans=False,
                      output=tmp_path / "unseeded", progress=False, seed_duals=False)
    rows = stored_rows(tmp_path / "seeded")
    assert len(rows) == 3 + 3 ** 2
    assert_same_solves(rows, stored_rows(tmp_path / "unseeded"), kpis, rtol=1e-9)
    assert all(row["structured_rounds"] > 0 for row in rows.values() if row["status"] == "optimal")
    # the lines run along restored_ha: every grid point but the first of its line was seeded
    grid = seeded.points[seeded.points["role"] == "ε"]
    assert len(grid) >= 3
    first_on_line = np.isclose(grid["epsilon_restored_ha"], seeded.worst["restored_ha"], rtol=1e-12)
    assert (grid["seeded"].to_numpy() == ~first_on_line).all()
    assert grid["seeded"].any()


@pytest.mark.slow  # a process pool
def test_a_front_is_the_same_serially_and_in_a_pool(region: Path, serial: Executor, tmp_path: Path) -> None:
    with open_executor(workers=2, plots=False) as pool:
        dualuse.pareto(region, "access", "productivity", points=POINTS, executor=pool, scenario=SCENARIO,
                       output=tmp_path / "pool", plans=False, progress=False)
    dualuse.pareto(region, "access", "productivity", points=POINTS, executor=serial, scenario=SCENARIO,
                   output=tmp_path / "serial", plans=False, progress=False)
    in_pool, alone = stored_rows(tmp_path / "pool"), stored_rows(tmp_path / "serial")
    assert_same_solves(in_pool, alone, list(KPI_UNITS), rtol=1e-12)  # the same seeds: the same plans
    assert {k: r["seeded"] for k, r in in_pool.items()} == {k: r["seeded"] for k, r in alone.items()}
    assert sum(r["seeded"] for r in alone.values()) == POINTS - 3
