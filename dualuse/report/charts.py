"""The report's charts: the headline KPIs today and with the plan, the LDN balance per land type, energy
access per community, and the indicators of a sweep against each varied parameter.

Every chart takes plain tables (from :mod:`dualuse.report.read` and
:mod:`dualuse.report.numbers`) and returns a :class:`~dualuse.report.figure.Figure`.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
import matplotlib.cm
import matplotlib.colors
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.figure import Figure as MplFigure

from dualuse.report.columns import (
    SWEEP_KPIS,
    classify_columns,
    column_label,
    has_plan,
    shadow_scale,
)
from dualuse.report.figure import (
    CHARTED_COMMUNITIES,
    GAIN,
    GRID,
    INK,
    LABELLED_COMMUNITIES,
    LOSS,
    MUTED,
    PLAN,
    STYLE,
    TODAY,
    Figure,
    render,
)
from dualuse.report.numbers import format_bar_value, format_short
from dualuse.report.read import PlanFile, SweepFolder

#: Width of every chart [in]: the page's width at print size.
CHART_WIDTH_IN = 10.5
#: Sweep charts draw one line per value of a second varied parameter when it has at most this many values.
MAX_GROUPS = 8
#: Sweep charts draw at most this many KPIs (and this many shadow prices) when none of :data:`SWEEP_KPIS` is there.
MAX_SWEEP_PANELS = 9


# --------------------------------------------------------------------------- KPI panels


@dataclass(frozen=True)
class KpiPanel:
    """One small chart of the KPI figure: today vs plan, with an optional reference line."""

    title: str
    unit: str
    today: float
    plan: float
    reference: float | None = None
    reference_label: str = ""
    scale: float = 1.0  # values are divided by this for display
    percent: bool = False


def kpi_chart(pf: PlanFile) -> Figure:
    """The KPI small multiples: energy, PV, households, demand met, harvest, restored, degraded, cost."""
    scenario = pf.scenario
    panels = [
        KpiPanel("PV generation", "MWh/yr", pf.kpi("energy_mwh", "baseline"), pf.kpi("energy_mwh")),
        KpiPanel("Installed PV", "MWp", pf.kpi("capacity_mwp", "baseline"), pf.kpi("capacity_mwp")),
        KpiPanel("Households with access", "households gaining access", pf.kpi("households_served", "baseline"),
                 pf.kpi("households_served"), reference=pf.kpi("unserved_households", "baseline"),
                 reference_label="all"),
        KpiPanel("Demand met", "share of unserved demand", pf.kpi("access", "baseline"), pf.kpi("access"),
                 reference=1.0, reference_label="all", percent=True),
        KpiPanel("Harvest", "thousand t dry matter/yr", pf.kpi("productivity_t", "baseline"), pf.kpi("productivity_t"),
                 reference=float(scenario.get("food_floor", math.nan)) * pf.kpi("productivity_t", "baseline"),
                 reference_label="floor", scale=1000.0),
        KpiPanel("Restored area", "ha", pf.kpi("restored_ha", "baseline"), pf.kpi("restored_ha"),
                 reference=float(scenario.get("min_restored_ha", 0.0)) or None, reference_label="min."),
        KpiPanel("SDG 15.3.1 degraded area", "ha at the horizon", pf.kpi("sdg_degraded_ha", "baseline"), pf.kpi("sdg_degraded_ha")),
        KpiPanel("Cost", "USD million, delivery included", pf.kpi("cost_usd", "baseline"), pf.kpi("cost_usd"),
                 reference=pf.kpi("budget_usd"), reference_label="budget", scale=1e6),
    ]
    return kpi_panels([p for p in panels if math.isfinite(p.plan)])


def kpi_panels(panels: Sequence[KpiPanel], title: str = "Headline indicators: today and with the plan") -> Figure:
    """Small multiples: for each KPI two bars, today (grey) and the plan (blue), each with its value,
    and a dashed reference line (budget, food floor, all households) where the panel has one."""
    columns = 4
    rows = max(1, math.ceil(len(panels) / columns))
    height = 2.35 * rows + 0.45
    with matplotlib.rc_context(STYLE):
        fig = MplFigure(figsize=(CHART_WIDTH_IN, height))
        axes = fig.subplots(rows, columns, squeeze=False)
        fig.subplots_adjust(hspace=0.62, wspace=0.42, top=1 - 0.75 / height, bottom=0.25 / height, left=0.06,
                            right=0.93)
        fig.suptitle(title, x=0.01, y=0.995, ha="left", fontsize=12, fontweight="bold")
        for ax, panel in zip(axes.flat, panels):
            _draw_kpi_panel(ax, panel)
        for ax in list(axes.flat)[len(panels):]:
            ax.set_visible(False)
        png = render(fig)
    return Figure("kpis", title, png, legend=[p.title for p in panels],
                  data={p.title: (p.today, p.plan) for p in panels})


def _draw_kpi_panel(ax: Axes, panel: KpiPanel) -> None:
    """Two bars, today and the plan, each labelled with its value, and the panel's reference line."""
    values = np.array([panel.today, panel.plan], dtype=float) / panel.scale
    values = np.where(np.isfinite(values), values, 0.0)
    bars = ax.bar([0, 1], values, width=0.62, color=[TODAY, PLAN], zorder=2)
    top = max(float(np.nanmax(np.abs(values))), 1e-12)
    if panel.reference is not None and math.isfinite(panel.reference):
        ref = panel.reference / panel.scale
        top = max(top, abs(ref))
        ax.axhline(ref, color=INK, linestyle=(0, (3, 2)), linewidth=0.9, zorder=3)
        ax.text(1.03, ref, panel.reference_label, transform=ax.get_yaxis_transform(), fontsize=7.5,
                color=INK, va="center", ha="left")
    for bar, raw in zip(bars, values):
        ax.text(bar.get_x() + bar.get_width() / 2, max(raw, 0) + 0.03 * top, format_bar_value(raw, panel.percent),
                ha="center", va="bottom", fontsize=8.5, fontweight="bold", zorder=4,
                path_effects=[patheffects.withStroke(linewidth=2.5, foreground="white")])
    low = min(0.0, float(values.min()) * 1.25)
    ax.set_ylim(low, top * 1.22)
    ax.set_xlim(-0.55, 1.55)
    ax.set_xticks([0, 1], ["Today", "Plan"])
    ax.set_title(panel.title, fontsize=9.5, pad=16)
    ax.text(0.0, 1.03, panel.unit, transform=ax.transAxes, fontsize=7.5, color=MUTED, va="bottom")
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0) if panel.percent
                                 else _Ticks())
    ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
    ax.grid(axis="y", color=GRID, linewidth=0.6, zorder=0)
    ax.tick_params(axis="x", length=0)


# --------------------------------------------------------------------------- LDN balance


def ldn_chart(balance: pd.DataFrame, title: str = "Land degradation neutrality by land type") -> Figure:
    """Gains (green, right) and losses (red, left) per land type, the net (◆) against the target (|).

    ``balance`` has one row per land type (``label``) with ``gains_ha``,
    ``losses_ha``, ``net_ha``, ``target_ha``, ``baseline_net_ha`` and
    ``neutral``; a last row ``All land`` is set apart by a line.
    """
    n = len(balance)
    y = np.arange(n, dtype=float)[::-1]
    total = balance["label"].to_numpy() == "All land"
    y[total] -= 0.4
    row_in, top_in, bottom_in = 0.5, 0.55, 1.05
    height = row_in * (n + 0.4) + top_in + bottom_in
    gains, losses, net, target, baseline = (balance[c].to_numpy(float) for c in (
        "gains_ha", "losses_ha", "net_ha", "target_ha", "baseline_net_ha"))
    with matplotlib.rc_context(STYLE):
        fig = MplFigure(figsize=(CHART_WIDTH_IN, height))
        ax = fig.add_axes((0.14, bottom_in / height, 0.66, row_in * (n + 0.4) / height))
        ax.barh(y, gains, height=0.58, color=GAIN, zorder=2, label="Area improving (gains)")
        ax.barh(y, -losses, height=0.58, color=LOSS, zorder=2, label="Area degraded (losses)")
        ax.scatter(target, y, marker="|", s=330, color=INK, linewidth=1.8, zorder=3, label="Target")
        ax.scatter(baseline, y, marker="D", s=34, facecolor="white", edgecolor=INK, linewidth=1.0, zorder=4,
                   label="Net today")
        ax.scatter(net, y, marker="D", s=42, facecolor=INK, edgecolor="white", linewidth=0.8, zorder=5,
                   label="Net with the plan")
        ax.axvline(0, color="#7a7a7a", linewidth=0.8, zorder=1)
        _ldn_axes(ax, y, balance["label"].tolist(), total)
        span = float(np.nanmax(np.abs(np.r_[gains, -losses, net, target, baseline, 1.0])))
        ax.set_xlim(-span * 1.08, span * 1.08)
        for yi, ok, short in zip(y, balance["neutral"].to_numpy(bool), (target - net)):
            text = "✔ neutral" if ok else f"✘ {short:,.0f} ha short"
            ax.text(1.03, yi, text, transform=ax.get_yaxis_transform(), va="center", fontsize=9,
                    fontweight="bold", color=GAIN if ok else LOSS)
        fig.suptitle(title, x=0.01, y=1 - 0.08 / height, ha="left", va="top", fontsize=12, fontweight="bold")
        _ldn_legend(fig, ax)
        png = render(fig)
    return Figure("ldn", title, png, legend=balance["label"].tolist(),
                  data={"gains_ha": gains, "losses_ha": losses, "net_ha": net, "target_ha": target})


def _ldn_axes(ax: Axes, y: np.ndarray, labels: list[str], total: np.ndarray) -> None:
    """One row per land type, the ``All land`` row in bold below a line; area along the horizontal axis."""
    if total.any() and len(y) > 1:
        ax.axhline(float(y[total][0]) + 0.7, color="#9a9a9a", linewidth=0.6)
    ax.set_ylim(float(y.min()) - 0.6, float(y.max()) + 0.6)
    ax.set_yticks(y, labels)
    for label, is_total in zip(ax.get_yticklabels(), total):
        if is_total:
            label.set_fontweight("bold")
    ax.set_xlabel("Area at the horizon [ha]: losses to the left, gains to the right")
    ax.grid(axis="x", color=GRID, linewidth=0.6, zorder=0)
    ax.xaxis.set_major_formatter(_Ticks())
    ax.tick_params(axis="y", length=0)


def _ldn_legend(fig: MplFigure, ax: Axes) -> None:
    """The legend under the LDN chart, in reading order: losses, gains, net today, net with the plan, target."""
    handles, labels = ax.get_legend_handles_labels()
    order = [labels.index(k) for k in ("Area degraded (losses)", "Area improving (gains)", "Net today",
                                       "Net with the plan", "Target")]
    fig.legend([handles[k] for k in order], [labels[k] for k in order], loc="lower center", ncols=5,
               fontsize=8.5, bbox_to_anchor=(0.47, 0.02), handletextpad=0.4, columnspacing=1.6)


# --------------------------------------------------------------------------- access


def access_chart(communities: pd.DataFrame, title: str = "Energy access by community") -> Figure:
    """Per community: the yearly demand of unserved households (light) and the part the plan serves (blue).

    Beyond :data:`~dualuse.report.figure.LABELLED_COMMUNITIES` communities, the
    :data:`~dualuse.report.figure.CHARTED_COMMUNITIES` with the most demand get
    a bar each and the others are summed in a note under the chart.
    """
    frame = communities.sort_values("demand_mwh", ascending=False, kind="stable").reset_index(drop=True)
    note = ""
    if len(frame) > LABELLED_COMMUNITIES:
        note = _other_communities_note(frame.iloc[CHARTED_COMMUNITIES:])
        frame = frame.iloc[:CHARTED_COMMUNITIES]
        title = f"{title}: the {CHARTED_COMMUNITIES} with the most demand"
    frame = frame.iloc[::-1]
    n = len(frame)
    y = np.arange(n)
    demand, served, households, gained = (frame[c].to_numpy(float) for c in (
        "demand_mwh", "served_mwh", "unserved_households", "households_served"))
    row_in, top_in, bottom_in = 0.3, 0.55, 1.0 + (0.25 if note else 0.0)
    height = row_in * max(n, 1) + top_in + bottom_in
    with matplotlib.rc_context(STYLE):
        fig = MplFigure(figsize=(CHART_WIDTH_IN, height))
        ax = fig.add_axes((0.12, bottom_in / height, 0.62, row_in * max(n, 1) / height))
        ax.barh(y, demand, height=0.68, color="#dbe5f0", edgecolor="#9fb6cf", linewidth=0.6, zorder=2,
                label="Demand of the households without electricity")
        ax.barh(y, served, height=0.68, color=PLAN, zorder=3, label="Served by the plan")
        ax.set_yticks(y, frame["community_id"].astype(str).tolist())
        ax.set_ylim(-0.6, max(n, 1) - 0.4)
        ax.tick_params(axis="y", length=0)
        ax.set_xlabel("Electricity [MWh/yr]")
        ax.xaxis.set_major_formatter(_Ticks())
        ax.grid(axis="x", color=GRID, linewidth=0.6, zorder=0)
        ax.set_xlim(0, max(float(demand.max()) if n else 1.0, 1e-9) * 1.03)
        for yi, g, h in zip(y, gained, households):
            share = g / h if h > 0 else 0.0
            ax.text(1.02, yi, f"{g:,.0f} of {h:,.0f} households ({share:.0%})", transform=ax.get_yaxis_transform(),
                    va="center", fontsize=8.5)
        fig.suptitle(title, x=0.01, y=1 - 0.08 / height, ha="left", va="top", fontsize=12, fontweight="bold")
        fig.legend(loc="lower center", ncols=2, fontsize=8.5, bbox_to_anchor=(0.43, (0.3 if note else 0.02) / height))
        if note:
            fig.text(0.43, 0.04 / height, note, ha="center", va="bottom", fontsize=8.5, color=MUTED)
        png = render(fig)
    return Figure("access", title, png, legend=frame["community_id"].astype(str).tolist()[::-1],
                  data={"demand_mwh": demand[::-1], "served_mwh": served[::-1], "note": note})


def _other_communities_note(rest: pd.DataFrame) -> str:
    """One sentence summing the communities that get no bar of their own."""
    gained, households = float(rest["households_served"].sum()), float(rest["unserved_households"].sum())
    return (f"The other {len(rest):,} communities together: {gained:,.0f} of {households:,.0f} households gain "
            f"access ({gained / households if households > 0 else 0.0:.0%}); "
            f"{rest['served_mwh'].sum():,.0f} of {rest['demand_mwh'].sum():,.0f} MWh/yr served.")


# --------------------------------------------------------------------------- sweeps


def sweep_figures(sweep: SweepFolder) -> list[Figure]:
    """Each headline KPI (and each shadow price) against each varied numeric parameter, one line per
    combination of the other varied parameters' values."""
    if sweep.table is None or not len(sweep.table):
        return []
    table = sweep.table[has_plan(sweep.table)]
    if not len(table):
        return []
    columns = classify_columns(sweep.table)
    labels = {c: column_label(c, sweep.units) for c in sweep.table.columns}
    kpis = [k for k in SWEEP_KPIS if k in columns["kpis"] and table[k].notna().any()]
    if not kpis:
        kpis = [k for k in columns["kpis"] if table[k].notna().any()][:MAX_SWEEP_PANELS]
    shadows = [c for c in columns["shadows"] if table[c].notna().any()
               and (table[c].abs() > 1e-12).any()][:MAX_SWEEP_PANELS]
    figures = []
    for parameter in columns["varied"]:
        if table[parameter].nunique() < 2:  # the scenarios with a plan all share one value: nothing to plot
            continue
        # lines by the other parameter with the most values (a colour ramp takes any number), a chart per
        # combination of the values of the rest
        group = sorted((c for c in (*columns["varied"], *columns["categorical"])
                        if c != parameter and table[c].nunique() > 1), key=lambda c: -table[c].nunique())
        for suffix, where, part in _facets(table, group[1:], labels):
            if kpis:
                chart = sweep_chart(part, parameter, kpis, labels, group[:1],
                                    title=f"Indicators against {labels[parameter]}{where}")
                chart.name = f"sweep_{parameter}{suffix}"
                figures.append(chart)
            if shadows:
                scaled = part.assign(**{c: part[c] * shadow_scale(c) for c in shadows})
                chart = sweep_chart(scaled, parameter, shadows, labels, group[:1],
                                    title=f"Shadow prices against {labels[parameter]}{where}")
                chart.name = f"sweep_{parameter}{suffix}_shadow"
                figures.append(chart)
    return figures


def _facets(table: pd.DataFrame, columns: Sequence[str], labels: dict[str, str]
            ) -> list[tuple[str, str, pd.DataFrame]]:
    """The rows of a sweep split by the values of ``columns`` (a chart each, so that every line of a chart is
    one combination of the parameters): (name suffix, title suffix, rows); one part without columns."""
    if not columns:
        return [("", "", table)]
    parts = []
    for k, (values, part) in enumerate(table.groupby(list(columns), sort=True)):
        values = values if isinstance(values, tuple) else (values,)
        where = ", ".join(f"{labels.get(c, c).split(' [')[0]} {format_short(v)}" for c, v in zip(columns, values))
        parts.append((f"_{k + 1}", f" — {where}", part))
    return parts


@dataclass(frozen=True)
class SweepLines:
    """The lines of a sweep chart: one per combination of the grouping parameters' values.

    ``keys`` are the combinations (tuples, in sorted order), ``texts`` their legend texts, ``colours``
    their colours; ``ramp`` is set when one numeric parameter groups more than :data:`MAX_GROUPS` values,
    drawn as a colour ramp with a colour bar instead of a legend.
    """

    columns: tuple[str, ...]
    keys: tuple[tuple[Any, ...], ...]
    texts: tuple[str, ...]
    colours: tuple[Any, ...]
    ramp: Any = None  # a ScalarMappable for the colour bar


def _value_text(value: Any) -> str:
    return format_short(value)


def sweep_lines(table: pd.DataFrame, group: Sequence[str], labels: dict[str, str]) -> SweepLines:
    """The lines of a sweep chart grouped by ``group`` (none: one line)."""
    if not group:
        return SweepLines((), ((),), ("",), (PLAN,))
    keys = tuple(sorted({tuple(row) for row in table[list(group)].itertuples(index=False, name=None)},
                        key=lambda k: tuple((0, v) if isinstance(v, (int, float)) else (1, str(v)) for v in k)))
    if len(group) == 1:
        texts = tuple(_value_text(k[0]) for k in keys)
    else:
        texts = tuple(", ".join(f"{labels.get(c, c).split(' [')[0]} {_value_text(v)}" for c, v in zip(group, k))
                      for k in keys)
    numeric = len(group) == 1 and pd.api.types.is_numeric_dtype(table[group[0]])
    if numeric and len(keys) > MAX_GROUPS:
        values = np.array([k[0] for k in keys], dtype=float)
        norm = matplotlib.colors.Normalize(float(values.min()), float(values.max()))
        ramp = matplotlib.cm.ScalarMappable(norm=norm, cmap=matplotlib.colormaps["viridis"])
        return SweepLines(tuple(group), keys, texts, tuple(ramp.to_rgba(values)), ramp)
    colours = matplotlib.colormaps["viridis"](np.linspace(0.05, 0.85, max(len(keys), 1)))
    return SweepLines(tuple(group), keys, texts, tuple(colours))


def sweep_chart(table: pd.DataFrame, parameter: str, kpis: Sequence[str], labels: dict[str, str],
                group: Sequence[str] | str | None = None, title: str = "") -> Figure:
    """Small multiples: each KPI against one varied parameter, one line per combination of the values of the
    ``group`` parameters, however many: a legend up to :data:`MAX_GROUPS` lines (or several grouping
    parameters), a colour ramp with its colour bar beyond.

    Only rows with a plan (status optimal or feasible) should be passed; the
    others are listed in the report's table.  ``data`` holds each line's
    (x, y), keyed ``kpi`` or ``kpi|legend text``.
    """
    group = [group] if isinstance(group, str) else list(group or [])
    lines = sweep_lines(table, group, labels)
    columns = 3
    rows = max(1, math.ceil(len(kpis) / columns))
    title = title or f"Indicators against {labels.get(parameter, parameter)}"
    legend_rows = 0 if lines.ramp is not None or not group else math.ceil(len(lines.keys) / min(len(lines.keys), 6))
    head_in = 0.6 + (0.35 + 0.2 * legend_rows if group and lines.ramp is None else 0.0)
    height = 2.6 * rows + head_in
    data: dict[str, Any] = {}
    with matplotlib.rc_context(STYLE):
        fig = MplFigure(figsize=(CHART_WIDTH_IN, height))
        axes = fig.subplots(rows, columns, squeeze=False)
        right = 0.88 if lines.ramp is not None else 0.97
        fig.subplots_adjust(hspace=0.8, wspace=0.42, top=1 - (head_in + 0.25) / height, bottom=0.5 / height,
                            left=0.08, right=right)
        fig.suptitle(title, x=0.01, y=1 - 0.06 / height, ha="left", va="top", fontsize=12, fontweight="bold")
        drawn: list[Any] = []
        for k, (ax, kpi) in enumerate(zip(axes.flat, kpis)):
            handles = _draw_sweep_panel(ax, table, parameter, kpi, lines, labels, data)
            drawn = handles if k == 0 else drawn
        for ax in list(axes.flat)[len(kpis):]:
            ax.set_visible(False)
        _sweep_key(fig, lines, drawn, labels, height, right)
        png = render(fig)
    return Figure(f"sweep_{parameter}", title, png, legend=[labels.get(k, k) for k in kpis], data=data)


def _sweep_key(fig: MplFigure, lines: SweepLines, handles: list[Any], labels: dict[str, str], height: float,
               right: float) -> None:
    """The key of a sweep chart's lines: a colour bar for a ramp, else a legend above the panels."""
    if not lines.columns:
        return
    name = " · ".join(labels.get(c, c) for c in lines.columns)
    if lines.ramp is not None:
        bar_axes = fig.add_axes((right + 0.025, 0.5 / height, 0.015, 1 - (0.6 + 0.75) / height))
        bar = fig.colorbar(lines.ramp, cax=bar_axes)
        bar.set_label(name, fontsize=8.5)
        bar.ax.tick_params(labelsize=7.5)
        return
    fig.legend(handles, list(lines.texts), loc="upper left", ncols=min(len(handles), 6), fontsize=8.5,
               bbox_to_anchor=(0.01, 1 - 0.38 / height), title=name, title_fontproperties={"size": 8.5},
               alignment="left", handlelength=1.8, columnspacing=1.5)


def _draw_sweep_panel(ax: Axes, table: pd.DataFrame, parameter: str, kpi: str, lines: SweepLines,
                      labels: dict[str, str], data: dict[str, Any]) -> list[Any]:
    """One KPI against the parameter, a line per combination of the grouping values (recorded in ``data``);
    the lines drawn."""
    locator = dict(nbins=5, steps=[1, 2, 2.5, 5, 10])
    handles = []
    keyed = table.set_index(list(lines.columns)).index if lines.columns else None
    for key, text, colour in zip(lines.keys, lines.texts, lines.colours):
        if keyed is None:
            part = table
        else:
            part = table[keyed.isin([key if len(key) > 1 else key[0]])]
        part = part.sort_values(parameter)
        x = part[parameter].to_numpy(float)
        yv = part[kpi].to_numpy(float)
        line, = ax.plot(x, yv, marker="o", markersize=3.5 if len(lines.keys) <= MAX_GROUPS else 2.5,
                        linewidth=1.5 if len(lines.keys) <= MAX_GROUPS else 1.1, color=colour, zorder=3)
        data[kpi if not lines.columns else f"{kpi}|{text}"] = (x, yv)
        handles.append(line)
    ax.set_title("\n".join(textwrap.wrap(labels.get(kpi, kpi), 36)), fontsize=9.5)
    ax.set_xlabel(labels.get(parameter, parameter), fontsize=8, color=MUTED)
    ax.grid(color=GRID, linewidth=0.6, zorder=0)
    ax.xaxis.set_major_formatter(_Ticks())
    ax.yaxis.set_major_formatter(_Ticks())
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(**locator))
    ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(**locator))
    return handles


class _Ticks(matplotlib.ticker.Formatter):
    """Tick labels with just the decimals that the step between ticks needs; thousands separated, and
    millions as "M" when the step is a multiple of 100,000."""

    def __call__(self, value: float, pos: Any = None) -> str:
        return self.format_ticks([value])[0]

    def format_ticks(self, values: Sequence[float]) -> list[str]:
        values = np.asarray(values, dtype=float)
        if not len(values):
            return []
        steps = np.diff(np.sort(values))
        step = float(steps[steps > 0].min()) if (steps > 0).any() else max(float(np.abs(values).max()), 1.0)
        scale, suffix = (1e6, " M") if np.abs(values).max() >= 1e6 and step >= 1e5 else (1.0, "")
        scaled = values / scale
        decimals = next((d for d in range(8) if np.allclose(np.round(scaled, d), scaled, rtol=0,
                                                            atol=1e-9 * max(step / scale, 1e-300))), 8)
        return ["0" if v == 0 else f"{v:,.{decimals}f}{suffix}" for v in scaled]
