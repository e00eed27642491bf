"""Benchmark the structured solve of the share-mode LP against the general path on the same LP.

Writes the example region (:func:`dualuse.prepare.example.write_example`;
``--region`` reuses a file), builds and compiles the model once, then solves
the same ``LpArrays`` in one process:

- ``structured``: :func:`dualuse.solve.structured.solve_structured`, sample
  estimate, restricted masters and the whole-LP check;
- ``general``: :func:`dualuse.solve.highs.run_highs` with interior point
  (``solver="ipx"``, by name: ``"ipm"`` may resolve to HiPO) and crossover,
  the options ``dualuse solve`` uses.

It prints CPU and wall seconds of each (and the structured solve's phases),
the objectives and their relative difference, the largest difference of
the policy rows' duals, and exits with status 1 unless the structured solve
is certified and the objectives agree to 1e-9 relative.

    python benchmarks/bench_structured.py --parcels 100000
    python benchmarks/bench_structured.py --parcels 100000 --set max_pv_share=0.002 --json out.json
    python benchmarks/bench_structured.py --parcels 20000 --parcels-per-community 25

The scenario is the default one with the budget and the grid's export
capacity scaled with the region (USD 30,000 and 150 MWh/yr per parcel, as
``bench_scale.py``), so that both bind at every size.
"""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
POLICY_ROWS = ("budget", "ldn_neutrality", "food_floor", "pv_cap", "min_restored")


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


def write_region(path: Path, parcels: int, seed: int, parcels_per_community: int | None) -> None:
    """The example region; with ``parcels_per_community`` its communities replaced by many small ones."""
    from dualuse.prepare.example import make_example, write_example

    if parcels_per_community is None:
        write_example(path, parcels=parcels, seed=seed)
        return
    import pandas as pd
    import pyogrio
    import shapely

    frame = make_example(parcels, seed).parcels.copy()
    rng = np.random.default_rng(seed)
    n_communities = max(1, parcels // parcels_per_community)
    centre = frame.geometry.centroid.to_numpy()
    seats = centre[rng.choice(parcels, n_communities, replace=False)]
    parcel, seat = shapely.STRtree(seats).query_nearest(centre, all_matches=False)
    nearest = np.empty(parcels, dtype=np.int64)
    nearest[parcel] = seat
    ids = np.array([f"K{k:06d}" for k in range(n_communities)], dtype=object)
    frame["community_id"] = ids[nearest]
    frame.to_file(path, layer="parcels", driver="GPKG", engine="pyogrio")
    pyogrio.write_dataframe(pd.DataFrame({"community_id": ids, "unserved_households": rng.integers(50, 3000, n_communities),
                                          "household_kwh_yr": np.nan}), path, layer="communities", driver="GPKG")


def compile_lp(region_path: Path, values: dict[str, Any]) -> tuple[Any, Any, dict[str, Any], dict[str, float], list[str]]:
    """The compiled LP of the region under the scenario, its coefficients, HiGHS options, timings and
    the names of its coupling rows (``budget``, ``ldn_neutrality[cropland]``, …)."""
    from dualuse.inputs.catalogue import load_catalogue
    from dualuse.inputs.region import read_region
    from dualuse.inputs.scenario import make_scenario
    from dualuse.model.build import build_model
    from dualuse.model.coefficients import compute_coefficients
    from dualuse.solve.highs import compile_model, highs_options, objective_scale

    seconds: dict[str, float] = {}
    start = time.perf_counter()
    region = read_region(region_path)
    scenario = make_scenario(values)
    coef = compute_coefficients(region, load_catalogue(REPO / "models" / "landuses.toml"), scenario)
    seconds["read_and_coefficients_s"] = time.perf_counter() - start
    start = time.perf_counter()
    model = build_model(coef, scenario)
    compiled = compile_model(model, coef.n_pairs, coef.n_parcels)
    seconds["build_and_compile_s"] = time.perf_counter() - start
    labels = [compiled.rows[r].constraint.name for r in range(coef.n_parcels, compiled.arrays.num_row)]
    del model
    options = highs_options(scenario, False)
    options["user_objective_scale"] = objective_scale(compiled.arrays.col_cost)
    return compiled, coef, options, seconds, labels


def timed(run: Any) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = run()
    return out, time.process_time() - cpu, time.perf_counter() - wall


def solve_both(compiled: Any, coef: Any, options: dict[str, Any], labels: list[str], general: bool) -> dict[str, Any]:
    """Structured first, then the general path, on the same arrays; their figures."""
    from dualuse.solve.highs import run_highs
    from dualuse.solve.structured import solve_structured

    lp = compiled.arrays
    result, cpu, wall = timed(lambda: solve_structured(lp, coef.n_parcels, coef.n_pairs, options))
    out: dict[str, Any] = {
        "structured": {"status": result.status.value, "reason": result.reason, "objective": result.objective,
                       "cpu_s": cpu, "wall_s": wall, "rounds": result.rounds,
                       "certificate": vars(result.certificate), "phases": result.timings,
                       "rounds_log": result.log, "peak_rss_gib": peak_rss_gib()}}
    if not general:
        return out
    structured_dual = result.row_dual
    (h, _), cpu, wall = timed(lambda: run_highs(compiled, {**options, "solver": "ipx", "run_crossover": "on"}))
    info = h.getInfo()
    out["general"] = {"status": h.modelStatusToString(h.getModelStatus()), "objective": info.objective_function_value,
                      "cpu_s": cpu, "wall_s": wall, "ipm_iterations": info.ipm_iteration_count,
                      "crossover_iterations": info.crossover_iteration_count,
                      "simplex_iterations": info.simplex_iteration_count, "peak_rss_gib": peak_rss_gib()}
    if structured_dual.size:
        general_dual = np.asarray(h.getSolution().row_dual)
        family = [label.split("[")[0] for label in labels]
        policy = np.flatnonzero(np.isin(family, POLICY_ROWS)) + coef.n_parcels
        scale = max(float(np.max(np.abs(general_dual[policy]), initial=0.0)), 1e-300)
        out["policy_dual_difference"] = float(np.max(np.abs(structured_dual[policy] - general_dual[policy]),
                                                     initial=0.0)) / scale
        out["policy_duals"] = {labels[r - coef.n_parcels]: [float(structured_dual[r]), float(general_dual[r])]
                               for r in policy.tolist()}
    return out


def report(figures: dict[str, Any]) -> bool:
    """Print the comparison; True when the structured solve is certified and the objectives agree."""
    s = figures["structured"]
    print(f"parcels {figures['parcels']:,}, pairs {figures['pairs']:,}, rows {figures['rows']:,}, "
          f"coupling rows {figures['coupling_rows']}")
    print(f"structured: {s['status']} in {s['rounds']} rounds, CPU {s['cpu_s']:.2f} s, wall {s['wall_s']:.2f} s, "
          f"objective {s['objective']:.12g}" + (f" ({s['reason']})" if s["reason"] else ""))
    phases = {k[:-6]: v for k, v in s["phases"].items() if k.endswith("_cpu_s")}
    print("  CPU s by phase: " + ", ".join(f"{k} {v:.2f}" for k, v in phases.items()))
    c = s["certificate"]
    print(f"  certificate: max reduced cost {c['max_reduced_cost']:.2e}, Lagrangian bound {c['lagrangian_bound']:.12g}, "
          f"relative gap {c['relative_gap']:.1e}, whole-LP check {c['check_iterations']} iterations, "
          f"{c['unfixed_parcels']} parcels in the last master")
    print("  rounds (un-fixed parcels / pairs added / simplex iterations): "
          + "  ".join(f"{r['unfixed_parcels']}/{r['added']}/{r['iterations']}" for r in s["rounds_log"]))
    if "general" not in figures:
        return s["status"] == "certified"
    g = figures["general"]
    relative = abs(s["objective"] - g["objective"]) / max(1.0, abs(g["objective"]))
    print(f"general (ipx + crossover): {g['status']}, CPU {g['cpu_s']:.2f} s, wall {g['wall_s']:.2f} s, "
          f"objective {g['objective']:.12g}")
    print(f"speed-up: CPU {g['cpu_s'] / s['cpu_s']:.1f}x, wall {g['wall_s'] / s['wall_s']:.1f}x; objectives differ by "
          f"{relative:.1e} (relative); policy duals by {figures.get('policy_dual_difference', float('nan')):.1e} "
          f"of the largest; peak RSS {g['peak_rss_gib']:.2f} GiB")
    scalar = {k: v for k, v in figures.get("policy_duals", {}).items() if "[" not in k}
    if scalar:
        print("  shadow prices (structured / general): "
              + ", ".join(f"{k} {v[0]:.4e} / {v[1]:.4e}" for k, v in scalar.items()))
    figures["objective_relative_difference"] = relative
    return s["status"] == "certified" and relative <= 1e-9


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parcels", type=int, default=100_000, help="parcels in the example region")
    parser.add_argument("--seed", type=int, default=1, help="seed of the example region")
    parser.add_argument("--region", type=Path, help="use this region file instead of writing one")
    parser.add_argument("--parcels-per-community", type=int, help="replace the communities by many small ones")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="scenario override")
    parser.add_argument("--no-general", action="store_true", help="solve only the structured way")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    values: dict[str, Any] = {"budget_usd": 30_000.0 * args.parcels, "grid_export_mwh": 150.0 * args.parcels,
                              "time_limit_s": 7200.0}
    for item in args.set:
        key, _, value = item.partition("=")
        values[key] = value
    with tempfile.TemporaryDirectory() as tmp:
        region_path = args.region or Path(tmp) / "region.gpkg"
        start = time.perf_counter()
        if args.region is None:
            write_region(region_path, args.parcels, args.seed, args.parcels_per_community)
        generate_s = time.perf_counter() - start
        compiled, coef, options, seconds, labels = compile_lp(region_path, values)
    lp = compiled.arrays
    figures: dict[str, Any] = {"command": shlex.join([Path(sys.executable).name, *sys.argv]),
                               "parcels": coef.n_parcels, "pairs": coef.n_pairs, "rows": lp.num_row,
                               "coupling_rows": lp.num_row - coef.n_parcels, "scenario": values,
                               "generate_s": generate_s, **seconds}
    print(f"region and LP ready ({generate_s:.0f} s to write the region, "
          f"{seconds['read_and_coefficients_s']:.0f} s to read it, {seconds['build_and_compile_s']:.0f} s to build)",
          flush=True)
    figures.update(solve_both(compiled, coef, options, labels, general=not args.no_general))
    ok = report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, default=float), encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
