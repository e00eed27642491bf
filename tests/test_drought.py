"""Drought years: the input tables, the robust food floor (every year, expected, CVaR), the price of robustness,
and the stress test of a written plan.

The hand-solved region: parcel A, cropland, 2 t/ha in a normal year, may take PV; parcel C, protected grassland,
keeps its use.  The objective is energy alone, so the nominal plan covers A with utility solar (the normal-year
food floor of 0.5 is met by C alone).  In drought year d1 A yields 1 t/ha and C 0.2 t/ha: today's land gives
A + 0.2 C, while the nominal plan gives 0.2 C, a ratio of 1/6.  Agrivoltaics keeps 1.1 of the open field's
harvest in a drought year (the catalogue's drought_retention), so with a drought floor φ_d the robust plan puts
the share a = (φ_d (A + 0.2 C) − 0.2 C) / (1.1 A) of A under agrivoltaics (less energy lost than with the current
use or restoration, which keep 1.0 and 1.15 but give no energy), the rest under solar.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import prepare_fixtures as fx
import pyogrio
import pytest
from click.testing import CliRunner
from helpers import parcel, write_region

from dualuse.cli import cli
from dualuse.errors import InputError, UsageError
from dualuse.inputs.catalogue import load_catalogue
from dualuse.inputs.region import check_region, read_region
from dualuse.inputs.scenario import load_scenario
from dualuse.model.drought import lower_cvar
from dualuse.prepare.example import make_example
from dualuse.prepare.example_droughts import example_drought_years
from dualuse.run import solve_region
from dualuse.vocabulary import LAND_TYPES, USES

ROOT = Path(__file__).resolve().parents[1]
YEARS = {"A": {"d1": 1.0, "d2": 1.5, "d3": 1.8}, "C": {"d1": 0.2, "d2": 1.0, "d3": 1.6}}
PROBABILITY = {"d1": 0.2, "d2": 0.3, "d3": 0.5}
BASE = dict(ldn_scope="off", weight_access=0.0, weight_productivity=0.0, weight_energy=1.0, food_floor=0.5,
            budget_usd=1e8)


def write_drought_region(path: Path, years: dict[str, dict[str, float]] = YEARS,
                         probability: dict[str, float] | None = PROBABILITY) -> Path:
    write_region(path, [parcel("cropland", parcel_id="A", productivity_t_ha=2.0, community_id="north"),
                        parcel("grassland", parcel_id="C", productivity_t_ha=2.0, protected=True,
                               community_id="south")],
                 communities=[{"community_id": "north", "unserved_households": 10},
                              {"community_id": "south", "unserved_households": 10}])
    rows = [{"parcel_id": p, "scenario": s, "productivity_t_ha": v} for p, by in years.items() for s, v in by.items()]
    pyogrio.write_dataframe(pd.DataFrame(rows), path, layer="productivity_scenarios", driver="GPKG")
    if probability is not None:
        pyogrio.write_dataframe(pd.DataFrame({"scenario": list(probability), "probability": list(probability.values())}),
                                path, layer="scenarios", driver="GPKG")
    return path


@pytest.fixture(scope="module")
def region_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_drought_region(tmp_path_factory.mktemp("drought") / "region.gpkg")


@pytest.fixture(scope="module")
def robust(region_path: Path) -> tuple[Path, object]:
    out = region_path.with_name("robust.gpkg")
    plan = solve_region(region_path, out, scenario=load_scenario().replace(**BASE, drought_food_floor=0.5))
    return out, plan


def recheck_drought_floors(plan_path: Path, region_path: Path) -> pd.DataFrame:
    """Each drought year's harvest ratio from the written plan and the region's tables, with plain pandas."""
    plan = pd.DataFrame(pyogrio.read_dataframe(plan_path, layer="plan", read_geometry=False))
    years = pd.DataFrame(pyogrio.read_dataframe(region_path, layer="productivity_scenarios", read_geometry=False))
    catalogue = load_catalogue()
    ratio = {u.name: dict(zip(LAND_TYPES, u.drought_retention_or_normal)) for u in catalogue.uses}
    frame = years.merge(plan[["parcel_id", "land_type", "area_ha", *(f"share_{u}" for u in USES)]], on="parcel_id")
    kept = sum(frame[f"share_{u}"] * frame["land_type"].map(ratio[u]) for u in USES)
    frame["today_t"] = frame["area_ha"] * frame["productivity_t_ha"]
    frame["plan_t"] = frame["today_t"] * kept
    totals = frame.groupby("scenario")[["today_t", "plan_t"]].sum()
    totals["ratio"] = totals["plan_t"] / totals["today_t"]
    return totals


# --------------------------------------------------------------------------- the hand-solved case


def test_the_robust_plan_moves_part_of_a_parcel_to_drought_tolerant_agrivoltaics(robust, region_path) -> None:
    out, plan = robust
    area = dict(zip(plan.region.parcel_id, plan.region.area_ha))
    a_ha, c_ha = area["A"], area["C"]
    share = (0.5 * (a_ha * 1.0 + c_ha * 0.2) - c_ha * 0.2) / (1.1 * a_ha)
    layer = pd.DataFrame(pyogrio.read_dataframe(out, layer="plan", read_geometry=False)).set_index("parcel_id")
    assert layer.loc["A", "share_agrivoltaic"] == pytest.approx(share, abs=1e-6)
    assert layer.loc["A", "share_solar"] == pytest.approx(1 - share, abs=1e-6)
    assert layer.loc["C", "share_current"] == pytest.approx(1.0)
    floors = recheck_drought_floors(out, region_path)
    assert (floors["ratio"] >= 0.5 - 1e-6).all()
    assert floors.loc["d1", "ratio"] == pytest.approx(0.5, abs=1e-6)         # d1 binds, the others do not
    assert (floors.loc[["d2", "d3"], "ratio"] > 0.5 + 1e-3).all()
    prices = {p["name"]: p["value"] for p in plan.shadow_prices}
    assert prices["drought_floor_d1"] > 0 and prices["drought_floor_d2"] == 0 and prices["drought_floor_d3"] == 0


def test_the_nominal_plan_fails_the_drought_floor_and_the_price_is_reported(robust, region_path) -> None:
    out, plan = robust
    area = dict(zip(plan.region.parcel_id, plan.region.area_ha))
    today_d1 = area["A"] * 1.0 + area["C"] * 0.2
    table = pd.DataFrame(pyogrio.read_dataframe(out, layer="drought_years", read_geometry=False)).set_index("scenario")
    assert table.loc["d1", "nominal_harvest_ratio"] == pytest.approx(area["C"] * 0.2 / today_d1, rel=1e-6)
    assert table.loc["d1", "nominal_shortfall_t"] == pytest.approx(0.5 * today_d1 - area["C"] * 0.2, rel=1e-6)
    assert table.loc["d1", "plan_shortfall_t"] == pytest.approx(0.0, abs=1e-6)
    summary = pd.DataFrame(pyogrio.read_dataframe(out, layer="summary", read_geometry=False)).set_index("kpi")
    nominal = solve_region(region_path, scenario=load_scenario().replace(**BASE))
    assert nominal.shares[0, USES.index("solar")] == pytest.approx(1.0)
    assert summary.loc["price_of_robustness", "plan"] == pytest.approx(nominal.objective - plan.objective, rel=1e-6)
    assert summary.loc["price_of_robustness", "plan"] > 0
    assert summary.loc["drought_harvest_ratio", "plan"] == pytest.approx(0.5, abs=1e-6)


def test_a_whole_parcel_plan_switches_the_parcel_to_agrivoltaics(region_path) -> None:
    plan = solve_region(region_path, scenario=load_scenario().replace(**BASE, drought_food_floor=0.5, mode="whole"))
    assert plan.shares[0, USES.index("agrivoltaic")] == pytest.approx(1.0)


# --------------------------------------------------------------------------- expected and CVaR


def test_lower_cvar_by_hand() -> None:
    # the worst 25 %: all of 0.2 (p 0.1) and 0.15 of 0.5's 0.3 → (0.1·0.2 + 0.15·0.5) / 0.25 = 0.38
    assert lower_cvar(np.array([0.9, 0.2, 0.5]), np.array([0.6, 0.1, 0.3]), 0.25) == pytest.approx(0.38)
    assert lower_cvar(np.array([0.9, 0.2, 0.5]), np.array([0.6, 0.1, 0.3]), 1.0) == pytest.approx(0.71)
    assert lower_cvar(np.array([0.9, 0.2, 0.5]), np.array([0.6, 0.1, 0.3]), 0.05) == pytest.approx(0.2)


@pytest.mark.parametrize("lp_method", ["structured", "generic"])
def test_the_cvar_floor_holds_on_the_worst_years_from_the_written_plan(region_path, tmp_path, lp_method) -> None:
    out = tmp_path / "cvar.gpkg"
    scenario = load_scenario().replace(**BASE, drought_food_floor=0.7, drought_scope="cvar", cvar_alpha=0.4,
                                       lp_method=lp_method)
    plan = solve_region(region_path, out, scenario=scenario)
    floors = recheck_drought_floors(out, region_path)
    ratio = floors.loc[list(PROBABILITY), "ratio"].to_numpy()
    # the worst 40 % of the probability, the years sorted by their ratio: all of d1 (0.2), then 0.2 of d2's 0.3
    order = np.argsort(ratio)
    weight = np.array(list(PROBABILITY.values()))[order]
    taken = np.clip(0.4 - np.concatenate([[0.0], np.cumsum(weight)[:-1]]), 0.0, weight)
    by_hand = float(taken @ ratio[order] / 0.4)
    assert by_hand == pytest.approx(0.7, abs=1e-6)                    # the floor binds, exactly
    assert ratio.min() < 0.7 - 1e-3                                   # a single year may fall below it
    assert plan.result.solver["lp_path"] == lp_method
    assert any(p["name"] == "drought_cvar" and p["value"] > 0 for p in plan.shadow_prices)


def test_cvar_over_all_the_probability_is_the_expected_floor(region_path) -> None:
    expected = solve_region(region_path, scenario=load_scenario().replace(**BASE, drought_food_floor=0.7,
                                                                          drought_scope="expected"))
    cvar = solve_region(region_path, scenario=load_scenario().replace(**BASE, drought_food_floor=0.7,
                                                                      drought_scope="cvar", cvar_alpha=1.0))
    assert cvar.objective == pytest.approx(expected.objective, rel=1e-7)
    np.testing.assert_allclose(cvar.shares, expected.shares, atol=1e-6)


def test_a_drought_floor_without_drought_years_is_refused(tmp_path) -> None:
    path = write_region(tmp_path / "plain.gpkg", [parcel("cropland", productivity_t_ha=1.0)])
    with pytest.raises(UsageError, match="productivity_scenarios"):
        solve_region(path, scenario=load_scenario().replace(drought_food_floor=0.5))


# --------------------------------------------------------------------------- validation of the tables


def _errors(path: Path) -> list:
    region, problems = check_region(path)
    return [p for p in problems if p.severity == "error"]


def test_a_parcel_missing_from_a_year_is_named(tmp_path) -> None:
    years = {"A": {"d1": 1.0, "d2": 1.5}, "C": {"d1": 0.2}}
    errors = _errors(write_drought_region(tmp_path / "r.gpkg", years, {"d1": 0.5, "d2": 0.5}))
    assert len(errors) == 1 and errors[0].layer == "productivity_scenarios" and errors[0].ids == ("C/d2",)
    assert "every parcel must be in every drought year" in errors[0].message


def test_negative_productivity_and_bad_probabilities_are_refused(tmp_path) -> None:
    years = {"A": {"d1": -1.0, "d2": 1.5}, "C": {"d1": 0.2, "d2": 1.0}}
    errors = _errors(write_drought_region(tmp_path / "neg.gpkg", years))
    assert errors[0].column == "productivity_t_ha" and "negative" in errors[0].message and errors[0].ids == ("A/d1",)
    ok_years = {"A": {"d1": 1.0, "d2": 1.5}, "C": {"d1": 0.2, "d2": 1.0}}
    errors = _errors(write_drought_region(tmp_path / "sum.gpkg", ok_years, {"d1": 0.5, "d2": 0.3}))
    assert errors[0].column == "probability" and "sum to 0.8" in errors[0].message
    errors = _errors(write_drought_region(tmp_path / "unknown.gpkg", ok_years, {"d1": 0.5, "d2": 0.3, "d9": 0.2}))
    assert errors[0].column == "scenario" and errors[0].ids == ("d9",)
    with pytest.raises(InputError, match="sum to 0.8"):
        read_region(tmp_path / "sum.gpkg")


def test_without_a_scenarios_table_the_years_are_equally_likely(tmp_path) -> None:
    region = read_region(write_drought_region(tmp_path / "eq.gpkg", probability=None))
    assert region.drought is not None and region.drought.names == ("d1", "d2", "d3")
    np.testing.assert_allclose(region.drought.probability, 1 / 3)


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dualuse", *args], capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)


def test_validate_refuses_the_tables_with_exit_2(tmp_path) -> None:
    years = {"A": {"d1": 1.0, "d2": 1.5}, "C": {"d1": 0.2}}
    path = write_drought_region(tmp_path / "v.gpkg", years, {"d1": 0.5, "d2": 0.5})
    done = _run("validate", str(path), "--json")
    assert done.returncode == 2, done.stderr
    problems = json.loads(done.stdout)["problems"]
    assert any(p["layer"] == "productivity_scenarios" and p["ids"] == ["C/d2"] for p in problems)


def test_validate_refuses_a_drought_floor_without_drought_years_as_solve_does(tmp_path) -> None:
    path = write_region(tmp_path / "plain.gpkg", [parcel("cropland", productivity_t_ha=1.0)])
    done = _run("validate", str(path), "--set", "drought_food_floor=0.5")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    text = done.stdout
    assert "'productivity_scenarios'" in text and "'scenarios'" in text
    assert "--productivity-scenario" in text and "drought_food_floor = 0" in text
    assert text.count("asks for a harvest floor in drought years") == 1
    done = _run("validate", str(path), "--set", "drought_food_floor=0.5", "--json")
    problems = json.loads(done.stdout)["problems"]
    assert done.returncode == 2 and [p["layer"] for p in problems if p["severity"] == "error"] == \
        ["productivity_scenarios"]
    assert _run("validate", str(path)).returncode == 0   # without the floor the region is fine


# --------------------------------------------------------------------------- the stress test


def test_stress_evaluates_the_nominal_plan_per_year_and_community(region_path, tmp_path) -> None:
    nominal = tmp_path / "nominal.gpkg"
    solve_region(region_path, nominal, scenario=load_scenario().replace(**BASE))
    out = tmp_path / "stressed.gpkg"
    done = _run("stress", str(nominal), "-o", str(out), "--json")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["schema_version"] == 1 and payload["region_is_recorded"] is True
    years = pd.DataFrame(payload["years"]).set_index("scenario")
    assert list(years.index) == ["normal", "d1", "d2", "d3"]
    floors = recheck_drought_floors(nominal, region_path)
    np.testing.assert_allclose(years.loc[["d1", "d2", "d3"], "harvest_ratio"], floors["ratio"], rtol=1e-9)
    assert bool(years.loc["d1", "below_food_floor"]) and not bool(years.loc["normal", "below_food_floor"])
    communities = pd.DataFrame(payload["communities"]).set_index(["scenario", "community_id"])
    assert communities.loc[("d1", "north"), "harvest_ratio"] == pytest.approx(0.0)   # A is all solar
    assert communities.loc[("d1", "south"), "harvest_ratio"] == pytest.approx(1.0)   # C keeps its use
    assert bool(communities.loc[("d1", "north"), "below_food_floor"])
    written = pd.DataFrame(pyogrio.read_dataframe(out, layer="stress", read_geometry=False))
    assert written["scenario"].tolist() == ["normal", "d1", "d2", "d3"]
    assert "plan" in [str(n) for n in pyogrio.list_layers(out)[:, 0]]


def test_stress_refuses_a_region_without_drought_years(robust, tmp_path) -> None:
    out, _ = robust
    plain = write_region(tmp_path / "plain.gpkg", [parcel("cropland", parcel_id="A", productivity_t_ha=2.0)])
    result = CliRunner().invoke(cli, ["stress", str(out), "--region", str(plain), "-o", str(tmp_path / "s.gpkg")])
    assert result.exit_code == 2 and "productivity_scenarios" in result.output
    assert not (tmp_path / "s.gpkg").exists()


# --------------------------------------------------------------------------- catalogue, example and prepare


def test_drought_retention_defaults_to_the_normal_year_retention(tmp_path) -> None:
    catalogue = load_catalogue()
    agrivoltaic = catalogue.use("agrivoltaic")
    retention = dict(zip(LAND_TYPES, agrivoltaic.drought_retention_or_normal))
    assert retention["cropland"] == 1.1 and retention["grassland"] == 1.3
    assert retention["shrubland"] == agrivoltaic.retention[LAND_TYPES.index("shrubland")]
    np.testing.assert_array_equal(catalogue.use("solar").drought_retention_or_normal, catalogue.use("solar").retention)
    text = (ROOT / "models" / "landuses.toml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("drought_retention = { cropland = 1.1, grassland = 1.3 }",
                                "drought_retention = { cropland = -1.1 }"), encoding="utf-8")
    with pytest.raises(InputError, match="drought_retention"):
        load_catalogue(bad)


def test_the_example_droughts_are_seeded_and_worst_on_degraded_land() -> None:
    parcels = make_example(300, seed=5).parcels
    first, weights = example_drought_years(parcels, 5)
    again, _ = example_drought_years(parcels, 5)
    pd.testing.assert_frame_equal(first, again)
    assert weights["probability"].sum() == pytest.approx(1.0)
    frame = first.merge(parcels[["parcel_id", "productivity_t_ha", "degradation"]], on="parcel_id", suffixes=("", "_normal"))
    frame = frame[frame["productivity_t_ha_normal"] > 0]
    kept = (frame["productivity_t_ha"] / frame["productivity_t_ha_normal"]).groupby(
        [frame["scenario"], frame["degradation"]]).mean().unstack()
    assert (kept[-1] < kept[0]).all()
    assert kept.loc["extreme"].max() < kept.loc["moderate"].min()


def test_prepare_writes_the_productivity_of_each_drought_year(tmp_path) -> None:
    files = {"aoi": fx.aoi_square(tmp_path / "aoi.gpkg"), "pvout": fx.pvout_yearly(tmp_path / "pv.tif"),
             "productivity": fx.productivity_degrees(tmp_path / "npp.tif"), "soc": fx.soc_with_nodata(tmp_path / "soc.tif"),
             "land_cover": fx.land_cover_esa(tmp_path / "lc.tif"),
             "dry": fx.productivity_degrees(tmp_path / "dry.tif", west=1.0, east=0.5)}
    out = tmp_path / "region.gpkg"
    result = CliRunner().invoke(cli, [
        "prepare", str(files["aoi"]), "-o", str(out), "--crs", fx.UTM, "--shape", "square", "--cell-ha", "100",
        "--pvout", str(files["pvout"]), "--productivity", str(files["productivity"]), "--soc", str(files["soc"]),
        "--land-cover", str(files["land_cover"]), "--productivity-scenario", f"1984={files['dry']}"],
        catch_exceptions=False)
    assert result.exit_code == 0, result.output
    region = read_region(out)
    assert region.drought is not None and region.drought.names == ("1984",)
    by_parcel = dict(zip(region.parcel_id.tolist(), region.drought.productivity_t_ha[0].tolist()))
    assert by_parcel == pytest.approx({"P0000001": 1.0, "P0000002": 0.5, "P0000003": 1.0, "P0000004": 0.5})
    bad = CliRunner().invoke(cli, ["prepare", str(files["aoi"]), "-o", str(tmp_path / "x.gpkg"), "--cell-ha", "100",
                                   "--pvout", str(files["pvout"]), "--productivity", str(files["productivity"]),
                                   "--soc", str(files["soc"]), "--land-cover", str(files["land_cover"]),
                                   "--productivity-scenario", "no-equals-sign"])
    assert bad.exit_code == 2 and "NAME=FILE.tif" in bad.output


def test_the_report_draws_the_harvest_per_year_nominal_and_robust(robust, tmp_path) -> None:
    from dualuse.report.html import write_report

    out, plan = robust
    written = write_report(out, tmp_path / "robust.html")
    figure = next(f for f in written.figures if f.name == "drought")
    assert figure.legend[:3] == ["Today's land uses", "Plan without the drought floor", "The plan"]
    table = pd.DataFrame(pyogrio.read_dataframe(out, layer="drought_years", read_geometry=False))
    np.testing.assert_allclose(figure.data["plan_t"][1:], table["plan_harvest_t"])
    np.testing.assert_allclose(figure.data["nominal_t"][1:], table["nominal_harvest_t"])
    assert figure.data["plan_t"][0] == pytest.approx(plan.kpis["productivity_t"])
    assert "Drought years" in written.html.read_text(encoding="utf-8")


def test_an_unreachable_drought_floor_is_explained_by_its_binding_year(region_path) -> None:
    from dualuse.errors import InfeasibleError

    with pytest.raises(InfeasibleError) as caught:
        solve_region(region_path, scenario=load_scenario().replace(**BASE, drought_food_floor=1.5))
    # the most any plan keeps: A wholly restored (farmer-managed regeneration keeps 1.15 of the open field's
    # harvest in a drought year, more than agrivoltaics' 1.1), C under its current use; d3 is the tightest year
    area = dict(zip(["A", "C"], read_region(region_path).area_ha))
    best = {s: (1.15 * YEARS["A"][s] * area["A"] + YEARS["C"][s] * area["C"])
            / (YEARS["A"][s] * area["A"] + YEARS["C"][s] * area["C"]) for s in PROBABILITY}
    assert min(best, key=best.get) == "d3"
    message = str(caught.value)
    assert "drought year 'd3'" in message
    suggested = float(message.split("lower drought_food_floor from 1.5 to ")[-1].split()[0])
    assert suggested == pytest.approx(best["d3"], abs=1e-4) and suggested <= best["d3"]


def test_the_drought_table_reads_the_same_in_the_layers_order_and_in_any_other(tmp_path) -> None:
    by_parcel = read_region(write_drought_region(tmp_path / "by_parcel.gpkg")).drought  # rows parcel by parcel
    in_order = write_drought_region(tmp_path / "by_year.gpkg")  # rows year by year, in the layer's order
    rows = [{"parcel_id": p, "scenario": s, "productivity_t_ha": YEARS[p][s]} for s in PROBABILITY for p in YEARS]
    pyogrio.write_dataframe(pd.DataFrame(rows), in_order, layer="productivity_scenarios", driver="GPKG")
    by_year = read_region(in_order).drought
    assert by_year.names == by_parcel.names == tuple(PROBABILITY)
    np.testing.assert_array_equal(by_year.productivity_t_ha, by_parcel.productivity_t_ha)
    np.testing.assert_array_equal(by_year.productivity_t_ha[:, 0], [YEARS["A"][s] for s in PROBABILITY])


def test_a_table_in_the_layers_order_is_read_from_arrow_as_the_general_reader_reads_it(monkeypatch) -> None:
    import dualuse.inputs.drought as drought
    from dualuse.inputs.drought_arrow import in_layer_order

    example = ROOT / "data" / "example_region.gpkg"
    region = read_region(example)
    fast = in_layer_order(str(example), "productivity_scenarios", drought.PRODUCTIVITY_SCENARIO_COLUMNS,
                          region.parcel_id)
    assert fast is not None  # the example lists its years in the layer's order
    monkeypatch.setattr(drought, "in_layer_order", lambda *args: None)
    general = read_region(example).drought
    assert general.names == region.drought.names
    np.testing.assert_array_equal(general.productivity_t_ha, region.drought.productivity_t_ha)
    np.testing.assert_array_equal(general.pv_yield_kwh_kwp, region.drought.pv_yield_kwh_kwp)
    np.testing.assert_array_equal(general.probability, region.drought.probability)
