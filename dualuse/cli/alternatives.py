"""``dualuse portfolio`` and ``dualuse no-regret``: near-optimal plans that differ, and what they agree on."""

from __future__ import annotations

import click

from dualuse.cli.options import emit_json, executor_options, scenario_options, stderr, want_json
from dualuse.inputs.scenario import load_scenario, parse_sets

_PORTFOLIO_EPILOG = """\b
Examples:
  dualuse portfolio data/example_region.gpkg -o options --plans 10 --slack 0.02
  dualuse portfolio region.gpkg -o options --method random-directions --plans 20 --workers 4
  dualuse portfolio region.gpkg -o options --method cuts --cut-share 0.3 --set budget_usd=5e7
Methods: mga (least overlap with the plans before, one after another), random-directions (random weights
over parcels or communities and uses, in parallel), cuts (each earlier plan cut off: a share of its
action area must move). Writes OUT_DIR/portfolio.gpkg (table portfolio), portfolio.csv, plans/<id>.gpkg
and the no-regret map no_regret.gpkg. Re-running the same command reuses the stored solves.
"""


@click.command("portfolio", epilog=_PORTFOLIO_EPILOG)
@click.argument("region", type=click.Path(dir_okay=False, path_type=str))
@click.option("-o", "--output", default="portfolio", metavar="OUT_DIR",
              help="portfolio folder: portfolio.gpkg, portfolio.csv, plans/, no_regret.gpkg")
@click.option("--plans", type=click.IntRange(min=2), default=5, help="plans to find, the optimum included")
@click.option("--slack", type=click.FloatRange(min=0.0, max=1.0, min_open=True, max_open=True), default=0.02,
              help="how far below the optimal objective a plan may be, as a share of it")
@click.option("--method", type=click.Choice(["mga", "random-directions", "cuts"]), default="mga",
              help="how the plans are pushed apart")
@click.option("--seed", type=int, default=0, help="seed of the first random direction (random-directions)")
@click.option("--directions", type=click.Choice(["parcel", "community"]), default="parcel",
              help="draw the random weights per parcel or per community, and use (random-directions)")
@click.option("--cut-share", "cut_share", type=click.FloatRange(min=0.0, max=1.0, min_open=True), default=0.25,
              help="share of each earlier plan's action area that a new plan must move (cuts)")
@scenario_options("scenario TOML file (over the defaults)")
@executor_options
@click.option("--quiet", "-q", is_flag=True, help="no progress bar or log on stderr")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object to stdout")
def portfolio_command(region: str, output: str, plans: int, slack: float, method: str, seed: int, directions: str,
                      cut_share: float, layer: str | None, scenario_file: str | None, sets: tuple[str, ...],
                      catalogue: str | None, workers: int | None, scheduler: str | None, dask_local: int | None,
                      quiet: bool, as_json: bool) -> None:
    """Near-optimal plans of REGION, each within --slack of the optimum, as different as they can be."""
    from dualuse.inputs.region import read_region
    from dualuse.model.alternatives import check_objective_mode
    from dualuse.studies.executor import open_executor
    from dualuse.studies.portfolio import check_portfolio, run_portfolio

    want_json(as_json)
    check_portfolio(plans, slack, method, directions, cut_share)
    scenario = load_scenario(scenario_file, parse_sets(sets))
    check_objective_mode(scenario)
    parcels = read_region(region, layer)  # bad input fails before any worker starts
    with open_executor(workers, scheduler, dask_local, plots=False) as executor:
        result = run_portfolio(parcels, output, plans, slack, method, executor, scenario=scenario,
                               catalogue=catalogue, layer=layer, seed=seed, directions=directions,
                               cut_share=cut_share, progress=False if quiet else None, log=None if quiet else stderr)
    frame = result.plans
    shown = ["alternative", "role", "status", "objective", "gap", "within_slack", "differs_from_optimum_ha",
             "nearest_plan_ha", "plan"]
    no_regret = str(result.no_regret.output) if result.no_regret is not None else None
    if as_json:
        emit_json({"output": output, "method": method, "slack": slack, "optimum": result.optimum,
                   "requested": plans, "found": result.found, "messages": result.messages,
                   "table": f"{output}/portfolio.gpkg", "no_regret": no_regret,
                   "plans": frame[shown].to_dict(orient="records"),
                   "no_regret_summary": ([] if result.no_regret is None
                                         else result.no_regret.summary.to_dict(orient="records"))})
        return
    click.echo(f"{result.found} of {plans} plans within {slack:.1%} of the optimum (objective {result.optimum:.6g}),"
               f" by {method}")
    click.echo(f"  {'':4} {'objective':>12} {'gap':>8} {'differs from optimum [ha]':>26} {'from nearest [ha]':>18}")
    for _, row in frame.iterrows():
        mark = "" if row["within_slack"] else f"  ({row['status']}{', beyond the slack' if row['plan'] else ''})"
        click.echo(f"  {int(row['alternative']):4d} {row['objective']:12.6g} {row['gap']:8.2%} "
                   f"{row['differs_from_optimum_ha']:26,.1f} {row['nearest_plan_ha']:18,.1f}{mark}")
    for message in result.messages:
        click.echo(f"note: {message}")
    click.echo(f"table: {output}/portfolio.gpkg (table portfolio) and {output}/portfolio.csv; plans: {output}/plans/")
    if no_regret:
        click.echo(f"no-regret map: {no_regret}")


_NO_REGRET_EPILOG = """\b
Examples:
  dualuse no-regret options -o options/no_regret.gpkg      (a portfolio: its plans within the slack)
  dualuse no-regret budget_ldn -o budget_ldn_agreement.gpkg  (a sweep: every scenario with a plan)
  dualuse no-regret energy_food -o front_agreement.gpkg      (a front: its non-dominated plans)
"""


@click.command("no-regret", epilog=_NO_REGRET_EPILOG)
@click.argument("folder", type=click.Path(file_okay=False, path_type=str))
@click.option("-o", "--output", required=True, metavar="FILE.gpkg",
              help="GeoPackage to write: layer no_regret (styled for QGIS), table no_regret_summary")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object to stdout")
def no_regret_command(folder: str, output: str, as_json: bool) -> None:
    """For every parcel, the share of FOLDER's plans that give it to each use, and the use they agree on."""
    from dualuse.studies.no_regret import write_no_regret

    want_json(as_json)
    made = write_no_regret(folder, output)
    summary = made.summary
    if as_json:
        emit_json({"output": str(made.output), "plans": len(made.plans),
                   "summary": summary.to_dict(orient="records")})
        return
    click.echo(f"{len(made.plans)} plans compared; no-regret map written to {made.output}")
    for _, row in summary.iterrows():
        click.echo(f"  {row['use']:>12}: {row['always_ha']:12,.1f} ha in every plan, "
                   f"{row['dominant_every_plan_ha']:12,.1f} ha the dominant use in every plan")
