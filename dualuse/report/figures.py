"""The report's figures: a land-use map and a few charts, drawn with matplotlib's Agg renderer.

Every function takes plain tables (read from a plan or sweep file by
:mod:`dualuse.report.html`) and returns a :class:`Figure` record: the PNG bytes
and what was drawn (legend entries, plotted values), so that tests can check
a figure against its data.  Colours come from :mod:`dualuse.palette`, the
same as the QGIS style, so the report's map and the map in QGIS agree.

The map draws one compound path per use (all parcels of a use in one
:class:`matplotlib.path.Path`), never one artist per parcel, so a plan of
100,000 parcels draws in seconds.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import matplotlib

matplotlib.use("Agg", force=False)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402
from matplotlib import patheffects  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure as MplFigure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.offsetbox import AnchoredOffsetbox, AuxTransformBox  # noqa: E402
from matplotlib.patches import FancyArrow, Patch, PathPatch, Rectangle  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from pyproj import CRS, Transformer  # noqa: E402

from dualuse.vocabulary import USES
from dualuse.palette import USE_COLOURS, USE_LABELS  # noqa: E402

#: Ink colours of every chart (not per use: those are in the palette).
INK = "#222222"
MUTED = "#6b6b6b"
GRID = "#e4e4e4"
TODAY = "#b8b8b8"
PLAN = "#1f4e79"
GAIN = "#1a9641"   # the palette's LDN "improving" green
LOSS = "#d7191c"   # the palette's LDN "degraded" red
DPI = 150
#: Communities are named on the map, and drawn one bar each in the access chart, up to this many;
#: beyond, the access chart shows the :data:`CHARTED_COMMUNITIES` with the most demand.
LABELLED_COMMUNITIES, CHARTED_COMMUNITIES = 40, 25
#: Maps of more parcels than this are drawn at a higher resolution [dpi], so that parcels stay visible.
FINE_MAP_PARCELS, FINE_MAP_DPI = 20_000, 220
#: Uses that carry PV panels.
PV_USES = ("solar", "agrivoltaic")

_STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "text.color": INK,
    "axes.labelcolor": INK,
    "axes.edgecolor": "#9a9a9a",
    "axes.linewidth": 0.6,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.titlepad": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "xtick.labelcolor": INK,
    "ytick.labelcolor": INK,
    "xtick.major.size": 3,
    "ytick.major.size": 3,
    "legend.frameon": False,
    "savefig.facecolor": "white",
}


@dataclass
class Figure:
    """A rendered figure.

    Attributes
    ----------
    name : str — short name, used for the PNG file (``<report>_<name>.png``)
    title : str — caption title
    png : bytes — the PNG image
    legend : list of str — the legend entries drawn, in order
    data : dict — the values plotted, by series name
    """

    name: str
    title: str
    png: bytes
    legend: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


def _render(fig: MplFigure, dpi: int = DPI) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.15,
                metadata={"Software": "dualuse"})
    return buffer.getvalue()


# --------------------------------------------------------------------------- map


@dataclass(frozen=True)
class MapFrame:
    """Geometry ready to draw: in a metre CRS where the input allows, with its north direction."""

    geometry: np.ndarray  # shapely geometries
    crs: CRS | None
    metres: bool  # coordinates are metres: a scale bar can be drawn
    north_deg: float  # direction of true north, degrees clockwise from the map's up


def map_frame(geometry: gpd.GeoSeries) -> MapFrame:
    """Geometry in a CRS fit for a map with a scale bar.

    A projected CRS in metres is kept as it is; a geographic CRS, or one in
    feet, is reprojected to the UTM zone of the region.  Without a CRS the
    geometry is drawn as it is, with neither scale bar nor north arrow.
    """
    crs = geometry.crs
    if crs is None:
        return MapFrame(np.asarray(geometry.array), None, False, math.nan)
    if not crs.is_projected or crs.axis_info[0].unit_name not in ("metre", "meter"):
        utm = geometry.estimate_utm_crs()
        geometry = geometry.to_crs(utm)
        crs = utm
    return MapFrame(np.asarray(geometry.array), CRS.from_user_input(crs), True, _north_deg(geometry, crs))


def _north_deg(geometry: gpd.GeoSeries, crs: CRS) -> float:
    """Direction of true north at the map's centre, degrees clockwise from the map's up (grid north)."""
    x0, y0, x1, y1 = geometry.total_bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    to_geo = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    from_geo = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    lon, lat = to_geo.transform(cx, cy)
    nx, ny = from_geo.transform(lon, min(lat + 0.01, 89.99))
    return math.degrees(math.atan2(nx - cx, ny - cy))


def use_paths(geometry: np.ndarray, use: np.ndarray) -> dict[str, MplPath]:
    """One compound path per use: every ring of every parcel of that use, exteriors counter-clockwise
    and holes clockwise, so that holes stay empty under either fill rule."""
    oriented = shapely.orient_polygons(geometry, exterior_cw=False)
    parts, part_parcel = shapely.get_parts(oriented, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, ring_of_vertex = shapely.get_coordinates(rings, return_index=True)
    codes = np.full(len(coords), MplPath.LINETO, dtype=MplPath.code_type)
    if len(coords):
        first = np.r_[True, ring_of_vertex[1:] != ring_of_vertex[:-1]]
        last = np.r_[ring_of_vertex[1:] != ring_of_vertex[:-1], True]
        codes[first] = MplPath.MOVETO
        codes[last] = MplPath.CLOSEPOLY
    vertex_use = np.asarray(use, dtype=object)[part_parcel[ring_part[ring_of_vertex]]] if len(coords) else \
        np.array([], dtype=object)
    out: dict[str, MplPath] = {}
    for name in USES:
        mask = vertex_use == name
        if mask.any():
            out[name] = MplPath(coords[mask], codes[mask])
    return out


def _nice_length(span_m: float) -> float:
    """A round scale-bar length, about a quarter of the map's width [m]."""
    target = span_m / 4.0
    exponent = math.floor(math.log10(target))
    for mantissa in (5, 2, 1):
        length = mantissa * 10.0 ** exponent
        if length <= target:
            return length
    return 10.0 ** exponent


def _length_label(metres: float) -> str:
    return f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"


def _draw_scale_bar(ax: Axes, length_m: float, anchor: tuple[float, float]) -> None:
    """A bar of four alternating segments, ``length_m`` long in ``ax``'s data units (metres), drawn in the
    figure at ``anchor`` (axes fraction of ``ax``, lower left), so it may sit outside the map."""
    bar_h = (ax.get_ylim()[1] - ax.get_ylim()[0]) * 0.012
    box = AuxTransformBox(ax.transData)
    for k in range(4):
        box.add_artist(Rectangle((k * length_m / 4, 0.0), length_m / 4, bar_h,
                                 facecolor=INK if k % 2 == 0 else "white", edgecolor=INK, linewidth=0.6))
    for position, text in ((0.0, "0"), (0.5, _length_label(length_m / 2)), (1.0, _length_label(length_m))):
        box.add_artist(Text(position * length_m, bar_h * 1.9, text, ha="center", va="bottom", fontsize=7.5))
    anchored = AnchoredOffsetbox(loc="lower left", child=box, pad=0.0, borderpad=0.0, frameon=False,
                                 bbox_to_anchor=anchor, bbox_transform=ax.transAxes)
    anchored.set_clip_on(False)
    ax.add_artist(anchored)


def _draw_north_arrow(ax: Axes, north_deg: float) -> None:
    """A north arrow filling the square axes ``ax``, turned to true north."""
    ax.set_xlim(-1, 1)
    ax.set_ylim(-1, 1)
    ax.set_aspect("equal")
    ax.axis("off")
    dx, dy = 1.2 * math.sin(math.radians(north_deg)), 1.2 * math.cos(math.radians(north_deg))
    ax.add_patch(FancyArrow(-dx / 2 - 0.35 * dx, -dy / 2 - 0.35 * dy, dx, dy, width=0.16, head_width=0.55,
                            head_length=0.55, length_includes_head=True, facecolor=INK, edgecolor=INK,
                            linewidth=0.5))
    ax.text(dx * 0.32, dy * 0.32, "N", ha="center", va="center", fontsize=10, fontweight="bold",
            rotation=-north_deg, rotation_mode="anchor")


def land_use_map(geometry: gpd.GeoSeries, use: np.ndarray, area_by_use_ha: dict[str, float],
                 communities: gpd.GeoDataFrame | None = None, title: str = "Land use in the plan",
                 pv_share: np.ndarray | None = None) -> Figure:
    """The plan's map: each parcel coloured by its dominant use, with scale bar, north arrow and legend.

    Parameters
    ----------
    geometry : GeoSeries — parcel polygons, any CRS
    use : ndarray of str — dominant use per parcel
    area_by_use_ha : dict — area allocated to each use [ha], for the legend
    communities : GeoDataFrame, optional — community points (``community_id``, ``unserved_households``)
    pv_share : ndarray, optional — share of each parcel under solar or agrivoltaics; parcels with some PV
      where it is not the dominant use get a marker, so that small PV sites show on the map
    title : str — the map's title

    Returns
    -------
    Figure
        ``legend`` lists the legend labels; ``data['uses']`` the uses drawn; ``data['scale_bar_m']``
        the scale bar's length [m] (NaN without one).
    """
    frame = map_frame(geometry)
    paths = use_paths(frame.geometry, use)
    x0, y0, x1, y1 = shapely.total_bounds(frame.geometry)
    margin = 0.03 * max(x1 - x0, y1 - y0, 1e-9)
    bounds = (x0 - margin, y0 - margin, x1 + margin, y1 + margin)
    aspect = (bounds[3] - bounds[1]) / max(bounds[2] - bounds[0], 1e-9)
    map_w = 7.4
    map_h = float(np.clip(map_w * aspect, 3.5, 9.5))
    n = len(frame.geometry)
    edge = n <= 6000  # parcel outlines only where parcels are several pixels wide
    with matplotlib.rc_context(_STYLE):
        fig = MplFigure(figsize=(map_w + 2.9, map_h))
        ax = fig.add_axes((0.0, 0.0, map_w / (map_w + 2.9), 1.0))
        ax.set_aspect("equal")
        ax.set_xlim(bounds[0], bounds[2])
        ax.set_ylim(bounds[1], bounds[3])
        if aspect * map_w > 9.5 or aspect * map_w < 3.5:
            ax.set_adjustable("datalim")
        for name, path in paths.items():
            # add_artist, not add_patch: the limits are set above, and add_patch would walk every vertex in
            # Python to update them
            ax.add_artist(PathPatch(path, facecolor=USE_COLOURS[name], edgecolor="white" if edge else "none",
                                    linewidth=0.25 if edge else 0.0, antialiased=True, zorder=2))
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(True)
            spine.set_color("#7a7a7a")
        handles: list[Any] = []
        labels: list[str] = []
        rows: list[str] = []
        for name in USES:
            if name in paths:
                handles.append(Patch(facecolor=USE_COLOURS[name], edgecolor="#7a7a7a", linewidth=0.4))
                labels.append(USE_LABELS[name])
                rows.append(f"{USE_LABELS[name]}\n{area_by_use_ha.get(name, 0.0):,.0f} ha")
        if pv_share is not None:
            partial = (np.asarray(pv_share, dtype=float) >= 0.005) & ~np.isin(use, PV_USES)
            if partial.any():
                centres = shapely.centroid(frame.geometry[partial])
                few = partial.sum() <= 100
                ax.scatter(shapely.get_x(centres), shapely.get_y(centres), marker="D", s=16 if few else 7,
                           facecolor=USE_COLOURS["solar"], edgecolor=INK, linewidth=0.5 if few else 0.3, zorder=6)
                handles.append(Line2D([], [], marker="D", linestyle="none", markersize=5,
                                      markerfacecolor=USE_COLOURS["solar"], markeredgecolor=INK,
                                      markeredgewidth=0.5))
                labels.append("PV on part of a parcel")
                rows.append(f"PV on part of a parcel\n{int(partial.sum()):,} parcels")
        if communities is not None and len(communities):
            _draw_communities(ax, communities, frame)
            handles.append(Line2D([], [], marker="o", linestyle="none", markersize=7, markerfacecolor="white",
                                  markeredgecolor=INK, markeredgewidth=1.2))
            labels.append("Community")
            rows.append("Community")
        ax.set_title(title, fontsize=12, loc="left")
        side = fig.add_axes((map_w / (map_w + 2.9) + 0.025, 0.0, 2.7 / (map_w + 2.9), 1.0))
        side.axis("off")
        side.legend(handles, rows, loc="upper left", title="Dominant use of each parcel",
                    title_fontproperties={"weight": "bold", "size": 9}, alignment="left",
                    handlelength=1.6, handleheight=1.3, labelspacing=0.9, fontsize=8.5, borderaxespad=0.3)
        bar_m = math.nan
        if frame.metres:
            bar_m = _nice_length(bounds[2] - bounds[0])
            _draw_scale_bar(ax, bar_m, (1.045, 0.2))
            arrow_in = 0.6  # side of the north arrow's square [in]
            _draw_north_arrow(fig.add_axes((map_w / (map_w + 2.9) + 0.03, 0.2 + 0.4 / map_h,
                                            arrow_in / (map_w + 2.9), arrow_in / map_h)), frame.north_deg)
        crs_text = f"{frame.crs.name}" + (f" (EPSG:{frame.crs.to_epsg()})" if frame.crs.to_epsg() else "") \
            if frame.crs is not None else "no coordinate reference system"
        notes = [f"{n:,} parcels; areas count every", "share of every parcel.", "Projection:",
                 *textwrap.wrap(crs_text, 40)]
        if frame.metres:
            notes.append("Arrow: true north.")
        side.text(0.0, 0.0, "\n".join(notes), transform=side.transAxes, fontsize=7, color=MUTED, va="bottom")
        png = _render(fig, dpi=FINE_MAP_DPI if n > FINE_MAP_PARCELS else DPI)
    return Figure("map", title, png, legend=labels,
                  data={"uses": [u for u in USES if u in paths], "scale_bar_m": bar_m,
                        "north_deg": frame.north_deg, "crs": None if frame.crs is None else frame.crs.to_string()})


def _draw_communities(ax: Axes, communities: gpd.GeoDataFrame, frame: MapFrame) -> None:
    points = communities
    if frame.crs is not None and points.crs is not None and CRS.from_user_input(points.crs) != frame.crs:
        points = points.to_crs(frame.crs)
    geometry = np.asarray(points.geometry.array)
    valid = ~(shapely.is_missing(geometry) | shapely.is_empty(geometry))
    if not valid.any():
        return
    centres = shapely.centroid(geometry[valid])
    x, y = shapely.get_x(centres), shapely.get_y(centres)
    few = valid.sum() <= LABELLED_COMMUNITIES
    ax.scatter(x, y, s=38 if few else 9, facecolor="white", edgecolor=INK, linewidth=1.2 if few else 0.6, zorder=7)
    if few and "community_id" in points:
        names = points["community_id"].astype(str).to_numpy()[valid]
        for xi, yi, name in zip(x, y, names):
            ax.annotate(name, (xi, yi), xytext=(5, 4), textcoords="offset points", fontsize=7.5, zorder=8,
                        fontweight="bold", path_effects=[patheffects.withStroke(linewidth=2.2, foreground="white")])


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


def _fmt(value: float, percent: bool = False) -> str:
    if not math.isfinite(value):
        return "–"
    if percent:
        return "0%" if value == 0 else f"{value:.0%}" if abs(value) >= 0.1 else f"{value:.1%}"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:,.1f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".") if magnitude > 0 else "0"


def kpi_panels(panels: Sequence[KpiPanel], title: str = "Headline indicators: today and with the plan") -> Figure:
    """Small multiples: for each KPI two bars, today (grey) and the plan (blue), each with its value,
    and a dashed reference line (budget, food floor, all households) where the panel has one."""
    columns = 4
    rows = max(1, math.ceil(len(panels) / columns))
    height = 2.35 * rows + 0.45
    with matplotlib.rc_context(_STYLE):
        fig = MplFigure(figsize=(10.5, height))
        axes = fig.subplots(rows, columns, squeeze=False)
        fig.subplots_adjust(hspace=0.62, wspace=0.42, top=1 - 0.75 / height, bottom=0.25 / height, left=0.06,
                            right=0.93)
        fig.suptitle(title, x=0.01, y=0.995, ha="left", fontsize=12, fontweight="bold")
        for ax, panel in zip(axes.flat, panels):
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
                ax.text(bar.get_x() + bar.get_width() / 2, max(raw, 0) + 0.03 * top, _fmt(raw, panel.percent),
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
        for ax in list(axes.flat)[len(panels):]:
            ax.set_visible(False)
        png = _render(fig)
    return Figure("kpis", title, png, legend=[p.title for p in panels],
                  data={p.title: (p.today, p.plan) for p in panels})


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
    with matplotlib.rc_context(_STYLE):
        fig = MplFigure(figsize=(10.5, height))
        ax = fig.add_axes((0.14, bottom_in / height, 0.66, row_in * (n + 0.4) / height))
        gains = balance["gains_ha"].to_numpy(float)
        losses = balance["losses_ha"].to_numpy(float)
        net = balance["net_ha"].to_numpy(float)
        target = balance["target_ha"].to_numpy(float)
        baseline = balance["baseline_net_ha"].to_numpy(float)
        ax.barh(y, gains, height=0.58, color=GAIN, zorder=2, label="Area improving (gains)")
        ax.barh(y, -losses, height=0.58, color=LOSS, zorder=2, label="Area degraded (losses)")
        ax.scatter(target, y, marker="|", s=330, color=INK, linewidth=1.8, zorder=3, label="Target")
        ax.scatter(baseline, y, marker="D", s=34, facecolor="white", edgecolor=INK, linewidth=1.0, zorder=4,
                   label="Net today")
        ax.scatter(net, y, marker="D", s=42, facecolor=INK, edgecolor="white", linewidth=0.8, zorder=5,
                   label="Net with the plan")
        ax.axvline(0, color="#7a7a7a", linewidth=0.8, zorder=1)
        if total.any() and n > 1:
            ax.axhline(float(y[total][0]) + 0.7, color="#9a9a9a", linewidth=0.6)
        ax.set_ylim(float(y.min()) - 0.6, float(y.max()) + 0.6)
        ax.set_yticks(y, balance["label"].tolist())
        for label, is_total in zip(ax.get_yticklabels(), total):
            if is_total:
                label.set_fontweight("bold")
        ax.set_xlabel("Area at the horizon [ha]: losses to the left, gains to the right")
        ax.grid(axis="x", color=GRID, linewidth=0.6, zorder=0)
        ax.xaxis.set_major_formatter(_Ticks())
        ax.tick_params(axis="y", length=0)
        span = float(np.nanmax(np.abs(np.r_[gains, -losses, net, target, baseline, 1.0])))
        ax.set_xlim(-span * 1.08, span * 1.08)
        for yi, ok, short in zip(y, balance["neutral"].to_numpy(bool), (target - net)):
            text = "✔ neutral" if ok else f"✘ {short:,.0f} ha short"
            ax.text(1.03, yi, text, transform=ax.get_yaxis_transform(), va="center", fontsize=9,
                    fontweight="bold", color=GAIN if ok else LOSS)
        fig.suptitle(title, x=0.01, y=1 - 0.08 / height, ha="left", va="top", fontsize=12, fontweight="bold")
        handles, labels = ax.get_legend_handles_labels()
        order = [labels.index(k) for k in ("Area degraded (losses)", "Area improving (gains)", "Net today",
                                           "Net with the plan", "Target")]
        fig.legend([handles[k] for k in order], [labels[k] for k in order], loc="lower center", ncols=5,
                   fontsize=8.5, bbox_to_anchor=(0.47, 0.02), handletextpad=0.4, columnspacing=1.6)
        png = _render(fig)
    return Figure("ldn", title, png, legend=balance["label"].tolist(),
                  data={"gains_ha": gains, "losses_ha": losses, "net_ha": net, "target_ha": target})


# --------------------------------------------------------------------------- access


def access_chart(communities: pd.DataFrame, title: str = "Energy access by community") -> Figure:
    """Per community: the yearly demand of unserved households (light) and the part the plan serves (blue).

    Beyond :data:`LABELLED_COMMUNITIES` communities, the :data:`CHARTED_COMMUNITIES`
    with the most demand get a bar each and the others are summed in a note
    under the chart.
    """
    frame = communities.sort_values("demand_mwh", ascending=False, kind="stable").reset_index(drop=True)
    note = ""
    if len(frame) > LABELLED_COMMUNITIES:
        rest = frame.iloc[CHARTED_COMMUNITIES:]
        gained, households = float(rest["households_served"].sum()), float(rest["unserved_households"].sum())
        note = (f"The other {len(rest):,} communities together: {gained:,.0f} of {households:,.0f} households gain "
                f"access ({gained / households if households > 0 else 0.0:.0%}); "
                f"{rest['served_mwh'].sum():,.0f} of {rest['demand_mwh'].sum():,.0f} MWh/yr served.")
        frame = frame.iloc[:CHARTED_COMMUNITIES]
        title = f"{title}: the {CHARTED_COMMUNITIES} with the most demand"
    frame = frame.iloc[::-1]
    n = len(frame)
    y = np.arange(n)
    demand = frame["demand_mwh"].to_numpy(float)
    served = frame["served_mwh"].to_numpy(float)
    households = frame["unserved_households"].to_numpy(float)
    gained = frame["households_served"].to_numpy(float)
    row_in, top_in, bottom_in = 0.3, 0.55, 1.0 + (0.25 if note else 0.0)
    height = row_in * max(n, 1) + top_in + bottom_in
    with matplotlib.rc_context(_STYLE):
        fig = MplFigure(figsize=(10.5, height))
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
        png = _render(fig)
    return Figure("access", title, png, legend=frame["community_id"].astype(str).tolist()[::-1],
                  data={"demand_mwh": demand[::-1], "served_mwh": served[::-1], "note": note})


# --------------------------------------------------------------------------- sweeps


def sweep_chart(table: pd.DataFrame, parameter: str, kpis: Sequence[str], labels: dict[str, str],
                group: str | None = None, title: str = "") -> Figure:
    """Small multiples: each KPI against one varied parameter, one line per value of ``group``.

    Only rows with a plan (status optimal or feasible) should be passed; the
    others are listed in the report's table.  ``data`` holds each line's
    (x, y), keyed ``kpi`` or ``kpi|group value``.
    """
    columns = 3
    rows = max(1, math.ceil(len(kpis) / columns))
    title = title or f"Indicators against {labels.get(parameter, parameter)}"
    data: dict[str, Any] = {}
    groups = [None] if group is None else sorted(table[group].dropna().unique().tolist())
    colours = matplotlib.colormaps["viridis"](np.linspace(0.05, 0.8, max(len(groups), 1)))
    head_in = 0.95 if group is not None else 0.6
    height = 2.6 * rows + head_in
    locator = dict(nbins=5, steps=[1, 2, 2.5, 5, 10])
    with matplotlib.rc_context(_STYLE):
        fig = MplFigure(figsize=(10.5, height))
        axes = fig.subplots(rows, columns, squeeze=False)
        fig.subplots_adjust(hspace=0.8, wspace=0.42, top=1 - (head_in + 0.25) / height, bottom=0.5 / height,
                            left=0.08, right=0.97)
        fig.suptitle(title, x=0.01, y=1 - 0.06 / height, ha="left", va="top", fontsize=12, fontweight="bold")
        handles: list[Any] = []
        for ax, kpi in zip(axes.flat, kpis):
            for colour, value in zip(colours, groups):
                part = table if value is None else table[table[group] == value]
                part = part.sort_values(parameter)
                x = part[parameter].to_numpy(float)
                yv = part[kpi].to_numpy(float)
                line, = ax.plot(x, yv, marker="o", markersize=3.5, linewidth=1.5,
                                color=PLAN if value is None else colour, zorder=3)
                data[f"{kpi}" if value is None else f"{kpi}|{value}"] = (x, yv)
                if ax is axes.flat[0] and value is not None:
                    handles.append((line, f"{value:,.6g}" if isinstance(value, (int, float)) else str(value)))
            ax.set_title("\n".join(textwrap.wrap(labels.get(kpi, kpi), 36)), fontsize=9.5)
            ax.set_xlabel(labels.get(parameter, parameter), fontsize=8, color=MUTED)
            ax.grid(color=GRID, linewidth=0.6, zorder=0)
            ax.xaxis.set_major_formatter(_Ticks())
            ax.yaxis.set_major_formatter(_Ticks())
            ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(**locator))
            ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(**locator))
        for ax in list(axes.flat)[len(kpis):]:
            ax.set_visible(False)
        if handles:
            fig.legend([h for h, _ in handles], [t for _, t in handles], loc="upper left", ncols=min(len(handles), 8),
                       fontsize=8.5, bbox_to_anchor=(0.01, 1 - 0.38 / height), title=labels.get(group, group),
                       title_fontproperties={"size": 8.5}, alignment="left", handlelength=1.8, columnspacing=1.5)
        png = _render(fig)
    return Figure(f"sweep_{parameter}", title, png, legend=[labels.get(k, k) for k in kpis], data=data)


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
