"""The examples run, and what they conclude follows from the results they wrote."""

from __future__ import annotations

import runpy
from pathlib import Path

import pandas as pd
import pytest

from dualuse.prepare.example import write_example
from dualuse.export.gpkg import read_table
from dualuse.studies.spec import read_sweep

pytestmark = pytest.mark.slow  # process pools, Dask or subprocess runs: see `make test-fast`

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_budget_ldn_sweep_file_is_a_50_scenario_grid() -> None:
    spec = read_sweep(EXAMPLES / "budget_ldn.toml")
    assert spec.varied == ["budget_usd", "ldn_target"]
    assert len(spec.grid["budget_usd"]) * len(spec.grid["ldn_target"]) == 50


def test_planner_questions_conclude_from_the_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    region = tmp_path / "region.gpkg"
    write_example(region, parcels=80, seed=21)
    out = tmp_path / "answers"
    script = runpy.run_path(str(EXAMPLES / "planner_questions.py"))
    assert script["main"]([str(region), "-o", str(out), "--workers", "2", "--points", "5", "--no-plots"]) == 0
    text = capsys.readouterr().out

    rows = pd.read_csv(out / "sweep" / "results.csv")
    assert len(rows) == 50 and (out / "front" / "front.png").exists()
    # 1. households lost to the strictest target, recomputed here from the results table
    served = rows[rows["status"] == "optimal"].pivot_table(index="budget_usd", columns="ldn_target",
                                                           values="households_served")
    loose, strict = served.columns.min(), served.columns.max()
    loss = (served[loose] - served[strict]).dropna()
    assert f"ldn_target {strict:g} instead of {loose:g}: {loss.max():,.0f} fewer households" in text
    # 2. the first budget with agrivoltaics at the loosest target, or none
    plans = rows[(rows["ldn_target"] == loose) & (rows["status"] == "optimal")].sort_values("budget_usd")
    agrivoltaic = plans[plans["area_agrivoltaic_ha"] > 1.0]
    if len(agrivoltaic):
        assert f"agrivoltaics enters the plan at USD {agrivoltaic['budget_usd'].iloc[0] / 1e6:,.0f} M" in text
    else:
        assert "uses agrivoltaics" in text
    # 3. the knee printed is the knee of the written front
    front = read_table(out / "front" / "front.gpkg", "front")
    knee = front[front["knee"] == 1]
    if len(knee):
        assert f"the knee: energy {knee['energy'].iloc[0]:.1%}" in text
    else:
        assert "no marked knee" in text or "no trade-off" in text
