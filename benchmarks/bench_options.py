"""Which HiGHS options for dualuse's LP: the measurements behind :func:`dualuse.solve.highs.highs_options`.

Builds the LP of ``benchmarks/bench_scale.py``'s scenario for one example
region, writes it once as MPS, and solves it with each candidate option set
in a fresh process: seconds (wall and CPU), iterations, status, objective
and the memory HiGHS itself adds while it solves.

    python benchmarks/bench_options.py --parcels 100000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

CANDIDATES: dict[str, dict[str, Any]] = {
    "dual simplex": {"solver": "simplex"},
    "IPM + crossover": {"solver": "ipm", "run_crossover": "on"},
    "IPM + crossover from 1e-4": {"solver": "ipm", "run_crossover": "on", "start_crossover_tolerance": 1e-4},
    "IPM + crossover from 1e-4, objective scaled (dualuse)": {
        "solver": "ipm", "run_crossover": "on", "start_crossover_tolerance": 1e-4, "user_objective_scale": "auto"},
    "IPM, no crossover, objective scaled": {
        "solver": "ipm", "run_crossover": "off", "user_objective_scale": "auto"},
    "IPM + crossover from 1e-4, objective scaled, no presolve": {
        "solver": "ipm", "run_crossover": "on", "start_crossover_tolerance": 1e-4, "user_objective_scale": "auto",
        "presolve": "off"},
}


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0.0


def child(mps: str, options: dict[str, Any], scale: int, timeout_s: float) -> dict[str, Any]:
    from dualuse.solve.highs import new_highs

    h = new_highs({"output_flag": False})
    h.readModel(mps)
    settings = {"threads": 1, "random_seed": 0, "time_limit": timeout_s, **options}
    if settings.get("user_objective_scale") == "auto":
        settings["user_objective_scale"] = scale
    for key, value in settings.items():
        h.setOptionValue(key, value)
    base = rss_mib()
    peak = [base]

    def sample() -> None:
        while True:
            peak[0] = max(peak[0], rss_mib())
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()
    start, cpu = time.perf_counter(), time.process_time()
    h.run()
    info = h.getInfo()
    return {"status": h.modelStatusToString(h.getModelStatus()), "objective": info.objective_function_value,
            "wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu,
            "ipm_iterations": info.ipm_iteration_count, "crossover_iterations": info.crossover_iteration_count,
            "simplex_iterations": info.simplex_iteration_count, "highs_mib": peak[0] - base,
            "options": {k: v for k, v in settings.items() if k not in ("threads", "random_seed", "time_limit")}}


def write_lp(parcels: int, seed: int, folder: Path) -> tuple[str, int]:
    """The LP of the benchmark scenario as MPS, and its objective scale."""
    sys.path.insert(0, str(HERE))
    from bench_scale import scenario_values

    from dualuse.inputs.catalogue import load_catalogue
    from dualuse.inputs.region import read_region
    from dualuse.inputs.scenario import make_scenario
    from dualuse.model.build import build_model
    from dualuse.model.coefficients import compute_coefficients
    from dualuse.prepare.example import write_example
    from dualuse.solve.handover import compile_model
    from dualuse.solve.highs import new_highs, objective_scale

    region_path = folder / "region.gpkg"
    write_example(region_path, parcels=parcels, seed=seed)
    scenario = make_scenario(scenario_values(parcels))
    coef = compute_coefficients(read_region(region_path), load_catalogue(), scenario)
    compiled = compile_model(build_model(coef, scenario), coef.n_pairs, coef.n_parcels)
    h = new_highs({"output_flag": False})
    compiled.arrays.pass_to(h)
    mps = folder / "model.mps"
    h.writeModel(str(mps))
    return str(mps), objective_scale(compiled.arrays.col_cost)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parcels", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--only", default="", help="comma-separated candidate numbers (1-based) to run")
    parser.add_argument("--timeout", type=float, default=900.0, help="time limit per candidate [s]")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        spec = json.loads(args.child)
        print(json.dumps(child(spec["mps"], spec["options"], spec["scale"], spec["timeout"])))
        return
    chosen = [int(k) for k in args.only.split(",") if k] or list(range(1, len(CANDIDATES) + 1))
    with tempfile.TemporaryDirectory(prefix="dualuse-options-") as tmp:
        mps, scale = write_lp(args.parcels, args.seed, Path(tmp))
        print(f"{args.parcels:,} parcels; objective scale 2^{scale}\n")
        print("| options | status | objective | wall [s] | CPU [s] | IPM it. | crossover it. | simplex it. | "
              "HiGHS memory [MiB] |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for k, (name, options) in enumerate(CANDIDATES.items(), start=1):
            if k not in chosen:
                continue
            spec = json.dumps({"mps": mps, "options": options, "scale": scale, "timeout": args.timeout})
            out = subprocess.run([sys.executable, __file__, "--child", spec], capture_output=True, text=True,
                                 check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"| {name} | {r['status']} | {r['objective']:.10g} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | "
                  f"{r['ipm_iterations']} | {r['crossover_iterations']} | {r['simplex_iterations']} | "
                  f"{r['highs_mib']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
