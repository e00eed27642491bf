"""The report's drought section: the harvest in the normal year and each drought year, robust and nominal plans.

Read from the plan file's ``drought_years`` table and its summary rows
(``drought_harvest_ratio``, ``price_of_robustness`` …) only.
"""

from __future__ import annotations

import math
import matplotlib
import numpy as np
import pandas as pd
import pyogrio
from matplotlib.figure import Figure as MplFigure

from dualuse.report.figure import GRID, LOSS, PLAN, STYLE, TODAY, Figure, render
from dualuse.report.numbers import format_number
from dualuse.report.page import escape, figure_html, table_html
from dualuse.report.read import PlanFile
from dualuse.vocabulary import DROUGHT_YEARS_TABLE

#: The colour of the nominal plan's bars.
NOMINAL = "#9ecae1"


def read_drought_years(pf: PlanFile) -> pd.DataFrame | None:
    """The plan file's ``drought_years`` table when the run held a drought floor (the nominal plan beside the
    robust one), else None: the report's drought section is about the price of robustness."""
    if not float(pf.scenario.get("drought_food_floor", 0.0) or 0.0) > 0:
        return None
    if DROUGHT_YEARS_TABLE not in [str(n) for n in pyogrio.list_layers(pf.path)[:, 0]]:
        return None
    years = pd.DataFrame(pyogrio.read_dataframe(pf.path, layer=DROUGHT_YEARS_TABLE, read_geometry=False))
    return years if "nominal_harvest_t" in years.columns else None


def harvest_by_year(pf: PlanFile, years: pd.DataFrame) -> pd.DataFrame:
    """The chart's values: per year (``normal`` first), today's harvest, the plan's and the nominal plan's [t]."""
    nominal_normal = pf.kpi("price_of_robustness_productivity_t", "baseline")
    frame = pd.DataFrame({"year": ["normal year", *years["scenario"].astype(str)],
                          "today_t": [pf.kpi("productivity_t", "baseline"), *years["today_harvest_t"]],
                          "plan_t": [pf.kpi("productivity_t"), *years["plan_harvest_t"]],
                          "floor_t": [pf.kpi("productivity_t", "baseline") * float(pf.scenario.get("food_floor",
                                                                                                     math.nan)),
                                      *years["floor_t"]]})
    if "nominal_harvest_t" in years.columns:
        frame["nominal_t"] = [nominal_normal, *years["nominal_harvest_t"]]
    return frame


def drought_chart(pf: PlanFile, years: pd.DataFrame) -> Figure:
    """Harvest per year: today's land uses (grey), the nominal plan (light blue, when a drought floor was held)
    and the plan (blue), with each year's floor as a red tick."""
    values = harvest_by_year(pf, years)
    has_nominal = "nominal_t" in values.columns
    series = [("today_t", "Today's land uses", TODAY)] + ([("nominal_t", "Plan without the drought floor",
                                                            NOMINAL)] if has_nominal else []) \
        + [("plan_t", "The plan", PLAN)]
    n, k = len(values), len(series)
    x = np.arange(n)
    width = 0.8 / k
    with matplotlib.rc_context(STYLE):
        fig = MplFigure(figsize=(10.5, 3.8))
        ax = fig.add_axes((0.08, 0.22, 0.9, 0.64))
        for j, (column, label, colour) in enumerate(series):
            ax.bar(x + (j - (k - 1) / 2) * width, values[column].to_numpy(float), width=width * 0.95, color=colour,
                   label=label, zorder=2)
        floors = values["floor_t"].to_numpy(float)
        ax.scatter(x, floors, marker="_", s=900, color=LOSS, zorder=3, label="Food floor of the year")
        ax.set_xticks(x, values["year"].tolist())
        ax.set_ylabel("Harvest [t DM/yr]")
        ax.grid(axis="y", color=GRID, linewidth=0.6, zorder=0)
        ax.tick_params(axis="x", length=0)
        title = "Harvest in the normal year and in each drought year"
        fig.suptitle(title, x=0.01, y=0.98, ha="left", va="top", fontsize=12, fontweight="bold")
        fig.legend(loc="lower center", ncols=k + 1, fontsize=8.5, bbox_to_anchor=(0.5, 0.0))
        png = render(fig)
    return Figure("drought", title, png, legend=[label for _, label, _ in series] + ["Food floor of the year"],
                  data={column: values[column].to_numpy(float) for column, _, _ in series})


def drought_section(pf: PlanFile, years: pd.DataFrame, figure: Figure, stem: str) -> str:
    """The drought section: how the floor was held, the price of robustness, the chart and the table."""
    scenario = pf.scenario
    floor = float(scenario.get("drought_food_floor", 0.0) or 0.0)
    scope = str(scenario.get("drought_scope", "every_scenario"))
    held = (f"The plan holds a drought food floor of {floor:.0%} of the harvest that today's land uses give in "
            f"the same year ({_scope_words(scope, scenario)}); the held measure is "
            f"{pf.kpi('drought_harvest_ratio'):.1%}, against {pf.kpi('nominal_drought_harvest_ratio'):.1%} "
            f"for the plan solved without it. Holding it gives up {format_number(pf.kpi('price_of_robustness'))} "
            f"of objective in the normal year (the nominal optimum is "
            f"{format_number(pf.kpi('price_of_robustness', 'baseline'))}). <code>dualuse stress</code> gives the "
            "same per community.")
    rows = [[escape(r.scenario), format_number(r.probability, True), format_number(r.today_harvest_t, digits=0),
             format_number(r.plan_harvest_t, digits=0), format_number(r.plan_harvest_ratio, True),
             format_number(r.nominal_harvest_t, digits=0), format_number(r.nominal_shortfall_t, digits=0)]
            for r in years.itertuples()]
    table = table_html([("Drought year", False), ("Probability", True), ("Harvest today [t]", True),
                        ("Plan [t]", True), ("Plan / today", True), ("Nominal plan [t]", True),
                        ("Nominal shortfall [t]", True)], rows)
    return "\n".join([
        "<h2>Drought years</h2>", f"<p>{held}</p>",
        figure_html(figure, "Harvest per year, nominal and robust plans",
                    "Grey: today's land uses in that year; light blue: the plan solved without the drought floor; "
                    "blue: this plan; red ticks: the year's food floor.", f"{stem}_drought.png"),
        table])


def _scope_words(scope: str, scenario: dict[str, object]) -> str:
    if scope == "expected":
        return "on the probability-weighted mean over the drought years"
    if scope == "cvar":
        alpha = float(scenario.get("cvar_alpha", math.nan))  # type: ignore[arg-type]
        return f"on the mean of the worst {alpha:.0%} of the drought years' probability"
    return "in every drought year"
