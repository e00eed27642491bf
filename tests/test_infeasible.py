"""Pre-solve checks and the explanation of infeasibility, on cases worked out by hand.

Every suggested change is checked twice: applying it makes the scenario
feasible, and stopping a little short of it does not — so it is the least
change, as the explanation claims.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner
from helpers import parcel, read_plan, write_region

from dualuse.cli import cli
from dualuse.diagnose.explain import conflicting_requirements
from dualuse.diagnose.presolve import presolve_checks
from dualuse.errors import InfeasibleError
from dualuse.inputs.catalogue import load_catalogue
from dualuse.inputs.region import read_region
from dualuse.inputs.scenario import Scenario, make_scenario
from dualuse.model.build import build_model
from dualuse.model.coefficients import compute_coefficients
from dualuse.model.family_table import ELASTIC_FAMILIES
from dualuse.prepare.example import write_example
from dualuse.run import solve_region
from dualuse.solve.handover import compile_model
from dualuse.solve.highs import solve_model
from dualuse.vocabulary import LAND_TYPES, USES

CAT = load_catalogue()
RESTORE = CAT.use("restoration")
FOREST = LAND_TYPES.index("forest")  # land-type code
LOSS = 1.0 - RESTORE.retention[FOREST]  # harvest lost per t of forest products restored
#: Only harvest counts; ample budget; LDN per land type at neutrality.
#: Only harvest counts; baseline trends persist, so that a degraded parcel left alone is a loss to counterbalance.
BASE = dict(weight_access=0.0, weight_energy=0.0, weight_productivity=1.0, ldn_target=0.0, ldn_baseline="persist",
            food_floor=0.0, budget_usd=1e9)


def two_forests(tmp_path: Path) -> tuple[Path, float, float]:
    """A degraded (1 t/ha) and B stable (2 t/ha) woodland: with the degradation of A persisting, LDN needs half
    of A restored (−A + 2 s A ≥ 0); restoration is the only other use there, and it costs harvest (retention
    below 1)."""
    path = write_region(tmp_path / "r.gpkg", [parcel("forest", productivity_t_ha=1.0, degradation=-1),
                                               parcel("forest", productivity_t_ha=2.0, degradation=0)])
    a, b = read_region(path).area_ha
    return path, a, b


def feasible(region: Path, scenario: Scenario) -> bool:
    try:
        solve_region(region, scenario=scenario, explain=False)
    except InfeasibleError:
        return False
    return True


def by_kind(explanation: list[dict], kind: str) -> list[dict]:
    return [e for e in explanation if e.get("kind") == kind]


def fix_for(explanation: list[dict], parameter: str) -> dict:
    return next(e for e in by_kind(explanation, "fix") if e["parameter"] == parameter)


def test_ldn_against_the_food_floor_names_both_and_how_far_each_must_move(tmp_path: Path) -> None:
    """Food floor 0.9 × today: LDN alone would restore half of A, losing 0.5 A × LOSS t (15 % of today's).

    The food floor allows a loss of 0.1 P0, so s = 0.1 P0 / (LOSS A) of A is restored, the net gain is
    −A + 2 s A, and that is the lowest ldn_target that works; the lowest food floor that works is
    (P0 − 0.5 A × LOSS) / P0.  The budget is not in the conflict and cannot help.
    """
    region, a, b = two_forests(tmp_path)
    p0 = a * 1.0 + b * 2.0
    scenario = make_scenario({**BASE, "food_floor": 0.9})
    with pytest.raises(InfeasibleError) as info:
        solve_region(region, scenario=scenario)
    explanation = info.value.explanation
    assert not by_kind(explanation, "presolve")  # no pre-solve check can see this one

    conflict = {(e["constraint"], e["group"]) for e in by_kind(explanation, "conflict")}
    assert conflict == {("ldn_neutrality", "forest"), ("food_floor", None)}

    restored = 0.1 * p0 / (LOSS * a)
    tau = (-a + 2 * restored * a) / (a + b)
    phi = (p0 - 0.5 * a * LOSS) / p0
    assert fix_for(explanation, "ldn_target")["suggested"] == pytest.approx(tau, rel=1e-6)
    assert fix_for(explanation, "food_floor")["suggested"] == pytest.approx(phi, rel=1e-6)
    assert fix_for(explanation, "budget_usd")["feasible"] is False
    assert fix_for(explanation, "ldn_scope")["feasible"] is False  # one land type: pooling changes nothing
    ldn = next(e for e in by_kind(explanation, "alone") if e["constraint"] == "ldn_neutrality")
    assert ldn["relaxation"] == pytest.approx(a - 2 * restored * a, rel=1e-6)

    text = str(info.value)
    assert "land degradation neutrality (LDN) in land type 'forest' and the food-security floor" in text
    assert f"needs {a - 2 * restored * a:,.0f} ha more net gain than the food-security floor allows" in text
    assert "changing budget_usd alone cannot make the scenario feasible" in text

    assert feasible(region, scenario.replace(ldn_target=tau - 1e-7))
    assert not feasible(region, scenario.replace(ldn_target=tau + 1e-3))
    assert feasible(region, scenario.replace(food_floor=phi - 1e-7))
    assert not feasible(region, scenario.replace(food_floor=phi + 1e-3))


def test_a_budget_short_of_ldn_is_caught_before_solving_with_the_least_cost(tmp_path: Path) -> None:
    """Budget 10,000: LDN needs half of A restored, 0.5 A × capex; the pre-solve bound is exactly that."""
    region, a, b = two_forests(tmp_path)
    scenario = make_scenario({**BASE, "budget_usd": 10_000.0})
    coef = compute_coefficients(read_region(region), CAT, scenario)
    findings = [f for f in presolve_checks(coef, scenario) if f.check == "budget_covers_requirement"]
    need = 0.5 * a * RESTORE.capex_usd_ha
    assert len(findings) == 1 and findings[0].severity == "error"
    assert findings[0].suggested == pytest.approx(need, rel=1e-6)

    result = CliRunner().invoke(cli, ["solve", str(region), "-o", str(tmp_path / "p.gpkg"), "--json",
                                      *[f"--set={k}={v}" for k, v in {**BASE, "budget_usd": 10_000}.items()]])
    assert result.exit_code == 3, result.output
    payload = json.loads(result.stdout)
    assert payload["explanation"][0]["kind"] == "presolve"
    # the solver's explanation follows: the least budget, and the lowest LDN target the budget allows
    assert fix_for(payload["explanation"], "budget_usd")["suggested"] == pytest.approx(need, rel=1e-6)
    tau = (-a + 2 * 10_000 / RESTORE.capex_usd_ha) / (a + b)
    assert fix_for(payload["explanation"], "ldn_target")["suggested"] == pytest.approx(tau, rel=1e-6)
    assert "LDN in land type 'forest' needs" in payload["message"] and "than the budget allows" in payload["message"]
    assert not (tmp_path / "p.gpkg").exists()
    assert feasible(region, scenario.replace(budget_usd=need * (1 + 1e-7)))
    assert not feasible(region, scenario.replace(budget_usd=need * (1 - 1e-3)))


def test_a_land_type_no_use_can_change_is_reported_not_held(tmp_path: Path) -> None:
    """ldn_target > 0 with an 'artificial' parcel: nothing allowed there changes its LDN status, so no plan could
    meet the target there; it is left out of the constraint with a warning that says its shortfall, and the plan
    reports its balance — the scenario is not made infeasible by land the plan cannot touch."""
    region = write_region(tmp_path / "r.gpkg", [parcel("artificial"), parcel("bare", degradation=-1),
                                                 parcel("forest", productivity_t_ha=1.0)])
    args = ["solve", str(region), "-o", str(tmp_path / "p.gpkg"), "--json", "--set", "ldn_target=0.02",
            "--set", "budget_usd=1e8"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    (warning,) = [w for w in payload["warnings"] if w["column"] == "ldn_scope"]
    area = read_region(region).area_ha[0]
    assert "'artificial' is left out of the LDN constraint" in warning["message"]
    assert f"falls {0.02 * area:,.0f} ha short of the target" in warning["message"]
    assert "ldn_scope=region" in warning["fix"]
    balance = pd.DataFrame(pyogrio.read_dataframe(tmp_path / "p.gpkg", layer="ldn_balance", read_geometry=False))
    artificial = balance[(balance["land_type"] == "artificial") & balance["held_to"].astype(bool)].iloc[0]
    assert not artificial["in_constraint"] and not artificial["meets_target"]
    held = balance[balance["in_constraint"].astype(bool) & balance["held_to"].astype(bool)]
    assert set(held["land_type"]) == {"bare", "forest"} and held["meets_target"].all()


def test_a_food_floor_beyond_the_most_the_land_can_grow(tmp_path: Path) -> None:
    """Two grasslands: the best use keeps at most max retention × today's harvest."""
    region = write_region(tmp_path / "r.gpkg", [parcel("forest", productivity_t_ha=1.0),
                                                 parcel("forest", productivity_t_ha=2.0)])
    best = max(u.retention[1] for u in CAT.uses if "forest" in u.allowed_land_types)  # grassland is code 1
    scenario = make_scenario({**BASE, "food_floor": best + 0.1, "ldn_scope": "off"})
    coef = compute_coefficients(read_region(region), CAT, scenario)
    (finding,) = [f for f in presolve_checks(coef, scenario) if f.severity == "error"]
    assert finding.check == "food_reachable" and finding.suggested == pytest.approx(best, rel=1e-9)
    assert feasible(region, scenario.replace(food_floor=best - 1e-9))
    assert not feasible(region, scenario.replace(food_floor=best + 1e-4))


def test_restoration_required_beyond_the_land_it_may_go_on(tmp_path: Path) -> None:
    """Restoration is allowed on bare land and protected forest, not on water or artificial land."""
    region = write_region(tmp_path / "r.gpkg", [parcel("bare"), parcel("water"), parcel("artificial"),
                                                 parcel("forest", protected=True, productivity_t_ha=1.0)])
    area = read_region(region).area_ha
    eligible = area[0] + area[3]
    scenario = make_scenario({**BASE, "min_restored_ha": float(area.sum())})
    coef = compute_coefficients(read_region(region), CAT, scenario)
    (finding,) = [f for f in presolve_checks(coef, scenario) if f.severity == "error"]
    assert finding.check == "restoration_reachable"
    assert finding.suggested == pytest.approx(eligible, rel=1e-9)
    assert "artificial, water" in finding.message
    assert feasible(region, scenario.replace(min_restored_ha=eligible * (1 - 1e-9)))


def test_warnings_name_stranded_communities_and_an_idle_budget(tmp_path: Path) -> None:
    """V1's only parcel is protected (no PV there); no parcel names V2; the budget exceeds every cost."""
    region = write_region(
        tmp_path / "r.gpkg",
        [parcel("bare", community_id="V1", protected=True), parcel("forest", productivity_t_ha=1.0),
         parcel("bare", community_id="V3")],
        communities=[{"community_id": "V1", "unserved_households": 50.0},
                     {"community_id": "V2", "unserved_households": 80.0},
                     {"community_id": "V3", "unserved_households": 10.0}])
    result = CliRunner().invoke(cli, ["solve", str(region), "-o", str(tmp_path / "p.gpkg"), "--json",
                                      "--set", "budget_usd=1e11"])
    assert result.exit_code == 0, result.output
    warnings = json.loads(result.stdout)["warnings"]
    stranded = {tuple(w["ids"]): w["message"] for w in warnings if "cannot be served" in w["message"]}
    assert set(stranded) == {("V1",), ("V2",)}
    assert "none of their parcels may carry PV" in stranded[("V1",)]
    assert "no parcel names them" in stranded[("V2",)]
    assert any(w["column"] == "budget_usd" and "never binds" in w["message"] for w in warnings)
    assert "warning: scenario (budget_usd): " in result.stderr


def test_coefficients_that_will_hurt_the_solver_are_named(tmp_path: Path) -> None:
    """A degraded parcel of 1e-7 ha puts a coefficient of 1e-7 into the LDN rows."""
    region = write_region(tmp_path / "r.gpkg", [parcel("bare", degradation=-1), parcel("bare", degradation=-1)],
                          areas_ha=[100.0, 1e-7])
    scenario = make_scenario(BASE)
    plan_region = read_region(region)
    coef = compute_coefficients(plan_region, CAT, scenario)
    ranges = [f for f in presolve_checks(coef, scenario, plan_region) if f.check == "coefficient_range"]
    assert ranges and all(f.severity == "warning" for f in ranges)
    (ldn,) = [f for f in ranges if "land degradation neutrality" in f.message]
    assert "down to 1e-07 ha" in ldn.message and ldn.ids == (2,)  # the feature id: no parcel_id column


def test_the_conflict_is_irreducible(tmp_path: Path) -> None:
    """On an example region with too small a budget: the requirements named conflict, and each is needed.

    Checked independently of the deletion filter: with every other requirement switched off the named
    ones are infeasible together, and switching off any one of them makes the rest feasible.
    """
    path = tmp_path / "region.gpkg"
    write_example(path, parcels=150, seed=9)
    scenario = make_scenario({"budget_usd": 3e5, "food_floor": 0.97, "ldn_baseline": "persist"})
    coef = compute_coefficients(read_region(path), CAT, scenario)
    conflict = conflicting_requirements(coef, scenario)
    assert conflict and ("budget", None) in conflict

    def solvable(keep: set) -> bool:
        m = build_model(coef, scenario)
        for family in ELASTIC_FAMILIES:
            component = m.component(family)
            if component is None:
                continue
            for index, con in component.items():
                if (family, index if component.is_indexed() else None) not in keep:
                    con.deactivate()
        return solve_model(m, coef, scenario).status.has_plan

    named = set(conflict)
    assert not solvable(named)
    for item in named:
        assert solvable(named - {item}), item


def test_an_elastic_family_gives_way_by_exactly_its_shortfall(tmp_path: Path) -> None:
    """Two forests (LDN: −A + 2 s A ≥ 0, s the restored share of A) and a budget for 20 % of A restored.

    LDN elastic, the budget held: the plan restores what the budget pays for (s = 0.2, restoring A gains
    twice what restoring B does for the same money), and LDN's slack is the rest: A − 2 × 0.2 A = 0.6 A ha,
    a share 0.6 A / (A + B) of the land type's area.  The budget elastic, LDN held: half of A must be
    restored, and the budget's slack is what that costs beyond it, (0.5 − 0.2) A × capex, a share 1.5 of it.
    """
    path, a, b = two_forests(tmp_path)
    capex = RESTORE.capex_usd_ha
    # "persist": A left alone stays degraded (a loss); restored, it is a gain (Trends.Earth's classes 1 and 6)
    scenario = make_scenario({**BASE, "budget_usd": 0.2 * a * capex, "ldn_baseline": "persist"})
    coef = compute_coefficients(read_region(path), CAT, scenario)

    m = build_model(coef, scenario, elastic=frozenset({"ldn_neutrality"}))
    result = solve_model(m, coef, scenario)
    assert result.status.has_plan
    assert m.slack_ldn_neutrality["forest"].value == pytest.approx(0.6 * a, rel=1e-6)
    assert result.objective == pytest.approx(0.6 * a / (a + b), rel=1e-6)
    assert m.component("slack_budget") is None
    restored = result.x[coef.use == USES.index("restoration")]
    assert restored.tolist() == pytest.approx([0.2, 0.0], abs=1e-6)

    m = build_model(coef, scenario, elastic=frozenset({"budget"}))
    result = solve_model(m, coef, scenario)
    assert m.slack_budget.value == pytest.approx(0.3 * a * capex, rel=1e-6)
    assert result.objective == pytest.approx(0.3 * a * capex / scenario.budget_usd, rel=1e-6)
    assert result.x[coef.use == USES.index("restoration")].tolist() == pytest.approx([0.5, 0.0], abs=1e-6)


def _run_cpu_s(command: list[str]) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run a command; its result, wall time and CPU time (its own and its children's) [s]."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return done, wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


@pytest.mark.slow
def test_a_time_limit_holds_and_reaches_highs(tmp_path: Path) -> None:
    """A whole-parcel MILP of 20,000 parcels asked for a zero gap cannot be solved in 1 s.

    ``dualuse solve --time-limit 1`` must come back within 5 × the limit plus what the run does besides
    HiGHS (start-up, read, coefficients, pre-solve checks, build and hand-over, measured here, with room
    for a loaded machine), in CPU and in wall time, and say what it has: no plan (exit 4, naming the
    limit) or a feasible plan with its gap, whose run table shows the limit HiGHS received.  (highspy
    1.16's MIP set-up ran 13–15 s past this limit on its own.)
    """
    limit = 1.0
    path = tmp_path / "region.gpkg"
    write_example(path, parcels=20_000, seed=3)
    scenario = make_scenario({"mode": "whole", "mip_gap": 0.0})
    start, cpu = time.perf_counter(), time.process_time()
    coef = compute_coefficients(read_region(path), CAT, scenario)
    presolve_checks(coef, scenario)
    compile_model(build_model(coef, scenario), coef.n_pairs, coef.n_parcels)
    setup_wall, setup_cpu = time.perf_counter() - start, time.process_time() - cpu
    _, startup_wall, startup_cpu = _run_cpu_s([sys.executable, "-c", IMPORTS])

    out = tmp_path / "p.gpkg"
    done, wall, cpu = _run_cpu_s(SOLVE + [str(path), "-o", str(out), "--json", "--set", "mode=whole",
                                          "--set", "mip_gap=0", "--time-limit", str(limit)])
    assert cpu <= 5 * limit + startup_cpu + 2 * setup_cpu + 1.0, (cpu, startup_cpu, setup_cpu, done.stderr)
    assert wall <= 5 * limit + 3 * (startup_wall + setup_wall) + 2.0, (wall, startup_wall, setup_wall)
    payload = json.loads(done.stdout)
    if done.returncode == 4:
        assert f"the time limit of {limit:g} s passed before any plan was found" in payload["message"]
        assert not out.exists()
        return
    assert done.returncode == 0, done.stderr
    assert payload["status"] == "feasible" and payload["gap"] >= 0
    notes = [w["message"] for w in payload["warnings"] if "time limit" in w["message"]]
    assert notes and f"{payload['gap']:.2%}" in notes[0] and "may not be optimal" in done.stderr
    _, _, run = read_plan(out)
    assert json.loads(run["solver_options"])["time_limit"] == limit
    assert run["time_highs_s"] <= 5 * limit


IMPORTS = "import dualuse.cli, dualuse.run, pyomo.environ, highspy, geopandas"
SOLVE = [sys.executable, "-c", "from dualuse.cli import main; main()", "solve"]
