"""Sweeps: scenario grids on a process pool and a Dask cluster; resumable; failures are rows."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
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
from dualuse.inputs.catalogue import load_catalogue
from dualuse.inputs.region import read_region
from dualuse.model.kpis import KPI_UNITS
from dualuse.prepare.example import write_example
from dualuse.studies.executor import open_executor
from dualuse.studies.spec import expand, input_key, parse_sweep, read_sweep, scenario_id
from dualuse.studies.store import PLAN_STATUSES, TIMING_COLUMNS, read_results
from dualuse.studies.sweep import run_sweep

pytestmark = pytest.mark.slow  # process pools, Dask or subprocess runs: see `make test-fast`

BASE = {"ldn_scope": "region"}


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sweep") / "region.gpkg"
    write_example(path, parcels=120, seed=5)
    return path


@pytest.fixture(scope="module")
def pool() -> Iterator[Executor]:
    with open_executor(workers=2) as executor:
        yield executor


@pytest.fixture(scope="module")
def dask() -> Iterator[Executor]:
    with open_executor(dask_local=2, plots=False) as executor:
        yield executor


def write_toml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the sweep file


def test_grid_ranges_named_sets_and_ids(region: Path, tmp_path: Path) -> None:
    write_toml(tmp_path / "base.toml", "food_floor = 0.9\n")
    spec = read_sweep(write_toml(tmp_path / "s.toml", """
base = "base.toml"
[grid]
budget_usd = {start = 1e6, stop = 3e6, num = 3}
ldn_target = [0.0, 0.01]
[[scenarios]]
name = "tight"
max_pv_share = 0.01
[[scenarios]]
name = "loose"
"""))
    key = input_key(read_region(region), load_catalogue())
    variations = expand(spec, key)
    assert len(variations) == 2 * 3 * 2  # named sets × budgets × targets
    assert spec.varied == ["budget_usd", "ldn_target", "max_pv_share"]
    budgets = sorted({v.scenario.budget_usd for v in variations})
    assert budgets == [1e6, 2e6, 3e6]
    assert all(v.scenario.food_floor == 0.9 and v.scenario.threads == 1 for v in variations)
    assert {v.scenario.max_pv_share for v in variations if v.name.startswith("tight")} == {0.01}
    assert {v.scenario.max_pv_share for v in variations if v.name.startswith("loose")} == {1.0}
    # ids: one per distinct scenario, stable, and tied to the parameters and to the input
    assert len({v.id for v in variations}) == len(variations)
    again = expand(read_sweep(tmp_path / "s.toml"), key)
    assert [v.id for v in again] == [v.id for v in variations]
    first = variations[0].scenario
    assert scenario_id(first, key) == variations[0].id
    assert scenario_id(first.replace(seed=1), key) != variations[0].id
    assert scenario_id(first, "another input") != variations[0].id


@pytest.mark.parametrize("text, words", [
    ('[grid]\nbudgett_usd = [1, 2]\n', ["unknown parameter", "budgett_usd"]),
    ('[grid]\nthreads = [1, 2]\n', ["threads", "cannot be swept"]),
    ('[grid]\nbudget_usd = {start = 1, stop = 2}\n', ["num"]),
    ('[grid]\nldn_target = [0.0, 7.0]\n', ["ldn_target", "out of range"]),
    ('[grid]\nbudget_usd = [1e6]\n[[scenarios]]\nname = "a"\nbudget_usd = 2e6\n', ["also varies"]),
    ('base = "missing.toml"\n', ["missing.toml", "no such file"]),
    ('[grid\n', ["not valid TOML"]),
])
def test_bad_sweep_file_is_one_message_and_no_output(region: Path, tmp_path: Path, text: str,
                                                     words: list[str]) -> None:
    sweep_file = write_toml(tmp_path / "bad.toml", text)
    out = tmp_path / "results"
    result = CliRunner().invoke(cli, ["sweep", str(region), str(sweep_file), "-o", str(out), "--json"])
    assert result.exit_code == 2, result.output
    message = json.loads(result.stdout)["message"]
    assert all(w in message for w in words), message
    assert "Traceback" not in result.output
    assert not out.exists()


def test_public_api_names_the_study_functions() -> None:
    """``dualuse.sweep`` and ``dualuse.pareto`` are the study functions, reached without importing them first,
    and ``dir(dualuse)`` lists the public API."""
    from dualuse.studies.pareto import run_pareto
    from dualuse.studies.sweep import run_sweep

    assert dualuse.sweep is run_sweep and dualuse.pareto is run_pareto
    assert {"solve_region", "sweep", "pareto", "read_region", "Plan"} <= set(dir(dualuse))
    with pytest.raises(AttributeError):
        dualuse.no_such_function  # noqa: B018


# --------------------------------------------------------------------------- solving


def test_budget_sweep_is_monotone_and_plans_hold(region: Path, pool: Executor, tmp_path: Path) -> None:
    spec = parse_sweep({"base": BASE, "grid": {"budget_usd": {"start": 1e6, "stop": 7e6, "num": 7}}})
    out = tmp_path / "budget"
    result = dualuse.sweep(region, spec, executor=pool, output=out)
    rows = result.rows
    assert list(rows["budget_usd"]) == sorted(rows["budget_usd"]) and len(rows) == 7
    assert set(rows["status"]) == {"optimal"}
    objective = rows["objective"].to_numpy()
    assert np.all(np.diff(objective) >= -1e-9 * np.maximum(np.abs(objective[:-1]), 1.0)), objective
    assert objective[-1] > objective[0] + 1e-3  # the budget binds somewhere in this range
    assert np.all(rows["cost_usd"] <= rows["budget_usd"] * (1 + 1e-6) + 1e-3)
    # the plans are the scenarios' plans: every constraint re-checked from the written file
    for _, row in rows.iloc[[1, 4]].iterrows():
        totals = recheck_plan(out / row["plan"], region)
        assert totals["cost_usd"] == pytest.approx(row["cost_usd"], rel=1e-6, abs=1e-3)
        assert totals["productivity_t"] == pytest.approx(row["productivity_t"], rel=1e-6)
    # results.gpkg and results.csv hold the same rows as the API returned
    table = read_results(out)
    csv = pd.read_csv(out / "results.csv")
    for frame in (table, csv):
        assert list(frame["id"]) == list(rows["id"])
        np.testing.assert_allclose(frame["objective"], rows["objective"], rtol=1e-12)
    units = read_table(out / "results.gpkg", "sweep_columns").set_index("column")["unit"]
    assert units["budget_usd"] == "USD" and units["households_served"] == KPI_UNITS["households_served"][0]
    # a plot of every KPI and every shadow price against the budget (not the budget against itself)
    shadow = [c for c in rows.columns if c.startswith("shadow_")]
    assert "shadow_budget" in shadow
    expected = {f"{m}_vs_budget_usd.png" for m in [k for k in KPI_UNITS if k != "budget_usd"] + shadow}
    assert {p.name for p in result.plots} == expected
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in result.plots)


def grid_with_an_infeasible_point() -> dict:
    return {"base": BASE, "grid": {"budget_usd": [1e6, 4e6], "ldn_target": [0.0, 0.95]}}


def test_pool_and_dask_give_identical_rows_and_failures_are_rows(region: Path, pool: Executor, dask: Executor,
                                                                 tmp_path: Path) -> None:
    spec = parse_sweep(grid_with_an_infeasible_point())
    local = run_sweep(region, spec, pool, output=tmp_path / "local", plots=False)
    cluster = run_sweep(region, spec, dask, output=tmp_path / "dask", plots=False)
    a, b = (r.rows.drop(columns=list(TIMING_COLUMNS)) for r in (local, cluster))
    pd.testing.assert_frame_equal(a, b)
    # an infeasible scenario is a row with its status and the explanation, not a crash
    infeasible = local.rows[local.rows["ldn_target"] == 0.95]
    assert len(infeasible) == 2 and set(infeasible["status"]) == {"infeasible"}
    assert all("ldn_target" in message for message in infeasible["message"])
    assert infeasible["households_served"].isna().all() and (infeasible["plan"] == "").all()
    assert not any((tmp_path / "local" / "plans" / f"{i}.gpkg").exists() for i in infeasible["id"])
    solved = local.rows[local.rows["status"].isin(PLAN_STATUSES)]
    assert all((tmp_path / "local" / p).exists() for p in solved["plan"])


def test_killed_sweep_resumes_without_recomputing(region: Path, tmp_path: Path) -> None:
    sweep_file = write_toml(tmp_path / "s.toml", '[base]\nldn_scope = "region"\n[grid]\n'
                            'budget_usd = {start = 1e6, stop = 8e6, num = 5}\nldn_target = [0.0, 0.01]\n')
    out = tmp_path / "results"
    command = [sys.executable, "-c", "from dualuse.cli import main; main()", "sweep", str(region), str(sweep_file),
               "-o", str(out), "--workers", "1", "--no-plots", "--quiet"]
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    rows_dir = out / "rows"
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if rows_dir.is_dir() and len(list(rows_dir.glob("*.json"))) >= 2:
                break
            time.sleep(0.02)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the driver, its forkserver and its workers
    finally:
        process.wait()
    finished = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in rows_dir.glob("*.json")}
    assert 2 <= len(finished) < 10, "the sweep was not stopped part-way"
    assert not (out / "results.csv").exists()

    result = CliRunner().invoke(cli, ["sweep", str(region), str(sweep_file), "-o", str(out), "--workers", "1",
                                      "--no-plots", "--quiet", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["reused"] == len(finished) and summary["solved"] == 10 - len(finished)
    for name, (data, mtime) in finished.items():  # untouched: not solved again
        assert (rows_dir / name).read_bytes() == data and (rows_dir / name).stat().st_mtime_ns == mtime
    rows = read_results(out)
    assert len(rows) == 10 and set(rows["status"]) == {"optimal"}
    assert all((out / p).exists() for p in rows["plan"])
    leftovers = [p.name for p in (out / "rows").iterdir()] + [p.name for p in (out / "plans").iterdir()]
    assert not [n for n in leftovers if ".tmp-" in n]
    # a third run solves nothing
    again = CliRunner().invoke(cli, ["sweep", str(region), str(sweep_file), "-o", str(out), "--workers", "1",
                                     "--no-plots", "--quiet", "--json"])
    assert json.loads(again.stdout)["solved"] == 0
