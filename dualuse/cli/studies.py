"""``dualuse sweep`` and ``dualuse pareto``: many runs of one region, on local processes or Dask."""

from __future__ import annotations

import time

import click

from dualuse.cli.options import (
    common_options,
    emit_json,
    executor_options,
    explain_options,
    quiet,
    stderr,
    want_json,
)
from dualuse.errors import UsageError
from dualuse.inputs.scenario import load_scenario, parse_sets

_SWEEP_EPILOG = """\b
Examples:
  dualuse sweep data/example_region.gpkg examples/budget_ldn.toml -o budget_ldn
  dualuse sweep region.gpkg sweep.toml -o results --workers 8 --set food_floor=0.9
  dualuse sweep region.gpkg sweep.toml -o results --scheduler tcp://10.0.0.5:8786
Re-running the same command skips the scenarios already finished in RESULTS_DIR.
"""


@click.command("sweep", epilog=_SWEEP_EPILOG)
@click.argument("region", type=click.Path(dir_okay=False, path_type=str))
@click.argument("sweep_file", type=click.Path(dir_okay=False, path_type=str))
@click.option("-o", "--output", default="sweep", metavar="RESULTS_DIR",
              help="results folder: results.gpkg (table sweep), results.csv, plans/, plots/")
@click.option("--layer", default=None, help="parcel layer of REGION  [default: parcels]")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="override a parameter of the sweep's base scenario; repeatable")
@click.option("--catalogue", type=click.Path(dir_okay=False), default=None,
              help="land-use catalogue TOML  [default: models/landuses.toml]")
@executor_options
@click.option("--no-plans", is_flag=True, help="do not write each scenario's plan GeoPackage")
@click.option("--no-plots", is_flag=True, help="do not draw the KPI and shadow-price plots")
@explain_options
@click.option("--json", "as_json", is_flag=True, help="print one JSON object to stdout")
@common_options
def sweep_command(region: str, sweep_file: str, output: str, layer: str | None, sets: tuple[str, ...],
                  catalogue: str | None, workers: int | None, scheduler: str | None, dask_local: int | None,
                  no_plans: bool, no_plots: bool, no_explain: bool, explain_time_limit: float | None,
                  as_json: bool) -> None:
    """Solve every scenario of SWEEP_FILE (a TOML grid and/or named scenarios) on REGION, in parallel."""
    from dualuse.inputs.region import read_region
    from dualuse.studies.sweep import open_executor, read_sweep, run_sweep

    want_json(as_json)
    spec = read_sweep(sweep_file, parse_sets(sets))
    parcels = read_region(region, layer)  # bad input fails before any worker starts
    started = time.perf_counter()
    with open_executor(workers, scheduler, dask_local, plots=not no_plots) as executor:
        start_s = time.perf_counter() - started
        result = run_sweep(parcels, spec, executor, output=output, catalogue=catalogue, layer=layer,
                           plans=not no_plans, plots=not no_plots, progress=False if quiet() else None,
                           log=None if quiet() else stderr, explain=not no_explain,
                           explain_time_limit_s=explain_time_limit)
    counts = result.counts()
    if as_json:
        emit_json({"output": output, "scenarios": len(result.rows), "solved": result.solved,
                   "reused": result.reused, "counts": counts, "varied": result.varied,
                   "results": f"{output}/results.gpkg", "plots": [str(p) for p in result.plots],
                   "timings": {"start_workers_s": start_s, **result.timings}})
        return
    summary = ", ".join(f"{n} {status}" for status, n in counts.items())
    click.echo(f"{len(result.rows)} scenarios ({summary}); {result.solved} solved now, {result.reused} reused")
    click.echo(f"results: {output}/results.gpkg (table sweep) and {output}/results.csv")
    if not no_plans:
        click.echo(f"plans: {output}/plans/<id>.gpkg")
    if result.plots:
        click.echo(f"plots: {len(result.plots)} PNG files in {output}/plots")


_PARETO_EPILOG = """\b
Examples:
  dualuse pareto data/example_region.gpkg --maximise access --against productivity
  dualuse pareto region.gpkg --maximise energy --against productivity --points 21 -o energy_food
  dualuse pareto region.gpkg --maximise households_served --against cost_usd --set budget_usd=2e8
  dualuse pareto region.gpkg --maximise access --against productivity --against restored_ha --points 5 --refine 1
With two or more --against, the front is between three or more KPIs (a grid of ε, points per held KPI).
KPIs: access, energy, productivity, households_served, restored_ha, ldn_net_ha, soc_change_t,
cost_usd (minimised).
"""


@click.command("pareto", epilog=_PARETO_EPILOG)
@click.argument("region", type=click.Path(dir_okay=False, path_type=str))
@click.option("--maximise", "maximise", required=True, metavar="KPI", help="the KPI optimised")
@click.option("--against", "against", required=True, multiple=True, metavar="KPI",
              help="the KPI held at ε across its range; repeat for a front in three or more KPIs")
@click.option("--points", type=click.IntRange(min=2), default=None,
              help="ε values across the front (per held KPI), ends included  [default: 11; 5 per held KPI with "
                   "two or more]")
@click.option("--refine", type=click.IntRange(min=0), default=0,
              help="with two or more --against: rounds of refinement where the front bends")
@click.option("-o", "--output", default="pareto", metavar="FRONT_DIR",
              help="front folder: front.gpkg (table front), front.csv, front.png, plans/ (and front_parallel.png "
                   "for three or more KPIs)")
@click.option("--layer", default=None, help="parcel layer of REGION  [default: parcels]")
@click.option("--scenario", "scenario_file", type=click.Path(dir_okay=False), default=None,
              help="base scenario TOML file (its objective weights are replaced)")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="override a scenario parameter; repeatable")
@click.option("--catalogue", type=click.Path(dir_okay=False), default=None,
              help="land-use catalogue TOML  [default: models/landuses.toml]")
@executor_options
@click.option("--no-plans", is_flag=True, help="do not write each point's plan GeoPackage")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object to stdout")
@common_options
def pareto_command(region: str, maximise: str, against: tuple[str, ...], points: int | None, refine: int,
                   output: str, layer: str | None, scenario_file: str | None, sets: tuple[str, ...],
                   catalogue: str | None, workers: int | None, scheduler: str | None, dask_local: int | None,
                   no_plans: bool, as_json: bool) -> None:
    """The trade-off front between two (or more) KPIs of REGION, by the ε-constraint method."""
    from dualuse.inputs.region import read_region
    from dualuse.model.kpis import KPI_UNITS
    from dualuse.studies.pareto import PARETO_KPIS, run_pareto
    from dualuse.studies.sweep import open_executor

    want_json(as_json)
    if len(against) > 1:
        from dualuse.cli.fronts import pareto_nd
        pareto_nd(region, (maximise, *against), 5 if points is None else points, refine, output, layer,
                  load_scenario(scenario_file, parse_sets(sets)), catalogue, (workers, scheduler, dask_local),
                  not no_plans, quiet(), as_json)
        return
    if refine:
        raise UsageError("--refine refines fronts of three or more KPIs (give --against two or more times)")
    against, points = against[0], 11 if points is None else points
    for kpi in (maximise, against):
        if kpi not in PARETO_KPIS:
            raise UsageError(f"no trade-off front for '{kpi}'; choose among {', '.join(PARETO_KPIS)}")
    if maximise == against:
        raise UsageError(f"--maximise and --against are both '{maximise}'; pair two different KPIs")
    scenario = load_scenario(scenario_file, parse_sets(sets))
    parcels = read_region(region, layer)  # bad input fails before any worker starts
    with open_executor(workers, scheduler, dask_local, plots=False) as executor:
        front = run_pareto(parcels, maximise, against, points, executor, scenario=scenario, catalogue=catalogue,
                           layer=layer, output=output, plans=not no_plans,
                           progress=False if quiet() else None, log=None if quiet() else stderr)
    frame = front.points
    if as_json:
        columns = ["point", "role", "epsilon", maximise, against, f"rate_{maximise}_per_{against}", "knee", "plan"]
        emit_json({"output": output, "maximise": maximise, "against": against, "optimum": front.optimum,
                   "failed": front.failed, "knee": front.knee, "points": frame[columns].to_dict(orient="records")})
        return
    unit_a, unit_b = KPI_UNITS[maximise][0], KPI_UNITS[against][0]
    click.echo(f"{len(frame)} non-dominated plans between {maximise} [{unit_a}] and {against} [{unit_b}]"
               + (f" ({front.failed} solve(s) without a plan left out)" if front.failed else ""))
    click.echo(f"  {'':4} {maximise:>20} {against:>20}  {maximise + ' given up per ' + against:>34}")
    rate = f"rate_{maximise}_per_{against}"
    for _, row in frame.iterrows():
        mark = "  <- knee" if row["knee"] else ""
        click.echo(f"  {int(row['point']):4d} {row[maximise]:20.6g} {row[against]:20.6g}  {row[rate]:34.4g}{mark}")
    click.echo("front: " + ", ".join(str(path) for path in front.files))
