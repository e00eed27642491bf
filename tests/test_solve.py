"""Each constraint family on a two- or three-parcel region whose optimum is worked out by hand.

Every written plan is re-checked from the file with :func:`helpers.recheck_plan`.
Expected figures are computed from the loaded catalogue's coefficients, so the
cases stay right when a coefficient is revised.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import parcel, read_plan, recheck_plan, write_region

from dualuse.cli import cli
from dualuse.errors import InfeasibleError
from dualuse.inputs.catalogue import load_catalogue
from dualuse.inputs.region import read_region
from dualuse.inputs.scenario import load_scenario, make_scenario
from dualuse.model.build import build_model
from dualuse.model.coefficients import compute_coefficients
from dualuse.model.kpis import cost_scale_usd
from dualuse.run import solve_region
from dualuse.vocabulary import USES

CAT = load_catalogue()
SOLAR, AGRI, RESTORE = CAT.use("solar"), CAT.use("agrivoltaic"), CAT.use("restoration")

#: Only energy counts; LDN, food floor off; budget ample.
ENERGY_ONLY = dict(weight_access=0.0, weight_energy=1.0, weight_productivity=0.0, ldn_scope="off", food_floor=0.0,
                   budget_usd=1e12, grid_export_mwh=1e9)


def test_budget_buys_exactly_what_it_pays_for(tmp_path):
    """Two bare parcels of 100 ha, only energy counts, the budget pays for exactly 10 ha of solar.

    Bare land allows current, solar and restoration; solar is the only use
    that earns anything, at ``density × capex_usd_mwp`` USD per ha (no grid
    distance).  So the optimum is 10 ha of solar, and generation is
    10 ha × density × yield.
    """
    region = write_region(tmp_path / "r.gpkg", [parcel("bare", pv_yield_kwh_kwp=1800.0),
                                                 parcel("bare", pv_yield_kwh_kwp=1700.0)])
    usd_per_ha = SOLAR.density_mwp_ha * SOLAR.capex_usd_mwp
    scenario = make_scenario({**ENERGY_ONLY, "budget_usd": 10 * usd_per_ha})
    plan = solve_region(region, tmp_path / "p.gpkg", scenario=scenario)
    totals = recheck_plan(tmp_path / "p.gpkg", region)
    assert plan.kpis["area_solar_ha"] == pytest.approx(10.0, rel=1e-6)
    # all 10 ha go to the sunnier parcel (a 100 ha UTM square is not quite 100 ha on the ellipsoid)
    assert plan.shares[0, USES.index("solar")] * plan.coef.area_ha[0] == pytest.approx(10.0, rel=1e-6)
    assert plan.shares[1, USES.index("solar")] == pytest.approx(0.0, abs=1e-7)
    assert totals["energy_mwh"] == pytest.approx(10 * SOLAR.density_mwp_ha * 1800.0, rel=1e-6)
    assert totals["cost_usd"] == pytest.approx(scenario.budget_usd, rel=1e-6)
    # one more USD 1 M buys 1e6 / usd_per_ha ha more at the same rate, less the cost tie-break of
    # weight_cost per USD of the costliest plan: the shadow price says exactly that
    energy_per_usd = SOLAR.density_mwp_ha * 1800.0 / usd_per_ha
    norm = plan.coef.max_energy_mwh
    price = {s["name"]: s["value"] for s in plan.shadow_prices}["budget"]
    expected = 1e6 * (energy_per_usd / norm - scenario.weight_cost / cost_scale_usd(plan.coef, scenario))
    assert price == pytest.approx(expected, rel=1e-6)


def test_ldn_restores_the_cheapest_half_hectares(tmp_path):
    """Two 100 ha cropland parcels: A degraded (1 t/ha), B stable (2 t/ha); only harvest counts; baseline
    trends persist.

    LDN in cropland starts at −100 ha net: A left alone stays degraded (class 1,
    a loss).  Restoring a share s of A turns it into a gain (class 6: net
    −100 + 200 s), restoring B too (class 4 to 6: net −100 + 100 s).
    Regeneration on cropland keeps the field cropped (retention 1), so harvest
    does not choose; the cost tie-break does: per ha of net gain A costs half
    of what B costs, so the optimum restores exactly 50 ha of A and nothing of B.
    """
    region = write_region(tmp_path / "r.gpkg", [
        parcel("cropland", productivity_t_ha=1.0, degradation=-1),
        parcel("cropland", productivity_t_ha=2.0, degradation=0),
    ])
    scenario = make_scenario(dict(weight_access=0.0, weight_energy=0.0, weight_productivity=1.0,
                                  ldn_scope="land_type", ldn_target=0.0, ldn_baseline="persist", food_floor=0.0,
                                  budget_usd=1e9))
    plan = solve_region(region, tmp_path / "p.gpkg", scenario=scenario)
    totals = recheck_plan(tmp_path / "p.gpkg", region)
    k = USES.index("restoration")
    a, b = plan.coef.area_ha  # both equal: two squares of the same size
    assert plan.shares[0, k] == pytest.approx(0.5, rel=1e-6)
    assert plan.shares[1, k] == pytest.approx(0.0, abs=1e-7)
    assert totals["ldn_net_ha"] == pytest.approx(0.0, abs=1e-5)
    assert RESTORE.retention[0] == 1.0  # cropland is land type 0
    assert plan.kpis["productivity_t"] == pytest.approx(a * 1.0 + b * 2.0, rel=1e-6)
    # one ha less net gain required saves 0.5 ha of restoration on A: its capex, through the tie-break's weight
    price = {s["name"]: s["value"] for s in plan.shadow_prices}["ldn_cropland"]
    tie_break = scenario.weight_cost / cost_scale_usd(plan.coef, scenario)
    assert price == pytest.approx(0.5 * RESTORE.capex_usd_ha * tie_break, rel=1e-4)


def test_a_degraded_field_left_alone_needs_nothing_when_the_baseline_holds(tmp_path):
    """The same region under ``ldn_baseline = stable``: A left alone is class 3 (degraded for SDG 15.3.1, neutral
    for counterbalancing), so LDN asks for no restoration — yet the plan reports A as degraded land."""
    region = write_region(tmp_path / "r.gpkg", [
        parcel("cropland", productivity_t_ha=1.0, degradation=-1),
        parcel("cropland", productivity_t_ha=2.0, degradation=0),
    ])
    scenario = make_scenario(dict(weight_access=0.0, weight_energy=0.0, weight_productivity=1.0,
                                  ldn_target=0.0, food_floor=0.0, budget_usd=1e9))
    plan = solve_region(region, tmp_path / "p.gpkg", scenario=scenario)
    recheck_plan(tmp_path / "p.gpkg", region)
    assert plan.shares[:, USES.index("restoration")].sum() == pytest.approx(0.0, abs=1e-9)
    assert plan.kpis["ldn_net_ha"] == pytest.approx(0.0, abs=1e-9)
    assert plan.kpis["sdg_degraded_ha"] == pytest.approx(plan.coef.area_ha[0], rel=1e-9)
    assert plan.kpis["ldn_net_persist_ha"] == pytest.approx(-plan.coef.area_ha[0], rel=1e-9)
    layer, _, _ = read_plan(tmp_path / "p.gpkg")
    assert layer["ldn_class"].tolist() == [3, 4] and layer["sdg_status"].tolist() == [-1, 0]


def test_infeasible_ldn_names_the_budget_and_how_much(tmp_path):
    """The same region with a budget of 0: restoration cannot be paid for.

    The least relaxation of the budget alone is the cost of the 50 ha above:
    50 × restoration capex per ha.  The CLI exits 3, writes no plan, and its
    JSON carries the same figures.
    """
    region = write_region(tmp_path / "r.gpkg", [
        parcel("cropland", productivity_t_ha=1.0, degradation=-1),
        parcel("cropland", productivity_t_ha=2.0, degradation=0),
    ])
    scenario = make_scenario(dict(weight_access=0.0, weight_energy=0.0, ldn_target=0.0, ldn_baseline="persist",
                                  food_floor=0.0, budget_usd=0.0))
    with pytest.raises(InfeasibleError) as info:
        solve_region(region, tmp_path / "p.gpkg", scenario=scenario)
    area_a = read_region(region).area_ha[0]
    alone = [e for e in info.value.explanation if e["kind"] == "alone" and e["constraint"] == "budget"]
    assert alone and alone[0]["relaxation"] == pytest.approx(0.5 * area_a * RESTORE.capex_usd_ha, rel=1e-5)
    assert "budget" in str(info.value) and "land degradation neutrality" in str(info.value)
    assert not (tmp_path / "p.gpkg").exists()

    result = CliRunner().invoke(cli, ["solve", str(region), "-o", str(tmp_path / "p.gpkg"), "--json",
                                      "--set", "budget_usd=0", "--set", "food_floor=0",
                                      "--set", "ldn_baseline=persist"])
    assert result.exit_code == 3, result.output
    payload = json.loads(result.stdout.strip().splitlines()[0])
    assert payload["status"] == "infeasible"
    assert any(e["constraint"] == "budget" for e in payload["explanation"])
    assert not (tmp_path / "p.gpkg").exists()


def test_energy_access_serves_demand_and_no_more(tmp_path):
    """One community of 100 households at tier 3, one 10 ha bare parcel in it; only access counts.

    Demand is 100 × tier-3 kWh; serving it needs ``demand / η`` MWh of
    generation, i.e. a solar share of ``demand / (η × 10 ha × density ×
    yield)``; the cost tie-break keeps the share at exactly that.
    """
    region = write_region(tmp_path / "r.gpkg", [parcel("bare", community_id="village", area_ha=10.0)],
                          communities=[{"community_id": "village", "unserved_households": 100}])
    scenario = make_scenario(dict(weight_access=1.0, weight_energy=0.0, weight_productivity=0.0,
                                  ldn_scope="off", food_floor=0.0, budget_usd=1e9, grid_export_mwh=0.0))
    plan = solve_region(region, tmp_path / "p.gpkg", scenario=scenario)
    recheck_plan(tmp_path / "p.gpkg", region)
    demand_mwh = 100 * scenario.household_kwh_yr / 1000.0
    full_mwh = plan.coef.area_ha[0] * SOLAR.density_mwp_ha * 1800.0
    assert plan.kpis["access"] == pytest.approx(1.0, rel=1e-6)
    assert plan.kpis["households_served"] == pytest.approx(100.0, rel=1e-6)
    assert plan.shares[0, USES.index("solar")] == pytest.approx(
        demand_mwh / (scenario.delivery_efficiency * full_mwh), rel=1e-5)
    _, _, run = read_plan(tmp_path / "p.gpkg")
    assert run["status"] == "optimal"


def test_food_floor_caps_solar_on_the_poorest_land(tmp_path):
    """Two bare parcels of 100 ha, 1 and 3 t/ha, same sun; only energy counts; food floor 0.9.

    Today's harvest is 400 t; 40 t may be given up.  Solar gives the same
    energy per ha on both, so it takes the land that loses least harvest:
    exactly 40 ha of the 1 t/ha parcel (areas as computed, a hair over 100 ha).
    """
    region = write_region(tmp_path / "r.gpkg", [parcel("bare", productivity_t_ha=1.0),
                                                 parcel("bare", productivity_t_ha=3.0)])
    scenario = make_scenario({**ENERGY_ONLY, "food_floor": 0.9})
    plan = solve_region(region, tmp_path / "p.gpkg", scenario=scenario)
    totals = recheck_plan(tmp_path / "p.gpkg", region)
    a, b = plan.coef.area_ha
    p0 = a * 1.0 + b * 3.0
    assert plan.shares[0, USES.index("solar")] * a == pytest.approx(0.1 * p0 / 1.0, rel=1e-6)
    assert plan.shares[1, USES.index("solar")] == pytest.approx(0.0, abs=1e-7)
    assert totals["productivity_t"] == pytest.approx(0.9 * p0, rel=1e-6)


def test_grid_capacity_limits_export(tmp_path):
    """One bare parcel, no community: only the grid takes energy, and it takes at most its capacity."""
    region = write_region(tmp_path / "r.gpkg", [parcel("bare")])
    scenario = make_scenario({**ENERGY_ONLY, "grid_export_mwh": 5000.0})
    plan = solve_region(region, tmp_path / "p.gpkg", scenario=scenario)
    recheck_plan(tmp_path / "p.gpkg", region)
    assert plan.kpis["export_mwh"] == pytest.approx(5000.0, rel=1e-6)
    # no more PV than the grid can take: the cost tie-break stops at the cap
    assert plan.kpis["energy_mwh"] == pytest.approx(5000.0, rel=1e-6)


def test_protected_and_steep_parcels_get_no_pv(tmp_path):
    """The sunniest parcel is protected and the next is too steep: PV goes to the third."""
    region = write_region(tmp_path / "r.gpkg", [
        parcel("bare", pv_yield_kwh_kwp=2200.0, protected=True),
        parcel("bare", pv_yield_kwh_kwp=2100.0, slope_deg=SOLAR.max_slope_deg + 5),
        parcel("bare", pv_yield_kwh_kwp=1500.0),
    ])
    scenario = make_scenario({**ENERGY_ONLY, "grid_export_mwh": 1000.0})
    plan = solve_region(region, tmp_path / "p.gpkg", scenario=scenario)
    recheck_plan(tmp_path / "p.gpkg", region)
    pv = plan.shares[:, USES.index("solar")] + plan.shares[:, USES.index("agrivoltaic")]
    assert pv[0] == 0 and pv[1] == 0 and pv[2] > 0


def test_ineligible_pairs_have_no_variable(tmp_path):
    """A forest parcel may only stay or be restored; a protected cropland likewise: no variable for the rest."""
    region_path = write_region(tmp_path / "r.gpkg", [parcel("forest"), parcel("cropland", protected=True),
                                                      parcel("cropland")])
    region = read_region(region_path)
    scenario = make_scenario({})
    coef = compute_coefficients(region, CAT, scenario)
    m = build_model(coef, scenario)
    pairs = {(int(p), USES[u]) for p, u in zip(coef.parcel, coef.use)}
    assert {u for p, u in pairs if p == 0} == {"current", "restoration"}
    assert {u for p, u in pairs if p == 1} == {"current", "restoration"}
    assert {u for p, u in pairs if p == 2} == {"current", "solar", "agrivoltaic", "restoration"}
    assert len(m.x) == len(pairs) == 8


def test_pv_cap_and_least_restored_area(tmp_path):
    """max_pv_share caps PV at a share of the region; min_restored_ha forces restoration."""
    region = write_region(tmp_path / "r.gpkg", [parcel("bare"), parcel("bare")])
    scenario = make_scenario({**ENERGY_ONLY, "max_pv_share": 0.05, "min_restored_ha": 30.0})
    plan = solve_region(region, tmp_path / "p.gpkg", scenario=scenario)
    totals = recheck_plan(tmp_path / "p.gpkg", region)
    assert plan.kpis["area_solar_ha"] == pytest.approx(0.05 * plan.coef.area_ha.sum(), rel=1e-6)
    assert totals["restored_ha"] == pytest.approx(30.0, rel=1e-6)


def test_whole_mode_gives_one_use_per_parcel(tmp_path):
    """A budget for 1.5 parcels of solar: in whole mode exactly one parcel (the sunnier) goes solar."""
    region = write_region(tmp_path / "r.gpkg", [parcel("bare", pv_yield_kwh_kwp=1900.0), parcel("bare")])
    usd_parcel = 100.1 * SOLAR.density_mwp_ha * SOLAR.capex_usd_mwp  # the parcels are a hair over 100 ha
    scenario = make_scenario({**ENERGY_ONLY, "budget_usd": 1.5 * usd_parcel, "mode": "whole"})
    plan = solve_region(region, tmp_path / "p.gpkg", scenario=scenario)
    recheck_plan(tmp_path / "p.gpkg", region)
    assert plan.shares[:, USES.index("solar")].tolist() == pytest.approx([1.0, 0.0], abs=1e-6)
    assert not plan.shadow_prices  # a MILP has no duals


def test_smallest_plant_size_excludes_small_parcels(tmp_path):
    """A 5 ha parcel can hold at most 5 × density MWp: below the smallest plant, it gets no PV."""
    region = write_region(tmp_path / "r.gpkg", [parcel("bare", pv_yield_kwh_kwp=2000.0, area_ha=5.0),
                                                 parcel("bare", area_ha=100.0)])
    min_plant = 5.0 * SOLAR.density_mwp_ha + 1.0
    scenario = make_scenario({**ENERGY_ONLY, "min_plant_mwp": min_plant})
    plan = solve_region(region, tmp_path / "p.gpkg", scenario=scenario)
    values = plan.parcel_values()
    assert values["capacity_mwp"][0] == 0
    assert values["capacity_mwp"][1] >= min_plant - 1e-6


def test_example_region_plan_satisfies_every_constraint(tmp_path, example_region):
    """The example region with the default scenario, and with baseline trends persisting (so that LDN asks for
    restoration): every constraint re-checked from the file."""
    persist = solve_region(example_region, tmp_path / "persist.gpkg", scenario=load_scenario(
        sets={"ldn_baseline": "persist"}))
    assert recheck_plan(tmp_path / "persist.gpkg", example_region)["restored_ha"] > 0 and persist.status.value == "optimal"
    plan = solve_region(example_region, tmp_path / "plan.gpkg")
    totals = recheck_plan(tmp_path / "plan.gpkg", example_region)
    assert plan.status.value == "optimal"
    assert totals["served_mwh"] > 0
    assert plan.kpis["cost_usd"] == pytest.approx(totals["cost_usd"], rel=1e-6)
    # the plan layer carries the input columns and the plan columns
    frame, summary, run = read_plan(tmp_path / "plan.gpkg")
    for column in ("parcel_id", "land_type", "area_ha", "use", *[f"share_{u}" for u in USES], "capacity_mwp",
                   "energy_mwh", "productivity_t", "ldn_class", "sdg_status", "ldn_gain_ha", "ldn_loss_ha",
                   "sdg_degraded_ha", "cost_usd"):
        assert column in frame.columns
    assert set(frame["use"]) <= set(USES)
    assert {"kpi", "unit", "baseline", "plan"} <= set(summary.columns)
    for key in ("objective", "status", "gap", "solver_version", "version_pyomo", "scenario", "input_sha256",
                "catalogue_sha256", "time_highs_s", "threads", "seed"):
        assert key in run
    assert np.isfinite(run["objective"])


SOLVE = [sys.executable, "-c", "from dualuse.cli import main; main()", "solve"]


@pytest.mark.slow
@pytest.mark.parametrize("sets, code", [([], 0), (["mode=whole", "min_plant_mwp=2"], 0),
                                        (["budget_usd=0", "ldn_target=0.05"], 3)],
                         ids=["LP", "MILP in a child process", "infeasible, explained"])
def test_json_is_all_that_reaches_stdout(tmp_path, example_region, sets, code):
    """``dualuse solve --json`` in a process of its own: stdout is one JSON object and nothing else.

    highspy 1.16 prints a banner on the process's stdout, at the C level, whenever a ``Highs`` is made
    (which ``CliRunner`` never sees): for the LP, for a MILP solved in a child process, and for the
    solves that explain an infeasible scenario.
    """
    done = subprocess.run(SOLVE + [str(example_region), "-o", str(tmp_path / "p.gpkg"), "--json",
                                   *[f"--set={s}" for s in sets]], capture_output=True, text=True, timeout=600)
    assert done.returncode == code, done.stderr
    payload = json.loads(done.stdout)
    assert payload["status"] == ("infeasible" if code == 3 else "optimal")
    assert "Running HiGHS" in done.stderr


def test_stdout_to_stderr_is_shared_by_threads_and_undone(capfd):
    """While any thread is inside ``stdout_to_stderr``, file descriptor 1 writes reach stderr; once the
    last one leaves, stdout is stdout again (sweeps solve in threads in some executors)."""
    from dualuse.solve.highs import stdout_to_stderr

    inside = threading.Barrier(2)
    leave = threading.Event()

    def work(name: str) -> None:
        with stdout_to_stderr():
            inside.wait()
            os.write(1, f"{name} inside\n".encode())
            if name == "first":
                leave.wait()
        if name == "second":
            os.write(1, b"second left, first still inside\n")
            leave.set()

    threads = [threading.Thread(target=work, args=(n,)) for n in ("first", "second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    os.write(1, b"both left\n")
    out, err = capfd.readouterr()
    assert "first inside" in err and "second inside" in err
    assert "second left, first still inside" in err
    assert out == "both left\n"
