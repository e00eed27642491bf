"""Trade-off fronts by the ε-constraint method: non-dominated points whose ends are the single-objective optima."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from concurrent.futures import Executor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import recheck_plan

import dualuse
from dualuse.cli import cli
from dualuse.export.gpkg import read_table
from dualuse.inputs.scenario import Scenario, load_scenario
from dualuse.prepare.example import write_example
from dualuse.report.html import write_report
from dualuse.run import solve_region
from dualuse.studies.executor import open_executor
from dualuse.studies.pareto import knee, non_dominated
from dualuse.studies.pareto_nd import knee_nd, non_dominated_nd

pytestmark = pytest.mark.slow  # process pools, Dask or subprocess runs: see `make test-fast`

SCENARIO = load_scenario(None, {"ldn_scope": "region", "budget_usd": 4e6})


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pareto") / "region.gpkg"
    write_example(path, parcels=100, seed=8)
    return path


@pytest.fixture(scope="module")
def pool() -> Iterator[Executor]:
    with open_executor(workers=2, plots=False) as executor:
        yield executor


def alone(scenario: Scenario, kpi: str) -> Scenario:
    """The scenario with one KPI's weight 1 and the others 0 (the cost tie-break kept)."""
    weights = {"weight_access": 0.0, "weight_energy": 0.0, "weight_productivity": 0.0, f"weight_{kpi}": 1.0}
    return scenario.replace(**weights)


def mutually_non_dominated(a: np.ndarray, b: np.ndarray) -> bool:
    """No point is at least as good in both and better in one (exact arithmetic; both maximised)."""
    for p in range(len(a)):
        for q in range(len(a)):
            if p != q and a[q] >= a[p] and b[q] >= b[p] and (a[q] > a[p] or b[q] > b[p]):
                return False
    return True


def test_non_dominated_and_knee_by_hand() -> None:
    a = np.array([1.0, 2.0, 3.0, 2.0, 3.0 + 1e-12])
    b = np.array([3.0, 2.0, 1.0, 1.0, 1.0])
    # (2, 1) is dominated by (2, 2); the two (3, 1) are one point, the one better in a kept
    assert non_dominated(a, b).tolist() == [True, True, False, False, True]
    # less cost is better: (2, cost 1.5) dominates (2, cost 2); the others trade off
    cost = np.array([1.0, 2.0, 3.0, 1.5])
    assert non_dominated(a[:4], cost, 1, -1).tolist() == [True, False, True, True]
    # an L-shaped front bends at its corner; a straight one has no knee
    assert knee(np.array([1.0, 0.95, 0.5, 0.0]), np.array([0.0, 0.9, 0.95, 1.0])) == 1
    assert knee(np.array([3.0, 2.0, 1.0]), np.array([1.0, 2.0, 3.0])) is None


def test_front_is_non_dominated_and_its_ends_are_the_optima(region: Path, pool: Executor, tmp_path: Path) -> None:
    out = tmp_path / "front"
    front = dualuse.pareto(region, "access", "productivity", points=6, executor=pool, scenario=SCENARIO,
                           output=out)
    points = front.points
    a, b = points["access"].to_numpy(), points["productivity"].to_numpy()
    assert len(points) >= 4, "no trade-off on this region: the test region must be changed"
    assert mutually_non_dominated(a, b)
    assert np.all(np.diff(b) > 0) and np.all(np.diff(a) < 0)  # ordered along the front
    # the ends are the single-objective optima, solved independently by the ordinary pipeline
    best_access = solve_region(region, scenario=alone(SCENARIO, "access")).kpis["access"]
    best_food = solve_region(region, scenario=alone(SCENARIO, "productivity")).kpis["productivity"]
    assert a.max() == pytest.approx(best_access, rel=1e-6)
    assert b.max() == pytest.approx(best_food, rel=1e-6)
    assert front.optimum == pytest.approx({"access": best_access, "productivity": best_food}, rel=1e-6)
    # each ε point holds its bound, re-checked (with every other constraint) from its written plan
    held = points[points["role"] == "ε"]
    assert len(held) >= 2
    for _, row in held.iterrows():
        totals = recheck_plan(out / row["plan"], region)
        harvest_today = row["productivity_t"] / row["productivity"]
        assert totals["productivity_t"] / harvest_today >= row["epsilon"] - 1e-6
    # the slope of each segment: access given up per unit of productivity gained
    rate = points["rate_access_per_productivity"].to_numpy()
    np.testing.assert_allclose(rate[:-1], -np.diff(a) / np.diff(b), rtol=1e-9)
    # files: the table in GeoPackage and CSV, the picture
    table = read_table(out / "front.gpkg", "front")
    csv = pd.read_csv(out / "front.csv")
    for frame in (table, csv):
        np.testing.assert_allclose(frame["access"], a, rtol=1e-12)
    assert (out / "front.png").read_bytes()[:4] == b"\x89PNG"
    assert points["knee"].sum() <= 1


def test_a_minimised_kpi_pairs_too(region: Path, pool: Executor) -> None:
    front = dualuse.pareto(region, "households_served", "cost_usd", points=4, executor=pool, scenario=SCENARIO)
    households, cost = front.points["households_served"].to_numpy(), front.points["cost_usd"].to_numpy()
    assert len(households) >= 3
    assert mutually_non_dominated(households, -cost)
    cheapest = solve_region(region, scenario=SCENARIO.replace(weight_access=0.0, weight_energy=0.0,
                                                              weight_productivity=0.0, weight_cost=1.0))
    assert cost.min() == pytest.approx(cheapest.kpis["cost_usd"], rel=1e-6, abs=1.0)
    assert np.all(cost <= SCENARIO.budget_usd * (1 + 1e-9))


def test_pareto_command(region: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(cli, ["pareto", str(region), "--maximise", "access", "--against", "harvest", "--json"])
    assert bad.exit_code == 2 and "productivity" in json.loads(bad.stdout)["message"]
    same = runner.invoke(cli, ["pareto", str(region), "--maximise", "energy", "--against", "energy"])
    assert same.exit_code == 2 and "two different KPIs" in same.output
    out = tmp_path / "energy_food"
    result = runner.invoke(cli, ["pareto", str(region), "--maximise", "energy", "--against", "productivity",
                                 "--points", "3", "-o", str(out), "--workers", "2", "--no-plans", "--quiet",
                                 "--set", "ldn_scope=region", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    energy = [p["energy"] for p in payload["points"]]
    assert energy == sorted(energy, reverse=True) and max(energy) == pytest.approx(payload["optimum"]["energy"])
    assert (out / "front.gpkg").exists() and (out / "front.png").exists()
    assert not list((out / "plans").glob("*.gpkg"))  # --no-plans


def dominated_by_another(values: np.ndarray) -> list[int]:
    """The rows some other row beats: at least as good in every column and better in one (exact, maximised)."""
    return [p for p in range(len(values)) for q in range(len(values))
            if p != q and np.all(values[q] >= values[p]) and np.any(values[q] > values[p])]


def test_non_dominated_in_three_kpis_by_construction() -> None:
    # points on the positive octant of the unit sphere trade off by construction (none beats another);
    # each is then copied and shrunk toward the origin (dominated by its original), and one is duplicated
    rng = np.random.default_rng(3)
    direction = np.abs(rng.normal(size=(12, 3)))
    front = direction / np.linalg.norm(direction, axis=1, keepdims=True)
    assert not dominated_by_another(front)
    shrunk = front * rng.uniform(0.5, 0.99, size=(12, 1))
    duplicate = front[:1] + 1e-12
    points = np.vstack([front, shrunk, duplicate])
    keep = non_dominated_nd(points, [1, 1, 1])
    assert keep[1:12].all() and not keep[12:24].any()
    assert keep[0] != keep[24]  # one of a near-duplicate pair
    # a KPI better when smaller: negate one column and say so
    flipped = points * np.array([1.0, -1.0, 1.0])
    np.testing.assert_array_equal(non_dominated_nd(flipped, [1, -1, 1]), keep)
    # with two KPIs it agrees with the two-KPI filter
    a, b = points[:, 0], points[:, 1]
    np.testing.assert_array_equal(non_dominated_nd(np.column_stack([a, b]), [1, 1]), non_dominated(a, b))


def test_knee_in_three_kpis_by_hand() -> None:
    # the three ends (1,0,0), (0,1,0), (0,0,1) span the plane u + v + w = 1; (0.6, 0.6, 0.6) lies
    # (1.8 − 1)/√3 = 0.462 beyond it toward the ideal point, (0.4, 0.4, 0.3) only 0.1/√3 = 0.058
    values = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.6, 0.6, 0.6], [0.4, 0.4, 0.3]])
    row, distance = knee_nd(values, [1, 1, 1])
    assert row == 3
    np.testing.assert_allclose(distance, [0.0, 0.0, 0.0, 0.8 / np.sqrt(3), 0.1 / np.sqrt(3)], atol=1e-12)
    # scaling a KPI or turning it into a cost (smaller better) moves nothing
    scaled = values * np.array([1.0, -250.0, 7.0]) + np.array([0.0, 1000.0, 3.0])
    assert knee_nd(scaled, [1, -1, 1])[0] == 3
    # points on the plane: a straight trade-off has no knee; with two KPIs it is the chord's knee
    assert knee_nd(values[:3], [1, 1, 1])[0] is None
    a, b = np.array([1.0, 0.95, 0.5, 0.0]), np.array([0.0, 0.9, 0.95, 1.0])
    assert knee_nd(np.column_stack([a, b]), [1, 1])[0] == knee(a, b) == 1


def test_pareto_command_in_three_kpis_refuses_bad_usage(region: Path) -> None:
    runner = CliRunner()
    twice = runner.invoke(cli, ["pareto", str(region), "--maximise", "access", "--against", "productivity",
                                "--against", "productivity", "--json"])
    assert twice.exit_code == 2 and "named twice" in json.loads(twice.stdout)["message"]
    unknown = runner.invoke(cli, ["pareto", str(region), "--maximise", "access", "--against", "productivity",
                                  "--against", "harvest"])
    assert unknown.exit_code == 2 and "restored_ha" in unknown.output
    too_many = runner.invoke(cli, ["pareto", str(region), "--maximise", "access", "--against", "productivity",
                                   "--against", "restored_ha", "--against", "energy", "--points", "20"])
    assert too_many.exit_code == 2 and "8,000 solves" in too_many.output
    refine_two = runner.invoke(cli, ["pareto", str(region), "--maximise", "access", "--against", "productivity",
                                     "--refine", "1"])
    assert refine_two.exit_code == 2 and "three or more KPIs" in refine_two.output


def test_front_in_three_kpis(region: Path, tmp_path: Path) -> None:
    out = tmp_path / "three"
    result = CliRunner().invoke(cli, [
        "pareto", str(region), "--maximise", "access", "--against", "productivity", "--against", "restored_ha",
        "--points", "3", "--refine", "1", "-o", str(out), "--workers", "2", "--quiet", "--json",
        "--set", "ldn_scope=region", "--set", f"budget_usd={SCENARIO.budget_usd}"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["kpis"] == ["access", "productivity", "restored_ha"]
    points = pd.read_csv(out / "front.csv")
    assert len(points) >= 5, "no three-way trade-off on this region: the test region must be changed"
    assert len(points) == len(payload["points"])
    values = points[["access", "productivity", "restored_ha"]].to_numpy()
    assert not dominated_by_another(values)  # every point checked against all the others
    assert payload["solves"] > 3 + 3 ** 2  # the payoff table, the grid, and the refinement where it bends
    # the payoff table's ends: access at its best equals the ordinary pipeline's optimum of access alone
    best_access = solve_region(region, scenario=alone(SCENARIO, "access")).kpis["access"]
    assert payload["optimum"]["access"] == pytest.approx(best_access, rel=1e-3)
    assert values[:, 0].max() == pytest.approx(payload["optimum"]["access"], rel=1e-9)
    # each ε point holds both bounds, re-checked (with every constraint) from its written plan
    held = points[points["role"].str.startswith("ε")]
    assert len(held) >= 3
    for _, row in held.head(4).iterrows():
        totals = recheck_plan(out / row["plan"], region)
        harvest_today = row["productivity_t"] / row["productivity"]
        assert totals["productivity_t"] / harvest_today >= row["epsilon_productivity"] - 1e-6
        assert totals["restored_ha"] >= row["epsilon_restored_ha"] * (1 - 1e-6) - 1e-6
    # one knee at most, the point farthest beyond the extremes' hyperplane
    assert points["knee"].sum() <= 1
    if points["knee"].any():
        assert points.loc[points["knee"], "knee_distance"].iloc[0] == pytest.approx(points["knee_distance"].max())
    for name in ("front.png", "front_parallel.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    assert len(read_table(out / "front.gpkg", "front")) == len(points)
    # the report shows both pictures and names the knee
    page = write_report(out).html.read_text(encoding="utf-8")
    for name in ("front.png", "front_parallel.png"):
        assert base64.b64encode((out / name).read_bytes()).decode("ascii") in page
    assert ("The knee (point" in page) == bool(points["knee"].any())
    assert ">Restored [ha]</th>" in page and ">ε of Restored [ha]</th>" in page
