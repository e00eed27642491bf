"""Who is at risk: the change of land-based income per community on a map, and the communities that lose.

A plan that brings power to a village but takes the fields it lives from
may push the people it serves to leave.  This part of the report reads the
communities layer's livelihood columns (``income_usd_yr_today``,
``income_usd_yr``, ``jobs_fte_today``, ``jobs_fte``; written by
:meth:`dualuse.plan.Plan.community_values`) and sets each community's change
of income and jobs beside what the plan gives it in access.
"""

from __future__ import annotations

import math

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure as MplFigure
from matplotlib.patches import Patch, PathPatch

from dualuse.report.figure import GAIN, LOSS, MUTED, STYLE, Figure, render
from dualuse.report.maps import _map_axes, _map_layout, map_frame, use_paths
from dualuse.report.numbers import format_number
from dualuse.report.page import escape, figure_html, table_html

#: The communities layer's livelihood columns the report needs (plans written before they existed have none).
LIVELIHOOD_COLUMNS: tuple[str, ...] = ("income_usd_yr_today", "income_usd_yr", "jobs_fte_today", "jobs_fte")
#: A relative fall smaller than this is rounding, not a loss.
FALL_TOLERANCE = 1e-6
#: The map's classes of relative income change: label, lowest change (inclusive), colour.
CHANGE_CLASSES: tuple[tuple[str, float, str], ...] = (
    ("falls by more than 10 %", -math.inf, LOSS),
    ("falls by 1–10 %", -0.10, "#f4a582"),
    ("about the same (within 1 %)", -0.01, "#f0f0f0"),
    ("rises by 1–10 %", 0.01, "#a6dba0"),
    ("rises by more than 10 %", 0.10, GAIN),
)
NO_INCOME, NO_COMMUNITY = "no land-based income today", "no community"


def has_livelihoods(communities: pd.DataFrame | None) -> bool:
    """Whether a plan's communities layer carries the livelihood columns."""
    return communities is not None and len(communities) > 0 and all(c in communities for c in LIVELIHOOD_COLUMNS)


def livelihood_table(communities: pd.DataFrame) -> pd.DataFrame:
    """Per community: income and jobs today, in the plan, their change (absolute and relative), the access it
    gains (share of its demand met, households gaining access) and whether its income or jobs fall."""
    frame = pd.DataFrame(communities).drop(columns=["geometry", "geom"], errors="ignore")
    out = frame[["community_id", *LIVELIHOOD_COLUMNS]].copy()
    for name, today, plan in (("income", "income_usd_yr_today", "income_usd_yr"),
                              ("jobs", "jobs_fte_today", "jobs_fte")):
        base, value = out[today].to_numpy(float), out[plan].to_numpy(float)
        out[f"{name}_change"] = value - base
        out[f"{name}_change_share"] = np.divide(value - base, base, out=np.full(base.size, np.nan), where=base > 0)
        out[f"{name}_falls"] = value < base - FALL_TOLERANCE * np.maximum(np.abs(base), 1.0)
    demand = frame["demand_mwh"].to_numpy(float)
    out["access_share"] = np.divide(frame["served_mwh"].to_numpy(float), demand, out=np.zeros_like(demand),
                                    where=demand > 0)
    out["households_served"] = frame["households_served"].to_numpy(float)
    out["at_risk"] = out["income_falls"] | out["jobs_falls"]
    return out.reset_index(drop=True)


def change_class(change_share: np.ndarray, income_today: np.ndarray) -> np.ndarray:
    """The map class of each relative change of income (:data:`CHANGE_CLASSES`), or :data:`NO_INCOME`."""
    labels = np.array([label for label, _, _ in CHANGE_CLASSES], dtype=object)
    lows = np.array([low for _, low, _ in CHANGE_CLASSES])
    index = np.searchsorted(lows, np.nan_to_num(change_share, nan=0.0), side="right") - 1
    return np.where(np.asarray(income_today, dtype=float) > 0, labels[np.clip(index, 0, len(labels) - 1)], NO_INCOME)


def income_change_map(geometry: gpd.GeoSeries, parcel_community: pd.Series, table: pd.DataFrame,
                      title: str = "Change of land-based income per community") -> Figure:
    """Each parcel coloured by the relative change of its community's land-based income in the plan.

    Returns
    -------
    Figure
        ``legend`` lists the classes drawn; ``data['classes']`` maps each community to its class.
    """
    classes = dict(zip(table["community_id"].astype(str),
                       change_class(table["income_change_share"].to_numpy(float),
                                    table["income_usd_yr_today"].to_numpy(float))))
    ids = parcel_community.astype("string")
    parcel_class = np.array([classes.get(str(c), NO_COMMUNITY) if pd.notna(c) else NO_COMMUNITY for c in ids],
                            dtype=object)
    colours = {label: colour for label, _, colour in CHANGE_CLASSES} | {NO_INCOME: "#cfd8e3", NO_COMMUNITY: "#ffffff"}
    frame = map_frame(geometry)
    paths = use_paths(frame.geometry, parcel_class, tuple(colours))
    layout = _map_layout(frame.geometry)
    with matplotlib.rc_context(STYLE):
        fig = MplFigure(figsize=(layout.width_in, layout.height_in))
        ax = _map_axes(fig, layout)
        for label, path in paths.items():
            ax.add_artist(PathPatch(path, facecolor=colours[label], edgecolor="#9a9a9a", linewidth=0.2, zorder=2))
        drawn = [label for label in colours if label in paths]
        ax.legend([Patch(facecolor=colours[k], edgecolor="#7a7a7a", linewidth=0.4) for k in drawn], drawn,
                  loc="upper left", bbox_to_anchor=(1.02, 1.0), title="Land-based income in the plan",
                  title_fontproperties={"weight": "bold", "size": 9}, fontsize=8.5, alignment="left")
        ax.set_title(title, fontsize=12, loc="left")
        png = render(fig)
    return Figure("livelihoods", title, png, legend=drawn, data={"classes": classes})


def livelihood_section(table: pd.DataFrame, figure: Figure, stem: str) -> str:
    """The report's section on livelihoods: the map, a sentence on who loses, and the table of the
    communities whose income or jobs fall, beside their access gains."""
    at_risk = table[table["at_risk"]]
    n, income_falls, jobs_falls = len(table), int(table["income_falls"].sum()), int(table["jobs_falls"].sum())
    if at_risk.empty:
        verdict = f"No community of the {n:,} loses land-based income or jobs in this plan."
    else:
        verdict = (f"{income_falls:,} of the {n:,} communities lose land-based income and {jobs_falls:,} lose jobs "
                   "in this plan: the places where it may drive people from their land. Their access gains are "
                   "beside them; livelihood_floor and jobs_floor hold every community to a share of today's.")
    rows = [[escape(r.community_id), format_number(r.income_usd_yr_today, digits=0),
             format_number(r.income_usd_yr, digits=0), format_number(r.income_change_share, True),
             format_number(r.jobs_fte_today, digits=1), format_number(r.jobs_fte, digits=1),
             format_number(r.jobs_change, digits=1), format_number(r.households_served, digits=0),
             format_number(r.access_share, True)]
            for r in at_risk.sort_values("income_change").itertuples()]
    table_part = table_html([("Community", False), ("Income today [USD/yr]", True), ("Income in the plan [USD/yr]", True),
                             ("Income change", True), ("Jobs today [FTE]", True), ("Jobs in the plan [FTE]", True),
                             ("Jobs change [FTE]", True), ("Households gaining access", True),
                             ("Demand met", True)], rows) if rows else ""
    return "\n".join([
        "<h2>Livelihoods: who may lose their living from the land</h2>",
        f"<p>{escape(verdict)}</p>",
        figure_html(figure, "Change of land-based income per community",
                    "Each parcel in the colour of its community's change of land-based income (harvest value, PV "
                    "lease and sales share, payments for ecosystem services and soil carbon). Planning estimates "
                    "from the catalogue's coefficients, not a household survey.", f"{stem}_livelihoods.png"),
        table_part,
        f'<p style="color:{MUTED}">Jobs are full-time equivalents of work on the land and in PV and mini-grid '
        "operation; building the PV is counted apart (construction_job_years in the communities layer).</p>",
    ])
