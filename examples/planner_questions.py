"""Four questions a planner asks of a region, answered from real runs each time.

    python examples/planner_questions.py                      # the bundled example region
    python examples/planner_questions.py REGION.gpkg -o OUT --workers 2 --points 11

1. When does agrivoltaics pay?
   From the plan's break-evens, checked by re-solving with a copied catalogue at that cost;
   and, from the sweep examples/budget_ldn.toml (10 budgets × 5 LDN targets), the budget at which it enters.
2. What does LDN cost per hectare?
   From the LDN shadow prices in USD of budget per ha, under ldn_baseline = "persist" (degraded land left
   alone is a loss, so restoration is needed), checked by re-solving with ldn_target moved by a small step;
   and, from the sweep, the households a stricter target costs.
3. What does the fairness floor cost in households?
   Two plans, without and with min_access_share, side by side.
4. Where is the knee between energy and food?
   The front of energy against productivity, by the ε-constraint method.

Questions 1–3 are asked at one budget (``--budget``; by default the sweep's budget whose plan serves closest
to half the households its richest plan serves: money is short, so choices matter).  Every sentence printed
is computed from the results written under OUT: the sweep, the front, and the plans and catalogues of
questions 1–3 in OUT/questions.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dualuse.errors import InfeasibleError
from dualuse.inputs.catalogue import default_catalogue_path, load_catalogue
from dualuse.inputs.region import Region, read_region
from dualuse.inputs.scenario import Scenario
from dualuse.model.access import access_floor
from dualuse.model.families import ldn_groups
from dualuse.plan import Plan, planner_prices
from dualuse.run import solve_region
from dualuse.studies.executor import open_executor
from dualuse.studies.pareto import ParetoFront, run_pareto
from dualuse.studies.spec import read_sweep
from dualuse.studies.sweep import run_sweep

HERE = Path(__file__).resolve().parent
SWEEP_FILE = HERE / "budget_ldn.toml"
EXAMPLE_REGION = HERE.parent / "data" / "example_region.gpkg"

#: The use whose break-even question 1 asks, and the coefficient it asks about.
USE, CAPEX = "agrivoltaic", "capex_usd_mwp"

#: The re-solves of question 1 move the capital cost this far past its break-even, and this far short of it.
PAST, SHORT = 1.02, 0.98

#: Question 2's finite difference: ldn_target (a share of the area) moves by this much either way.
LDN_STEP = 1e-5

#: ... and the budget by this share of itself, to say what an objective difference is worth in USD.
BUDGET_STEP = 1e-5


@dataclass
class Questions:
    """Where questions 1–3 are asked: the region, the scenario (the sweep's base at one budget), the folder."""

    region: Region
    scenario: Scenario
    folder: Path

    def solve(self, name: str, scenario: Scenario | None = None, catalogue: Path | None = None) -> Plan:
        """Solve and write the plan as ``folder/<name>.gpkg``."""
        return solve_region(self.region, self.folder / f"{name}.gpkg", scenario=scenario or self.scenario,
                            catalogue=catalogue)

    def objective(self, **changes: float) -> float:
        """The objective of the scenario changed so, not written (a finite difference's point)."""
        return solve_region(self.region, scenario=self.scenario.replace(**changes), explain=False).objective


def musd(value: float) -> str:
    return f"USD {value / 1e6:,.0f} M"


def use_area_ha(plan: Plan, use: str) -> float:
    """The area under one use [ha]."""
    return float(plan.kpis[f"area_{use}_ha"])


def question_budget(rows: pd.DataFrame) -> float:
    """The sweep's budget whose plan, at the loosest LDN target, serves closest to half the households the
    sweep's best plan serves there."""
    loose = rows[(rows["ldn_target"] == rows["ldn_target"].min()) & (rows["status"] == "optimal")]
    if loose.empty:
        raise SystemExit("no plan of the sweep at its loosest LDN target: give --budget")
    half = 0.5 * float(loose["households_served"].max())
    return float(loose.loc[(loose["households_served"] - half).abs().idxmin(), "budget_usd"])


def catalogue_with(folder: Path, use: str, coefficient: str, value: float) -> Path:
    """A copy of the default catalogue with one use's coefficient (a plain number) set to ``value``."""
    text = default_catalogue_path().read_text(encoding="utf-8")
    start = text.index(f"[uses.{use}]")
    end = text.index("[uses.", start + 1)
    section, count = re.subn(rf"^{coefficient} = .*$", f"{coefficient} = {value!r}", text[start:end], flags=re.M)
    if count != 1:
        raise SystemExit(f"the catalogue has no single line '{coefficient} = ...' for {use}")
    path = folder / f"landuses_{use}_{coefficient}_{value:.0f}.toml"
    path.write_text(text[:start] + section + text[end:], encoding="utf-8")
    if getattr(load_catalogue(path).use(use), coefficient) != value:
        raise SystemExit(f"{path}: {use}'s {coefficient} did not read back as {value!r}")
    return path


def break_even_answer(q: Questions, plan: Plan) -> list[str]:
    """The capital cost at which agrivoltaics takes land, checked by re-solving just past and just short of it."""
    at = f"at {musd(q.scenario.budget_usd)}"
    if USE not in plan.break_even:
        return [f"  {at} agrivoltaics already pays: the plan gives it {use_area_ha(plan, USE):,.0f} ha"]
    change = plan.break_even[USE][CAPEX]
    retention = plan.break_even[USE]["retention"]
    cost = plan.catalogue.use(USE).capex_usd_mwp
    if change is None:
        return [f"  {at} no cut of agrivoltaics' capital cost alone makes it pay"]
    if change == 0.0:
        return [f"  {at} an equally good plan already gives agrivoltaics land: it is at its break-even"]
    lines = [f"  {at} agrivoltaics takes land once its capital cost {'falls' if change < 0 else 'rises'} by "
             f"{abs(change):.1%}: from USD {cost:,.0f}/MWp to USD {cost * (1 + change):,.0f}/MWp "
             f"(utility solar: USD {plan.catalogue.use('solar').capex_usd_mwp:,.0f}/MWp; in this plan agrivoltaics "
             f"has {use_area_ha(plan, USE):,.1f} ha)"]
    areas = {}
    for margin in (PAST, SHORT):
        value = cost * (1 + margin * change)
        resolved = q.solve(f"{USE}_capex_{margin:g}", catalogue=catalogue_with(q.folder, USE, CAPEX, value))
        areas[margin] = (value, use_area_ha(resolved, USE))
    (past_usd, past_ha), (short_usd, short_ha) = areas[PAST], areas[SHORT]
    lines.append(f"  re-solved with a copied catalogue: at USD {past_usd:,.0f}/MWp (a change of {PAST * change:+.1%}) "
                 f"agrivoltaics takes {past_ha:,.1f} ha; at USD {short_usd:,.0f}/MWp "
                 f"(a change of {SHORT * change:+.1%}) "
                 f"it takes {short_ha:,.1f} ha")
    if retention is not None and abs(retention) <= 1.0:
        lines.append(f"  or, at today's cost, once the harvest under its panels changes by {retention:+.1%}")
    elif retention is not None:
        lines.append(f"  no plausible harvest under its panels would do it at today's cost (it would take "
                     f"a change of {retention:+,.0%})")
    return lines


def ldn_price_answer(q: Questions, stable: Plan) -> list[str]:
    """LDN's shadow prices in USD of budget per ha under ldn_baseline = "persist", checked by moving ldn_target."""
    persist = q.scenario.replace(ldn_baseline="persist")
    try:
        plan = q.solve("ldn_persist", persist)
    except InfeasibleError as error:
        return [f"  under ldn_baseline = persist no plan meets LDN at {musd(persist.budget_usd)}: "
                f"{str(error).splitlines()[0]}"]
    lines = [f"  under ldn_baseline = persist (degraded land left alone is a loss) the plan at "
             f"{musd(persist.budget_usd)} restores {plan.kpis['restored_ha']:,.0f} ha and serves "
             f"{plan.kpis['households_served']:,.0f} households ({stable.kpis['households_served']:,.0f} under "
             f"stable, restoring {stable.kpis['restored_ha']:,.0f} ha)"]
    groups = ldn_groups(plan.coef, persist)
    prices = {p["name"]: p for p in planner_prices(plan)}
    if not groups.names or prices["budget"]["households"] is None or not any(
            prices[f"ldn_{name}"]["usd"] for name in groups.names):
        lines.append("  LDN does not bind there, or the budget does not: LDN costs nothing at the margin")
        return lines
    for name in groups.names:
        lines.append(f"  each ha of net LDN gain required ({name}) costs USD {prices[f'ldn_{name}']['usd']:,.0f} "
                     f"of budget, or {prices[f'ldn_{name}']['households']:.3g} households of access")
    area_ha = float(np.sum(groups.area_ha))
    mean_usd = sum(prices[f"ldn_{n}"]["usd"] * a for n, a in zip(groups.names, groups.area_ha)) / area_ha
    relaxed, tightened = ldn_slopes_usd_ha(Questions(q.region, persist, q.folder), plan.objective, area_ha)
    held = min(relaxed, tightened) * (1 - 1e-6) <= mean_usd <= max(relaxed, tightened) * (1 + 1e-6)
    lines.append(f"  checked by re-solving with ldn_target ± {LDN_STEP:g} (± {LDN_STEP * area_ha:,.2f} ha of net "
                 f"gain): the objective moves by what USD {relaxed:,.0f} (relaxed) and USD {tightened:,.0f} "
                 f"(tightened) of budget per ha would buy; the price, USD {mean_usd:,.0f}/ha over the LDN area, "
                 + ("lies between them" if held else "lies outside them: the optimum is degenerate there"))
    restoration = plan.catalogue.use("restoration").capex_usd_ha
    lines.append(f"  (restoration costs USD {restoration:,.0f}/ha in the catalogue)")
    return lines


def ldn_slopes_usd_ha(q: Questions, objective: float, area_ha: float) -> tuple[float, float]:
    """The objective per ha of net LDN gain, relaxed and tightened by LDN_STEP, in USD of budget: divided by
    the objective per USD that a budget step of BUDGET_STEP gives either way (their mean)."""
    target, budget = q.scenario.ldn_target, q.scenario.budget_usd
    step_ha, step_usd = LDN_STEP * area_ha, BUDGET_STEP * budget
    relaxed = (q.objective(ldn_target=target - LDN_STEP) - objective) / step_ha
    tightened = (objective - q.objective(ldn_target=target + LDN_STEP)) / step_ha
    per_usd = (q.objective(budget_usd=budget + step_usd) - q.objective(budget_usd=budget - step_usd)) / (2 * step_usd)
    return relaxed / per_usd, tightened / per_usd


def fairness_answer(q: Questions, fair: Plan, floor: float) -> list[str]:
    """Households served, in total and in the worst-served community, without and with the fairness floor."""
    try:
        floored = q.solve(f"floor_{floor:g}", q.scenario.replace(min_access_share=floor))
    except InfeasibleError as error:
        return [f"  a floor of {floor:.0%} cannot be met at {musd(q.scenario.budget_usd)}: "
                f"{str(error).splitlines()[0]}"]
    held = access_floor(floored.coef, floored.scenario).community
    if held.size == 0:
        return ["  no community has demand that its parcels could serve: the floor holds for none"]
    lines = []
    for plan in (fair, floored):
        label = f"min_access_share = {plan.scenario.min_access_share:g}"
        communities = plan.community_values().iloc[held]
        worst = communities.loc[communities["access_share"].idxmin()]
        lines.append(f"  {label}: {plan.kpis['households_served']:,.0f} households served "
                     f"({plan.kpis['served_mwh']:,.0f} MWh/yr); worst served {worst['community_id']}, "
                     f"{worst['households_served']:,.0f} of {worst['unserved_households']:,.0f} households "
                     f"({worst['access_share']:.0%} of its demand)")
    # households are whole: the difference of the totals as printed
    difference = round(floored.kpis["households_served"]) - round(fair.kpis["households_served"])
    binding = sum(1 for s in floored.shadow_prices if s["name"].startswith("min_access_") and s["value"] > 0)
    lines.append(f"  guaranteeing every community {floor:.0%} of its demand "
                 + (f"costs {-difference:,.0f} households of access elsewhere" if difference < 0 else
                    f"serves {difference:,.0f} more households" if difference > 0 else
                    "changes no household's access")
                 + f" ({binding} communities held at the floor)")
    left_out = access_floor(floored.coef, floored.scenario).left_out
    if left_out.size:
        ids = ", ".join(floored.community_values()["community_id"].iloc[left_out])
        lines.append(f"  left out of the floor: {ids} (no parcel of theirs can carry PV)")
    lines += shift_answer(fair, floored)
    return lines


def shift_answer(fair: Plan, floored: Plan) -> list[str]:
    """Where the floor moves supply: the household demand of the communities that gain and of those that lose."""
    before, after = fair.community_values(), floored.community_values()
    moved = after["served_mwh"].to_numpy() - before["served_mwh"].to_numpy()
    kwh = before["household_kwh_yr"].to_numpy()
    gain, loss = moved > 1e-6, moved < -1e-6
    if not gain.any() or not loss.any():
        return []
    gain_kwh, loss_kwh = np.average(kwh[gain], weights=moved[gain]), np.average(kwh[loss], weights=-moved[loss])
    return [f"  the floor moves {moved[gain].sum():,.0f} MWh/yr to {int(gain.sum())} communities (households of "
            f"{gain_kwh:,.0f} kWh/yr on average) from {int(loss.sum())} (of {loss_kwh:,.0f} kWh/yr); access, the "
            f"share of the unserved demand met, goes from {fair.kpis['access']:.1%} to {floored.kpis['access']:.1%}"]


def ldn_answer(rows: pd.DataFrame) -> list[str]:
    """Households lost to each stricter LDN target, and the budget below which it cannot be met."""
    lines = []
    solved = rows[rows["status"] == "optimal"]
    served = solved.pivot_table(index="budget_usd", columns="ldn_target", values="households_served")
    targets = sorted(rows["ldn_target"].unique())
    loose = targets[0]
    for target in targets[1:]:
        infeasible = rows[(rows["ldn_target"] == target) & (rows["status"] == "infeasible")]["budget_usd"]
        both = served[[loose, target]].dropna() if target in served and loose in served else pd.DataFrame()
        if both.empty:
            lines.append(f"  ldn_target {target:g}: no budget in the sweep can meet it")
            continue
        loss = both[loose] - both[target]
        worst = float(loss.idxmax())
        text = (f"  ldn_target {target:g} instead of {loose:g}: {loss.max():,.0f} fewer households served at "
                f"{musd(worst)} (the largest loss), {loss.min():,.0f} at best")
        if len(infeasible):
            text += f"; cannot be met with {musd(float(infeasible.max()))} or less"
        lines.append(text)
    return lines


def agrivoltaics_answer(rows: pd.DataFrame) -> list[str]:
    """The smallest budget at which agrivoltaics enters the plan, at the loosest LDN target."""
    loose = rows[(rows["ldn_target"] == rows["ldn_target"].min()) & (rows["status"] == "optimal")]
    loose = loose.sort_values("budget_usd")
    if loose.empty:
        return ["  no plan at the loosest LDN target"]
    with_agrivoltaics = loose[loose["area_agrivoltaic_ha"] > 1.0]
    lines = []
    if with_agrivoltaics.empty:
        lines.append(f"  no plan up to {musd(float(loose['budget_usd'].max()))} uses agrivoltaics: "
                     "utility solar, grazing and restoration give more for the money")
    else:
        first = with_agrivoltaics.iloc[0]
        before = loose[loose["budget_usd"] < first["budget_usd"]]
        lines.append(f"  agrivoltaics enters the plan at {musd(float(first['budget_usd']))} "
                     f"({first['area_agrivoltaic_ha']:,.0f} ha)"
                     + (f"; at {musd(float(before['budget_usd'].max()))} it had none" if len(before) else ""))
    if "shadow_budget" in loose:
        price = loose[["budget_usd", "shadow_budget", "households_served", "access"]].dropna()
        first = float(price["shadow_budget"].iloc[0]) if len(price) else 0.0
        cheaper = price[price["shadow_budget"] < 0.5 * first] if first > 0 else price.iloc[:0]
        if len(cheaper):
            at = cheaper.iloc[0]
            lowest = musd(float(price["budget_usd"].iloc[0]))
            lines.append(f"  an extra USD 1 M is worth {first:.3g} (objective) at {lowest} but only "
                         f"{at['shadow_budget']:.3g} from {musd(float(at['budget_usd']))}: by then "
                         f"{at['households_served']:,.0f} households ({at['access']:.0%} of the unserved demand) "
                         "are served")
        elif len(price) >= 2:
            lines.append(f"  an extra USD 1 M is worth about {first:.3g} (objective) across the whole range: "
                         "the budget binds everywhere")
    return lines


def knee_answer(front: ParetoFront) -> list[str]:
    """Where the energy-food front bends, and how steeply food is given up on either side."""
    points = front.points
    if len(points) < 2:
        return ["  one plan is best for both energy and food: there is no trade-off"]
    rate = points[f"rate_{front.maximise}_per_{front.against}"]
    best_energy, best_food = points.iloc[0], points.iloc[-1]
    lines = [f"  energy runs from {best_energy['energy']:.1%} (harvest {best_energy['productivity']:.2%} of "
             f"today's) to {best_food['energy']:.1%} (harvest {best_food['productivity']:.2%})"]
    if front.knee is None:
        lines.append("  the front has no marked knee: energy and food trade at a nearly steady rate")
        return lines
    knee = points.iloc[front.knee]
    before = rate.iloc[:front.knee].dropna()
    after = rate.iloc[front.knee:].dropna()
    lines.append(f"  the knee: energy {knee['energy']:.1%} with harvest {knee['productivity']:.2%} of today's")
    if len(before) and len(after):
        lines.append(f"  from the best-energy plan to the knee, each point of harvest regained costs "
                     f"{before.mean():.3g} points of energy; beyond the knee, {after.mean():.3g}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("region", nargs="?", default=str(EXAMPLE_REGION), help="region GeoPackage")
    parser.add_argument("-o", "--output", default="planner_questions", help="folder for the results")
    parser.add_argument("--sweep", default=str(SWEEP_FILE), help="sweep file with budget_usd × ldn_target")
    parser.add_argument("--budget", type=float, default=None,
                        help="budget [USD] of questions 1–3 [default: chosen from the sweep, see above]")
    parser.add_argument("--floor", type=float, default=0.5, help="fairness floor of question 3 (min_access_share)")
    parser.add_argument("--workers", type=int, default=None, help="local processes [default: one per core]")
    parser.add_argument("--points", type=int, default=11, help="points on the energy-food front")
    parser.add_argument("--no-plots", action="store_true", help="skip the sweep's PNG plots")
    args = parser.parse_args(argv)

    out = Path(args.output)
    out.mkdir(exist_ok=True)
    spec = read_sweep(args.sweep)
    with open_executor(args.workers, plots=not args.no_plots) as executor:
        sweep = run_sweep(args.region, spec, executor, output=out / "sweep", plots=not args.no_plots,
                          log=lambda text: print(text, file=sys.stderr))
        front = run_pareto(args.region, "energy", "productivity", args.points, executor,
                           scenario=spec.base, output=out / "front",
                           log=lambda text: print(text, file=sys.stderr))
    rows = sweep.rows
    budget = args.budget if args.budget is not None else question_budget(rows)
    (out / "questions").mkdir(exist_ok=True)
    q = Questions(read_region(args.region), spec.base.replace(budget_usd=budget), out / "questions")
    plan = q.solve("plan")
    counts = ", ".join(f"{n} {status}" for status, n in sweep.counts().items())
    print(f"{len(rows)} scenarios ({counts}); results in {out / 'sweep'}, front in {out / 'front'}; "
          f"questions 1–3 at {musd(budget)} ({plan.kpis['households_served']:,.0f} households served), "
          f"plans in {q.folder}")
    print("\n1. When does agrivoltaics pay?")
    print("\n".join(break_even_answer(q, plan) + agrivoltaics_answer(rows)))
    print("\n2. What does LDN cost per hectare?")
    print("\n".join(ldn_price_answer(q, plan) + ldn_answer(rows)))
    print("\n3. What does the fairness floor cost in households?")
    print("\n".join(fairness_answer(q, plan, args.floor)))
    print("\n4. Where is the knee between energy and food?")
    print("\n".join(knee_answer(front)))
    return 0 if not math.isnan(float(rows["objective"].max())) else 1


if __name__ == "__main__":
    sys.exit(main())
