"""``dualuse pareto`` with two or more ``--against``: the front between three or more KPIs, printed."""

from __future__ import annotations

import click

from dualuse.cli.options import emit_json, stderr
from dualuse.inputs.scenario import Scenario


def pareto_nd(region: str, kpis: tuple[str, ...], points: int, refine: int, output: str, layer: str | None,
              scenario: Scenario, catalogue: str | None, executor: tuple[int | None, str | None, int | None],
              plans: bool, quiet: bool, as_json: bool) -> None:
    """Solve the front of ``kpis`` (the first optimised, the others held) and print it or its JSON."""
    from dualuse.inputs.region import read_region
    from dualuse.model.kpis import KPI_UNITS
    from dualuse.studies.pareto_nd import PARALLEL_PNG, check_kpis, run_pareto_nd
    from dualuse.studies.sweep import open_executor

    check_kpis(kpis, points)
    parcels = read_region(region, layer)  # bad input fails before any worker starts
    workers, scheduler, dask_local = executor
    with open_executor(workers, scheduler, dask_local, plots=False) as pool:
        front = run_pareto_nd(parcels, kpis, points, pool, refine=refine, scenario=scenario, catalogue=catalogue,
                              layer=layer, output=output, plans=plans, progress=False if quiet else None,
                              log=None if quiet else stderr)
    frame = front.points
    if as_json:
        columns = ["point", "role", *[f"epsilon_{k}" for k in kpis[1:]], *kpis, "knee_distance", "knee", "plan"]
        emit_json({"output": output, "kpis": list(kpis), "optimum": front.optimum, "worst": front.worst,
                   "solves": front.solves, "infeasible": front.infeasible, "failed": front.failed,
                   "knee": front.knee, "points": frame[columns].to_dict(orient="records") if len(frame) else []})
        return
    click.echo(f"{len(frame)} non-dominated plans between {', '.join(kpis)} from {front.solves} solves"
               + (f" ({front.infeasible} ε combinations beyond the front)" if front.infeasible else "")
               + (f" ({front.failed} solve(s) without a plan left out)" if front.failed else ""))
    click.echo("  " + " " * 4 + "".join(f" {k + ' [' + KPI_UNITS[k][0] + ']':>26}" for k in kpis))
    for _, row in frame.iterrows():
        mark = "  <- knee" if row["knee"] else ""
        click.echo(f"  {int(row['point']):4d}" + "".join(f" {row[k]:26.6g}" for k in kpis) + mark)
    click.echo(f"front: {output}/front.gpkg (table front), {output}/front.csv, {output}/front.png (projections), "
               f"{output}/{PARALLEL_PNG}")
