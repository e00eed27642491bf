"""``dualuse stress``: a written plan, its shares fixed, in every drought year of its region."""

from __future__ import annotations

import math
from typing import Any

import click

from dualuse.cli.options import check_overwrite, common_options, emit_json, note, overwrite_option, want_json

_STRESS_EPILOG = """\b
Examples:
  dualuse stress plan.gpkg                        (writes plan_stress.gpkg beside it)
  dualuse stress plan.gpkg --region drought_region.gpkg -o stressed.gpkg
  dualuse stress plan.gpkg --json
"""


@click.command(epilog=_STRESS_EPILOG)
@click.argument("plan_path", metavar="PLAN.gpkg", type=click.Path(path_type=str))
@click.option("--region", default=None, type=click.Path(path_type=str),
              help="region GeoPackage with the drought years (tables productivity_scenarios, scenarios)  "
                   "[default: the input recorded in the plan's run table]")
@click.option("-o", "--output", default=None,
              help="copy of the plan to write, with the tables stress and stress_communities  "
                   "[default: PLAN_stress.gpkg beside the plan]")
@overwrite_option
@click.option("--json", "as_json", is_flag=True, help="print one JSON object to stdout")
@common_options
def stress(plan_path: str, region: str | None, output: str | None, overwrite: bool, as_json: bool) -> None:
    """Evaluate a plan, its shares held fixed, in the normal year and every drought year of its region:
    harvest, energy, access, land-based income and jobs per year and per community, and which communities
    fall below the floors (drought_food_floor, or food_floor when it is 0; min_access_share; livelihood_floor
    and jobs_floor when above 0)."""
    want_json(as_json)
    from dualuse.studies.stress import default_stress_output, stress_plan, write_stress

    destination = output or default_stress_output(plan_path)
    check_overwrite(destination, overwrite, inputs=(plan_path, region))
    result = stress_plan(plan_path, region)
    written = write_stress(result, destination)
    if not result.region_is_recorded:
        note(f"note: {result.region_path} is not the input the plan was made from (another SHA-256); its "
             "parcels match the plan's")
    if as_json:
        emit_json({"plan": result.plan_path, "region": result.region_path, "output": str(written),
                   "region_is_recorded": result.region_is_recorded, "food_floor": result.food_floor,
                   "access_floor": result.access_floor, "livelihood_floor": result.livelihood_floor,
                   "jobs_floor": result.jobs_floor, "years": _records(result.years),
                   "communities": _records(result.communities)})
        return
    click.echo(_table(result.years, result.food_floor))
    click.echo(_livelihood_table(result.years))
    for line in _below_lines(result.communities):
        click.echo(line)
    click.echo(f"stress tables written to {written}")


_FLAGS = (("harvest", "below_food_floor"), ("access", "below_access_floor"),
          ("livelihood", "below_livelihood_floor"), ("jobs", "below_jobs_floor"))


def _below_lines(communities: Any) -> list[str]:
    """One line per (year, community) below any of its floors."""
    if communities.empty:
        return []
    lines = []
    for row in communities.to_dict(orient="records"):
        what = [name for name, flag in _FLAGS if row[flag]]
        if what:
            lines.append(f"  {row['scenario']}: community {row['community_id']} below the {' and '.join(what)} "
                         f"floor (harvest ratio {row['harvest_ratio']:.3f}, access share {row['access_share']:.3f}, "
                         f"income {row['income_share']:.3f} and jobs {row['jobs_share']:.3f} of today's)")
    return lines


def _livelihood_table(years: Any) -> str:
    """The per-year land-based income and jobs as aligned text."""
    lines = [f"{'year':<16}{'income USD/yr':>15}{'of today':>10}{'of normal':>11}{'jobs FTE':>11}{'of today':>10}"
             f"{'below income':>14}{'below jobs':>12}"]
    for row in years.itertuples():
        lines.append(f"{str(row.scenario):<16}{row.income_usd_yr:>15,.0f}{_number(row.income_share):>10}"
                     f"{_number(row.income_ratio_normal):>11}{row.jobs_fte:>11,.1f}{_number(row.jobs_share):>10}"
                     f"{row.communities_below_livelihood_floor:>14}{row.communities_below_jobs_floor:>12}")
    floors = ", ".join(f"{name} {years[column].iloc[0]:g}" for name, column in
                       (("livelihood_floor", "livelihood_floor"), ("jobs_floor", "jobs_floor")))
    lines.append(f"income: harvest at its value (that year's), PV sales share (that year's generation), leases and "
                 f"payments; of today: over today's in the same year; jobs as in the normal year; below: "
                 f"communities under {floors} (0: off)")
    return "\n".join(lines)


def _number(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.3f}"


def _records(frame: Any) -> list[dict[str, Any]]:
    return [] if frame.empty else frame.to_dict(orient="records")


def _table(years: Any, food_floor: float) -> str:
    """The per-year table as aligned text."""
    lines = [f"{'year':<16}{'prob.':>7}{'harvest t':>13}{'ratio':>8}{'energy MWh':>14}{'access':>8}"
             f"{'below food':>12}{'below access':>14}"]
    for row in years.itertuples():
        probability = "" if math.isnan(row.probability) else f"{row.probability:.3f}"
        access = "" if math.isnan(row.access_share) else f"{row.access_share:.3f}"
        flag = "*" if row.below_food_floor else ""
        lines.append(f"{str(row.scenario):<16}{probability:>7}{row.harvest_t:>13,.0f}{row.harvest_ratio:>7.3f}"
                     f"{flag:1}{row.energy_mwh:>14,.0f}{access:>8}{row.communities_below_food_floor:>12}"
                     f"{row.communities_below_access_floor:>14}")
    lines.append(f"ratio: harvest over today's in the same year; * below its food floor (normal year "
                 f"{years['food_floor'].iloc[0]:g}, drought years {food_floor:g}); below: communities under the floors")
    return "\n".join(lines)


def drought_json(plan: Any) -> dict[str, Any] | None:
    """The drought part of ``solve --json``: the floor, its scope, the plan's (and the nominal plan's) harvest
    per drought year and the price of robustness; None for a region without drought years."""
    years = plan.drought_years()
    if years.empty:
        return None
    summary = {row["kpi"]: row for row in plan.summary().to_dict("records")}
    robustness = plan.robustness
    return {"drought_food_floor": plan.scenario.drought_food_floor, "drought_scope": plan.scenario.drought_scope,
            "cvar_alpha": plan.scenario.cvar_alpha,
            "harvest_ratio": summary["drought_harvest_ratio"]["plan"],
            "nominal_harvest_ratio": summary.get("nominal_drought_harvest_ratio", {}).get("plan"),
            "price_of_robustness": None if robustness is None else {
                "objective": robustness.objective_given_up, "nominal_objective": robustness.nominal_objective,
                "productivity_t": summary.get("price_of_robustness_productivity_t", {}).get("plan"),
                "energy_mwh": summary.get("price_of_robustness_energy_mwh", {}).get("plan")},
            "years": years.to_dict(orient="records")}


def drought_text(plan: Any) -> list[str]:
    """The drought lines of ``solve``'s summary: each year's harvest ratio, robust and nominal, and the price."""
    years = plan.drought_years()
    if years.empty:
        return []
    lines = []
    for row in years.to_dict(orient="records"):
        nominal = (f", nominal plan {row['nominal_harvest_ratio']:.3f} (short {row['nominal_shortfall_t']:,.0f} t)"
                   if "nominal_harvest_ratio" in row else "")
        lines.append(f"  drought year {row['scenario']}: harvest {row['plan_harvest_ratio']:.3f} of today's in that "
                     f"year{nominal}")
    if plan.robustness is not None:
        lines.append(f"  price of robustness: objective {plan.robustness.objective_given_up:.4g} lower than the "
                     f"nominal plan's {plan.robustness.nominal_objective:.6g} (drought_food_floor "
                     f"{plan.scenario.drought_food_floor:g}, scope {plan.scenario.drought_scope})")
    return lines
