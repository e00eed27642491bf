"""What the checks cost: validation, pre-solve checks and the infeasibility explanation, by region size.

Prints, for example regions of several sizes: reading and validating the
region (``check_region``, which includes geometry repair, slivers and the
stored-area check), the same read without those geometry checks, the
pre-solve checks on the coefficients, the main solve, and, for a scenario
made infeasible by too small a budget, the explanation (IIS and elastic
re-solves) against the solve that found the infeasibility.

    .venv/bin/python benchmarks/bench_checks.py [--parcels 2000 20000 100000]

Solver threads: 1 (one value per process).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from dualuse.diagnose.explain import conflicting_requirements, explain_infeasibility
from dualuse.diagnose.presolve import presolve_checks
from dualuse.inputs import checks
from dualuse.inputs.catalogue import load_catalogue
from dualuse.inputs.region import check_region
from dualuse.inputs.scenario import load_scenario
from dualuse.model.build import build_model
from dualuse.model.coefficients import compute_coefficients
from dualuse.prepare.example import write_example
from dualuse.solve.highs import solve_model


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, nargs="+", default=[2_000, 20_000, 100_000])
    args = parser.parse_args()
    catalogue = load_catalogue()
    print(f"{'parcels':>9} {'read+checks s':>13} {'geometry checks s':>17} {'presolve s':>10} {'solve s':>8} "
          f"{'infeasible solve s':>18} {'IIS s':>7} {'explain s':>9}")
    with tempfile.TemporaryDirectory() as folder:
        for n in args.parcels:
            path = Path(folder) / f"region_{n}.gpkg"
            write_example(path, parcels=n, seed=42)
            (region, _), t_read = timed(check_region, path)
            # the geometry checks on their own, on the frame as read
            frame = region.parcels
            problems: list = []
            _, t_geometry = timed(checks.check_geometry, frame, "parcels", problems)
            _, t_areas = timed(checks.check_areas, frame, region.area_ha, "parcels", problems)
            scenario = load_scenario()
            coef = compute_coefficients(region, catalogue, scenario)
            _, t_presolve = timed(presolve_checks, coef, scenario, region)
            _, t_solve = timed(solve_model, build_model(coef, scenario), coef, scenario)
            tight = scenario.replace(budget_usd=1e5)
            coef = compute_coefficients(region, catalogue, tight)
            result, t_infeasible = timed(solve_model, build_model(coef, tight), coef, tight)
            _, t_iis = timed(conflicting_requirements, coef, tight)
            _, t_explain = timed(explain_infeasibility, coef, tight)
            print(f"{n:>9,} {t_read:>13.2f} {t_geometry + t_areas:>17.2f} {t_presolve:>10.2f} {t_solve:>8.2f} "
                  f"{t_infeasible:>18.2f} {t_iis:>7.2f} {t_explain:>9.2f}   ({result.status.value})")


if __name__ == "__main__":
    main()
