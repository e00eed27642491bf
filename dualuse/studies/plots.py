"""A sweep's plots: every KPI and every shadow price against every varied parameter, drawn on the workers."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dualuse.files import atomic_write
from dualuse.inputs.scenario import PARAMETER_BY_NAME
from dualuse.model.kpis import KPI_UNITS
from dualuse.studies.executor import worker_count
from dualuse.studies.spec import value_text
from dualuse.studies.store import PLAN_STATUSES

PLOTS_DIR = "plots"
#: The matplotlib settings of every plot: user text (scenario names, parameter values, community and drought year
#: names in the shadow prices' titles) is drawn as written, "$5 well" with its dollar sign, never as mathtext.
STYLE: dict[str, Any] = {"text.parse_math": False}


@dataclass(frozen=True)
class PlotSpec:
    """One picture: a metric (KPI or shadow price) against one varied parameter."""

    metric: str
    metric_unit: str
    metric_meaning: str
    parameter: str
    others: tuple[str, ...]

    @property
    def filename(self) -> str:
        return f"{self.metric}_vs_{self.parameter}.png"


def plot_specs(frame: pd.DataFrame, varied: Sequence[str], units: Mapping[str, str]) -> list[PlotSpec]:
    """Every KPI and every shadow price against every varied parameter (the trivial budget-vs-budget left out)."""
    specs = []
    metrics = [(k, KPI_UNITS[k][0], KPI_UNITS[k][1]) for k in KPI_UNITS if k in frame.columns]
    metrics += [(c, units.get(c, ""), f"shadow price of {c[len('shadow_'):]}") for c in frame.columns
                if c.startswith("shadow_")]
    for parameter in [p for p in varied if frame[p].nunique() > 1]:
        others = tuple(p for p in varied if p != parameter and frame[p].nunique() > 1)
        for metric, unit, meaning in metrics:
            if metric != parameter and frame[metric].notna().any():
                specs.append(PlotSpec(metric, unit, meaning, parameter, others))
    return specs


def render_plots(frame: pd.DataFrame, specs: Sequence[PlotSpec]) -> dict[str, bytes]:
    """PNG bytes of each plot (matplotlib, Agg, no global state): runs in a worker.

    The plots against one parameter share their x data and lines, so one
    figure is drawn per parameter and only the y data, labels and scale
    change from metric to metric (half the cost of a fresh figure each).
    User text is drawn as written (:data:`STYLE`).
    """
    import matplotlib

    out: dict[str, bytes] = {}
    by_axis: dict[tuple[str, tuple[str, ...]], list[PlotSpec]] = {}
    for spec in specs:
        by_axis.setdefault((spec.parameter, spec.others), []).append(spec)
    with matplotlib.rc_context(STYLE):
        for (parameter, others), group in by_axis.items():
            out.update(_render_against(frame, parameter, others, group))
    return out


def _render_against(frame: pd.DataFrame, parameter: str, others: tuple[str, ...],
                    specs: Sequence[PlotSpec]) -> dict[str, bytes]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    solved = frame[frame["status"].isin(PLAN_STATUSES)]
    x_unit = PARAMETER_BY_NAME[parameter].unit
    numeric = pd.api.types.is_numeric_dtype(frame[parameter])
    categories = list(dict.fromkeys(frame[parameter].tolist()))
    groups = list(solved.groupby(list(others), sort=True)) if others else [((), solved)]
    as_lines = len(groups) <= 10
    ordered = len(others) == 1 and pd.api.types.is_numeric_dtype(frame[others[0]]) and len(groups) > 1
    lines = []
    for k, (values, rows) in enumerate(groups):
        rows = rows.sort_values(parameter)
        x = rows[parameter].to_numpy() if numeric else np.array([categories.index(v) for v in rows[parameter]])
        values = values if isinstance(values, tuple) else (values,)
        label = ", ".join(f"{p} = {_readable(v)}" for p, v in zip(others, values)) or None
        line, = ax.plot(x, np.full(len(x), np.nan), marker="o", markersize=4 if as_lines else 3,
                        linestyle="-" if as_lines and numeric else "none", linewidth=1.5, label=label,
                        color=_colour(k, len(groups), ordered) if as_lines else "C0")
        lines.append((line, rows))
    if not numeric:
        ax.set_xticks(range(len(categories)), [str(c) for c in categories])
        ax.set_xlim(-0.5, len(categories) - 0.5)
    ax.set_xlabel(f"{parameter} [{x_unit}]")
    format_axis(ax.xaxis, x_unit, frame[parameter] if numeric else None)
    ax.grid(alpha=0.3)
    if as_lines and others:
        ax.legend(fontsize=7, frameon=False, loc="best", ncol=2 if len(groups) > 5 else 1)
    missing = len(frame) - len(solved)
    note = f"\n({missing} scenario(s) without a plan not shown)" if missing else ""
    fig.subplots_adjust(left=0.15, right=0.97, bottom=0.13, top=0.86 if missing else 0.9)
    out: dict[str, bytes] = {}
    for spec in specs:
        for line, rows in lines:
            line.set_ydata(rows[spec.metric].to_numpy(dtype=float))
        ax.relim()
        ax.autoscale_view()
        ax.set_ylabel(f"{spec.metric} [{spec.metric_unit}]" if spec.metric_unit else spec.metric)
        ax.set_title(spec.metric_meaning[:70] + note, fontsize=10)
        format_axis(ax.yaxis, spec.metric_unit, solved[spec.metric])
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        out[spec.filename] = buffer.getvalue()
    return out


def _colour(k: int, n: int, ordered: bool) -> Any:
    """Line colours: a sequential map when the lines are the steps of one numeric parameter."""
    if ordered:
        from matplotlib import colormaps
        return colormaps["viridis"](0.9 * k / max(n - 1, 1))
    return f"C{k % 10}"


def _readable(value: Any) -> str:
    """A value for a legend: 3.5 M rather than 3.5e+06."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) >= 1e4:
        for size, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
            if abs(value) >= size:
                return f"{value / size:.4g} {prefix}"
    return value_text(value)


def format_axis(axis: Any, unit: str, values: pd.Series | None) -> None:
    """Percentages for shares, engineering prefixes (k, M) for large numbers, plain numbers otherwise."""
    from matplotlib.ticker import EngFormatter, PercentFormatter, ScalarFormatter

    if values is None:
        return
    finite = values.to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    if unit.startswith("share"):
        axis.set_major_formatter(PercentFormatter(1.0))
    elif finite.size and float(np.abs(finite).max()) >= 1e4:
        axis.set_major_formatter(EngFormatter(sep=" "))
    else:
        axis.set_major_formatter(ScalarFormatter())


def write_plots(folder: Path, frame: pd.DataFrame, varied: Sequence[str], units: Mapping[str, str],
                executor: Executor) -> list[Path]:
    """Render the plots on the executor's workers and write them to ``folder/plots``; stale ones are removed."""
    specs = plot_specs(frame, varied, units)
    target = folder / PLOTS_DIR
    target.mkdir(exist_ok=True)
    # chunks as large as keeps every worker busy: each chunk sets up its figure once
    chunk = max(1, math.ceil(len(specs) / (2 * worker_count(executor))))
    futures = [executor.submit(render_plots, frame, specs[k:k + chunk]) for k in range(0, len(specs), chunk)]
    written = []
    for future in as_completed(futures):
        for name, data in future.result().items():
            atomic_write(target / name, data)
            written.append(target / name)
    keep = {p.name for p in written}
    for stale in target.glob("*_vs_*.png"):
        if stale.name not in keep:
            stale.unlink()
    return sorted(written)


