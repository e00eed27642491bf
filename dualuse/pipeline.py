"""The whole run, read to written plan, with a timing for every stage."""

from __future__ import annotations

import os
import time
from pathlib import Path

from dualuse.catalogue import Catalogue, load_catalogue
from dualuse.coefficients import compute_coefficients
from dualuse.export import check_output_path, write_plan
from dualuse.plan import Plan, make_plan
from dualuse.region import Region, read_region
from dualuse.scenario import Scenario, load_scenario
from dualuse.solve import solve


def solve_region(region: str | os.PathLike[str] | Region, output: str | os.PathLike[str] | None = None, *,
                 scenario: Scenario | None = None, catalogue: str | os.PathLike[str] | Catalogue | None = None,
                 layer: str | None = None, time_limit_s: float | None = None, write_lp: str | None = None,
                 explain: bool = True) -> Plan:
    """Read a region, solve one scenario and (when ``output`` is given) write the plan GeoPackage.

    The output path is checked before any work, so a run that could not
    write its plan fails at once.  Raises the typed errors of
    :mod:`dualuse.errors`; returns the :class:`~dualuse.plan.Plan` otherwise.
    """
    timings: dict[str, float] = {}
    if output is not None:
        check_output_path(output, (region,) if not isinstance(region, Region) else (region.path,))
    t = time.perf_counter()
    if not isinstance(region, Region):
        region = read_region(region, layer)
    timings["read_s"] = time.perf_counter() - t
    scenario = scenario or load_scenario()
    if not isinstance(catalogue, Catalogue):
        catalogue = load_catalogue(catalogue)
    t = time.perf_counter()
    coef = compute_coefficients(region, catalogue, scenario)
    timings["coefficients_s"] = time.perf_counter() - t
    _, result = solve(coef, scenario, time_limit_s=time_limit_s, explain=explain, write_lp=write_lp)
    plan = make_plan(region, catalogue, scenario, coef, result)
    plan.timings.update(timings)
    if output is not None:
        write_plan(plan, Path(output))
    return plan
