"""The HTML report of a plan or of a sweep: read the files, draw the figures, build the page, write them.

``dualuse report PLAN.gpkg`` writes one self-contained HTML file (every image
embedded as a base64 PNG, no script, no network) and the same figures as PNG
files beside it.  ``dualuse report RESULTS_DIR`` does the same for a sweep:
each KPI against each varied parameter, the Pareto front where there is one,
and the table of scenarios.

The report reads plan and sweep files only: it is downstream of
:mod:`dualuse.export.gpkg` and never builds or solves a model.  Each file is
written atomically (:func:`dualuse.files.atomic_write`), the figures first and
the HTML last, so that a report cut short never has a new page without its
figures.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from dualuse.errors import OutputError
from dualuse.files import atomic_write
from dualuse.report.charts import access_chart, kpi_chart, ldn_chart, sweep_figures
from dualuse.report.figure import Figure
from dualuse.report.livelihoods import has_livelihoods, income_change_map, livelihood_table
from dualuse.report.maps import land_use_map
from dualuse.report.no_regret_page import (
    PORTFOLIO_CSV,
    folder_no_regret,
    no_regret_figures,
    no_regret_parts,
    portfolio_html,
    read_portfolio_table,
)
from dualuse.report.numbers import access_table, area_by_use_ha, ldn_balance
from dualuse.report.drought import drought_chart, read_drought_years
from dualuse.report.plan_page import plan_html
from dualuse.report.read import PlanFile, read_plan_file, read_sweep_folder
from dualuse.report.sweep_page import sweep_html


@dataclass
class Report:
    """A written report: the HTML file, the PNG files beside it, and what went into it."""

    html: Path
    pngs: list[Path]
    figures: list[Figure]
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def write_report(source: str | os.PathLike[str], output: str | os.PathLike[str] | None = None) -> Report:
    """Write the report of a plan file or of a sweep results folder.

    Parameters
    ----------
    source : path — a plan GeoPackage (``dualuse solve``) or a folder of sweep or Pareto results
    output : path, optional — the HTML file; default ``<plan>.html`` beside the plan, or
      ``<folder>/report.html``

    Returns
    -------
    Report
    """
    source = Path(source)
    if source.is_dir() and (source / PORTFOLIO_CSV).is_file():
        return write_portfolio_report(source, output)
    if source.is_dir():
        return write_sweep_report(source, output)
    return write_plan_report(source, output)


def write_plan_report(plan_path: str | os.PathLike[str], output: str | os.PathLike[str] | None = None) -> Report:
    """Read a plan file and write its HTML report and PNG figures (see :func:`write_report`)."""
    plan_path = Path(plan_path)
    out = check_report_path(output if output is not None else plan_path.with_suffix(".html"))
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    pf = read_plan_file(plan_path)
    seconds["read_s"] = time.perf_counter() - t
    ldn, ldn_notes = ldn_balance(pf.plan, pf.scenario)
    figures = plan_figures(pf, ldn, seconds)
    t = time.perf_counter()
    page = plan_html(pf, figures, ldn, ldn_notes)
    seconds["html_s"] = time.perf_counter() - t
    t = time.perf_counter()
    pngs = write_files(out, figures, page)
    seconds["write_s"] = time.perf_counter() - t
    return Report(out, pngs, figures, seconds)


def write_sweep_report(folder: str | os.PathLike[str], output: str | os.PathLike[str] | None = None) -> Report:
    """Read a sweep or Pareto results folder and write its HTML report and PNG figures."""
    folder = Path(folder)
    out = check_report_path(output if output is not None else folder / "report.html")
    t = time.perf_counter()
    sweep = read_sweep_folder(folder)
    figures = sweep_figures(sweep)
    agreement = folder_no_regret(folder)
    maps = no_regret_figures(agreement) if agreement is not None else []
    extra = no_regret_parts(agreement, maps, out.stem) if agreement is not None else []
    page = sweep_html(sweep, figures, out.stem, extra)
    pngs = write_files(out, figures + maps, page)
    return Report(out, pngs, figures + maps, {"total_s": time.perf_counter() - t})


def write_portfolio_report(folder: str | os.PathLike[str], output: str | os.PathLike[str] | None = None) -> Report:
    """Read a portfolio folder and write its HTML report: the plans, their gaps, and the no-regret maps."""
    folder = Path(folder)
    out = check_report_path(output if output is not None else folder / "report.html")
    t = time.perf_counter()
    table = read_portfolio_table(folder)
    agreement = folder_no_regret(folder)
    maps = no_regret_figures(agreement) if agreement is not None else []
    page = portfolio_html(folder, table, agreement, maps, out.stem)
    pngs = write_files(out, maps, page)
    return Report(out, pngs, maps, {"total_s": time.perf_counter() - t})


def check_report_path(output: str | os.PathLike[str]) -> Path:
    """Refuse an output that cannot be written, before any work."""
    out = Path(output)
    if out.suffix.lower() not in (".html", ".htm"):
        raise OutputError(f"output {out}: the name must end in .html")
    if out.is_dir():
        raise OutputError(f"output {out} is a folder; give a file name ending in .html")
    folder = out.resolve().parent
    if not folder.is_dir():
        raise OutputError(f"output folder {folder} does not exist; create it or choose another -o PATH")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"output folder {folder} is not writable; choose another -o PATH")
    return out


def plan_figures(pf: PlanFile, ldn: pd.DataFrame, seconds: dict[str, float] | None = None) -> list[Figure]:
    """Every figure of a plan report, in the order they appear; ``seconds`` receives each one's drawing time."""
    plan = pf.plan
    communities = pf.communities if isinstance(pf.communities, gpd.GeoDataFrame) else None
    steps: list[tuple[str, Callable[[], Figure]]] = [
        ("map", lambda: land_use_map(plan.geometry, plan["use"].astype(str).to_numpy(), area_by_use_ha(plan),
                                     communities, title=f"Land use in the plan — {pf.region_name}",
                                     pv_share=(plan["share_solar"] + plan["share_agrivoltaic"]).to_numpy(float))),
        ("kpis", lambda: kpi_chart(pf)),
        ("ldn", lambda: ldn_chart(ldn)),
    ]
    if pf.has_communities:
        steps.append(("access", lambda: access_chart(access_table(pf.communities))))
    drought_years = read_drought_years(pf)
    if drought_years is not None:
        steps.append(("drought", lambda: drought_chart(pf, drought_years)))
    if has_livelihoods(pf.communities) and "community_id" in plan:
        steps.append(("livelihoods", lambda: income_change_map(plan.geometry, plan["community_id"],
                                                               livelihood_table(pf.communities))))
    figures = []
    for name, draw in steps:
        t = time.perf_counter()
        figures.append(draw())
        if seconds is not None:
            seconds[f"{name}_s"] = time.perf_counter() - t
    return figures


def write_files(out: Path, figures: list[Figure], page: str) -> list[Path]:
    """Write each figure as ``<stem>_<name>.png`` beside ``out``, then the page as ``out``, each atomically.

    The page comes last: a write cut short (an error, SIGTERM) leaves the
    earlier page, or none, never a new page whose figures are missing.
    Returns the PNG files written.
    """
    pngs = []
    for figure in figures:
        path = out.with_name(f"{out.stem}_{figure.name}.png")
        atomic_write(path, figure.png)
        pngs.append(path)
    atomic_write(out, page.encode("utf-8"))
    return pngs
