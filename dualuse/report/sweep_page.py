"""The HTML page of a sweep or Pareto report: how many scenarios and with what outcome, what was varied, the
charts against each varied parameter, the fronts with their points, and the table of scenarios.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from dualuse.report.columns import (
    classify_columns,
    column_label,
    front_columns,
    header_label,
    scenario_columns,
)
from dualuse.report.figure import Figure
from dualuse.report.numbers import format_short
from dualuse.report.page import (
    cards_html,
    escape,
    figure_html,
    frame_table_html,
    page_html,
)
from dualuse.report.read import PARALLEL_PNG, PLAN_STATUSES, SweepFolder


def sweep_html(sweep: SweepFolder, figures: list[Figure], stem: str, extra: Sequence[str] = ()) -> str:
    """The sweep report as one HTML page.

    Parameters
    ----------
    sweep : SweepFolder — the folder read
    figures : list of Figure — the charts of :func:`~dualuse.report.charts.sweep_figures`
    stem : str — the stem of the PNG files beside the page
    extra : more sections, before the table of scenarios (what the plans agree on)
    """
    title = report_title(sweep)
    parts = [f"<header><h1>{escape(title)}</h1>"
             f'<p class="sub">{escape(sweep.table_source or str(sweep.path))}</p></header>']
    if sweep.table is not None:
        parts += _overview(sweep.table, sweep.units)
    if figures:
        parts.append("<h2>Indicators against the varied parameters</h2>")
        for figure in figures:
            parts.append(figure_html(figure, figure.title,
                                     escape(figure.title) + ". Only scenarios with a plan are drawn.",
                                     f"{stem}_{figure.name}.png"))
    if sweep.fronts:
        parts += _fronts(sweep)
    parts += list(extra)
    if sweep.table is not None:
        parts += _scenarios(sweep.table, sweep.table_source, sweep.units)
    return page_html(title, "\n".join(parts), landscape=sweep.table is not None)


def report_title(sweep: SweepFolder) -> str:
    """What the page is: a policy sweep, a trade-off (Pareto) front between two named indicators, or both."""
    traded = ""
    for _, points in sweep.fronts:
        if points is not None and len(points) and {"maximise", "against"} <= set(points.columns):
            maximise, against = (column_label(str(points[c].iloc[0]), sweep.units).split(" [")[0]
                                 for c in ("maximise", "against"))
            traded = f" of {maximise.lower()} against {against.lower()}"
            break
    if sweep.table is None and sweep.fronts:
        kind = "Trade-off front" + traded if len(sweep.fronts) == 1 else "Trade-off fronts"
    elif sweep.fronts:
        kind = "Policy sweep and trade-off fronts"
    else:
        kind = "Policy sweep"
    return f"{kind}: {sweep.path.name}"


def _overview(table: pd.DataFrame, units: dict[str, str]) -> list[str]:
    """Cards counting the scenarios per status, and the values each varied parameter takes."""
    columns = classify_columns(table)
    statuses = table["status"].astype(str).value_counts() if "status" in table else pd.Series(dtype=int)
    cards = [("", f"{len(table):,}", "scenarios")]
    cards += [("ok" if s in PLAN_STATUSES else "bad", f"{n:,}", s) for s, n in statuses.items()]
    varied = columns["varied"] + columns["categorical"]
    if varied:
        text = "<p>Varied: " + "; ".join(
            f"{escape(column_label(c, units))} (<code>{escape(c)}</code>) over "
            f"{escape(', '.join(format_short(v) for v in sorted(table[c].dropna().unique())))}"
            for c in varied) + ".</p>"
    else:
        text = ('<p class="note">No scenario parameter varies between the rows: there is nothing to plot '
                "against.</p>")
    return [cards_html(cards), text]


def _fronts(sweep: SweepFolder) -> list[str]:
    """Each Pareto front as its PNG (and, for a front in three or more KPIs, its parallel coordinates beside),
    with the table of its points."""
    parts = ["<h2>Trade-off (Pareto) fronts</h2>"]
    for png, points in sweep.fronts:
        several = points is not None and "kpis" in points.columns and len(points) > 0
        if several:
            parts += _front_in_several(sweep, png, points)
            continue
        front = Figure("front", f"Pareto front ({png.parent.name})", png.read_bytes())
        parts.append(figure_html(front, front.title, "Every point is a plan that no other plan beats on both "
                                                     "indicators.", str(png.relative_to(sweep.path)),
                                 print_size=False))
        if points is not None and len(points):
            shown = front_columns(points)
            parts.append(frame_table_html(points[shown], status=True,
                                          headers={c: header_label(c, sweep.units) for c in shown}))
    return parts


def _front_in_several(sweep: SweepFolder, png: Path, points: pd.DataFrame) -> list[str]:
    """A front in three or more KPIs: the matrix of its two-KPI projections, its parallel coordinates, a
    sentence on its knee, and its points."""
    kpis = str(points["kpis"].iloc[0]).split(",")
    names = ", ".join(f"<code>{escape(k)}</code>" for k in kpis)
    parts = [f"<p>{len(points):,} plans that no other plan beats on all of {names} ({escape(kpis[0])} "
             f"optimised, the others held at ε on a grid).</p>"]
    matrix = Figure("front", f"Pareto front ({png.parent.name}): two KPIs at a time", png.read_bytes())
    parts.append(figure_html(matrix, matrix.title, "Each panel is the front seen from two of its KPIs (colour: "
                             f"{escape(kpis[0])}); the star is the knee.", str(png.relative_to(sweep.path)),
                             print_size=False))
    parallel_png = png.parent / PARALLEL_PNG
    if parallel_png.is_file():
        parallel = Figure("front_parallel", f"Pareto front ({png.parent.name}): parallel coordinates",
                          parallel_png.read_bytes())
        parts.append(figure_html(parallel, parallel.title, "One line per plan; each axis runs from the front's "
                                 "worst (bottom) to its best (top); the knee in red.",
                                 str(parallel_png.relative_to(sweep.path)), print_size=False))
    knee = points[points["knee"].astype(bool)] if "knee" in points else points.iloc[0:0]
    if len(knee):
        row = knee.iloc[0]
        values = "; ".join(f"{escape(k)} {format_short(row[k])}" for k in kpis)
        parts.append(f"<p>The knee (point {int(row['point'])}: {values}) is the plan farthest beyond the "
                     "hyperplane through the front's extremes, every KPI scaled to [0, 1] over the front: the one "
                     "that gains most over a straight trade-off between the ends.</p>")
    else:
        parts.append('<p class="note">The front has no knee: no plan stands out from a straight trade-off '
                     "between its ends.</p>")
    shown = front_columns(points)
    parts.append(frame_table_html(points[shown], status=True,
                                  headers={c: header_label(c, sweep.units) for c in shown}))
    return parts


def _scenarios(table: pd.DataFrame, table_source: str, units: dict[str, str]) -> list[str]:
    """The table of scenarios (the columns a reader needs, headed by their labels with units; the file has
    the rest) and the message of each scenario that has one."""
    shown = scenario_columns(table)
    parts = ["<h2>Scenarios</h2>", frame_table_html(table[shown], status=True,
                                                    headers={c: header_label(c, units) for c in shown})]
    if len(shown) < len(table.columns):
        parts.append(f'<p class="note">{len(table.columns) - len(shown)} more columns (every KPI and the '
                     f"scenario of each row) are in {escape(Path(table_source.split(' ')[0]).name)}.</p>")
    if "message" in table:
        failed = table[table["message"].notna() & (table["message"].astype(str).str.strip() != "")]
        if len(failed):
            parts.append("<h3>Messages</h3><ul class=\"sentences\">" + "".join(
                f"<li><b>{escape(r.get('name', r.get('id', '')))}</b> ({escape(r.get('status', ''))}): "
                f"{escape(r['message'])}</li>" for _, r in failed.iterrows()) + "</ul>")
    return parts
