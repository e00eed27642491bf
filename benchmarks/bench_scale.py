"""Benchmark ``dualuse solve`` at scale against the floor: the same LP handed straight to highspy.

For each size it writes the example region (:func:`dualuse.prepare.example.write_example`),
then runs, each in a fresh process so that peak memory is that run's own:

- ``structured``: :func:`dualuse.run.solve_region`, read to written plan, as
  ``dualuse solve`` runs it (the share-mode LP by column generation over the
  parcels, certified on the whole LP), with the seconds of every stage (read,
  coefficients, pre-solve checks, model build, hand-over to HiGHS, the solve,
  read-back, write);
- ``generic``: the same with ``lp_method = "generic"`` (``--set
  lp_method=generic``): the whole LP by HiGHS's interior point and crossover;
- ``floor``: the same read, coefficients and write around the identical LP
  assembled from the same coefficient arrays as one scipy matrix and passed
  to highspy with the generic path's options (``benchmarks/floor.py``);
- optionally ``compiler``: dualuse with the whole model through Pyomo's
  ``LinearStandardFormCompiler`` (the general hand-over path), and ``appsi``:
  the built model solved through Pyomo's ``appsi_highs`` interface — the
  alternatives the hand-over was chosen against; and ``released``: dualuse
  with ``solve(keep_model=False)``, the model freed while HiGHS solves.

It prints the table (wall and CPU seconds, their ratios, peak memory), checks
that every objective agrees with the floor's to 1e-6 relative, and
writes it as JSON (``benchmarks/results-SECTION.json``) and as Markdown
(into ``benchmarks/RESULTS.md`` between the markers of ``--section``, with
the command that made it).

    python benchmarks/bench_scale.py --sizes 100000,1000000 --hard 100000
    python benchmarks/bench_scale.py --sizes 1000000 --paths structured,floor
    python benchmarks/bench_scale.py --sizes 10000 --paths structured,floor,compiler,appsi --no-results

The scenario is the default one with the budget and the grid's export
capacity scaled with the region (USD 30,000 and 150 MWh/yr per parcel, as
the default gives the 2,000-parcel example), so that both bind at every size.
The hard variant (``--hard``) gives the region a community per 25 parcels
and caps PV at 0.2 % of its area, which binds on few parcels: the shapes on
which a sampled dual estimate is poorest.
"""

from __future__ import annotations

import argparse
import json
import math
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
    ("highs_s", "HiGHS solve (structured: the whole column generation and check)"),
    ("readback_s", "solution read-back"),
    ("appsi_solve_s", "appsi: translation and HiGHS solve together"),
    ("write_s", "write the plan"),
    ("other_s", "other (plan KPIs, setup)"),
]


#: The runs of dualuse, each a ``solve_region`` with its scenario's ``lp_method``; ``floor`` is the bare-highspy LP.
DUALUSE_KINDS = ("structured", "generic", "released", "compiler")
KINDS = (*DUALUSE_KINDS, "floor", "appsi")


#: The hard variant: a community per 25 parcels (4,000 at 100,000 parcels, whose duals a sample estimates
#: poorly) and a PV cap that binds on few parcels (0.2 % of the area).
HARD_PARCELS_PER_COMMUNITY = 25
HARD_MAX_PV_SHARE = 0.002


def scenario_values(parcels: int, lp_method: str = "structured", hard: bool = False) -> dict[str, Any]:
    """The benchmark scenario: defaults, with budget and grid export scaled with the region (and, ``hard``,
    the tight PV cap)."""
    values = {"budget_usd": 30_000.0 * parcels, "grid_export_mwh": 150.0 * parcels, "time_limit_s": 7200.0,
              "lp_method": lp_method}
    if hard:
        values["max_pv_share"] = HARD_MAX_PV_SHARE
    return values


# --------------------------------------------------------------------------- the runs (child processes)


def run_generate(parcels: int, seed: int, region: str, hard: bool) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    from bench_structured import write_region

    start = time.perf_counter()
    write_region(Path(region), parcels, seed, HARD_PARCELS_PER_COMMUNITY if hard else None)
    return {"generate_s": time.perf_counter() - start}


def run_dualuse(parcels: int, region: str, output: str, kind: str, hard: bool) -> dict[str, Any]:
    import dualuse.solve.highs as solve_module
    from dualuse.inputs.scenario import make_scenario
    from dualuse.run import solve_region
    from dualuse.solve.handover import compile_standard_form

    if kind == "compiler":  # the general path, for comparison: the whole model through Pyomo's compiler
        solve_module.compile_model = compile_standard_form
    elif kind == "released":  # the model let go once HiGHS holds the LP: solve(keep_model=False)
        import functools

        import dualuse.run

        dualuse.run.solve = functools.partial(solve_module.solve, keep_model=False)
    scenario = make_scenario(scenario_values(parcels, "structured" if kind == "structured" else "generic", hard))
    start, cpu = time.perf_counter(), time.process_time()
    plan = solve_region(region, output, scenario=scenario)
    total = time.perf_counter() - start
    timings = {**plan.timings, **plan.result.timings}
    counted = sum(v for k, v in timings.items() if k.endswith("_s"))
    return {**timings, "other_s": total - counted, "total_s": total, "cpu_s": time.process_time() - cpu,
            "objective": plan.objective, "status": plan.status.value, "interface": plan.result.solver["interface"],
            "rows": plan.result.size["rows"], "columns": plan.result.size["columns"],
            "nonzeros": plan.result.size["nonzeros"], "lp_path": plan.result.solver.get("lp_path", ""),
            "lp_path_reason": plan.result.solver.get("lp_path_reason", ""),
            "structured_rounds": plan.result.solver.get("structured_rounds", 0)}


def run_floor(parcels: int, region: str, output: str, hard: bool) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    from floor import run_floor as floor

    from dualuse.inputs.catalogue import load_catalogue
    from dualuse.inputs.scenario import make_scenario

    scenario = make_scenario(scenario_values(parcels, "generic", hard))
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
    from dualuse.inputs.region import read_region
    from dualuse.inputs.scenario import make_scenario
    from dualuse.model.build import build_model
    from dualuse.model.coefficients import compute_coefficients
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
        out = run_generate(args.parcels, args.seed, args.region, args.hard_variant)
    elif args.child in DUALUSE_KINDS:
        out = run_dualuse(args.parcels, args.region, args.output, args.child, args.hard_variant)
    elif args.child == "floor":
        out = run_floor(args.parcels, args.region, args.output, args.hard_variant)
    else:
        out = run_appsi(args.parcels, args.region)
    Path(args.result).write_text(json.dumps(out))


def in_child(kind: str, parcels: int, folder: Path, seed: int, hard: bool = False) -> dict[str, Any]:
    """Run one measurement in a fresh Python process; its results and its own peak memory."""
    tag = f"{parcels}-hard" if hard else f"{parcels}"
    result = folder / f"{kind}-{tag}.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--parcels", str(parcels),
               "--seed", str(seed), "--region", str(folder / f"region-{tag}.gpkg"),
               "--output", str(folder / f"plan-{kind}-{tag}.gpkg"), "--result", str(result)]
    if hard:
        command.append("--hard-variant")
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


def kinds_of(row: dict[str, Any]) -> list[str]:
    """The runs of one size, in the order of :data:`KINDS`."""
    return [k for k in KINDS if k in row]


def summarise(row: dict[str, Any]) -> None:
    """Wall and CPU ratios and objective agreement of one size: every run against the floor, and the generic
    path against the structured one."""
    floor = row["floor"]
    row["objectives_agree"] = True
    for kind in kinds_of(row):
        run = row[kind]
        run["wall_over_floor"] = run["total_s"] / floor["total_s"]
        if "cpu_s" in run:
            run["cpu_over_floor"] = run["cpu_s"] / floor["cpu_s"]
        run["objective_rel_diff"] = abs(run["objective"] - floor["objective"]) / max(abs(floor["objective"]), 1e-12)
        run["objective_agrees"] = run["objective_rel_diff"] <= 1e-6
        row["objectives_agree"] = row["objectives_agree"] and run["objective_agrees"]
    if "structured" in row and "generic" in row:
        row["generic_over_structured_wall"] = row["generic"]["total_s"] / row["structured"]["total_s"]
        row["generic_over_structured_cpu"] = row["generic"]["cpu_s"] / row["structured"]["cpu_s"]


def size_label(row: dict[str, Any]) -> str:
    """A size's name in the tables: its parcels, and "hard" for the hard variant."""
    return f"{row['parcels']:,}" + (" hard" if row.get("hard") else "")


def _cell(run: dict[str, Any] | None, key: str) -> str:
    if run is None or key not in run:
        return "—"
    value = run[key]
    return f"{value:,.2f}" if isinstance(value, float) else str(value)


def _stage_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The table of seconds per stage and the totals, one column per size and run."""
    head = "| stage [s] | " + " | ".join(f"{size_label(r)} {k}" for r in rows for k in kinds_of(r)) + " |"
    lines = [head, "|---|" + "---:|" * sum(len(kinds_of(r)) for r in rows)]
    for key, label in STAGES:
        cells = [_cell(r["generate"] if key == "generate_s" else r[k], key) for r in rows for k in kinds_of(r)]
        if any(c != "—" for c in cells):
            lines.append(f"| {label} | " + " | ".join(cells) + " |")

    def each(fn: Any) -> str:
        return " | ".join(fn(r[k]) for r in rows for k in kinds_of(r))

    lines += [
        "| **wall, read to written plan** | " + each(lambda run: f"**{run['total_s']:,.1f}**") + " |",
        "| CPU of the run | " + each(lambda run: f"{run['cpu_s']:,.1f}" if "cpu_s" in run else "—") + " |",
        "| peak memory [GiB] | " + each(lambda run: f"{run['peak_rss_gib']:.2f}") + " |",
        "| path (structured rounds) | " + each(
            lambda run: f"{run['lp_path']} ({run['structured_rounds']})" if run.get("lp_path") == "structured"
            else run.get("lp_path", "—") or "—") + " |",
        "| objective | " + each(lambda run: f"{run['objective']:.10g}") + " |",
        "| rows × columns (nonzeros) | " + each(
            lambda run: f"{run['rows']:,} × {run['columns']:,} ({run['nonzeros']:,})" if "rows" in run else "—")
        + " |",
    ]
    return lines


def markdown(rows: list[dict[str, Any]], command: str, info: dict[str, str], started: str) -> str:
    lines = [f"Command: `{command}`  ", f"Run {started} on {info['cpu']} ({info['cores']} cores, {info['memory']}); "
             f"Python {info['python']}, Pyomo {info['pyomo']}, highspy {info['highspy']}.", "",
             *_stage_lines(rows), "",
             "| parcels | run | wall [s] | CPU [s] | wall / floor | CPU / floor | peak memory [GiB] | "
             "objective vs floor (relative) |",
             "|---:|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        for k in kinds_of(r):
            run = r[k]
            cpu = f"{run['cpu_s']:,.1f}" if "cpu_s" in run else "—"
            cpu_ratio = f"{run['cpu_over_floor']:.3f}" if "cpu_over_floor" in run else "—"
            agree = "agree" if run["objective_agrees"] else "DIFFER"
            lines.append(f"| {size_label(r)} | {k} | {run['total_s']:,.1f} | {cpu} | **{run['wall_over_floor']:.3f}** "
                         f"| {cpu_ratio} | {run['peak_rss_gib']:.2f} | {run['objective_rel_diff']:.1e} ({agree}) |")
    speedups = [r for r in rows if "generic_over_structured_wall" in r]
    if speedups:
        lines += ["", "| parcels | generic / structured, wall | generic / structured, CPU |", "|---:|---:|---:|"]
        lines += [f"| {size_label(r)} | **{r['generic_over_structured_wall']:.2f}×** | "
                  f"{r['generic_over_structured_cpu']:.2f}× |" for r in speedups]
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
    parser.add_argument("--sizes", default="100000,1000000", help="parcel counts, comma-separated")
    parser.add_argument("--hard", default="",
                        help="parcel counts of the hard variant (a community per 25 parcels, PV cap 0.2 %% of the area)")
    parser.add_argument("--seed", type=int, default=42, help="example region seed")
    parser.add_argument("--paths", default="structured,generic,floor",
                        help="runs per size: structured, generic, floor (required), released, compiler, appsi")
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
    parser.add_argument("--hard-variant", action="store_true", help=argparse.SUPPRESS)
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

    sizes = [(int(s.replace("_", "")), False) for s in args.sizes.split(",") if s.strip()]
    sizes += [(int(s.replace("_", "")), True) for s in args.hard.split(",") if s.strip()]
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    if "floor" not in paths or not set(paths) <= set(KINDS):
        parser.error(f"--paths must include floor and name only {', '.join(KINDS)}")
    command = "python benchmarks/bench_scale.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    info = machine()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="dualuse-bench-", dir=args.workdir) as tmp:
        folder = Path(tmp)
        for parcels, hard in sizes:
            print(f"--- {parcels:,} parcels{' (hard variant)' if hard else ''}", file=sys.stderr, flush=True)
            row: dict[str, Any] = {"parcels": parcels, "hard": hard,
                                   "generate": in_child("generate", parcels, folder, args.seed, hard)}
            for kind in paths:
                row[kind] = in_child(kind, parcels, folder, args.seed, hard)
                print(f"{kind:>10}: wall {row[kind]['total_s']:8.1f} s, CPU {row[kind].get('cpu_s', math.nan):8.1f} s, "
                      f"peak {row[kind]['peak_rss_gib']:.2f} GiB, objective {row[kind]['objective']:.10g}",
                      file=sys.stderr, flush=True)
            summarise(row)
            rows.append(row)
            for leftover in folder.glob(f"*-{parcels}{'-hard' if hard else ''}.gpkg"):
                leftover.unlink()
    table = markdown(rows, command, info, started)
    print(table)
    if not args.no_results:
        record = {"command": command, "started": started, "machine": info,
                  "scenario": "defaults with budget_usd = 30,000 × parcels, grid_export_mwh = 150 × parcels; hard: "
                              f"a community per {HARD_PARCELS_PER_COMMUNITY} parcels, max_pv_share = {HARD_MAX_PV_SHARE}",
                  "sizes": rows}
        (HERE / f"results-{args.section}.json").write_text(json.dumps(record, indent=2))
        write_results(table, args.section)
    bad = [size_label(r) for r in rows if not r["objectives_agree"]]
    if bad:
        raise SystemExit(f"objectives differ beyond 1e-6 relative at {bad}")


if __name__ == "__main__":
    main()
