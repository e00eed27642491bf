"""What seeding saves: a sweep's scenarios solved one after another with and without their neighbour's duals.

    python benchmarks/bench_seed.py --parcels 100000 --scenarios 8

Writes the example region, then runs the scenarios of a budget sweep (USD 20,000 to 40,000 per parcel, the
benchmark scenario of ``bench_scale.py`` otherwise) in this process as a sweep's worker solves them
(:func:`dualuse.run.run_scenario`, as :func:`dualuse.studies.executor.run_chain` calls it), twice: without
seeds (every structured solve estimates its duals on a sample), then in the sweep's chains
(:func:`dualuse.studies.executor.chains`: each scenario but the first of its chain starts from the coupling
duals of the one before it).  Prints per scenario the worker's wall and CPU seconds, the structured solve's
seconds, its estimate's seconds and its rounds, and whether both runs give the same objective and the same
shares.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parcels", type=int, default=100_000)
    parser.add_argument("--scenarios", type=int, default=8)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from bench_scale import scenario_values

    from dualuse.inputs.catalogue import load_catalogue
    from dualuse.inputs.region import read_region
    from dualuse.inputs.scenario import make_scenario
    from dualuse.prepare.example import write_example
    from dualuse.run import run_scenario
    from dualuse.studies.executor import CHAIN_LENGTH

    with tempfile.TemporaryDirectory(prefix="bench-seed-") as tmp:
        path = Path(tmp) / "region.gpkg"
        write_example(path, parcels=args.parcels, seed=args.seed)
        region, catalogue = read_region(path), load_catalogue()
    budgets = np.linspace(20_000.0, 40_000.0, args.scenarios) * args.parcels
    scenarios = [make_scenario({**scenario_values(args.parcels), "budget_usd": float(b)}).to_json() for b in budgets]
    runs: dict[bool, list[dict]] = {}
    solutions: dict[bool, list[tuple[float, np.ndarray]]] = {}
    for seeded in (False, True):
        runs[seeded], solutions[seeded] = [], []
        duals = None
        for k, scenario_json in enumerate(scenarios):
            start, cpu = time.perf_counter(), time.process_time()
            seeds = {int(duals.size): duals} if seeded and k % CHAIN_LENGTH and duals is not None else None
            plan = run_scenario(region, catalogue, make_scenario(json.loads(scenario_json)), time_limit_s=None,
                                dual_seeds=seeds)
            duals = plan.result.coupling_dual  # what run_chain hands to the next scenario of the chain
            solver = plan.result.solver
            runs[seeded].append({"worker_s": time.perf_counter() - start, "worker_cpu_s": time.process_time() - cpu,
                                 "structured_s": solver.get("structured_s"),
                                 "estimate_s": solver.get("structured_estimate_s"),
                                 "rounds": solver.get("structured_rounds"), "path": solver.get("lp_path"),
                                 "seeded": solver.get("structured_seeded")})
            solutions[seeded].append((plan.objective, plan.result.x.copy()))
    print(f"{args.parcels:,} parcels, {args.scenarios} budgets from USD 20,000 to 40,000 per parcel, chains of "
          f"{CHAIN_LENGTH}")
    print("| budget [USD/parcel] | unseeded: scenario [s] | CPU [s] | structured [s] | estimate [s] | rounds | "
          "seeded: scenario [s] | CPU [s] | structured [s] | estimate [s] | rounds | same objective | "
          "shares differing |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    for k, budget in enumerate(budgets):
        a, b = runs[False][k], runs[True][k]
        (oa, xa), (ob, xb) = solutions[False][k], solutions[True][k]
        same = abs(oa - ob) <= 1e-9 * max(1.0, abs(oa))
        print(f"| {budget / args.parcels:,.0f} | {a['worker_s']:.2f} | {a['worker_cpu_s']:.2f} | {a['structured_s']:.2f} "
              f"| {a['estimate_s']:.2f} | {a['rounds']} | {b['worker_s']:.2f} | {b['worker_cpu_s']:.2f} | "
              f"{b['structured_s']:.2f} | {b['estimate_s']:.2f} | "
              f"{b['rounds']}{'' if b['seeded'] else ' (not seeded)'} | {'yes' if same else f'no ({oa:.10g} vs {ob:.10g})'} "
              f"| {int(np.sum(np.abs(xa - xb) > 1e-6)):,} |")
    total = {s: sum(r["worker_s"] for r in runs[s]) for s in runs}
    cpu = {s: sum(r["worker_cpu_s"] for r in runs[s]) for s in runs}
    structured = {s: sum(r["structured_s"] for r in runs[s]) for s in runs}
    print(f"\ntotal: unseeded {total[False]:.1f} s wall, {cpu[False]:.1f} s CPU (structured solves "
          f"{structured[False]:.1f} s), seeded {total[True]:.1f} s wall, {cpu[True]:.1f} s CPU (structured solves "
          f"{structured[True]:.1f} s): seeding saves {cpu[False] - cpu[True]:.1f} s of scenario CPU time "
          f"({1 - cpu[True] / cpu[False]:.0%}), {1 - structured[True] / structured[False]:.0%} of the structured "
          "solves' time")


if __name__ == "__main__":
    main()
