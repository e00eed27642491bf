"""Break-evens: the change of an idle use's capital cost or retention at which it takes land."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from dualuse.inputs.catalogue import default_catalogue_path, load_catalogue
from dualuse.inputs.region import read_region
from dualuse.inputs.scenario import load_scenario
from dualuse.model.breakeven import describe_change, pair_prices, reduced_costs
from dualuse.model.build import build_model
from dualuse.model.coefficients import compute_coefficients
from dualuse.prepare.example import write_example
from dualuse.run import solve_region
from dualuse.solve.handover import compile_model, row_name
from dualuse.solve.highs import highs_options, read_outcome, run_highs
from dualuse.vocabulary import USES
from tests.helpers import parcel, write_region


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("breakeven") / "region.gpkg"
    write_example(path, parcels=200, seed=3)
    return path


def small_region(path: Path) -> Path:
    """Grassland and cropland with harvest, a community to serve, a tight budget."""
    parcels = [parcel("grassland", productivity_t_ha=2.0 + k % 3, degradation=-1 if k % 2 else 0,
                      pv_yield_kwh_kwp=1700.0 + 40 * k, community_id="c1", area_ha=20.0 + 5 * k)
               for k in range(6)]
    parcels += [parcel("cropland", productivity_t_ha=3.0, community_id="c1", area_ha=30.0) for _ in range(3)]
    return write_region(path, parcels, [{"community_id": "c1", "unserved_households": 2000}])


def changed_catalogue(folder: Path, use: str, coefficient: str, factor: float) -> Path:
    """A copy of the default catalogue with one use's coefficient (a number or a per-land-type table) × ``factor``."""
    text = default_catalogue_path().read_text(encoding="utf-8")
    start = text.index(f"[uses.{use}]")
    end = text.index("[uses.", start + 1)
    section = text[start:end]
    line = re.search(rf"^{coefficient} = (.*)$", section, flags=re.M)
    scaled = re.sub(r"-?\d+(\.\d+)?(e-?\d+)?", lambda n: repr(float(n.group(0)) * factor), line.group(1))
    section = section[:line.start(1)] + scaled + section[line.end(1):]
    path = folder / f"landuses_{use}_{coefficient}_{factor:.12g}.toml"
    path.write_text(text[:start] + section + text[end:], encoding="utf-8")
    return path


def use_area_ha(plan, use: str) -> float:
    pairs = plan.coef.use == USES.index(use)
    return float((plan.result.x[pairs] * plan.coef.pair_area_ha[pairs]).sum())


def test_pair_prices_are_highs_reduced_costs(tmp_path: Path) -> None:
    """c − Aᵀy from the coefficients equals HiGHS's column dual plus the parcel's dual, and the reduced
    cost (less the parcel's best price) equals HiGHS's column dual where HiGHS's parcel dual is that best."""
    region = read_region(small_region(tmp_path / "small.gpkg"))
    scenario = load_scenario(sets={"budget_usd": "2e7"})
    coef = compute_coefficients(region, load_catalogue(), scenario)
    compiled = compile_model(build_model(coef, scenario), coef.n_pairs, coef.n_parcels)
    assert compiled.own_position is None
    options = highs_options(scenario, False)
    h, run_s = run_highs(compiled, options)
    outcome = read_outcome(h, options, run_s, 0.0, 0)
    duals: dict = {}
    names = [row_name(compiled.rows[r].constraint) for r in range(coef.n_parcels, len(compiled.rows))]
    for (name, index), dual in zip(names, outcome.row_dual[coef.n_parcels:].tolist()):
        if index is None:
            duals[name] = dual
        else:
            duals.setdefault(name, {})[index] = dual
    assert duals["budget"] > 0
    price = pair_prices(coef, scenario, duals)
    highs_reduced = outcome.col_dual[:coef.n_pairs]
    scale = np.abs(price).max()
    np.testing.assert_allclose(price, highs_reduced + outcome.row_dual[coef.parcel], rtol=0, atol=1e-9 * scale)
    reduced = reduced_costs(coef, price)
    assert (reduced <= 0).all()
    best = np.full(coef.n_parcels, -np.inf)
    np.maximum.at(best, coef.parcel, price)
    same = np.isclose(outcome.row_dual[:coef.n_parcels], best, rtol=0, atol=1e-9 * scale)[coef.parcel]
    assert same.mean() > 0.5
    np.testing.assert_allclose(reduced[same], highs_reduced[same], rtol=0, atol=1e-9 * scale)


def _checked(plan) -> list[tuple[str, str, float]]:
    return [(use, name, change) for use, changes in plan.break_even.items() for name, change in changes.items()
            if change is not None and change != 0.0]


def _assert_break_even(region: Path, scenario, use: str, name: str, change: float, folder: Path) -> None:
    for margin, enters in ((1.02, True), (0.98, False)):
        catalogue = changed_catalogue(folder, use, name, 1.0 + margin * change)
        area = use_area_ha(solve_region(region, scenario=scenario, catalogue=catalogue), use)
        assert (area > 1e-6) == enters, (use, name, change, margin, area)


def test_example_break_evens_hold_when_resolved(example: Path, tmp_path: Path) -> None:
    scenario = load_scenario()
    plan = solve_region(example, scenario=scenario)
    assert plan.break_even, "the example has idle uses"
    for use, changes in plan.break_even.items():
        assert use_area_ha(plan, use) < 0.01 * plan.coef.pair_area_ha[plan.coef.use == USES.index(use)].sum()
        assert set(changes) == {"capex_usd_mwp" if load_catalogue().use(use).density_mwp_ha > 0
                                else "capex_usd_ha", "retention"}
    checked = _checked(plan)
    assert checked
    for use, name, change in checked:
        _assert_break_even(example, scenario, use, name, change, tmp_path)
    rows = plan.summary().set_index("kpi")
    for use, name, change in checked:
        assert rows.loc[f"break_even_{use}_{name}", "plan"] == pytest.approx(change)
        assert rows.loc[f"break_even_{use}_{name}", "unit"] == "relative change"


def test_small_region_break_evens_hold_when_resolved(tmp_path: Path) -> None:
    region = small_region(tmp_path / "small.gpkg")
    scenario = load_scenario(sets={"budget_usd": "2e7"})
    plan = solve_region(region, scenario=scenario)
    checked = _checked(plan)
    assert checked
    for use, name, change in checked:
        _assert_break_even(region, scenario, use, name, change, tmp_path)


def test_a_use_with_no_harvest_has_no_retention_break_even(example: Path) -> None:
    plan = solve_region(example)
    if "solar" in plan.break_even:
        assert plan.break_even["solar"]["retention"] is None
    assert describe_change(None) == "no change of this coefficient alone"
    assert describe_change(-0.2) == "-20 %"


def test_solve_json_has_break_even(example: Path, tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from dualuse.cli.solve import solve

    result = CliRunner().invoke(solve, [str(example), "-o", str(tmp_path / "plan.gpkg"), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["break_even"]
    text = CliRunner().invoke(solve, [str(example), "-o", str(tmp_path / "plan2.gpkg")])
    assert text.exit_code == 0
    assert sum("takes no land; it enters" in line for line in text.stdout.splitlines()) == len(payload["break_even"])


def test_agrivoltaics_on_barren_cropland_enters_at_solar_cost_per_mwp(tmp_path: Path) -> None:
    """On cropland with no harvest and a binding budget, agrivoltaics is solar at a higher cost per MWp:
    it enters when its capex_usd_mwp falls to solar's, 876,000 / 1,314,000 − 1 = −1/3."""
    parcels = [parcel("cropland", community_id="c1", area_ha=50.0) for _ in range(4)]
    region = write_region(tmp_path / "barren.gpkg", parcels, [{"community_id": "c1", "unserved_households": 50000}])
    scenario = load_scenario(sets={"budget_usd": "1e7", "ldn_scope": "off"})
    plan = solve_region(region, scenario=scenario)
    assert use_area_ha(plan, "solar") > 0
    change = plan.break_even["agrivoltaic"]["capex_usd_mwp"]
    assert change == pytest.approx(876_000 / 1_314_000 - 1, rel=1e-6)
    _assert_break_even(region, scenario, "agrivoltaic", "capex_usd_mwp", change, tmp_path)
