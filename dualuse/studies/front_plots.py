"""The pictures of a front in three or more KPIs: a matrix of its two-KPI projections, and parallel coordinates.

Both mark the knee (:func:`dualuse.studies.pareto_nd.knee_nd`) with a red
star or a thick red line.  matplotlib's Agg canvas, no global state.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from dualuse.model.kpis import KPI_UNITS
from dualuse.studies.plots import format_axis


def _label(kpi: str, sense: int) -> str:
    return f"{kpi} [{KPI_UNITS[kpi][0]}]" + (" (less is better)" if sense < 0 else "")


def _png(fig: object) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")  # type: ignore[attr-defined]
    return buffer.getvalue()


def plot_projections(points: pd.DataFrame, kpis: Sequence[str], senses: Mapping[str, int], knee: int | None) -> bytes:
    """``front.png``: below the diagonal, every pair of KPIs as a scatter of the front's points (coloured by
    the optimised KPI); on the diagonal, each KPI's name and range."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    m = len(kpis)
    fig = Figure(figsize=(2.6 * m + 0.8, 2.4 * m + 0.6), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(m, m, squeeze=False)
    colour = points[kpis[0]].to_numpy(dtype=float) if len(points) else np.zeros(0)
    for i, row_kpi in enumerate(kpis):
        for j, col_kpi in enumerate(kpis):
            ax = axes[i][j]
            if j > i:
                ax.set_axis_off()
                continue
            if i == j:
                values = points[row_kpi].to_numpy(dtype=float) if len(points) else np.zeros(0)
                text = _label(row_kpi, senses[row_kpi])
                if values.size:
                    text += f"\n{np.nanmin(values):.4g} … {np.nanmax(values):.4g}"
                ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=9, transform=ax.transAxes, wrap=True)
                ax.set_xticks([])
                ax.set_yticks([])
                continue
            x, y = points[col_kpi].to_numpy(dtype=float), points[row_kpi].to_numpy(dtype=float)
            ax.scatter(x, y, c=colour, cmap="viridis", s=16, edgecolors="none")
            if knee is not None:
                ax.plot([x[knee]], [y[knee]], marker="*", markersize=13, color="C3", linestyle="none")
            format_axis(ax.xaxis, KPI_UNITS[col_kpi][0], points[col_kpi])
            format_axis(ax.yaxis, KPI_UNITS[row_kpi][0], points[row_kpi])
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
            if i == m - 1:
                ax.set_xlabel(col_kpi, fontsize=8)
            if j == 0:
                ax.set_ylabel(row_kpi, fontsize=8)
    fig.suptitle(f"Front of {kpis[0]} against {', '.join(kpis[1:])}: {len(points)} non-dominated plans, "
                 f"colour = {kpis[0]}" + (", ★ knee" if knee is not None else ""), fontsize=10)
    fig.subplots_adjust(left=0.1, right=0.97, bottom=0.08, top=0.92, wspace=0.35, hspace=0.35)
    return _png(fig)


def plot_parallel(points: pd.DataFrame, kpis: Sequence[str], senses: Mapping[str, int], knee: int | None) -> bytes:
    """``front_parallel.png``: one line per plan across one vertical axis per KPI, each axis from the front's
    worst (bottom) to its best (top) of that KPI; the knee in red."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    m = len(kpis)
    fig = Figure(figsize=(max(6.4, 2.0 * m), 4.6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    values = points[list(kpis)].to_numpy(dtype=float) if len(points) else np.zeros((0, m))
    better = values * np.array([senses[k] for k in kpis], dtype=float)
    low, span = better.min(axis=0, initial=np.inf), np.ptp(better, axis=0) if len(better) else np.ones(m)
    scaled = np.where(span > 0, (better - low) / np.where(span > 0, span, 1.0), 0.5)
    xs = np.arange(m)
    for p in range(len(scaled)):
        ax.plot(xs, scaled[p], color="C0", alpha=0.35, linewidth=1.0)
    if knee is not None:
        ax.plot(xs, scaled[knee], color="C3", linewidth=2.5, label="knee")
        ax.legend(fontsize=8, frameon=False, loc="upper right")
    for k, kpi in enumerate(kpis):
        ax.axvline(k, color="0.3", linewidth=0.8)
        if len(values):
            worst, best = (values[:, k].min(), values[:, k].max())
            if senses[kpi] < 0:
                worst, best = best, worst
            ax.annotate(f"{best:.4g}", (k, 1.0), textcoords="offset points", xytext=(0, 5), ha="center", fontsize=7)
            ax.annotate(f"{worst:.4g}", (k, 0.0), textcoords="offset points", xytext=(0, -12), ha="center",
                        fontsize=7)
    ax.set_xticks(xs)
    ax.set_xticklabels([_label(k, senses[k]) for k in kpis], fontsize=8)
    ax.set_yticks([])
    ax.set_ylim(-0.12, 1.12)
    ax.set_xlim(-0.3, m - 0.7)
    ax.set_title(f"{len(points)} non-dominated plans, each axis from the front's worst (bottom) to its best (top)",
                 fontsize=10)
    fig.subplots_adjust(left=0.05, right=0.97, bottom=0.16, top=0.9)
    return _png(fig)
