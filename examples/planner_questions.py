"""Three questions a planner asks of a region, answered from a sweep and a trade-off front.

    python examples/planner_questions.py                      # the bundled example region
    python examples/planner_questions.py REGION.gpkg -o OUT --workers 2 --points 11

1. What does a stricter LDN target cost in households served?
2. How much budget before agrivoltaics pays?
   (both from the sweep examples/budget_ldn.toml: 10 budgets × 5 LDN targets)
3. Where is the knee between energy and food?
   (the front of energy against productivity, by the ε-constraint method)

Every sentence printed is computed from the results written under OUT.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import pandas as pd

from dualuse.studies.pareto import ParetoFront, run_pareto
from dualuse.studies.executor import open_executor
from dualuse.studies.spec import read_sweep
from dualuse.studies.sweep import run_sweep

HERE = Path(__file__).resolve().parent
SWEEP_FILE = HERE / "budget_ldn.toml"
EXAMPLE_REGION = HERE.parent / "data" / "example_region.gpkg"


def musd(value: float) -> str:
    return f"USD {value / 1e6:,.0f} M"


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
    counts = ", ".join(f"{n} {status}" for status, n in sweep.counts().items())
    print(f"{len(rows)} scenarios ({counts}); results in {out / 'sweep'}, front in {out / 'front'}")
    print("\n1. What does a stricter LDN target cost in households served?")
    print("\n".join(ldn_answer(rows)))
    print("\n2. How much budget before agrivoltaics pays?")
    print("\n".join(agrivoltaics_answer(rows)))
    print("\n3. Where is the knee between energy and food?")
    print("\n".join(knee_answer(front)))
    return 0 if not math.isnan(float(rows["objective"].max())) else 1


if __name__ == "__main__":
    sys.exit(main())
