"""The one run: a scenario is checked, solved and refused the same way by ``dualuse solve``, a sweep and a front."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import parcel, write_region

from dualuse.cli import cli
from dualuse.errors import InfeasibleError
from dualuse.inputs.scenario import make_scenario
from dualuse.run import solve_region
from dualuse.studies.executor import open_executor
from dualuse.studies.pareto import run_pareto
from dualuse.studies.sweep import run_sweep

#: Only harvest counts; LDN per land type at neutrality, the baseline trend persisting (so that a degraded
#: parcel left alone is a loss); a budget far below the least-cost restoration that LDN needs, which the
#: pre-solve checks see before any solve.
SHORT_BUDGET = dict(weight_access=0.0, weight_energy=0.0, weight_productivity=1.0, ldn_target=0.0,
                    ldn_baseline="persist", food_floor=0.0, budget_usd=10_000.0)


@pytest.fixture
def region(tmp_path: Path) -> Path:
    """A degraded and a stable cropland: LDN needs half of the degraded one restored."""
    return write_region(tmp_path / "r.gpkg", [parcel("cropland", productivity_t_ha=1.0, degradation=-1),
                                               parcel("cropland", productivity_t_ha=2.0, degradation=0)])


@pytest.fixture(params=["threads", pytest.param("processes", marks=pytest.mark.slow)])
def executor(request: pytest.FixtureRequest) -> Iterator[Executor]:
    if request.param == "threads":
        with ThreadPoolExecutor(max_workers=1) as pool:
            yield pool
    else:
        with open_executor(workers=1, plots=False) as pool:
            yield pool


def test_a_scenario_the_checks_refuse_is_refused_alike_by_solve_and_in_a_sweep(region: Path, tmp_path: Path,
                                                                                executor: Executor) -> None:
    scenario = make_scenario(SHORT_BUDGET)
    command = CliRunner().invoke(cli, ["solve", str(region), "-o", str(tmp_path / "plan.gpkg"), "--json",
                                       *[f"--set={k}={v}" for k, v in SHORT_BUDGET.items()]])
    assert command.exit_code == 3, command.output
    refused = json.loads(command.stdout)
    assert refused.pop("schema_version") == 1
    assert refused["status"] == "infeasible"
    presolve = [e for e in refused["explanation"] if e["kind"] == "presolve"]
    assert presolve and presolve[0]["check"] == "budget_covers_requirement"
    with pytest.raises(InfeasibleError) as info:
        solve_region(region, scenario=scenario)
    assert str(info.value) == refused["message"]
    assert json.loads(json.dumps(info.value.to_dict(), default=str)) == refused

    sweep = run_sweep(region, {"short budget": scenario}, executor, output=tmp_path / "sweep", plots=False)
    row = sweep.rows.iloc[0]
    assert (row["status"], row["message"]) == (refused["status"], refused["message"])
    assert row["plan"] == "" and not list((tmp_path / "sweep" / "plans").iterdir())

    # a front's solves go through the same checks: the base scenario is refused for the same reason
    with pytest.raises(InfeasibleError) as front:
        run_pareto(region, "productivity", "restored_ha", points=3, executor=executor, scenario=scenario)
    assert "as the pre-solve checks show" in str(front.value)
    assert all(f"{e['message']}. Fix: {e['fix']}" in str(front.value) for e in presolve)
