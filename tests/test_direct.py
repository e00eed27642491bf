"""The LP made straight from the families' arrays is the built Pyomo model's LP, and solves to the same plan.

``solve(..., keep_model=False)`` skips the Pyomo model when the families need
none (:func:`dualuse.solve.direct.direct_lp`); these tests check, for every
family and both objective modes, that the arrays are those the hand-over
passes from the built model, entry for entry, that the rows after the parcels
carry the Pyomo constraints' names, and that scenarios whose families add
variables (the plant switches) or change the model between solves
(priorities) still build the model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dualuse.inputs.catalogue import load_catalogue
from dualuse.inputs.region import read_region
from dualuse.inputs.scenario import make_scenario
from dualuse.model.build import build_model
from dualuse.model.coefficients import compute_coefficients
from dualuse.solve.direct import direct_lp
from dualuse.solve.handover import Handover, compile_model, row_name
from dualuse.solve.highs import Status, solve, solve_model

CATALOGUE = load_catalogue()

#: Between them every family of the table with rows, both objective modes, each LDN scope and whole parcels.
CASES = {
    "default": {},
    "caps, floors, pooled LDN": {"max_pv_share": 0.1, "min_restored_ha": 500.0, "min_access_share": 0.2,
                                  "ldn_scope": "region", "ldn_target": 0.02},
    "net benefit, LDN off, no food floor": {"objective_mode": "net_benefit", "ldn_scope": "off", "food_floor": 0.0},
    "whole parcels": {"mode": "whole", "budget_usd": 2.0e7},
}


@pytest.fixture(scope="module")
def region(example_region: Path) -> Any:
    return read_region(example_region)


@pytest.mark.parametrize("overrides", list(CASES.values()), ids=list(CASES))
def test_direct_arrays_are_the_built_models(region: Any, overrides: dict[str, Any]) -> None:
    scenario = make_scenario(overrides)
    coef = compute_coefficients(region, CATALOGUE, scenario)
    direct = direct_lp(coef, scenario)
    built = compile_model(build_model(coef, scenario), coef.n_pairs, coef.n_parcels)
    assert direct is not None and direct.handover is Handover.ARRAYS is built.handover
    a, b = direct.arrays, built.arrays
    for name in ("col_cost", "col_lower", "col_upper", "row_lower", "row_upper", "start", "index", "value",
                 "integral"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert (a.sense, a.offset) == (b.sense, b.offset)
    assert direct.is_mip == built.is_mip == (scenario.mode == "whole")
    assert direct.row_names == [row_name(built.rows[r].constraint) for r in range(coef.n_parcels, len(built.rows))]


@pytest.mark.parametrize("overrides", [{"min_plant_mwp": 2.0, "mode": "whole"},
                                       {"objective_mode": "priorities", "priorities": ["access", "energy"]}],
                         ids=["plant switches", "priorities"])
def test_a_model_the_arrays_cannot_stand_for_is_built(region: Any, overrides: dict[str, Any]) -> None:
    scenario = make_scenario(overrides)
    coef = compute_coefficients(region, CATALOGUE, scenario)
    assert direct_lp(coef, scenario) is None


@pytest.mark.parametrize("overrides", [{}, {"lp_method": "generic", "max_pv_share": 0.1}], ids=["structured", "generic"])
def test_direct_solve_gives_the_built_models_plan(region: Any, overrides: dict[str, Any]) -> None:
    """Same objective, shares, deliveries and shadow prices as the Pyomo model solved the same way."""
    scenario = make_scenario(overrides)
    coef = compute_coefficients(region, CATALOGUE, scenario)
    model, direct = solve(coef, scenario, keep_model=False)
    built = solve_model(build_model(coef, scenario), coef, scenario)
    assert model is None and direct.status is Status.OPTIMAL is built.status
    assert "no Pyomo model" in direct.solver["interface"]
    assert direct.solver["lp_path"] == built.solver["lp_path"]
    assert direct.objective == pytest.approx(built.objective, rel=1e-12)
    np.testing.assert_allclose(direct.x, built.x, atol=1e-9)
    np.testing.assert_allclose(direct.served_mwh, built.served_mwh, atol=1e-6)
    assert direct.duals.keys() == built.duals.keys()
    for name, value in built.duals.items():
        if isinstance(value, dict):
            assert direct.duals[name].keys() == value.keys()
            np.testing.assert_allclose(list(direct.duals[name].values()), list(value.values()), rtol=1e-9, atol=1e-12)
        else:
            assert direct.duals[name] == pytest.approx(value, rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(direct.col_duals["served"], built.col_duals["served"], rtol=1e-9, atol=1e-12)
