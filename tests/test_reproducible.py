"""The same input and scenario give the same plan, and a plan file carries enough to re-run it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner

from dualuse.cli import cli
from dualuse.export.gpkg import read_table
from dualuse.inputs.scenario import load_scenario
from dualuse.prepare.example import write_example
from dualuse.run import same_plan_table, solve_region

HASHES = ("scenario_sha256", "catalogue_sha256", "input_sha256")


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("reproducible") / "region.gpkg"
    write_example(path, parcels=120, seed=21)
    return path


def plan_table(path: Path) -> pd.DataFrame:
    """The plan layer, every column (the geometry as WKB), sorted by parcel id."""
    frame = pyogrio.read_dataframe(path, layer="plan")
    frame["geom_wkb"] = frame.geometry.to_wkb()
    frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    return frame.sort_values("parcel_id", kind="stable").reset_index(drop=True)


def run_row(path: Path) -> dict:
    return read_table(path, "run").iloc[0].to_dict()


def test_same_input_and_scenario_give_the_same_plan(region: Path, tmp_path: Path) -> None:
    scenario = load_scenario(sets={"seed": "7", "budget_usd": "2e7"})
    a = solve_region(region, tmp_path / "a.gpkg", scenario=scenario)
    b = solve_region(region, tmp_path / "b.gpkg", scenario=scenario)
    pd.testing.assert_frame_equal(plan_table(tmp_path / "a.gpkg"), plan_table(tmp_path / "b.gpkg"),
                                  check_exact=True)
    assert a.objective == b.objective
    ra, rb = run_row(tmp_path / "a.gpkg"), run_row(tmp_path / "b.gpkg")
    for key in HASHES + ("objective", "status", "scenario", "catalogue_toml"):
        assert ra[key] == rb[key], key
    # the solver's seed and threads are recorded, as given
    assert ra["seed"] == 7 and ra["threads"] == scenario.threads
    options = json.loads(ra["solver_options"])
    assert options["random_seed"] == 7 and options["threads"] == scenario.threads
    assert same_plan_table(tmp_path / "a.gpkg", tmp_path / "b.gpkg")


@pytest.mark.slow
def test_a_plan_reruns_to_the_same_plan_in_another_process(region: Path, tmp_path: Path) -> None:
    """The first plan is made by a separate `dualuse solve` process; `--rerun` here gives the same table."""
    first = tmp_path / "first.gpkg"
    done = subprocess.run([sys.executable, "-c", "from dualuse.cli import main; main()", "solve", str(region),
                           "-o", str(first), "--set", "budget_usd=3e7", "--set", "food_floor=0.9"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    again = tmp_path / "again.gpkg"
    result = CliRunner().invoke(cli, ["solve", "--rerun", str(first), "-o", str(again), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["rerun"] == {"plan": str(first), "recorded_objective": payload["objective"],
                                "same_objective": True, "same_plan_table": True}
    pd.testing.assert_frame_equal(plan_table(first), plan_table(again), check_exact=True)
    old, new = run_row(first), run_row(again)
    for key in HASHES:
        assert old[key] == new[key], key
    assert new["rerun_of"] == str(first.resolve())
    assert json.loads(new["scenario"])["budget_usd"] == 3e7


def test_a_rerun_carries_its_own_catalogue(region: Path, tmp_path: Path) -> None:
    """A plan made with a custom catalogue re-runs after that catalogue file is gone."""
    from dualuse.inputs.catalogue import default_catalogue_path

    custom = tmp_path / "national.toml"
    text = Path(default_catalogue_path()).read_text(encoding="utf-8")
    assert "capex_usd_ha = 500.0" in text
    custom.write_text(text.replace("capex_usd_ha = 500.0", "capex_usd_ha = 350.0"), encoding="utf-8")
    first = tmp_path / "first.gpkg"
    plan = solve_region(region, first, scenario=load_scenario(), catalogue=custom)
    custom.unlink()
    again = tmp_path / "again.gpkg"
    result = CliRunner().invoke(cli, ["solve", "--rerun", str(first), "-o", str(again), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rerun"]["same_plan_table"] is True
    assert json.loads(result.stdout)["objective"] == plan.objective
    assert run_row(again)["catalogue_path"] == str(custom)
    default = solve_region(region, scenario=load_scenario())
    assert default.objective != plan.objective  # the custom catalogue made a difference


def test_a_moved_input_reruns_when_named(region: Path, tmp_path: Path) -> None:
    first = tmp_path / "first.gpkg"
    solve_region(region, first, scenario=load_scenario())
    moved = tmp_path / "elsewhere" / "region.gpkg"
    moved.parent.mkdir()
    shutil.copyfile(region, moved)
    result = CliRunner().invoke(cli, ["solve", str(moved), "--rerun", str(first), "-o", str(tmp_path / "b.gpkg")])
    assert result.exit_code == 0, result.output
    assert "the same objective and the same plan table" in result.stderr


def test_a_rerun_is_refused_when_it_cannot_be_the_same(region: Path, tmp_path: Path) -> None:
    first = tmp_path / "first.gpkg"
    solve_region(region, first, scenario=load_scenario())
    runner = CliRunner()

    changed = tmp_path / "changed.gpkg"
    shutil.copyfile(region, changed)
    pyogrio.write_dataframe(pd.DataFrame({"note": ["edited"]}), changed, layer="notes", driver="GPKG")
    result = runner.invoke(cli, ["solve", str(changed), "--rerun", str(first), "-o", str(tmp_path / "b.gpkg")])
    assert result.exit_code == 2 and "is not the input the plan was made from" in result.stderr
    assert not (tmp_path / "b.gpkg").exists()

    result = runner.invoke(cli, ["solve", "--rerun", str(first), "--set", "budget_usd=1", "-o",
                                 str(tmp_path / "b.gpkg")])
    assert result.exit_code == 2 and "drop --set" in result.stderr

    result = runner.invoke(cli, ["solve", "--rerun", str(region), "-o", str(tmp_path / "b.gpkg"), "--json"])
    assert result.exit_code == 2 and "has no 'run' table" in json.loads(result.stdout)["message"]

    result = runner.invoke(cli, ["solve", "-o", str(tmp_path / "b.gpkg")])
    assert result.exit_code == 2 and "--rerun" in result.stderr

    gone = tmp_path / "gone.gpkg"
    shutil.copyfile(region, gone)
    second = tmp_path / "second.gpkg"
    solve_region(gone, second, scenario=load_scenario())
    os.unlink(gone)
    result = runner.invoke(cli, ["solve", "--rerun", str(second), "-o", str(tmp_path / "c.gpkg")])
    assert result.exit_code == 2 and "the recorded input is not there" in result.stderr
    assert "Traceback" not in result.output
