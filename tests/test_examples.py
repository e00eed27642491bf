"""The examples run, and what they conclude follows from the results they wrote."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pandas as pd
import pytest

from dualuse.export.gpkg import read_table
from dualuse.inputs.catalogue import load_catalogue
from dualuse.inputs.region import read_region
from dualuse.inputs.scenario import load_scenario
from dualuse.model.access import access_floor
from dualuse.model.coefficients import compute_coefficients
from dualuse.model.families import ldn_groups
from dualuse.prepare.example import write_example
from dualuse.run import solve_region
from dualuse.studies.spec import read_sweep

pytestmark = pytest.mark.slow  # process pools, Dask or subprocess runs: see `make test-fast`

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def summary(plan_path: Path) -> pd.Series:
    """A written plan's summary: KPI -> plan value."""
    return read_table(plan_path, "summary").set_index("kpi")["plan"]


def test_budget_ldn_sweep_file_is_a_50_scenario_grid() -> None:
    spec = read_sweep(EXAMPLES / "budget_ldn.toml")
    assert spec.varied == ["budget_usd", "ldn_target"]
    assert len(spec.grid["budget_usd"]) * len(spec.grid["ldn_target"]) == 50


def test_planner_questions_conclude_from_the_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    region = tmp_path / "region.gpkg"
    write_example(region, parcels=80, seed=1)  # the fairness floor of 0.5 can be met at its question budget
    out = tmp_path / "answers"
    script = runpy.run_path(str(EXAMPLES / "planner_questions.py"))  # its functions, not __main__
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
    # questions 1-3 are asked at the budget the sweep's results choose, and their plans are the ones written
    questions = out / "questions"
    budget = script["question_budget"](rows)
    base = summary(questions / "plan.gpkg")
    assert base["budget_usd"] == budget
    assert f"questions 1–3 at USD {budget / 1e6:,.0f} M ({base['households_served']:,.0f} households" in text
    _assert_break_even_holds(questions, base, text)
    _assert_ldn_price_holds(region, questions, text)
    _assert_fairness_totals(region, questions, base, text)


def _assert_break_even_holds(questions: Path, base: pd.Series, text: str) -> None:
    """1. The break-even printed is the plan's, and the re-solves with the copied catalogue give agrivoltaics
    land just past it and none just short of it."""
    change = base["break_even_agrivoltaic_capex_usd_mwp"]
    assert base["area_agrivoltaic_ha"] < 1.0 and change < 0
    cost = load_catalogue().use("agrivoltaic").capex_usd_mwp
    assert (f"agrivoltaics takes land once its capital cost falls by {-change:.1%}: from USD {cost:,.0f}/MWp to "
            f"USD {cost * (1 + change):,.0f}/MWp") in text
    for margin, enters in ((1.02, True), (0.98, False)):
        plan_path = questions / f"agrivoltaic_capex_{margin:g}.gpkg"
        run = read_table(plan_path, "run").iloc[0]
        used = load_catalogue(run["catalogue_path"]).use("agrivoltaic").capex_usd_mwp
        assert used == pytest.approx(cost * (1 + margin * change), rel=1e-12)
        area_ha = summary(plan_path)["area_agrivoltaic_ha"]
        assert (area_ha > 1e-6) == enters, (margin, area_ha)
        assert re.search(rf"at USD {used:,.0f}/MWp \(a change of {margin * change:+.1%}\) [a-z ]*takes "
                         rf"{area_ha:,.1f} ha", text), (margin, used, area_ha)


def _assert_ldn_price_holds(region: Path, questions: Path, text: str) -> None:
    """2. The LDN price printed, in USD of budget per ha, is the persist plan's, and lies between the slopes
    of the objective recomputed here by moving ldn_target and the budget."""
    persist = summary(questions / "ldn_persist.gpkg")
    usd_ha = 1e6 * persist["shadow_ldn_region"] / persist["shadow_budget"]
    assert usd_ha > 0, "LDN binds under persist"
    assert f"each ha of net LDN gain required (region) costs USD {usd_ha:,.0f} of budget" in text
    assert "lies between them" in text
    scenario = read_sweep(EXAMPLES / "budget_ldn.toml").base.replace(budget_usd=persist["budget_usd"],
                                                                    ldn_baseline="persist")
    loaded = read_region(region)

    def objective(**changes: float) -> float:
        return solve_region(loaded, scenario=scenario.replace(**changes), explain=False).objective

    centre, budget = objective(), scenario.budget_usd
    per_usd = (objective(budget_usd=budget * (1 + 1e-4)) - objective(budget_usd=budget * (1 - 1e-4))) / (2e-4 * budget)
    coef = compute_coefficients(loaded, load_catalogue(), scenario)
    step = 1e-4
    step_ha = step * float(ldn_groups(coef, scenario).area_ha.sum())
    relaxed = (objective(ldn_target=scenario.ldn_target - step) - centre) / step_ha / per_usd
    tightened = (centre - objective(ldn_target=scenario.ldn_target + step)) / step_ha / per_usd
    assert min(relaxed, tightened) * (1 - 1e-3) <= usd_ha <= max(relaxed, tightened) * (1 + 1e-3)


def _assert_fairness_totals(region: Path, questions: Path, base: pd.Series, text: str) -> None:
    """3. The households printed for both plans are the written plans' KPIs, their difference is theirs, and
    the floor holds in every community it covers."""
    floored = summary(questions / "floor_0.5.gpkg")
    for label, plan in (("min_access_share = 0", base), ("min_access_share = 0.5", floored)):
        assert f"{label}: {plan['households_served']:,.0f} households served ({plan['served_mwh']:,.0f} MWh/yr)" in text
    difference = round(floored["households_served"]) - round(base["households_served"])
    assert difference != 0, "the floor binds at the question budget of this region"
    assert (f"serves {difference:,.0f} more households" if difference > 0
            else f"costs {-difference:,.0f} households of access elsewhere") in text
    scenario = load_scenario(sets={"min_access_share": "0.5"})
    loaded = read_region(region)
    floor = access_floor(compute_coefficients(loaded, load_catalogue(), scenario), scenario)
    assert floor.community.size
    served = read_table(questions / "floor_0.5.gpkg", "communities")
    covered = served.set_index("community_id").loc[loaded.communities["community_id"].iloc[floor.community]]
    assert (covered["access_share"].to_numpy() >= floor.share - 1e-6).all()


def test_the_three_objectives_sweep_runs_and_each_does_what_it_says(tmp_path: Path) -> None:
    """examples/objectives.toml on a small region: every objective gives a plan; access first serves at least as
    many households as the net benefit does, and no plan of the lexicographic objective costs more than the
    weighted one, which spends where it adds any KPI."""
    from dualuse.prepare.example import write_example
    from dualuse.studies.executor import open_executor
    from dualuse.studies.spec import read_sweep
    from dualuse.studies.sweep import run_sweep

    region = tmp_path / "region.gpkg"
    write_example(region, parcels=150, seed=4)
    with open_executor(workers=1, plots=False) as pool:
        result = run_sweep(region, read_sweep(EXAMPLES / "objectives.toml"), pool, output=tmp_path / "out", plots=False)
    rows = result.rows.set_index("name")
    assert set(rows.index) == {"weighted", "priorities", "net_benefit"} and set(rows["status"]) == {"optimal"}
    assert rows.loc["priorities", "households_served"] >= rows.loc["net_benefit", "households_served"] - 1e-6
    assert rows.loc["priorities", "cost_usd"] <= rows.loc["weighted", "cost_usd"] * (1 + 1e-9)
