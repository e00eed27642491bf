"""Benchmark ``dualuse solve`` at scale against the floor: the same LP handed straight to highspy.

For each size it writes the example region (:func:`dualuse.prepare.example.write_example`),
then runs, each in a fresh process so that peak memory is that run's own:

- ``dualuse``: :func:`dualuse.run.solve_region`, read to written plan,
  with the seconds of every stage (read, coefficients, pre-solve checks,
  model build, hand-over to HiGHS, HiGHS's solve, read-back, write);
- ``floor``: the same read, coefficients and write around the identical LP
  assembled from the same coefficient arrays as one scipy matrix and passed
  to highspy with the same options (``benchmarks/floor.py``);
- optionally ``compiler``: dualuse with the whole model through Pyomo's
  ``LinearStandardFormCompiler`` (the general hand-over path), and ``appsi``:
  the built model solved through Pyomo's ``appsi_highs`` interface — the
  alternatives the hand-over was chosen against; and ``released``: dualuse
  with ``solve(keep_model=False)``, the model freed while HiGHS solves.

It prints the table, checks that both objectives agree to 1e-6 relative, and
writes it as JSON (``benchmarks/results-SECTION.json``) and as Markdown
(into ``benchmarks/RESULTS.md`` between the markers of ``--section``, with
the command that made it).

    python benchmarks/bench_scale.py --sizes 10000,100000,1000000
    python benchmarks/bench_scale.py --sizes 10000 --paths dualuse,floor,compiler,appsi --no-results

The scenario is the default one with the budget and the grid's export
capacity scaled with the region (USD 30,000 and 150 MWh/yr per parcel, as
the default gives the 2,000-parcel example), so that both bind at every size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
GIB = 1024 ** 3

#: (key, label): the stages, in the order of the pipeline.
STAGES = [
    ("generate_s", "generate the example region (not counted)"),
    ("read_s", "read"),
    ("coefficients_s", "coefficients"),
    ("presolve_s", "pre-solve checks"),
    ("build_s", "model build (floor: scipy matrix)"),
    ("handover_s", "hand-over to HiGHS"),
    ("highs_s", "HiGHS solve"),
    ("readback_s", "solution read-back"),
    ("appsi_solve_s", "appsi: translation and HiGHS solve together"),
    ("write_s", "write the plan"),
    ("other_s", "other (plan KPIs, setup)"),
]


def scenario_values(parcels: int) -> dict[str, Any]:
    """The benchmark scenario: defaults, with budget and grid export scaled with the region."""
    return {"budget_usd": 30_000.0 * parcels, "grid_export_mwh": 150.0 * parcels, "time_limit_s": 7200.0}


# --------------------------------------------------------------------------- the runs (child processes)


def run_generate(parcels: int, seed: int, region: str) -> dict[str, Any]:
    from dualuse.prepare.example import write_example

    start = time.perf_counter()
    write_example(region, parcels=parcels, seed=seed)
    return {"generate_s": time.perf_counter() - start}


def run_dualuse(parcels: int, region: str, output: str, handover: str) -> dict[str, Any]:
    import dualuse.solve.highs as solve_module
    from dualuse.solve.handover import compile_standard_form
    from dualuse.run import solve_region
    from dualuse.inputs.scenario import make_scenario

    if handover == "compiler":  # the general path, for comparison: the whole model through Pyomo's compiler
        solve_module.compile_model = compile_standard_form
    elif handover == "released":  # the model let go once HiGHS holds the LP: solve(keep_model=False)
        import functools

        import dualuse.run

        dualuse.run.solve = functools.partial(solve_module.solve, keep_model=False)
    scenario = make_scenario(scenario_values(parcels))
    start, cpu = time.perf_counter(), time.process_time()
    plan = solve_region(region, output, scenario=scenario)
    total = time.perf_counter() - start
    timings = {**plan.timings, **plan.result.timings}
    counted = sum(v for k, v in timings.items() if k.endswith("_s"))
    return {**timings, "other_s": total - counted, "total_s": total, "cpu_s": time.process_time() - cpu,
            "objective": plan.objective, "status": plan.status.value, "interface": plan.result.solver["interface"],
            "rows": plan.result.size["rows"], "columns": plan.result.size["columns"],
            "nonzeros": plan.result.size["nonzeros"]}


def run_floor(parcels: int, region: str, output: str) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    from floor import run_floor as floor

    from dualuse.inputs.catalogue import load_catalogue
    from dualuse.inputs.scenario import make_scenario

    scenario = make_scenario(scenario_values(parcels))
    catalogue = load_catalogue()
    cpu = time.process_time()
    result, timings = floor(region, output, scenario, catalogue)
    timings["other_s"] = timings.pop("plan_s") + timings["total_s"] - sum(
        v for k, v in timings.items() if k.endswith("_s") and k != "total_s")
    return {**timings, "cpu_s": time.process_time() - cpu, "objective": result.objective,
            "status": result.status.value, "interface": result.solver["interface"],
            "rows": result.size["rows"], "columns": result.size["columns"], "nonzeros": result.size["nonzeros"]}


def run_appsi(parcels: int, region: str) -> dict[str, Any]:
    """The built model through Pyomo's appsi HiGHS interface (its own translation), same options."""
    import pyomo.environ as pyo

    from dualuse.inputs.catalogue import load_catalogue
    from dualuse.model.coefficients import compute_coefficients
    from dualuse.model.build import build_model
    from dualuse.inputs.region import read_region
    from dualuse.inputs.scenario import make_scenario
    from dualuse.solve.handover import compile_model
    from dualuse.solve.highs import highs_options, objective_scale

    scenario = make_scenario(scenario_values(parcels))
    start = time.perf_counter()
    coef = compute_coefficients(read_region(region), load_catalogue(), scenario)
    t = time.perf_counter()
    m = build_model(coef, scenario)
    build = time.perf_counter() - t
    solver = pyo.SolverFactory("appsi_highs")
    options = {k: v for k, v in highs_options(scenario, False).items() if k not in ("output_flag", "time_limit")}
    scale = objective_scale(compile_model(m, coef.n_pairs, coef.n_parcels).arrays.col_cost)  # not timed
    options["user_objective_scale"] = scale
    t = time.perf_counter()
    results = solver.solve(m, options=options, load_solutions=False)
    solve = time.perf_counter() - t
    return {"build_s": build, "appsi_solve_s": solve, "total_s": time.perf_counter() - start,
            "objective": float(pyo.value(results.problem.lower_bound if results.problem.sense == pyo.minimize
                                         else results.problem.upper_bound)),
            "status": str(results.solver.termination_condition), "interface": "pyomo appsi_highs"}


def child(args: argparse.Namespace) -> None:
    if args.child == "generate":
        out = run_generate(args.parcels, args.seed, args.region)
    elif args.child in ("dualuse", "compiler", "released"):
        out = run_dualuse(args.parcels, args.region, args.output, args.child)
    elif args.child == "floor":
        out = run_floor(args.parcels, args.region, args.output)
    else:
        out = run_appsi(args.parcels, args.region)
    Path(args.result).write_text(json.dumps(out))


def in_child(kind: str, parcels: int, folder: Path, seed: int) -> dict[str, Any]:
    """Run one measurement in a fresh Python process; its results and its own peak memory."""
    result = folder / f"{kind}-{parcels}.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--parcels", str(parcels),
               "--seed", str(seed), "--region", str(folder / f"region-{parcels}.gpkg"),
               "--output", str(folder / f"plan-{kind}-{parcels}.gpkg"), "--result", str(result)]
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{kind} at {parcels:,} parcels failed with exit code {process.returncode}")
    out = json.loads(result.read_text())
    out["peak_rss_gib"] = usage.ru_maxrss * 1024 / GIB  # ru_maxrss is in KiB on Linux
    return out


# --------------------------------------------------------------------------- the table


def machine() -> dict[str, str]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 1024 ** 2:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    versions = {p: metadata.version(p) for p in ("pyomo", "highspy", "numpy", "pyogrio", "geopandas")}
    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory": memory, "python": platform.python_version(),
            **versions}


def summarise(row: dict[str, Any]) -> None:
    """Ratio, HiGHS share and objective agreement of one size."""
    d, f = row["dualuse"], row["floor"]
    row["ratio"] = d["total_s"] / f["total_s"]
    row["highs_share"] = d["highs_s"] / d["total_s"]
    row["floor_highs_share"] = f["highs_s"] / f["total_s"]
    row["objective_rel_diff"] = abs(d["objective"] - f["objective"]) / max(abs(f["objective"]), 1e-12)
    row["objectives_agree"] = row["objective_rel_diff"] <= 1e-6


def markdown(rows: list[dict[str, Any]], command: str, info: dict[str, str], started: str) -> str:
    sizes = [r["parcels"] for r in rows]
    extra = [k for k in ("released", "compiler", "appsi") if any(k in r for r in rows)]
    head = "| stage [s] | " + " | ".join(
        f"{n:,} dualuse | {n:,} floor" + "".join(f" | {n:,} {k}" for k in extra) for n in sizes) + " |"
    rule = "|---|" + "---:|" * (len(sizes) * (2 + len(extra)))

    def cell(run: dict[str, Any] | None, key: str) -> str:
        if run is None or key not in run:
            return "—"
        value = run[key]
        return f"{value:,.2f}" if isinstance(value, float) else str(value)

    lines = [f"Command: `{command}`  ", f"Run {started} on {info['cpu']} ({info['cores']} cores, {info['memory']}); "
             f"Python {info['python']}, Pyomo {info['pyomo']}, highspy {info['highspy']}.", "", head, rule]
    for key, label in STAGES:
        cells = []
        for r in rows:
            generate = r["generate"] if key == "generate_s" else None
            cells.append(cell(generate or r["dualuse"], key))
            cells.append(cell(generate or r["floor"], key))
            cells += [cell(generate or r.get(k), key) for k in extra]
        if any(c != "—" for c in cells):
            lines.append(f"| {label} | " + " | ".join(cells) + " |")

    def each(fn: Any) -> str:
        cells = []
        for r in rows:
            cells += [fn(r, "dualuse"), fn(r, "floor")] + [fn(r, k) for k in extra]
        return " | ".join(cells)

    lines.append("| **total, read to written plan** | " + each(lambda r, k: f"**{r[k]['total_s']:,.1f}**"
                                                              if k in r else "—") + " |")
    lines.append("| CPU time of the run | " + each(lambda r, k: f"{r[k]['cpu_s']:,.1f}"
                                                  if k in r and "cpu_s" in r[k] else "—") + " |")
    lines.append("| peak memory [GiB] | " + each(lambda r, k: f"{r[k]['peak_rss_gib']:.2f}" if k in r else "—") + " |")
    lines.append("| HiGHS share of the total | " + each(
        lambda r, k: f"{r[k]['highs_s'] / r[k]['total_s']:.0%}" if k in r and "highs_s" in r[k] else "—") + " |")
    lines.append("| objective | " + each(lambda r, k: f"{r[k]['objective']:.10g}" if k in r else "—") + " |")
    lines.append("| rows × columns (nonzeros) | " + each(
        lambda r, k: f"{r[k]['rows']:,} × {r[k]['columns']:,} ({r[k]['nonzeros']:,})"
        if k in r and "rows" in r[k] else "—") + " |")
    lines.append("")
    lines.append("| parcels | dualuse / floor | HiGHS share (dualuse) | objectives, relative difference | "
                 "dualuse peak memory [GiB] |")
    lines.append("|---:|---:|---:|---:|---:|")
    for r in rows:
        lines.append(f"| {r['parcels']:,} | **{r['ratio']:.3f}** | {r['highs_share']:.0%} | "
                     f"{r['objective_rel_diff']:.1e} ({'agree' if r['objectives_agree'] else 'DIFFER'}) | "
                     f"{r['dualuse']['peak_rss_gib']:.2f} |")
    return "\n".join(lines) + "\n"


def write_results(table: str, section: str) -> None:
    """Put ``table`` into RESULTS.md between the markers of ``section`` (appended when missing)."""
    begin, end = f"<!-- bench_scale:{section}:begin -->", f"<!-- bench_scale:{section}:end -->"
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    if begin not in text or end not in text:
        text += f"\n{begin}\n{end}\n"
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    RESULTS.write_text(f"{head}{begin}\n{table}{end}{tail}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="parcel counts, comma-separated")
    parser.add_argument("--seed", type=int, default=42, help="example region seed")
    parser.add_argument("--paths", default="dualuse,floor",
                        help="runs per size: dualuse, floor (both required), released, compiler, appsi")
    parser.add_argument("--workdir", default=None, help="folder for regions and plans [default: a temporary one]")
    parser.add_argument("--section", default="scale",
                        help="which table of RESULTS.md to replace (and the JSON's name: results-SECTION.json)")
    parser.add_argument("--no-results", action="store_true", help="write neither RESULTS.md nor the JSON")
    parser.add_argument("--render", metavar="JSON",
                        help="only re-render the Markdown of a saved results JSON into RESULTS.md")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--parcels", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--region", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if args.render:
        saved = json.loads(Path(args.render).read_text())
        table = markdown(saved["sizes"], saved["command"], saved["machine"], saved["started"])
        print(table)
        write_results(table, args.section)
        return

    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    if not {"dualuse", "floor"} <= set(paths):
        parser.error("--paths must include dualuse and floor")
    command = "python benchmarks/bench_scale.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    info = machine()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="dualuse-bench-", dir=args.workdir) as tmp:
        folder = Path(tmp)
        for parcels in sizes:
            print(f"--- {parcels:,} parcels", file=sys.stderr, flush=True)
            row: dict[str, Any] = {"parcels": parcels, "generate": in_child("generate", parcels, folder, args.seed)}
            for kind in paths:
                row[kind] = in_child(kind, parcels, folder, args.seed)
                print(f"{kind:>8}: total {row[kind]['total_s']:8.1f} s, peak {row[kind]['peak_rss_gib']:.2f} GiB, "
                      f"objective {row[kind]['objective']:.10g}", file=sys.stderr, flush=True)
            summarise(row)
            rows.append(row)
            for leftover in folder.glob(f"*-{parcels}.gpkg"):
                leftover.unlink()
    table = markdown(rows, command, info, started)
    print(table)
    if not args.no_results:
        record = {"command": command, "started": started, "machine": info,
                  "scenario": "defaults with budget_usd = 30,000 × parcels, grid_export_mwh = 150 × parcels",
                  "sizes": rows}
        (HERE / f"results-{args.section}.json").write_text(json.dumps(record, indent=2))
        write_results(table, args.section)
    bad = [r["parcels"] for r in rows if not r["objectives_agree"]]
    if bad:
        raise SystemExit(f"objectives differ beyond 1e-6 relative at {bad}")


if __name__ == "__main__":
    main()
