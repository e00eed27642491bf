"""The ``dualuse`` command line: thin click commands that parse, call the API and print.

Results and ``--json`` go to stdout; logs and progress to stderr.  Every
:class:`~dualuse.errors.DualuseError` becomes its message on stderr (and, with
``--json``, a JSON object on stdout) and its exit code, never a traceback.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import click

from dualuse import __version__
from dualuse.errors import DualuseError, UsageError
from dualuse.prepare.example import write_example
from dualuse.run import solve_region
from dualuse.plan import KPI_UNITS
from dualuse.inputs.scenario import PARAMETERS, load_scenario, make_scenario, parameters_markdown, parse_sets


class _Group(click.Group):
    """A click group that turns user-facing failures into their exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DualuseError as exc:
            if getattr(ctx, "_dualuse_json", False):
                click.echo(json.dumps(exc.to_dict(), default=str))
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except Exception as exc:  # a bug, not the user's doing: one line, the traceback on request
            if os.environ.get("DUALUSE_DEBUG"):
                raise
            if getattr(ctx, "_dualuse_json", False):
                click.echo(json.dumps({"error": "InternalError", "message": f"{type(exc).__name__}: {exc}"}))
            click.echo(f"internal error: {type(exc).__name__}: {exc}\n(set DUALUSE_DEBUG=1 for the traceback, "
                       "and please report it with the input that caused it)", err=True)
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, prog_name="dualuse")
def cli() -> None:
    """Choose where solar, agrivoltaics, grazing management and restoration go."""


def want_json(flag: bool) -> None:
    """Record that this command speaks JSON, so a failure is printed as JSON on stdout too."""
    ctx = click.get_current_context().find_root()
    ctx._dualuse_json = flag  # type: ignore[attr-defined]


def scenario_options(scenario_help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The options that say which layer, scenario and catalogue a command runs on."""
    options = [
        click.option("--layer", default=None, help="parcel layer of REGION  [default: parcels]"),
        click.option("--scenario", "scenario_file", type=click.Path(dir_okay=False), default=None,
                     help=scenario_help),
        click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                     help="override a scenario parameter; repeatable (see `dualuse parameters`)"),
        click.option("--catalogue", type=click.Path(dir_okay=False), default=None,
                     help="land-use catalogue TOML  [default: models/landuses.toml]"),
    ]

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def main() -> None:
    """Console entry point."""
    cli()


# --------------------------------------------------------------------------- solve

_SOLVE_EPILOG = """\b
Examples:
  dualuse solve data/example_region.gpkg -o plan.gpkg
  dualuse solve region.gpkg --set budget_usd=5e7 --set ldn_target=0.02 --json
  dualuse solve region.gpkg --scenario models/scenarios/strict_ldn.toml -o strict.gpkg
  dualuse solve --rerun plan.gpkg -o again.gpkg    # the same scenario, catalogue and input
"""

_HEADLINE = (
    ("access", "energy access (share of unserved demand met)", "{:.1%}"),
    ("households_served", "households gaining access", "{:,.0f}"),
    ("capacity_mw", "PV installed [MWp]", "{:,.1f}"),
    ("energy_mwh", "PV generation [MWh/yr]", "{:,.0f}"),
    ("export_mwh", "sent to the grid [MWh/yr]", "{:,.0f}"),
    ("productivity", "harvest relative to today", "{:.1%}"),
    ("restored_ha", "restored [ha]", "{:,.0f}"),
    ("degraded_ha", "degraded at the horizon [ha]", "{:,.0f}"),
    ("ldn_net_ha", "LDN net gain [ha]", "{:,.0f}"),
    ("cost_usd", "cost [USD]", "{:,.0f}"),
)


def plan_json(plan: Any, output: str | None) -> dict[str, Any]:
    """The JSON object that ``solve --json`` prints."""
    return {
        "status": plan.status.value,
        "objective": plan.objective,
        "gap": plan.gap,
        "output": output,
        "kpis": {k: {"value": v, "baseline": plan.baseline.get(k), "unit": KPI_UNITS[k][0]}
                 for k, v in plan.kpis.items()},
        "shadow_prices": plan.shadow_prices,
        "timings": {**plan.result.timings, **plan.timings},
        "warnings": [w.to_dict() for w in plan.region.warnings]
        + ([{"severity": "warning", "layer": "", "column": "", "count": 0, "ids": [],
             "message": _time_limit_text(plan), "fix": "raise --time-limit"}]
           if plan.status.value != "optimal" else []),
    }


@cli.command(epilog=_SOLVE_EPILOG)
@click.argument("region", type=click.Path(dir_okay=False, path_type=str), required=False)
@click.option("-o", "--output", default="plan.gpkg", help="plan GeoPackage to write")
@scenario_options("scenario TOML file (over the defaults)")
@click.option("--time-limit", "time_limit", type=click.FloatRange(min=0), default=None,
              help="solver time limit [s]  [default: the scenario's time_limit_s]")
@click.option("--write-lp", type=click.Path(dir_okay=False), default=None,
              help="also write the Pyomo model as an LP file")
@click.option("--rerun", type=click.Path(dir_okay=False, path_type=str), default=None, metavar="PLAN.gpkg",
              help="re-solve a plan file from its recorded scenario, catalogue and input (checked by SHA-256); "
                   "REGION is then needed only if the input has moved")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object to stdout")
def solve(region: str | None, output: str, layer: str | None, scenario_file: str | None, sets: tuple[str, ...],
          catalogue: str | None, time_limit: float | None, write_lp: str | None, rerun: str | None,
          as_json: bool) -> None:
    """Choose the use of every parcel of REGION and write the plan as a styled GeoPackage."""
    want_json(as_json)
    if rerun is not None:
        plan = _rerun(rerun, region, output, layer, scenario_file, sets, catalogue, time_limit, write_lp)
    else:
        if region is None:
            raise UsageError("give the REGION file to solve, or --rerun PLAN.gpkg")
        scenario = load_scenario(scenario_file, parse_sets(sets))
        plan = solve_region(region, output, scenario=scenario, catalogue=catalogue, layer=layer,
                            time_limit_s=time_limit, write_lp=write_lp)
    for warning in plan.region.warnings:
        click.echo(f"warning: {_where(warning)}{warning.message}. Fix: {warning.fix}", err=True)
    if plan.status.value != "optimal":
        click.echo(f"warning: {_time_limit_text(plan)}", err=True)
    rerun_info = _rerun_json(rerun, output, plan) if rerun is not None else None
    if rerun_info is not None:
        click.echo(_rerun_text(rerun_info, plan), err=True)
    if as_json:
        payload = plan_json(plan, output)
        if rerun_info is not None:
            payload["rerun"] = rerun_info
        click.echo(json.dumps(payload, default=_json_default))
        return
    click.echo(f"plan written to {output}  (status {plan.status.value}, objective {plan.objective:.6g})")
    width = max(len(label) for _, label, _ in _HEADLINE)
    click.echo(f"  {'':{width}}  {'today':>14}  {'plan':>14}")
    for key, label, fmt in _HEADLINE:
        click.echo(f"  {label:{width}}  {fmt.format(plan.baseline[key]):>14}  {fmt.format(plan.kpis[key]):>14}")
    for price in plan.shadow_prices:
        click.echo(f"  shadow price {price['name']}: {price['value']:.4g} {price['unit']}")


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, float) and value != value:
        return None
    return str(value)


# --------------------------------------------------------------------------- example, parameters


@cli.command()
@click.option("-o", "--output", default="example_region.gpkg", help="region GeoPackage to write")
@click.option("--parcels", type=click.IntRange(min=4), default=2000, help="number of parcels")
@click.option("--seed", type=int, default=42, help="random seed: the same seed gives the same region")
def example(output: str, parcels: int, seed: int) -> None:
    """Write a plausible dryland example region."""
    write_example(output, parcels=parcels, seed=seed)
    click.echo(f"example region with {parcels:,} parcels written to {output}")


@cli.command()
@click.option("--markdown", is_flag=True, help="print the Markdown table (as in the README)")
@click.option("--toml", "as_toml", is_flag=True, help="print the defaults as a scenario TOML file")
def parameters(markdown: bool, as_toml: bool) -> None:
    """List the scenario parameters: unit, default, range and meaning."""
    if as_toml:
        click.echo(make_scenario({}).to_toml(), nl=False)
    elif markdown:
        click.echo(parameters_markdown())
    else:
        for p in PARAMETERS:
            click.echo(f"{p.name:24} {str(p.default):>12}  [{p.unit}]  {p.describe_range()}\n"
                       f"{'':24} {p.help}")


# --------------------------------------------------------------------------- prepare

_PREPARE_EPILOG = """\b
Units and scales:
  --pvout          Global Solar Atlas PVOUT: 'yearly' totals [kWh/kWp/yr]
                   (LTAy_YearlyMonthlyTotals) or 'daily' totals [kWh/kWp/day]
                   (LTAy_AvgDailyTotals, multiplied by 365).
  --soc            stored value x --soc-scale = t C/ha. SoilGrids 'ocs'
                   (0-30 cm) and Trends.Earth SOC are t/ha already: scale 1.
                   SoilGrids 'soc' is a concentration [dg/kg], not a stock:
                   scale = 0.01 x bulk density [g/cm3] x depth [cm] x
                   (1 - coarse fragments), e.g. 0.39 for 1.3 g/cm3 over 30 cm.
  --productivity   stored value x --productivity-scale = t DM/ha/yr; MODIS
                   NPP (MOD17A3, 0.0001 kg C/m2/yr) with 47 % carbon in dry
                   matter: scale 0.0001 x 10 / 0.47 = 0.002128.
  A scale and offset stored in a raster's metadata are applied first.
\b
Examples:
  dualuse prepare aoi.gpkg -o region.gpkg --cell-ha 100 --pvout PVOUT.tif \\
      --productivity npp.tif --productivity-scale 0.002128 --soc ocs_0-30cm.tif \\
      --land-cover C3S-LC-2020.tif --degradation sdg_15_3_1.tif --dem srtm.tif \\
      --protected WDPA.gpkg --protected-where "STATUS <> 'Proposed'" \\
      --grid-lines grid.gpkg --settlements villages.gpkg --population-field pop \\
      --electrified-field elec_share --household-size 5 --reach-km 10
"""


@cli.command(epilog=_PREPARE_EPILOG)
@click.argument("aoi", type=click.Path(dir_okay=False, path_type=str))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="region GeoPackage to write (layers parcels, communities, prepare_sources)")
@click.option("--aoi-layer", default=None, help="layer of AOI to use when it has several")
@click.option("--cell-ha", type=float, required=True, help="parcel size [ha]")
@click.option("--shape", type=click.Choice(["hex", "square"]), default="hex", help="parcel shape")
@click.option("--crs", default=None,
              help="projected CRS in metres to tile in, e.g. EPSG:32636  [default: Lambert azimuthal "
                   "equal-area centred on the AOI]")
@click.option("--sliver-share", type=float, default=0.25,
              help="clipped cells smaller than this share of --cell-ha join the neighbour they share most "
                   "border with")
@click.option("--pvout", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="PV specific yield raster (Global Solar Atlas PVOUT) [kWh/kWp]")
@click.option("--pvout-unit", type=click.Choice(["yearly", "daily"]), default="yearly",
              help="PVOUT totals per year [kWh/kWp/yr] or per day [kWh/kWp/day]")
@click.option("--productivity", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="productivity raster: crop or forage yield or an NPP proxy")
@click.option("--productivity-scale", type=float, default=1.0,
              help="stored value x this = productivity [t DM/ha/yr]")
@click.option("--soc", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="soil organic carbon stock raster, 0-30 cm (SoilGrids ocs) [t C/ha]")
@click.option("--soc-scale", type=float, default=1.0,
              help="stored value x this = SOC stock [t C/ha]; 1 for SoilGrids ocs (see below)")
@click.option("--land-cover", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="land cover class raster (ESA CCI / C3S LCCS classes, or any with a legend table)")
@click.option("--land-cover-legend", default="esa-cci",
              help="'esa-cci' (built in) or a CSV with columns value,land_type (empty land_type = no data)")
@click.option("--degradation", default=None, type=click.Path(dir_okay=False, path_type=str),
              help="SDG 15.3.1 status raster (Trends.Earth): -1 degraded, 0 stable, 1 improving")
@click.option("--dem", default=None, type=click.Path(dir_okay=False, path_type=str),
              help="elevation raster [m]; slope is computed from it on a projected grid")
@click.option("--slope", default=None, type=click.Path(dir_okay=False, path_type=str),
              help="slope raster [degrees], instead of --dem")
@click.option("--protected", default=None, type=click.Path(dir_okay=False, path_type=str),
              help="protected-area polygons (WDPA); a parcel more than half inside is protected")
@click.option("--protected-layer", default=None, help="layer of --protected")
@click.option("--protected-where", default=None,
              help="OGR SQL filter on --protected, e.g. \"STATUS <> 'Proposed'\"")
@click.option("--grid-lines", default=None, type=click.Path(dir_okay=False, path_type=str),
              help="power lines; grid_km is the distance from each parcel's centroid [km]")
@click.option("--grid-lines-layer", default=None, help="layer of --grid-lines")
@click.option("--settlements", default=None, type=click.Path(dir_okay=False, path_type=str),
              help="settlement points with population; they become the communities")
@click.option("--settlements-layer", default=None, help="layer of --settlements")
@click.option("--population-field", default=None, help="field of --settlements: population [people]")
@click.option("--electrified-field", default=None,
              help="field of --settlements: share of people with electricity [0-1]")
@click.option("--settlement-id-field", default=None,
              help="field of --settlements used as community_id  [default: S<feature id>]")
@click.option("--household-size", type=float, default=None, help="people per household")
@click.option("--reach-km", type=float, default=None,
              help="a parcel supplies the nearest settlement within this distance [km]")
@click.option("--allow-missing", is_flag=True,
              help="leave out parcels without PV, productivity, SOC or land cover data (and give parcels "
                   "without degradation or slope data 0) instead of failing")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object to stdout")
def prepare(aoi: str, output: str, as_json: bool, **options: Any) -> None:
    """Build a region GeoPackage from rasters and vectors: tile AOI into parcels and fill every column."""
    from dualuse.prepare.assemble import PrepareOptions, prepare as run_prepare

    want_json(as_json)
    prepared = run_prepare(PrepareOptions(aoi=aoi, **options), output,
                           log=lambda text: click.echo(text, err=True))
    for note in prepared.notes:
        click.echo(f"note: {note}", err=True)
    parcels = prepared.parcels
    counts = parcels["land_type"].value_counts()
    summary = {
        "output": output,
        "parcels": len(parcels),
        "crs": prepared.crs.name,
        "communities": 0 if prepared.communities is None else len(prepared.communities),
        "land_types": {str(k): int(v) for k, v in counts.items()},
        "timings_s": prepared.timings_s,
        "notes": prepared.notes,
    }
    if as_json:
        click.echo(json.dumps(summary, default=_json_default))
        return
    click.echo(f"region written to {output}: {len(parcels):,} parcels in {prepared.crs.name}"
               + (f", {summary['communities']:,} communities" if prepared.communities is not None else ""))
    click.echo("  " + ", ".join(f"{k} {v:,}" for k, v in summary["land_types"].items()))


# --------------------------------------------------------------------------- report

_REPORT_EPILOG = """\b
Examples:
  dualuse report plan.gpkg                   (writes plan.html and plan_*.png beside it)
  dualuse report plan.gpkg -o ministry/plan.html
  dualuse report results/                    (a sweep: writes results/report.html)
"""


@cli.command(epilog=_REPORT_EPILOG)
@click.argument("source", type=click.Path(path_type=str))
@click.option("-o", "--output", default=None,
              help="HTML file to write  [default: PLAN.html beside the plan, or RESULTS_DIR/report.html]")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object to stdout")
def report(source: str, output: str | None, as_json: bool) -> None:
    """Write a self-contained HTML report (maps, LDN balance, access, trade-offs) of a plan file or a sweep
    results folder, with its figures as PNG files beside it."""
    want_json(as_json)
    from dualuse.report.html import write_report

    written = write_report(source, output)
    if as_json:
        click.echo(json.dumps({"html": str(written.html), "pngs": [str(p) for p in written.pngs],
                               "timings": written.seconds}))
        return
    click.echo(f"report written to {written.html}")
    for png in written.pngs:
        click.echo(f"  figure {png}")


# --------------------------------------------------------------------------- validate, rerun

_VALIDATE_EPILOG = """\b
Every problem at once: a table of severity, layer, column, count, example ids
and the fix; with the scenario (defaults, --scenario, --set) also the
pre-solve checks (layer 'scenario').  Exit 0: no error (warnings may
remain); 2: an error in the input; 3: the input is fine but the scenario is
certainly infeasible.
\b
Examples:
  dualuse validate region.gpkg
  dualuse validate region.gpkg --layer fields --set ldn_target=0.02 --json
"""


@cli.command(epilog=_VALIDATE_EPILOG)
@click.argument("region", type=click.Path(path_type=str))  # a folder is reported like every other problem
@scenario_options("scenario TOML file (over the defaults) for the pre-solve checks")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object to stdout")
def validate(region: str, layer: str | None, scenario_file: str | None, sets: tuple[str, ...],
             catalogue: str | None, as_json: bool) -> None:
    """Check REGION (and a scenario on it) and report every problem with its fix."""
    from dualuse.diagnose.validate import validate_region

    want_json(as_json)
    scenario = load_scenario(scenario_file, parse_sets(sets))
    report = validate_region(region, layer, scenario=scenario, catalogue=catalogue)
    if as_json:
        click.echo(json.dumps(report.to_dict(), default=_json_default))
    else:
        click.echo(report.table())
    click.get_current_context().exit(report.exit_code)


def _where(problem: Any) -> str:
    """"layer 'parcels': " for an input problem; nothing for a scenario finding (its column names the parameter)."""
    if problem.layer == "scenario":
        return f"scenario ({problem.column}): " if problem.column else "scenario: "
    return f"layer '{problem.layer}': " if problem.layer else ""


def _time_limit_text(plan: Any) -> str:
    gap = plan.gap
    if plan.result.size.get("mip") and gap == gap:
        known = f"the optimality gap is {gap:.2%}"
    else:
        known = "its distance from the optimum is not known"
    return f"the time limit was reached: the plan may not be optimal ({known})"


def _rerun(plan_file: str, region: str | None, output: str, layer: str | None, scenario_file: str | None,
           sets: tuple[str, ...], catalogue: str | None, time_limit: float | None, write_lp: str | None) -> Any:
    from dualuse.run import rerun_plan

    given = [name for name, value in (("--layer", layer), ("--scenario", scenario_file), ("--set", sets),
                                      ("--catalogue", catalogue), ("--write-lp", write_lp)) if value]
    if given:
        raise UsageError(f"--rerun takes the scenario, catalogue and layer recorded in {plan_file}; "
                         f"drop {', '.join(given)} (or solve REGION afresh with them)")
    return rerun_plan(plan_file, output, region=region, time_limit_s=time_limit)


def _rerun_json(plan_file: str, output: str, plan: Any) -> dict[str, Any]:
    from dualuse.run import read_run_record, same_plan_table

    recorded = read_run_record(plan_file).objective
    return {"plan": plan_file, "recorded_objective": recorded,
            "same_objective": recorded == plan.objective, "same_plan_table": same_plan_table(plan_file, output)}


def _rerun_text(info: dict[str, Any], plan: Any) -> str:
    plan_file = info["plan"]
    if info["same_plan_table"] and info["same_objective"]:
        return f"re-solved {plan_file}: the same objective and the same plan table, column by column"
    return (f"re-solved {plan_file}, but the result differs (objective {plan.objective!r}, recorded "
            f"{info['recorded_objective']!r}; plan table {'the same' if info['same_plan_table'] else 'different'}): "
            "check the versions recorded in its run table against this installation")



# --------------------------------------------------------------------------- sweep, pareto

_SWEEP_EPILOG = """\b
Examples:
  dualuse sweep data/example_region.gpkg examples/budget_ldn.toml -o budget_ldn
  dualuse sweep region.gpkg sweep.toml -o results --workers 8 --set food_floor=0.9
  dualuse sweep region.gpkg sweep.toml -o results --scheduler tcp://10.0.0.5:8786
Re-running the same command skips the scenarios already finished in RESULTS_DIR.
"""


def _executor_options(command: Any) -> Any:
    """--workers, --scheduler and --dask-local: where the solves run."""
    command = click.option("--dask-local", "dask_local", type=click.IntRange(min=1), default=None, metavar="N",
                           help="start a local Dask cluster of N single-threaded workers")(command)
    command = click.option("--scheduler", default=None, metavar="ADDRESS",
                           help="run on an existing Dask cluster, e.g. tcp://host:8786")(command)
    command = click.option("--workers", type=click.IntRange(min=1), default=None, metavar="N",
                           help="local worker processes, one solver thread each  [default: one per core]")(command)
    return command


def _stderr(text: str) -> None:
    click.echo(text, err=True)


@cli.command("sweep", epilog=_SWEEP_EPILOG)
@click.argument("region", type=click.Path(dir_okay=False, path_type=str))
@click.argument("sweep_file", type=click.Path(dir_okay=False, path_type=str))
@click.option("-o", "--output", default="sweep", metavar="RESULTS_DIR",
              help="results folder: results.gpkg (table sweep), results.csv, plans/, plots/")
@click.option("--layer", default=None, help="parcel layer of REGION  [default: parcels]")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="override a parameter of the sweep's base scenario; repeatable")
@click.option("--catalogue", type=click.Path(dir_okay=False), default=None,
              help="land-use catalogue TOML  [default: models/landuses.toml]")
@_executor_options
@click.option("--no-plans", is_flag=True, help="do not write each scenario's plan GeoPackage")
@click.option("--no-plots", is_flag=True, help="do not draw the KPI and shadow-price plots")
@click.option("--quiet", "-q", is_flag=True, help="no progress bar or log on stderr")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object to stdout")
def sweep_command(region: str, sweep_file: str, output: str, layer: str | None, sets: tuple[str, ...],
                  catalogue: str | None, workers: int | None, scheduler: str | None, dask_local: int | None,
                  no_plans: bool, no_plots: bool, quiet: bool, as_json: bool) -> None:
    """Solve every scenario of SWEEP_FILE (a TOML grid and/or named scenarios) on REGION, in parallel."""
    import time

    from dualuse.inputs.region import read_region
    from dualuse.studies.sweep import open_executor, read_sweep, run_sweep

    want_json(as_json)
    spec = read_sweep(sweep_file, parse_sets(sets))
    parcels = read_region(region, layer)  # bad input fails before any worker starts
    started = time.perf_counter()
    with open_executor(workers, scheduler, dask_local, plots=not no_plots) as executor:
        start_s = time.perf_counter() - started
        result = run_sweep(parcels, spec, executor, output=output, catalogue=catalogue, layer=layer,
                           plans=not no_plans, plots=not no_plots, progress=False if quiet else None,
                           log=None if quiet else _stderr)
    counts = result.counts()
    if as_json:
        click.echo(json.dumps({"output": output, "scenarios": len(result.rows), "solved": result.solved,
                               "reused": result.reused, "counts": counts, "varied": result.varied,
                               "results": f"{output}/results.gpkg", "plots": [str(p) for p in result.plots],
                               "timings": {"start_workers_s": start_s, **result.timings}}))
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
KPIs: access, energy, productivity, households_served, restored_ha, ldn_net_ha, soc_change_t,
cost_usd (minimised).
"""


@cli.command("pareto", epilog=_PARETO_EPILOG)
@click.argument("region", type=click.Path(dir_okay=False, path_type=str))
@click.option("--maximise", "maximise", required=True, metavar="KPI", help="the KPI optimised")
@click.option("--against", "against", required=True, metavar="KPI", help="the KPI held at ε across its range")
@click.option("--points", type=click.IntRange(min=2), default=11, help="ε values across the front, ends included")
@click.option("-o", "--output", default="pareto", metavar="FRONT_DIR",
              help="front folder: front.gpkg (table front), front.csv, front.png, plans/")
@click.option("--layer", default=None, help="parcel layer of REGION  [default: parcels]")
@click.option("--scenario", "scenario_file", type=click.Path(dir_okay=False), default=None,
              help="base scenario TOML file (its objective weights are replaced)")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="override a scenario parameter; repeatable")
@click.option("--catalogue", type=click.Path(dir_okay=False), default=None,
              help="land-use catalogue TOML  [default: models/landuses.toml]")
@_executor_options
@click.option("--no-plans", is_flag=True, help="do not write each point's plan GeoPackage")
@click.option("--quiet", "-q", is_flag=True, help="no progress bar or log on stderr")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object to stdout")
def pareto_command(region: str, maximise: str, against: str, points: int, output: str, layer: str | None,
                   scenario_file: str | None, sets: tuple[str, ...], catalogue: str | None, workers: int | None,
                   scheduler: str | None, dask_local: int | None, no_plans: bool, quiet: bool,
                   as_json: bool) -> None:
    """The trade-off front between two KPIs of REGION, by the ε-constraint method."""
    from dualuse.studies.pareto import PARETO_KPIS, run_pareto

    want_json(as_json)
    for kpi in (maximise, against):
        if kpi not in PARETO_KPIS:
            raise UsageError(f"no trade-off front for '{kpi}'; choose among {', '.join(PARETO_KPIS)}")
    if maximise == against:
        raise UsageError(f"--maximise and --against are both '{maximise}'; pair two different KPIs")
    scenario = load_scenario(scenario_file, parse_sets(sets))
    from dualuse.inputs.region import read_region
    from dualuse.studies.sweep import open_executor

    parcels = read_region(region, layer)  # bad input fails before any worker starts
    with open_executor(workers, scheduler, dask_local, plots=False) as executor:
        front = run_pareto(parcels, maximise, against, points, executor, scenario=scenario, catalogue=catalogue,
                           layer=layer, output=output, plans=not no_plans, progress=False if quiet else None,
                           log=None if quiet else _stderr)
    frame = front.points
    if as_json:
        columns = ["point", "role", "epsilon", maximise, against, f"rate_{maximise}_per_{against}", "knee", "plan"]
        click.echo(json.dumps({"output": output, "maximise": maximise, "against": against,
                               "optimum": front.optimum, "failed": front.failed, "knee": front.knee,
                               "points": frame[columns].to_dict(orient="records")}, default=_json_default))
        return
    unit_a, unit_b = KPI_UNITS[maximise][0], KPI_UNITS[against][0]
    click.echo(f"{len(frame)} non-dominated plans between {maximise} [{unit_a}] and {against} [{unit_b}]"
               + (f" ({front.failed} solve(s) without a plan left out)" if front.failed else ""))
    click.echo(f"  {'':4} {maximise:>20} {against:>20}  {maximise + ' given up per ' + against:>34}")
    rate = f"rate_{maximise}_per_{against}"
    for _, row in frame.iterrows():
        mark = "  <- knee" if row["knee"] else ""
        click.echo(f"  {int(row['point']):4d} {row[maximise]:20.6g} {row[against]:20.6g}  {row[rate]:34.4g}{mark}")
    click.echo(f"front: {output}/front.gpkg (table front), {output}/front.csv, {output}/front.png")
