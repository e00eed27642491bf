"""Near-optimal portfolios and no-regret maps, re-checked from the files they write.

Every plan of a portfolio is re-checked from its GeoPackage (all constraints, with
:func:`helpers.recheck_plan`, and its objective within the slack, recomputed by hand);
the no-regret layer is recomputed from the plan files with plain pandas; a two-parcel
case has exactly two near-optimal plans and MGA finds the one the optimum is not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner
from helpers import RTOL, five_parcels, parcel, read_plan, recheck_plan, write_region

from dualuse.cli import cli
from dualuse.inputs.scenario import load_scenario
from dualuse.studies.portfolio import run_portfolio
from dualuse.vocabulary import USES

ROOT = Path(__file__).resolve().parents[1]
#: An objective that can be recomputed by hand from a plan file: access, energy and harvest, no cost term.
HAND_WEIGHTS = {"weight_access": 1.0, "weight_energy": 0.5, "weight_productivity": 1.0, "weight_cost": 0.0}
SLACK = 0.05
#: Utility PV's density in the bundled catalogue [MWp/ha] (models/landuses.toml), the densest PV use.
SOLAR_MWP_HA = 0.87


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return five_parcels(tmp_path_factory.mktemp("portfolio") / "region.gpkg")


@pytest.fixture(scope="module")
def portfolios(region: Path) -> dict[str, object]:
    """One small portfolio per method, solved in this process (a one-thread executor)."""
    scenario = load_scenario(sets=HAND_WEIGHTS)
    out = {}
    with ThreadPoolExecutor(1) as pool:
        for method in ("mga", "random-directions", "cuts"):
            out[method] = run_portfolio(region, region.parent / method, plans=3, slack=SLACK, method=method,
                                        executor=pool, scenario=scenario, progress=False)
    return out


def hand_objective(path: Path, region: Path) -> float:
    """The objective of a plan file from its own columns: served / demand + ½ (served + export) / the most
    energy the region could make (every parcel, all eligible for it, under utility PV) + harvest / today's."""
    totals = recheck_plan(path, region)  # every constraint holds, from the file
    plan, _, _ = read_plan(path)
    communities = pd.DataFrame(pyogrio.read_dataframe(path, layer="communities", read_geometry=False))
    today_t = float((plan["area_ha"] * plan["productivity_t_ha"]).sum())
    most_mwh = float((plan["area_ha"] * SOLAR_MWP_HA * plan["pv_yield_kwh_kwp"]).sum())
    return (totals["served_mwh"] / float(communities["demand_mwh"].sum())
            + 0.5 * (totals["served_mwh"] + totals["export_mwh"]) / most_mwh + totals["productivity_t"] / today_t)


@pytest.mark.parametrize("method", ["mga", "random-directions", "cuts"])
def test_every_plan_is_within_the_slack_and_feasible_from_its_file(portfolios, region: Path, method: str) -> None:
    result = portfolios[method]
    table = pd.read_csv(result.output / "portfolio.csv")
    assert len(table) == 3 and table["within_slack"].all()
    scores = np.array([hand_objective(result.output / p, region) for p in table["plan"]])
    optimum = scores[0]
    optimum_run = read_plan(result.output / table["plan"].iloc[0])[2]
    assert optimum == pytest.approx(float(optimum_run["objective"]), rel=1e-6)  # the hand objective is the model's
    assert np.all((optimum - scores) / abs(optimum) <= SLACK + 1e-6)
    np.testing.assert_allclose(table["objective"], scores, rtol=1e-6)
    np.testing.assert_allclose(table["gap"], (optimum - scores) / abs(optimum), atol=1e-6)
    # each alternative went to the structured solve (the near-optimality row is a coupling row, handed over as
    # the model's own arrays); a solve it cannot certify falls back to the generic path, as for any LP
    for p in table["plan"].iloc[1:]:
        run = read_plan(result.output / p)[2]
        assert run["handover"] == "arrays" and run["portfolio_method"] == method
        assert run["lp_path"] == "structured" or run["lp_path_reason"].startswith("structured solve not certified")


def _shares(path: Path) -> pd.DataFrame:
    return pd.DataFrame(pyogrio.read_dataframe(path, layer="plan", read_geometry=False))


def test_alternatives_differ_from_the_optimum_and_from_each_other(portfolios) -> None:
    for method in ("mga", "random-directions"):
        table = portfolios[method].plans
        frames = [_shares(portfolios[method].output / p) for p in table["plan"]]
        area = frames[0]["area_ha"].to_numpy()
        columns = [f"share_{u}" for u in USES]
        for k in range(1, len(frames)):
            moved = 0.5 * (area[:, None] * np.abs(frames[k][columns].to_numpy() - frames[0][columns].to_numpy())).sum()
            assert moved == pytest.approx(table["differs_from_optimum_ha"].iloc[k], rel=1e-9)
            assert moved > 10.0  # hectares that change use, in a region of 310 ha
        assert (table["nearest_plan_ha"] > 1.0).all()


def test_cuts_move_a_share_of_each_earlier_plans_action_area(portfolios) -> None:
    table = portfolios["cuts"].plans
    frames = [_shares(portfolios["cuts"].output / p) for p in table["plan"]]
    area = frames[0]["area_ha"].to_numpy()
    actions = [f"share_{u}" for u in USES if u != "current"]
    for k in range(1, len(frames)):
        for earlier in frames[:k]:
            chosen = earlier[actions].to_numpy() >= 0.5
            before = (area[:, None] * earlier[actions].to_numpy() * chosen).sum()
            after = (area[:, None] * frames[k][actions].to_numpy() * chosen).sum()
            assert after <= (1 - 0.25) * before * (1 + RTOL) + 1e-6


def test_no_regret_shares_are_those_of_the_plans(portfolios) -> None:
    result = portfolios["random-directions"]
    folder = result.output
    plans = [_shares(folder / p) for p in pd.read_csv(folder / "portfolio.csv")["plan"]]
    layer = pd.DataFrame(pyogrio.read_dataframe(folder / "no_regret.gpkg", layer="no_regret", read_geometry=False))
    summary = pd.DataFrame(pyogrio.read_dataframe(folder / "no_regret.gpkg", layer="no_regret_summary"))
    area = plans[0]["area_ha"].to_numpy()
    assert (layer["plans"] == len(plans)).all()
    for use in USES:
        stacked = np.stack([p[f"share_{use}"].to_numpy() for p in plans])
        np.testing.assert_allclose(layer[f"share_{use}"], stacked.mean(axis=0), atol=1e-12)
        dominant = np.mean([p["use"].to_numpy() == use for p in plans], axis=0)
        np.testing.assert_allclose(layer[f"dominant_{use}"], dominant, atol=1e-12)
        np.testing.assert_allclose(layer[f"always_{use}_ha"], area * stacked.min(axis=0), atol=1e-9)
        row = summary.set_index("use").loc[use]
        assert row["always_ha"] == pytest.approx((area * stacked.min(axis=0)).sum(), abs=1e-9)
        assert row["mean_ha"] == pytest.approx((area * stacked.mean(axis=0)).sum(), abs=1e-9)
        assert row["dominant_every_plan_ha"] == pytest.approx(area[dominant == 1.0].sum(), abs=1e-9)
    for k in range(len(layer)):
        counts = pd.Series([p["use"].iloc[k] for p in plans]).value_counts()
        assert layer["agreement"].iloc[k] == pytest.approx(counts.max() / len(plans))
        assert counts[layer["most_frequent_use"].iloc[k]] == counts.max()
        expected = layer["most_frequent_use"].iloc[k] if counts.max() == len(plans) else "differs"
        assert layer["no_regret_use"].iloc[k] == expected
    styles = pyogrio.read_dataframe(folder / "no_regret.gpkg", layer="layer_styles", read_geometry=False)
    assert styles["f_table_name"].tolist() == ["no_regret"] and styles["useAsDefault"].astype(bool).all()
    rules = ET.fromstring(styles["styleQML"].iloc[0]).findall(".//rule")
    assert len(rules) == 2 * len(USES)  # per use: every plan agrees (solid), most plans (faded)
    assert {r.get("filter") for r in rules} >= {f"\"no_regret_use\" = '{u}'" for u in USES}


def test_mga_finds_the_other_of_two_near_optimal_plans(tmp_path: Path) -> None:
    """Two bare parcels of a village, each able to meet its whole demand with solar on part of it: the sunnier
    one is the optimum (cheaper per MWh), the other the one alternative within 1 %, and MGA finds it."""
    region = write_region(tmp_path / "two.gpkg", [
        parcel("bare", community_id="village", pv_yield_kwh_kwp=1900.0, area_ha=10.0),
        parcel("bare", community_id="village", pv_yield_kwh_kwp=1880.0, area_ha=10.0),
    ], communities=[{"community_id": "village", "unserved_households": 200}])
    scenario = load_scenario(sets={"weight_access": 1.0, "weight_energy": 0.0, "weight_productivity": 0.0,
                                   "grid_export_mwh": 0.0})
    with ThreadPoolExecutor(1) as pool:
        result = run_portfolio(region, tmp_path / "two", plans=2, slack=0.01, method="mga", executor=pool,
                               scenario=scenario, progress=False)
    optimum, other = (_shares(result.output / p) for p in result.plans["plan"])
    assert optimum["share_solar"].iloc[0] > 0 and optimum["share_solar"].iloc[1] == pytest.approx(0, abs=1e-9)
    assert other["share_solar"].iloc[0] == pytest.approx(0, abs=1e-9) and other["share_solar"].iloc[1] > 0
    # the optimum serves the whole village; the alternative may give up at most the 1 % of slack
    assert result.plans["access"].iloc[0] == pytest.approx(1.0) and result.plans["access"].iloc[1] >= 0.99 - 1e-6
    assert result.plans["within_slack"].all()
    assert 0 < result.plans["gap"].iloc[1] <= 0.01 + 1e-6


def test_report_of_a_portfolio_says_what_every_plan_agrees_on(portfolios) -> None:
    from dualuse.report.html import write_report

    folder = portfolios["cuts"].output
    written = write_report(folder)
    page = written.html.read_text(encoding="utf-8")
    summary = pd.DataFrame(pyogrio.read_dataframe(folder / "no_regret.gpkg", layer="no_regret_summary"))
    current = summary.set_index("use").loc["current"]
    assert f"{current['always_ha']:,.0f} ha keep their current use in all 3 near-optimal plans" in page
    assert {p.name for p in written.pngs} == {"report_no_regret.png", "report_most_frequent.png"}


def test_portfolio_cli_prints_strict_json(region: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "dualuse", "portfolio", str(region), "-o", str(tmp_path / "cli"),
                           "--plans", "2", "--slack", "0.03", "--method", "random-directions", "--workers", "1",
                           "--json"], capture_output=True, text=True, env=env, check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["schema_version"] == 1 and payload["found"] == 2 and len(payload["plans"]) == 2
    assert all(p["gap"] <= 0.03 + 1e-6 for p in payload["plans"])
    assert Path(payload["no_regret"]).is_file() and (tmp_path / "cli" / "portfolio.gpkg").is_file()


def test_no_regret_cli_and_bad_input(portfolios, region: Path, tmp_path: Path) -> None:
    folder = portfolios["mga"].output
    result = CliRunner().invoke(cli, ["no-regret", str(folder), "-o", str(tmp_path / "nr.gpkg"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["plans"] == 3
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(cli, ["no-regret", str(empty), "-o", str(tmp_path / "none.gpkg")])
    assert result.exit_code == 2 and "no plan" in result.output and not (tmp_path / "none.gpkg").exists()
    result = CliRunner().invoke(cli, ["portfolio", str(region), "-o", str(tmp_path / "p"),
                                      "--set", "objective_mode=priorities"])
    assert result.exit_code == 2 and "priorities" in result.output
    result = CliRunner().invoke(cli, ["portfolio", str(region), "-o", str(tmp_path / "p"), "--slack", "1.5"])
    assert result.exit_code == 2


def test_no_regret_of_a_sweep_folder_takes_the_plans_its_table_lists(portfolios, tmp_path: Path) -> None:
    import shutil

    from dualuse.studies.no_regret import study_plans, write_no_regret

    source = portfolios["mga"].output
    plans = list(pd.read_csv(source / "portfolio.csv")["plan"])
    sweep = tmp_path / "sweep"
    (sweep / "plans").mkdir(parents=True)
    for k, plan in enumerate(plans):
        shutil.copy(source / plan, sweep / "plans" / f"s{k}.gpkg")
    # a sweep's table: the second scenario had no plan, so its file is not one of the sweep's plans
    pd.DataFrame({"id": ["s0", "s1", "s2"], "plan": ["plans/s0.gpkg", "", "plans/s2.gpkg"]}).to_csv(
        sweep / "results.csv", index=False)
    assert study_plans(sweep) == [sweep / "plans" / "s0.gpkg", sweep / "plans" / "s2.gpkg"]
    made = write_no_regret(sweep, tmp_path / "agreement.gpkg")
    expected = (_shares(source / plans[0])["share_solar"] + _shares(source / plans[2])["share_solar"]) / 2
    np.testing.assert_allclose(made.layer["share_solar"], expected, atol=1e-12)
    (sweep / "results.csv").unlink()  # without a table: every plan in plans/
    assert len(study_plans(sweep)) == 3
