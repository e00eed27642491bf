"""What a run shows and what it leaves: stage lines on stderr and nothing but JSON on stdout, -q and -v,
--overwrite, --no-explain and the explanation's time budget, and the temporaries of killed runs cleared."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import parcel, write_region
from other_files import duplicated

from dualuse.cli import cli
from dualuse.diagnose.explain import explain_infeasibility
from dualuse.errors import InfeasibleError
from dualuse.files import TEMP_MARK
from dualuse.inputs.catalogue import load_catalogue
from dualuse.inputs.overlaps import OVERLAP_TOLERANCE
from dualuse.inputs.region import read_region
from dualuse.inputs.scenario import make_scenario
from dualuse.model.coefficients import compute_coefficients
from dualuse.prepare.example import write_example
from dualuse.progress import Progress
from dualuse.run import solve_region

ROOT = Path(__file__).resolve().parents[1]
#: Degraded woodland whose LDN needs half of it restored, against a food floor that forbids it.
INFEASIBLE = dict(weight_access=0.0, weight_energy=0.0, weight_productivity=1.0, ldn_target=0.0,
                  ldn_baseline="persist", food_floor=0.9, budget_usd=1e9)


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("progress") / "region.gpkg"
    write_example(path, parcels=120, seed=5)
    return path


@pytest.fixture(scope="module")
def infeasible_region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_region(tmp_path_factory.mktemp("infeasible") / "r.gpkg",
                        [parcel("forest", productivity_t_ha=1.0, degradation=-1),
                         parcel("forest", productivity_t_ha=2.0, degradation=0)])


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dualuse", *args], capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)


def test_stages_on_stderr_nothing_but_json_on_stdout_and_q_and_v(region: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.gpkg"
    done = run("solve", str(region), "-o", str(out), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "optimal"
    lines = done.stderr.splitlines()
    for stage in ("read (", "coefficients (", "checks ...", "build (", "solve (HiGHS", "write ("):
        assert any(line.startswith(stage) for line in lines), (stage, done.stderr)
    assert sum(line.endswith(" s") and ": done in" in line for line in lines) >= 6
    assert "\r" not in done.stderr  # stderr is a pipe: plain lines
    quiet = run("solve", str(region), "-o", str(out), "--overwrite", "--json", "-q")
    assert quiet.returncode == 0 and quiet.stderr == "" and json.loads(quiet.stdout)["status"] == "optimal"
    verbose = run("solve", str(region), "-o", str(out), "--overwrite", "--json", "-v")
    assert verbose.returncode == 0 and json.loads(verbose.stdout)["status"] == "optimal"
    assert "dualuse.highs: " in verbose.stderr  # HiGHS's own log, through the log
    both = CliRunner().invoke(cli, ["validate", str(region), "-q", "-v"])
    assert both.exit_code == 2 and "not both" in both.stderr


@pytest.mark.parametrize("command", ["solve", "validate", "parameters", "catalogue", "example", "sweep", "pareto",
                                     "portfolio", "no-regret", "stress", "new",
                                     "report", "prepare"])
def test_every_command_takes_q_and_v(command: str) -> None:
    text = CliRunner().invoke(cli, [command, "--help"]).output
    assert "-q, --quiet" in text and "-v, --verbose" in text


def test_an_existing_output_needs_overwrite(region: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.gpkg"
    assert CliRunner().invoke(cli, ["solve", str(region), "-o", str(out)]).exit_code == 0
    before = out.read_bytes()
    again = CliRunner().invoke(cli, ["solve", str(region), "-o", str(out), "--set", "budget_usd=1e6"])
    assert again.exit_code == 2 and "--overwrite" in again.stderr and out.read_bytes() == before
    replaced = CliRunner().invoke(cli, ["solve", str(region), "-o", str(out), "--set", "budget_usd=1e6",
                                        "--overwrite"])
    assert replaced.exit_code == 0 and out.read_bytes() != before
    lp = tmp_path / "model.lp"
    lp.write_text("an earlier model")
    refused = CliRunner().invoke(cli, ["solve", str(region), "-o", str(tmp_path / "p2.gpkg"), "--write-lp", str(lp)])
    assert refused.exit_code == 2 and "--write-lp" in refused.stderr and lp.read_text() == "an earlier model"
    assert not (tmp_path / "p2.gpkg").exists()
    example = CliRunner().invoke(cli, ["example", "-o", str(out), "--parcels", "10"])
    assert example.exit_code == 2 and "--overwrite" in example.stderr
    report = tmp_path / "plan.html"
    report.write_text("an earlier report")
    refused = CliRunner().invoke(cli, ["report", str(out)])
    assert refused.exit_code == 2 and report.read_text() == "an earlier report"


def test_stale_temporaries_of_killed_runs_are_cleared_and_live_ones_kept(region: Path, tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    stale = tmp_path / f".other{TEMP_MARK}{dead.stdout.strip()}-abc123.gpkg"
    live = tmp_path / f".other{TEMP_MARK}{os.getpid()}-def456.gpkg"
    for temp in (stale, live):
        temp.write_bytes(b"half a plan")
    result = CliRunner().invoke(cli, ["solve", str(region), "-o", str(tmp_path / "plan.gpkg")])
    assert result.exit_code == 0, result.output
    assert not stale.exists() and live.exists()


def test_no_explain_and_an_explanation_cut_short(infeasible_region: Path, tmp_path: Path) -> None:
    sets = [f"--set={k}={v}" for k, v in INFEASIBLE.items()]
    out = str(tmp_path / "p.gpkg")
    plain = CliRunner().invoke(cli, ["solve", str(infeasible_region), "-o", out, "--json", "--no-explain", *sets])
    payload = json.loads(plain.stdout)
    assert plain.exit_code == InfeasibleError.exit_code, plain.output
    assert [e["kind"] for e in payload["explanation"]] == ["not_explained"]
    assert "--no-explain" in payload["message"] and "relaxing" not in payload["message"]
    short = CliRunner().invoke(cli, ["solve", str(infeasible_region), "-o", out, "--json",
                                     "--explain-time-limit", "1e-6", *sets])
    payload = json.loads(short.stdout)
    assert short.exit_code == InfeasibleError.exit_code
    assert payload["explanation"][-1]["kind"] == "cut_short" and payload["explanation"][-1]["solves"] == 0
    assert "cut short" in payload["message"] and "--explain-time-limit" in payload["message"]
    assert not Path(out).exists()


def test_a_budget_cut_keeps_what_was_found_and_a_whole_budget_finds_all(infeasible_region: Path) -> None:
    region = read_region(infeasible_region)
    scenario = make_scenario(INFEASIBLE)
    coef = compute_coefficients(region, load_catalogue(), scenario)
    whole = explain_infeasibility(coef, scenario, budget_s=0)  # 0: no budget
    kinds = [e["kind"] for e in whole]
    assert "cut_short" not in kinds and {"conflict", "alone", "fix", "combined"} <= set(kinds)
    with pytest.raises(InfeasibleError) as info:
        solve_region(infeasible_region, scenario=scenario, explain_time_limit_s=1e-6)
    assert [e["kind"] for e in info.value.explanation] == ["cut_short"]


def test_counted_progress_off_a_terminal_is_a_line_per_tenth() -> None:
    stream = io.StringIO()
    bar = Progress(40, enabled=True, label="sweep", stream=stream)
    for k in range(40):
        bar.update(failed=k == 3)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue() and len(lines) == 11
    assert lines[0].startswith("sweep: 0/40") and lines[-1].startswith("sweep: 40/40") and "no plan 1" in lines[-1]


def test_overlap_tolerance_on_solve_and_validate(tmp_path: Path) -> None:
    """A duplicated parcel counts its land twice beyond the default tolerance; a larger one lets it pass, warned."""
    assert f"[default: {OVERLAP_TOLERANCE:g}]" in CliRunner().invoke(cli, ["validate", "--help"]).output
    path = str(duplicated(tmp_path))
    refused = CliRunner().invoke(cli, ["validate", path])
    assert refused.exit_code == 2 and "overlap tolerance" in refused.output
    allowed = CliRunner().invoke(cli, ["validate", path, "--overlap-tolerance", "0.5"])
    assert allowed.exit_code == 0 and "the same polygon twice" in allowed.output
    assert CliRunner().invoke(cli, ["solve", path, "-o", str(tmp_path / "p.gpkg")]).exit_code == 2
    solved = CliRunner().invoke(cli, ["solve", path, "-o", str(tmp_path / "p.gpkg"), "--overlap-tolerance", "0.5"])
    assert solved.exit_code == 0 and "the same polygon twice" in solved.stderr
    assert CliRunner().invoke(cli, ["solve", path, "--overlap-tolerance", "1.5"]).exit_code == 2
