"""``dualuse solve``, ``validate``, ``parameters`` and ``example``: one run, its checks, its parameters, a region to try.

``solve --rerun PLAN.gpkg`` re-solves a plan from the scenario, catalogue and
input recorded in its run table and says whether the result is the same.
"""

from __future__ import annotations

from typing import Any

import click

from dualuse.cli.options import (
    check_overwrite,
    common_options,
    emit_json,
    explain_options,
    note,
    overlap_option,
    overwrite_option,
    scenario_options,
    want_json,
)
from dualuse.errors import UsageError
from dualuse.inputs.scenario import (
    PARAMETERS,
    load_scenario,
    make_scenario,
    parameters_markdown,
    parse_sets,
)

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
    ("capacity_mwp", "PV installed [MWp]", "{:,.1f}"),
    ("energy_mwh", "PV generation [MWh/yr]", "{:,.0f}"),
    ("export_mwh", "sent to the grid [MWh/yr]", "{:,.0f}"),
    ("productivity", "harvest relative to today", "{:.1%}"),
    ("restored_ha", "restored [ha]", "{:,.0f}"),
    ("sdg_degraded_ha", "SDG 15.3.1 degraded at the horizon [ha]", "{:,.0f}"),
    ("ldn_net_ha", "LDN net gain [ha]", "{:,.0f}"),
    ("cost_usd", "cost [USD]", "{:,.0f}"),
)


def plan_json(plan: Any, output: str | None) -> dict[str, Any]:
    """The JSON object that ``solve --json`` prints."""
    from dualuse.cli.stress import drought_json
    from dualuse.model.kpis import KPI_UNITS
    from dualuse.plan import planner_prices

    return {
        "status": plan.status.value,
        "objective": plan.objective,
        "gap": plan.gap,
        "output": output,
        "kpis": {k: {"value": v, "baseline": plan.baseline.get(k), "unit": KPI_UNITS[k][0]}
                 for k, v in plan.kpis.items()},
        "shadow_prices": plan.shadow_prices,
        "planner_prices": planner_prices(plan),
        "break_even": plan.break_even,
        "priority_levels": plan.result.priority_levels,
        "drought": drought_json(plan),
        "economics": plan.economics(),
        "timings": {**plan.result.timings, **plan.timings},
        "warnings": [w.to_dict() for w in plan.region.warnings]
        + ([{"severity": "warning", "layer": "", "column": "", "count": 0, "ids": [],
             "message": _time_limit_text(plan), "fix": "raise --time-limit"}]
           if plan.status.value != "optimal" else []),
    }


@click.command(epilog=_SOLVE_EPILOG)
@click.argument("region", type=click.Path(dir_okay=False, path_type=str), required=False)
@click.option("-o", "--output", default="plan.gpkg", help="plan GeoPackage to write")
@overwrite_option
@scenario_options("scenario TOML file (over the defaults)")
@click.option("--time-limit", "time_limit", type=click.FloatRange(min=0), default=None,
              help="solver time limit [s]  [default: the scenario's time_limit_s]")
@explain_options
@overlap_option
@click.option("--write-lp", type=click.Path(dir_okay=False), default=None,
              help="also write the Pyomo model as an LP file (an existing one needs --overwrite)")
@click.option("--rerun", type=click.Path(dir_okay=False, path_type=str), default=None, metavar="PLAN.gpkg",
              help="re-solve a plan file from its recorded scenario, catalogue and input (checked by SHA-256); "
                   "REGION is then needed only if the input has moved")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object to stdout")
@common_options
def solve(region: str | None, output: str, overwrite: bool, layer: str | None, scenario_file: str | None,
          sets: tuple[str, ...], catalogue: str | None, time_limit: float | None, no_explain: bool,
          explain_time_limit: float | None, overlap_tolerance: float | None, write_lp: str | None,
          rerun: str | None, as_json: bool) -> None:
    """Choose the use of every parcel of REGION and write the plan as a styled GeoPackage."""
    from dualuse.run import solve_region

    want_json(as_json)
    check_overwrite(output, overwrite, inputs=(region,))
    check_overwrite(write_lp, overwrite, "--write-lp", inputs=(region,))
    recorded = float("nan")
    if rerun is not None:
        if no_explain or explain_time_limit is not None or overlap_tolerance is not None:
            raise UsageError("--rerun re-solves as recorded; drop --no-explain, --explain-time-limit and "
                             "--overlap-tolerance")
        recorded = _recorded_objective(rerun)  # read before the output, which may be this file, is replaced
        plan = _rerun(rerun, region, output, layer, scenario_file, sets, catalogue, time_limit, write_lp)
    else:
        if region is None:
            raise UsageError("give the REGION file to solve, or --rerun PLAN.gpkg")
        scenario = load_scenario(scenario_file, parse_sets(sets))
        plan = solve_region(region, output, scenario=scenario, catalogue=catalogue, layer=layer,
                            time_limit_s=time_limit, write_lp=write_lp, explain=not no_explain,
                            explain_time_limit_s=explain_time_limit, overlap_tolerance=overlap_tolerance)
    for warning in plan.region.warnings:
        note(f"warning: {_where(warning)}{warning.message}. Fix: {warning.fix}")
    if plan.status.value != "optimal":
        note(f"warning: {_time_limit_text(plan)}")
    rerun_info = _rerun_json(rerun, recorded, output, plan) if rerun is not None else None
    if rerun_info is not None:
        note(_rerun_text(rerun_info, plan))
    if as_json:
        payload = plan_json(plan, output)
        if rerun_info is not None:
            payload["rerun"] = rerun_info
        emit_json(payload)
        return
    _print_plan(plan, output)


def _print_plan(plan: Any, output: str) -> None:
    """The plan's headline on stdout: KPIs today and in the plan, shadow prices, uses that take no land."""
    from dualuse.cli.stress import drought_text
    from dualuse.model.breakeven import describe_change
    from dualuse.plan import planner_prices

    click.echo(f"plan written to {output}  (status {plan.status.value}, objective {plan.objective:.6g})")
    width = max(len(label) for _, label, _ in _HEADLINE)
    click.echo(f"  {'':{width}}  {'today':>14}  {'plan':>14}")
    for key, label, fmt in _HEADLINE:
        click.echo(f"  {label:{width}}  {fmt.format(plan.baseline[key]):>14}  {fmt.format(plan.kpis[key]):>14}")
    for price, planner in zip(plan.shadow_prices, planner_prices(plan)):
        click.echo(f"  shadow price {price['name']}: {price['value']:.4g} {price['unit']}{_planner_text(planner)}")
    for use, changes in plan.break_even.items():
        said = "; ".join(f"{name} {describe_change(change)}" for name, change in changes.items())
        click.echo(f"  {use} takes no land; it enters on a parcel at: {said}")
    for line in drought_text(plan):
        click.echo(line)


def _planner_text(planner: dict[str, Any]) -> str:
    """A shadow price in households of access and USD of budget per unit relaxed (``plan.planner_prices``)."""
    parts = []
    if planner["households"] is not None and planner["households"] > 0:
        parts.append(f"{planner['households']:,.3g} households per {planner['per']}")
    if planner["usd"] is not None and planner["usd"] > 0:
        parts.append(f"USD {planner['usd']:,.0f} per {planner['per']}")
    return f"  (= {'; '.join(parts)})" if parts else ""


@click.command()
@click.option("-o", "--output", default="example_region.gpkg", help="region GeoPackage to write")
@overwrite_option
@click.option("--parcels", type=click.IntRange(min=4), default=2000, help="number of parcels")
@click.option("--seed", type=int, default=42, help="random seed: the same seed gives the same region")
@common_options
def example(output: str, overwrite: bool, parcels: int, seed: int) -> None:
    """Write a plausible dryland example region."""
    from dualuse.prepare.example import write_example

    check_overwrite(output, overwrite)
    write_example(output, parcels=parcels, seed=seed)
    click.echo(f"example region with {parcels:,} parcels written to {output}")


@click.command()
@click.option("--markdown", is_flag=True, help="print the Markdown table (as in the README)")
@click.option("--toml", "as_toml", is_flag=True, help="print the defaults as a scenario TOML file")
@common_options
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


@click.command(epilog=_VALIDATE_EPILOG)
@click.argument("region", type=click.Path(path_type=str))  # a folder is reported like every other problem
@scenario_options("scenario TOML file (over the defaults) for the pre-solve checks")
@overlap_option
@click.option("--json", "as_json", is_flag=True, help="print one JSON object to stdout")
@common_options
def validate(region: str, layer: str | None, scenario_file: str | None, sets: tuple[str, ...],
             catalogue: str | None, overlap_tolerance: float | None, as_json: bool) -> None:
    """Check REGION (and a scenario on it) and report every problem with its fix."""
    from dualuse.diagnose.validate import validate_region

    want_json(as_json)
    scenario = load_scenario(scenario_file, parse_sets(sets))
    report = validate_region(region, layer, scenario=scenario, catalogue=catalogue,
                             overlap_tolerance=overlap_tolerance)
    if as_json:
        emit_json(report.to_dict())
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


def _recorded_objective(plan_file: str) -> float:
    """The objective recorded in a plan file's run table."""
    from dualuse.run import read_run_record

    return read_run_record(plan_file).objective


def _rerun_json(plan_file: str, recorded: float, output: str, plan: Any) -> dict[str, Any]:
    """What a rerun found: the objective recorded before the rerun (``recorded``) against the new one, and
    whether the plan tables agree."""
    from dualuse.run import same_plan_table

    return {"plan": plan_file, "recorded_objective": recorded,
            "same_objective": recorded == plan.objective, "same_plan_table": same_plan_table(plan_file, output)}


def _rerun_text(info: dict[str, Any], plan: Any) -> str:
    plan_file = info["plan"]
    if info["same_plan_table"] and info["same_objective"]:
        return f"re-solved {plan_file}: the same objective and the same plan table, column by column"
    return (f"re-solved {plan_file}, but the result differs (objective {plan.objective!r}, recorded "
            f"{info['recorded_objective']!r}; plan table {'the same' if info['same_plan_table'] else 'different'}): "
            "check the versions recorded in its run table against this installation")
