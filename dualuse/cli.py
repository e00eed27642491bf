"""The ``dualuse`` command line: thin click commands that parse, call the API and print.

Results and ``--json`` go to stdout; logs and progress to stderr.  Every
:class:`~dualuse.errors.DualuseError` becomes its message on stderr (and, with
``--json``, a JSON object on stdout) and its exit code, never a traceback.
"""

from __future__ import annotations

import json
import os
from typing import Any

import click

from dualuse import __version__
from dualuse.errors import DualuseError
from dualuse.example import write_example
from dualuse.pipeline import solve_region
from dualuse.plan import KPI_UNITS
from dualuse.scenario import PARAMETERS, load_scenario, make_scenario, parameters_markdown, parse_sets


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


def main() -> None:
    """Console entry point."""
    cli()


# --------------------------------------------------------------------------- solve

_SOLVE_EPILOG = """\b
Examples:
  dualuse solve data/example_region.gpkg -o plan.gpkg
  dualuse solve region.gpkg --set budget_usd=5e7 --set ldn_target=0.02 --json
  dualuse solve region.gpkg --scenario models/scenarios/strict_ldn.toml -o strict.gpkg
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
        "warnings": [w.to_dict() for w in plan.region.warnings],
    }


@cli.command(epilog=_SOLVE_EPILOG)
@click.argument("region", type=click.Path(dir_okay=False, path_type=str))
@click.option("-o", "--output", default="plan.gpkg", help="plan GeoPackage to write")
@click.option("--layer", default=None, help="parcel layer of REGION  [default: parcels]")
@click.option("--scenario", "scenario_file", type=click.Path(dir_okay=False), default=None,
              help="scenario TOML file (over the defaults)")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="override a scenario parameter; repeatable (see `dualuse parameters`)")
@click.option("--catalogue", type=click.Path(dir_okay=False), default=None,
              help="land-use catalogue TOML  [default: models/landuses.toml]")
@click.option("--time-limit", "time_limit", type=click.FloatRange(min=0), default=None,
              help="solver time limit [s]  [default: the scenario's time_limit_s]")
@click.option("--write-lp", type=click.Path(dir_okay=False), default=None,
              help="also write the Pyomo model as an LP file")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object to stdout")
def solve(region: str, output: str, layer: str | None, scenario_file: str | None, sets: tuple[str, ...],
          catalogue: str | None, time_limit: float | None, write_lp: str | None, as_json: bool) -> None:
    """Choose the use of every parcel of REGION and write the plan as a styled GeoPackage."""
    want_json(as_json)
    scenario = load_scenario(scenario_file, parse_sets(sets))
    plan = solve_region(region, output, scenario=scenario, catalogue=catalogue, layer=layer,
                        time_limit_s=time_limit, write_lp=write_lp)
    for warning in plan.region.warnings:
        click.echo(f"warning: layer '{warning.layer}': {warning.message}. Fix: {warning.fix}", err=True)
    if plan.status.value != "optimal":
        click.echo(f"warning: the time limit was reached; the plan may not be optimal (gap {plan.gap:.2%})",
                   err=True)
    if as_json:
        click.echo(json.dumps(plan_json(plan, output), default=_json_default))
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
